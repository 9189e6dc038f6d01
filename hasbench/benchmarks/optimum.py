"""The fixed expected optimum a benchmark's regret is measured against.

Regret must be computed against one number per benchmark and metric, never against the
best value among whichever traces are loaded. Where that number comes from:

- synthetic benchmarks: exact (the planted optimum, :meth:`SyntheticBenchmark.optimum`);
- run tables (:class:`~hasbench.benchmarks.TabularBenchmark`): the best seed-mean loss at
  the maximum fidelity over the table's configs (a table answers nothing else); runs that
  diverged in any seed make that config's mean ``inf``;
- surrogates: the best *expected* (``seed=None``) loss at the maximum fidelity found by
  :func:`search_optimum` -- the training table's configs, a scrambled Sobol sample of the
  space and a coordinate-wise local search from the best points -- computed once when the
  surrogate is saved and stored in its ``manifest.json`` under ``"optimum"`` (with the
  method, its settings and the config found). A surrogate can predict a config outside its
  table to be better than every table config; the search is there so that no optimizer's
  incumbent beats the stored optimum in practice. If one ever does, regret goes negative
  and :func:`hasbench.results.load_traces` warns instead of hiding it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import check_int

__all__ = ["search_optimum", "record_optimum", "SEARCH_DEFAULTS"]

#: settings of :func:`search_optimum` used when a surrogate is saved
SEARCH_DEFAULTS = {"n_samples": 8192, "n_starts": 8, "grid": 17, "rounds": 6, "seed": 0}


def _at_top(bench: Any, X: np.ndarray, top: float) -> np.ndarray:
    sp = bench.space
    fid = sp.fidelity
    X = np.array(X, dtype=float, copy=True)
    if fid.in_config and fid.name in sp.names:
        X[:, sp.names.index(fid.name)] = top
    return X


def _losses(bench: Any, X: np.ndarray, metric: str, top: float) -> np.ndarray:
    out = bench._query_arrays(X, np.full(X.shape[0], top), None, [metric])[metric]
    return np.asarray(bench.to_loss(metric, np.asarray(out, dtype=float)), dtype=float)


def search_optimum(bench: Any, metrics: Sequence[str], configs: np.ndarray | None = None,
                   n_samples: int = SEARCH_DEFAULTS["n_samples"],
                   n_starts: int = SEARCH_DEFAULTS["n_starts"],
                   grid: int = SEARCH_DEFAULTS["grid"],
                   rounds: int = SEARCH_DEFAULTS["rounds"],
                   seed: int = SEARCH_DEFAULTS["seed"]) -> dict[str, dict[str, Any]]:
    """Best expected loss of each metric at the maximum fidelity, by search.

    Candidates: ``configs`` (encoded, e.g. the training table's), ``n_samples`` scrambled
    Sobol points (seed ``seed``); then, from the ``n_starts`` best distinct candidates,
    rounds of coordinate-wise search: every hyperparameter in turn is set to ``grid``
    evenly spaced unit-cube positions (every choice for categoricals and small integer
    ranges), keeping the best, until a round improves nothing or ``rounds`` is reached.
    A search of our own (the benchmark answers a whole batch in one vectorised call, so a
    deterministic batched coordinate search is cheaper here than a general optimiser).

    Returns ``{metric: {"loss", "config" (decoded), "method", "settings", "n_evaluated"}}``.
    """
    n_samples = check_int("n_samples", n_samples, 0, None, "search_optimum")
    n_starts = check_int("n_starts", n_starts, 1, None, "search_optimum")
    grid = check_int("grid", grid, 2, None, "search_optimum")
    rounds = check_int("rounds", rounds, 0, None, "search_optimum")
    sp = bench.space
    top = float(bench.fidelity.upper)
    parts = []
    if configs is not None and len(configs):
        parts.append(np.asarray(configs, dtype=float))
    if n_samples:
        parts.append(sp.sample_array(n_samples, np.random.default_rng(seed), method="sobol"))
    if not parts:
        parts.append(sp.sample_array(1, np.random.default_rng(seed)))
    cand = _at_top(bench, np.concatenate(parts), top)
    settings = {"n_table_configs": 0 if configs is None else int(len(configs)),
                "n_samples": n_samples, "n_starts": n_starts, "grid": grid,
                "rounds": rounds, "seed": seed, "fidelity": top}
    out: dict[str, dict[str, Any]] = {}
    for m in metrics:
        loss = _losses(bench, cand, m, top)
        n_eval = int(cand.shape[0])
        order = np.argsort(loss, kind="stable")
        starts: list[int] = []
        seen: set[bytes] = set()
        for i in order:
            key = cand[i].tobytes()
            if key not in seen and math.isfinite(loss[i]):
                seen.add(key)
                starts.append(int(i))
            if len(starts) == n_starts:
                break
        best_x = cand[order[0]].copy()
        best = float(loss[order[0]])
        for i in starts:
            x, v, k = _coordinate_search(bench, sp, cand[i], float(loss[i]), m, top, grid,
                                         rounds, seed)
            n_eval += k
            if v < best:
                best, best_x = v, x
        out[m] = {"loss": best, "config": sp.decode(best_x[None, :])[0],
                  "method": "search: table configs + Sobol sample + coordinate search, "
                            "expected (seed=None) loss at the maximum fidelity",
                  "settings": settings, "n_evaluated": n_eval}
    return out


def _coordinate_search(bench, sp, x0, v0, metric, top, grid, rounds, seed):
    rng_seed = seed
    x, v, n = x0.copy(), v0, 0
    fid = sp.fidelity
    fcol = sp.names.index(fid.name) if fid.in_config and fid.name in sp.names else None
    nch = sp.n_choices()
    for _ in range(rounds):
        improved = False
        for j in range(sp.dim):
            if j == fcol:
                continue
            u = sp.to_unit(x[None, :])[0]
            u = np.where(np.isnan(u), 0.5, u)
            k = int(nch[j])
            pts = (np.arange(k) + 0.5) / k if 0 < k <= 64 else \
                np.linspace(0.0, 1.0 - 1e-12, grid)
            U = np.repeat(u[None, :], pts.size, axis=0)
            U[:, j] = pts
            X = sp.from_unit(U)
            if sp._conditional:
                # a fixed generator: the same search on every machine and every call
                X = sp._apply_conditions(X, np.random.default_rng(rng_seed))
            X = _at_top(bench, X, top)
            lv = _losses(bench, X, metric, top)
            n += X.shape[0]
            i = int(np.argmin(lv))
            if lv[i] < v - 1e-15:
                v, x = float(lv[i]), X[i].copy()
                improved = True
        if not improved:
            break
    return x, v, n


def record_optimum(directory: Any, table: Any = None, overwrite: bool = False) -> dict:
    """Add the ``"optimum"`` section to a saved surrogate's ``manifest.json`` (surrogates
    saved by this version have it already; this upgrades older folders in place, the
    model files untouched). The search starts from ``table``'s configs (default: the
    training table named in the manifest, when it lies next to the folder). Refuses to
    replace an existing section unless ``overwrite``. Returns the section.

    ``python -m hasbench.benchmarks.optimum data/NAME.surrogate`` does the same."""
    import json
    import os
    from pathlib import Path

    from ..errors import InvalidValueError, check_path
    from ..surrogates import CurveSurrogate
    from ..tables import RunTable

    d = check_path("directory", directory, must_exist=True, where="record_optimum")
    sur = CurveSurrogate.load(d, table=table)
    mp = Path(d) / "manifest.json"
    man = json.loads(mp.read_text())
    if man.get("optimum") is not None and not overwrite:
        raise InvalidValueError("directory", str(d), "a surrogate without an optimum "
                                "section", "record_optimum", hint="pass overwrite=True")
    tpath = table
    if tpath is None:
        name = (man.get("training_table") or {}).get("name")
        cand = Path(d).parent / name if name else None
        tpath = cand if cand is not None and cand.is_file() else None
    if tpath is not None:
        sur._fit_configs = np.asarray(RunTable.read(tpath).X, dtype=float)
    sur.optimum = None
    section = sur.optimum_section()
    man["optimum"] = section
    tmp = mp.with_name(f".manifest.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(man, indent=1, sort_keys=True))
    os.replace(tmp, mp)
    return section


if __name__ == "__main__":  # pragma: no cover - thin CLI
    import sys

    for p in sys.argv[1:]:
        sec = record_optimum(p, overwrite="--overwrite" in sys.argv)
        print(p, {m: round(v["loss"], 6) for m, v in sec.items()})
