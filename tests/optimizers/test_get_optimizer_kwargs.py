"""get_optimizer refuses unknown keyword arguments, naming the key and the accepted ones
(issue 21 item 5: `--opt etaa=3` reached the optimizer as a raw TypeError)."""

from __future__ import annotations

import pytest

from hasbench.errors import UnknownNameError
from hasbench.optimizers import get_optimizer, list_optimizers


@pytest.mark.parametrize("name", ["bohb", "hyperband", "random", "tpe"])
def test_unknown_kwarg_names_key_and_allowed(name):
    with pytest.raises(UnknownNameError) as ei:
        get_optimizer(name, "hia-cnn", seed=0, etaa=3)
    exc = ei.value
    assert exc.value == "etaa"
    assert "etaa" in str(exc)
    allowed = list(exc.allowed)
    assert "seed" not in allowed and "space" not in allowed
    assert "max_fidelity" in allowed  # a base option of every optimizer
    for k in allowed:  # every listed key is accepted
        if k in ("pruner", "names", "fixed", "points_to_evaluate", "min_fidelity",
                 "max_fidelity"):
            continue
        assert k in str(exc)


def test_known_kwargs_accepted_everywhere():
    for name in list_optimizers():
        get_optimizer(name, "hia-cnn", seed=0, failed_weight=1.0)


def test_bohb_lists_its_own_options():
    with pytest.raises(UnknownNameError) as ei:
        get_optimizer("bohb", "hia-cnn", etaa=3)
    assert {"eta", "random_fraction"} <= set(ei.value.allowed)
