"""Exact static metrics of a config's network without torch: ``params``, ``flops``,
``model_bytes``.

The trainer measures these on the built torch model (:func:`hasbench.train.models.
static_metrics`): trainable parameter count, FLOPs of one forward pass of one sample (2 x
multiply-accumulates of convolutions and linear layers, plus one per output element of
bias adds, pooling windows, batch-norm and activation layers; see
:func:`hasbench.train.models.count_flops`), and bytes of parameters and buffers. They are
fixed functions of the architecture, the input shape and the number of classes, so this
module computes them in closed form from the same layer recipes, for the spaces whose
networks hasbench builds (``hia-cnn``, ``zela2018``, ``nb201-joint``). The agreement with
the torch models is tested config by config (``tests/spaces/test_static.py``); a change to
a network in :mod:`hasbench.train.models` must change its recipe here too.

Querying and replaying use these instead of a regression model of the static metrics when
the benchmark knows its input shape (``Benchmark.static_exact``), so DyESP-style pruners
see the true parameter counts and FLOPs of every config, including unseen ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidValueError, check_int

__all__ = ["STATIC_METRICS", "exact_static_spaces", "static_metrics"]

STATIC_METRICS = ("params", "flops", "model_bytes")
_F32, _I64 = 4, 8  # bytes of a float32 parameter / buffer, of num_batches_tracked


class _Count:
    """Running totals while walking a network's layers."""

    def __init__(self) -> None:
        self.params = 0
        self.flops = 0
        self.buffer_bytes = 0

    def conv(self, cin: int, cout: int, k: int, h_out: int, w_out: int, bias: bool) -> None:
        self.params += cin * k * k * cout + (cout if bias else 0)
        self.flops += cout * h_out * w_out * (2 * k * k * cin + (1 if bias else 0))

    def linear(self, fin: int, fout: int) -> None:
        self.params += fin * fout + fout
        self.flops += fout * (2 * fin + 1)

    def bn(self, c: int, h: int, w: int) -> None:
        self.params += 2 * c
        self.buffer_bytes += 2 * c * _F32 + _I64
        self.flops += c * h * w

    def elementwise(self, n: int) -> None:  # activations, adaptive average pooling
        self.flops += n

    def pool(self, n_out: int, k: int) -> None:
        self.flops += n_out * k * k

    def result(self) -> tuple[float, float, float]:
        return (float(self.params), float(self.flops),
                float(self.params * _F32 + self.buffer_bytes))


def _conv_out(h: int, k: int, stride: int, pad: int) -> int:
    return (h + 2 * pad - k) // stride + 1


