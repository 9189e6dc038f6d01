"""Bayesian optimisation with expected improvement: Gaussian process or random forest."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import check_choice, check_int
from .base import Job, Optimizer, Result, _loss_of

__all__ = ["BayesianOptimization", "expected_improvement"]


def expected_improvement(mu: np.ndarray, sigma: np.ndarray, best: float) -> np.ndarray:
    """EI for minimisation, shape ``(n,)``: ``E[max(best - f, 0)]`` with f ~ N(mu, sigma^2)."""
    from scipy.special import ndtr

    sigma = np.maximum(sigma, 1e-12)
    z = (best - mu) / sigma
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    return (best - mu) * ndtr(z) + sigma * pdf


class BayesianOptimization(Optimizer):
    """Full-fidelity BO with EI over the searched hyperparameters (unit-cube encoding;
    categorical columns one-hot for the GP).

    Parameters
    ----------
    surrogate : {"gp", "rf"}
        ``"gp"``: scikit-learn ``GaussianProcessRegressor`` (Matern 5/2 ARD + white noise,
        normalised targets); ``"rf"``: ``RandomForestRegressor`` (100 trees, std across
        trees as uncertainty, SMAC-style).
    n_init : int
        Uniform random proposals before the model is used (default 10).
    n_candidates : int
        EI is maximised over this many candidates: half uniform, half Gaussian perturbations
        (sd 0.1 in the unit cube) of the best five observations (default 1000).
    Pending jobs (asked, not told) are imputed with the best observed loss (constant liar)
    so parallel workers get different proposals.
    Failed and pruned results (the rule of :mod:`hasbench.optimizers.base`) are bad records,
    not observations: each with a positive weight ``w`` (``failed_weight`` /
    ``pruned_weight``, default 1) enters the model at the worst finite loss observed, with
    sample weight ``w`` (random forest) or extra noise variance ``1/w - 1`` in normalised
    units (GP: precision weighting, so ``w = 1`` is an ordinary observation). They never count
    toward ``n_init`` and are never the incumbent (``best``).
    Other parameters: see :class:`~hasbench.optimizers.base.Optimizer`.
    """

    name = "bo"

    def __init__(self, space, seed: int = 0, *, surrogate: str = "gp", n_init: int = 10,
                 n_candidates: int = 1000, **kw: Any):
        super().__init__(space, seed, **kw)
        self.surrogate = check_choice("surrogate", surrogate, ["gp", "rf"], "BO")
        self.n_init = check_int("n_init", n_init, 1, None, "BO")
        self.n_candidates = check_int("n_candidates", n_candidates, 2, None, "BO")
        self._X: list[np.ndarray] = []
        self._y: list[float] = []
        self._pending: dict[int, np.ndarray] = {}

    def _feat(self, V: np.ndarray) -> np.ndarray:
        cat = self._vartypes > 0
        if not cat.any():
            return np.nan_to_num(V, nan=0.5)
        parts = [np.nan_to_num(V[:, ~cat], nan=0.5)]
        for j in np.flatnonzero(cat):
            k = self._vartypes[j]
            oh = np.zeros((V.shape[0], k))
            idx = np.nan_to_num(V[:, j], nan=0).astype(int)
            oh[np.arange(V.shape[0]), idx] = 1.0
            parts.append(oh)
        return np.hstack(parts)

    def ask(self) -> Job | None:
        n_obs = len(self._y)
        if n_obs + len(self._pending) < self.n_init or n_obs < 2:
            x = self._sample(1)[0]
        else:
            x = self._propose()
        job = self._make_job(self._new_trial_id(), x, self._full_fidelity(x))
        self._pending[job.job_id] = self._to_model(x)[0]
        return job

    def _propose(self) -> np.ndarray:
        rng = self._rng
        V = np.array(self._X)
        y = np.array(self._y)
        if y.size < 2:
            return self._sample(1)[0]
        worst = y.max()
        best = float(y.min())
        w = np.ones(y.size)
        Vb, wb = self.bad_records()
        if wb.size:
            V = np.vstack([V, Vb])
            y = np.concatenate([y, np.full(wb.size, worst)])
            w = np.concatenate([w, wb])
        if self._pending:
            V = np.vstack([V, np.array(list(self._pending.values()))])
            y = np.concatenate([y, np.full(len(self._pending), best)])
            w = np.concatenate([w, np.ones(len(self._pending))])
        F = self._feat(V)
        m = self.n_candidates
        cand = self._to_model(self._from_unit_cols(rng.random((m // 2, len(self.names)))))
        top = V[np.argsort(y, kind="stable")[:5]]
        loc = top[rng.integers(0, top.shape[0], m - m // 2)].copy()
        cont = self._vartypes == 0
        loc[:, cont] = np.clip(loc[:, cont] + 0.1 * rng.standard_normal((loc.shape[0],
                                                                         int(cont.sum()))),
                               0, 1)
        for j in np.flatnonzero(~cont):
            flip = rng.random(loc.shape[0]) < 0.2
            loc[flip, j] = rng.integers(0, self._vartypes[j], int(flip.sum()))
        cand = np.vstack([cand, self._to_model(self._from_model(loc))])
        Fc = self._feat(cand)
        if self.surrogate == "gp":
            mu, sd = self._gp(F, y, Fc, w)
        else:
            mu, sd = self._rf(F, y, Fc, w)
        ei = expected_improvement(mu, sd, best)
        return self._from_model(cand[int(np.argmax(ei))][None, :])[0]

    def _gp(self, F, y, Fc, w=None):
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        k = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(F.shape[1], 0.5), (1e-2, 1e2),
                                                      nu=2.5) + WhiteKernel(1e-3, (1e-8, 1e-1))
        alpha = 1e-10 if w is None or (w == 1).all() else 1e-10 + (1.0 / w - 1.0)
        gp = GaussianProcessRegressor(k, alpha=alpha, normalize_y=True, n_restarts_optimizer=0,
                                      random_state=int(self._rng.integers(2 ** 31)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(F, y)
        mu, sd = gp.predict(Fc, return_std=True)
        return mu, sd

    def _rf(self, F, y, Fc, w=None):
        from sklearn.ensemble import RandomForestRegressor

        rf = RandomForestRegressor(100, min_samples_leaf=2, max_features=0.8,
                                   random_state=int(self._rng.integers(2 ** 31)), n_jobs=1)
        rf.fit(F, y, sample_weight=None if w is None or (w == 1).all() else w)
        per = np.stack([t.predict(Fc) for t in rf.estimators_])
        return per.mean(axis=0), per.std(axis=0)

    def tell(self, job: Job, result: Result) -> None:
        v = self._pending.pop(job.job_id, None)
        if v is None:
            v = self._to_model(job.x)[0]
        if self._note_failure(job, result):
            return
        self._X.append(v)
        self._y.append(_loss_of(result))
