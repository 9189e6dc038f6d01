"""Train one configuration for a number of epochs with one seed and record its curves.

Semantics (hasbench's choices, recorded here once):

- **Learning rate** is constant for every space (no schedule tied to the number of epochs),
  so one curve of ``E`` epochs answers every shorter training length honestly.
- **Optimizers.** ``hia-cnn``: ``sgd`` (momentum 0.9), ``adam`` or ``rmsprop`` (torch
  defaults otherwise), no weight decay. ``zela2018``: SGD with the config's ``momentum`` and
  ``weight_decay``, mixup with ``alpha`` (one Beta(alpha, alpha) weight per batch) and cutout
  with side ``length`` px (one square per image, filled with 0 = the mean after
  standardisation). ``nb201-joint``: SGD, momentum 0.9, Nesterov, ``WeightDecay``,
  ``batch_size`` 128 (parameter ``nb201_batch_size``), ``Resolution`` scales the images,
  ``TrivialAugment`` draws one of {identity, translate, brightness, contrast, cutout} per
  batch with a random strength (a tensor-only simplification of TrivialAugment).
- **Per-epoch metrics.** ``train_loss``/``train_acc`` are the means over the epoch's
  minibatches in training mode (dropout and augmentation on, as Keras reports them; no extra
  pass). ``valid_*``/``test_*`` are computed after the epoch in evaluation mode, without
  autograd, in batches of ``eval_batch_size``.
- **Epoch time** is the wall time of the epoch's training plus its evaluation of the
  validation and test splits (seconds).
- **CPU time** (``Run.cpu_time``) covers the same work, measured by :func:`cpu_clock`:
  with one torch thread (what ``hasbench collect`` uses, ``--threads 1``) torch runs every
  kernel inline in the calling thread, so ``time.thread_time()`` of that thread is the CPU
  time of the training and nothing else (another process on the machine does not add to it;
  it still grows somewhat when caches and memory bandwidth are shared). With more than one
  torch thread the kernels also run in torch's worker threads, which ``thread_time`` does not
  see, so ``time.process_time()`` (all threads of the process) is used instead: it then
  includes any other thread of the process and the CPU that OpenMP workers spend
  spin-waiting (set ``OMP_WAIT_POLICY=PASSIVE`` to keep that out). The rule is the
  ``cpu_clock="auto"`` default of :func:`train_config`; ``"thread"`` or ``"process"`` force
  one clock.
- **CUDA time** (``Run.cuda_time``, GPU runs only; ``None`` on the CPU) is the time between
  two CUDA events recorded on the current stream around the epoch's work (training plus
  evaluation), read after the epoch's one host sync: the device's time for the epoch,
  unaffected by host load except where the host fails to keep the GPU busy.
- **Divergence.** If the training loss of an epoch is NaN or infinite the run stops and gets
  status ``"diverged"``. The diverged epoch keeps what was measured; the remaining epochs are
  filled so curves stay dense: losses NaN (not measured), accuracies ``1 / n_classes``
  (chance: a net with non-finite weights predicts nothing), epoch time the mean measured
  epoch time (what continuing would have cost); ``cpu_time`` and ``cuda_time`` likewise.
- **Determinism.** All randomness (initialisation, data order, dropout, augmentation) comes
  from ``torch.manual_seed(seed)`` inside :func:`torch.random.fork_rng`, so the caller's
  global torch RNG is untouched and the same (config, seed) gives identical curves on CPU
  (with the same thread count and torch version).
- **GPU** (``device="cuda"`` or ``"auto"`` with CUDA present): data held on the device,
  ``channels_last``, automatic mixed precision (bfloat16 where supported, which needs no
  loss scaling, so the loop never syncs with the host within an epoch: loss and accuracy
  sums stay on the device; float16 with a gradient scaler on GPUs without bfloat16, whose
  step checks for infs on the host).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InvalidValueError, check_choice, check_int
from ..spaces import Space, get_space
from ..tables import DEFAULT_METRICS, Run
from .datasets import Dataset, as_dataset
from .models import build_model, static_metrics

__all__ = ["train_config", "resolve_device", "cpu_clock", "SUPPORTED_SPACES"]

log = logging.getLogger(__name__)

SUPPORTED_SPACES = ("hia-cnn", "zela2018", "nb201-joint")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> ``cuda`` when available else ``cpu``; ``"cuda"`` without CUDA raises."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise InvalidValueError("device", device, ["auto", "cpu", "cuda", "cuda:N"],
                                "resolve_device")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InvalidValueError("device", device, ["auto", "cpu"], "train_config",
                                    hint="CUDA is not available on this machine")
        return torch.device(device)
    raise InvalidValueError("device", device, ["auto", "cpu", "cuda", "cuda:N"], "train_config")


def cpu_clock(mode: str = "auto", num_threads: int | None = None):
    """The CPU-time clock of an epoch: ``time.thread_time`` or ``time.process_time``.

    ``mode="auto"`` picks ``thread_time`` when torch runs on one thread (``num_threads``,
    default ``torch.get_num_threads()``) and ``process_time`` otherwise (see the module
    docstring for what each measures)."""
    check_choice("cpu_clock", mode, ("auto", "thread", "process"), "cpu_clock")
    if mode == "auto":
        n = torch.get_num_threads() if num_threads is None else num_threads
        mode = "thread" if n == 1 else "process"
    return time.thread_time if mode == "thread" else time.process_time


class _CudaEpochTimer:
    """CUDA events around an epoch (GPU time in seconds); a no-op off the GPU."""

    def __init__(self, cuda: bool):
        self.cuda = cuda
        self.start = self.end = None

    def begin(self) -> None:
        if self.cuda:
            self.start = torch.cuda.Event(enable_timing=True)
            self.end = torch.cuda.Event(enable_timing=True)
            self.start.record()

    def stop(self) -> float | None:
        if not self.cuda:
            return None
        self.end.record()
        self.end.synchronize()
        return self.start.elapsed_time(self.end) / 1000.0


def _hparams(space_name: str, cfg: Mapping[str, Any], nb201_batch_size: int) -> dict[str, Any]:
    if space_name == "hia-cnn":
        return {"lr": float(cfg["learning_rate"]), "batch_size": int(cfg["batch_size"]),
                "optimizer": str(cfg["optimizer"]), "momentum": 0.9, "weight_decay": 0.0,
                "nesterov": False, "mixup": 0.0, "cutout": 0, "trivial_augment": False,
                "resolution": 1.0}
    if space_name == "zela2018":
        return {"lr": float(cfg["learning_rate"]), "batch_size": int(cfg["batch_size"]),
                "optimizer": "sgd", "momentum": float(cfg["momentum"]),
                "weight_decay": float(cfg["weight_decay"]), "nesterov": False,
                "mixup": float(cfg["alpha"]), "cutout": int(cfg["length"]),
                "trivial_augment": False, "resolution": 1.0}
    return {"lr": float(cfg["LearningRate"]), "batch_size": int(nb201_batch_size),
            "optimizer": "sgd", "momentum": 0.9, "weight_decay": float(cfg["WeightDecay"]),
            "nesterov": True, "mixup": 0.0, "cutout": 0,
            "trivial_augment": bool(cfg["TrivialAugment"]),
            "resolution": float(cfg["Resolution"])}


def make_optimizer(params, hp: Mapping[str, Any]) -> torch.optim.Optimizer:
    """The optimizer of a config's training hyperparameters (``hp`` from ``_hparams``)."""
    name = hp["optimizer"]
    if name == "sgd":
        return torch.optim.SGD(params, lr=hp["lr"], momentum=hp["momentum"],
                               weight_decay=hp["weight_decay"], nesterov=hp["nesterov"])
    if name == "adam":
        return torch.optim.Adam(params, lr=hp["lr"], weight_decay=hp["weight_decay"])
    return torch.optim.RMSprop(params, lr=hp["lr"], weight_decay=hp["weight_decay"])


