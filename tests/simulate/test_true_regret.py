"""Regret from expected values against a fixed optimum; run labels; simulator bookkeeping
(simultaneous completions, common random numbers, forced evaluations). Issue 15 items 1
and 9, issue 21 item 1."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hasbench.benchmarks.synthetic import OneDimBenchmark, SyntheticBenchmark
from hasbench.cli import main
from hasbench.errors import InvalidValueError
from hasbench.optimizers import CallablePruner, RandomSearch
from hasbench.results import incumbent_on_grid, load_traces
from hasbench.simulate import Trace, replay_many, simulate


@pytest.fixture(scope="module")
def synth():
    return SyntheticBenchmark("hia-cnn", seed=0)


def test_incumbent_true_is_expected_loss_of_the_observed_incumbent(synth):
    # the case: BOHB seed 5 reached observed regret < 0 on synthetic:hia-cnn
    tr = simulate(synth, "bohb", seed=5, n_workers=4, time_budget=20000.0)
    f = tr.frame
    opt = synth.optimum_loss()
    assert tr.meta["optimum_loss"] == opt
    ok = f["status"] == "ok"
    X = f[synth.space.names].to_numpy(dtype=float)
    # expected values are the benchmark's seed=None answers at the job's / maximum fidelity
    exp = 1 - synth.query(X[ok], fidelity=f.loc[ok, "fidelity"].to_numpy(),
                          metrics=["valid_acc"], as_arrays=True)["valid_acc"]
    np.testing.assert_allclose(f.loc[ok, "expected_loss"], exp, rtol=0, atol=1e-15)
    top = 1 - synth.query(X[ok], fidelity=synth.fidelity.upper, metrics=["valid_acc"],
                          as_arrays=True)["valid_acc"]
    np.testing.assert_allclose(f.loc[ok, "expected_loss_max"], top, rtol=0, atol=1e-15)
    # the incumbent is picked by its observed loss; its true value is that row's expected
    for i in np.flatnonzero(np.isfinite(f["incumbent"].to_numpy()))[::37]:
        g = f.iloc[: i + 1]
        g = g[(g["status"] == "ok") & (g["fidelity"] == g["fidelity"].max())]
        j = int(np.argmin(g["loss"].to_numpy()))
        assert f["incumbent"].iloc[i] == g["loss"].iloc[j]
        assert f["incumbent_true"].iloc[i] == g["expected_loss_max"].iloc[j]
    assert (f["incumbent"] - opt).min() < 0  # a lucky draw beats the optimum ...
    assert (f["incumbent_true"] - opt).min() >= 0  # ... what the user gets never does


@pytest.mark.parametrize("name", ["digits-hia-cnn", "digits-zela2018", "fmnist-hia-cnn",
                                  "digits-hia-cnn-mlp", "table:digits-hia-cnn"])
def test_regret_is_never_negative_on_shipped_benchmarks(name, tmp_path):
    from hasbench.simulate import resolve_benchmark

    bench = resolve_benchmark(name)  # "table:" answers configs outside it by a surrogate
    for opt in ("random", "bohb", "tpe"):
        replay_many(bench, opt, "0-2", tmp_path / opt, n_workers=4, max_evaluations=60,
                    progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a negative true regret warns
        df = load_traces(tmp_path)
    assert df["regret"].min() >= 0
    assert df.attrs["optimum"] == bench.optimum_loss()
    assert np.isfinite(df.groupby("label")["regret"].last()).all()


def test_rankings_use_one_fixed_optimum_whatever_is_loaded(tmp_path):
    # a run table (configs outside it answered by the shipped surrogate): the optimum is
    # fixed by the benchmark and recorded in every trace
    from hasbench.simulate import resolve_benchmark

    bench = resolve_benchmark("table:digits-hia-cnn")
    for opt in ("random", "tpe"):
        replay_many(bench, opt, "0-3", tmp_path / opt, n_workers=2, max_evaluations=40,
                    progress=False)
    alone = load_traces(tmp_path / "random")
    both = load_traces([tmp_path / "random", tmp_path / "tpe"])
    assert alone.attrs["optimum"] == both.attrs["optimum"] == bench.optimum_loss()
    a = alone.groupby("seed")["regret"].last()
    b = both[both["label"] == "random"].groupby("seed")["regret"].last()
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    # the observed curve stays available by name
    obs = load_traces(tmp_path / "random", regret="observed")
    np.testing.assert_allclose(obs["regret"], obs["incumbent"] - bench.optimum_loss())
    np.testing.assert_allclose(obs["regret_true"], alone["regret"])


def test_runs_with_different_settings_are_never_merged(tmp_path):
    b = "synthetic:hia-cnn"
    runs = {"rf0": ["random_fraction=0.0"], "rf1": ["random_fraction=1.0"], "eta2": ["eta=2"]}
    for d, opts in runs.items():
        args = ["run", "--benchmark", b, "--optimizer", "bohb", "--seeds", "0-2", "--workers",
                "2", "--budget", "5000s", "--out", str(tmp_path / d), "--no-progress"]
        for o in opts:
            args += ["--opt", o]
        assert main(args) == 0
    with pytest.raises(InvalidValueError, match="random_fraction|eta"):
        load_traces([tmp_path / d for d in runs])
    assert main(["results", *[str(tmp_path / d) for d in runs]]) == 2
    df = load_traces([f"{tmp_path / d}:{d}" for d in runs])
    assert sorted(df["label"].unique()) == sorted(runs)
    sep = {d: load_traces(tmp_path / d).groupby("seed")["regret"].last().mean() for d in runs}
    got = df.groupby(["label", "seed"])["regret"].last().groupby("label").mean()
    for d in runs:
        assert got[d] == pytest.approx(sep[d], abs=0)
    # runs with the same settings under one label (more seeds of one run) do merge
    replay_many(b, "random", "0-1", tmp_path / "r-a", n_workers=2, time_budget=5000.0,
                progress=False)
    replay_many(b, "random", "2-3", tmp_path / "r-b", n_workers=2, time_budget=5000.0,
                progress=False)
    m = load_traces([tmp_path / "r-a", tmp_path / "r-b"])
    assert m.groupby("label")["seed"].nunique().to_dict() == {"random": 4}
    # one file reached twice counts once; one seed from two folders is refused
    once = load_traces([tmp_path / "r-a", tmp_path / "r-a" / "seed-000000.parquet"])
    assert once.equals(load_traces(tmp_path / "r-a"))
    replay_many(b, "random", "1-2", tmp_path / "r-c", n_workers=2, time_budget=5000.0,
                progress=False)
    with pytest.raises(InvalidValueError, match="twice"):
        load_traces([tmp_path / "r-a", tmp_path / "r-c"])


def test_events_false_keeps_every_incumbent_column_current(synth, tmp_path):
    replay_many(synth, "hyperband", "0-5", tmp_path / "hb", n_workers=4, time_budget=20000.0,
                progress=False)
    full = load_traces(tmp_path, events=True)
    thin = load_traces(tmp_path, events=False)
    grid = np.linspace(1.0, 20000.0, 600)
    for col in ("incumbent", "incumbent_any", "incumbent_true", "incumbent_any_true"):
        a = incumbent_on_grid(full, grid, col)[col].to_numpy()
        b = incumbent_on_grid(thin, grid, col)[col].to_numpy()
        np.testing.assert_array_equal(a, b)


def test_trial_seed_depends_on_run_seed_and_config_not_on_pruning(synth):
    plain = simulate(synth, "random", seed=3, max_evaluations=60).frame

    def half(job, feats):  # rejects about half of the proposals, by their config
        return int(abs(hash(job.x.tobytes()))) % 2 == 0

    def factory(space, seed):
        return RandomSearch(space, seed, pruner=CallablePruner(half, ()))

    pruned = simulate(synth, factory, seed=3, max_evaluations=30).frame
    assert (pruned["status"] == "pruned").sum() > 10
    names = synth.space.names
    key = {row.tobytes(): s for row, s in zip(plain[names].to_numpy(), plain["bench_seed"],
                                              strict=True)}
    ev = pruned[pruned["status"] == "ok"]
    shared = [(row.tobytes(), s) for row, s in zip(ev[names].to_numpy(), ev["bench_seed"],
                                                    strict=True) if row.tobytes() in key]
    assert len(shared) >= 20
    assert all(key[k] == s for k, s in shared)  # the same config, the same draw
    other = simulate(synth, "random", seed=4, max_evaluations=5).frame
    assert not set(other["bench_seed"]) & set(plain["bench_seed"])


def test_simultaneous_completions_are_all_told_before_the_next_ask():
    bench = OneDimBenchmark()  # cost = fidelity seconds: equal jobs finish together
    log = []

    class Logged(RandomSearch):
        def ask(self):
            log.append("ask")
            return super().ask()

        def tell(self, job, result):
            log.append("tell")
            super().tell(job, result)

    tr = simulate(bench, lambda sp, s: Logged(sp, s), seed=0, n_workers=4, max_evaluations=12)
    assert len(tr.frame) == 12
    text = " ".join(log)
    assert text.startswith("ask ask ask ask tell tell tell tell ask ask ask ask tell tell "
                           "tell tell"), text


def test_forced_evaluations_are_marked(synth):
    def factory(space, seed):
        return RandomSearch(space, seed, pruner=CallablePruner(lambda j, f: True, ()))

    f = simulate(synth, factory, seed=0, max_evaluations=4,
                 max_consecutive_prunes=3).frame
    assert f["forced"].dtype == bool
    ev = f[f["status"] != "pruned"]
    assert len(ev) == 4 and ev["forced"].all()
    assert not f.loc[f["status"] == "pruned", "forced"].any()
    plain = simulate(synth, "random", seed=0, max_evaluations=4).frame
    assert not plain["forced"].any()


def test_version_1_traces_load_and_say_why_true_regret_is_missing(synth, tmp_path):
    tr = simulate(synth, "random", seed=0, max_evaluations=10)
    old = tr.frame.drop(columns=["forced", "expected_loss", "expected_loss_max",
                                 "incumbent_true", "incumbent_any_true"])
    v1 = Trace(old, tr.meta)
    import hasbench.simulate.trace as T

    real = T.TRACE_SCHEMA_VERSION
    T.TRACE_SCHEMA_VERSION = 1
    try:
        v1.save(tmp_path / "old" / "seed-000000.parquet")
    finally:
        T.TRACE_SCHEMA_VERSION = real
    assert Trace.load(tmp_path / "old" / "seed-000000.parquet").schema_version == 1
    with pytest.raises(InvalidValueError, match="observed"):
        load_traces(tmp_path / "old")
    df = load_traces(tmp_path / "old", regret="observed")
    assert np.isfinite(df["regret"].iloc[-1])


def test_results_refuses_an_existing_output_before_loading(tmp_path, capsys):
    # issue 21 item 8: the output check came after (possibly minutes of) loading
    out = tmp_path / "have.csv"
    out.write_text("mine")
    empty = tmp_path / "no-traces"
    empty.mkdir()
    assert main(["results", str(empty), "--csv", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--csv" in err and "paths" not in err.split("error:")[1][:20]
    assert out.read_text() == "mine"


def test_replay_many_checks_settings_before_writing_and_never_writes_into_a_foreign_folder(
        tmp_path):
    out = tmp_path / "bad"
    with pytest.raises(InvalidValueError, match="n_workers"):
        replay_many("synthetic:hia-cnn", "random", "0-1", out, n_workers=0,
                    max_evaluations=5, progress=False)
    assert not out.exists()  # the manifest used to be written before the check
    from hasbench.errors import HasbenchError

    with pytest.raises(HasbenchError, match="etaa"):
        replay_many("synthetic:hia-cnn", "bohb", "0-1", out, max_evaluations=5,
                    optimizer_kwargs={"etaa": 3}, progress=False)
    assert not out.exists()
    mine = tmp_path / "my-notes"
    mine.mkdir()
    (mine / "paper.tex").write_text("x")
    with pytest.raises(InvalidValueError, match="other files"):
        replay_many("synthetic:hia-cnn", "random", "0-1", mine, max_evaluations=5,
                    progress=False)
    assert sorted(p.name for p in mine.iterdir()) == ["paper.tex"]
