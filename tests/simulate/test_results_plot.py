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
    # the curve that never worsens per seed: the observed best at any fidelity
    df = load_traces([runs / "random", runs / "hyperband"], kind="incumbent_any",
                     regret="observed")
    s = anytime_summary(df, n_points=50)
    assert set(s.optimizer) == {"random", "hyperband"}
    lo, med, hi = (s[c].to_numpy() for c in ("low", "median", "high"))
    assert np.isfinite(med).all()
    assert np.all(np.isnan(lo) | (lo <= med + 1e-12))
    assert np.all(np.isnan(hi) | (med <= hi + 1e-12))
    # 6 seeds: the 75% quantile (position 3.75) needs 5 results, the median (2.5) needs 4
    assert ((~np.isnan(hi)) == (s["n"] >= 5)).all()
    assert s["n"].min() >= 4
    for _, g in s.groupby("optimizer"):
        # seeds without a result rank worst, so no statistic ever gets worse over time
        for c in ("median", "low"):
            v = g[c].to_numpy()
            v = v[np.isfinite(v)]
            assert np.all(np.diff(v) <= 1e-12), c
    # Hyperband's incumbent at the largest fidelity so far rises when a bracket first reaches
    # a larger fidelity (the BOHB-paper convention); the summary shows it rather than hiding it
    hb = load_traces(runs / "hyperband", kind="incumbent", regret="observed")
    rises = [np.any(np.diff(g.sort_values("time")["regret"].to_numpy()) > 0)
             for _, g in hb.groupby("seed")]
    assert any(rises)
    d = anytime_summary(df, n_points=50, missing="drop")
    assert d["n"].min() < s["n"].min()  # "drop" starts with the first seed's result
    with pytest.raises(InvalidValueError, match="missing"):
        anytime_summary(df, missing="ignore")


def test_quantile_with_missing_seeds_matches_numpy():
    from hasbench.results import _quantile_worst

    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 10, 11):
        x = rng.random(n)
        for q in (0.0, 0.25, 0.5, 0.75, 1.0):
            assert _quantile_worst(x, q) == pytest.approx(np.quantile(x, q))
    x = np.array([0.1, 0.2, np.inf, np.inf])
    assert _quantile_worst(x, 0.0) == 0.1
    assert _quantile_worst(x, 1 / 3) == pytest.approx(0.2)  # exactly on a finite value
    assert _quantile_worst(x, 0.5) == np.inf  # half of the seeds have no result yet


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


def test_results_cli_at_says_how_many_seeds_have_a_result(runs):
    df = load_traces(runs / "random")
    first = df.groupby("seed")["time"].min()
    mid = float(first.sort_values().iloc[2])  # 3 of the 6 seeds have reported by then
    p = subprocess.run([sys.executable, "-m", "hasbench", "results", str(runs / "random"),
                        "--at", f"1e-9,{mid},600"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    row = [ln for ln in p.stdout.splitlines() if ln.startswith("random")][-1]
    assert "- (0/6 seeds)" in row and "(3/6 seeds)" in row
    final = df.sort_values("time").groupby("seed")["regret"].last().mean()
    assert row.split()[-1] == f"{final:.5g}"  # at the budget everyone has: the plain mean


def test_plot_title_says_benchmark_objective_workers_and_budget(runs):
    from hasbench.results import _default_title

    t = _default_title(load_traces([runs / "random", runs / "hyperband"]))
    assert "synthetic" in t and "1 - valid_acc" in t and "2 workers" in t and "600 s" in t
