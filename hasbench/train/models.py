"""Torch models built from configurations of the shipped spaces, and static metrics.

- ``hia-cnn``: ``n_conv_layers`` conv layers of ``n_filters`` channels (``same`` padding,
  ``kernel_size``, ``activation``), a 2x2 max-pool after conv layers 1 and 2 only (skipped
  when the feature map is already 1 pixel wide), flatten, dropout, dense
  (``n_dense_units``, activation), dropout, dense to the classes. No batch norm.
- ``zela2018``: a small Shake-Shake ResNet (simplified from the EfficientNAS code; hasbench's
  choices): 3x3 stem conv to ``initial_filters`` channels + BN; 3 stages; stage ``s`` has
  ``nr_residual_blocks_s`` blocks of width ``round(initial_filters * widen_factor_s *
  2**(s-1))`` (at least 2); each block has ``res_branches_s`` branches of
  (ReLU-conv3x3-BN-ReLU-conv3x3-BN); stages 2 and 3 start with stride 2 and a 1x1 conv
  shortcut. Training mode combines branches with per-image random convex weights
  (Shake-Shake forward; the backward uses the same weights, i.e. "shake-keep", a
  simplification), evaluation with equal weights. ShakeDrop is simplified to per-image
  stochastic depth of the residual sum with drop probability ``death_rate * l / L`` for block
  ``l`` of ``L`` (the residual is scaled by the keep probability at evaluation).
- ``nb201-joint``: the NAS-Bench-201 network: 3x3 stem conv to ``W`` channels + BN, ``N``
  cells, a residual reduction block (stride 2, channels x2), ``N`` cells, reduction, ``N``
  cells, BN-activation, global average pool, linear. Cells have 4 nodes and the 6 edges
  ``Op1..Op6`` (edge order 0->1, 0->2, 1->2, 0->3, 1->3, 2->3, as in JAHS-Bench-201); convs
  are activation-conv-BN. ``Resolution`` is applied to the input images by the trainer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import InvalidValueError

__all__ = ["build_model", "static_metrics", "count_flops", "HiaCNN", "ShakeResNet", "NB201Net"]

_ACT = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU,
        "ReLU": nn.ReLU, "Hardswish": nn.Hardswish, "Mish": nn.Mish}


class HiaCNN(nn.Module):
    """The ``hia-cnn`` network (see the module docstring). Input (B, C, H, W)."""

    def __init__(self, in_shape: tuple[int, int, int], n_classes: int, n_conv_layers: int,
                 n_filters: int, kernel_size: int, activation: str, n_dense_units: int,
                 dropout_rate: float):
        super().__init__()
        c, h, w = in_shape
        layers: list[nn.Module] = []
        for i in range(int(n_conv_layers)):
            layers += [nn.Conv2d(c, n_filters, kernel_size, padding=kernel_size // 2),
                       _ACT[activation]()]
            c = n_filters
            if i < 2 and min(h, w) >= 2:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout_rate), nn.Linear(c * h * w, n_dense_units),
            _ACT[activation](), nn.Dropout(dropout_rate), nn.Linear(n_dense_units, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class _PointwiseConv(nn.Conv2d):
    """A 1x1 convolution (no padding) that computes its strided form on channels_last CPU
    tensors as a stride-1 1x1 convolution of the subsampled input ``x[:, :, ::s, ::s]``.

    Why: the oneDNN kernel torch 2.13 picks for the weight gradient of a *strided* 1x1
    convolution on an NHWC (channels_last) CPU tensor on AVX2
    (``jit_avx2_1x1_convolution_bwd_weights_t``; 1-6 input channels and even map sizes hit
    it in our checks, 7 or more did not) writes past the end of its gradient buffer (valgrind: "invalid write ... 0 bytes after a block of size 512" from
    ``mkldnn_convolution_backward_weights``). With one thread that corrupts the heap and
    aborts the process ("corrupted size vs. prev_size"); with two it silently changes other
    tensors, so one seed gave a different loss each run (issue 21 item 2). A 1x1 convolution
    without padding reads only the pixels ``(s*i, s*j)``, so subsampling first is the same
    computation and takes a different (correct) kernel. AVX-512 CPUs pick another kernel
    unless ``ONEDNN_MAX_CPU_ISA=AVX2`` is set (how the test reproduces it). The NCHW path
    and GPUs use the plain convolution, so tables collected with the default layout are
    unchanged; the parameters (and state-dict keys) are those of ``nn.Conv2d``.
    """

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__(cin, cout, 1, stride, 0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sh, sw = self.stride
        if (sh, sw) != (1, 1) and x.device.type == "cpu" and not x.is_contiguous():
            return F.conv2d(x[:, :, ::sh, ::sw], self.weight, self.bias)
        return super().forward(x)


class _ShakeBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, branches: int, drop_p: float):
        super().__init__()
        self.branches = nn.ModuleList([
            nn.Sequential(nn.ReLU(), nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                          nn.BatchNorm2d(cout), nn.ReLU(),
                          nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
            for _ in range(branches)])
        self.shortcut = (nn.Identity() if stride == 1 and cin == cout else
                         nn.Sequential(_PointwiseConv(cin, cout, stride),
                                       nn.BatchNorm2d(cout)))
        self.drop_p = float(drop_p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches]
        k = len(outs)
        if k == 1:
            res = outs[0]
        elif self.training:
            w = torch.rand(x.shape[0], k, device=x.device, dtype=outs[0].dtype)
            w = w / w.sum(1, keepdim=True)
            res = sum(w[:, i].view(-1, 1, 1, 1) * o for i, o in enumerate(outs))
        else:
            res = sum(outs) / k
        if self.drop_p > 0:
            if self.training:
                keep = (torch.rand(x.shape[0], 1, 1, 1, device=x.device) >= self.drop_p)
                res = res * keep.to(res.dtype)
            else:
                res = res * (1.0 - self.drop_p)
        return self.shortcut(x) + res


class ShakeResNet(nn.Module):
    """Simplified Shake-Shake ResNet of the ``zela2018`` space (see the module docstring)."""

    def __init__(self, in_shape: tuple[int, int, int], n_classes: int, cfg: Mapping[str, Any]):
        super().__init__()
        c0 = int(cfg["initial_filters"])
        self.stem = nn.Sequential(nn.Conv2d(in_shape[0], c0, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(c0))
        blocks = [int(cfg[f"nr_residual_blocks_{s}"]) for s in (1, 2, 3)]
        total = sum(blocks)
        layers, cin, idx = [], c0, 0
        for s in (1, 2, 3):
            width = max(2, round(c0 * float(cfg[f"widen_factor_{s}"]) * 2 ** (s - 1)))
            for b in range(blocks[s - 1]):
                idx += 1
                stride = 2 if (s > 1 and b == 0) else 1
                layers.append(_ShakeBlock(cin, width, stride, int(cfg[f"res_branches_{s}"]),
                                          float(cfg["death_rate"]) * idx / total))
                cin = width
        self.blocks = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(cin, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


class _Zero(nn.Module):
    def forward(self, x):
        return x * 0.0


def _nb201_op(op: int, c: int, act: str) -> nn.Module:
    if op == 0:
        return _Zero()
    if op == 1:
        return nn.Identity()
    if op in (2, 3):
        k = 1 if op == 2 else 3
        return nn.Sequential(_ACT[act](), nn.Conv2d(c, c, k, 1, k // 2, bias=False),
                             nn.BatchNorm2d(c))
    return nn.AvgPool2d(3, 1, 1, count_include_pad=False)


_NB201_EDGES = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]


class _NB201Cell(nn.Module):
    def __init__(self, c: int, ops: list[int], act: str):
        super().__init__()
        self.ops = nn.ModuleList([_nb201_op(o, c, act) for o in ops])
        self.live = [o != 0 for o in ops]

    def forward(self, x):
        nodes = [x]
        for j in (1, 2, 3):
            acc = None
            for e, (src, dst) in enumerate(_NB201_EDGES):
                if dst == j and self.live[e]:
                    v = self.ops[e](nodes[src])
                    acc = v if acc is None else acc + v
            nodes.append(acc if acc is not None else x * 0.0)
        return nodes[3]


class _NB201Reduce(nn.Module):
    def __init__(self, cin: int, cout: int, act: str):
        super().__init__()
        self.a = nn.Sequential(_ACT[act](), nn.Conv2d(cin, cout, 3, 2, 1, bias=False),
                               nn.BatchNorm2d(cout), _ACT[act](),
                               nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.b = nn.Sequential(nn.AvgPool2d(2, 2, ceil_mode=True),
                               nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x):
        return self.a(x) + self.b(x)


class NB201Net(nn.Module):
    """NAS-Bench-201 macro network of the ``nb201-joint`` space (module docstring)."""

    def __init__(self, in_shape: tuple[int, int, int], n_classes: int, cfg: Mapping[str, Any]):
        super().__init__()
        ops = [int(cfg[f"Op{i}"]) for i in range(1, 7)]
        n, c, act = int(cfg["N"]), int(cfg["W"]), str(cfg["Activation"])
        layers: list[nn.Module] = [nn.Conv2d(in_shape[0], c, 3, 1, 1, bias=False),
                                   nn.BatchNorm2d(c)]
        for stage in range(3):
            if stage:
                layers.append(_NB201Reduce(c, 2 * c, act))
                c *= 2
            layers += [_NB201Cell(c, ops, act) for _ in range(n)]
        layers += [nn.BatchNorm2d(c), _ACT[act](), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                   nn.Linear(c, n_classes)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def build_model(space_name: str, config: Mapping[str, Any], in_shape: tuple[int, int, int],
                n_classes: int) -> nn.Module:
    """Build the torch model of ``config`` (a validated config of space ``space_name``).

    Parameters
    ----------
    space_name : {"hia-cnn", "zela2018", "nb201-joint"}
    config : dict
    in_shape : (C, H, W) of the input images (after any resolution scaling)
    n_classes : int
    """
    if space_name == "hia-cnn":
        return HiaCNN(in_shape, n_classes, int(config["n_conv_layers"]),
                      int(config["n_filters"]), int(config["kernel_size"]),
                      str(config["activation"]), int(config["n_dense_units"]),
                      float(config["dropout_rate"]))
    if space_name == "zela2018":
        return ShakeResNet(in_shape, n_classes, config)
    if space_name == "nb201-joint":
        return NB201Net(in_shape, n_classes, config)
    raise InvalidValueError("space", space_name, ["hia-cnn", "zela2018", "nb201-joint"],
                            "build_model", hint="no model builder for this space")


def count_flops(model: nn.Module, in_shape: tuple[int, int, int]) -> float:
    """FLOPs of one forward pass of one sample, counted with forward hooks.

    Counts 2 x multiply-accumulates of ``Conv2d`` and ``Linear`` layers (bias adds included
    as one FLOP per output), plus one FLOP per output element of pooling, batch-norm and
    activation layers. Returns a float.
    """
    total = [0.0]

    def hook(mod, inp, out):
        n_out = out.numel()
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
            total[0] += n_out * (2 * k + (1 if mod.bias is not None else 0))
        elif isinstance(mod, nn.Linear):
            total[0] += n_out * (2 * mod.in_features + (1 if mod.bias is not None else 0))
        elif isinstance(mod, (nn.MaxPool2d, nn.AvgPool2d)):
            k = mod.kernel_size if isinstance(mod.kernel_size, int) else math.prod(
                mod.kernel_size)
            total[0] += n_out * (k * k if isinstance(mod.kernel_size, int) else k)
        elif isinstance(mod, (nn.BatchNorm2d, nn.ReLU, nn.Tanh, nn.ELU, nn.Hardswish, nn.Mish,
                              nn.AdaptiveAvgPool2d)):
            total[0] += n_out

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if not list(m.children())]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros((1, *in_shape)))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return float(total[0])


def static_metrics(model: nn.Module, in_shape: tuple[int, int, int]) -> dict[str, float]:
    """``params`` (trainable parameter count), ``flops`` (per sample, :func:`count_flops`)
    and ``model_bytes`` (bytes of parameters and buffers)."""
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    nbytes = sum(t.numel() * t.element_size() for t in list(model.parameters())
                 + list(model.buffers()))
    return {"params": float(params), "flops": count_flops(model, in_shape),
            "model_bytes": float(nbytes)}
