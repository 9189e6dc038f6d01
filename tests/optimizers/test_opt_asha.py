"""ASHA: promotion mode equals SH's promotions with one worker and ordered results; stopping
mode follows ASHA's rank rule, stopping_quantile Syne Tune's quantile rule (the two differ
on the arrivals tested); failed and pruned jobs never count in a rung."""

from __future__ import annotations

import numpy as np
import pytest

from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.errors import InvalidValueError
from hasbench.optimizers import ASHA, Result, SuccessiveHalving
from hasbench.simulate import simulate
from hasbench.spaces import get_space


def _sequential(opt, loss_of):
    """One worker, results told in the order the jobs were asked."""
    promoted: dict[int, set] = {}
    while True:
        j = opt.ask()
        if j is None:
            break
        if j.continues:
            k = int(j.info["rung"]) - 1
            promoted.setdefault(k, set()).add(j.trial_id)
        opt.tell(j, Result(loss_of(j.trial_id, j.fidelity)))
    return promoted


@pytest.mark.parametrize("ordered", [True, False])
def test_asha_one_worker_vs_sh(ordered):
    sp = get_space("hia-cnn")
    perm = np.random.default_rng(5).permutation(27)

    def loss_of(t, f):
        base = t if ordered else perm[t]
        return float(base) + 1.0 / f  # same ranking at every rung

    sh = SuccessiveHalving(sp, seed=0, n_iterations=1)
    assert sh.brackets[0].n == (27, 9, 3, 1)
    p_sh = _sequential(sh, loss_of)
    asha = ASHA(sp, seed=0, max_trials=27, resume=False)
    np.testing.assert_array_equal(asha.rungs, [1, 3, 9, 27])
    p_asha = _sequential(asha, loss_of)
    assert [len(p_sh[k]) for k in range(3)] == [9, 3, 1]
    for k in range(3):
        if ordered:  # results arrive best first: ASHA promotes exactly SH's configs
            assert p_asha[k] == p_sh[k]
        else:        # otherwise it promotes at least those (plus early, optimistic ones)
            assert p_sh[k] <= p_asha[k]
    if not ordered:
        assert any(p_sh[k] != p_asha[k] for k in range(3))


ARRIVALS = [0.5, 0.9, 0.6, 0.55, 0.8, 0.52]


def _continued(mode, losses, eta=3):
    """Six new trials report at rung 0 in this order; which ones continue to rung 1?"""
    opt = ASHA(get_space("hia-cnn"), seed=0, asha_mode=mode, eta=eta)
    jobs = [opt.ask() for _ in losses]
    assert all(j.fidelity == 1 and not j.continues for j in jobs)
    for j, v in zip(jobs, losses, strict=True):
        opt.tell(j, Result(v))
    cont = []
    while (j := opt.ask()).continues:
        assert j.fidelity == opt.rungs[1] and j.resume_from == opt.rungs[0]
        cont.append(j.trial_id)
    first = jobs[0].trial_id
    return {t - first for t in cont}


def test_asha_stopping_rank_rule():
    # rank rule (the documented ASHA rule): with n recorded at the rung and p of them better,
    # continue iff p <= n / eta.  0.5: p=0/1; 0.9: 1/2 stop; 0.6: 1/3 go; 0.55: 1/4 go;
    # 0.8: 3/5 stop; 0.52: 1/6 go
    assert _continued("stopping", ARRIVALS) == {0, 2, 3, 5}


def test_asha_stopping_quantile_rule():
    # Syne Tune's StoppingRungSystem: loss <= numpy.quantile(recorded, 1/eta)
    # 0.6 > quantile([0.5, 0.6, 0.9], 1/3) = 0.5667 stops here, unlike the rank rule
    assert _continued("stopping_quantile", ARRIVALS) == {0, 3, 5}
    for k in range(1, len(ARRIVALS) + 1):
        rec = ARRIVALS[:k]
        go = ARRIVALS[k - 1] <= np.quantile(rec, 1 / 3)
        assert ((k - 1) in _continued("stopping_quantile", ARRIVALS[:k])) == go


def test_asha_rank_rule_ties_and_eta():
    # equal losses: the earlier result ranks first (p counts earlier equal ones); eta=2:
    # p=0/1 go, 1/2 go, 2/3 stop, 3/4 stop
    assert _continued("stopping", [0.5, 0.5, 0.5, 0.5], eta=2) == {0, 1}
    assert _continued("stopping", [0.4, 0.3, 0.2, 0.1]) == {0, 1, 2, 3}


def test_asha_pruned_and_failed_jobs_do_not_count_in_a_rung():
    """3 evaluated + 6 pruned (or crashed) at rung 0 -> floor(3/3) = 1 promotion, not 3."""
    sp = get_space("hia-cnn")
    for how in ("pruned", "crashed"):
        opt = ASHA(sp, seed=0, eta=3)
        jobs = [opt.ask() for _ in range(9)]
        for i, j in enumerate(jobs):
            if i < 6:
                if how == "pruned":
                    opt.tell_pruned(j, {})
                else:
                    opt.tell(j, Result(np.inf, status="crashed"))
            else:
                opt.tell(j, Result(0.1 * i))
        nxt = [opt.ask() for _ in range(3)]
        assert [j.continues for j in nxt] == [True, False, False], how
        assert nxt[0].trial_id == jobs[6].trial_id


def test_asha_stopping_ignores_failures():
    opt = ASHA(get_space("hia-cnn"), seed=0, asha_mode="stopping")
    jobs = [opt.ask() for _ in range(3)]
    opt.tell(jobs[0], Result(np.inf, status="crashed"))  # never continues, not counted
    opt.tell_pruned(jobs[1], {})
    opt.tell(jobs[2], Result(0.7))                         # first measured: continues
    j = opt.ask()
    assert j.continues and j.trial_id == jobs[2].trial_id


@pytest.mark.parametrize("mode", ["stopping", "stopping_quantile"])
def test_asha_stopping_in_simulation_thins_rungs(mode):
    b = SyntheticBenchmark("hia-cnn", seed=0)
    tr = simulate(b, "asha", seed=0, n_workers=4, max_evaluations=400,
                  optimizer_kwargs={"asha_mode": mode})
    f = tr.frame
    counts = f.groupby("fidelity").size()
    # each rung keeps roughly the top 1/eta of its trials
    assert counts[1.0] > counts[3.0] > counts[9.0] > 0
    assert 0.2 < counts[3.0] / counts[1.0] < 0.6
    # continuations resume: charged only the extra epochs
    cont = f[f["continues"]]
    assert (cont["resume_from"] > 0).all()


def test_asha_promotion_async_many_workers():
    b = SyntheticBenchmark("hia-cnn", seed=0)
    tr = simulate(b, "asha", seed=1, n_workers=8, max_evaluations=300)
    f = tr.frame
    assert set(f["fidelity"]) <= {1.0, 3.0, 9.0, 27.0}
    assert (f["fidelity"] == 27).any()


def test_asha_validation():
    sp = get_space("hia-cnn")
    with pytest.raises(InvalidValueError, match="asha_mode"):
        ASHA(sp, asha_mode="pause")
    with pytest.raises(InvalidValueError, match="early_stopping_rate"):
        ASHA(sp, early_stopping_rate=9)