def _cutout(x: torch.Tensor, length: int) -> torch.Tensor:
    b, _, h, w = x.shape
    cy = torch.randint(0, h, (b, 1, 1), device=x.device)
    cx = torch.randint(0, w, (b, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    lo, hi = length // 2, length - length // 2 - 1  # a length x length square at (cy, cx)
    dy, dx = ys - cy, xs - cx
    inside = (dy >= -lo) & (dy <= hi) & (dx >= -lo) & (dx <= hi)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def _trivial_augment(x: torch.Tensor) -> torch.Tensor:
    op = int(torch.randint(0, 5, (1,)))
    s = float(torch.rand(()))
    if op == 1:
        h, w = x.shape[2:]
        dy, dx = int(round((s - 0.5) * h * 0.25)), int(round((0.5 - s) * w * 0.25))
        return torch.roll(x, shifts=(dy, dx), dims=(2, 3))
    if op == 2:
        return x + (s - 0.5)
    if op == 3:
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x - m) * (0.5 + s) + m
    if op == 4:
        return _cutout(x, max(1, int(round(s * x.shape[2] / 2))))
    return x


def _evaluate(model, x, y, eval_batch_size: int, amp) -> tuple[torch.Tensor, torch.Tensor]:
    loss = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    with torch.inference_mode(), amp():
        for i in range(0, x.shape[0], eval_batch_size):
            out = model(x[i:i + eval_batch_size]).float()
            yb = y[i:i + eval_batch_size]
            loss += F.cross_entropy(out, yb, reduction="sum")
            correct += (out.argmax(1) == yb).sum()
    n = max(1, x.shape[0])
    return loss / n, correct.double() / n


def train_config(config: Mapping[str, Any], space: Space | str = "hia-cnn",
                 dataset: Dataset | str = "digits", seed: int = 0, epochs: int | None = None,
                 device: str = "auto", eval_batch_size: int = 4096,
                 num_threads: int | None = None, nb201_batch_size: int = 128,
                 memory_format: str = "auto", cpu_clock: str = "auto") -> Run:
    """Train ``config`` for ``epochs`` epochs with ``seed`` and return its :class:`Run`.

    Parameters
    ----------
    config : dict
        A configuration of ``space`` (validated). For ``hia-cnn`` the config's own
        ``epochs`` value is *not* used: the run lasts ``epochs`` epochs (the caller stores the
        config with ``epochs`` equal to the trained length, see :mod:`hasbench.train.collect`).
    space : Space or str
        ``hia-cnn``, ``zela2018`` or ``nb201-joint``.
    dataset : Dataset or str
        A loaded :class:`~hasbench.train.datasets.Dataset` or a name for
        :func:`~hasbench.train.datasets.load_dataset` (default options).
    seed : int
        Training seed (>= 0).
    epochs : int, optional
        Number of epochs; default: the space's fidelity maximum.
    device : {"auto", "cpu", "cuda", "cuda:N"}
    eval_batch_size : int
        Batch size of the evaluation passes.
    num_threads : int, optional
        ``torch.set_num_threads`` for the duration of the call (restored afterwards).
    nb201_batch_size : int
        Batch size of ``nb201-joint`` runs (the space has no batch-size hyperparameter).
    memory_format : {"auto", "channels_last", "contiguous"}
        Layout of the model and data. ``auto`` (default): ``channels_last`` on a GPU,
        ``contiguous`` (NCHW) on the CPU -- the layout every shipped table was collected
        with, kept so that their epoch times stay comparable. On the CPU ``channels_last``
        can be faster (max-pooling of many small NCHW planes is slow); the results are the
        same up to floating-point summation order.
    cpu_clock : {"auto", "thread", "process"}
        Clock of ``cpu_time``: ``auto`` (default) is ``thread`` (``time.thread_time``) with
        one torch thread and ``process`` (``time.process_time``) with more (module
        docstring).

    Returns
    -------
    Run
        ``metrics[m]`` of shape ``(epochs,)`` for the six default metrics, ``epoch_time``
        (wall) and ``cpu_time`` of shape ``(epochs,)``, ``cuda_time`` (GPU runs, else
        ``None``), ``static`` (params, flops, model_bytes), ``status`` ``"ok"`` or
        ``"diverged"`` (see the module docstring for the fill rule).
    """
    where = "train_config"
    sp = get_space(space) if isinstance(space, str) else space
    if not isinstance(sp, Space):
        raise InvalidValueError("space", space, list(SUPPORTED_SPACES), where)
    check_choice("space", sp.name, SUPPORTED_SPACES, where)
    cfg = sp.validate(config, where)
    seed = check_int("seed", seed, 0, None, where)
    fid = sp.fidelity
    epochs = int(fid.upper) if epochs is None else check_int("epochs", epochs, 1, None, where)
    eval_batch_size = check_int("eval_batch_size", eval_batch_size, 1, None, where)
    nb201_batch_size = check_int("nb201_batch_size", nb201_batch_size, 1, None, where)
    check_choice("memory_format", memory_format, ("auto", "channels_last", "contiguous"), where)
    check_choice("cpu_clock", cpu_clock, ("auto", "thread", "process"), where)
    if num_threads is not None:
        num_threads = check_int("num_threads", num_threads, 1, None, where)
    dev = resolve_device(device)
    dataset = as_dataset(dataset, where)

    old_threads = torch.get_num_threads()
    if num_threads is not None and num_threads != old_threads:
        torch.set_num_threads(num_threads)
    try:
        clock = _cpu_clock(cpu_clock)  # after the thread count is set
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(seed)
            return _train(sp.name, cfg, dataset, seed, epochs, dev, eval_batch_size,
                          nb201_batch_size, memory_format, clock)
    finally:
        if num_threads is not None and num_threads != old_threads:
            torch.set_num_threads(old_threads)


_cpu_clock = cpu_clock  # train_config's parameter of the same name shadows it


def _train(space_name, cfg, ds: Dataset, seed, epochs, dev, eval_batch_size, nb201_bs,
           memory_format: str = "auto", clock=time.thread_time) -> Run:
    hp = _hparams(space_name, cfg, nb201_bs)
    cuda = dev.type == "cuda"
    x_tr, x_va, x_te = (torch.from_numpy(a) for a in (ds.x_train, ds.x_valid, ds.x_test))
    if hp["resolution"] != 1.0:
        h, w = x_tr.shape[2:]
        size = (max(1, round(h * hp["resolution"])), max(1, round(w * hp["resolution"])))
        x_tr, x_va, x_te = (F.interpolate(a, size=size, mode="bilinear", align_corners=False,
                                          antialias=True) for a in (x_tr, x_va, x_te))
    in_shape = tuple(x_tr.shape[1:])
    model = build_model(space_name, cfg, in_shape, ds.n_classes)
    static = static_metrics(model, in_shape)
    if memory_format == "auto":
        memory_format = "channels_last" if cuda else "contiguous"
    mf = torch.channels_last if memory_format == "channels_last" else torch.contiguous_format
    model = model.to(dev, memory_format=mf)
    x_tr, x_va, x_te = (a.to(dev).contiguous(memory_format=mf) for a in (x_tr, x_va, x_te))
    y_tr, y_va, y_te = (torch.from_numpy(a).to(dev) for a in (ds.y_train, ds.y_valid,
                                                              ds.y_test))
    opt = make_optimizer(model.parameters(), hp)
    # bfloat16 needs no loss scaling (and so no per-step host sync); float16 on older GPUs
    # needs the gradient scaler, whose step checks for infs on the host
    bf16 = cuda and torch.cuda.is_bf16_supported()
    amp_dtype = torch.bfloat16 if bf16 else torch.float16
    scaler = torch.amp.GradScaler("cuda") if cuda and not bf16 else None

    def amp():
        return torch.autocast("cuda", dtype=amp_dtype) if cuda else nullcontext()

    n = x_tr.shape[0]
    bs = min(hp["batch_size"], n)
    # Batch boundaries. A last batch of one example cannot train batch norm on 1x1 feature
    # maps ("Expected more than 1 value per channel"): for models with batch norm it joins
    # the batch before it (our choice; dropping it would leave that example unseen). Models
    # without batch norm (hia-cnn) keep plain boundaries, so their curves are unchanged.
    starts = list(range(0, n, bs))
    ends = starts[1:] + [n]
    if (len(starts) > 1 and ends[-1] - starts[-1] == 1
            and any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                    for m in model.modules())):
        starts.pop()
        ends.pop(-2)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    curves = {m: [] for m in DEFAULT_METRICS}
    times: list[float] = []
    cpu_times: list[float] = []
    cuda_times: list[float] = []
    cuda_timer = _CudaEpochTimer(cuda)
    status = "ok"
    beta = (torch.distributions.Beta(hp["mixup"], hp["mixup"]) if hp["mixup"] > 0 else None)
    for _epoch in range(epochs):
        t0 = time.perf_counter()
        c0 = clock()
        cuda_timer.begin()
        model.train()
        perm = torch.randperm(n, generator=gen).to(dev)
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev)
        for i, i_end in zip(starts, ends, strict=True):
            idx = perm[i:i_end]
            xb, yb = x_tr[idx], y_tr[idx]
            if hp["cutout"] > 0:
                xb = _cutout(xb, hp["cutout"])
            if hp["trivial_augment"]:
                xb = _trivial_augment(xb)
            lam = None
            if beta is not None:
                lam = float(beta.sample())
                j = torch.randperm(xb.shape[0], device=dev)
                xb = lam * xb + (1 - lam) * xb[j]
            with amp():
                out = model(xb)
                if lam is None:
                    loss = F.cross_entropy(out.float(), yb)
                else:
                    loss = (lam * F.cross_entropy(out.float(), yb)
                            + (1 - lam) * F.cross_entropy(out.float(), yb[j]))
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            nb = idx.shape[0]
            loss_sum += loss.detach() * nb
            target = yb if lam is None or lam >= 0.5 else yb[j]
            correct += (out.detach().argmax(1) == target).sum()
        model.eval()
        vl, va = _evaluate(model, x_va, y_va, eval_batch_size, amp)
        tl, ta = _evaluate(model, x_te, y_te, eval_batch_size, amp)
        vals = torch.stack([loss_sum / n, correct / n, vl.float(), va.float(), tl.float(),
                            ta.float()]).cpu().numpy().astype(np.float64)  # one sync per epoch
        if cuda:
            cuda_times.append(cuda_timer.stop())
        cpu_times.append(clock() - c0)
        times.append(time.perf_counter() - t0)
        for m, v in zip(DEFAULT_METRICS, vals, strict=True):
            curves[m].append(float(v))
        if not math.isfinite(vals[0]):
            status = "diverged"
            break
    done = len(times)
    if done < epochs:
        fill_t = float(np.mean(times))
        chance = 1.0 / ds.n_classes
        for m in DEFAULT_METRICS:
            curves[m] += [chance if m.endswith("_acc") else math.nan] * (epochs - done)
        times += [fill_t] * (epochs - done)
        cpu_times += [float(np.mean(cpu_times))] * (epochs - done)
        if cuda:
            cuda_times += [float(np.mean(cuda_times))] * (epochs - done)
    return Run(config=cfg, seed=seed, metrics={m: np.asarray(v) for m, v in curves.items()},
               epoch_time=np.asarray(times), static=static, status=status,
               cpu_time=np.asarray(cpu_times), cuda_time=np.asarray(cuda_times) if cuda
               else None)
