"""Parzen estimators of the tree-structured Parzen estimator (TPE), as Optuna builds them.

A re-implementation of ``optuna.samplers._tpe.parzen_estimator._ParzenEstimator`` (Optuna
5.0) on numpy arrays, vectorised across columns so hasbench's TPE needs a few dozen numpy
calls per proposal whatever the dimension (Optuna loops over parameters and trials in
Python). Written here rather than imported because Optuna keeps these classes private and
calls them one parameter at a time; the truncated-normal functions use ``scipy.special``
(``log_ndtr``, ``ndtri_exp``) with Optuna's tail-safe case split.

The estimator of n observations (weights ``w_1..w_n``) is a mixture of ``n + 1`` product
kernels: one per observation plus the prior, of weight ``prior_weight``; weights are
normalised to sum to one.

* **Numerical column** (float, int; log-scaled ones in log space): kernel i is a normal
  ``N(mu_i, sigma_i)`` truncated to the column's range, with ``mu_i`` the observation and
  ``sigma_i`` the larger distance to its sorted neighbours (the range ends count as
  neighbours; with ``consider_endpoints=False``, Optuna's default, the smallest and largest
  observation use their inner gap only), clipped to ``[range / min(100, n + 2), range]``
  ("magic clip"; ``EPS`` instead when ``consider_magic_clip=False``). The prior kernel has its
  mean at the middle of the range and ``sigma = range``. An integer column (step 1) is the
  same normal over ``[low - 1/2, high + 1/2]``, discretised: the probability of value v is the
  kernel's mass over ``[v - 1/2, v + 1/2]`` (on a log-int column: over
  ``[log(v - 1/2), log(v + 1/2)]``), and samples are rounded.
* **Categorical column** (c choices): kernel i puts ``(prior_weight / (n + 1) + [v == x_i])``
  on choice v, normalised by its row sum ``c * prior_weight / (n + 1) + 1``; the prior
  kernel is uniform. Nothing depends on the index order of the choices.

Values are given as Optuna's internal representation: the value itself for numerical columns
(not its log) and the choice index for categorical ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri_exp

from ..errors import InvalidValueError

__all__ = ["Columns", "ParzenEstimator", "default_gamma", "default_weights",
           "hyperopt_default_gamma", "log_density_ratio", "log_gauss_mass", "truncnorm_ppf"]

EPS = 1e-12
_LOG_SQRT2PI = 0.5 * math.log(2.0 * math.pi)


def default_gamma(n: int) -> int:
    """Optuna's ``default_gamma``: size of the "good" group of n observations,
    ``min(ceil(0.1 n), 25)``."""
    return min(math.ceil(0.1 * n), 25)


def hyperopt_default_gamma(n: int) -> int:
    """Optuna's ``hyperopt_default_gamma``: ``min(ceil(0.25 sqrt(n)), 25)``."""
    return min(math.ceil(0.25 * n ** 0.5), 25)


def default_weights(n: int) -> np.ndarray:
    """Optuna's ``default_weights`` for n observations in trial order (oldest first): all
    ones below 25, else a linear ramp from ``1/n`` to 1 over the oldest ``n - 25`` and ones
    for the newest 25."""
    if n == 0:
        return np.asarray([])
    if n < 25:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, num=n - 25), np.ones(25)])


