"""Surrogate benchmark: a :class:`~hasbench.surrogates.CurveSurrogate` behind the
:class:`~hasbench.benchmarks.Benchmark` query API.

A query is one vectorised backend call per requested metric, whatever the number of rows.
``seed=None`` gives the seed mean; ``seed=s`` (any non-negative int) one seed's curve,
deterministic for (config, seed) and shifted consistently along the whole curve.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import check_float
from .base import Benchmark, restrict_fidelity

__all__ = ["SurrogateBenchmark"]


class SurrogateBenchmark(Benchmark):
    """Benchmark answered by a fitted surrogate.

    Parameters
    ----------
    surrogate : CurveSurrogate or path
        A fitted surrogate or a saved surrogate folder (manifest and model hashes are
        verified on load).
    name : str, optional
    table : path, optional
        Training table to verify the surrogate's recorded hash against.

    Examples
    --------
    >>> import hasbench
    >>> bench = hasbench.load("digits-hia-cnn")                        # doctest: +SKIP
    >>> bench.query({"n_conv_layers": 2, ...}, fidelity=27)            # doctest: +SKIP
    """

    def __init__(self, surrogate: Any, name: str | None = None,
                 table: str | os.PathLike | None = None, verify_table: bool = True):
        from ..surrogates import CurveSurrogate

        if not isinstance(surrogate, CurveSurrogate):
            surrogate = CurveSurrogate.load(surrogate, table=table, verify_table=verify_table)
        self.surrogate = surrogate
        # the fidelity range is the training table's (a 3-epoch table answers epochs 1..3)
        self.space = restrict_fidelity(surrogate.space, surrogate.max_epochs)
        if name is None:
            name = surrogate.path.name.removesuffix(".surrogate") if surrogate.path else \
                f"{surrogate.space.name}-surrogate"
        self.name = name
        self.metrics = surrogate.output_metrics

    @property
    def cost_metric(self) -> str:
        """The measured clock the surrogate's runtime model was fitted on (its manifest's
        ``cost_metric``: ``"cpu_time"`` or ``"epoch_time"`` = wall seconds ...)."""
        return str(self.surrogate.cost_metric)

    def _query_arrays(self, X, fidelity, seed, metrics):
        return self.surrogate.predict(X, fidelity, metrics, seed)

    def _optimum_entry(self, metric: str) -> dict:
        from ..errors import check_choice

        opt = self.surrogate.optimum
        if opt is None:
            # a manifest written before hasbench recorded optima: run the same search once
            # (without the table's configs, which need not be at hand) and keep it
            from .optimum import search_optimum

            ms = [m for m in self.surrogate.metrics if m not in ("time", "cum_time")]
            opt = search_optimum(self, ms)
            for v in opt.values():
                v["method"] += " (computed on load: the manifest records no optimum)"
            self.surrogate.optimum = opt
        check_choice("metric", metric, sorted(opt), f"{self.name}.optimum_loss")
        return opt[metric]

    def optimum_loss(self, metric: str | None = None) -> float:
        """The fixed expected optimum of ``metric`` (default: the objective) as a loss at
        the maximum fidelity: the best ``seed=None`` prediction found when the surrogate
        was saved (manifest ``"optimum"``; see :mod:`hasbench.benchmarks.optimum`)."""
        return float(self._optimum_entry(metric or self.objective)["loss"])

    def optimum_source(self, metric: str | None = None) -> str:
        e = self._optimum_entry(metric or self.objective)
        return f"surrogate manifest: {e['method']}"

    def std(self, configs: Any, fidelity: Any = None, metrics: Any = None,
            kind: str = "seed") -> dict[str, np.ndarray]:
        """Seed-to-seed (``kind="seed"``) or predictive (``"predictive"``: seed spread plus
        calibrated model error) standard deviation per row, ``{metric: (n,)}``. Per-epoch
        metrics only; for ``cum_time`` it is the std of ``log`` time."""
        X = self._to_array(configs)
        f = self._fidelity_array(X, fidelity)
        ms = self._metric_list(metrics if metrics is not None else self.surrogate.metrics)
        return self.surrogate.predict_std(X, f, ms, kind=kind)

    def interval(self, configs: Any, fidelity: Any = None, level: float = 0.8,
                 metrics: Any = None, kind: str = "predictive"
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Central ``level`` interval per row (normal approximation, clipped like the
        predictions): ``{metric: (low (n,), high (n,))}``."""
        from scipy.special import ndtri

        level = check_float("level", level, 0.0, 1.0, f"{self.name}.interval", low_open=True,
                            high_open=True)
        X = self._to_array(configs)
        f = self._fidelity_array(X, fidelity)
        ms = [m for m in self._metric_list(metrics if metrics is not None
                                           else self.surrogate.metrics) if m != "cum_time"]
        mu = self.surrogate.predict(X, f, ms)
        sd = self.surrogate.predict_std(X, f, ms, kind=kind)
        z = float(ndtri(0.5 + level / 2))
        out = {}
        for m in ms:
            lo, hi = self.surrogate.clip[m]
            out[m] = (np.clip(mu[m] - z * sd[m], lo, hi), np.clip(mu[m] + z * sd[m], lo, hi))
        return out
