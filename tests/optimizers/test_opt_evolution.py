"""Regularized evolution: tournament with replacement (Real et al. 2019), failed and pruned
proposals never join the population."""

from __future__ import annotations

import numpy as np

from hasbench.optimizers import RegularizedEvolution, Result
from hasbench.spaces import get_space


def _parent_of(child, members):
    """The member the child was mutated from: it differs in one coordinate at most."""
    same = [int((child == m).sum()) for m in members]
    return int(np.argmax(same))


def test_tournament_samples_with_replacement():
    """Population of 2, tournament of 2: without replacement the better member always wins;
    with replacement both draws hit the worse one with probability 1/4."""
    sp = get_space("hia-cnn")
    opt = RegularizedEvolution(sp, seed=0, population_size=2, sample_size=2)
    init = [opt.ask(), opt.ask()]
    opt.tell(init[0], Result(0.1))   # better
    opt.tell(init[1], Result(0.9))   # worse
    members = [j.x for j in init]
    worse = sum(_parent_of(opt.ask().x, members) == 1 for _ in range(800))
    assert 0.18 < worse / 800 < 0.32


def test_failed_and_pruned_never_join_population():
    sp = get_space("hia-cnn")
    opt = RegularizedEvolution(sp, seed=1, population_size=4, sample_size=2)
    jobs = [opt.ask() for _ in range(4)]
    assert all(j.info.get("init") for j in jobs)
    opt.tell_pruned(jobs[0], {})
    opt.tell(jobs[1], Result(np.inf, status="crashed"))
    opt.tell(jobs[2], Result(0.3))
    opt.tell(jobs[3], Result(0.4))
    assert [loss for _, loss in opt._pop] == [0.3, 0.4]
    # the two lost initial proposals are replaced by uniform ones, then evolution starts
    more = [opt.ask() for _ in range(3)]
    assert [bool(j.info.get("init")) for j in more] == [True, True, False]
    for j in more[:2]:
        opt.tell_pruned(j, {})
    assert len(opt._pop) == 2 and all(np.isfinite(v) for _, v in opt._pop)
    # five pruned proposals in a row leave a full population untouched
    for j in more[2:]:
        opt.tell(j, Result(0.2))
    pop_before = list(opt._pop)
    for _ in range(5):
        opt.tell_pruned(opt.ask(), {})
    assert list(opt._pop) == pop_before
