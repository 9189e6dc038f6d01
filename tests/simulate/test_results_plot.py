"""Anytime summaries and plots from real replays on the synthetic benchmark."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.errors import InvalidValueError
from hasbench.results import anytime_summary, load_traces, plot_anytime
from hasbench.simulate import replay_many


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    bench = SyntheticBenchmark("hia-cnn")
    for opt in ("random", "hyperband"):
        replay_many(bench, opt, range(6), root / opt, n_workers=2, time_budget=600.0,
                    progress=False)
    return root


def test_anytime_summary_is_monotone_per_seed_and_banded(runs):
    df = load_traces([runs / "random", runs / "hyperband"])
    s = anytime_summary(df, n_points=50)
    assert set(s.optimizer) == {"random", "hyperband"}
    assert ((s["low"] <= s["median"] + 1e-12) & (s["median"] <= s["high"] + 1e-12)).all()
    full = s[s["n"] == 6]
    for _, g in full.groupby("optimizer"):
        # once every seed has a result, the median incumbent regret never gets worse
        assert np.all(np.diff(g["median"].to_numpy()) <= 1e-12)


def test_plot_written_and_never_overwrites(runs, tmp_path):
    df = load_traces(runs)
    out = plot_anytime(df, tmp_path / "a.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    with pytest.raises(InvalidValueError, match="does not exist yet"):
        plot_anytime(df, out)
    before = out.stat().st_mtime_ns
    plot_anytime(df, out, overwrite=True)
    assert out.stat().st_mtime_ns >= before


def test_results_cli_plot(runs, tmp_path):
    png = tmp_path / "cli.png"
    p = subprocess.run([sys.executable, "-m", "hasbench", "results", str(runs / "random"),
                        str(runs / "hyperband"), "--plot", str(png)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "hyperband" in p.stdout and png.exists()
