"""Bring your own runs, and take hasbench tables elsewhere.

- :func:`import_tidy`: a tidy CSV/parquet/DataFrame (one row per config x seed x fidelity
  step) -> a hasbench run table. The space is given, or built from the columns by
  :func:`space_from_frame`.
- :func:`export_synetune`: a run table -> Syne Tune's blackbox-repository layout
  (``blackbox_tabular.serialize``): ``hyperparameters.parquet``, ``objectives_evaluations.npy``
  (float32, shape ``(n_tasks=1, n_configs, n_seeds, n_fidelities, n_objectives)``, saved with
  ``allow_pickle=False``), ``fidelities_values.npy``, ``configspace.json``,
  ``fidelityspace.json`` and ``metadata.json``.
- :func:`split_table`: a deterministic split of a table's configs into two new tables
  (fit on one, validate on the other).

Fidelity of imported tables: the sorted distinct values of the fidelity column become steps
``1..K`` (the run table's epoch axis); the original values are kept in the space metadata
(``fidelity_values``) and the table attrs. Curves may have different lengths (a run's
``n_epochs`` is its last recorded step; gaps inside are NaN). NaN/inf metric values are kept
and mark the run ``"diverged"``. Without a runtime column every step costs 1 (unit cost,
recorded in the table attrs).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidValueError, UnknownNameError, check_choice, check_float, check_path
from ..spaces import Fidelity, Space, get_space
from .runtable import Run, RunTable, write_table

__all__ = ["import_tidy", "read_tidy", "space_from_frame", "export_synetune", "split_table"]

log = logging.getLogger(__name__)


def read_tidy(source: Any, where: Mapping[str, Any] | None = None):
    """Read a tidy CSV (``.csv``, ``.csv.gz``), parquet file or DataFrame; keep rows whose
    columns equal the values in ``where``."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        df = source
    else:
        p = check_path("source", source, must_exist=True, where="read_tidy")
        name = p.name.lower()
        if name.endswith((".parquet", ".pq")):
            try:
                df = pd.read_parquet(p)
            except ImportError as exc:  # pragma: no cover - depends on install
                raise InvalidValueError("source", str(p), "a CSV file (parquet needs pyarrow: "
                                        "pip install 'hasbench[parquet]')", "read_tidy",
                                        hint=str(exc)) from None
        elif name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
            df = pd.read_csv(p, sep="\t" if ".tsv" in name else ",")
        else:
            raise InvalidValueError("source", str(p), "a .csv, .csv.gz, .tsv or .parquet file",
                                    "read_tidy")
    for col, val in (where or {}).items():
        if col not in df.columns:
            raise UnknownNameError("column", col, list(df.columns), "read_tidy where")
        df = df[df[col].astype(str) == str(val)] if not isinstance(val, (list, tuple)) \
            else df[df[col].astype(str).isin([str(v) for v in val])]
    return df


def _round_sig(x: float, direction: int, sig: int = 6) -> float:
    """``x`` rounded to ``sig`` significant digits, down (``direction=-1``) or up (+1)."""
    if x == 0 or not math.isfinite(x):
        return x
    dec = sig - 1 - math.floor(math.log10(abs(x)))
    f = 10.0 ** dec
    return (math.floor(x * f) if direction < 0 else math.ceil(x * f)) / f


