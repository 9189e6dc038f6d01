"""Two-step search (issue 16 item 4; spec zela2018_joint_bohb.md section 5): architecture first
at the smallest budget with default training hyperparameters, then the training
hyperparameters of the best architecture at the full budget."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.errors import InvalidValueError, UnknownNameError
from hasbench.optimizers import CallablePruner, get_optimizer
from hasbench.optimizers.staged import TwoStepSearch, trace_stages
from hasbench.simulate import simulate


@pytest.fixture(scope="module", params=["hia-cnn", "zela2018"])
def bench(request):
    return SyntheticBenchmark(request.param, seed=0)


def test_registry_name_is_the_two_step_optimizer(bench):
    opt = get_optimizer("two-step", bench.space, seed=0)
    assert isinstance(opt, TwoStepSearch) and opt.trials == [50, 50]
    assert opt.arch_fidelity == bench.space.fidelity.lower


@pytest.mark.parametrize("workers", [1, 3])
def test_second_step_never_changes_the_architecture(bench, workers):
    sp = bench.space
    groups = sp.metadata["groups"]
    opt = TwoStepSearch(sp, seed=3, n_trials=30, arch_fraction=0.4)
    tr = simulate(bench, opt, seed=3, n_workers=workers, max_evaluations=1000)
    assert opt.finished and opt.trials == [12, 18]
    f = tr.frame.sort_values("job")
    st = trace_stages(tr, opt.trials)[np.argsort(tr.frame["job"].to_numpy(), kind="stable")]
    s0, s1 = f[st == 0], f[st == 1]
    assert len(s0) == 12 and len(s1) == 18
    c0, c1 = sp.decode(s0[sp.names].to_numpy()), sp.decode(s1[sp.names].to_numpy())
    default = sp.default()
    fid = sp.fidelity
    # step 1: architecture at the smallest budget, training hyperparameters at defaults
    assert (s0["fidelity"] == fid.lower).all()
    for c in c0:
        assert all(c[n] == default[n] for n in groups["training"] if n != fid.name)
        if fid.in_config:
            assert c[fid.name] == fid.lower
    # the best architecture is step 1's lowest loss
    i = int(np.argmin(s0["loss"].to_numpy()))
    best = {n: c0[i][n] for n in groups["architecture"]}
    assert opt.best_architecture == best
    # step 2: never changes the architecture; full budget; training varies
    assert (s1["fidelity"] == fid.upper).all()
    for c in c1:
        assert {n: c[n] for n in groups["architecture"]} == best
        if fid.in_config:
            assert c[fid.name] == fid.upper
    assert len({c["learning_rate"] for c in c1}) == 18


def test_total_time_split_and_search_fidelity():
    bench = SyntheticBenchmark("hia-cnn", seed=0)
    sp = bench.space
    opt = TwoStepSearch(sp, seed=0, total_time=4000.0, arch_fraction=0.25,
                        search_fidelity=True)
    assert opt.trials is None and opt.stage_time == [1000.0, 3000.0]
    assert "epochs" in opt.stages[1]
    tr = simulate(bench, opt, seed=0, n_workers=2, max_evaluations=10_000)
    log = opt.stage_log
    assert opt.finished and all(s["n_measured"] > 2 for s in log)
    f = tr.frame.sort_values("job")
    s1 = f[f["job"] >= log[1]["first_job"]]
    assert s1["epochs"].nunique() > 2                         # epochs searched in step 2
    np.testing.assert_array_equal(s1["fidelity"], s1["epochs"])
    assert (f[f["job"] < log[1]["first_job"]]["start"] < 1000.0).all()


def test_multi_fidelity_base():
    bench = SyntheticBenchmark("hia-cnn", seed=0)
    sp = bench.space
    opt = TwoStepSearch(sp, seed=0, base="asha", n_trials=60)
    assert opt.arch_fidelity == sp.fidelity.upper
    tr = simulate(bench, opt, seed=0, n_workers=2, max_evaluations=1000)
    f = tr.frame.sort_values("job")
    assert f["continues"].any() and f["fidelity"].nunique() > 1
    arch = sp.metadata["groups"]["architecture"]
    c1 = sp.decode(f[f["job"] >= opt.stage_log[1]["first_job"]][sp.names].to_numpy())
    assert all({n: c[n] for n in arch} == opt.best_architecture for c in c1)
    with pytest.raises(InvalidValueError, match="arch_fidelity"):
        TwoStepSearch(sp, base="bohb", arch_fidelity="min")


def test_pruned_proposals_are_replaced():
    bench = SyntheticBenchmark("hia-cnn", seed=0)
    opt = TwoStepSearch(bench.space, seed=0, n_trials=20,
                        pruner=CallablePruner(lambda j, f: j.job_id % 2 == 1, ()))
    f = simulate(bench, opt, seed=0, max_evaluations=1000).frame
    assert (f["status"] == "ok").sum() == 20 and (f["status"] == "pruned").sum() >= 19


def test_same_seed_identical_trace(bench):
    kw = dict(n_workers=4, max_evaluations=40, optimizer_kwargs={"n_trials": 30})
    a = simulate(bench, "two-step", seed=11, **kw)
    b = simulate(bench, "two-step", seed=11, **kw)
    c = simulate(bench, "two-step", seed=12, **kw)
    assert a == b and not a.frame.equals(c.frame)


@pytest.mark.parametrize("kw, name", [
    ({"n_trials": 1}, "n_trials"), ({"arch_fraction": 0.0}, "arch_fraction"),
    ({"arch_fraction": 1.0}, "arch_fraction"), ({"arch_fidelity": "mid"}, "arch_fidelity"),
    ({"arch_fidelity": 99}, "arch_fidelity"), ({"arch_group": "arch"}, "arch"),
    ({"train_group": "architecture"}, "train_group"), ({"total_time": -5}, "total_time"),
    ({"search_fidelity": "yes"}, "search_fidelity"), ({"trials": [5, 5]}, "trials"),
    ({"stages": ["training"]}, "stages"), ({"stage_time": 5.0}, "stage_time"),
    ({"base": "smac"}, "smac"),
])
def test_named_errors(kw, name):
    with pytest.raises((InvalidValueError, UnknownNameError), match=name):
        get_optimizer("two-step", "hia-cnn", seed=0, **kw)


SHIPPED = ["digits-hia-cnn", "fmnist-hia-cnn", "digits-zela2018"]


@pytest.mark.parametrize("bench_name", SHIPPED)
def test_cli_run_on_shipped_benchmarks(tmp_path, bench_name):
    from hasbench.benchmarks.registry import list_benchmarks
    from hasbench.cli import main
    from hasbench.simulate import Trace

    if bench_name not in list_benchmarks():
        pytest.skip(f"{bench_name} not shipped in this checkout")
    out = tmp_path / "runs"
    assert main(["run", "--benchmark", bench_name, "--optimizer", "two-step", "--seeds",
                 "0-2", "--workers", "4", "--budget", "100fe", "--out", str(out),
                 "--no-progress", "--opt", "n_trials=20"]) == 0
    traces = [Trace.load(p) for p in sorted(out.glob("seed-*"))]
    assert len(traces) == 3
    for tr in traces:
        assert tr.meta["optimizer"] == "two-step" and len(tr.frame) == 20
        st = trace_stages(tr)
        assert (st == 0).sum() == 10 and (st == 1).sum() == 10
        assert (tr.frame["fidelity"][st == 0] == 1).all()
    assert not traces[0].frame.equals(traces[1].frame)


def test_cli_opt_sets_every_documented_parameter(tmp_path):
    from hasbench.cli import main
    from hasbench.simulate import Trace

    opts = {"n_trials": 12, "total_time": 1e7, "arch_fraction": 0.25, "arch_fidelity": 3,
            "search_fidelity": True, "arch_group": "architecture", "train_group": "training",
            "base": "random", "base_kwargs": {}, "fixed": {"activation": "tanh"},
            "failed_weight": 0.0, "pruned_weight": 0.0}
    args = []
    for k, v in opts.items():
        args += ["--opt", f"{k}={json.dumps(v) if not isinstance(v, str) else v}"]
    out = tmp_path / "r"
    assert main(["run", "--benchmark", "synthetic:hia-cnn", "--optimizer", "two-step",
                 "--seeds", "0", "--max-evaluations", "100", "--out", str(out),
                 "--no-progress", *args]) == 0
    tr = Trace.load(next(out.glob("seed-*")))
    assert tr.meta["optimizer_kwargs"] == opts
    f = tr.frame.sort_values("job")
    assert len(f) == 12 and (f["fidelity"].iloc[:3] == 3).all()
    assert f["epochs"].iloc[3:].nunique() > 1
    assert (f["activation"] == 1).all()                       # "tanh" is choice 1
    opt = get_optimizer("two-step", "hia-cnn", **opts)
    assert opt.trials == [3, 9] and opt.stage_time == [2.5e6, 7.5e6]
