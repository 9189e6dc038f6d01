"""The discrete-event simulator: determinism, clock, costs, budgets, incumbents, traces."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.errors import InvalidValueError, SchemaError, UnknownNameError
from hasbench.simulate import Trace, simulate


@pytest.fixture(scope="module")
def bench():
    return SyntheticBenchmark("hia-cnn", seed=0)


def test_same_seed_identical_in_fresh_process(bench, tmp_path):
    kw = dict(seed=11, n_workers=4, time_budget=20000.0)
    a = simulate(bench, "bohb", **kw)
    b = simulate(bench, "bohb", **kw)
    assert a == b
    a.save(tmp_path / "a.parquet")
    code = (
        "from hasbench.benchmarks.synthetic import SyntheticBenchmark\n"
        "from hasbench.simulate import simulate\n"
        "t = simulate(SyntheticBenchmark('hia-cnn', seed=0), 'bohb', seed=11, n_workers=4,"
        " time_budget=20000.0)\n"
        f"t.save({str(tmp_path / 'b.parquet')!r})\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    ta, tb = Trace.load(tmp_path / "a.parquet"), Trace.load(tmp_path / "b.parquet")
    assert ta == tb
    for col in ("end", "loss", "incumbent"):  # bit for bit
        assert ta.frame[col].to_numpy().tobytes() == tb.frame[col].to_numpy().tobytes()
    c = simulate(bench, "bohb", seed=12, n_workers=4, time_budget=20000.0)
    assert not c.frame[["end", "loss"]].equals(a.frame[["end", "loss"]])


def test_workers_budget_and_clock(bench):
    tr = simulate(bench, "random", seed=0, n_workers=3, time_budget=5000.0)
    f = tr.frame
    assert (f["end"] <= 5000.0).all() and (f["start"] < 5000.0).all()
    assert (np.diff(f["end"].to_numpy()) >= 0).all()  # completion order
    np.testing.assert_allclose(f["end"] - f["start"], f["cost"])
    # never more than 3 jobs at once, and workers are reused without gaps for random search
    ev = sorted([(s, 1) for s in f["start"]] + [(e, -1) for e in f["end"]],
                key=lambda t: (t[0], t[1]))
    assert max(np.cumsum([d for _, d in ev])) <= 3
    assert set(f["worker"]) == {0, 1, 2}
    for _w, g in f.groupby("worker"):
        g = g.sort_values("start")
        np.testing.assert_allclose(g["start"].to_numpy()[1:], g["end"].to_numpy()[:-1])
    tr2 = simulate(bench, "random", seed=0, n_workers=3, max_evaluations=17)
    assert len(tr2.frame) == 17


def test_costs_match_benchmark_resume_and_retrain(bench):
    # ASHA resumes (charged the extra epochs); BOHB retrains from scratch (HpBandSter)
    for name, resumed in (("asha", True), ("bohb", False)):
        f = simulate(bench, name, seed=2, n_workers=2, max_evaluations=150).frame
        X = f[bench.space.names].to_numpy()
        frm = f["resume_from"].to_numpy()
        want = bench.cost(X, frm, f["fidelity"].to_numpy(), seed=f["bench_seed"].to_numpy())
        np.testing.assert_allclose(f["cost"].to_numpy(), want, rtol=1e-12)
        assert f["continues"].any()
        assert (f.loc[f["continues"], "resume_from"] > 0).all() == resumed
        # the values are the benchmark's, with the trial's seed
        v = bench.query(X, fidelity=f["fidelity"].to_numpy(), seed=f["bench_seed"].to_numpy(),
                        metrics=["valid_acc"], as_arrays=True)["valid_acc"]
        np.testing.assert_array_equal(v, f["value"].to_numpy())
        np.testing.assert_allclose(f["loss"], 1 - f["value"])
        # one benchmark seed per trial
        assert (f.groupby("trial")["bench_seed"].nunique() == 1).all()


def test_synchronous_rungs_wait(bench):
    f = simulate(bench, "hyperband", seed=0, n_workers=4, time_budget=30000.0).frame
    from hasbench.optimizers import Hyperband

    sizes = {b.s: b.n for b in Hyperband(bench.space, seed=0).brackets}
    n_checked = 0
    for it, g in f.groupby("bracket"):
        s = 3 - it % 4
        for r in range(g["rung"].max()):
            a, b = g[g["rung"] == r], g[g["rung"] == r + 1]
            assert len(a) == sizes[s][r]  # a finished rung has all its configs
            assert b["start"].min() >= a["end"].max()
            assert set(b["trial"]) <= set(a["trial"])
            n_checked += 1
    assert n_checked > 5
    # other brackets start while a rung is waiting (HpBandSter's master loop)
    first_b1 = f.loc[f["bracket"] == 1, "start"].min()
    assert first_b1 < f.loc[f["bracket"] == 0, "end"].max()


def test_incumbent_definitions(bench):
    f = simulate(bench, "hyperband", seed=5, n_workers=2, time_budget=40000.0).frame
    inc, anyb = f["incumbent"].to_numpy(), f["incumbent_any"].to_numpy()
    assert (np.diff(anyb) <= 0).all()
    top = np.maximum.accumulate(f["fidelity"].to_numpy())
    rises = np.flatnonzero(np.diff(inc) > 0) + 1
    assert (top[rises] > top[rises - 1]).all()  # only when a larger fidelity appears
    # explicit recomputation
    for i in range(len(f)):
        g = f.iloc[: i + 1]
        assert inc[i] == g.loc[g["fidelity"] == top[i], "loss"].min()
        assert anyb[i] == g["loss"].min()


@given(seed=st.integers(0, 10_000), workers=st.integers(1, 6),
       name=st.sampled_from(["hyperband", "asha", "random", "sh"]))
def test_property_incumbent_never_worsens(bench, seed, workers, name):
    f = simulate(bench, name, seed=seed, n_workers=workers, max_evaluations=80).frame
    assert (np.diff(f["incumbent_any"].to_numpy()) <= 0).all()
    inc = f["incumbent"].to_numpy()
    top = np.maximum.accumulate(f["fidelity"].to_numpy())
    same = top[1:] == top[:-1]
    assert (np.diff(inc)[same] <= 0).all()
    assert len(f) == 80


def test_overhead_switch(bench):
    a = simulate(bench, "tpe", seed=0, max_evaluations=30)
    b = simulate(bench, "tpe", seed=0, max_evaluations=30, count_overhead=True)
    assert a.meta["overhead_seconds"] == 0.0 and b.meta["overhead_seconds"] > 0
    assert (b.frame["end"].to_numpy() > a.frame["end"].to_numpy()).all()
    np.testing.assert_array_equal(a.frame["loss"], b.frame["loss"])


def test_noise_off_uses_expected_values(bench):
    f = simulate(bench, "random", seed=0, max_evaluations=10, noise=False).frame
    assert (f["bench_seed"] == -1).all()
    v = bench.query(f[bench.space.names].to_numpy(), fidelity=27, metrics=["valid_acc"],
                    as_arrays=True)["valid_acc"]
    np.testing.assert_array_equal(v, f["value"])


def test_validation_errors(bench):
    with pytest.raises(InvalidValueError, match="n_workers"):
        simulate(bench, "random", n_workers=0, max_evaluations=3)
    with pytest.raises(InvalidValueError, match="time_budget"):
        simulate(bench, "random")
    with pytest.raises(UnknownNameError, match="objective"):
        simulate(bench, "random", max_evaluations=3, objective="valid_accuracy")
    with pytest.raises(InvalidValueError, match="benchmark"):
        simulate("hia-cnn", "random", max_evaluations=3)


def test_trace_roundtrip_parquet_and_csv(bench, tmp_path):
    tr = simulate(bench, "asha", seed=0, n_workers=2, max_evaluations=40)
    p = tr.save(tmp_path / "t.parquet")
    assert Trace.load(p) == tr
    c = tr.save(tmp_path / "t.csv")
    back = Trace.load(c)
    assert back.meta == tr.meta
    np.testing.assert_array_equal(back.frame["end"], tr.frame["end"])
    np.testing.assert_array_equal(back.frame["learning_rate"], tr.frame["learning_rate"])
    assert not list(tmp_path.glob(".*tmp"))
    best = tr.best()
    bench.space.validate(best["config"])
    assert best["loss"] == tr.frame["incumbent"].iloc[-1]
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's own error for a corrupt file
        Trace.load(tmp_path / "bad.parquet")
    import pandas as pd

    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "other.parquet")
    with pytest.raises(SchemaError):
        Trace.load(tmp_path / "other.parquet")
    assert json.loads(tr.meta["space"])["name"] == "hia-cnn"


@pytest.mark.parametrize("name", ["hyperband", "bohb", "asha", "random"])
def test_simulate_many_equals_simulate(bench, name):
    from hasbench.simulate import simulate_many

    seeds = [0, 3, 7, 8]
    kw = dict(n_workers=3, time_budget=15000.0)
    many = simulate_many(bench, name, seeds, **kw)
    for s, tr in zip(seeds, many, strict=True):
        assert tr == simulate(bench, name, seed=s, **kw)


def test_simulate_many_with_pruner(bench):
    from hasbench.optimizers import CallablePruner, get_optimizer
    from hasbench.simulate import simulate_many

    def make(space, seed):
        return get_optimizer("hyperband", space, seed,
                             pruner=CallablePruner(lambda j, f: f["params"] > 3e5))

    many = simulate_many(bench, make, [1, 2], max_evaluations=60)
    for s, tr in zip([1, 2], many, strict=True):
        assert tr.frame.equals(simulate(bench, make, seed=s, max_evaluations=60).frame)
        assert (tr.frame["status"] == "pruned").any()