def space_from_frame(df, columns: Sequence[str], fidelity: str, n_steps: int,
                     name: str = "imported", log_span: float = 100.0,
                     metadata: Mapping[str, Any] | None = None) -> Space:
    """Build a :class:`~hasbench.spaces.Space` from config columns.

    Numeric columns become floats, or integers when every value is integral; a positive
    column spanning more than ``log_span`` (default two decades) is log-scaled; bounds are
    the observed min/max, floats rounded outwards to 6 significant digits. A column with one value becomes a constant. Other columns become
    categoricals over their sorted distinct values (as strings). The fidelity is
    ``Fidelity(fidelity, 1, n_steps)``.
    """
    import ConfigSpace as CS
    import pandas as pd

    hps = []
    for c in columns:
        s = df[c]
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            if s.isna().any():
                raise InvalidValueError(f"column {c!r}", "missing values",
                                        "complete config columns", "space_from_frame",
                                        hint="pass a Space with conditions for inactive values")
            vals = sorted({str(v) for v in s.unique()})
            hps.append(CS.Constant(c, vals[0]) if len(vals) == 1
                       else CS.CategoricalHyperparameter(c, vals, default_value=vals[0]))
            continue
        v = s.to_numpy(dtype=float)
        if not np.isfinite(v).all():
            raise InvalidValueError(f"column {c!r}", "NaN/inf values", "finite config values",
                                    "space_from_frame",
                                    hint="pass a Space with conditions for inactive values")
        lo, hi = float(v.min()), float(v.max())
        integral = bool(np.all(v == np.round(v)))
        if lo == hi:
            hps.append(CS.Constant(c, int(lo) if integral else lo))
            continue
        logs = lo > 0 and hi / lo > log_span
        if integral:
            dflt = int(round(math.sqrt(lo * hi))) if logs else int(round((lo + hi) / 2))
            hps.append(CS.UniformIntegerHyperparameter(c, int(lo), int(hi), log=logs,
                                                       default_value=min(max(dflt, int(lo)),
                                                                         int(hi))))
        else:
            dflt = math.sqrt(lo * hi) if logs else (lo + hi) / 2
            lo2, hi2 = _round_sig(lo, -1), _round_sig(hi, 1)
            for _ in range(20):  # ConfigSpace may round bounds: widen until they cover
                hp = CS.UniformFloatHyperparameter(c, lo2, hi2, log=logs, default_value=dflt)
                if float(hp.lower) <= lo and float(hp.upper) >= hi:
                    break
                lo2 = lo2 - abs(lo2) * 1e-5 if not logs else lo2 * (1 - 1e-5)
                hi2 = hi2 + abs(hi2) * 1e-5
            hps.append(hp)
    cs = CS.ConfigurationSpace(name=name)
    cs.add(hps)
    meta = dict(metadata or {})
    return Space(name, "1.0", cs, [Fidelity(fidelity, 1, int(n_steps), True, False)],
                 order=list(columns), metadata=meta,
                 description=f"imported from tidy data ({len(columns)} config columns)")


