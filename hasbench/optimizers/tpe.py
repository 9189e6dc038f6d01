"""Tree-structured Parzen estimator (TPE; Bergstra et al. 2011) as Optuna's ``TPESampler``,
and :class:`KDETPE` ("tpe-kde"), BOHB's multivariate KDE at full fidelity (what "tpe" was
in hasbench before this module followed Optuna).

:class:`TPE` re-implements ``optuna.samplers.TPESampler`` (Optuna 5.0, single objective) on
hasbench's encoded arrays; the Parzen estimators are in :mod:`hasbench.optimizers.parzen`.
Defaults are Optuna's except ``multivariate`` (see below):

* ``n_startup=10`` uniform proposals first (hasbench's config stream, the same draws as
  random search for the same seed), counted over ranked (evaluated, not failed) trials;
* split: the ``gamma(n) = min(ceil(0.1 n), 25)`` lowest losses form the "good" group
  (density l), the rest the "bad" one (g); ties keep trial order;
* weights: Optuna's ``default_weights`` within each group in trial order (a ramp from ``1/n``
  to 1 over all but the newest 25 once a group has 25 or more), plus the prior kernel of
  weight ``prior_weight=1``;
* bandwidths: neighbour distances with the magic clip, ``consider_endpoints=False``;
  categorical kernels as Optuna's (no use of the choice index order); log-scaled float and
  int hyperparameters in log space; ints discretised with step 1;
* ``n_candidates=24`` draws from l, the one maximising ``log l - log g`` is proposed
  (independent TPE: per hyperparameter, each with its own 24 draws; multivariate: jointly);
* ``constant_liar=True`` (Optuna 5's default): configurations asked but not yet told join
  the bad group, so parallel workers get different proposals (no effect with one worker).

Choices where Optuna is silent or hasbench differs (each a parameter):

* ``multivariate=False``: the independent TPE of Bergstra et al. and of Optuna < 5. Optuna 5
  defaults to the multivariate TPE for single-objective studies (``TPESampler(seed=s)``, as
  the ``optuna`` adapter builds it); pass ``multivariate=True`` for that (Optuna's product
  kernels with one shared mixture component).
* Failed and pruned results follow hasbench's one rule (:mod:`hasbench.optimizers.base`):
  never an observation, only a *bad record* in g with weight ``failed_weight`` (crashed or
  non-finite loss, default 1) or ``pruned_weight`` (discarded by a pruner before evaluation,
  default 1), times its trial-order weight; never in l, never counted by ``gamma`` or
  ``n_startup``; weight 0 drops it. ``failed_weight=0`` is Optuna's behaviour (TPE ignores
  FAIL trials). Optuna ranks pruned trials by their last intermediate value and lets them
  fill l when fewer completed trials than ``gamma(n)`` exist; a job pruned before any
  evaluation has no such value, hence the bad record.
* ``ordinal="categorical"``: ordinal hyperparameters are modelled as categorical (the
  adapter passes them to Optuna as ``CategoricalDistribution``); ``"int"`` models the index
  as an integer (step 1), using the order.

Conditional spaces: a column with inactive (NaN) values among the observations is modelled on
its active observations only (Optuna's independent sampling of a parameter absent from some
trials; in multivariate mode such columns are sampled independently, as Optuna's intersection
search space does).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InvalidValueError, check_choice, check_float, check_int
from ..spaces.base import _canonical_log
from .base import Job, Optimizer, Result, _loss_of
from .kde import ProductKDE
from .parzen import Columns, ParzenEstimator, default_weights, log_density_ratio

__all__ = ["TPE", "KDETPE"]

_OK, _BAD = 0, 1


class TPE(Optimizer):
    """Tree-structured Parzen estimator at the maximum fidelity, as Optuna's ``TPESampler``.

    See the module docstring for the algorithm and every default.

    Parameters
    ----------
    n_startup : int
        Uniform proposals before the model is used (Optuna ``n_startup_trials``, 10).
    n_candidates : int
        Draws from l scored per proposal (Optuna ``n_ei_candidates``, 24).
    gamma : float or callable
        Fraction of ranked trials in the good group, ``min(ceil(gamma * n), gamma_cap)``
        (default 0.1), or a function ``n -> size`` (e.g.
        :func:`~hasbench.optimizers.parzen.hyperopt_default_gamma`).
    gamma_cap : int or None
        Upper bound of the good group's size for a float ``gamma`` (default 25).
    weights : {"optuna", "uniform"} or callable
        Observation weights per group in trial order: Optuna's ``default_weights``
        (default), all ones, or a function ``n -> (n,) array``.
    prior_weight : float
        Weight of the prior kernel (default 1.0).
    consider_magic_clip, consider_endpoints : bool
        Optuna's bandwidth options (defaults True, False).
    multivariate : bool
        Joint product-kernel mixture (Optuna's multivariate TPE) instead of one estimator per
        hyperparameter (default False).
    constant_liar : bool
        Pending configurations join the bad group (default True).
    failed_weight, pruned_weight : float
        Bad-record weights of failed and pruned jobs (base class; default 1 each, 0 drops).
    ordinal : {"categorical", "int"}
        How ordinal hyperparameters are modelled (default "categorical", as the Optuna
        adapter declares them).
    Other parameters: see :class:`~hasbench.optimizers.base.Optimizer`.
    """

    name = "tpe"

    def __init__(self, space, seed: int = 0, *, n_startup: int = 10, n_candidates: int = 24,
                 gamma: float | Callable[[int], int] = 0.1, gamma_cap: int | None = 25,
                 weights: str | Callable[[int], np.ndarray] = "optuna",
                 prior_weight: float = 1.0, consider_magic_clip: bool = True,
                 consider_endpoints: bool = False, multivariate: bool = False,
                 constant_liar: bool = True, ordinal: str = "categorical", **kw: Any):
        super().__init__(space, seed, **kw)
        w = "TPE"
        self.n_startup = check_int("n_startup", n_startup, 0, None, w)
        self.n_candidates = check_int("n_candidates", n_candidates, 1, None, w)
        if callable(gamma):
            self.gamma = gamma
        else:
            self.gamma = check_float("gamma", gamma, 0.0, 1.0, w, low_open=True)
        self.gamma_cap = None if gamma_cap is None else check_int("gamma_cap", gamma_cap, 1,
                                                                  None, w)
        if callable(weights):
            self._weights_fn = weights
        else:
            check_choice("weights", weights, ["optuna", "uniform"], w)
            self._weights_fn = default_weights if weights == "optuna" else np.ones
        self.weights = weights
        self._weights_cache: dict[int, np.ndarray] = {}
        self.prior_weight = check_float("prior_weight", prior_weight, 0.0, None, w)
        for nm, v in (("consider_magic_clip", consider_magic_clip),
                      ("consider_endpoints", consider_endpoints),
                      ("multivariate", multivariate), ("constant_liar", constant_liar)):
            if not isinstance(v, (bool, np.bool_)):
                raise InvalidValueError(nm, v, "True or False", w)
        self.consider_magic_clip = bool(consider_magic_clip)
        self.consider_endpoints = bool(consider_endpoints)
        self.multivariate = bool(multivariate)
        self.constant_liar = bool(constant_liar)
        self.ordinal = check_choice("ordinal", ordinal, ["categorical", "int"], w)
        self._setup_columns()
        d = self._cols.size
        self._cap = 64
        self._R = np.empty((self._cap, d))       # values (Optuna's internal representation)
        self._loss = np.empty(self._cap)
        self._kind = np.empty(self._cap, dtype=np.int8)
        self._tid = np.empty(self._cap, dtype=np.int64)
        self._bw = np.empty(self._cap)           # bad-record weight (0 for observations)
        self._n = 0
        self._n_ranked = 0
        self._pending: dict[int, tuple[int, np.ndarray]] = {}

    # ------------------------------------------------------------ columns
    def _setup_columns(self) -> None:
        sp = self.space
        k = len(self.names)
        nch = np.zeros(k, dtype=int)
        low, high, step = np.zeros(k), np.ones(k), np.zeros(k)
        log = np.zeros(k, dtype=bool)
        enc_kind = np.zeros(k, dtype=np.int8)    # 0 float, 1 int, 2 index
        for i, n in enumerate(self.names):
            kind = sp.kind(n)
            if kind in ("float", "int"):
                hp = sp.configspace[n]
                low[i], high[i], log[i] = float(hp.lower), float(hp.upper), bool(hp.log)
                step[i] = 1.0 if kind == "int" else 0.0
                enc_kind[i] = 0 if kind == "float" else 1
            elif kind == "ordinal" and self.ordinal == "int":
                low[i], high[i], step[i] = 0.0, float(len(sp.choices(n)) - 1), 1.0
                enc_kind[i] = 2
            else:
                nch[i] = len(sp.choices(n))
                enc_kind[i] = 2
        self._columns = Columns(nch, low, high, step, log)
        self._enc_kind = enc_kind
        self._enc_log = log.copy()
        self._float_log = log & (enc_kind == 0)
        bnd = np.array([sp.bounds(n) for n in self.names], dtype=float).reshape(-1, 2)
        self._enc_lo, self._enc_hi = bnd[:, 0], bnd[:, 1]

    def _to_values(self, X: np.ndarray) -> np.ndarray:
        """Encoded rows (full width) -> values of the searched columns (NaN stays NaN)."""
        V = np.atleast_2d(X)[:, self._cols].astype(float, copy=True)
        lg = self._enc_log
        if lg.any():
            V[:, lg] = np.exp(V[:, lg])
            il = lg & (self._enc_kind == 1)
            V[:, il] = np.round(V[:, il])
        return V

    def _from_values(self, v: np.ndarray) -> np.ndarray:
        """Values of the searched columns (one row) -> a canonical full encoded row (what
        ``Space.from_unit`` returns: log floats at a fixed point of the codec)."""
        enc = np.asarray(v, dtype=float).copy()
        lg = self._enc_log
        enc[lg] = np.log(enc[lg])
        fl = self._float_log
        if fl.any():
            enc[fl] = _canonical_log(np.clip(enc[fl], self._enc_lo[fl], self._enc_hi[fl]))
        full = self._x_base.copy()
        full[self._cols] = enc
        return full

    # ------------------------------------------------------------ records
    def _append(self, tid: int, row: np.ndarray, loss: float, kind: int,
                weight: float = 0.0) -> None:
        if self._n == self._cap:
            self._cap *= 2
            self._R = np.resize(self._R, (self._cap, self._R.shape[1]))
            self._loss = np.resize(self._loss, self._cap)
            self._kind = np.resize(self._kind, self._cap)
            self._tid = np.resize(self._tid, self._cap)
            self._bw = np.resize(self._bw, self._cap)
        i = self._n
        self._R[i], self._loss[i], self._kind[i], self._tid[i] = row, loss, kind, tid
        self._bw[i] = weight
        self._n += 1
        if kind == _OK:
            self._n_ranked += 1

    def n_below(self, n: int) -> int:
        """Size of the good group for ``n`` ranked trials."""
        if callable(self.gamma):
            k = int(self.gamma(n))
        else:
            k = math.ceil(self.gamma * n)
            if self.gamma_cap is not None:
                k = min(k, self.gamma_cap)
        return max(0, min(k, n))

    def split(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """The good and bad groups as ``((rows, weights), (rows, weights))`` in trial order
        (rows: values of the searched columns). Exposed for tests and diagnostics."""
        n = self._n
        R, loss, kind, tid = self._R[:n], self._loss[:n], self._kind[:n], self._tid[:n]
        ranked = np.flatnonzero(kind == _OK)
        order = ranked[np.lexsort((tid[ranked], loss[ranked]))]
        nb = self.n_below(order.size)
        good = np.sort(order[:nb], kind="stable")
        good = good[np.argsort(tid[good], kind="stable")]
        bad_idx = [order[nb:]]
        mult = [np.ones(order.size - nb)]
        br = np.flatnonzero(kind == _BAD)
        bad_idx.append(br)
        mult.append(self._bw[:n][br])
        bad = np.concatenate(bad_idx)
        m = np.concatenate(mult)
        Rb, tb = R[bad], tid[bad]
        if self.constant_liar and self._pending:
            pend = list(self._pending.values())
            Rb = np.vstack([Rb, np.array([r for _, r in pend])])
            tb = np.concatenate([tb, np.array([t for t, _ in pend], dtype=np.int64)])
            m = np.concatenate([m, np.ones(len(pend))])
        o = np.argsort(tb, kind="stable")
        return (R[good], np.ones(good.size)), (Rb[o], m[o])

    def _weights(self, n: int) -> np.ndarray:
        if self._weights_fn in (default_weights, np.ones):  # pure: computed once per n
            w = self._weights_cache.get(n)
            if w is None:
                w = self._weights_cache[n] = self._checked_weights(n)
            return w
        return self._checked_weights(n)

    def _checked_weights(self, n: int) -> np.ndarray:
        w = np.asarray(self._weights_fn(n), dtype=float)[:n]
        if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or \
                (n and w.sum() <= 0):
            raise InvalidValueError("weights", f"{self._weights_fn!r}({n}) = {w!r}",
                                    f"{n} finite non-negative values, not all zero", "TPE")
        return w

    # ------------------------------------------------------------ interface
    def ask(self) -> Job | None:
        if self._n_points_used < len(self._points) or self._n_ranked < self.n_startup:
            x = self._sample(1)[0]
        else:
            x = self._propose()
        job = self._make_job(self._new_trial_id(), x, self._full_fidelity(x))
        if self.constant_liar:
            self._pending[job.job_id] = (job.trial_id, self._to_values(x)[0])
        return job

    def _estimators(self, good, bad, cols):
        """(l, g) over columns ``cols`` from rows active in all of them."""
        out = []
        for R, mult in (good, bad):
            R = R[:, cols]
            act = ~np.isnan(R).any(axis=1)
            R, mult = R[act], mult[act]
            w = self._weights(R.shape[0]) * mult
            out.append(ParzenEstimator(R, self._columns.subset(cols), w, self.prior_weight,
                                       self.consider_magic_clip, self.consider_endpoints))
        return out

    def _propose(self) -> np.ndarray:
        rng = self._rng
        good, bad = self.split()
        d = self._cols.size
        nan = np.isnan(good[0]).any(axis=0) | np.isnan(bad[0]).any(axis=0)
        full = np.flatnonzero(~nan)
        best = np.empty(d)
        m = self.n_candidates
        if full.size:
            lk, gk = self._estimators(good, bad, full)
            C = lk.sample(rng, m, joint=self.multivariate)
            # log l - log g of every candidate (per column for the independent TPE), l's and
            # g's kernels in one pass
            s = log_density_ratio(lk, gk, C, joint=self.multivariate)
            if self.multivariate:
                best[full] = C[int(np.argmax(s))]
            else:
                best[full] = C[np.argmax(s, axis=0), np.arange(full.size)]
        for j in np.flatnonzero(nan):  # conditional columns: one estimator each
            lk, gk = self._estimators(good, bad, np.array([j]))
            C = lk.sample(rng, m, joint=True)
            s = log_density_ratio(lk, gk, C, joint=True)
            best[j] = C[int(np.argmax(s)), 0]
        return self._from_values(best)

    def tell(self, job: Job, result: Result) -> None:
        pend = self._pending.pop(job.job_id, None)
        row = pend[1] if pend is not None else self._to_values(job.x)[0]
        if self._note_failure(job, result):  # hasbench's rule: at most a bad record
            w = self._failure_weight(result)
            if w > 0:
                self._append(job.trial_id, row, math.inf, _BAD, w)
            return
        self._append(job.trial_id, row, _loss_of(result), _OK)


class KDETPE(Optimizer):
    """BOHB's KDE model at the maximum fidelity ("tpe-kde"; hasbench's "tpe" until it was
    made Optuna's TPE). Not TPE as Bergstra et al. or Optuna define it: kept as an ablation
    (BOHB's model without Hyperband). Failed and pruned jobs with a positive weight join the
    bad KDE unweighted (hasbench's rule, :mod:`hasbench.optimizers.base`).

    After ``n_startup`` uniform proposals, observations are split into the best
    ``max(1, ceil(gamma * n))`` ("good", density l) and the rest ("bad", density g), each
    modelled by a product KDE (:class:`~hasbench.optimizers.kde.ProductKDE`, normal-reference
    bandwidths, clipped at ``min_bandwidth``, widened by ``bandwidth_factor`` when sampling,
    as BOHB); ``n_candidates`` candidates drawn from l are scored by ``l/g`` and the best
    returned. ``n_startup=10``, 24 candidates, ``gamma=0.15`` (BOHB's top 15%, no cap), no
    prior component, no weights, categorical bandwidths from the std of the choice index.

    Parameters
    ----------
    n_startup : int
    gamma : float
    n_candidates : int
    bandwidth_factor : float
    min_bandwidth : float
    Other parameters: see :class:`~hasbench.optimizers.base.Optimizer`.
    """

    name = "tpe-kde"

    def __init__(self, space, seed: int = 0, *, n_startup: int = 10, gamma: float = 0.15,
                 n_candidates: int = 24, bandwidth_factor: float = 3.0,
                 min_bandwidth: float = 1e-3, **kw: Any):
        super().__init__(space, seed, **kw)
        self.n_startup = check_int("n_startup", n_startup, 1, None, "KDETPE")
        self.gamma = check_float("gamma", gamma, 0.0, 1.0, "KDETPE", low_open=True,
                                 high_open=True)
        self.n_candidates = check_int("n_candidates", n_candidates, 1, None, "KDETPE")
        self.bandwidth_factor = check_float("bandwidth_factor", bandwidth_factor, 0.0, None,
                                            "KDETPE", low_open=True)
        self.min_bandwidth = check_float("min_bandwidth", min_bandwidth, 0.0, None, "KDETPE")
        self._V: list[np.ndarray] = []
        self._y: list[float] = []

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
        Vb, _ = self.bad_records()  # failed/pruned jobs (weight > 0) join the bad KDE
        if Vb.shape[0]:
            bad = np.vstack([bad, np.nan_to_num(Vb, nan=0.5)])
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
        if self._note_failure(job, result):
            return
        self._V.append(self._to_model(job.x)[0])
        self._y.append(_loss_of(result))
