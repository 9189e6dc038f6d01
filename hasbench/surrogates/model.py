"""Learning-curve surrogates fitted on run tables.

Model (the same for every backend; see docs/surrogates.md for the reasons):

- **Per-epoch metrics** (``valid_acc`` ...): one regressor per metric on features
  ``[search hyperparameters (encoded), fidelity]``, target the seed mean of the metric at that
  epoch. The epoch is an ordinary input; the in-config fidelity column (``hia-cnn``'s
  ``epochs``) is *not* an input: the fidelity is.
- **Seed noise**: one regressor per metric predicts the seed-to-seed standard deviation at
  (config, epoch) (fit on ``log`` of the sample std of the seeds, mapped back with the
  exact bias correction for normal samples). A query with ``seed=s`` returns ``mean + z * std`` with one standard normal ``z``
  per (config, seed) drawn from a hash (:mod:`hasbench.surrogates._hash`): the same seed
  shifts the whole curve the same way (smooth, not i.i.d. jitter), and is deterministic.
  Metrics share part of ``z`` with the objective (the correlation of seed differences
  measured on the table), so a lucky seed is lucky on ``valid_acc`` and ``valid_loss``.
- **Runtime**: one config-level regressor on ``log`` of the seed-mean epoch time plus a fixed
  cumulative profile ``p(e)`` (the mean of ``cum_time(e) / cum_time(E)`` over full runs):
  ``cum_time(x, e) = E * exp(g(x)) * p(e)``. Monotone in ``e`` by construction.
- **Static metrics** (params, flops ...): config-level regressors on ``log1p(value)``.
- **Predictive interval**: ``std_pred^2 = std_seed^2 + v(e, b)``, where ``v`` (per metric,
  epoch and bin ``b`` of the predicted value; ``calibration_bins`` equal-count bins of the
  calibration configs' predictions at that epoch) is calibrated on a hold-out split of
  configs so 80% intervals cover 80% of the held-out seed values in every bin: the
  model error of a config near chance level is not that of one near the top, so the width
  depends on the config, not on the epoch alone (surrogates fitted before
  ``calibration_bins`` existed have ``v(e)`` only). ``query(seed=...)`` only uses
  ``std_seed`` (the seed-noise model). A table with one seed
  per config has no seed information: the seed spread is unknown (not zero), there is no
  spread model (``std_seed`` is 0 and every seed answers the mean), and ``v(e)`` is
  calibrated from model error alone, on out-of-fold residuals (``calibration_folds`` folds
  of configs), so that 80% intervals cover 80% of the out-of-fold values. The manifest says
  so (``seed_information``, ``noise.calib_source``).

Diverged values are imputed before fitting: NaN/inf accuracies by the lowest finite
accuracy of the table, losses by a cap (the ``loss_cap_quantile`` quantile of finite
values; larger finite losses are capped too); epochs after a diverged run stopped get the
same fill. Failed runs are left out. Predictions are clipped (accuracies to [0, 1], losses
and times to >= 0 / > 0).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._clocks import COST_METRICS
from ..errors import (
    FidelityError,
    InvalidValueError,
    SchemaError,
    UnknownNameError,
    check_choice,
    check_float,
    check_int,
    check_path,
)
from ..spaces import Fidelity, Space
from ..spaces.static import STATIC_METRICS, exact_static_spaces, static_metrics
from ._hash import row_hash, seed_normals
from ._verify import MAX_FILE_BYTES
from .backends import BACKENDS, load_regressor, make_regressor

__all__ = ["CurveSurrogate", "load_surrogate", "file_sha256", "FORMAT", "FORMAT_VERSION",
           "SurrogateHashError", "metric_kind"]

log = logging.getLogger(__name__)

FORMAT = "hasbench.surrogate"
FORMAT_VERSION = 1
Z80 = 1.2815515655446004  # standard normal quantile of 0.9: 80% two-sided interval


class SurrogateHashError(SchemaError):
    """A surrogate's model file or training table does not match the manifest's SHA-256."""


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def metric_kind(metric: str) -> str:
    """``"acc"`` (in [0, 1]), ``"loss"`` (>= 0) or ``"other"``, from the metric name."""
    m = metric.lower()
    if m.endswith("_acc") or m.endswith("accuracy") or m == "acc":
        return "acc"
    if "loss" in m or "perplexity" in m or m.endswith("_error") or m.endswith("_err"):
        return "loss"
    return "other"


_SD_EPS = 1e-4


def _solve_var(r: np.ndarray, s: np.ndarray, level: float = 0.8) -> float:
    """Smallest extra variance ``v >= 0`` with ``mean(|r| <= z * sqrt(s^2 + v)) >= level``."""
    if r.size == 0 or np.mean(r <= Z80 * s) >= level:
        return 0.0
    lo, hi = 0.0, float(np.max(r ** 2)) / Z80 ** 2 + 1e-12
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if np.mean(r <= Z80 * np.sqrt(s ** 2 + mid)) >= level:
            hi = mid
        else:
            lo = mid
    return hi


def _log_sd_factor(n: int) -> float:
    """``sigma = exp(E[log s]) * factor`` for the sample std ``s`` (ddof=1) of ``n`` normal
    values: ``E[log s] = log sigma + (digamma((n-1)/2) + log(2/(n-1))) / 2``. The spread model
    regresses ``log(s)``, which estimates the typical spread robustly (a config whose seeds
    disagree wildly does not inflate its neighbours' noise)."""
    from scipy.special import digamma

    return math.exp(-0.5 * (float(digamma((n - 1) / 2)) + math.log(2.0 / (n - 1))))


def _c4(n: int) -> float:
    """Bias factor of the sample std (ddof=1) of n normal values: E[s] = c4(n) sigma."""
    return math.sqrt(2.0 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))


def _nanstd1(a: np.ndarray) -> np.ndarray:
    """Sample std (ddof=1) over axis 1 ignoring NaN; NaN where fewer than two values."""
    ok = np.isfinite(a)
    n = ok.sum(axis=1)
    x = np.where(ok, a, 0.0)
    mean = x.sum(axis=1) / np.maximum(n, 1)
    dev = np.where(ok, a - np.expand_dims(mean, 1), 0.0)
    var = (dev ** 2).sum(axis=1) / np.maximum(n - 1, 1)
    return np.where(n >= 2, np.sqrt(var), np.nan)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def exact_static_setup(table: Any) -> dict[str, Any] | None:
    """``{"in_shape": [C, H, W], "n_classes": K}`` when the static metrics of ``table``
    (params, FLOPs, model bytes) are exactly those :func:`hasbench.spaces.static.
    static_metrics` computes for its space and input shape, else ``None``.

    The input shape comes from the table's ``dataset_info`` provenance; the number of
    classes is solved from the parameter count (linear in it) and then every config of the
    table is checked: a table whose networks were built differently (an imported table, a
    changed model) keeps the fitted regression models of its static metrics."""
    if table.space.name not in exact_static_spaces() or "params" not in table.static:
        return None
    info = (table.provenance or {}).get("dataset_info") or {}
    shape = info.get("image_shape")
    if not (isinstance(shape, (list, tuple)) and len(shape) == 3):
        return None
    shape = [int(v) for v in shape]
    have = {m: np.asarray(v, float) for m, v in table.static.items()}
    ok = np.all([np.isfinite(v) for v in have.values()], axis=0)
    if not ok.any():
        return None
    i0 = int(np.argmax(ok))
    cfg0 = table.X[i0:i0 + 1]
    p1, p2 = (static_metrics(table.space, cfg0, shape, k)["params"][0] for k in (1, 2))
    k = 1 + (have["params"][i0] - p1) / (p2 - p1)
    if not (np.isfinite(k) and k >= 1 and abs(k - round(k)) < 1e-9):
        return None
    k = int(round(k))
    calc = static_metrics(table.space, table.X[ok], shape, k)
    for m, v in have.items():
        if m in calc and not np.array_equal(calc[m], v[ok]):
            log.info("static metric %s of the table differs from the exact recipe; "
                     "keeping its regression model", m)
            return None
    return {"in_shape": shape, "n_classes": k}