def import_tidy(source: Any, out: str | os.PathLike, *, metrics: Sequence[str],
                fidelity: str = "epoch", seed: str | None = None,
                config: Sequence[str] | None = None, ignore: Sequence[str] = (),
                space: Space | str | None = None, time: str | None = None,
                cum_time: str | None = None, static: Sequence[str] = (),
                where: Mapping[str, Any] | None = None, run_id: str | None = None,
                duplicates: str = "error", space_name: str | None = None,
                provenance: Mapping[str, Any] | None = None) -> RunTable:
    """Import tidy learning-curve data into a new run table.

    Parameters
    ----------
    source : path or DataFrame
        ``.csv``/``.csv.gz``/``.parquet`` file or a DataFrame, one row per (config, seed,
        fidelity step).
    out : path
        New ``.h5`` file (never overwritten).
    metrics : sequence of str
        Per-step metric columns (e.g. ``["valid_loss", "test_loss"]``).
    fidelity : str
        Fidelity column (epochs, checkpoints ...).
    seed : str, optional
        Seed column; without it every config has one run (seed 0), see ``duplicates``.
    config : sequence of str, optional
        Config columns; default: every other column except ``ignore``.
    ignore : sequence of str
        Columns to drop (ids, derived values).
    space : Space or str, optional
        Use this space (values must be valid in it); default: built by
        :func:`space_from_frame`.
    time, cum_time : str, optional
        Per-step seconds, or cumulative seconds (differenced); default unit cost per step.
    static : sequence of str
        Per-config static metrics (params, flops ...); must be constant within a config.
    where : dict, optional
        Row filter ``{column: value}`` applied first (e.g. ``{"task": "..."}``).
    run_id : str, optional
        Column identifying runs when a config was run several times without a seed column.
    duplicates : {"error", "seed", "first"}
        Several runs for one (config, seed): raise, number them as seeds ``0, 1, ...``
        (in order of ``run_id``, else of appearance), or keep the first.
    space_name : str, optional
        Name of a built space (default ``imported-<file stem>``).
    provenance : dict, optional
        Merged into the table's provenance.

    Returns
    -------
    RunTable
    """
    import pandas as pd

    where_ = "import_tidy"
    check_choice("duplicates", duplicates, ["error", "seed", "first"], where_)
    outp = check_path("out", out, where=where_)
    if outp.exists():
        raise InvalidValueError("out", str(outp), "a path that does not exist yet", where_,
                                hint="hasbench never overwrites files")
    src_name = None if isinstance(source, pd.DataFrame) else str(source)
    df = read_tidy(source, where)
    if len(df) == 0:
        raise InvalidValueError("source", "0 rows", "at least one row (after 'where')", where_)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    static = [static] if isinstance(static, str) else list(static)
    special = [fidelity] + metrics + static + [c for c in (seed, time, cum_time, run_id) if c]
    for c in special + list(ignore) + list(config or []):
        if c not in df.columns:
            raise UnknownNameError("column", c, list(df.columns), where_)
    if not metrics:
        raise InvalidValueError("metrics", metrics, "at least one metric column", where_)
    sp = get_space(space) if isinstance(space, str) else space
    if config is None:
        if sp is not None:
            config = [n for n in sp.names if n in df.columns]
        else:
            config = [c for c in df.columns if c not in set(special) | set(ignore)]
    config = list(config)
    if not config:
        raise InvalidValueError("config", config, "at least one config column", where_)
    df = df.reset_index(drop=True)
    # fidelity steps
    fv = df[fidelity].to_numpy()
    try:
        fvals = np.unique(fv.astype(float))
    except (TypeError, ValueError):
        raise InvalidValueError(f"column {fidelity!r}", "non-numeric values", "numbers",
                                where_) from None
    if not np.isfinite(fvals).all():
        raise InvalidValueError(f"column {fidelity!r}", "NaN/inf", "finite fidelity values",
                                where_)
    K = int(fvals.size)
    if sp is not None:
        # keep the space's fidelity numbering when values are its integers
        ids = fv.astype(float)
        if not (np.all(ids == np.round(ids)) and ids.min() >= 1):
            ids = np.searchsorted(fvals, fv.astype(float)) + 1.0
            log.info("fidelity values mapped to steps 1..%d", K)
        pos = ids.astype(np.int64) - 1
        K = int(pos.max()) + 1
    else:
        pos = np.searchsorted(fvals, fv.astype(float))
    # configs
    cfg_key = df[config].astype(str).agg("\x1f".join, axis=1) if len(config) > 1 \
        else df[config[0]].astype(str)
    cidx, cuniq = pd.factorize(cfg_key, sort=False)
    n_cfg = len(cuniq)
    first_row = np.zeros(n_cfg, np.int64)
    first_row[cidx[::-1]] = np.arange(len(df))[::-1]
    # runs: (config, seed) or (config, run_id)
    if seed is not None:
        sv = df[seed].to_numpy()
        if not np.all(np.asarray(sv, float) == np.round(np.asarray(sv, float))) or \
                (np.asarray(sv, float) < 0).any():
            raise InvalidValueError(f"column {seed!r}", "non-integer or negative seeds",
                                    "non-negative integers", where_)
        sv = np.asarray(sv, float).astype(np.int64)
    else:
        sv = np.zeros(len(df), np.int64)
    if run_id is not None:
        rid, _ = pd.factorize(df[run_id], sort=False)
    else:
        rid = np.zeros(len(df), np.int64)
    run_key = pd.MultiIndex.from_arrays([cidx, sv, rid])
    ridx, runiq = pd.factorize(run_key, sort=False)
    n_runs = len(runiq)
    run_cfg = np.asarray(runiq.get_level_values(0))
    run_seed = np.asarray(runiq.get_level_values(1))
    # several runs per (config, seed)?
    pair = pd.MultiIndex.from_arrays([run_cfg, run_seed])
    dup = pair.duplicated(keep="first")
    keep_run = np.ones(n_runs, bool)
    if dup.any():
        if duplicates == "error":
            r = int(np.nonzero(dup)[0][0])
            raise InvalidValueError(
                "duplicates", "error", ["seed", "first"], where_,
                hint=f"{int(dup.sum())} extra runs share (config, seed) with another run, e.g. "
                     f"config {df.loc[first_row[run_cfg[r]], config].to_dict()}; pass "
                     "duplicates='seed' (number them as seeds) or 'first', or give run_id/seed")
        if duplicates == "first":
            keep_run = ~np.asarray(dup)
        else:
            order = np.lexsort((np.arange(n_runs), run_cfg))
            rank = np.zeros(n_runs, np.int64)
            prev, k = -1, 0
            for r in order:
                k = k + 1 if run_cfg[r] == prev else 0
                prev = run_cfg[r]
                rank[r] = k
            run_seed = rank
    # dense curves (runs x steps)
    rows_ok = keep_run[ridx]
    cnt = np.zeros((n_runs, K), np.int64)
    np.add.at(cnt, (ridx[rows_ok], pos[rows_ok]), 1)
    if (cnt > 1).any():
        r, p = np.argwhere(cnt > 1)[0]
        raise InvalidValueError("rows", f"{int(cnt[r, p])} rows for one run at {fidelity}="
                                f"{fvals[p] if p < fvals.size else p + 1}",
                                "one row per (config, seed, fidelity)", where_,
                                hint="add the seed/run_id column or filter with where=")
    curves = {}
    for m in metrics:
        a = np.full((n_runs, K), np.nan)
        vals = pd.to_numeric(df[m], errors="coerce").to_numpy(dtype=float)
        a[ridx[rows_ok], pos[rows_ok]] = vals[rows_ok]
        curves[m] = a
    have = cnt > 0
    n_ep = np.where(have.any(axis=1), K - np.argmax(have[:, ::-1], axis=1), 0)
    if time is not None or cum_time is not None:
        col = time or cum_time
        t = np.full((n_runs, K), np.nan)
        t[ridx[rows_ok], pos[rows_ok]] = pd.to_numeric(df[col], errors="coerce").to_numpy(
            dtype=float)[rows_ok]
        if cum_time is not None:
            filled = pd.DataFrame(t).ffill(axis=1).fillna(0.0).to_numpy()
            t = np.diff(filled, axis=1, prepend=0.0)
            t = np.where(have, t, np.nan)
        bad = ~np.isfinite(t) | (t < 0)
        with np.errstate(invalid="ignore"):
            mt = np.nanmean(np.where(bad, np.nan, t), axis=1)
        mt = np.where(np.isfinite(mt), mt, 1.0)
        t = np.where(bad, mt[:, None], t)
        unit = "seconds"
    else:
        t = np.ones((n_runs, K))
        unit = "unit cost per fidelity step (the source has no runtime)"
    # static metrics (per config)
    stat = {}
    for s in static:
        v = pd.to_numeric(df[s], errors="coerce").to_numpy(dtype=float)
        stat[s] = v[first_row]
    # the space
    meta = {"fidelity_values": [float(x) for x in fvals], "fidelity_column": fidelity}
    if sp is None:
        stem = Path(str(src_name)).name.split(".")[0] if src_name else "frame"
        sp = space_from_frame(df.iloc[first_row], config, fidelity, K,
                              name=space_name or f"imported-{stem}", metadata=meta)
    elif sp.fidelity.upper < K:
        raise InvalidValueError(fidelity, K, f"at most {sp.fidelity.upper:g} steps for space "
                                f"{sp.name!r}", where_)
    cfg_frame = df.iloc[first_row][config]
    recs = []
    for row in cfg_frame.itertuples(index=False, name=None):
        cfg = {}
        for c, v in zip(config, row, strict=True):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            kind = sp.kind(c)
            if kind == "categorical" and isinstance(sp.choices(c)[0], str):
                v = str(v)
            elif kind == "int":
                v = int(v)
            elif kind == "float":
                v = float(v)
            elif kind == "constant":
                v = sp.choices(c)[0]
            elif isinstance(v, np.generic):
                v = v.item()
            cfg[c] = v
        recs.append(cfg)
    if sp.fidelity.in_config:
        for cfg in recs:
            cfg[sp.fidelity.name] = int(sp.fidelity.upper)
    runs = []
    for r in np.nonzero(keep_run & (n_ep > 0))[0]:
        n = int(n_ep[r])
        mvals = {m: curves[m][r, :n] for m in metrics}
        fin = all(np.isfinite(v[have[r, :n]]).all() for v in mvals.values())
        runs.append(Run(config=recs[run_cfg[r]], seed=int(run_seed[r]), metrics=mvals,
                        epoch_time=t[r, :n], static={s: stat[s][run_cfg[r]] for s in static},
                        status="ok" if fin else "diverged"))
    prov = {"imported_from": str(src_name) if src_name else "DataFrame",
            "importer": "hasbench.tables.importers.import_tidy", "time_unit": unit,
            "fidelity_values": meta["fidelity_values"]}
    prov.update(provenance or {})
    return write_table(outp, sp, runs, max_epochs=K, metrics=metrics, provenance=prov,
                       static_names=static, attrs={"time_unit": unit,
                                                   "fidelity_values": meta["fidelity_values"]})


