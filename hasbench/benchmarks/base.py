"""The one interface every benchmark (tabular, surrogate, synthetic) implements.

A benchmark answers "what would training config x for f epochs with seed s give?" for many
(config, fidelity) pairs in one call. Optimizers and the simulator only use this interface.

Conventions
-----------
- ``configs``: one dict, a list of dicts, a DataFrame, or an encoded array ``(n, d)``
  (see :class:`hasbench.spaces.Space`). Arrays are the fast path.
- ``fidelity``: a scalar or an array of length n (the space's first fidelity, e.g. epochs).
  For a space whose fidelity is a hyperparameter (``hia-cnn``'s ``epochs``),
  ``fidelity=None`` reads each config at its own value.
- ``seed``: ``None`` gives the seed-averaged (expected) answer; an int or an array of ints
  gives one seed's answer, deterministic for a given (config, seed) and consistent along the
  curve.
- Metric names: the run table's per-epoch metrics (``train_loss``, ``valid_acc`` ...),
  ``cum_time`` (cumulative training seconds up to the fidelity, monotone in the fidelity:
  the benchmark's simulated clock, :attr:`Benchmark.clock_metric`; which measured clock
  those seconds are, wall, CPU or CUDA time, is :attr:`Benchmark.cost_metric`),
  and the static metrics (``params``, ``flops`` ...).
- Direction: metrics ending in ``_acc`` are maximised, everything else minimised;
  :meth:`Benchmark.to_loss` turns any metric into a loss (lower is better).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import MAX_SEED, InvalidValueError, check_choice, check_real_array
from ..spaces import Fidelity, Space

__all__ = ["Benchmark", "maximize", "to_loss", "restrict_fidelity"]


def restrict_fidelity(space: Space, upper: float) -> Space:
    """``space`` with its (first) fidelity's upper bound lowered to ``upper``: the range a
    table collected with fewer epochs than the space allows (``collect --epochs 3``), and a
    surrogate fitted on it, can answer. An in-config fidelity hyperparameter (``hia-cnn``'s
    ``epochs``) is narrowed with it, so optimizers, ``curve`` and config validation all stay
    within the data. Encoded values and config ids do not change. Returns ``space`` itself
    when ``upper`` is not below the space's bound (shipped 27-epoch benchmarks keep the
    registered space)."""
    if not space.fidelities or upper >= space.fidelity.upper:
        return space
    fid = space.fidelity
    upper = int(upper) if fid.is_int else float(upper)
    if upper < fid.lower:
        raise InvalidValueError("upper", upper, f"a fidelity >= {fid.lower:g}",
                                "restrict_fidelity")
    d = space.to_dict()
    d["fidelities"][0]["upper"] = upper
    if fid.in_config:
        for hp in d["configspace"]["hyperparameters"]:
            if hp["name"] == fid.name:
                hp["upper"] = upper
                hp["default_value"] = min(hp["default_value"], upper)
    return Space.from_json(d)


def maximize(metric: str) -> bool:
    """True if larger values of ``metric`` are better (accuracies)."""
    return metric.endswith("_acc") or metric.endswith("accuracy") or metric in ("bleu",)


def to_loss(metric: str, values: np.ndarray) -> np.ndarray:
    """Map metric values to a loss to minimise: ``1 - acc`` for accuracies, ``-v`` for other
    maximised metrics, the value itself otherwise. NaN (diverged) becomes ``+inf``."""
    v = np.asarray(values, dtype=np.float64)
    if metric.endswith("_acc") or metric.endswith("accuracy"):
        out = 1.0 - v
    elif maximize(metric):
        out = -v
    else:
        out = v.copy()
    out[~np.isfinite(out)] = np.inf
    return out


class Benchmark(ABC):
    """Abstract benchmark. Subclasses implement :meth:`_query_arrays`.

    Attributes
    ----------
    name : str
    space : Space
    metrics : list of str
        Every metric :meth:`query` can return.
    objective : str
        Default metric optimizers use (``valid_acc``).
    clock_metric : str
        The metric whose seconds are the simulated clock: ``"cum_time"`` for every
        benchmark (``cost`` differences it; the simulator charges it).
    cost_metric : str
        Which measured per-epoch time those seconds are: ``"cpu_time"`` (CPU seconds of
        the training thread, load-independent), ``"epoch_time"`` (wall seconds; version-1
        tables and surrogates fitted before hasbench recorded the clock), ``"cuda_time"``
        (CUDA-event seconds), or ``"model"`` (a closed-form cost, synthetic benchmarks).
        Tables name theirs in :attr:`RunTable.cost_metric`; a surrogate records the one
        it was fitted on in its manifest.
    """

    name: str = "benchmark"
    space: Space
    metrics: list[str]
    objective: str = "valid_acc"
    clock_metric: str = "cum_time"
    cost_metric: str = "model"

    # ------------------------------------------------------------ to implement
    @abstractmethod
    def _query_arrays(self, X: np.ndarray, fidelity: np.ndarray, seed: np.ndarray | None,
                      metrics: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectorised core: ``X`` validated ``(n, d)``, ``fidelity`` validated float array
        ``(n,)``, ``seed`` ``None`` or int array ``(n,)``; return ``{metric: (n,) array}``."""

    #: Rows per :meth:`_query_arrays` call in :meth:`query`, :meth:`curve` and :meth:`cost`.
    #: Bigger queries are answered chunk by chunk, so their time grows linearly with the
    #: rows and their working memory (a surrogate's model inputs, about 0.8 kB a row on
    #: ``digits-hia-cnn``) stays that of one chunk; the answers are the same (benchmarks
    #: answer row by row).
    query_chunk_rows: int = 32768

    def _query_chunked(self, X: np.ndarray, fidelity: np.ndarray, seed: np.ndarray | None,
                       metrics: Sequence[str]) -> dict[str, np.ndarray]:
        n, c = X.shape[0], max(int(self.query_chunk_rows), 1)
        if n <= c:
            return self._query_arrays(X, fidelity, seed, metrics)
        out: dict[str, np.ndarray] = {}
        for i in range(0, n, c):
            part = self._query_arrays(X[i:i + c], fidelity[i:i + c],
                                      None if seed is None else seed[i:i + c], metrics)
            for m, v in part.items():
                if m not in out:
                    out[m] = np.empty(n, dtype=np.asarray(v).dtype)
                out[m][i:i + c] = v
        return out

    # ------------------------------------------------------------ public API
    @property
    def fidelity(self) -> Fidelity:
        """The benchmark's fidelity (the space's first)."""
        return self.space.fidelity

    @property
    def fidelities(self) -> tuple[Fidelity, ...]:
        return self.space.fidelities

    def _to_array(self, configs: Any) -> np.ndarray:
        import pandas as pd

        if isinstance(configs, np.ndarray) and configs.dtype != object:
            return self.space.check_array(configs, where=f"{self.name}.query")
        if isinstance(configs, (dict, pd.DataFrame)) or isinstance(configs, (list, tuple)):
            if isinstance(configs, (list, tuple)) and configs and not isinstance(configs[0],
                                                                                 dict):
                # rows of an encoded array (check_array refuses strings, bools, ragged rows)
                return self.space.check_array(configs, where=f"{self.name}.query")
            return self.space.encode(configs)
        raise InvalidValueError("configs", type(configs).__name__,
                                "a dict, a list of dicts, a DataFrame or an encoded array "
                                f"of shape (n, {self.space.dim})", f"{self.name}.query")

    def _fidelity_array(self, X: np.ndarray, fidelity: Any) -> np.ndarray:
        fid = self.fidelity
        n = X.shape[0]
        if fidelity is None:
            if fid.in_config:
                col = X[:, self.space.names.index(fid.name)]
                return np.round(col).astype(float)
            return np.full(n, float(fid.upper))
        # ints and floats only: a string ('9') or a bool is refused, not coerced
        f = check_real_array("fidelity", fidelity, f"{self.name}.query",
                             f"None, a number or a numeric array of shape ({n},)")
        if f.ndim == 0:  # checked as given, also when there are no rows to broadcast to
            f = np.full(n, float(fid.validate(f, where=f"{self.name}.query")))
        if f.shape != (n,):
            raise InvalidValueError("fidelity", f"array of shape {f.shape}",
                                    f"a scalar or an array of shape ({n},)", f"{self.name}.query")
        return fid.validate(f, where=f"{self.name}.query")

    def _seed_array(self, seed: Any, n: int) -> np.ndarray | None:
        if seed is None:
            return None
        allowed = f"None, an int in [0, 2**63 - 1], or an int array of shape ({n},)"
        try:
            s = np.asarray(seed)
        except (TypeError, ValueError, OverflowError):
            raise InvalidValueError("seed", seed, allowed, f"{self.name}.query") from None
        # bools and floats are refused; ints past int64 (numpy makes them uint64 or
        # objects) too, instead of wrapping around to negative seeds
        if s.dtype.kind not in "iu" or s.ndim > 1 or (s.ndim == 1 and s.shape != (n,)) \
                or (s < 0).any() or (s.dtype.kind == "u" and (s > MAX_SEED).any()):
            raise InvalidValueError("seed", seed, allowed, f"{self.name}.query")
        return np.broadcast_to(s, (n,)).astype(np.int64)

    def _metric_list(self, metrics: Any) -> list[str]:
        if metrics is None:
            return list(self.metrics)
        allowed = f"None, a metric name or a non-empty list of them: {self.metrics}"
        if isinstance(metrics, str):
            metrics = [metrics]
        elif isinstance(metrics, (Mapping, set, frozenset, bytes)) or not hasattr(
                metrics, "__iter__") or getattr(metrics, "ndim", 1) != 1:
            raise InvalidValueError("metrics", metrics, allowed, f"{self.name}.query")
        metrics = list(metrics)
        if not metrics:
            raise InvalidValueError("metrics", metrics, allowed, f"{self.name}.query")
        for m in metrics:
            check_choice("metric", m, self.metrics, f"{self.name}.query", unknown=True)
        return [str(m) for m in metrics]  # numpy strings as plain ones (the answers' keys)

    def query(self, configs: Any, fidelity: Any = None, seed: Any = None,
              metrics: Any = None, as_arrays: bool = False):
        """Answer many (config, fidelity) pairs in one vectorised call.

        Returns a DataFrame with one row per config (columns = metrics, plus ``fidelity``),
        or ``{metric: ndarray (n,)}`` when ``as_arrays=True``.
        """
        X = self._to_array(configs)
        f = self._fidelity_array(X, fidelity)
        s = self._seed_array(seed, X.shape[0])
        ms = self._metric_list(metrics)
        out = self._query_chunked(X, f, s, ms)
        if as_arrays:
            return out
        import pandas as pd

        df = pd.DataFrame(out)
        df.insert(0, self.fidelity.name, f)
        return df

    def curve(self, configs: Any, seed: Any = None, metrics: Any = None) -> dict[str, np.ndarray]:
        """Whole learning curves: ``{metric: (n_configs, n_fidelities)}`` over every integer
        fidelity value from min to max, in one call."""
        X = self._to_array(configs)
        fv = self.fidelity.values()
        n, k = X.shape[0], fv.shape[0]
        s = self._seed_array(seed, n)
        Xr = np.repeat(X, k, axis=0)
        fr = np.tile(fv.astype(float), n)
        sr = None if s is None else np.repeat(s, k)
        out = self._query_chunked(Xr, fr, sr, self._metric_list(metrics))
        return {m: v.reshape(n, k) for m, v in out.items()}

    def cost(self, configs: Any, from_fidelity: Any = 0, to_fidelity: Any = None,
             seed: Any = None) -> np.ndarray:
        """Seconds to continue training from ``from_fidelity`` to ``to_fidelity`` (0 means
        from scratch): ``cum_time(to) - cum_time(from)``, never negative; seconds of
        :attr:`cost_metric`'s clock."""
        X = self._to_array(configs)
        n = X.shape[0]
        to = self._fidelity_array(X, to_fidelity)
        s = self._seed_array(seed, n)
        fid = self.fidelity
        allowed = (f"0 (from scratch) or a fidelity in [{fid.lower:g}, {fid.upper:g}] "
                   f"(a scalar or an array of shape ({n},))")
        frm = check_real_array("from_fidelity", from_fidelity, f"{self.name}.cost", allowed)
        frm = np.full(n, float(frm)) if frm.ndim == 0 else frm
        if frm.shape != (n,):
            raise InvalidValueError("from_fidelity", f"array of shape {frm.shape}", allowed,
                                    f"{self.name}.cost")
        bad = ~np.isfinite(frm) | (frm < 0)  # NaN or a negative value is no "from scratch"
        if bad.any():
            raise InvalidValueError("from_fidelity", float(frm[np.argmax(bad)]), allowed,
                                    f"{self.name}.cost")
        if (frm > to).any():
            raise InvalidValueError("from_fidelity", float(frm[np.argmax(frm > to)]),
                                    "values <= to_fidelity", f"{self.name}.cost")
        pos = frm > 0
        if pos.any():
            try:
                fid.validate(frm[pos], where=f"{self.name}.cost")
            except InvalidValueError as exc:
                raise exc.with_parameter("from_fidelity") from None
        cm = self.clock_metric
        c_to = self._query_chunked(X, to, s, [cm])[cm]
        c_from = np.zeros(n)
        if pos.any():
            c_from[pos] = self._query_chunked(X[pos], frm[pos], None if s is None else s[pos],
                                              [cm])[cm]
        return np.maximum(c_to - c_from, 0.0)

    def to_loss(self, metric: str, values: np.ndarray) -> np.ndarray:
        """See :func:`to_loss`."""
        return to_loss(metric, values)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name!r}, space={self.space.name!r}, "
                f"fidelity={self.fidelity.name}[{self.fidelity.lower:g}..{self.fidelity.upper:g}],"
                f" metrics={len(self.metrics)})")
