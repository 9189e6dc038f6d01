"""Hyperband/BOHB brackets equal the published schedules (spec section 2, tables A and B)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hasbench.errors import InvalidValueError
from hasbench.optimizers import (
    BOHB,
    DEHB,
    Hyperband,
    SuccessiveHalving,
    fidelity_ladder,
    hyperband_brackets,
)

A_PAPER = [(27, 9, 3, 1), (12, 4, 1), (6, 2), (4,)]
A_HPB = [(27, 9, 3, 1), (9, 3, 1), (6, 2), (4,)]
B_PAPER = [(81, 27, 9, 3, 1), (34, 11, 3, 1), (15, 5, 1), (8, 2), (5,)]
B_HPB = [(81, 27, 9, 3, 1), (27, 9, 3, 1), (9, 3, 1), (6, 2), (5,)]


@pytest.mark.parametrize("rung_mode", ["geometric_down", "geometric_up"])
@pytest.mark.parametrize("variant,expected", [("paper", A_PAPER), ("bohb", A_HPB)])
def test_table_a_1_27_3(variant, expected, rung_mode):
    br = hyperband_brackets(1, 27, 3, variant, rung_mode)
    assert [b.n for b in br] == expected
    assert [b.s for b in br] == [3, 2, 1, 0]
    for b in br:
        assert b.budgets == (1.0, 3.0, 9.0, 27.0)[-(b.s + 1):]
    # paper: total resource per iteration 423 units
    if variant == "paper":
        assert sum(n * r for b in br for n, r in zip(b.n, b.budgets, strict=True)) == 423


@pytest.mark.parametrize("variant,expected", [("paper", B_PAPER), ("bohb", B_HPB),
                                              ("hpbandster", B_HPB)])
def test_table_b_1_200_3_down(variant, expected):
    br = hyperband_brackets(1, 200, 3, variant, "geometric_down")
    assert [b.n for b in br] == expected
    want = [200 / 3 ** k for k in (4, 3, 2, 1, 0)]
    np.testing.assert_allclose(br[0].budgets, want)
    np.testing.assert_allclose([round(v, 2) for v in br[0].budgets],
                               [2.47, 7.41, 22.22, 66.67, 200.0])
    for b in br:
        assert b.budgets == br[0].budgets[-(b.s + 1):]


def test_table_b_1_200_3_up():
    # Syne Tune ladder: round(r_min eta^k) while < max_t, then max_t
    np.testing.assert_array_equal(fidelity_ladder(1, 200, 3, "geometric_up"),
                                  [1, 3, 9, 27, 81, 200])
    br = hyperband_brackets(1, 200, 3, "paper", "geometric_up")
    assert [b.s for b in br] == [5, 4, 3, 2, 1, 0]
    # paper formula with s_max = 5: n = ceil(6 * 3^s / (s + 1))
    assert [b.n[0] for b in br] == [243, 98, 41, 18, 9, 6]
    assert br[0].budgets == (1.0, 3.0, 9.0, 27.0, 81.0, 200.0)
    hp = hyperband_brackets(1, 200, 3, "bohb", "geometric_up")
    assert [b.n for b in hp][:3] == [(243, 81, 27, 9, 3, 1), (81, 27, 9, 3, 1), (27, 9, 3, 1)]


@pytest.mark.parametrize("variant", ["paper", "bohb"])
def test_1_243_3_integer_safe(variant):
    # float code: -int(log(1/243)/log(3)) + 1 == 5 brackets and smallest budget 3; the
    # published schedules (and the optimizers' defaults) start at budget 1 with 6 rungs
    br = hyperband_brackets(1, 243, 3, variant)
    assert len(br) == 6
    assert br[0].budgets[0] == 1.0
    assert br[0].n == (243, 81, 27, 9, 3, 1)


def test_integer_fidelity_rounding():
    lad = fidelity_ladder(1, 200, 3, "geometric_down", integer=True)
    np.testing.assert_array_equal(lad, [2, 7, 22, 67, 200])


def test_bad_arguments_named():
    with pytest.raises(InvalidValueError, match="eta"):
        hyperband_brackets(1, 27, 1)
    with pytest.raises(InvalidValueError, match="max_budget"):
        hyperband_brackets(27, 1, 3)
    with pytest.raises(InvalidValueError, match="hb_variant"):
        hyperband_brackets(1, 27, 3, "smac")
    with pytest.raises(InvalidValueError, match="rung_mode"):
        hyperband_brackets(1, 27, 3, "paper", "sideways")


@given(lo=st.integers(1, 10), ratio=st.integers(2, 400), eta=st.integers(2, 5),
       variant=st.sampled_from(["paper", "bohb"]),
       mode=st.sampled_from(["geometric_down", "geometric_up"]))
def test_bracket_properties(lo, ratio, eta, variant, mode):
    hi = lo * ratio
    br = hyperband_brackets(lo, hi, eta, variant, mode)
    s_max = br[0].s
    assert [b.s for b in br] == list(range(s_max, -1, -1))
    for b in br:
        assert len(b.n) == len(b.budgets) == b.s + 1
        assert all(n >= 1 for n in b.n)
        assert all(b.n[i + 1] <= b.n[i] for i in range(len(b.n) - 1))
        assert all(b.budgets[i] < b.budgets[i + 1] for i in range(len(b.budgets) - 1))
        assert b.budgets[-1] == hi
        assert b.budgets[0] >= lo * (1 - 1e-9)
        if variant == "paper":  # each rung keeps floor(n / eta^i)
            assert b.n == tuple(b.n[0] // eta ** i for i in range(b.s + 1))
    if mode == "geometric_down":  # s_max = floor(log_eta(R)) exactly
        assert eta ** s_max <= ratio < eta ** (s_max + 1)


def _hpbandster_074(min_budget, max_budget, eta):
    """HpBandSter 0.7.4, hpbandster/optimizers/hyperband.py lines 60-61 and 90-92 (the same
    lines are in bohb.py), transcribed: the oracle for hb_variant='hpbandster'."""
    max_SH_iter = -int(np.log(min_budget / max_budget) / np.log(eta)) + 1
    budgets = max_budget * np.power(eta, -np.linspace(max_SH_iter - 1, 0, max_SH_iter))
    out = []
    for iteration in range(max_SH_iter):
        s = max_SH_iter - 1 - (iteration % max_SH_iter)
        n0 = int(np.floor((max_SH_iter) / (s + 1)) * eta ** s)
        ns = [max(int(n0 * (eta ** (-i))), 1) for i in range(s + 1)]
        out.append((s, tuple(ns), tuple(float(b) for b in budgets[(-s - 1):])))
    return out


_GRID = [(lo, lo * r, eta) for lo in (1, 2, 3, 0.5, 0.01) for eta in (2, 3, 4, 5, 10)
         for r in (2, 3, 4, 8, 9, 10, 16, 27, 32, 81, 100, 125, 200, 243, 256, 486, 625,
                   729, 1000, 1024)]


@pytest.mark.parametrize("lo,hi,eta", _GRID)
def test_hpbandster_variant_is_hpbandsters_output(lo, hi, eta):
    got = [(b.s, b.n, b.budgets) for b in hyperband_brackets(lo, hi, eta, "hpbandster")]
    assert got == _hpbandster_074(lo, hi, eta)  # exact, floats included


@pytest.mark.parametrize("lo,hi,eta,n_rungs,first", [(1, 243, 3, 5, 3.0), (2, 486, 3, 5, 6.0),
                                                    (1, 10, 10, 1, 10.0),
                                                    (1, 100, 10, 2, 10.0)])
def test_hpbandster_rounding_cases(lo, hi, eta, n_rungs, first):
    br = hyperband_brackets(lo, hi, eta, "hpbandster")
    assert len(br[0].n) == n_rungs and br[0].budgets[0] == first
    exact = hyperband_brackets(lo, hi, eta, "bohb")
    assert len(exact[0].n) == n_rungs + 1 and exact[0].budgets[0] == lo
    with pytest.raises(InvalidValueError, match="rung_mode"):
        hyperband_brackets(lo, hi, eta, "hpbandster", "geometric_up")


def test_published_schedule_is_the_default():
    import ConfigSpace as CS

    from hasbench.spaces import Fidelity, Space

    cs = CS.ConfigurationSpace(name="one")
    cs.add(CS.UniformFloatHyperparameter("a", 0.0, 1.0))
    sp = Space("one", "1", cs, [Fidelity("budget", 1, 243, True)])
    for cls in (Hyperband, BOHB, SuccessiveHalving, DEHB):
        opt = cls(sp, seed=0)
        top = opt.brackets[0]
        assert top.budgets[0] == 1.0 and len(top.n) == 6, cls.__name__
    hp = Hyperband(sp, seed=0, hb_variant="hpbandster")
    assert hp.brackets[0].budgets[0] == 3.0 and len(hp.brackets) == 5
