"""Turning a run table, a benchmark or plain arrays into the data an analysis needs.

Shared by :mod:`hasbench.analysis.importance` and :mod:`hasbench.analysis.fidelity`.
A *source* is one of

- a :class:`~hasbench.tables.RunTable`, a path to a run table (``.h5``), or a
  :class:`~hasbench.benchmarks.TabularBenchmark` (its table is used, never its fallback);
- any other :class:`~hasbench.benchmarks.Benchmark` (a surrogate, a synthetic benchmark):
  configurations are sampled from its space and their expected values (``seed=None``)
  are queried;
- a benchmark name that :func:`hasbench.simulate.resolve_benchmark` accepts
  (``"digits-hia-cnn"`` is the shipped surrogate, ``"table:digits-hia-cnn"`` the table);
- a tuple ``(X, y)`` or ``(X, y, space)`` of arrays (importance only).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FidelityError, InvalidValueError, check_choice, check_int

__all__ = ["AnalysisData", "load_importance_data", "resolve_source"]

#: where an inactive (conditional) value sits in the unit-cube coding used by the analyses
INACTIVE_POS = -1.0


@dataclass
class AnalysisData:
    """Configurations and objective values ready for an importance analysis.

    Attributes
    ----------
    X : ndarray (n, d)
        Encoded configurations (the space's codec; NaN = inactive).
    U : ndarray (n, d)
        The same in the unit cube (:meth:`Space.to_unit`, so the uniform measure on
        ``[0, 1]^d`` is the space's sampling prior: log scale where declared, every integer
        and every choice with equal mass); NaN = inactive.
    y : ndarray (n,)
        Objective values (finite).
    names : list of str
        Hyperparameter of each column.
    categorical : ndarray of bool (d,)
        Unordered columns (categorical, constant).
    objective, fidelity, source : description of where the values came from.
    dropped : int
        Configurations left out because their objective was not finite.
    """

    X: np.ndarray
    U: np.ndarray
    y: np.ndarray
    names: list[str]
    categorical: np.ndarray
    objective: str | None = None
    fidelity: Any = None
    source: str = "arrays"
    dropped: int = 0
    info: dict = field(default_factory=dict)
    #: ``U`` with log hyperparameters mapped by value (``Space.to_unit(linear=True)``);
    #: ``None`` for array sources without a space (their ``U`` is linear already)
    U_linear: np.ndarray | None = None


def resolve_source(source: Any, where: str) -> tuple[str, Any]:
    """``("table", RunTable)``, ``("benchmark", Benchmark)`` or ``("arrays", tuple)``."""
    from ..benchmarks.base import Benchmark
    from ..benchmarks.tabular import TabularBenchmark
    from ..tables import RunTable

    if isinstance(source, RunTable):
        return "table", source
    if isinstance(source, TabularBenchmark):
        return "table", source.table
    if isinstance(source, Benchmark):
        return "benchmark", source
    if isinstance(source, tuple) and len(source) in (2, 3):
        return "arrays", source
    if isinstance(source, (str, os.PathLike)) and str(source):
        p = Path(os.path.expanduser(os.fspath(source)))
        if p.is_file():
            return "table", RunTable.read(p)
        if str(source).endswith(".h5"):
            raise InvalidValueError("source", str(source), "an existing run table file, a "
                                    "benchmark name or a Benchmark", where,
                                    hint="the file does not exist")
        from ..simulate import resolve_benchmark

        bench = resolve_benchmark(str(source))
        if isinstance(bench, TabularBenchmark):
            return "table", bench.table
        return "benchmark", bench
    raise InvalidValueError("source", type(source).__name__,
                            "a RunTable, a path to a run table (.h5), a Benchmark, a benchmark "
                            "name, or a tuple (X, y) / (X, y, space)", where)


def default_objective(metrics: list[str]) -> str:
    return "valid_acc" if "valid_acc" in metrics else metrics[0]


def check_fidelity_value(fid, value: Any, upper: float, where: str,
                         parameter: str = "fidelity") -> float:
    """``value`` as a float inside ``[fid.lower, upper]`` (integral for an integer fidelity);
    :class:`FidelityError` naming ``parameter`` otherwise."""
    kind = "an int" if fid.is_int else "a float"
    allowed = f"{kind} in the range [{fid.lower:g}, {upper:g}] ({fid.name})"
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise FidelityError(parameter, value, allowed, where) from None
    if not np.isfinite(v) or v < fid.lower or v > upper or (fid.is_int and v != round(v)):
        shown = int(v) if np.isfinite(v) and v == round(v) else value
        raise FidelityError(parameter, shown, allowed, where)
    return v


def table_values(table, objective: str, epochs: np.ndarray, training_seed: Any = None,
                 per_seed: bool = False):
    """Objective of every config of ``table`` at epoch ``epochs[c]`` (1-based, one per
    config): the mean over its runs (failed runs excluded; diverged runs count with what
    they recorded), or with ``per_seed`` an ``(n_configs, n_seeds)`` array (NaN where a
    run is missing). ``training_seed`` restricts to those seeds."""
    cur = table.curve(objective)
    status = np.asarray(table.run_status, dtype=object)
    keep = status != "failed"
    seeds = table.seeds
    if training_seed is not None:
        want = np.atleast_1d(np.asarray(training_seed))
        bad = [int(s) for s in want if int(s) not in set(seeds.tolist())]
        if bad:
            raise InvalidValueError("training_seed", bad[0], [int(s) for s in seeds],
                                    f"run table {table.path}",
                                    hint="the table has no runs with this seed")
        keep &= np.isin(table.run_seed, want)
        seeds = np.unique(want)
    rows = np.nonzero(keep)[0]
    cfg = table.run_config[rows]
    e = np.asarray(epochs, dtype=np.intp)[cfg] - 1
    v = cur[rows, e].astype(np.float64)
    if per_seed:
        out = np.full((table.n_configs, len(seeds)), np.nan)
        out[cfg, np.searchsorted(seeds, table.run_seed[rows])] = v
        return out, seeds
    ok = np.isfinite(v)
    s = np.bincount(cfg[ok], weights=v[ok], minlength=table.n_configs)
    c = np.bincount(cfg[ok], minlength=table.n_configs)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1), np.nan), seeds


def load_importance_data(source: Any, fidelity: Any = None, objective: str | None = None,
                         training_seed: Any = None, n_samples: int = 2048, seed: int = 0,
                         where: str = "importance") -> AnalysisData:
    """Configurations and objective values of ``source`` (see the module docstring).

    Parameters
    ----------
    fidelity : float, optional
        Where to read the objective. ``None``: the benchmark convention, i.e. each config
        at its own value for a space whose fidelity is a hyperparameter (``hia-cnn``'s
        ``epochs``), else the largest fidelity (for a table, its last recorded epoch). With a
        value, every config is read there and an in-config fidelity hyperparameter is left
        out of the analysis (it no longer changes the result). [hasbench's choice]
    objective : str, optional
        Metric to analyse (default ``valid_acc``).
    training_seed : int or list of int, optional
        Table: only runs with these seeds (default: mean over all seeds). Benchmark: that
        seed's answer instead of the expected value.
    n_samples : int
        Benchmark sources: number of configurations sampled uniformly from the space.
    seed : int
        Benchmark sources: seed of the configuration sample.
    """
    kind, obj = resolve_source(source, where)
    if kind == "arrays":
        if fidelity is not None:
            raise InvalidValueError("fidelity", fidelity, "None for array sources", where,
                                    hint="arrays already hold one value per config")
        return _from_arrays(obj, where)
    if kind == "table":
        return _from_table(obj, fidelity, objective, training_seed, where)
    return _from_benchmark(obj, fidelity, objective, training_seed, n_samples, seed, where)


def _finish(X, y, space, names, drop_cols, objective, fidelity, source, where, info=None):
    keep_cols = [j for j, n in enumerate(names) if n not in drop_cols]
    ok = np.isfinite(y)
    if ok.sum() < 3:
        raise InvalidValueError("source", source, "at least 3 configurations with a finite "
                                f"{objective or 'objective'}", where,
                                hint=f"found {int(ok.sum())}")
    U = space.to_unit(X) if space is not None else _minmax(X)
    cat = space.is_categorical() if space is not None else np.zeros(X.shape[1], bool)
    UL = space.to_unit(X, linear=True)[ok][:, keep_cols] if space is not None else None
    return AnalysisData(X=X[ok][:, keep_cols], U=U[ok][:, keep_cols], y=y[ok], U_linear=UL,
                        names=[names[j] for j in keep_cols], categorical=cat[keep_cols],
                        objective=objective, fidelity=fidelity, source=source,
                        dropped=int((~ok).sum()), info=dict(info or {}))


def _minmax(X: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        lo = np.nanmin(np.where(np.isnan(X), np.inf, X), axis=0)
        hi = np.nanmax(np.where(np.isnan(X), -np.inf, X), axis=0)
    span = np.where(np.isfinite(hi - lo) & (hi > lo), hi - lo, 1.0)
    U = (X - np.where(np.isfinite(lo), lo, 0.0)) / span
    const = ~(np.isfinite(hi - lo) & (hi > lo))
    U[:, const] = np.where(np.isnan(X[:, const]), np.nan, 0.5)
    return np.clip(U, 0.0, 1.0)


def _from_arrays(arrs: tuple, where: str) -> AnalysisData:
    import pandas as pd

    from ..spaces import Space, get_space

    X, y = arrs[0], arrs[1]
    space = arrs[2] if len(arrs) == 3 else None
    if isinstance(space, str):
        space = get_space(space)
    if space is not None and not isinstance(space, Space):
        raise InvalidValueError("space", type(space).__name__, "a Space, a space name or None",
                                where)
    if space is not None:
        if isinstance(X, np.ndarray) and X.dtype != object:
            X = space.check_array(X, where=where)
        else:
            X = space.encode(X)
        names = list(space.names)
    else:
        if isinstance(X, pd.DataFrame):
            names = [str(c) for c in X.columns]
            X = X.to_numpy(dtype=np.float64)
        else:
            try:
                X = np.asarray(X, dtype=np.float64)
            except (TypeError, ValueError):
                raise InvalidValueError("X", type(X).__name__, "a numeric array (n, d), or "
                                        "configs with a space", where) from None
            names = [f"x{j}" for j in range(X.shape[1])] if X.ndim == 2 else []
        if X.ndim != 2 or X.shape[1] == 0:
            raise InvalidValueError("X.shape", X.shape, "(n, d) with d >= 1", where)
        if np.isinf(X).any():
            raise InvalidValueError("X", "inf", "finite values or NaN (inactive)", where)
    try:
        y = np.asarray(y, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InvalidValueError("y", type(y).__name__, "a numeric array (n,)", where) from None
    if y.shape[0] != X.shape[0]:
        raise InvalidValueError("y", f"{y.shape[0]} values", f"{X.shape[0]} values (one per "
                                "row of X)", where)
    return _finish(X, y, space, names, set(), None, None, "arrays", where)


def _in_config(space):
    try:
        fid = space.fidelity
    except InvalidValueError:
        return None, None
    return fid, (fid.name if fid.in_config and fid.name in space.names else None)


def _from_table(table, fidelity, objective, training_seed, where) -> AnalysisData:
    space = table.space
    objective = default_objective(table.metrics) if objective is None else objective
    check_choice("objective", objective, table.metrics, where, unknown=True)
    fid, inconf = _in_config(space)
    E = table.max_epochs
    drop: set[str] = set()
    if fidelity is None:
        if inconf is not None:
            col = np.round(table.X[:, space.names.index(inconf)])
            epochs = np.clip(np.nan_to_num(col, nan=E), 1, E).astype(np.intp)
        else:
            epochs = np.full(table.n_configs, E, np.intp)
    else:
        upper = min(float(fid.upper), float(E)) if fid is not None else float(E)
        if fid is None:
            f = check_int("fidelity", fidelity, 1, E, where)
        else:
            f = check_fidelity_value(fid, fidelity, upper, where)
        epochs = np.full(table.n_configs, int(round(f)), np.intp)
        fidelity = f
        if inconf is not None:
            drop.add(inconf)
    y, _ = table_values(table, objective, epochs, training_seed)
    name = table.path.name if table.path is not None else "run table"
    return _finish(table.X, y, space, list(space.names), drop, objective, fidelity,
                   f"table {name}", where, {"n_configs": table.n_configs})


def _from_benchmark(bench, fidelity, objective, training_seed, n_samples, seed,
                    where) -> AnalysisData:
    space = bench.space
    objective = bench.objective if objective is None else objective
    check_choice("objective", objective, bench.metrics, where, unknown=True)
    n_samples = check_int("n_samples", n_samples, 3, None, where)
    fid, inconf = _in_config(space)
    drop: set[str] = set()
    if fidelity is not None:
        upper = float(fid.upper)
        if hasattr(bench, "max_epochs"):
            upper = min(upper, float(bench.max_epochs))
        fidelity = check_fidelity_value(fid, fidelity, upper, where)
        if inconf is not None:
            drop.add(inconf)
    if training_seed is not None:
        training_seed = check_int("training_seed", training_seed, 0, None, where)
    X = space.sample_array(n_samples, np.random.default_rng(seed))
    y = np.asarray(bench.query(X, fidelity=fidelity, seed=training_seed, metrics=[objective],
                               as_arrays=True)[objective], dtype=np.float64)
    return _finish(X, y, space, list(space.names), drop, objective, fidelity,
                   f"benchmark {bench.name}", where, {"n_samples": n_samples})
