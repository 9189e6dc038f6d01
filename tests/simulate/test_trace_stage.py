"""The trace's ``stage`` column (schema version 3): every job of a staged search (staged,
two-step, grouped-sequential) records the stage that asked for it; other optimizers write -1;
traces of schema versions 1 and 2 (no column) still load and their stages are rebuilt."""

from __future__ import annotations

import numpy as np
import pytest

import hasbench.simulate.trace as T
from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.optimizers import CallablePruner
from hasbench.optimizers.grouped import GroupedSequential
from hasbench.optimizers.staged import StagedSearch, TwoStepSearch, trace_stages
from hasbench.simulate import Trace, simulate, simulate_many


@pytest.fixture(scope="module")
def bench():
    return SyntheticBenchmark("hia-cnn", seed=0)


def _check_against_log(tr, opt):
    """The column equals the stage whose [first_job, last_job] range holds the job, for
    every row, and each stage's counts in the column match its stage_log entry."""
    f = tr.frame
    assert f["stage"].dtype == np.int64
    jobs, st = f["job"].to_numpy(), f["stage"].to_numpy()
    log = opt.stage_log
    assert len(log) == len(opt.stages)
    want = np.full(len(f), -1)
    for e in log:
        inside = (jobs >= e["first_job"]) & (jobs <= e["last_job"])
        assert (want[inside] == -1).all()     # stages do not overlap
        want[inside] = e["stage"]
        rows = f[st == e["stage"]]
        assert (rows["status"] == "pruned").sum() == e["n_pruned"]
        assert (rows["status"] != "pruned").sum() == e["n_measured"]
    assert (want >= 0).all()
    assert (st == want).all()
    # stages appear in job order, each a contiguous block of job ids
    order = np.argsort(jobs)
    assert (np.diff(st[order]) >= 0).all()


@pytest.mark.parametrize("workers", [1, 4])
def test_grouped_sequential_stage_column_matches_stage_log(bench, workers):
    opt = GroupedSequential(bench.space, seed=1, grouping="fixed_size", group_size=3,
                            n_trials=30, min_trials=4)
    tr = simulate(bench, opt, seed=1, n_workers=workers, max_evaluations=1000)
    assert opt.finished and len(opt.stages) >= 3
    _check_against_log(tr, opt)
    # the stage's searched hyperparameters are the only ones that vary inside it
    f = tr.frame
    for k, names in enumerate(opt.stages):
        rows = f[f["stage"] == k]
        others = [n for n in bench.space.names if n not in names]
        assert (rows[others].nunique(dropna=False) <= 1).all()


def test_two_step_stage_column_and_rebuild_agree(bench):
    opt = TwoStepSearch(bench.space, seed=4, n_trials=24, arch_fraction=0.25)
    tr = simulate(bench, opt, seed=4, n_workers=3, max_evaluations=1000)
    _check_against_log(tr, opt)
    f = tr.frame
    assert (f["stage"] == 0).sum() == 6 and (f["stage"] == 1).sum() == 18
    assert (f.loc[f["stage"] == 0, "fidelity"] == bench.space.fidelity.lower).all()
    # the rule-based rebuild (for old traces) agrees with the recorded column
    assert (trace_stages(tr, opt.trials) == f["stage"].to_numpy()).all()
    assert (trace_stages(tr) == f["stage"].to_numpy()).all()


def test_stage_time_and_multi_fidelity_base_with_pruned_jobs(bench):
    """Time-budgeted stages over ASHA, with a pruner rejecting every third new job: pruned
    rows carry their stage too, and continuations keep the stage that asked for them."""
    calls = {"n": 0}

    def every_third(job, feats):
        if job.continues:
            return False
        calls["n"] += 1
        return calls["n"] % 3 == 0

    sp = bench.space
    groups = sp.metadata["groups"]
    opt = StagedSearch(sp, seed=2, stages=["architecture", "training"],
                       stage_time=[400.0, 400.0], base="asha",
                       pruner=CallablePruner(every_third, ()))
    tr = simulate(bench, opt, seed=2, n_workers=2, time_budget=2000.0)
    f = tr.frame
    assert (f["status"] == "pruned").any() and (f["continues"]).any()
    assert set(f["stage"]) == {0, 1}
    _check_against_log(tr, opt)
    arch = [n for n in groups["architecture"] if n in opt.stages[0]]
    assert f.loc[f["stage"] == 1, arch].nunique().max() == 1


def test_other_optimizers_write_minus_one_and_simulate_many_agrees(bench):
    for name in ("tpe", "asha", "hyperband"):
        f = simulate(bench, name, seed=0, n_workers=2, max_evaluations=20).frame
        assert (f["stage"] == -1).all()
    kw = {"n_trials": 12, "min_trials": 3}
    many = simulate_many(bench, "grouped-sequential", [0, 1], n_workers=2,
                         max_evaluations=12, optimizer_kwargs=kw)
    for s, tr in zip([0, 1], many, strict=True):
        one = simulate(bench, "grouped-sequential", seed=s, n_workers=2, max_evaluations=12,
                       optimizer_kwargs=kw)
        assert tr == one and (tr.frame["stage"] >= 0).all()


def test_roundtrip_and_older_versions_load_without_the_column(bench, tmp_path):
    kw = {"n_trials": 16, "min_trials": 4}
    tr = simulate(bench, "grouped-sequential", seed=3, n_workers=2, max_evaluations=16,
                  optimizer_kwargs=kw)
    assert T.TRACE_SCHEMA_VERSION >= 3 and 3 in T.READABLE_VERSIONS
    for suffix in (".parquet", ".csv"):
        back = Trace.load(tr.save(tmp_path / f"new{suffix}"))
        assert back.schema_version == T.TRACE_SCHEMA_VERSION
        assert (back.frame["stage"].to_numpy() == tr.frame["stage"].to_numpy()).all()
    # a version-2 trace (written before the column existed) loads; stages are rebuilt from
    # the trace's metadata and equal the recorded ones
    old = Trace(tr.frame.drop(columns="stage"), tr.meta)
    real = T.TRACE_SCHEMA_VERSION
    T.TRACE_SCHEMA_VERSION = 2
    try:
        p = old.save(tmp_path / "old.parquet")
    finally:
        T.TRACE_SCHEMA_VERSION = real
    back = Trace.load(p)
    assert back.schema_version == 2 and "stage" not in back.frame.columns
    assert (trace_stages(back) == tr.frame["stage"].to_numpy()).all()