class CurveSurrogate:
    """Surrogate of a run table: per-epoch metrics, seed noise, runtime, static metrics.

    Parameters
    ----------
    model : {"xgb", "knn", "mlp", "gp"}
        Regression backend (XGBoost default; k-NN baseline; MLP needs torch to fit; GP: a
        Gaussian-process curve model for small tables).
    params : dict, optional
        Backend parameters for the per-metric mean models (e.g. ``{"n_estimators": 200}``);
        ``{"std": {...}, "time": {...}, "static": {...}}`` keys override other roles.
    calibration_fraction : float
        Share of configs held out (once) to calibrate the predictive interval; 0 disables
        calibration (then predictive std = seed std).
    calibration_bins : int
        Bins of the predicted value per epoch in which the predictive interval's model-error
        variance is calibrated separately (default 5; 1: one variance per epoch, the
        behaviour before 2026-12-02). Equal-count bins of the calibration configs'
        predictions at each epoch; fewer bins when there are fewer than 10 calibration
        configs per bin, and a bin with fewer than 5 held-out values takes its epoch's
        variance. hasbench's choice (a function of the predicted value, not of an ensemble's
        spread, so that it works for every backend); the report of ``hasbench validate``
        shows coverage per decile of the prediction.
    calibration_folds : int
        Folds of configs for the out-of-fold residuals that calibrate the predictive
        interval of a table without seed spread (one seed per config; default 5: each
        config's value is predicted by a model fitted on the other 80% of the configs, the
        share the calibration split of a multi-seed table leaves too). hasbench's choice;
        unused when the table has seeds to calibrate on.
    loss_cap_quantile : float
        Quantile of finite loss values used to cap losses and fill diverged ones.
    seed : int
        Seed of the backends and of the calibration split.
    n_jobs : int, optional
        Threads for XGBoost (default: XGBoost's choice).
    acc_transform : {"logit", "none"}
        Fit accuracy means on the logit scale (``logit(clip(acc, 1e-3, 1 - 1e-3))``, the
        default) and map predictions back. The logit spreads the crowded top of the
        accuracy range, where the configs an optimizer must tell apart sit (0.95 vs 0.98
        is a 2.6x difference in error), so a squared error on that scale weighs their order
        as much as the distance to the chance-level cliff. On the shipped digits-hia-cnn
        table it raised held-out final valid_acc Kendall tau from 0.761 to 0.791 (XGBoost)
        and from 0.835 to 0.867 (MLP), with R² equal or better (docs/surrogates.md).
        Surrogates saved before it was the default keep ``"none"`` (their manifest says so).
    loss_transform : {"log", "none"}
        Fit loss means on ``log(loss + 1e-4)`` (default): losses are positive and
        heavy-tailed, and a squared error on the raw scale is dominated by a few runs near
        divergence.
    time_detrend : int
        Remove slow machine-load drift from the measured epoch times before the runtime
        model is fitted (0, the default, disables it). Wall-clock times of runs collected on
        a shared machine carry a multiplicative load factor that changes over the
        collection; with ``time_detrend = W`` each run's log mean epoch time is corrected by
        the centred rolling median, over ``W`` runs in table (= commit) order, of its
        residual against an out-of-fold (4 folds of configs) config-level runtime model,
        re-centred so that the ``time_detrend_level`` quantile of the estimated load factors
        becomes factor 1. Assumes the table's run order is the order of collection (true for
        ``hasbench collect``; an imported table in arbitrary order gains nothing from it).
        The estimated factors are summarised in the manifest (``time_detrend``).
    time_detrend_level : float
        Which load level the detrended runtimes are expressed at, as a quantile of the
        estimated per-run load factors (used only with ``time_detrend > 0``). Load only ever
        adds time, so the quiet-machine level is the bottom of the factor distribution; the
        default 0.1 takes a low quantile rather than the minimum, which would follow the
        noise of the rolling median. 0.5 gives the level of a typical run of the table (the
        behaviour before this parameter existed). No paper prescribes this: it is hasbench's
        choice, recorded in the manifest.
    time_static : bool
        Give the runtime model the exact log FLOPs and log parameter count of each config's
        network as two more inputs (default ``False``). Needs a table whose static metrics
        match :mod:`hasbench.spaces.static` (see ``static_exact``). A network's cost is a
        product of several hyperparameters, which trees approximate poorly from the
        hyperparameters alone; on ``digits-zela2018`` (17 hyperparameters, ResNets) the true
        FLOPs raised a runtime model's held-out R² from 0.62 to 0.73.
    cost_metric : {None, "cpu_time", "epoch_time", "cuda_time"}
        Which measured per-epoch time the runtime model (``cum_time``, the simulated
        clock) is fitted on. ``None`` (default): the table's own
        :attr:`~hasbench.tables.RunTable.cost_metric` (CPU time of the training thread
        where every epoch has it, so load on a shared machine does not enter the clock;
        wall time for version-1 tables). After fitting, :attr:`cost_metric` is the clock
        used; it is recorded in the manifest (manifests written before 2026-12-03 lack
        it and were fitted on wall time: they load as ``"epoch_time"``).

    Examples
    --------
    >>> from hasbench.tables import RunTable                       # doctest: +SKIP
    >>> sur = CurveSurrogate("xgb").fit(RunTable.read("data/digits-hia-cnn.h5"))  # +SKIP
    >>> sur.save("my.surrogate")                                    # doctest: +SKIP
    """

    def __init__(self, model: str = "xgb", params: dict[str, Any] | None = None,
                 calibration_fraction: float = 0.2, loss_cap_quantile: float = 0.99,
                 seed: int = 0, n_jobs: int | None = None, acc_transform: str = "logit",
                 loss_transform: str = "log", time_detrend: int = 0,
                 time_detrend_level: float = 0.1, time_static: bool = False,
                 calibration_folds: int = 5, calibration_bins: int = 5,
                 cost_metric: str | None = None):
        self.model = check_choice("model", model, list(BACKENDS), "CurveSurrogate",
                                  unknown=True)
        if params is not None and not isinstance(params, dict):
            raise InvalidValueError("params", params, "a dict of backend parameters",
                                    "CurveSurrogate")
        self.params = dict(params or {})
        for r in ("mean", "std", "time", "static"):
            if r in self.params and not isinstance(self.params[r], dict):
                raise InvalidValueError(f"params[{r!r}]", self.params[r],
                                        f"a dict of backend parameters for the {r!r} models",
                                        "CurveSurrogate")
        self.calibration_fraction = check_float("calibration_fraction", calibration_fraction,
                                                0.0, 0.5, "CurveSurrogate")
        self.calibration_folds = check_int("calibration_folds", calibration_folds, 2, 100,
                                           "CurveSurrogate")
        self.calibration_bins = check_int("calibration_bins", calibration_bins, 1, 50,
                                          "CurveSurrogate")
        #: per metric: {"edges": per epoch the bin edges of the predicted value,
        #: "var": per epoch the model-error variance of each bin} (see calibration_bins)
        self.calib_level: dict[str, dict[str, list[list[float]]]] = {}
        #: declared kind/goal/transform per metric (an imported table's ``metric_info``)
        self.metric_info: dict[str, dict[str, Any]] = {}
        #: how each metric's predictive interval was calibrated
        self.calib_source: dict[str, str] = {}
        self.loss_cap_quantile = check_float("loss_cap_quantile", loss_cap_quantile, 0.5, 1.0,
                                             "CurveSurrogate")
        self.seed = check_int("seed", seed, 0, None, "CurveSurrogate")
        self.n_jobs = n_jobs
        self.acc_transform = check_choice("acc_transform", acc_transform, ["logit", "none"],
                                          "CurveSurrogate")
        self.loss_transform = check_choice("loss_transform", loss_transform, ["none", "log"],
                                           "CurveSurrogate")
        self.time_detrend = check_int("time_detrend", time_detrend, 0, None, "CurveSurrogate")
        self.time_detrend_level = check_float("time_detrend_level", time_detrend_level, 0.0,
                                              1.0, "CurveSurrogate")
        self.time_detrend_info: dict[str, Any] | None = None
        self._cost_request = check_choice("cost_metric", cost_metric,
                                          [None, *COST_METRICS], "CurveSurrogate")
        #: the measured clock the runtime model was fitted on (see the parameter)
        self.cost_metric: str | None = cost_metric
        self._fitted = False
        #: the manifest's ``"optimum"`` section (see :meth:`optimum_section`)
        self.optimum: dict | None = None
        self.static_exact: dict[str, Any] | None = None
        if not isinstance(time_static, (bool, np.bool_)):
            raise InvalidValueError("time_static", time_static, [True, False], "CurveSurrogate")
        self.time_static = bool(time_static)
        self.time_static_bounds: list[list[float]] | None = None
        self.path: Path | None = None

    # ------------------------------------------------------------------ layout
    def _set_layout(self, space: Space) -> None:
        self.space = space
        fid = space.fidelity
        self.fidelity_name = fid.name
        drop = {f.name for f in space.fidelities if f.in_config}
        self.search_cols = np.array([i for i, n in enumerate(space.names) if n not in drop],
                                    dtype=np.intp)
        lo, hi = [], []
        for i in self.search_cols:
            a, b = space.bounds(space.names[i])
            lo.append(a)
            hi.append(b)
        self.scale_lo = np.array(lo + [fid.lower], float)
        self.scale_hi = np.array(hi + [fid.upper], float)

    def features(self, X: np.ndarray, fidelity: np.ndarray) -> np.ndarray:
        """Model inputs ``(n, k + 1)``: the search columns of ``X`` and the fidelity."""
        F = np.empty((X.shape[0], self.search_cols.size + 1), dtype=np.float64)
        F[:, :-1] = X[:, self.search_cols]
        F[:, -1] = fidelity
        return F

    @staticmethod
    def _std_features(F: np.ndarray, mu: np.ndarray) -> np.ndarray:
        """Inputs of the spread models: search columns, the mean of the metric, fidelity."""
        return np.column_stack([F[:, :-1], mu, F[:, -1]])

    def _params(self, role: str) -> dict[str, Any]:
        roles = ("mean", "std", "time", "static")
        if role == "mean":  # top-level keys, then an explicit {"mean": {...}}
            out = {k: v for k, v in self.params.items() if k not in roles}
            return {**out, **self.params.get("mean", {})}
        return dict(self.params.get(role, {}))

    def _new(self, role: str, mean_bounds: tuple[float, float] | None = None):
        k = self.search_cols.size
        lo = self.scale_lo if role in ("mean", "std") else self.scale_lo[:k]
        hi = self.scale_hi if role in ("mean", "std") else self.scale_hi[:k]
        n_extra = 0
        if role == "time" and self.time_static:  # + log FLOPs, log params
            lo = np.concatenate([lo, [b[0] for b in self.time_static_bounds]])
            hi = np.concatenate([hi, [b[1] for b in self.time_static_bounds]])
            n_extra = len(self.time_static_bounds)
        if role == "std" and mean_bounds is not None:  # extra input: the mean (before fid.)
            lo = np.concatenate([lo[:k], [mean_bounds[0]], lo[k:]])
            hi = np.concatenate([hi[:k], [mean_bounds[1]], hi[k:]])
        cats = (self.space.n_choices() * self.space.is_categorical())[self.search_cols]
        if n_extra:
            cats = np.concatenate([cats, np.zeros(n_extra, dtype=cats.dtype)])
        kind = self.model
        if (kind == "gp" and role in ("std", "static")) or (kind == "mlp" and role != "mean"):
            # spreads and static metrics: trees are enough and much cheaper; the MLP's
            # runtime model scored below XGBoost's (held-out R² 0.87 vs 0.90, digits-hia-cnn)
            kind = "xgb"
        params = self._params(role)
        if kind == "gp" and role in self._kernel_cache:
            params = {**params, "kernel": self._kernel_cache[role]}
        return make_regressor(kind, role, lo, hi, params, self.n_jobs, cats=cats)

    def _exact_static(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Exact static metrics of encoded configs ``X`` (needs ``static_exact``)."""
        return static_metrics(self.space, X, self.static_exact["in_shape"],
                              self.static_exact["n_classes"])

    def _time_in(self, X: np.ndarray, exact: dict[str, np.ndarray] | None = None
                 ) -> np.ndarray:
        """Inputs of the runtime model for encoded configs ``X``: the search
        hyperparameters, plus (``time_static``) exact log FLOPs and log parameter count
        (``exact``: those of ``X``, when already computed)."""
        F = X[:, self.search_cols]
        if not self.time_static:
            return F
        st = exact if exact is not None else self._exact_static(X)
        return np.column_stack([F, np.log(st["flops"]), np.log(st["params"])])

    def _fit_model(self, role: str, F: np.ndarray, y: np.ndarray, **kw: Any):
        """Fit a new regressor; a GP's kernel hyperparameters, optimised by the first fit of a
        role, are reused by the later fits of that role (other metrics, calibration split):
        one maximum-likelihood search per role instead of one per model."""
        reg = self._new(role, **kw).fit(F, y, self.seed)
        if self.model == "gp" and hasattr(reg, "kernel_params") and \
                role not in self._kernel_cache:
            self._kernel_cache[role] = reg.kernel_params()
        return reg

    def _detrend_time(self, Xs: np.ndarray, rc: np.ndarray, lrun: np.ndarray,
                      C: int) -> np.ndarray:
        """Log run times with the slow load drift removed (see ``time_detrend``)."""
        import pandas as pd

        W = self.time_detrend
        n = lrun.size
        if n < max(2 * W, 40):
            raise InvalidValueError("time_detrend", W, f"a window of at most {n // 2} runs "
                                    f"(this table has {n} timed runs), or 0",
                                    "CurveSurrogate.fit")
        cnt = np.bincount(rc, minlength=C)
        cfg_mean = np.bincount(rc, weights=lrun, minlength=C) / np.maximum(cnt, 1)
        has = np.nonzero(cnt > 0)[0]
        fold = np.random.default_rng(self.seed + 1).permutation(has.size) % 4
        pred = np.full(C, np.nan)
        for k in range(4):
            tr, te = has[fold != k], has[fold == k]
            reg = self._new("time").fit(self._time_in(Xs[tr]), cfg_mean[tr], self.seed)
            pred[te] = reg.predict(self._time_in(Xs[te]))
        resid = lrun - pred[rc]
        g = (pd.Series(resid).rolling(W, center=True, min_periods=max(1, W // 4)).median()
             .to_numpy(dtype=float, copy=True))
        g = g - np.quantile(g, self.time_detrend_level)
        self.time_detrend_info = {
            "window_runs": W, "level_quantile": self.time_detrend_level, "n_runs": int(n),
            "factor_quantiles": {str(q): round(float(np.exp(np.quantile(g, q))), 4)
                                 for q in (0.0, 0.05, 0.5, 0.95, 1.0)},
            "residual_sd_before": round(float(np.std(resid)), 4),
            "residual_sd_after": round(float(np.std(resid - g)), 4)}
        log.info("time_detrend: load factors %s", self.time_detrend_info["factor_quantiles"])
        return lrun - g

    # ------------------------------------------------------------------ fitting
    def fit(self, table, metrics: Sequence[str] | None = None,
            table_path: str | os.PathLike | None = None,
            progress: bool = False) -> CurveSurrogate:
        """Fit on a :class:`~hasbench.tables.RunTable` (or a path to one). Returns ``self``.

        Parameters
        ----------
        table : RunTable or path
        metrics : sequence of str, optional
            Per-epoch metrics to model (default: all of the table's).
        table_path : path, optional
            File the table was read from (for the manifest's hash); defaults to
            ``table.path``.
        progress : bool
            Show a progress bar (tqdm, with an ETA) over the metrics and the runtime model.
        """
        from ..tables import RunTable

        if not isinstance(table, RunTable):
            table = RunTable.read(check_path("table", table, must_exist=True))
        t0 = time.perf_counter()
        metrics = list(table.metrics if metrics is None else metrics)
        for m in metrics:
            check_choice("metric", m, table.metrics, "CurveSurrogate.fit", unknown=True)
        status = np.asarray(table.run_status, dtype=object)
        keep = status != "failed"
        if table.n_runs == 0 or not keep.any():
            raise InvalidValueError("table", str(table.path), "a run table with at least one "
                                    "run that did not fail", "CurveSurrogate.fit")
        self._set_layout(table.space)
        self.metrics = metrics
        declared = table.attrs.get("metric_info") or {}
        self.metric_info = {m: dict(declared[m]) for m in metrics
                            if isinstance(declared.get(m), dict)}
        self.static_names = list(table.static)
        self.max_epochs = int(table.max_epochs)
        path = table_path if table_path is not None else table.path
        self.table_info = {"name": Path(path).name if path else None,
                           "sha256": file_sha256(path) if path and Path(path).is_file()
                           else None,
                           "n_configs": int(table.n_configs), "n_runs": int(table.n_runs),
                           "seeds": [int(s) for s in table.seeds],
                           "max_epochs": self.max_epochs,
                           "provenance": {k: table.provenance.get(k) for k in
                                          ("dataset", "command", "split_of", "created")
                                          if k in table.provenance}}
        # the table's configs seed the search for the expected optimum written on save
        self._fit_configs = np.asarray(table.X, dtype=float).copy()
        self.optimum = None
        C, E = table.n_configs, table.max_epochs
        seeds = table.seeds
        S = len(seeds)
        rc = table.run_config[keep]
        rs = np.searchsorted(seeds, table.run_seed[keep])
        rn = table.run_n_epochs[keep].astype(int)
        rdiv = status[keep] == "diverged"
        ep = np.arange(E)
        after = ep[None, :] >= rn[:, None]  # epochs not recorded
        rng = np.random.default_rng(self.seed)

        # calibration split of configs
        n_cal = int(round(self.calibration_fraction * C)) if C >= 10 else 0
        perm = rng.permutation(C)
        cal = np.zeros(C, bool)
        cal[perm[:n_cal]] = True

        Xs = table.X
        self._models: dict[str, Any] = {}
        self.fill: dict[str, float] = {}
        self.clip: dict[str, list[float]] = {}
        self.epoch_clip: dict[str, list[list[float]]] = {}
        self.epoch_clip_mean: dict[str, list[list[float]]] = {}
        self.calib_var: dict[str, list[float]] = {}
        self.calib_level = {}
        dense_all: dict[str, np.ndarray] = {}
        for m in metrics:
            cur = table.curve(m)[keep].astype(np.float64)
            kind = self._kind(m)
            fin = cur[np.isfinite(cur) & ~after]
            if fin.size == 0:
                raise InvalidValueError("table", m, "a metric with at least one finite value",
                                        "CurveSurrogate.fit")
            if kind == "acc":
                fill = float(np.min(fin))
                lo_clip, hi_clip = 0.0, 1.0
            elif kind == "loss":
                fill = float(np.quantile(fin, self.loss_cap_quantile))
                cur = np.where(np.isfinite(cur) & (cur > fill), fill, cur)
                lo_clip, hi_clip = 0.0, math.inf
            else:
                # the worst value: a declared minimised metric's maximum, else the minimum
                fill = float(np.max(fin)) if self._goal(m) == "min" else float(np.min(fin))
                lo_clip, hi_clip = float(np.min(fin)), float(np.max(fin))
            bad = ~np.isfinite(cur) & ~after
            cur[bad] = fill
            cur[after & rdiv[:, None]] = fill
            self.fill[m] = fill
            self.clip[m] = [lo_clip, hi_clip]
            D = np.full((C, S, E), np.nan)
            D[rc, rs] = cur
            dense_all[m] = D
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                elo = np.nanmin(D, axis=(0, 1))
                ehi = np.nanmax(D, axis=(0, 1))
            elo = np.where(np.isfinite(elo), elo, lo_clip)
            ehi = np.where(np.isfinite(ehi), ehi, hi_clip)
            self.epoch_clip[m] = [elo.tolist(), ehi.tolist()]

        # the objective-like reference metric for shared seed noise
        ref = "valid_acc" if "valid_acc" in metrics else metrics[0]
        self.noise_ref = ref
        self._kernel_cache: dict[str, Any] = {}
        self.noise_corr: dict[str, float] = {}
        self.std_factor: dict[str, float] = {}
        self.std_mean_bounds: dict[str, list[float]] = {}
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(metrics) + 1, unit="model", desc=f"fit {self.model}")
        for m in [ref] + [x for x in metrics if x != ref]:  # the reference sets GP kernels
            if bar is not None:
                bar.set_postfix_str(m)
            D = dense_all[m]
            with np.errstate(invalid="ignore"):
                Y = np.nanmean(D, axis=1)  # (C, E)
            cnt = np.isfinite(D).sum(axis=1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mlo, mhi = np.nanmin(Y, axis=0), np.nanmax(Y, axis=0)
            self.epoch_clip_mean[m] = [np.where(np.isfinite(mlo), mlo, self.clip[m][0]).tolist(),
                                       np.where(np.isfinite(mhi), mhi, self.clip[m][1]).tolist()]
            cfg_i, ep_i = np.nonzero(np.isfinite(Y))
            F = self.features(Xs[cfg_i], ep_i + 1.0)
            y = Y[cfg_i, ep_i]
            # seed std model
            multi = cnt[cfg_i, ep_i] >= 2
            std_model = None
            n_typ = 2
            if multi.sum() >= 5:
                with np.errstate(invalid="ignore"):
                    sd = _nanstd1(D)[cfg_i, ep_i][multi]
                n_typ = int(np.median(cnt[cfg_i, ep_i][multi]))
                bounds = (float(np.nanmin(y)), float(np.nanmax(y)))
                self.std_mean_bounds[m] = list(bounds)
                std_model = self._new("std", bounds).fit(
                    self._std_features(F[multi], y[multi]), np.log(sd + _SD_EPS), self.seed)
            self.std_factor[m] = _log_sd_factor(max(n_typ, 2))
            # calibration: fit on non-held-out configs, measure residuals of seed values
            v = np.zeros(E)
            lvl = None
            self.calib_source[m] = "none"
            if n_cal and std_model is not None and (~cal[cfg_i]).sum() > 10:
                tr = ~cal[cfg_i]
                cal_model = self._fit_model("mean", F[tr], self._fwd(m, y[tr]))
                v, lvl = self._calibrate(m, cal_model, std_model, self.std_factor[m], D, cal,
                                         Xs, E)
                self.calib_source[m] = "held-out seed values (calibration split)"
            elif std_model is None and self.calibration_fraction > 0 and C >= 10:
                # no seed spread to calibrate on: model error alone, out of fold
                v, lvl = self._calibrate_oof(m, F, y, cfg_i, ep_i, C, E)
                self.calib_source[m] = ("out-of-fold model error (no seed information: one "
                                        "seed per config)")
            mean_model = self._fit_model("mean", F, self._fwd(m, y))
            self.calib_var[m] = v.tolist()
            if lvl is not None:
                self.calib_level[m] = lvl
            self._models[f"mean:{m}"] = mean_model
            if bar is not None:
                bar.update(1)
            if std_model is not None:
                self._models[f"std:{m}"] = std_model
            # correlation of seed differences with the reference metric
            if m == ref:
                self.noise_corr[m] = 1.0
            else:
                self.noise_corr[m] = self._seed_corr(dense_all[ref], D)

        # runtime: log mean epoch time per run, config-level model + cumulative profile
        self.static_exact = exact_static_setup(table)
        self.time_static_bounds = None
        if self.time_static:
            if self.static_exact is None:
                raise InvalidValueError(
                    "time_static", True, [False], "CurveSurrogate.fit",
                    hint="the table's static metrics are not those hasbench.spaces.static "
                         "computes for its space (an imported table, or no dataset_info)")
            st = self._time_in(Xs)[:, -2:]
            self.time_static_bounds = [[float(st[:, j].min()), float(st[:, j].max())]
                                       for j in range(2)]
        self.cost_metric = table.resolve_cost_metric(self._cost_request, "CurveSurrogate.fit")
        et = table.cost(metric=self.cost_metric)[keep]
        ct = table.cost(cumulative=True, metric=self.cost_metric)[keep]
        with np.errstate(invalid="ignore", divide="ignore"):
            et_rec = np.where(after, np.nan, et)
            mean_t = np.nanmean(et_rec, axis=1)
        okt = np.isfinite(mean_t) & (mean_t > 0)
        lrun = np.log(mean_t[okt])
        if self.time_detrend > 0:
            lrun = self._detrend_time(Xs, rc[okt], lrun, C)
        LT = np.full((C, S), np.nan)
        LT[rc[okt], rs[okt]] = lrun
        with np.errstate(invalid="ignore"):
            # log of the arithmetic seed mean (what a seed-mean query should return)
            lt_mean = np.log(np.nanmean(np.exp(LT), axis=1))
        if bar is not None:
            bar.set_postfix_str("runtime")
        has_t = np.isfinite(lt_mean)
        if not has_t.any():
            raise InvalidValueError("table", str(table.path), "runs with positive epoch times",
                                    "CurveSurrogate.fit")
        Fc = self._time_in(Xs[has_t])
        self._models["time"] = self._fit_model("time", Fc, lt_mean[has_t])
        cnt_t = np.isfinite(LT).sum(axis=1)
        if (cnt_t >= 2).sum() >= 5:
            with np.errstate(invalid="ignore"):
                sdt = _nanstd1(LT)
            mm = cnt_t >= 2
            self._models["std:time"] = self._new("static").fit(Xs[mm][:, self.search_cols],
                                                               np.log(sdt[mm] + _SD_EPS),
                                                               self.seed)
            self.std_factor["cum_time"] = _log_sd_factor(max(int(np.median(cnt_t[mm])), 2))
            # calibrate the predictive interval of log time on the hold-out configs
            ci = np.nonzero(cal & has_t)[0]
            tr_t = has_t & ~cal
            if ci.size >= 5 and tr_t.sum() > 10:
                tm = self._fit_model("time", self._time_in(Xs[tr_t]), lt_mean[tr_t])
                Fci = Xs[ci][:, self.search_cols]
                mu = tm.predict(self._time_in(Xs[ci]))[:, None]
                sdv = np.exp(self._models["std:time"].predict(Fci))[:, None] * \
                    self.std_factor["cum_time"]
                r = np.abs(LT[ci] - mu)
                ok = np.isfinite(r)
                sdb = np.broadcast_to(sdv, r.shape)[ok]
                self.calib_var["cum_time"] = [_solve_var(r[ok], sdb)]
                self.calib_source["cum_time"] = "held-out seed values (calibration split)"
        elif self.calibration_fraction > 0 and has_t.sum() >= 10:
            # no seed spread of the runtimes: out-of-fold error of the log seed-mean time
            hi = np.nonzero(has_t)[0]
            k = min(self.calibration_folds, hi.size)
            fold = np.random.default_rng(self.seed + 3).permutation(hi.size) % k
            r = np.full(hi.size, np.nan)
            for j in range(k):
                te, tr_ = hi[fold == j], hi[fold != j]
                if te.size and tr_.size > 10:
                    tm = self._fit_model("time", self._time_in(Xs[tr_]), lt_mean[tr_])
                    r[fold == j] = np.abs(lt_mean[te] - tm.predict(self._time_in(Xs[te])))
            ok = np.isfinite(r)
            if ok.sum() >= 5:
                self.calib_var["cum_time"] = [_solve_var(r[ok], np.zeros(int(ok.sum())))]
                self.calib_source["cum_time"] = ("out-of-fold model error (no seed "
                                                 "information: one seed per config)")
        full = (rn == E) & (status[keep] == "ok") & np.all(np.isfinite(ct), axis=1) & \
            (ct[:, -1] > 0)
        if full.any():
            prof = np.mean(ct[full] / ct[full, -1:], axis=0)
            prof = np.maximum.accumulate(np.clip(prof, 1e-9, 1.0))
            prof[-1] = 1.0
        else:
            prof = np.arange(1, E + 1) / E
        self.time_profile = prof
        # static metrics, config level
        self.static_log: dict[str, bool] = {}
        for s in self.static_names:
            v = np.asarray(table.static[s], float)
            okv = np.isfinite(v)
            if not okv.any():
                continue
            lg = bool(np.all(v[okv] >= 0))
            self.static_log[s] = lg
            tgt = np.log1p(v[okv]) if lg else v[okv]
            self._models[f"static:{s}"] = self._new("static").fit(
                Xs[okv][:, self.search_cols], tgt, self.seed)
        if bar is not None:
            bar.update(bar.total - bar.n)
            bar.close()
        self.fit_seconds = time.perf_counter() - t0
        self._mean_set = frozenset(self.metrics)
        self._fitted = True
        log.info("fitted %s surrogate on %d configs in %.1f s", self.model, C, self.fit_seconds)
        return self

    @staticmethod
    def _seed_corr(Dref: np.ndarray, D: np.ndarray) -> float:
        """Correlation of (seed a - seed b) differences between two metrics, pooled over
        configs and epochs; 0 when fewer than two seeds."""
        if D.shape[1] < 2:
            return 0.0
        a = (Dref[:, 0] - Dref[:, 1]).ravel()
        b = (D[:, 0] - D[:, 1]).ravel()
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() < 10 or a[ok].std() == 0 or b[ok].std() == 0:
            return 0.0
        return float(np.clip(np.corrcoef(a[ok], b[ok])[0, 1], -1.0, 1.0))

    def _kind(self, m: str) -> str:
        """``acc``/``loss``/``other``: declared (``metric_info``), else from the name."""
        info = self.metric_info.get(m) if self.metric_info else None
        return (info or {}).get("kind") or metric_kind(m)

    def _goal(self, m: str) -> str | None:
        """``min``/``max`` when declared or implied by the kind; None for undeclared
        ``other`` metrics."""
        info = self.metric_info.get(m) if self.metric_info else None
        if info and info.get("goal"):
            return info["goal"]
        return {"acc": "max", "loss": "min"}.get(self._kind(m))

    def _transform(self, m: str) -> str:
        """Fit scale of ``m``'s mean: the declared transform, else ``acc_transform`` for
        accuracies, ``loss_transform`` for losses, none for other metrics."""
        info = self.metric_info.get(m) if self.metric_info else None
        t = (info or {}).get("transform")
        if t:
            return t
        kind = self._kind(m)
        if kind == "acc":
            return self.acc_transform
        if kind == "loss":
            return self.loss_transform
        return "none"

    def _fwd(self, m: str, y: np.ndarray) -> np.ndarray:
        t = self._transform(m)
        if t == "logit":
            p = np.clip(y, 1e-3, 1 - 1e-3)
            return np.log(p / (1 - p))
        if t == "log":
            return np.log(np.maximum(y, 0.0) + 1e-4)
        return y

    def _inv(self, m: str, y: np.ndarray) -> np.ndarray:
        t = self._transform(m)
        if t == "logit":
            return 1.0 / (1.0 + np.exp(-y))
        if t == "log":
            return np.maximum(np.exp(y) - 1e-4, 0.0)
        return y

    def _epoch_clip(self, m: str, mu: np.ndarray, f: np.ndarray, mean: bool = False
                    ) -> np.ndarray:
        """Clip to the range of the table's values of ``m`` at each row's epoch (seed draws
        and extrapolation never leave what training produced there; ``mean=True``: the range
        of seed means, for the mean prediction), then to the metric's valid range."""
        lo, hi = self.clip[m]
        ec = (self.epoch_clip_mean if mean else self.epoch_clip).get(m)
        if ec is not None:
            e = np.clip(np.round(f).astype(np.intp) - 1, 0, len(ec[0]) - 1)
            mu = np.clip(mu, np.asarray(ec[0])[e], np.asarray(ec[1])[e])
        return np.clip(mu, lo, hi)

    def _calibrate_oof(self, m: str, F: np.ndarray, y: np.ndarray, cfg_i: np.ndarray,
                       ep_i: np.ndarray, C: int, E: int) -> np.ndarray:
        """Extra variance v(e) from model error alone (a table without seed spread): each
        config's values are predicted by a mean model fitted on the other folds of configs,
        and v(e) is the smallest variance whose 80% interval covers 80% of the out-of-fold
        absolute residuals at epoch e (the pooled residuals where an epoch has fewer than
        5)."""
        k = min(self.calibration_folds, C)
        fold = np.random.default_rng(self.seed + 2).permutation(C) % k
        fo = fold[cfg_i]
        r = np.full(y.size, np.nan)
        mu_oof = np.full(y.size, np.nan)
        for j in range(k):
            te = fo == j
            tr = ~te
            if not te.any() or tr.sum() <= 10:
                continue
            mdl = self._fit_model("mean", F[tr], self._fwd(m, y[tr]))
            mu = self._epoch_clip(m, self._inv(m, mdl.predict(F[te])), F[te, -1], mean=True)
            r[te] = np.abs(y[te] - mu)
            mu_oof[te] = mu
        ok = np.isfinite(r)
        v = np.zeros(E)
        if ok.sum() < 5:
            return v, None
        pooled = _solve_var(r[ok], np.zeros(int(ok.sum())))
        for e in range(E):
            sel = ok & (ep_i == e)
            v[e] = _solve_var(r[sel], np.zeros(int(sel.sum()))) if sel.sum() >= 5 else pooled
        n_cfg = int(np.unique(cfg_i[ok]).size)
        cells = [(mu_oof[ok & (ep_i == e)], r[ok & (ep_i == e)][:, None],
                  np.zeros((int((ok & (ep_i == e)).sum()), 1))) for e in range(E)]
        return v, self._level_calibration(cells, v, n_cfg)

    def _level_calibration(self, cells, v: np.ndarray, n_configs: int
                           ) -> dict[str, list[list[float]]] | None:
        """Model-error variance per bin of the predicted value at each epoch (see
        ``calibration_bins``): ``v(e, b) = k_b * v(e)``, one factor ``k_b`` per bin, the
        smallest whose 80% intervals cover 80% of the bin's held-out values pooled over
        every epoch (a bin at one epoch alone holds too few configs for a stable 80%
        quantile; pooling the epochs of a bin keeps the epoch profile ``v(e)`` and lets
        the level move the width). Bins are equal-count bins of the calibration configs'
        predictions at each epoch, at least 10 configs each. ``cells[e] = (mu (n,), r (n,
        S), s (n, S))``: the predicted value, absolute residuals of the seed values and
        seed std of each calibration config at epoch ``e``; ``v[e]`` the epoch's
        variance."""
        B = max(1, min(self.calibration_bins, n_configs // 10))
        if B < 2 or not np.any(v > 0):
            return None
        edges, rb, sb, vb = [], [[] for _ in range(B)], [[] for _ in range(B)], \
            [[] for _ in range(B)]
        for e, (mu, r, s) in enumerate(cells):
            q = np.quantile(mu, np.arange(1, B) / B) if mu.size else np.zeros(B - 1)
            b = np.searchsorted(q, mu, side="right")
            for j in range(B):
                rr, ss = r[b == j].ravel(), np.broadcast_to(s, r.shape)[b == j].ravel()
                ok = np.isfinite(rr) & np.isfinite(ss)
                rb[j].append(rr[ok])
                sb[j].append(ss[ok])
                vb[j].append(np.full(int(ok.sum()), v[e]))
            edges.append([float(x) for x in q])
        k = np.ones(B)
        for j in range(B):
            r_, s_, v_ = (np.concatenate(x[j]) for x in (rb, sb, vb))
            if r_.size < 20 or not np.any(v_ > 0):
                continue

            def cov(kk, r_=r_, s_=s_, v_=v_):
                return np.mean(r_ <= Z80 * np.sqrt(s_ ** 2 + kk * v_))

            lo, hi = 0.0, 1.0
            while cov(hi) < 0.8 and hi < 1e6:
                hi *= 2.0
            if cov(lo) >= 0.8:
                k[j] = 0.0
                continue
            for _ in range(50):  # bisection on a monotone coverage
                mid = 0.5 * (lo + hi)
                lo, hi = (lo, mid) if cov(mid) >= 0.8 else (mid, hi)
            k[j] = hi
        var = [[float(k[j] * v[e]) for j in range(B)] for e in range(len(cells))]
        return {"edges": edges, "var": var}

    def _calibrate(self, m, mean_model, std_model, factor, D, cal, X, E) -> np.ndarray:
        """Extra variance v(e) so that 80% intervals cover 80% of held-out seed values, and
        the same per bin of the predicted value (:meth:`_level_calibration`)."""
        ci = np.nonzero(cal)[0]
        v = np.zeros(E)
        cells = []
        cfg = np.repeat(ci, E)
        epi = np.tile(np.arange(E), ci.size)
        F = self.features(X[cfg], epi + 1.0)
        mu = self._epoch_clip(m, self._inv(m, mean_model.predict(F)), epi + 1.0, mean=True)
        sd = np.exp(std_model.predict(self._std_features(F, mu))).reshape(ci.size, E) * factor
        mu = mu.reshape(ci.size, E)
        for e in range(E):
            y = D[ci, :, e]  # (n_cal, S)
            r = np.abs(y - mu[:, e:e + 1])
            s = np.broadcast_to(sd[:, e:e + 1], y.shape)
            cells.append((mu[:, e], r, s))
            ok = np.isfinite(r)
            r, s = r[ok], s[ok]
            if r.size < 5:
                continue
            v[e] = _solve_var(r, s)
        return v, self._level_calibration(cells, v, ci.size)

    # ------------------------------------------------------------------ prediction
    @property
    def seed_information(self) -> dict[str, Any]:
        """Whether the training table told the seed spread: ``seed_spread`` is
        ``"modelled"`` (a spread model per metric, from configs with >= 2 seeds),
        ``"unknown: one seed per config"`` (no spread model: seed queries answer the mean,
        the seed interval has zero width and the predictive interval is model error alone)
        or ``"partly modelled"``; ``metrics_with_spread`` lists the modelled metrics."""
        self._check_fitted()
        per = {m: f"std:{m}" in self._models for m in self.metrics}
        spread = ("modelled" if all(per.values()) else "partly modelled" if any(per.values())
                  else "unknown: one seed per config")
        return {"seed_spread": spread, "metrics_with_spread": [m for m, v in per.items() if v],
                "training_seeds": len((self.table_info or {}).get("seeds") or [])}

    @property
    def output_metrics(self) -> list[str]:
        """Every metric :meth:`predict` answers: per-epoch metrics, ``cum_time``, statics."""
        self._check_fitted()
        return list(self.metrics) + ["cum_time"] + [
            s for s in self.static_names if f"static:{s}" in self._models
            or (self.static_exact and s in STATIC_METRICS)]

    @property
    def fidelity(self) -> Fidelity:
        """The fidelity range the surrogate answers: the space's fidelity capped at the
        training table's epochs (a surrogate fitted on 3-epoch curves answers 1..3; it does
        not extrapolate past what training produced)."""
        self._check_fitted()
        fid = self.space.fidelity
        if self.max_epochs >= fid.upper:
            return fid
        return dataclasses.replace(fid, upper=int(self.max_epochs) if fid.is_int
                                   else float(self.max_epochs))

    def _check_fidelity(self, f: np.ndarray, where: str) -> None:
        if f.size and not (f.min() >= self.space.fidelity.lower and f.max() <= self.max_epochs):
            fid = self.fidelity
            try:
                fid.validate(f, where=where)
            except FidelityError as exc:
                raise FidelityError(exc.parameter, exc.value, exc.allowed + (
                    " (the training table's curves)" if fid.upper < self.space.fidelity.upper
                    else ""), where) from None

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise InvalidValueError("surrogate", "unfitted", "a fitted surrogate",
                                    "CurveSurrogate", hint="call fit(table) or load a saved one")

    def _profile(self, f: np.ndarray) -> np.ndarray:
        E = self.max_epochs
        p = np.interp(f, np.arange(1, E + 1), self.time_profile)
        beyond = f > E
        if beyond.any():
            p = np.where(beyond, f / E, p)
        return p

    def _calib(self, m: str, f: np.ndarray, mu: np.ndarray | None = None) -> np.ndarray:
        """Model-error variance at fidelities ``f``: by the nearest epoch and the bin of the
        predicted value ``mu`` where the surrogate has a level calibration, else linear in
        the epoch."""
        lv = self.calib_level.get(m)
        if lv is not None and mu is not None:
            edges = np.asarray(lv["edges"], float)  # (E, B - 1)
            var = np.asarray(lv["var"], float)  # (E, B)
            e = np.clip(np.round(f).astype(np.intp) - 1, 0, var.shape[0] - 1)
            b = (np.asarray(mu, float)[:, None] >= edges[e]).sum(axis=1)
            return var[e, b]
        v = np.asarray(self.calib_var.get(m, []), float)
        if v.size == 0 or not v.any():
            return np.zeros_like(f)
        return np.interp(f, np.arange(1, v.size + 1), v)

    def predict(self, X: np.ndarray, fidelity: np.ndarray, metrics: Sequence[str],
                seed: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Vectorised prediction: one backend call per metric for all rows.

        Parameters
        ----------
        X : ndarray (n, d)
            Encoded, validated configs.
        fidelity : ndarray (n,)
            Fidelity per row.
        metrics : sequence of str
            Names from :attr:`output_metrics`.
        seed : None or ndarray (n,) int64
            ``None``: the seed mean; otherwise one seed's value (deterministic, consistent
            along the curve).

        Returns
        -------
        dict of str -> ndarray (n,)
        """
        self._check_fitted()
        f = np.asarray(fidelity, dtype=np.float64)
        self._check_fidelity(f, "CurveSurrogate.predict")
        out: dict[str, np.ndarray] = {}
        F = None
        Fc = None
        h = None
        z0 = None
        exact = None
        for m in metrics:
            if m in self._mean_set:
                if F is None:
                    F = self.features(X, f)
                mu = self._epoch_clip(m, self._inv(m, self._models[f"mean:{m}"].predict(F)),
                                      f, mean=True)
                if seed is not None and f"std:{m}" in self._models:
                    if z0 is None:  # (h may exist already: cum_time asked first)
                        if h is None:
                            h = row_hash(X[:, self.search_cols])
                        z0 = seed_normals(h, seed, 0)
                    sd = np.exp(self._models[f"std:{m}"].predict(self._std_features(F, mu))) \
                        * self.std_factor[m]
                    c = self.noise_corr.get(m, 0.0)
                    k = self.metrics.index(m) + 1
                    z = c * z0 + math.sqrt(max(0.0, 1.0 - c * c)) * seed_normals(h, seed, k)
                    mu = mu + z * sd
                out[m] = self._epoch_clip(m, mu, f)
            elif m == "cum_time":
                if Fc is None:
                    Fc = X[:, self.search_cols]
                if exact is None and self.time_static:
                    exact = self._exact_static(X)
                lt = self._models["time"].predict(self._time_in(X, exact))
                if seed is not None and "std:time" in self._models:
                    if h is None:
                        h = row_hash(X[:, self.search_cols])
                    sdt = np.exp(self._models["std:time"].predict(Fc)) * \
                        self.std_factor.get("cum_time", 1.0)
                    # lognormal seed factor with mean 1: seeds average to the mean
                    lt = lt + seed_normals(h, seed, 10_000) * sdt - 0.5 * sdt ** 2
                out[m] = np.maximum(self.max_epochs * np.exp(lt) * self._profile(f), 1e-9)
            elif self.static_exact and m in STATIC_METRICS and m in self.static_names:
                if exact is None:  # computed from the architecture, not predicted
                    exact = self._exact_static(X)
                out[m] = exact[m]
            elif f"static:{m}" in self._models:
                if Fc is None:
                    Fc = X[:, self.search_cols]
                v = self._models[f"static:{m}"].predict(Fc)
                out[m] = np.maximum(np.expm1(v), 0.0) if self.static_log.get(m) else v
            else:
                raise UnknownNameError("metric", m, self.output_metrics, "CurveSurrogate.predict")
        return out

    def predict_std(self, X: np.ndarray, fidelity: np.ndarray, metrics: Sequence[str],
                    kind: str = "seed") -> dict[str, np.ndarray]:
        """Standard deviation per row: ``kind="seed"`` the seed-to-seed spread;
        ``"predictive"`` adds the calibrated model-error variance. Per-epoch metrics only
        (``cum_time`` std is of ``log`` time)."""
        self._check_fitted()
        check_choice("kind", kind, ["seed", "predictive"], "CurveSurrogate.predict_std")
        f = np.asarray(fidelity, dtype=np.float64)
        self._check_fidelity(f, "CurveSurrogate.predict_std")
        F = self.features(X, f)
        out = {}
        for m in metrics:
            if m == "cum_time":
                Fc = X[:, self.search_cols]
                sdt = (np.exp(self._models["std:time"].predict(Fc))
                       * self.std_factor.get("cum_time", 1.0)
                       if "std:time" in self._models else np.zeros(len(f)))
                if kind == "predictive":
                    sdt = np.sqrt(sdt ** 2 + float((self.calib_var.get("cum_time") or [0.0])[0]))
                out[m] = sdt
                continue
            check_choice("metric", m, self.metrics, "CurveSurrogate.predict_std", unknown=True)
            mu = None
            if f"std:{m}" in self._models or (kind == "predictive" and m in self.calib_level):
                mu = self._epoch_clip(m, self._inv(m, self._models[f"mean:{m}"].predict(F)), f,
                                      mean=True)
            if f"std:{m}" in self._models:
                sd = np.exp(self._models[f"std:{m}"].predict(self._std_features(F, mu))) \
                    * self.std_factor[m]
            else:
                sd = np.zeros(len(f))
            if kind == "predictive":
                sd = np.sqrt(sd ** 2 + self._calib(m, f, mu))
            out[m] = sd
        return out

    # ------------------------------------------------------------------ persistence
    def manifest(self) -> dict[str, Any]:
        self._check_fitted()
        return _jsonable({
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "hasbench_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "model": self.model, "params": self.params,
            "calibration_fraction": self.calibration_fraction,
            "calibration_folds": self.calibration_folds,
            "calibration_bins": self.calibration_bins,
            "loss_cap_quantile": self.loss_cap_quantile, "seed": self.seed,
            "acc_transform": self.acc_transform, "loss_transform": self.loss_transform,
            "time_detrend": self.time_detrend, "time_detrend_level": self.time_detrend_level,
            "time_detrend_info": self.time_detrend_info,
            "time_static": self.time_static, "time_static_bounds": self.time_static_bounds,
            "cost_metric": self.cost_metric,
            "epoch_clip": self.epoch_clip, "epoch_clip_mean": self.epoch_clip_mean,
            "space": self.space.to_dict(),
            "metrics": self.metrics, "static": self.static_names,
            "metric_info": self.metric_info,
            "seed_information": self.seed_information,
            "static_log": self.static_log,
            "static_exact": self.static_exact,
            "output_metrics": self.output_metrics,
            "layout": {"columns": [self.space.names[i] for i in self.search_cols]
                       + [f"fidelity:{self.fidelity_name}"],
                       "search_cols": self.search_cols.tolist(),
                       "scale_lo": self.scale_lo, "scale_hi": self.scale_hi},
            "max_epochs": self.max_epochs,
            "training_table": self.table_info,
            "fill": self.fill, "clip": self.clip,
            "noise": {"reference": self.noise_ref, "corr": self.noise_corr,
                      "std_mean_bounds": self.std_mean_bounds,
                      "std_factor": self.std_factor, "calib_var": self.calib_var,
                      "calib_level": self.calib_level,
                      "calib_source": self.calib_source},
            "time_profile": self.time_profile,
            "fit_seconds": round(self.fit_seconds, 3),
        })

    def optimum_section(self) -> dict[str, dict]:
        """The manifest's ``"optimum"``: per per-epoch metric, the best expected
        (``seed=None``) loss at the maximum fidelity found by
        :func:`hasbench.benchmarks.optimum.search_optimum` from the training table's configs
        (see that module). Computed once (well under a second for the shipped surrogates)
        and cached; regret is measured against it."""
        self._check_fitted()
        if self.optimum is None:
            from ..benchmarks.optimum import search_optimum
            from ..benchmarks.surrogate import SurrogateBenchmark

            bench = SurrogateBenchmark(self, name="surrogate")
            ms = [m for m in self.metrics if m not in ("time", "cum_time")]
            self.optimum = search_optimum(bench, ms, getattr(self, "_fit_configs", None))
        return self.optimum

    def save(self, directory: str | os.PathLike) -> Path:
        """Write the surrogate to a new folder: model files plus ``manifest.json`` (with the
        SHA-256 of every model file). Refuses an existing non-empty folder."""
        self._check_fitted()
        d = check_path("directory", directory, where="CurveSurrogate.save")
        if d.exists() and (not d.is_dir() or any(d.iterdir())):
            raise InvalidValueError("directory", str(d), "a new or empty folder",
                                    "CurveSurrogate.save",
                                    hint="hasbench never overwrites files; choose a new path")
        d.mkdir(parents=True, exist_ok=True)
        man = self.manifest()
        models = {}
        files = {}
        sizes = {}
        for key, reg in self._models.items():
            stem = key.replace(":", "_")
            names = reg.save(d, stem)
            models[key] = {"stem": stem, "files": names, **_jsonable(reg.meta())}
            for n in names:
                files[n] = file_sha256(d / n)
                sizes[n] = (d / n).stat().st_size
        man["models"] = models
        man["files"] = files
        man["sizes"] = sizes  # checked on load before a file is read
        man["optimum"] = self.optimum_section()
        tmp = d / ".manifest.json.tmp"
        tmp.write_text(json.dumps(man, indent=1, sort_keys=True))
        os.replace(tmp, d / "manifest.json")
        self.path = d
        return d

    @classmethod
    def load(cls, directory: str | os.PathLike, table: str | os.PathLike | None = None,
             verify_table: bool = True, max_file_bytes: int = MAX_FILE_BYTES
             ) -> CurveSurrogate:
        """Load a saved surrogate, verifying everything it reads before it answers a query.

        - the manifest's values (types, ranges, lengths; a missing key is a
          :class:`~hasbench.errors.SchemaError` naming it);
        - every model file: a plain name listed in the manifest's ``files`` with its SHA-256
          (an empty or missing ``files`` map is an error), resolving to a regular file inside
          the folder (no absolute paths, ``..`` or symlinks leaving it), of the size the
          manifest records (or at most ``max_file_bytes`` for manifests without sizes),
          read once and hashed (:class:`SurrogateHashError` on a mismatch), then parsed from
          those bytes with its structure checked against the manifest (inputs, trees,
          outputs; see :mod:`hasbench.surrogates._verify`);
        - the training table's SHA-256, when ``table`` is given, or when a file of the
          recorded (plain) name lies next to the surrogate folder and ``verify_table``.

        Only JSON, UBJSON and npz files are read; no code runs. The hash guards against
        accidental or partial corruption; it is not a signature: a replaced model with a
        recomputed manifest loads (docs/surrogates.md, "What loading verifies")."""
        from ._verify import check_manifest, member_path, plain_name, read_member

        d = check_path("directory", directory, must_exist=True, where="CurveSurrogate.load")
        where = f"surrogate {d}"
        cap = check_int("max_file_bytes", max_file_bytes, 1, None, "CurveSurrogate.load")
        mp = d / "manifest.json"
        if not mp.is_file():
            raise SchemaError("directory", str(d), "a surrogate folder with manifest.json",
                              "CurveSurrogate.load")
        mpath = member_path(d, "manifest.json", "manifest.json", where)
        if mpath.stat().st_size > 64 << 20:
            raise SchemaError("size of manifest.json", mpath.stat().st_size,
                              "at most 64 MiB", where)
        try:
            man = json.loads(mpath.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise SchemaError("manifest.json", str(mp), "valid JSON", "CurveSurrogate.load",
                              hint=str(exc)) from None
        if not isinstance(man, dict) or man.get("format") != FORMAT \
                or man.get("format_version") != FORMAT_VERSION:
            fv = (man.get("format"), man.get("format_version")) if isinstance(man, dict) \
                else type(man).__name__
            raise SchemaError("format", fv, [(FORMAT, FORMAT_VERSION)], where)
        check_manifest(man, where)
        files = man["files"]
        sizes = man.get("sizes", {})
        for name in files:
            plain_name(name, "model file", where)
        tinfo = man.get("training_table", {})
        cand = None
        if table is not None:
            cand = check_path("table", table, must_exist=True, where="CurveSurrogate.load")
        elif verify_table and tinfo.get("name"):
            # only a plain file name next to the folder: never a path the manifest chose
            p = d.parent / plain_name(tinfo["name"], "training_table.name", where)
            cand = p if p.is_file() else None  # is_file follows links: regular files only
        if cand is not None and tinfo.get("sha256"):
            got = file_sha256(cand)
            if got != tinfo["sha256"]:
                raise SurrogateHashError("training table", str(cand),
                                         [f"a file of sha256 {tinfo['sha256']}"], where,
                                         hint=f"{cand} is not the table this surrogate was "
                                              "fitted on (refit, or pass verify_table=False)")
        try:
            obj = cls(man["model"], man.get("params"), man.get("calibration_fraction", 0.0),
                      man.get("loss_cap_quantile", 0.99), man.get("seed", 0),
                      acc_transform=man.get("acc_transform", "none"),
                      loss_transform=man.get("loss_transform", "none"),
                      time_detrend=man.get("time_detrend", 0),
                      # manifests written before the parameter existed used the median
                      time_detrend_level=man.get("time_detrend_level", 0.5),
                      time_static=bool(man.get("time_static", False)),
                      calibration_folds=man.get("calibration_folds", 5),
                      # manifests before 2026-12-02: one model-error variance per epoch
                      calibration_bins=man.get("calibration_bins", 1))
        except InvalidValueError as exc:
            raise SchemaError("manifest", exc.parameter, exc.allowed, where,
                              hint=str(exc)) from None
        # manifests before 2026-12-03 were fitted on wall seconds
        cm = man.get("cost_metric", "epoch_time")
        if cm not in COST_METRICS:
            raise SchemaError("manifest cost_metric", cm, list(COST_METRICS), where)
        obj.cost_metric = obj._cost_request = cm
        obj.time_detrend_info = man.get("time_detrend_info")
        obj.time_static_bounds = man.get("time_static_bounds")
        obj.optimum = man.get("optimum")
        try:
            space = Space.from_json(man["space"])
        except Exception as exc:  # noqa: BLE001 - any parse failure of untrusted JSON
            raise SchemaError("manifest space", type(exc).__name__, "a valid space "
                              "description", where, hint=str(exc)[:200]) from None
        try:
            from ..spaces import get_space

            reg = get_space(space.name)
            if reg == space:
                space = reg
        except KeyError:
            pass
        obj._set_layout(space)
        lay = man["layout"]
        if lay["search_cols"] != obj.search_cols.tolist():
            raise SchemaError("layout", lay["search_cols"], [obj.search_cols.tolist()], where)
        obj.metrics = list(man["metrics"])
        obj.static_names = list(man["static"])
        obj.static_log = {k: bool(v) for k, v in man.get("static_log", {}).items()}
        obj.static_exact = man.get("static_exact")  # absent in manifests before 2026-12-01
        if obj.static_exact and space.name not in exact_static_spaces():
            raise SchemaError("manifest static_exact", space.name,
                              sorted(exact_static_spaces()), where)
        if obj.time_static and not obj.static_exact:
            raise SchemaError("manifest time_static", True, [False], where,
                              hint="time_static needs static_exact")
        obj.max_epochs = int(man["max_epochs"])
        obj.table_info = tinfo
        obj.fill = man["fill"]
        obj.clip = {k: [(-math.inf if a is None else a), (math.inf if b is None else b)]
                    for k, (a, b) in man["clip"].items()}
        obj.epoch_clip = man.get("epoch_clip", {})
        obj.epoch_clip_mean = man.get("epoch_clip_mean", {})
        nz = man["noise"]
        obj.noise_ref = nz["reference"]
        obj.noise_corr = nz["corr"]
        obj.std_factor = nz["std_factor"]
        obj.std_mean_bounds = nz.get("std_mean_bounds", {})
        obj.calib_var = nz["calib_var"]
        obj.calib_level = dict(nz.get("calib_level") or {})
        obj.calib_source = dict(nz.get("calib_source") or {})
        mi = man.get("metric_info") or {}
        if not isinstance(mi, dict) or any(
                m not in obj.metrics or not isinstance(v, dict)
                or v.get("kind") not in (None, "acc", "loss", "other")
                or v.get("goal") not in (None, "min", "max")
                or v.get("transform") not in (None, "logit", "log", "none")
                for m, v in mi.items()):
            raise SchemaError("manifest metric_info", repr(mi)[:80], "per metric "
                              "{kind: acc|loss|other, goal: min|max, transform: "
                              "logit|log|none}", where)
        obj.metric_info = {m: dict(v) for m, v in mi.items()}
        obj.time_profile = np.asarray(man["time_profile"], float)
        obj.fit_seconds = float(man.get("fit_seconds", 0.0))
        k = obj.search_cols.size
        roles = {"mean": "mean", "std": "std", "time": "time", "static": "static"}
        obj._models = {}
        for key, meta in man["models"].items():
            head, _, tail = key.partition(":")
            if key == "time":
                n_in = k + (len(obj.time_static_bounds) if obj.time_static else 0)
            elif key == "std:time":
                n_in, head = k, "static"
            elif head in ("mean", "std") and tail in obj.metrics:
                n_in = k + 1 if head == "mean" else k + 2
                if head == "std" and tail not in obj.std_factor:
                    raise SchemaError("manifest noise.std_factor", "missing " + tail,
                                      "a factor for every spread model", where)
            elif head == "static" and tail in obj.static_names:
                n_in = k
            else:
                raise SchemaError("manifest models", key, "mean:/std:<metric>, time, std:time, "
                                  "static:<static metric>", where)
            if meta["role"] != roles[head]:
                raise SchemaError(f"manifest models.{key}.role", meta["role"], [roles[head]],
                                  where)
            name = meta["files"][0]
            data = read_member(d, name, files[name], sizes.get(name), cap, where)
            obj._models[key] = load_regressor(d, meta.get("stem", key), meta, data=data,
                                              n_inputs=n_in, where=where, cap=cap)
        used = {meta["files"][0] for meta in man["models"].values()}
        for name in files:  # listed but unused: still verified, as before
            if name not in used:
                read_member(d, name, files[name], sizes.get(name), cap, where)
        obj._mean_set = frozenset(obj.metrics)
        obj._fitted = True
        obj.path = d
        return obj


def load_surrogate(directory: str | os.PathLike, **kwargs: Any) -> CurveSurrogate:
    """See :meth:`CurveSurrogate.load`."""
    return CurveSurrogate.load(directory, **kwargs)
