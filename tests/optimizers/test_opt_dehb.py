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


def test_dehb_selection_keeps_better():
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
    for jj in jobs:
        opt.tell(jj, Result(np.inf))  # crashed: never replaces a finite member
