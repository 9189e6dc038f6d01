"""Exact static metrics without torch agree with the torch models the trainer builds."""

from __future__ import annotations

import numpy as np
import pytest

from hasbench.errors import InvalidValueError
from hasbench.spaces import get_space
from hasbench.spaces.static import exact_static_spaces, static_metrics


@pytest.mark.parametrize("space", ["hia-cnn", "zela2018", "nb201-joint"])
@pytest.mark.parametrize("in_shape", [(1, 8, 8), (1, 14, 14), (3, 32, 32)])
def test_matches_the_torch_model(space, in_shape):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    from hasbench.train.models import build_model
    from hasbench.train.models import static_metrics as torch_static

    sp = get_space(space)
    n = 12 if in_shape[1] < 32 else 4
    cfgs = sp.sample(n, np.random.default_rng(sum(in_shape)))
    got = static_metrics(sp, cfgs, in_shape, 10)
    for i, cfg in enumerate(cfgs):
        shape = in_shape
        if space == "nb201-joint" and float(cfg.get("Resolution", 1.0)) != 1.0:
            x = F.interpolate(torch.zeros(1, *in_shape), size=(
                max(1, round(in_shape[1] * cfg["Resolution"])),
                max(1, round(in_shape[2] * cfg["Resolution"]))), mode="bilinear")
            shape = tuple(x.shape[1:])
        want = torch_static(build_model(space, cfg, shape, 10), shape)
        for m in ("params", "flops", "model_bytes"):
            assert got[m][i] == want[m], (m, cfg)


def test_encoded_array_and_errors():
    sp = get_space("hia-cnn")
    cfgs = sp.sample(5, np.random.default_rng(0))
    a = static_metrics("hia-cnn", cfgs, (1, 8, 8), 10)
    b = static_metrics(sp, sp.encode(cfgs), [1, 8, 8], 10)
    for m in a:
        np.testing.assert_array_equal(a[m], b[m])
        assert a[m].shape == (5,) and (a[m] > 0).all()
    order = [3, 0, 3, 1, 0, 4, 4]  # repeated rows share one computation, order is kept
    c = static_metrics(sp, sp.encode(cfgs)[order], (1, 8, 8), 10)
    for m in a:
        np.testing.assert_array_equal(c[m], a[m][order])
    assert set(exact_static_spaces()) == {"hia-cnn", "zela2018", "nb201-joint"}
    with pytest.raises(InvalidValueError, match="in_shape"):
        static_metrics(sp, cfgs, (8, 8), 10)
    with pytest.raises(InvalidValueError, match="n_classes"):
        static_metrics(sp, cfgs, (1, 8, 8), 0)
    with pytest.raises(InvalidValueError, match="X.shape"):
        static_metrics(sp, np.zeros((2, 3)), (1, 8, 8), 10)


def test_bad_dict_config_is_a_named_error():
    sp = get_space("zela2018")
    cfg = dict(sp.sample(1, np.random.default_rng(0))[0])
    cfg["initial_filters"] = -3
    with pytest.raises(InvalidValueError, match="initial_filters"):
        static_metrics(sp, [cfg], (1, 8, 8), 10)
