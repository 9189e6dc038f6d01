"""Realistic synthetic run tables for tests, examples and docs (no training needed).

:func:`synthetic_runs` draws configs of a space (``hia-cnn`` by default) and produces, per
(config, seed), saturating accuracy curves whose final level and speed depend smoothly on
the hyperparameters, a seed offset that persists along the curve plus small per-epoch
jitter, losses consistent with the accuracies, diverged runs (NaN losses, chance accuracy,
stopped early) for too-large learning rates, monotone cumulative time driven by the model
size and batch size, and static params/flops.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..errors import check_int
from ..spaces import Space, as_rng, get_space
from ..tables import Run, RunTable, write_table

__all__ = ["synthetic_runs", "write_synthetic_table"]


def _col(space: Space, X: np.ndarray, name: str, default: float) -> np.ndarray:
    if name in space.names:
        v = X[:, space.names.index(name)]
        return np.where(np.isnan(v), default, v)
    return np.full(X.shape[0], default)


def synthetic_runs(space: Space | str = "hia-cnn", n_configs: int = 60,
                   seeds: Sequence[int] = (0, 1), max_epochs: int | None = None,
                   rng: np.random.Generator | int = 0, X: np.ndarray | None = None,
                   diverge: bool = True) -> list[Run]:
    """Synthetic runs (see module docstring).

    Parameters
    ----------
    space : Space or str
    n_configs : int
        Number of configs drawn (ignored when ``X`` is given).
    seeds : sequence of int
    max_epochs : int, optional
        Curve length (default: the fidelity's upper bound).
    rng : Generator or int
    X : ndarray (n, d), optional
        Encoded configs to use instead of sampling.
    diverge : bool
        Whether very large learning rates diverge.

    Returns
    -------
    list of Run, ``n_configs * len(seeds)`` runs.
    """
    space = get_space(space) if isinstance(space, str) else space
    rng = as_rng(rng)
    fid = space.fidelity
    E = check_int("max_epochs", max_epochs if max_epochs is not None else int(fid.upper), 1,
                  None, "synthetic_runs")
    if X is None:
        X = space.sample_array(check_int("n_configs", n_configs, 1, None, "synthetic_runs"), rng)
    if fid.in_config:
        X = X.copy()
        X[:, space.names.index(fid.name)] = fid.upper
    n = X.shape[0]
    U = space.to_unit(X)
    U = np.where(np.isnan(U), 0.5, U)
    lr = _col(space, X, "learning_rate", np.log(1e-2))
    opt = _col(space, X, "optimizer", 1.0)
    layers = _col(space, X, "n_conv_layers", 2.0)
    filt = np.exp(_col(space, X, "n_filters", np.log(16)))
    dense = np.exp(_col(space, X, "n_dense_units", np.log(64)))
    bs = np.exp(_col(space, X, "batch_size", np.log(64)))
    drop = _col(space, X, "dropout_rate", 0.1)
    # best log-lr: sgd likes larger steps than adam/rmsprop
    best = np.where(opt == 0, np.log(5e-2), np.log(3e-3))
    w = np.sin(np.arange(1, space.dim + 1) * 1.7)  # fixed smooth dependence on the rest
    q = (2.2 - 0.9 * (lr - best) ** 2 + 0.35 * np.minimum(layers, 3) - 0.05 * layers ** 1.5
         - 2.0 * (drop - 0.15) ** 2 + 0.4 * np.log(filt) / np.log(64)
         + 0.3 * (U - 0.5) @ w / np.sqrt(space.dim))
    a_inf = 0.1 + 0.88 / (1.0 + np.exp(-q))
    speed = 0.15 + 0.6 / (1.0 + np.exp(-(lr - np.log(1e-3)))) * (64.0 / bs) ** 0.3
    params = (layers * filt * filt * 9 + filt * 16 * dense + dense * 10).astype(float)
    flops = params * 64.0 / np.minimum(layers, 2) ** 2
    t_epoch = 0.05 + 3e-10 * flops * 1797 / 8 + 4.0 / bs
    will_div = diverge & (lr > np.log(3e-2)) & (opt != 0) & (U[:, 0] > 0.3)
    sd_seed = 0.004 + 0.03 * (1 - a_inf) * (a_inf - 0.1)
    cfgs = space.decode(X)
    ep = np.arange(1, E + 1)
    runs = []
    for i in range(n):
        for s in seeds:
            r = np.random.default_rng([int(s), i, 12345])
            off = r.normal() * sd_seed[i]
            acc = a_inf[i] - (a_inf[i] - 0.1) * np.exp(-speed[i] * ep) + off * (1 - np.exp(-ep / 3))
            acc = np.clip(acc + r.normal(0, 0.002, E), 0.0, 1.0)
            tacc = np.clip(acc + 0.02 * (1 - drop[i]) * (ep / E), 0.0, 1.0)
            tst = np.clip(acc - 0.005 + r.normal(0, 0.004, E), 0.0, 1.0)
            vloss = -np.log(np.clip(acc, 1e-3, 1.0)) * 1.3 + 0.02
            status = "ok"
            nep = E
            et = t_epoch[i] * (1.0 + 0.05 * r.normal()) * np.ones(E)
            et = np.abs(et + r.normal(0, 0.002, E))
            et[0] += 0.1
            if will_div[i] and r.random() < 0.7:
                nep = int(r.integers(2, max(3, E // 2)))
                acc[:] = 0.1
                tacc[:] = 0.1
                tst[:] = 0.1
                vloss[:] = np.nan
                status = "diverged"
            tloss = -np.log(np.clip(tacc, 1e-3, 1.0)) * 1.2
            tsl = -np.log(np.clip(tst, 1e-3, 1.0)) * 1.3 + 0.03
            if status == "diverged":
                tloss[:] = np.nan
                tsl[:] = np.inf
            runs.append(Run(config=cfgs[i], seed=int(s), metrics={
                "train_loss": tloss[:nep], "train_acc": tacc[:nep], "valid_loss": vloss[:nep],
                "valid_acc": acc[:nep], "test_loss": tsl[:nep], "test_acc": tst[:nep]},
                epoch_time=et[:nep], static={"params": params[i], "flops": flops[i],
                                             "model_bytes": 4.0 * params[i]},
                status=status))
    return runs


def write_synthetic_table(path: str | os.PathLike, space: Space | str = "hia-cnn",
                          n_configs: int = 60, seeds: Sequence[int] = (0, 1),
                          rng: np.random.Generator | int = 0, **kwargs) -> RunTable:
    """Write a synthetic run table to a new file ``path`` and return it."""
    space = get_space(space) if isinstance(space, str) else space
    runs = synthetic_runs(space, n_configs, seeds, rng=rng, **kwargs)
    E = kwargs.get("max_epochs") or int(space.fidelity.upper)
    return write_table(path, space, runs, max_epochs=E,
                       provenance={"dataset": "synthetic", "generator":
                                   "hasbench.surrogates.testing.synthetic_runs"})
