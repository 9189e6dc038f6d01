"""Staged search (issue 15 item 8): multi-fidelity bases keep their continuations, pruned
jobs do not count toward a stage's quota, failed ones never fix a group, stage budgets in
simulated time, the stage log."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.errors import InvalidValueError
from hasbench.optimizers import CallablePruner, Result, StagedSearch
from hasbench.simulate import simulate


@pytest.fixture(scope="module")
def bench():
    return SyntheticBenchmark("hia-cnn", seed=0)


@pytest.mark.parametrize("base", ["asha", "hyperband"])
def test_multi_fidelity_base_continuations_pass_through(bench, base):
    # the old StagedSearch made every job a new trial trained from scratch: 0 continuations
    # and a fresh noise seed for every promotion
    opt = StagedSearch(bench.space, seed=0, base=base, trials=[40, 30])
    f = simulate(bench, opt, seed=0, n_workers=2, max_evaluations=1000).frame
    assert opt.finished and len(f) == 70
    cont = f[f["continues"]]
    assert len(cont) >= 5
    if base == "asha":  # ASHA resumes checkpoints; Hyperband (resume=False) retrains
        assert (cont["resume_from"] > 0).all()
    assert (cont["resume_from"] < cont["fidelity"]).all()
    f = f.sort_values("job")
    for _, g in f.groupby("trial"):
        assert g["bench_seed"].nunique() == 1            # one noise draw per trial
        assert np.all(np.diff(g["fidelity"].to_numpy()) > 0)
        assert g["continues"].tolist() == [False] + [True] * (len(g) - 1)
        assert g[bench.space.names].nunique().max() == 1  # the same config throughout


def _every_other(job, features):
    return job.job_id % 2 == 0


@pytest.mark.parametrize("base", ["tpe", "random"])
def test_pruned_jobs_do_not_count_toward_a_stage_quota(bench, base):
    opt = StagedSearch(bench.space, seed=0, base=base, trials=[6, 4],
                       pruner=CallablePruner(_every_other, ()))
    f = simulate(bench, opt, seed=0, max_evaluations=1000).frame
    assert opt.finished
    assert (f["status"] == "ok").sum() == 10      # old code: 5 (pruned jobs used the quota)
    assert (f["status"] == "pruned").sum() == 10
    log = opt.stage_log
    assert [s["n_measured"] for s in log] == [6, 4]
    assert [s["n_pruned"] for s in log] == [6, 4]


def _feed(opt, loss_of, n_max=500):
    """Ask/tell loop, one job at a time; ``loss_of(job) -> Result``."""
    jobs = []
    for _ in range(n_max):
        job = opt.ask()
        if job is None:
            break
        jobs.append(job)
        opt.tell(job, loss_of(job))
    return jobs


def test_failed_results_count_but_never_fix_a_group(bench):
    sp = bench.space
    opt = StagedSearch(sp, seed=1, base="random", trials=[8, 3],
                       stages=[["learning_rate"], ["dropout_rate"]])
    seen = []

    def res(job):
        seen.append(job)
        if len(seen) <= 8 and len(seen) != 5:   # stage 0: only the 5th job is measured
            return Result(math.inf, 1.0, "crashed")
        return Result(0.3 + 0.01 * len(seen), 1.0)

    jobs = _feed(opt, res)
    assert len(jobs) == 11 and opt.finished           # failed jobs count: 8 + 3
    lr = sp.decode(jobs[4].x[None, :])[0]["learning_rate"]
    assert opt.stage_best[0] == {"learning_rate": lr}
    assert opt.stage_log[0]["n_failed"] == 7


def test_a_stage_with_only_failures_keeps_the_working_values(bench):
    sp = bench.space
    opt = StagedSearch(sp, seed=1, base="random", trials=[4, 3],
                       stages=[["learning_rate"], ["dropout_rate"]])
    jobs = _feed(opt, lambda j: Result(math.inf, 1.0, "crashed") if j.job_id < 4
                 else Result(0.2, 1.0))
    assert opt.stage_best[0] == {"learning_rate": sp.default()["learning_rate"]}
    assert opt.stage_log[0]["best"] is None
    later = sp.decode(np.array([j.x for j in jobs[4:]]))
    assert {c["learning_rate"] for c in later} == {sp.default()["learning_rate"]}


def test_multi_fidelity_stage_best_ignores_failed_top_rung(bench):
    # every result above the first rung crashed: the stage's best is the best finite result
    # at the highest fidelity that has one, not a crashed config
    sp = bench.space
    opt = StagedSearch(sp, seed=0, base="asha", trials=[30, 2],
                       stages=[["learning_rate", "n_conv_layers"], ["dropout_rate"]])
    lows = {}

    def res(job):
        if job.fidelity > opt.min_fidelity:
            return Result(math.inf, 1.0, "crashed")
        loss = 0.5 + 0.001 * (((job.job_id + 5) * 7919) % 97)
        if job.info["stage"] == 0:
            lows[job.job_id] = (loss, job)
        return Result(loss, 1.0)

    _feed(opt, res)
    loss, job = min(lows.values(), key=lambda t: (t[0], t[1].job_id))
    cfg = sp.decode(job.x[None, :])[0]
    assert opt.stage_best[0] == {"learning_rate": cfg["learning_rate"],
                                 "n_conv_layers": cfg["n_conv_layers"]}


def test_full_budget_base_searching_epochs_takes_the_lowest_loss(bench):
    # with a full-budget base each job is one config's full evaluation at its own epochs:
    # the best is the lowest loss over all of them (not only those at the largest epochs)
    sp = bench.space
    opt = StagedSearch(sp, seed=0, base="random", trials=[25, 5],
                       stages=[["epochs", "learning_rate"], ["n_conv_layers"]])
    tr = simulate(bench, opt, seed=0, max_evaluations=1000)
    f = tr.frame.sort_values("job")
    s0 = f[f["job"] < 25]
    assert s0["fidelity"].nunique() > 5
    np.testing.assert_array_equal(s0["fidelity"], s0["epochs"])
    i = int(np.argmin(s0["loss"].to_numpy()))
    best = sp.decode(s0[sp.names].to_numpy()[i:i + 1])[0]
    assert opt.stage_best[0] == {"epochs": best["epochs"],
                                 "learning_rate": best["learning_rate"]}
    s1 = sp.decode(f[f["job"] >= 25][sp.names].to_numpy())
    assert {c["epochs"] for c in s1} == {best["epochs"]}
    # later stages train for the epochs stage 0 fixed (the base asked its max fidelity)
    assert best["epochs"] < 27
    assert (f[f["job"] >= 25]["fidelity"] == best["epochs"]).all()


def test_fixed_in_config_fidelity_is_the_jobs_fidelity(bench):
    opt = StagedSearch(bench.space, seed=0, base="tpe", trials=[4, 4], fixed={"epochs": 9})
    f = simulate(bench, opt, seed=0, max_evaluations=100).frame
    assert len(f) == 8 and (f["fidelity"] == 9).all() and (f["epochs"] == 9).all()


def test_stage_time_budget(bench):
    opt = StagedSearch(bench.space, seed=0, base="tpe", stage_time=[600.0, 400.0])
    tr = simulate(bench, opt, seed=0, n_workers=2, max_evaluations=10_000)
    assert opt.finished
    f = tr.frame.sort_values("job")
    log = opt.stage_log
    assert len(log) == 2 and all(s["n_measured"] >= 2 for s in log)
    for s, T in zip(log, (600.0, 400.0), strict=True):
        rows = f[(f["job"] >= s["first_job"]) & (f["job"] <= s["last_job"])]
        assert len(rows) == s["n_measured"]
        # no job starts once the stage's time is spent; the stage waits for its jobs
        assert (rows["start"] - s["start_time"] < T).all()
        assert rows["end"].max() - s["start_time"] >= T
        assert s["end_time"] == rows["end"].max()
    s1 = f[f["job"] >= log[1]["first_job"]]
    assert s1["start"].min() >= log[0]["end_time"]


def test_stage_time_needs_the_simulated_clock(bench):
    opt = StagedSearch(bench.space, seed=0, base="random", stage_time=100.0)
    job = opt.ask()
    with pytest.raises(InvalidValueError, match="result.time"):
        opt.tell(job, Result(0.3, 1.0))


def test_both_budgets_stop_at_the_first_reached(bench):
    opt = StagedSearch(bench.space, seed=0, base="random", trials=[3, 3],
                       stage_time=[1e9, 1e9])
    tr = simulate(bench, opt, seed=0, max_evaluations=1000)
    assert opt.finished and len(tr.frame) == 6


@pytest.mark.parametrize("kw, name", [
    ({"trials": 0}, "trials"), ({"trials": [3]}, "trials"), ({"trials": 2.5}, "trials"),
    ({"stage_time": -1.0}, "stage_time"), ({"stage_time": [1.0, 2.0, 3.0]}, "stage_time"),
    ({"stage_fidelity": [27, 99]}, "stage_fidelity"), ({"stages": [["lr"]]}, "stages"),
    ({"stages": [[]]}, "stages"), ({"names": ["learning_rate"]}, "names"),
])
def test_named_errors(bench, kw, name):
    with pytest.raises(InvalidValueError, match=name):
        StagedSearch(bench.space, seed=0, **kw)


def test_stage_fidelity_runs_a_stage_at_a_lower_budget(bench):
    sp = bench.space
    opt = StagedSearch(sp, seed=0, base="random", trials=[6, 4], stage_fidelity=[3, 27],
                       stages=["architecture", ["learning_rate"]])
    f = simulate(bench, opt, seed=0, max_evaluations=1000).frame.sort_values("job")
    assert f["fidelity"].tolist() == [3.0] * 6 + [27.0] * 4
    assert f["epochs"].tolist() == [3] * 6 + [27] * 4


def test_stage_fidelity_refuses_a_stage_that_searches_the_fidelity(bench):
    with pytest.raises(InvalidValueError, match="stage_fidelity"):
        StagedSearch(bench.space, seed=0, base="random", stage_fidelity=[27, 3])