def log_gauss_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(Phi(b) - Phi(a))`` for ``a <= b``, accurate in both tails.

    The interval is mirrored to the left half-line when ``a > 0`` (as Optuna does: the normal
    CDF is exact in relative terms only in the left tail), the difference of CDFs is taken
    directly, and only entries whose mass is below 1e-200 (far tails, where that difference
    underflows) are recomputed in log space with ``log_ndtr``."""
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    flip = a > 0
    lo = np.where(flip, -b, a)
    hi = np.where(flip, -a, b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mass = ndtr(hi) - ndtr(lo)
        out = np.log(mass)
        tiny = mass < 1e-200
        if tiny.any():
            lh, ll = log_ndtr(hi[tiny]), log_ndtr(lo[tiny])
            out[tiny] = lh + np.log1p(-np.exp(ll - lh))
    return out


def truncnorm_ppf(q: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Quantile ``q`` of the standard normal truncated to ``[a, b]`` (Optuna's ``ppf``:
    computed in log space on the left tail, mirrored when ``a >= 0``)."""
    q, a, b = np.broadcast_arrays(np.asarray(q, float), np.asarray(a, float),
                                  np.asarray(b, float))
    lm = log_gauss_mass(a, b)
    out = np.empty(q.shape)
    left = a < 0
    right = ~left
    with np.errstate(divide="ignore", invalid="ignore"):
        if left.any():
            out[left] = ndtri_exp(np.logaddexp(log_ndtr(a[left]),
                                               np.log(q[left]) + lm[left]))
        if right.any():
            out[right] = -ndtri_exp(np.logaddexp(log_ndtr(-b[right]),
                                                 np.log1p(-q[right]) + lm[right]))
    return np.clip(out, a, b)