def _synetune_domain(space: Space, name: str) -> Any:
    kind = space.kind(name)
    if kind in ("float", "int"):
        hp = space.configspace[name]
        log_ = bool(hp.log)
        lo, hi = float(hp.lower), float(hp.upper)
        if kind == "int":
            lo, hi = int(round(lo)), int(round(hi))
        d = {"domain_cls": "Float" if kind == "float" else "Integer",
             "domain_kwargs": {"lower": lo, "upper": hi}}
        if log_:
            d.update({"sampler_cls": "LogUniform", "sampler_kwargs": {"base": math.e}})
        else:
            d.update({"sampler_cls": "Uniform", "sampler_kwargs": {}})
        return d
    choices = list(space.choices(name))
    if kind == "constant":
        return choices[0]
    if kind == "ordinal" and all(isinstance(c, (int, float)) and not isinstance(c, bool)
                                 for c in choices):
        return {"domain_cls": "OrdinalNearestNeighbor",
                "domain_kwargs": {"categories": choices, "log_scale": False}}
    if kind == "ordinal":
        return {"domain_cls": "Ordinal", "domain_kwargs": {"categories": choices}}
    return {"domain_cls": "Categorical", "domain_kwargs": {"categories": choices},
            "sampler_cls": "Uniform", "sampler_kwargs": {}}


