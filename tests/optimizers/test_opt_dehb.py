"""DEHB: HpBandSter brackets, SH promotions in the first Hyperband round, DE afterwards."""

from __future__ import annotations

import numpy as np

from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.optimizers import DEHB, Result
from hasbench.simulate import simulate


def test_dehb_brackets_promotions_and_selection():
    b = SyntheticBenchmark("hia-cnn", seed=0)
    tr = simulate(b, "dehb", seed=0, n_workers=3, max_evaluations=500)
    f = tr.frame
    sizes = f.groupby(["bracket", "rung"]).size()
    want = {0: (27, 9, 3, 1), 1: (9, 3, 1), 2: (6, 2), 3: (4,), 4: (27, 9, 3, 1)}
    for it, ns in want.items():
        for r, n in enumerate(ns):
            assert sizes[(it, r)] == n
    # first Hyperband round: higher rungs re-evaluate configs from the lower budget
    first = f[(f["bracket"] < 4) & (f["rung"] > 0)]
    assert first["continues"].all()
    # later rounds evolve new configurations (new trials)
    later = f[(f["bracket"] >= 4) & (f["rung"] > 0)]
    assert len(later) and not later["continues"].any()
    assert set(f["fidelity"]) == {1.0, 3.0, 9.0, 27.0}


def test_dehb_selection_keeps_better_and_failures_never_enter():
    b = SyntheticBenchmark("hia-cnn", seed=0)
    opt = DEHB(b.space, seed=1)
    j = opt.ask()
    pid = j.info["parent"]
    opt.tell(j, Result(0.5))
    assert opt.fit[1.0][pid] == 0.5
    np.testing.assert_array_equal(opt.pop[1.0][pid], j.info["u"])
    # every ask of the first rung targets the next member of the subpopulation
    jobs = [opt.ask() for _ in range(5)]
    assert [jj.info["parent"] for jj in jobs] == [1, 2, 3, 4, 5]
    before = opt.pop[1.0].copy()
    for jj in jobs[:3]:
        opt.tell(jj, Result(np.inf, status="crashed"))
    for jj in jobs[3:]:
        opt.tell_pruned(jj, {})
    # failed/pruned results never replace a member (not even a not-yet-evaluated one)
    np.testing.assert_array_equal(opt.pop[1.0], before)
    assert (opt.trial_of[1.0][1:6] == -1).all() and np.isinf(opt.fit[1.0][1:6]).all()
    # the 2 pruned jobs do not count in the rung: 27 - 1 - 3 measured/failed slots remain
    left = []
    while (jj := opt.ask()) is not None and jj.info["rung"] == 0 and jj.info["iteration"] == 0:
        left.append(jj)
    assert len(left) == 27 - 6 + 2


def _evolve_setup(cr, F=0.5, seed=0):
    b = SyntheticBenchmark("hia-cnn", seed=0)
    opt = DEHB(b.space, seed=seed, crossover_prob=cr, mutation_factor=F)
    return opt


def test_dehb_crossover_forces_a_coordinate_only_when_none_crossed():
    """DE.crossover_bin: one coordinate is forced only if no coordinate crossed, so the
    number of mutant coordinates is Binomial(d, CR) (0 replaced by 1): mean ~ d*CR."""
    opt = _evolve_setup(0.5)
    rng = np.random.default_rng(0)
    d = len(opt.names)
    for bud in opt._budgets:
        opt.pop[bud] = 0.3 + 0.4 * rng.random(opt.pop[bud].shape)
        opt.fit[bud] = rng.random(opt.fit[bud].size)
    target = 0.3 + 0.4 * rng.random(d)
    crossed = []
    for _ in range(3000):
        trial = opt._evolve(1.0, 1.0, 27, target.copy())
        crossed.append(int((trial != target).sum()))
    crossed = np.array(crossed)
    assert crossed.min() >= 1
    # reference: E = d*CR + P(none) = 4.5 + 2^-9; always forcing one gives 5.0
    assert abs(crossed.mean() - (d * 0.5 + 0.5 ** d)) < 0.12


def test_dehb_small_pool_padded_with_mutants_not_raw_members():
    """A mutation pool of fewer than 3 is padded with rand/1 mutants of all subpopulations
    (reference _acquire_config), not with raw members: with every member on the grid
    {0.3, 0.7} and F=0.1, raw-member differences only give values in S below."""
    opt = _evolve_setup(1.0, F=0.1)
    rng = np.random.default_rng(1)
    d = len(opt.names)
    for bud in opt._budgets:
        opt.pop[bud] = np.where(rng.random(opt.pop[bud].shape) < 0.5, 0.3, 0.7)
        opt.fit[bud] = rng.random(opt.fit[bud].size)
    S = np.array([0.3 + 0.1 * k for k in (-0.4, 0.0, 0.4)] +
                 [0.7 + 0.1 * k for k in (-0.4, 0.0, 0.4)])
    target = np.full(d, 0.5)
    off_grid = 0
    for _ in range(300):
        trial = opt._evolve(27.0, 9.0, 1, target.copy())   # pool: best 1 of budget 9
        off_grid += int((np.abs(trial[:, None] - S[None, :]).min(axis=1) > 1e-9).sum())
    assert off_grid > 100