def _hia_cnn(cfg: Mapping[str, Any], in_shape: Sequence[int], n_classes: int) -> _Count:
    cnt = _Count()
    c, h, w = (int(v) for v in in_shape)
    f, k = int(cfg["n_filters"]), int(cfg["kernel_size"])
    for i in range(int(cfg["n_conv_layers"])):
        h, w = _conv_out(h, k, 1, k // 2), _conv_out(w, k, 1, k // 2)
        cnt.conv(c, f, k, h, w, bias=True)
        cnt.elementwise(f * h * w)
        c = f
        if i < 2 and min(h, w) >= 2:
            h, w = h // 2, w // 2
            cnt.pool(c * h * w, 2)
    units = int(cfg["n_dense_units"])
    cnt.linear(c * h * w, units)
    cnt.elementwise(units)
    cnt.linear(units, n_classes)
    return cnt


def _zela2018(cfg: Mapping[str, Any], in_shape: Sequence[int], n_classes: int) -> _Count:
    cnt = _Count()
    cin0, h, w = (int(v) for v in in_shape)
    c0 = int(cfg["initial_filters"])
    cnt.conv(cin0, c0, 3, h, w, bias=False)
    cnt.bn(c0, h, w)
    cin = c0
    for s in (1, 2, 3):
        width = max(2, round(c0 * float(cfg[f"widen_factor_{s}"]) * 2 ** (s - 1)))
        branches = int(cfg[f"res_branches_{s}"])
        for b in range(int(cfg[f"nr_residual_blocks_{s}"])):
            stride = 2 if (s > 1 and b == 0) else 1
            h2, w2 = _conv_out(h, 3, stride, 1), _conv_out(w, 3, stride, 1)
            for _ in range(branches):
                cnt.elementwise(cin * h * w)  # ReLU on the block input
                cnt.conv(cin, width, 3, h2, w2, bias=False)
                cnt.bn(width, h2, w2)
                cnt.elementwise(width * h2 * w2)
                cnt.conv(width, width, 3, h2, w2, bias=False)
                cnt.bn(width, h2, w2)
            if stride != 1 or cin != width:
                cnt.conv(cin, width, 1, _conv_out(h, 1, stride, 0), _conv_out(w, 1, stride, 0),
                         bias=False)
                cnt.bn(width, h2, w2)
            cin, h, w = width, h2, w2
    cnt.elementwise(cin * h * w)  # ReLU
    cnt.elementwise(cin)  # adaptive average pooling to 1x1
    cnt.linear(cin, n_classes)
    return cnt


def _nb201_joint(cfg: Mapping[str, Any], in_shape: Sequence[int], n_classes: int) -> _Count:
    cnt = _Count()
    cin0, h, w = (int(v) for v in in_shape)
    ops = [int(cfg[f"Op{i}"]) for i in range(1, 7)]
    n, c = int(cfg["N"]), int(cfg["W"])
    cnt.conv(cin0, c, 3, h, w, bias=False)
    cnt.bn(c, h, w)
    for stage in range(3):
        if stage:  # reduction block: two 3x3 convs (stride 2) + avg-pool/1x1 shortcut
            h2, w2 = _conv_out(h, 3, 2, 1), _conv_out(w, 3, 2, 1)
            cnt.elementwise(c * h * w)
            cnt.conv(c, 2 * c, 3, h2, w2, bias=False)
            cnt.bn(2 * c, h2, w2)
            cnt.elementwise(2 * c * h2 * w2)
            cnt.conv(2 * c, 2 * c, 3, h2, w2, bias=False)
            cnt.bn(2 * c, h2, w2)
            hp, wp = -(-h // 2), -(-w // 2)  # AvgPool2d(2, 2, ceil_mode=True)
            cnt.pool(c * hp * wp, 2)
            cnt.conv(c, 2 * c, 1, hp, wp, bias=False)
            c, h, w = 2 * c, h2, w2
        for _ in range(n):
            for op in ops:  # every edge's op runs once per cell, except "none" (0)
                if op in (2, 3):
                    k = 1 if op == 2 else 3
                    cnt.elementwise(c * h * w)
                    cnt.conv(c, c, k, h, w, bias=False)
                    cnt.bn(c, h, w)
                elif op == 4:
                    cnt.pool(c * h * w, 3)
    cnt.bn(c, h, w)
    cnt.elementwise(c * h * w)
    cnt.elementwise(c)
    cnt.linear(c, n_classes)
    return cnt


_RECIPES = {"hia-cnn": _hia_cnn, "zela2018": _zela2018, "nb201-joint": _nb201_joint}
# the hyperparameters each recipe reads: rows that agree on them share one computation
_READS = {"hia-cnn": ("n_conv_layers", "n_filters", "kernel_size", "n_dense_units"),
          "zela2018": ("initial_filters", "widen_factor_1", "widen_factor_2", "widen_factor_3",
                       "res_branches_1", "res_branches_2", "res_branches_3",
                       "nr_residual_blocks_1", "nr_residual_blocks_2", "nr_residual_blocks_3"),
          "nb201-joint": ("Op1", "Op2", "Op3", "Op4", "Op5", "Op6", "N", "W", "Resolution")}


def exact_static_spaces() -> list[str]:
    """Names of the spaces :func:`static_metrics` computes exactly."""
    return sorted(_RECIPES)


def static_metrics(space: Any, configs: Iterable[Mapping[str, Any]] | np.ndarray,
                   in_shape: Sequence[int], n_classes: int) -> dict[str, np.ndarray]:
    """Exact ``params``, ``flops`` and ``model_bytes`` of each config's network.

    Parameters
    ----------
    space : Space or str
        ``hia-cnn``, ``zela2018`` or ``nb201-joint`` (see :func:`exact_static_spaces`).
    configs : iterable of dict, or an encoded array (n, d) of the space
    in_shape : (C, H, W)
        Shape of one input image as the network sees it, after any resolution scaling the
        dataset applied (the run table's ``dataset_info["image_shape"]``). For
        ``nb201-joint`` a config's own ``Resolution`` scales it further, as in training.
    n_classes : int

    Returns
    -------
    dict of str to float64 array (n,)
    """
    from .catalog import get_space

    where = "static_metrics"
    sp = get_space(space) if isinstance(space, str) else space
    name = getattr(sp, "name", None)
    if name not in _RECIPES:
        raise InvalidValueError("space", name, exact_static_spaces(), where,
                                hint="exact static metrics exist for the networks hasbench "
                                     "builds")
    shape = tuple(in_shape) if isinstance(in_shape, (list, tuple, np.ndarray)) else None
    if shape is None or len(shape) != 3 or not all(
            isinstance(v, (int, np.integer)) and v >= 1 for v in shape):
        raise InvalidValueError("in_shape", in_shape, "(C, H, W) of positive ints", where)
    n_classes = check_int("n_classes", n_classes, 1, None, where)
    if isinstance(configs, np.ndarray):
        X = sp.check_array(configs, f"{where}, configs")
    else:  # validated (named errors for unknown or missing hyperparameters)
        X = sp.encode(list(configs))
    # one computation per distinct architecture (a curve query repeats each config once per
    # epoch; replays revisit configs), decoding only the columns the recipe reads, then
    # spread back to the rows
    reads = [h for h in _READS[name] if h in sp.names]
    key = np.nan_to_num(X[:, [sp.names.index(h) for h in reads]], nan=-1.0)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    configs = sp.decode(X[first], names=reads)
    out = {m: [] for m in STATIC_METRICS}
    recipe = _RECIPES[name]
    for cfg in configs:
        cfg = dict(cfg)
        shp = shape
        if name == "nb201-joint" and float(cfg.get("Resolution", 1.0)) != 1.0:
            r = float(cfg["Resolution"])  # as the trainer rescales before building
            shp = (shape[0], max(1, round(shape[1] * r)), max(1, round(shape[2] * r)))
        p, f, b = recipe(cfg, shp, n_classes).result()
        out["params"].append(p)
        out["flops"].append(f)
        out["model_bytes"].append(b)
    inverse = np.asarray(inverse).reshape(-1)
    return {m: np.asarray(v, dtype=np.float64)[inverse] for m, v in out.items()}