def export_synetune(table: RunTable | str | os.PathLike, out: str | os.PathLike,
                    task: str | None = None, metrics: Sequence[str] | None = None
                    ) -> Path:
    """Write a run table in Syne Tune's blackbox-repository layout (a new folder).

    The in-config fidelity (``hia-cnn``'s ``epochs``) is left out of the hyperparameters
    (it is the fidelity). Objectives: the table's metrics, then ``cum_time`` (cumulative
    seconds, named in ``metadata.json`` as ``metric_elapsed_time``). Missing seeds and
    diverged values are NaN (Syne Tune imputes them when it fits surrogates). Needs pyarrow
    for the parquet file.

    Returns
    -------
    Path of the folder.
    """
    import pandas as pd

    if not isinstance(table, RunTable):
        table = RunTable.read(check_path("table", table, must_exist=True,
                                         where="export_synetune"))
    d = check_path("out", out, where="export_synetune")
    if d.exists() and (not d.is_dir() or any(d.iterdir())):
        raise InvalidValueError("out", str(d), "a new or empty folder", "export_synetune",
                                hint="hasbench never overwrites files")
    metrics = list(table.metrics if metrics is None else metrics)
    for m in metrics:
        check_choice("metric", m, table.metrics, "export_synetune", unknown=True)
    space = table.space
    fid = space.fidelity
    names = [n for n in space.names if not (fid.in_config and n == fid.name)]
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover - depends on install
        raise InvalidValueError("engine", "pyarrow", "installed", "export_synetune",
                                hint="pip install 'hasbench[parquet]'") from None
    d.mkdir(parents=True, exist_ok=True)
    hp = pd.DataFrame(table.configs).reindex(columns=names)
    for n in names:
        if space.kind(n) == "int":
            hp[n] = hp[n].astype("Int64") if hp[n].isna().any() else hp[n].astype(np.int64)
    hp.to_parquet(d / "hyperparameters.parquet", index=False, compression="gzip")
    seeds = table.seeds
    objs = []
    for m in metrics:
        objs.append(table.dense(m, seeds))
    objs.append(table.dense("cum_time", seeds))
    Y = np.stack(objs, axis=-1)[None].astype(np.float32)  # (1, C, S, E, O)
    np.save(d / "objectives_evaluations.npy", Y, allow_pickle=False)
    fvals = np.arange(1, table.max_epochs + 1)
    np.save(d / "fidelities_values.npy", fvals, allow_pickle=False)
    cs = {n: _synetune_domain(space, n) for n in names}
    (d / "configspace.json").write_text(json.dumps(cs))
    fs = {fid.name: {"domain_cls": "Integer", "domain_kwargs": {"lower": 1,
                                                               "upper": int(table.max_epochs)},
                     "sampler_cls": "Uniform", "sampler_kwargs": {}}}
    (d / "fidelityspace.json").write_text(json.dumps(fs))
    task = task or (table.path.stem if table.path is not None else space.name)
    meta = {"objectives_names": metrics + ["cum_time"], "task_names": [task],
            "metric_elapsed_time": "cum_time",
            "metric_default": "valid_acc" if "valid_acc" in metrics else metrics[0],
            "resource_attr": fid.name, "fidelity_space": fs,
            "seeds": [int(s) for s in seeds], "source": "hasbench",
            "space": space.name, "space_version": space.version,
            "static": {k: [float(x) for x in v] for k, v in table.static.items()},
            "note": "hasbench run table export; NaN = missing seed or diverged value"}
    (d / "metadata.json").write_text(json.dumps(meta))
    return d


