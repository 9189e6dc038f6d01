"""ASHA: promotion mode equals SH's promotions with one worker and ordered results; stopping
mode follows Syne Tune's quantile rule."""

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


def test_asha_stopping_rule():
    sp = get_space("hia-cnn")
    opt = ASHA(sp, seed=0, asha_mode="stopping", eta=3)
    j0 = opt.ask()
    assert j0.fidelity == 1 and not j0.continues
    opt.tell(j0, Result(0.5))  # first at rung 0: always continues
    j = opt.ask()
    assert j.trial_id == j0.trial_id and j.fidelity == 3 and j.continues
    assert j.resume_from == 1
    opt.tell(j, Result(0.4))   # first at rung 1: continues
    j = opt.ask()
    assert j.trial_id == j0.trial_id and j.fidelity == 9
    # a worse trial at rung 0 stops: quantile_{1/3}([0.5, 0.9]) = 0.633 < 0.9
    j1 = opt.ask()
    assert j1.trial_id != j0.trial_id
    opt.tell(j1, Result(0.9))
    j2 = opt.ask()
    assert j2.trial_id not in (j0.trial_id, j1.trial_id) and j2.fidelity == 1
    # a better one continues: quantile_{1/3}([0.5, 0.9, 0.1]) = 0.36 >= 0.1
    opt.tell(j2, Result(0.1))
    j3 = opt.ask()
    assert j3.trial_id == j2.trial_id and j3.fidelity == 3


def test_asha_stopping_in_simulation_thins_rungs():
    b = SyntheticBenchmark("hia-cnn", seed=0)
    tr = simulate(b, "asha", seed=0, n_workers=4, max_evaluations=400,
                  optimizer_kwargs={"asha_mode": "stopping"})
    f = tr.frame
    counts = f.groupby("fidelity").size()
    # each rung keeps roughly the top 1/eta of its trials
    assert counts[1.0] > counts[3.0] > counts[9.0] > 0
    assert counts[3.0] / counts[1.0] < 0.6
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
