"""Batched population training: many ``hia-cnn`` configs trained at once as one wide net.

Configs that share an architecture (``n_conv_layers``, ``n_filters``, ``kernel_size``,
``activation``, ``n_dense_units``) and a ``batch_size`` -- typically the seeds of one config,
or the configs of a hyperparameter search with the architecture fixed -- form a *group* of
``K`` members. A group is trained as one network: the K members' conv layers become one
grouped convolution (``groups=K``, each member sees its own minibatch in its own channel
block), the dense layers one batched matrix product (:func:`torch.baddbmm`) and the K
optimizers one vectorised update over parameters stacked along a leading K axis (per-member
learning rate, dropout rate and optimizer: SGD with momentum 0.9, Adam or RMSprop with
torch's defaults). The loss is the sum of the members' mean losses, so each member gets
exactly its own gradient.

Semantics match :func:`hasbench.train.trainer.train_config`:

- member ``k`` with seed ``s`` is initialised exactly as the one-at-a-time trainer does
  (``torch.manual_seed(s)`` then the model is built) and visits the training data in the
  same order (``torch.Generator().manual_seed(s)``), so with ``dropout_rate = 0`` the curves
  agree up to floating-point summation order (tested);
- dropout masks are drawn from one shared stream, so with dropout the curves are
  statistically, not bitwise, equivalent;
- metrics, divergence handling and the fill rule are those of ``train_config``;
- ``epoch_time`` of a member is the group's epoch wall time divided by ``K`` (the amortised
  cost; a table collected this way records that in its provenance); ``cpu_time`` and
  ``cuda_time`` are the group's CPU time (clock chosen as in
  :func:`hasbench.train.trainer.cpu_clock`) and CUDA-event time divided by ``K`` likewise.

Other spaces (``zela2018``, ``nb201-joint``: batch norm, branches, augmentation) are trained
one at a time by :func:`train_population` (a documented fallback).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import InvalidValueError, check_int
from ..spaces import Space, get_space
from ..tables import DEFAULT_METRICS, Run
from .datasets import Dataset, as_dataset
from .models import HiaCNN, build_model, static_metrics
from .trainer import _CudaEpochTimer, cpu_clock, resolve_device, train_config

__all__ = ["train_population", "group_key", "HIA_ARCH"]

#: hyperparameters that must be equal within a group (with ``batch_size``)
HIA_ARCH = ("n_conv_layers", "n_filters", "kernel_size", "activation", "n_dense_units")
_OPT = {"sgd": 0, "adam": 1, "rmsprop": 2}
_ACTF = {"relu": torch.relu, "tanh": torch.tanh, "elu": F.elu}


def group_key(config: Mapping[str, Any]) -> tuple:
    """Configs with the same key can be trained in one population group."""
    return tuple(config[h] for h in HIA_ARCH) + (int(config["batch_size"]),)


class _WideHia:
    """K ``hia-cnn`` members of one architecture as stacked leaf tensors (leading axis K)."""

    def __init__(self, models: Sequence[HiaCNN], activation: str):
        self.K = len(models)
        self.act = _ACTF[activation]
        self.convs, self.pools = [], []
        mods = list(models[0].features)
        conv_idx = [i for i, m in enumerate(mods) if isinstance(m, nn.Conv2d)]
        for ci in conv_idx:
            # stored as (K, F, kh, kw, C): the (K*F, C, kh, kw) view the convolution sees is
            # then channels_last, so oneDNN does not reorder the weights at every call
            w = torch.stack([m.features[ci].weight.detach() for m in models])
            w = w.permute(0, 1, 3, 4, 2).contiguous()
            b = torch.stack([m.features[ci].bias.detach() for m in models]).clone()
            pad = mods[ci].padding[0]
            pool = ci + 2 < len(mods) and isinstance(mods[ci + 2], nn.MaxPool2d)
            self.convs.append((w.requires_grad_(), b.requires_grad_(), pad))
            self.pools.append(pool)
        lin = [i for i, m in enumerate(models[0].classifier) if isinstance(m, nn.Linear)]
        self.dense = []
        self.n_filters = int(self.convs[-1][0].shape[1])  # (K, F, kh, kw, C)
        for j, li in enumerate(lin):
            w = torch.stack([m.classifier[li].weight.detach() for m in models]).clone()
            b = torch.stack([m.classifier[li].bias.detach() for m in models]).clone()
            if j == 0:
                # the feature map is flattened in channels_last (h, w, c) order here, not
                # nn.Flatten's (c, h, w): permute the input columns to match (same function,
                # and no layout-changing copies of activations and their gradients)
                K, U, D = w.shape
                w = (w.view(K, U, self.n_filters, D // self.n_filters).transpose(2, 3)
                     .reshape(K, U, D).contiguous())
            self.dense.append((w.requires_grad_(), b.requires_grad_()))

    def params(self) -> list[torch.Tensor]:
        out = []
        for w, b, _ in self.convs:
            out += [w, b]
        for w, b in self.dense:
            out += [w, b]
        return out

    def to(self, dev):
        self.convs = [(w.detach().to(dev).requires_grad_(), b.detach().to(dev).requires_grad_(),
                       p) for w, b, p in self.convs]
        self.dense = [(w.detach().to(dev).requires_grad_(), b.detach().to(dev).requires_grad_())
                      for w, b in self.dense]
        return self

    def forward(self, x: torch.Tensor, drop: torch.Tensor | None,
                shared: bool = False) -> torch.Tensor:
        """x: (B, K*C, H, W) (member k's images in channel block k), or (B, C, H, W) when
        every member sees the same images (``shared``: the first conv is then one dense
        conv with K*F outputs); drop: (K,) dropout rates in training mode or None.
        Returns logits (K, B, n_classes)."""
        K, B = self.K, x.shape[0]
        h = x.contiguous(memory_format=torch.channels_last)  # much faster grouped convs
        for li, ((w, b, pad), pool) in enumerate(zip(self.convs, self.pools, strict=True)):
            w = w.flatten(0, 1).permute(0, 3, 1, 2)  # (K*F, C, kh, kw), channels_last
            r = min(pad, h.shape[-1] - 1)
            if r < pad:
                # on a map of side S <= pad, only the central (2S-1)^2 taps ever meet an
                # input pixel (the others see zero padding only): the same output and
                # gradients from the smaller kernel, with ~(k / (2S-1))^2 fewer FLOPs
                w = w[:, :, pad - r:pad + r + 1, pad - r:pad + r + 1]
                pad = r
            if shared and li == 0 and h.shape[1] == 1:
                # One dense conv with K*F outputs on the common minibatch. oneDNN returns
                # NCHW for a 1-channel input, and CPU max-pooling of NCHW small planes is
                # ~20x slower than channels_last, so produce channels_last directly:
                # 5x5 kernels as im2col + one GEMM, 3x3 kernels with a zero second input
                # channel (zero weights: the same result); the faster of the two for each
                # kernel size in a measurement on one CPU core.
                Bh, _, H, W = h.shape
                if w.shape[-1] >= 5:
                    cols = F.unfold(h, w.shape[-1], padding=pad).transpose(1, 2)
                    h = torch.addmm(b.flatten(), cols.reshape(Bh * H * W, -1),
                                    w.flatten(1).t())
                    h = h.view(Bh, H, W, -1).permute(0, 3, 1, 2)
                else:
                    h = torch.cat([h, torch.zeros_like(h)], 1).contiguous(
                        memory_format=torch.channels_last)
                    h = F.conv2d(h, torch.cat([w, torch.zeros_like(w)], 1), b.flatten(),
                                 padding=pad)
            else:
                h = F.conv2d(h, w, b.flatten(), padding=pad, groups=1 if shared and li == 0
                             else K)
            if pool:  # pool first: the activations are monotone, so max(act) = act(max)
                h = F.max_pool2d(h, 2)
            h = self.act(h)
        # (B, K*F, h, w) channels_last -> (K, B, h*w*F): per member, (h, w, c) order
        hh, ww = h.shape[-2:]
        h = (h.permute(0, 2, 3, 1).reshape(B, hh * ww, K, self.n_filters)
             .permute(2, 0, 1, 3).reshape(K, B, -1))
        for j, (w, b) in enumerate(self.dense):
            if drop is not None:
                keep = 1.0 - drop.view(K, 1, 1)
                mask = (torch.rand(h.shape, device=h.device) < keep).to(h.dtype)
                h = h * mask / keep
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if j < len(self.dense) - 1:
                h = self.act(h)
        return h


class _StackedOptim:
    """Per-member SGD(momentum 0.9) / Adam / RMSprop on parameters stacked along axis 0,
    with torch's update formulas and default constants. Members must be sorted by optimizer
    so each optimizer updates one contiguous slice of the member axis (no wasted work)."""

    def __init__(self, params, lr: torch.Tensor, kind: list[int]):
        self.params = params
        self.lr = lr
        self.step_n = 0
        if any(a > b for a, b in zip(kind, kind[1:], strict=False)):
            raise InvalidValueError("kind", kind, "members sorted by optimizer", "_StackedOptim")
        self.slices = {}
        for name, v in _OPT.items():
            idx = [i for i, k in enumerate(kind) if k == v]
            if idx:
                self.slices[name] = slice(idx[0], idx[-1] + 1)
        self.state = [{"buf": torch.zeros_like(p), "m": torch.zeros_like(p),
                       "v": torch.zeros_like(p)} for p in params]

    @torch.no_grad()
    def step(self):
        self.step_n += 1
        t = self.step_n
        for p, st in zip(self.params, self.state, strict=True):
            shape = (-1,) + (1,) * (p.dim() - 1)
            for name, sl in self.slices.items():
                g, w, lr = p.grad[sl], p[sl], self.lr[sl].view(shape)
                if name == "sgd":
                    buf = st["buf"][sl]
                    buf.mul_(0.9).add_(g)
                    w.sub_(lr * buf)
                elif name == "adam":
                    m, v = st["m"][sl], st["v"][sl]
                    m.mul_(0.9).add_(g, alpha=0.1)
                    v.mul_(0.999).addcmul_(g, g, value=0.001)
                    denom = (v / (1 - 0.999 ** t)).sqrt_().add_(1e-8)
                    w.sub_(lr / (1 - 0.9 ** t) * m / denom)
                else:
                    v = st["v"][sl]
                    v.mul_(0.99).addcmul_(g, g, value=0.01)
                    w.sub_(lr * g / (v.sqrt() + 1e-8))
            p.grad = None


def _train_group(cfgs: list[dict], seeds: list[int], ds: Dataset, epochs: int,
                 dev: torch.device, eval_batch_size: int) -> list[Run]:
    K = len(cfgs)
    in_shape = tuple(ds.x_train.shape[1:])
    models, statics = [], []
    for c, s in zip(cfgs, seeds, strict=True):
        torch.manual_seed(s)
        m = build_model("hia-cnn", c, in_shape, ds.n_classes)
        models.append(m)
        statics.append(static_metrics(m, in_shape))
    net = _WideHia(models, str(cfgs[0]["activation"])).to(dev)
    lr = torch.tensor([float(c["learning_rate"]) for c in cfgs], device=dev)
    kind = [_OPT[str(c["optimizer"])] for c in cfgs]
    drop = torch.tensor([float(c["dropout_rate"]) for c in cfgs], device=dev)
    opt = _StackedOptim(net.params(), lr, kind)
    x_tr = torch.from_numpy(ds.x_train).to(dev)
    y_tr = torch.from_numpy(ds.y_train).to(dev)
    evals = [(torch.from_numpy(a).to(dev), torch.from_numpy(b).to(dev))
             for a, b in ((ds.x_valid, ds.y_valid), (ds.x_test, ds.y_test))]
    n = x_tr.shape[0]
    bs = min(int(cfgs[0]["batch_size"]), n)
    useeds = sorted(set(seeds))
    gens = {s: torch.Generator().manual_seed(s) for s in useeds}
    shared = len(useeds) == 1  # every member sees the same minibatches
    C = in_shape[0]
    vals = np.full((K, epochs, len(DEFAULT_METRICS)), np.nan)
    times, cpu_times, cuda_times = [], [], []
    clock = cpu_clock("auto")
    cuda = dev.type == "cuda"
    cuda_timer = _CudaEpochTimer(cuda)
    diverged_at = np.full(K, -1)
    for e in range(epochs):
        t0 = time.perf_counter()
        c0 = clock()
        cuda_timer.begin()
        by_seed = {s: torch.randperm(n, generator=gens[s]) for s in useeds}
        perms = torch.stack([by_seed[s] for s in seeds]).to(dev)  # (K, n)
        loss_sum = torch.zeros(K, device=dev)
        correct = torch.zeros(K, device=dev)
        for i in range(0, n, bs):
            idx = perms[:, i:i + bs]  # (K, b)
            b = idx.shape[1]
            if shared:
                xb = x_tr[idx[0]]
            else:
                xb = x_tr[idx].transpose(0, 1).reshape(b, K * C, *in_shape[1:])
            yb = y_tr[idx]  # (K, b)
            out = net.forward(xb, drop, shared)
            per = F.cross_entropy(out.reshape(K * b, -1), yb.reshape(-1),
                                  reduction="none").view(K, b).mean(1)
            per.sum().backward()
            opt.step()
            loss_sum += per.detach() * b
            correct += (out.detach().argmax(2) == yb).sum(1)
        res = [loss_sum / n, correct / n]
        with torch.inference_mode():
            for xe, ye in evals:
                ls = torch.zeros(K, device=dev)
                cs = torch.zeros(K, device=dev)
                for j in range(0, xe.shape[0], eval_batch_size):
                    xx = xe[j:j + eval_batch_size]
                    yy = ye[j:j + eval_batch_size]
                    o = net.forward(xx, None, shared=True)  # (K, B, classes)
                    ls += F.cross_entropy(o.reshape(-1, o.shape[-1]), yy.repeat(K),
                                          reduction="none").view(K, -1).sum(1)
                    cs += (o.argmax(2) == yy.unsqueeze(0)).sum(1)
                res += [ls / max(1, xe.shape[0]), cs / max(1, xe.shape[0])]
        vals[:, e, :] = torch.stack(res, 1).cpu().numpy()
        if cuda:
            cuda_times.append(cuda_timer.stop() / K)
        cpu_times.append((clock() - c0) / K)
        times.append((time.perf_counter() - t0) / K)
        bad = ~np.isfinite(vals[:, e, 0]) & (diverged_at < 0)
        diverged_at[bad] = e
        if (diverged_at >= 0).all():
            break
    runs = []
    chance = 1.0 / ds.n_classes
    for k in range(K):
        done = epochs if diverged_at[k] < 0 else diverged_at[k] + 1
        curves = {}
        for j, m in enumerate(DEFAULT_METRICS):
            v = vals[k, :, j].copy()
            v[done:] = chance if m.endswith("_acc") else math.nan
            curves[m] = v
        runs.append(Run(config=cfgs[k], seed=seeds[k], metrics=curves,
                        epoch_time=_fill_times(times, done, epochs),
                        static=statics[k], status="ok" if diverged_at[k] < 0 else "diverged",
                        cpu_time=_fill_times(cpu_times, done, epochs),
                        cuda_time=_fill_times(cuda_times, done, epochs) if cuda else None))
    return runs


def _fill_times(times: list[float], done: int, epochs: int) -> np.ndarray:
    """Per-epoch times of a member that ran ``done`` epochs: the measured ones, then their
    mean (the trainer's fill rule for a diverged run)."""
    t = np.asarray(times + [float(np.mean(times))] * (epochs - len(times)))
    t[done:] = float(np.mean(t[:done]))
    return t


def train_population(configs: Sequence[Mapping[str, Any]], seeds: Sequence[int],
                     space: Space | str = "hia-cnn", dataset: Dataset | str = "digits",
                     epochs: int | None = None, device: str = "auto",
                     max_group: int = 8, eval_batch_size: int = 4096,
                     num_threads: int | None = None, min_shared: int = 4) -> list[Run]:
    """Train ``configs[i]`` with ``seeds[i]`` for every ``i``, batching compatible members.

    Parameters
    ----------
    configs : sequence of dict, length n
    seeds : sequence of int, length n
        The seed of each member (repeat a config with several seeds to batch over seeds).
    space : Space or str
        ``hia-cnn`` is batched; other spaces fall back to one-at-a-time training.
    dataset : Dataset or str
    epochs : int, optional
        Default: the space's fidelity maximum.
    device : {"auto", "cpu", "cuda"}
    max_group : int
        Largest number of members trained together (default 8: in a measurement on one
        CPU core, groups of 16 or 32 were slower per member than groups of 4-8).
    min_shared : int
        A group is split by seed (members of one seed share minibatches, so the first
        conv runs once for all of them) when every seed has at least this many members;
        otherwise seeds are mixed in one group.
    eval_batch_size : int
    num_threads : int, optional
        ``torch.set_num_threads`` during the call (restored afterwards).

    Returns
    -------
    list of Run
        In the order of ``configs``; same fields as :func:`train_config`.
    """
    where = "train_population"
    sp = get_space(space) if isinstance(space, str) else space
    if not isinstance(sp, Space):
        raise InvalidValueError("space", space, ["hia-cnn", "zela2018", "nb201-joint"], where)
    configs = [sp.validate(c, where) for c in configs]
    seeds = [check_int("seeds", s, 0, None, where) for s in seeds]
    if len(seeds) != len(configs):
        raise InvalidValueError("seeds", f"{len(seeds)} seeds",
                                f"one seed per config ({len(configs)})", where)
    epochs = int(sp.fidelity.upper) if epochs is None else check_int("epochs", epochs, 1,
                                                                       None, where)
    max_group = check_int("max_group", max_group, 1, None, where)
    min_shared = check_int("min_shared", min_shared, 1, None, where)
    eval_batch_size = check_int("eval_batch_size", eval_batch_size, 1, None, where)
    dev = resolve_device(device)
    dataset = as_dataset(dataset, where)
    if sp.name != "hia-cnn":
        return [train_config(c, sp, dataset, s, epochs, str(dev), eval_batch_size, num_threads)
                for c, s in zip(configs, seeds, strict=True)]
    old = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(check_int("num_threads", num_threads, 1, None, where))
    try:
        groups: dict[tuple, list[int]] = {}
        for i, c in enumerate(configs):
            groups.setdefault(group_key(c), []).append(i)
        out: list[Run | None] = [None] * len(configs)
        chunks = []
        for members in groups.values():
            # same-seed members share minibatches (cheaper first conv): split by seed when
            # every seed has at least ``min_shared`` members
            per_seed: dict[int, list[int]] = {}
            for i in members:
                per_seed.setdefault(seeds[i], []).append(i)
            parts = (list(per_seed.values()) if min(map(len, per_seed.values())) >= min_shared
                     else [members])
            for part in parts:
                part = sorted(part, key=lambda i: _OPT[str(configs[i]["optimizer"])])
                chunks += [part[j:j + max_group] for j in range(0, len(part), max_group)]
        for chunk in chunks:
            with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
                torch.manual_seed(seeds[chunk[0]])
                runs = _train_group([configs[i] for i in chunk], [seeds[i] for i in chunk],
                                    dataset, epochs, dev, eval_batch_size)
            for i, r in zip(chunk, runs, strict=True):
                out[i] = r
        return out  # type: ignore[return-value]
    finally:
        torch.set_num_threads(old)