@dataclass(frozen=True)
class Columns:
    """What a Parzen estimator needs to know about its columns (all arrays of shape (d,)).

    Attributes
    ----------
    n_choices : int array
        Number of choices of a categorical column, 0 for a numerical one.
    low, high : float arrays
        Value bounds of numerical columns (ignored for categorical ones).
    step : float array
        1 for an integer column, 0 for a continuous one.
    log : bool array
        Whether the column is modelled in log space.
    """

    n_choices: np.ndarray
    low: np.ndarray
    high: np.ndarray
    step: np.ndarray
    log: np.ndarray

    def __post_init__(self):
        nc = np.asarray(self.n_choices, dtype=int)
        object.__setattr__(self, "n_choices", nc)
        for k in ("low", "high", "step"):
            object.__setattr__(self, k, np.asarray(getattr(self, k), dtype=float))
        object.__setattr__(self, "log", np.asarray(self.log, dtype=bool))
        d = nc.shape[0]
        if any(getattr(self, k).shape != (d,) for k in ("low", "high", "step", "log")):
            raise InvalidValueError("Columns", "arrays of different lengths",
                                    "n_choices, low, high, step, log of one length d",
                                    "parzen.Columns")
        # derived arrays, computed once: a TPE builds two estimators per proposal on the
        # same columns (the instance is frozen and its arrays are never written to)
        object.__setattr__(self, "_cache", {})

    @property
    def dim(self) -> int:
        return int(self.n_choices.shape[0])

    def subset(self, idx: np.ndarray) -> Columns:
        key = ("subset", np.asarray(idx).tobytes())
        c = self._cache.get(key)
        if c is None:
            c = self._cache[key] = Columns(self.n_choices[idx], self.low[idx],
                                           self.high[idx], self.step[idx], self.log[idx])
        return c

    @property
    def num(self) -> np.ndarray:
        c = self._cache.get("num")
        if c is None:
            c = self._cache["num"] = np.flatnonzero(self.n_choices == 0)
        return c

    @property
    def cat(self) -> np.ndarray:
        c = self._cache.get("cat")
        if c is None:
            c = self._cache["cat"] = np.flatnonzero(self.n_choices > 0)
        return c

    def t_bounds(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of numerical columns ``idx`` in the modelling space (widened by half a step,
        then log-transformed where log)."""
        key = ("t_bounds", np.asarray(idx).tobytes())
        c = self._cache.get(key)
        if c is None:
            c = self._cache[key] = self._t_bounds(idx)
        return c

    def _t_bounds(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo = self.low[idx] - self.step[idx] / 2
        hi = self.high[idx] + self.step[idx] / 2
        lg = self.log[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            lo = np.where(lg, np.log(lo), lo)
            hi = np.where(lg, np.log(hi), hi)
        return lo, hi


class ParzenEstimator:
    """Optuna's Parzen estimator over several columns at once.

    Parameters
    ----------
    obs : ndarray, shape (n, d)
        Observations (values; choice indices for categorical columns); no NaN. ``n`` may be 0
        (the estimator is then the prior alone).
    columns : Columns
    weights : ndarray, shape (n,)
        Non-negative observation weights (e.g. :func:`default_weights`).
    prior_weight : float
        Weight of the prior kernel (Optuna default 1.0).
    consider_magic_clip, consider_endpoints : bool
        Optuna's bandwidth options (defaults True and False).
    """

    def __init__(self, obs: np.ndarray, columns: Columns, weights: np.ndarray,
                 prior_weight: float = 1.0, consider_magic_clip: bool = True,
                 consider_endpoints: bool = False):
        obs = np.asarray(obs, dtype=float).reshape(-1, columns.dim)
        n = obs.shape[0]
        weights = np.asarray(weights, dtype=float)
        if weights.shape != (n,):
            raise InvalidValueError("weights.shape", weights.shape, f"({n},)",
                                    "ParzenEstimator")
        self.columns = columns
        self.n = n
        w = np.append(weights, prior_weight) if n else np.array([1.0])
        with np.errstate(divide="ignore"):
            self.log_w = np.log(w / w.sum())
        self.w = w / w.sum()
        self.K = w.shape[0]
        # numerical columns
        self._num = columns.num
        lo, hi = columns.t_bounds(self._num)
        self._lo, self._hi = lo, hi
        self._step = columns.step[self._num]
        self._islog = columns.log[self._num]
        self._vlo, self._vhi = columns.low[self._num], columns.high[self._num]
        self._jc = np.flatnonzero(self._step == 0)      # continuous among the numerical
        self._ji = np.flatnonzero(self._step > 0)       # discretised (int) among them
        if self._num.size:
            T = obs[:, self._num]
            if self._islog.any():
                T = np.where(self._islog, np.log(np.where(self._islog, T, 1.0)), T)
            sig = self._sigmas(T, lo, hi, consider_magic_clip, consider_endpoints)
            self.mu = np.vstack([T, 0.5 * (lo + hi)])          # (K, dn)
            self.sigma = np.vstack([sig, hi - lo])
            # log normaliser of every (kernel, column) truncated normal
            self._logZ = log_gauss_mass((lo - self.mu) / self.sigma,
                                        (hi - self.mu) / self.sigma)
            # per-kernel constants of the density (computed once here, not per candidate)
            self._logsd = np.log(self.sigma)
        # categorical columns
        self._cat = columns.cat
        self._c = columns.n_choices[self._cat].astype(float)
        if self._cat.size:
            self._cobs = obs[:, self._cat].astype(int)          # (n, dc)
            if n:
                a = prior_weight / (n + 1)
                den = self._c * a + 1.0
                self._p_hit = (a + 1.0) / den                   # (dc,)
                self._p_miss = a / den
                self._p_keep = 1.0 / den                        # sampling: keep x_i, else uniform
                self._log_p_hit, self._log_p_miss = np.log(self._p_hit), np.log(self._p_miss)
            self._log_prior = -np.log(self._c)

    @staticmethod
    def _sigmas(T, lo, hi, magic_clip, endpoints):
        n, d = T.shape
        if n == 0:
            return np.zeros((0, d))
        order = np.argsort(T, axis=0)  # numpy default sort, as Optuna (tie order matters)
        S = np.take_along_axis(T, order, axis=0)
        E = np.vstack([lo[None, :], S, hi[None, :]])
        ss = np.maximum(E[1:-1] - E[:-2], E[2:] - E[1:-1])
        if not endpoints and n >= 2:
            ss[0] = E[2] - E[1]
            ss[-1] = E[-2] - E[-3]
        sig = np.empty_like(ss)
        np.put_along_axis(sig, order, ss, axis=0)
        rng_ = hi - lo
        minsig = rng_ / min(100.0, 1.0 + (n + 1)) if magic_clip else np.full(d, EPS)
        return np.clip(sig, minsig, rng_)

    # ---------------------------------------------------------------- sampling
    def sample(self, rng: np.random.Generator, size: int, joint: bool) -> np.ndarray:
        """``size`` draws, shape ``(size, d)``. ``joint=True``: one mixture component per
        draw for all columns (multivariate TPE); ``False``: one per draw and column."""
        d = self.columns.dim
        out = np.empty((size, d))
        shape = (size, 1) if joint else (size, d)
        # rng.choice(self.K, size=shape, p=self.w) without its argument checks (a third of
        # a proposal's sampling time): the same arithmetic and the same single draw of
        # rng.random(shape) as numpy's Generator.choice, so the same components
        cdf = self.w.cumsum()
        cdf /= cdf[-1]
        comp = cdf.searchsorted(rng.random(shape), side="right")
        if self._num.size:
            k = comp if not joint else np.broadcast_to(comp, (size, d))
            k = k[:, self._num]
            cols = np.arange(self._num.size)[None, :]
            mu, sd = self.mu[k, cols], self.sigma[k, cols]
            z = truncnorm_ppf(rng.random(mu.shape), (self._lo - mu) / sd, (self._hi - mu) / sd)
            x = np.clip(mu + sd * z, self._lo, self._hi)
            if self._islog.any():
                x = np.where(self._islog, np.exp(x), x)
            st = self._step > 0
            if st.any():
                disc = self._vlo + np.round((x - self._vlo) / np.where(st, self._step, 1.0)) \
                    * self._step
                x = np.where(st, np.clip(disc, self._vlo, self._vhi), x)
            out[:, self._num] = x
        if self._cat.size:
            k = comp if not joint else np.broadcast_to(comp, (size, d))
            k = k[:, self._cat]
            uni = np.minimum(np.floor(rng.random(k.shape) * self._c), self._c - 1)
            if self.n:
                obs_k = self._cobs[np.minimum(k, self.n - 1), np.arange(self._cat.size)[None]]
                keep = (k < self.n) & (rng.random(k.shape) < self._p_keep)
                uni = np.where(keep, obs_k, uni)
            out[:, self._cat] = uni
        return out

    # ---------------------------------------------------------------- densities
    def _log_kernel(self, X: np.ndarray) -> np.ndarray:
        """Log density of every kernel at every row and column, shape ``(m, K, d)``."""
        return _log_kernels((self,), X)

    def log_pdf(self, X: np.ndarray) -> np.ndarray:
        """Log density of the joint (product-kernel) mixture at each row, shape ``(m,)``
        (multivariate TPE)."""
        lk = self._log_kernel(X).sum(axis=2) + self.log_w[None]
        return _logsumexp(lk, axis=1)

    def log_pdf_columns(self, X: np.ndarray) -> np.ndarray:
        """Log density of each column's own (marginal) mixture, shape ``(m, d)``
        (independent TPE: one estimator per parameter)."""
        lk = self._log_kernel(X) + self.log_w[None, :, None]
        return _logsumexp(lk, axis=1)


def _log_kernels(ests: tuple[ParzenEstimator, ...], X: np.ndarray) -> np.ndarray:
    """Log density of every kernel of every estimator in ``ests`` (all on the same columns)
    at every row and column of ``X``: shape ``(m, sum of K, d)``, the estimators' kernels
    side by side in order. One pass over the kernels of l and g together halves the numpy
    calls of a TPE proposal."""
    X = np.asarray(X, dtype=float)
    m, d = X.shape
    e0 = ests[0]
    K = sum(e.K for e in ests)
    out = np.empty((m, K, d))
    num, jc, ji, lg = e0._num, e0._jc, e0._ji, e0._islog
    if num.size:
        one = len(ests) == 1
        mu = e0.mu if one else np.vstack([e.mu for e in ests])          # (K, dn)
        logZ = e0._logZ if one else np.vstack([e._logZ for e in ests])
        x = X[:, num]
        with np.errstate(divide="ignore", invalid="ignore"):
            if jc.size:  # continuous: normal log density minus the truncation's log mass
                sd = e0.sigma[:, jc] if one else np.vstack([e.sigma[:, jc] for e in ests])
                logsd = e0._logsd[:, jc] if one else np.vstack([e._logsd[:, jc] for e in ests])
                lgc = lg[jc]
                xc = x[:, jc]
                t = np.where(lgc, np.log(np.where(lgc, xc, 1.0)), xc)[:, None, :]
                z = (t - mu[None, :, jc]) / sd[None]
                lp = -0.5 * z * z - _LOG_SQRT2PI - logsd[None]
                out[:, :, num[jc]] = lp - logZ[None, :, jc]
            if ji.size:  # discretised: the kernel's mass over [v - step/2, v + step/2]
                out[:, :, num[ji]] = _int_log_mass(ests, x[:, ji], ji, mu, logZ)
    cat = e0._cat
    if cat.size:
        v = X[:, cat].astype(int)                                    # (m, dc)
        off = 0
        for e in ests:
            if e.n:
                hit = v[:, None, :] == e._cobs[None]                 # (m, n, dc)
                out[:, off:off + e.n, cat] = np.where(hit, e._log_p_hit, e._log_p_miss)
            out[:, off + e.n, cat] = e._log_prior                    # the prior kernel
            off += e.K
    return out


def _int_log_mass(ests, xi: np.ndarray, ji: np.ndarray, mu: np.ndarray,
                  logZ: np.ndarray) -> np.ndarray:
    """Log probability of the integer values ``xi`` (m, ni) under every kernel (rows of
    ``mu``), shape ``(m, K, ni)``.

    The truncated-normal mass (two normal CDFs per value and kernel, the costliest part of a
    proposal) is computed once per distinct value of a column and gathered: the 24 candidates
    of a TPE proposal repeat values often (a narrow good group, a short integer range). The
    same arithmetic on the same inputs as one pass over all rows, so the same numbers."""
    e0 = ests[0]
    step, lg = e0._step[ji], e0._islog[ji]
    # distinct (column, value) pairs of all columns at once (np.unique per column costs more
    # in call overhead than it saves here); values compare exactly, no rounding
    m, ni = xi.shape
    flat_v = xi.reshape(-1)
    flat_c = np.tile(np.arange(ni), m)
    order = np.lexsort((flat_v, flat_c))
    sv, sc = flat_v[order], flat_c[order]
    new = np.empty(sv.size, dtype=bool)
    new[0] = True
    np.not_equal(sv[1:], sv[:-1], out=new[1:])
    new[1:] |= sc[1:] != sc[:-1]
    inv = np.empty(sv.size, dtype=np.intp)
    inv[order] = np.cumsum(new) - 1
    inv = inv.reshape(m, ni)
    u, c = sv[new], sc[new]
    half, lgu = step[c] / 2, lg[c]
    le, ri = u - half, u + half
    le = np.where(lgu, np.log(np.where(lgu, le, 1.0)), le)
    ri = np.where(lgu, np.log(np.where(lgu, ri, 1.0)), ri)
    col = ji[c]
    mu_u = mu[:, col]                                                # (K, U)
    sd_u = ests[0].sigma[:, col] if len(ests) == 1 else \
        np.vstack([e.sigma[:, col] for e in ests])
    lm = log_gauss_mass((le - mu_u) / sd_u, (ri - mu_u) / sd_u) - logZ[:, col]
    return lm[:, inv].transpose(1, 0, 2)


def log_density_ratio(lk: ParzenEstimator, gk: ParzenEstimator, X: np.ndarray,
                      joint: bool) -> np.ndarray:
    """``log l(x) - log g(x)`` at each row of ``X`` for two estimators on the same columns:
    ``lk.log_pdf(X) - gk.log_pdf(X)`` (``joint=True``, shape ``(m,)``) or the same with
    ``log_pdf_columns`` (shape ``(m, d)``), with the kernels of both evaluated in one pass."""
    A = _log_kernels((lk, gk), X)
    out = []
    for e, a in ((lk, A[:, :lk.K]), (gk, A[:, lk.K:])):
        if joint:
            out.append(_logsumexp(a.sum(axis=2) + e.log_w[None], axis=1))
        else:
            out.append(_logsumexp(a + e.log_w[None, :, None], axis=1))
    return out[0] - out[1]


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    mx = a.max(axis=axis, keepdims=True)
    mx[~np.isfinite(mx)] = 0.0
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - mx).sum(axis=axis)) + np.squeeze(mx, axis=axis)


GammaFn = Callable[[int], int]
WeightsFn = Callable[[int], np.ndarray]
