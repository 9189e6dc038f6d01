"""Issue 21 item 4: a benchmark's fidelity range is its table's. A surrogate fitted on
3-epoch curves reports fidelity 1..3, refuses queries outside it, and `run`/`validate`
replay optimizers within it (the README's tiny chain failed at validate with "invalid value
for 'epochs': 27.0", and `--optimizers ''` left a traceback and a half-written .plots)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from hasbench.benchmarks import SurrogateBenchmark, TabularBenchmark
from hasbench.errors import FidelityError, InvalidValueError
from hasbench.simulate import simulate
from hasbench.spaces import get_space
from hasbench.surrogates import CurveSurrogate
from hasbench.tables import RunTable, write_table


def _table(path, n_configs, epochs, sample_seed):
    """A hia-cnn table of ``epochs``-epoch curves (configs store epochs = trained, as
    collect writes them); accuracy rises with the epoch and depends on the config."""
    sp = get_space("hia-cnn")
    rng = np.random.default_rng(sample_seed)
    runs = []
    from hasbench.tables import Run

    for c in sp.sample(n_configs, sample_seed):
        c = dict(c, epochs=epochs)
        q = 0.3 + 0.6 * rng.random()
        for seed in (0, 1):
            e = np.arange(1, epochs + 1)
            acc = np.clip(q * (1 - np.exp(-e / 2)) + 0.02 * rng.standard_normal(epochs), 0, 1)
            loss = -np.log(np.clip(acc, 1e-3, 1))
            m = {"train_loss": loss * 0.9, "train_acc": acc, "valid_loss": loss,
                 "valid_acc": acc, "test_loss": loss, "test_acc": acc}
            runs.append(Run(c, seed, m, 0.5 + rng.random() * np.ones(epochs),
                            static={"params": 1000.0, "flops": 1e5, "model_bytes": 4000.0}))
    return write_table(path, sp, runs, max_epochs=epochs, provenance={"dataset": "unit"})


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    d = tmp_path_factory.mktemp("fid")
    train = _table(d / "t.h5", 40, 3, 0)
    held = _table(d / "t.heldout.h5", 12, 3, 1)
    sur = CurveSurrogate("knn").fit(train)
    sur.save(d / "t.surrogate")
    return d, train, held, sur


def test_surrogate_reports_its_tables_range(tables):
    d, train, _, sur = tables
    assert get_space("hia-cnn").fidelity.upper == 27
    assert (sur.fidelity.lower, sur.fidelity.upper) == (1, 3)
    loaded = CurveSurrogate.load(d / "t.surrogate")
    assert loaded.fidelity.upper == 3
    for bench in (SurrogateBenchmark(loaded), TabularBenchmark(train)):
        assert (bench.fidelity.lower, bench.fidelity.upper) == (1, 3)
        assert bench.space.fidelity.upper == 3
        X = train.X[:4]
        assert bench.curve(X)["valid_acc"].shape == (4, 3)
        assert "epochs[1..3]" in repr(bench)


def test_queries_outside_the_range_are_refused(tables):
    d, train, _, sur = tables
    X = train.X[:2]
    bench = SurrogateBenchmark(sur)
    with pytest.raises(FidelityError, match=r"\[1, 3\]"):
        bench.query(X, fidelity=9)
    with pytest.raises(FidelityError, match="epochs"):
        sur.predict(X, np.array([2.0, 27.0]), ["valid_acc"])
    with pytest.raises(FidelityError):
        sur.predict_std(X, np.array([4.0, 1.0]), ["valid_acc"])
    assert np.isfinite(bench.query(X, fidelity=3, as_arrays=True)["valid_acc"]).all()
    # a config asking for more epochs than the table has is refused too
    cfg = dict(train.configs[0], epochs=27)
    with pytest.raises(InvalidValueError, match="epochs"):
        bench.query(cfg)


def test_shipped_range_unchanged():
    from hasbench.benchmarks import load

    bench = load("digits-hia-cnn")
    assert bench.fidelity.upper == 27 and bench.space == get_space("hia-cnn")


@pytest.mark.parametrize("opt", ["hyperband", "bohb", "random", "asha"])
def test_replays_stay_within_the_range(tables, opt):
    _, train, _, sur = tables
    for bench in (SurrogateBenchmark(sur),
                  TabularBenchmark(train, fallback="surrogate", surrogate=sur)):
        tr = simulate(bench, opt, seed=0, n_workers=2, time_budget=60.0)
        assert len(tr.frame) > 0
        assert tr.frame["fidelity"].max() <= 3
        assert tr.meta["max_fidelity"] == 3


def hb(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hasbench", *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd)


def test_validate_and_run_cli_on_a_short_table(tables, tmp_path):
    d, _, _, _ = tables
    p = hb("validate", str(d / "t.surrogate"), "--table", str(d / "t.heldout.h5"),
           "--repeats", "1", "--optimizers", "random,hyperband")
    assert p.returncode == 0, p.stderr
    assert "final valid_acc R2" in p.stdout
    # --optimizers '' skips the ranking; the report and its plots are complete
    pre = tmp_path / "rep"
    p = hb("validate", str(d / "t.surrogate"), "--table", str(d / "t.heldout.h5"),
           "--optimizers", "", "--out", str(pre))
    assert p.returncode == 0, p.stderr
    rep = json.loads((tmp_path / "rep.json").read_text())
    assert "optimizer_ranking" not in rep
    assert sorted(rep["metrics"]["valid_acc"]["per_fidelity"]) == ["1", "2", "3"]
    pngs = sorted(x.name for x in (tmp_path / "rep.plots").iterdir())
    assert pngs == ["curves.png", "predicted_vs_true.png", "scores_per_fidelity.png"]
    out = tmp_path / "runs"
    p = hb("run", "--benchmark", str(d / "t.surrogate"), "--optimizer", "hyperband",
           "--seeds", "0-1", "--budget", "60s", "--out", str(out), "--no-progress")
    assert p.returncode == 0, p.stderr
    from hasbench.simulate import Trace

    tr = Trace.load(next(out.glob("seed-*")))
    assert tr.frame["fidelity"].max() <= 3 and tr.meta["max_fidelity"] == 3


def test_validate_refuses_a_longer_heldout_table(tables, tmp_path):
    d, _, _, sur = tables
    long = _table(tmp_path / "long.h5", 12, 5, 2)
    from hasbench.surrogates.validation import validate

    with pytest.raises(InvalidValueError, match="epochs") as ei:
        validate(sur, long, optimizers=None)
    assert "3" in str(ei.value) and "5" in str(ei.value)


def test_shorter_heldout_table_is_scored_on_its_epochs(tables, tmp_path):
    d, _, _, _ = tables
    long = _table(tmp_path / "long.h5", 40, 5, 3)
    short = _table(tmp_path / "short.h5", 12, 3, 4)
    sur = CurveSurrogate("knn").fit(long)
    from hasbench.surrogates.validation import validate

    rep = validate(sur, short, optimizers=["random", "hyperband"], repeats=2)
    assert sorted(rep["metrics"]["valid_acc"]["per_fidelity"]) == ["1", "2", "3"]
    assert set(rep["optimizer_ranking"]["optimizers"]) == {"random", "hyperband"}


@pytest.mark.slow
def test_readme_chain_with_real_training(tmp_path):
    """The README/docs chain as a user runs it: real (tiny) training, a real XGBoost fit."""
    pytest.importorskip("torch")
    env_args = ["--space", "hia-cnn", "--dataset", "digits", "--seeds", "2", "--epochs", "3",
                "--max-train-examples", "150", "--max-valid-examples", "100",
                "--max-test-examples", "50", "--no-progress"]
    steps = [
        ["collect", *env_args, "--n-configs", "8", "--out", "t.h5"],
        ["collect", *env_args, "--n-configs", "4", "--exclude", "t.h5",
         "--out", "t.heldout.h5"],
        ["fit", "t.h5", "--out", "t.surrogate", "--threads", "1"],
        ["validate", "t.surrogate", "--table", "t.heldout.h5", "--repeats", "2",
         "--optimizers", "random,hyperband,bohb", "--out", "t.validation"],
        ["table", "info", "t.h5"],
    ]
    for s in steps:
        p = hb(*s, cwd=tmp_path)
        assert p.returncode == 0, (s, p.stderr)
    assert (tmp_path / "t.validation.md").is_file()
    assert RunTable.read(tmp_path / "t.h5").max_epochs == 3
    assert CurveSurrogate.load(tmp_path / "t.surrogate").fidelity.upper == 3
