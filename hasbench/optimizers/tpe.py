"""Tree-structured Parzen estimator (Bergstra et al. 2011), multivariate product KDE."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import check_float, check_int
from .base import Job, Optimizer, Result, _loss_of
from .kde import ProductKDE

__all__ = ["TPE"]


class TPE(Optimizer):
    """TPE at the maximum fidelity.

    After ``n_startup`` uniform proposals, observations are split into the best
    ``max(1, ceil(gamma * n))`` ("good", density l) and the rest ("bad", density g), each
    modelled by a product KDE (:class:`~hasbench.optimizers.kde.ProductKDE`, normal-reference
    bandwidths, clipped at ``min_bandwidth``, widened by ``bandwidth_factor`` when sampling,
    as BOHB); ``n_candidates`` candidates drawn from l are scored by ``l/g`` and the best
    returned. Defaults follow Optuna's TPESampler (``n_startup=10``, 24 candidates) with
    ``gamma=0.15`` (BOHB's top 15%).

    Parameters
    ----------
    n_startup : int
    gamma : float
    n_candidates : int
    bandwidth_factor : float
    min_bandwidth : float
    Other parameters: see :class:`~hasbench.optimizers.base.Optimizer`.
    """

    name = "tpe"

    def __init__(self, space, seed: int = 0, *, n_startup: int = 10, gamma: float = 0.15,
                 n_candidates: int = 24, bandwidth_factor: float = 3.0,
                 min_bandwidth: float = 1e-3, **kw: Any):
        super().__init__(space, seed, **kw)
        self.n_startup = check_int("n_startup", n_startup, 1, None, "TPE")
        self.gamma = check_float("gamma", gamma, 0.0, 1.0, "TPE", low_open=True, high_open=True)
        self.n_candidates = check_int("n_candidates", n_candidates, 1, None, "TPE")
        self.bandwidth_factor = check_float("bandwidth_factor", bandwidth_factor, 0.0, None,
                                            "TPE", low_open=True)
        self.min_bandwidth = check_float("min_bandwidth", min_bandwidth, 0.0, None, "TPE")
        self._V: list[np.ndarray] = []
        self._y: list[float] = []
        #: extra (model-space row, loss, weight) records, e.g. pruned configs (DyESP)
        self.extra_bad: list[np.ndarray] = []

    def ask(self) -> Job | None:
        if len(self._y) < self.n_startup:
            x = self._sample(1)[0]
        else:
            x = self._propose()
        return self._make_job(self._new_trial_id(), x, self._full_fidelity(x))

    def _propose(self) -> np.ndarray:
        rng = self._rng
        V = np.nan_to_num(np.array(self._V), nan=0.5)
        y = np.array(self._y)
        n_good = max(1, math.ceil(self.gamma * len(y)))
        order = np.argsort(y, kind="stable")
        good = V[order[:n_good]]
        bad = V[order[n_good:]]
        if self.extra_bad:
            bad = np.vstack([bad, np.array(self.extra_bad)])
        if bad.shape[0] == 0:
            return self._sample(1)[0]
        lk = ProductKDE(good, self._vartypes, self.min_bandwidth)
        gk = ProductKDE(bad, self._vartypes, self.min_bandwidth)
        m = self.n_candidates
        data = good[rng.integers(0, good.shape[0], m)]
        cont = self._vartypes == 0
        C = data.copy()
        if cont.any():
            from scipy.special import ndtr, ndtri

            mu = data[:, cont]
            sd = self.bandwidth_factor * lk.bw[cont]
            lo, hi = ndtr(-mu / sd), ndtr((1 - mu) / sd)
            p = np.clip(lo + rng.random(mu.shape) * (hi - lo), 1e-300, 1 - 1e-16)
            C[:, cont] = np.clip(mu + sd * ndtri(p), 0, 1)
        cat = ~cont
        if cat.any():
            keep = rng.random((m, int(cat.sum()))) < 1 - lk.bw[cat]
            rand = np.floor(rng.random((m, int(cat.sum()))) * self._vartypes[cat])
            C[:, cat] = np.where(keep, data[:, cat], rand)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.log(np.maximum(lk.pdf(C), 1e-300)) - np.log(np.maximum(gk.pdf(C),
                                                                              1e-300))
        return self._from_model(C[int(np.argmax(score))][None, :])[0]

    def tell(self, job: Job, result: Result) -> None:
        if result.status == "pruned":
            return
        self._V.append(self._to_model(job.x)[0])
        self._y.append(_loss_of(result))