def split_table(table: RunTable | str | os.PathLike, first: str | os.PathLike,
                second: str | os.PathLike, fraction: float = 0.2, seed: int = 0
                ) -> tuple[RunTable, RunTable]:
    """Split a table's configs into two new tables: ``second`` gets ``fraction`` of the
    configs (chosen by a seeded permutation, all seeds of a config together), ``first`` the
    rest. Deterministic for (table, fraction, seed)."""
    if not isinstance(table, RunTable):
        table = RunTable.read(check_path("table", table, must_exist=True, where="split_table"))
    fraction = check_float("fraction", fraction, 0.0, 1.0, "split_table", low_open=True,
                           high_open=True)
    C = table.n_configs
    perm = np.random.default_rng(seed).permutation(C)
    n2 = int(round(fraction * C))
    sec = np.zeros(C, bool)
    sec[perm[:n2]] = True
    outs = []
    for path, mask in ((first, ~sec), (second, sec)):
        runs = []
        for r in range(table.n_runs):
            c = int(table.run_config[r])
            if not mask[c]:
                continue
            n = int(table.run_n_epochs[r])
            runs.append(Run(config=table.configs[c], seed=int(table.run_seed[r]),
                            metrics={m: table.curve(m)[r, :n] for m in table.metrics},
                            epoch_time=table.epoch_time[r, :n],
                            static={s: table.static[s][c] for s in table.static},
                            status=table.run_status[r]))
        prov = dict(table.provenance)
        prov["split_of"] = {"table": str(table.path), "fraction": fraction, "seed": seed,
                            "part": "second" if mask is sec else "first"}
        outs.append(write_table(path, table.space, runs, table.max_epochs, table.metrics,
                                provenance=prov, static_names=list(table.static),
                                attrs=table.attrs))
    return outs[0], outs[1]
