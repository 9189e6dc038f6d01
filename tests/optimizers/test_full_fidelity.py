"""A full-budget optimizer trains each config for its own in-config fidelity: searched,
*fixed* (``fixed={"epochs": 9}``) or, when neither, the maximum fidelity. Before the fix
:meth:`Optimizer._full_fidelity` ignored a fixed value and asked ``max_fidelity`` (27) for
configs that hold ``epochs=9`` (StagedSearch worked around it for its stages)."""

from __future__ import annotations

import numpy as np
import pytest

from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.optimizers import get_optimizer
from hasbench.simulate import simulate

FULL_BUDGET = ["random", "tpe", "tpe-kde", "bo", "re"]


@pytest.fixture(scope="module")
def bench():
    return SyntheticBenchmark("hia-cnn", seed=0)


@pytest.mark.parametrize("name", FULL_BUDGET)
def test_fixed_in_config_fidelity_is_the_jobs_fidelity(bench, name):
    sp = bench.space
    fid = sp.fidelity
    assert fid.in_config and fid.name == "epochs" and fid.upper == 27
    kw = {"fixed": {"epochs": 9}}
    opt = get_optimizer(name, sp, seed=0, **kw)
    assert list(opt.fidelity_levels) == [9.0]
    for _ in range(3):
        job = opt.ask()
        assert job.config(sp)["epochs"] == 9
        assert job.fidelity == 9.0
    tr = simulate(bench, name, seed=1, n_workers=2, max_evaluations=12, optimizer_kwargs=kw)
    f = tr.frame
    assert len(f) == 12 and (f["fidelity"] == 9.0).all()
    assert (f["epochs"] == 9).all()
    # the simulator charged 9 epochs of training: the benchmark's cost at fidelity 9
    X = f[sp.names].to_numpy(dtype=float)
    cost = bench.query(X, fidelity=9.0, metrics=[bench.clock_metric],
                       seed=f["bench_seed"].to_numpy(), as_arrays=True)[bench.clock_metric]
    assert np.allclose(f["cost"].to_numpy(), np.asarray(cost, float))


@pytest.mark.parametrize("name", ["random", "tpe"])
def test_unfixed_fidelity_is_max_and_searched_is_the_configs(bench, name):
    sp = bench.space
    opt = get_optimizer(name, sp, seed=0)
    assert [opt.ask().fidelity for _ in range(3)] == [27.0] * 3
    low = get_optimizer(name, sp, seed=0, max_fidelity=3)
    assert [low.ask().fidelity for _ in range(3)] == [3.0] * 3
    searched = get_optimizer(name, sp, seed=0, names=list(sp.names))
    assert searched.fidelity_levels is None
    for _ in range(5):
        j = searched.ask()
        assert j.fidelity == float(j.config(sp)["epochs"])


def test_points_to_evaluate_with_fixed_fidelity(bench):
    sp = bench.space
    p = dict(sp.default(), epochs=27)
    opt = get_optimizer("random", sp, seed=0, fixed={"epochs": 5}, points_to_evaluate=[p])
    j = opt.ask()
    assert j.config(sp)["epochs"] == 5 and j.fidelity == 5.0
