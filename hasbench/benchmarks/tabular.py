"""Tabular benchmark: exact lookups into a run table.

Semantics
---------
- A config is found when its search hyperparameters match a table config exactly (bit for
  bit in encoded form; a hand-typed log value one ulp off is canonicalised and retried).
  The in-config fidelity column (``hia-cnn``'s ``epochs``) is not part of the key: the
  table stores each config trained to the fidelity maximum, and a query reads that curve
  at the requested fidelity (or at the config's own ``epochs`` when ``fidelity=None``).
- ``seed=None``: the mean over the config's available seeds (NaN if any seed is NaN, i.e.
  diverged there; :meth:`~hasbench.benchmarks.Benchmark.to_loss` makes that ``inf``).
  ``seed=s``: the run of the config's ``s % k``-th available seed (sorted; ``k`` = number of
  seeds recorded for that config), so every non-negative seed is answered and seeds
  ``0..k-1`` are the recorded runs.
- ``cum_time``: the run's cumulative seconds of the table's cost clock
  (:attr:`RunTable.cost_metric`: CPU seconds where the table has them, else wall seconds;
  ``cost_metric=`` chooses another measured one); after a run stopped early (diverged), it is
  extended with the run's mean epoch time (the cost training would have taken), so it is
  monotone in the fidelity for every run.
- A config not in the table raises :class:`ConfigNotInTableError` naming the nearest table
  configs, unless ``fallback="surrogate"`` (then those rows are answered by a surrogate).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError, FidelityError, InvalidValueError, check_choice
from ..spaces.base import _canonical_log
from ..surrogates._hash import canonical_bits, row_hash
from .base import Benchmark, restrict_fidelity

__all__ = ["TabularBenchmark", "ConfigNotInTableError"]

log = logging.getLogger(__name__)


class ConfigNotInTableError(ConfigError):
    """A queried config is not in the run table. ``nearest`` holds the closest table
    configs (dicts), ``row`` the index of the offending query row."""

    def __init__(self, *args: Any, nearest: list | None = None, row: int | None = None,
                 **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.nearest = nearest or []
        self.row = row


class TabularBenchmark(Benchmark):
    """Exact lookups into a :class:`~hasbench.tables.RunTable`.

    Parameters
    ----------
    table : RunTable or path
    name : str, optional
        Benchmark name (default: the file stem).
    fallback : {None, "surrogate"}
        What to do with configs not in the table: raise (default) or ask a surrogate.
    surrogate : CurveSurrogate, SurrogateBenchmark or path, optional
        Surrogate for ``fallback="surrogate"``; when omitted an XGBoost surrogate is fitted
        on the table the first time it is needed.
    cost_metric : {None, "cpu_time", "epoch_time", "cuda_time"}
        The measured clock ``cum_time`` (the simulated clock) sums; ``None`` (default):
        the table's :attr:`~hasbench.tables.RunTable.cost_metric`. A clock some epoch of
        the table lacks is a :class:`SchemaError` naming ``cost_metric``.

    Examples
    --------
    >>> bench = TabularBenchmark("data/digits-hia-cnn.h5")           # doctest: +SKIP
    >>> bench.query(bench.table.configs[:3], fidelity=9)              # doctest: +SKIP
    """

    def __init__(self, table: Any, name: str | None = None, fallback: str | None = None,
                 surrogate: Any = None, cost_metric: str | None = None):
        from ..tables import RunTable

        if not isinstance(table, RunTable):
            from ..errors import check_path

            table = RunTable.read(check_path("table", table, must_exist=True,
                                             where="TabularBenchmark"))
        check_choice("fallback", fallback, [None, "surrogate"], "TabularBenchmark")
        self.table = table
        self.space = table.space
        self.name = name or (table.path.stem if table.path is not None else "table")
        self.fallback = fallback
        self._surrogate = surrogate
        #: the measured clock behind ``cum_time`` (the table's own unless chosen)
        self.cost_metric = table.resolve_cost_metric(cost_metric, "TabularBenchmark")
        self.metrics = list(table.metrics) + ["cum_time"] + list(table.static)
        self.max_epochs = int(table.max_epochs)
        fid = self.space.fidelity
        drop = {f.name for f in self.space.fidelities if f.in_config}
        self._cols = np.array([i for i, n in enumerate(self.space.names) if n not in drop],
                              dtype=np.intp)
        searched = set(self._cols.tolist())
        self._log_cols = [(j, self.space.kind(n) == "int") for j, n in enumerate(self.space.names)
                          if j in searched and self.space.kind(n) in ("float", "int")
                          and bool(getattr(self.space.configspace[n], "log", False))]
        self._build_index()
        self._build_arrays()
        if self.max_epochs < fid.upper:
            log.info("%s: table curves have %d epochs (the space allows up to %g): the "
                     "benchmark's fidelity range is 1..%d", self.name, self.max_epochs,
                     fid.upper, self.max_epochs)
            # optimizers, curve() and config checks stay within the table's curves
            self.space = restrict_fidelity(self.space, self.max_epochs)

    # ------------------------------------------------------------------ setup
    def _build_index(self) -> None:
        Xk = self.table.X[:, self._cols]
        h = row_hash(Xk)
        order = np.argsort(h, kind="stable")
        hs = h[order]
        dup = np.nonzero(hs[1:] == hs[:-1])[0]
        if dup.size:
            log.warning("%s: %d table configs differ only in the in-config fidelity; the "
                        "first of each is used", self.name, dup.size)
            keep = np.ones(hs.size, bool)
            keep[dup + 1] = False
            order, hs = order[keep], hs[keep]
        self._key_order = order
        self._key_sorted = hs
        self._key_bits = canonical_bits(Xk)

    def _build_arrays(self) -> None:
        t = self.table
        status = np.asarray(t.run_status, dtype=object)
        keep = status != "failed"
        C, E = t.n_configs, t.max_epochs
        seeds = t.seeds
        S = max(len(seeds), 1)
        rc = t.run_config[keep]
        rs = np.searchsorted(seeds, t.run_seed[keep])
        rn = t.run_n_epochs[keep].astype(int)
        avail = np.zeros((C, S), bool)
        avail[rc, rs] = True
        self._n_avail = avail.sum(axis=1)
        # slot of the k-th available seed of each config
        idx = np.argsort(~avail, axis=1, kind="stable")
        self._avail_idx = idx
        self._seeds = seeds
        after = np.arange(E)[None, :] >= rn[:, None]
        self._dense: dict[str, np.ndarray] = {}
        self._mean: dict[str, np.ndarray] = {}
        w = avail[:, :, None]
        n_av = np.maximum(self._n_avail, 1)[:, None]
        for m in t.metrics:
            D = np.full((C, S, E), np.nan)
            cur = t.curve(m)[keep].astype(np.float64)
            cur[after] = np.nan
            D[rc, rs] = cur
            self._dense[m] = D
            self._mean[m] = np.where(w, D, 0.0).sum(axis=1) / n_av
        ct = t.cost(cumulative=True, metric=self.cost_metric)[keep].astype(np.float64)
        et = np.where(after, np.nan, t.cost(metric=self.cost_metric)[keep])
        with np.errstate(invalid="ignore"):
            mean_t = np.nan_to_num(np.nanmean(et, axis=1), nan=0.0)
        last = ct[np.arange(ct.shape[0]), np.maximum(rn - 1, 0)]
        ext = last[:, None] + (np.arange(E)[None, :] - (rn[:, None] - 1)) * mean_t[:, None]
        ct = np.where(after, ext, ct)
        D = np.full((C, S, E), np.nan)
        D[rc, rs] = ct
        self._dense["cum_time"] = D
        self._mean["cum_time"] = np.where(w, D, 0.0).sum(axis=1) / n_av
        self._has_runs = self._n_avail > 0

    # ------------------------------------------------------------------ lookup
    def lookup(self, X: np.ndarray, missing: str = "raise") -> np.ndarray:
        """Table row of each encoded config ``(n, d)``; ``-1`` for configs not in the table
        when ``missing="ignore"``, else :class:`ConfigNotInTableError`."""
        X = np.asarray(X, dtype=np.float64)
        rows = self._find(X)
        bad = rows < 0
        if bad.any() and self._log_cols:
            # canonicalise hand-typed values (log values one ulp off) and retry, vectorised
            Xc = X[bad].copy()
            for j, is_int in self._log_cols:
                v = Xc[:, j]
                ok = ~np.isnan(v)
                if is_int:
                    v[ok] = np.log(np.round(np.exp(v[ok])))
                else:
                    v[ok] = _canonical_log(v[ok])
            rows[bad] = self._find(Xc)
            bad = rows < 0
        if bad.any() and missing == "raise":
            self._raise_missing(X, np.nonzero(bad)[0][0])
        return rows

    def _find(self, X: np.ndarray) -> np.ndarray:
        Xk = X[:, self._cols]
        h = row_hash(Xk)
        pos = np.searchsorted(self._key_sorted, h)
        pos = np.minimum(pos, max(self._key_sorted.size - 1, 0))
        if self._key_sorted.size == 0:
            return np.full(X.shape[0], -1, np.intp)
        rows = self._key_order[pos]
        ok = self._key_sorted[pos] == h
        ok &= np.all(self._key_bits[rows] == canonical_bits(Xk), axis=1)
        ok &= self._has_runs[rows]
        return np.where(ok, rows, -1)

    def nearest(self, x: np.ndarray, k: int = 3) -> list[dict]:
        """The ``k`` table configs closest to the encoded config ``x`` (unit-cube distance
        over the search hyperparameters)."""
        U = self.space.to_unit(self.table.X)[:, self._cols]
        u = self.space.to_unit(np.asarray(x, float)[None, :])[:, self._cols]
        U = np.where(np.isnan(U), -1.0, U)
        u = np.where(np.isnan(u), -1.0, u)
        d = np.sqrt(((U - u) ** 2).sum(axis=1))
        d = np.where(self._has_runs, d, np.inf)
        order = np.argsort(d, kind="stable")[:k]
        return [self.table.configs[i] for i in order if np.isfinite(d[i])]

    def _raise_missing(self, X: np.ndarray, r: int) -> None:
        cfg = self.space.decode(X[r:r + 1])[0]
        near = self.nearest(X[r])
        shown = "; ".join(str(c) for c in near)
        raise ConfigNotInTableError(
            "config", cfg, f"a config of the run table ({self.table.n_configs} configs)",
            f"{self.name}.query, row {r}",
            hint=f"nearest table configs: {shown}. Pass fallback='surrogate' to answer "
                 "configs outside the table from a surrogate (hasbench run: --benchmark "
                 f"table:{self.name})",
            nearest=near, row=int(r))

    # ------------------------------------------------------------------ query
    @property
    def surrogate(self):
        """The fallback surrogate (fitted on the table on first use if none was given)."""
        from ..surrogates import CurveSurrogate, load_surrogate

        s = self._surrogate
        if s is None:
            log.warning("%s: fitting an XGBoost fallback surrogate on the table (pass "
                        "surrogate=... to reuse a saved one)", self.name)
            s = CurveSurrogate("xgb", cost_metric=self.cost_metric).fit(self.table)
        elif isinstance(s, (str, os.PathLike)):
            s = load_surrogate(s)
        elif hasattr(s, "surrogate") and not isinstance(s, CurveSurrogate):
            s = s.surrogate
        self._surrogate = s
        return s

    def _query_arrays(self, X: np.ndarray, fidelity: np.ndarray, seed: np.ndarray | None,
                      metrics: Sequence[str]) -> dict[str, np.ndarray]:
        n = X.shape[0]
        if (fidelity > self.max_epochs).any():
            bad = float(fidelity[np.argmax(fidelity > self.max_epochs)])
            raise FidelityError(self.fidelity.name, bad,
                                f"an int in the range [1, {self.max_epochs}] (the table's "
                                "curves)", f"{self.name}.query")
        rows = self.lookup(X, missing="ignore" if self.fallback else "raise")
        miss = rows < 0
        e = np.round(fidelity).astype(np.intp) - 1
        out: dict[str, np.ndarray] = {}
        hit = ~miss
        rh, eh = rows[hit], e[hit]
        if seed is not None:
            sh = seed[hit]
            k = np.maximum(self._n_avail[rh], 1)
            slot = self._avail_idx[rh, sh % k]
        for m in metrics:
            v = np.full(n, np.nan)
            if m in self._dense:
                if seed is None:
                    v[hit] = self._mean[m][rh, eh]
                else:
                    v[hit] = self._dense[m][rh, slot, eh]
            elif m in self.table.static:
                v[hit] = self.table.static[m][rh]
            else:  # pragma: no cover - metrics validated by the base class
                raise InvalidValueError("metric", m, self.metrics, f"{self.name}.query")
            out[m] = v
        if miss.any():
            sur = self.surrogate
            ms = [m for m in metrics if m in sur.output_metrics]
            pred = sur.predict(X[miss], fidelity[miss], ms,
                               None if seed is None else seed[miss])
            for m in ms:
                out[m][miss] = pred[m]
        return out

    def optimum_loss(self, metric: str | None = None) -> float:
        """The fixed expected optimum of ``metric`` (default: the objective) as a loss: the
        best seed-mean at the maximum fidelity over the table's configs (a config that
        diverged in any seed counts as ``inf``). Computed from the table, cached."""
        metric = metric or self.objective
        cache = self.__dict__.setdefault("_optima", {})
        if metric not in cache:
            from ..errors import check_choice

            check_choice("metric", metric, self.metrics, f"{self.name}.optimum_loss",
                         unknown=True)
            X = np.asarray(self.table.X, dtype=float)
            top = float(self.fidelity.upper)
            v = self._query_arrays(X, np.full(X.shape[0], top), None, [metric])[metric]
            loss = self.to_loss(metric, np.asarray(v, dtype=float))
            best = float(np.min(loss)) if loss.size else float("inf")
            if self.fallback == "surrogate":
                # configs outside the table are answered by the surrogate, which may
                # predict one better than every table config: take its optimum too
                sec = self.surrogate.optimum_section()
                if metric in sec:
                    best = min(best, float(sec[metric]["loss"]))
            cache[metric] = best
        return cache[metric]

    def optimum_source(self, metric: str | None = None) -> str:
        src = "run table: best seed-mean at the maximum fidelity over the table's configs"
        if self.fallback == "surrogate":
            src += ", or the fallback surrogate's recorded optimum if lower"
        return src

    def __len__(self) -> int:
        return int(self._has_runs.sum())
