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
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import (
    InvalidValueError,
    MissingDependencyError,
    UnknownNameError,
    check_choice,
    check_float,
    check_int,
    check_path,
)
from ..spaces import Fidelity, Space, get_space
from .runtable import Run, RunTable, write_table

__all__ = ["import_tidy", "read_tidy", "space_from_frame", "export_synetune", "split_table",
           "parse_hp_spec", "parse_metric_spec", "space_difference", "format_import_summary"]

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
            except ImportError:  # pragma: no cover - depends on install
                raise MissingDependencyError("pyarrow", "reading a parquet file", "parquet",
                                             "read_tidy") from None
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


# ---------------------------------------------------------------- declarations
HP_TYPES = ("float", "int", "categorical", "ordinal")
METRIC_KINDS = ("acc", "loss", "other")
METRIC_TRANSFORMS = ("logit", "log", "none")


def _num_or_str(tok: str) -> Any:
    try:
        v = float(tok)
    except ValueError:
        return tok
    return int(v) if v.is_integer() and "." not in tok and "e" not in tok.lower() else v


def parse_hp_spec(name: str, spec: Any, where: str = "import_tidy") -> dict[str, Any]:
    """A hyperparameter declaration -> ``{"type", "lower", "upper", "log", "choices"}``.

    ``spec`` is a dict with those keys, or a string ``TYPE[:LOWER:UPPER][:log|:linear]``
    for ``float``/``int`` (``"float:1e-5:0.1:log"``, ``"int:16:256"``, ``"float:log"``)
    and ``TYPE[:A|B|C]`` for ``categorical``/``ordinal`` (``"categorical:relu|tanh"``,
    ``"ordinal:1|2|4"``; without choices: the observed values). Bounds and log-scaling not
    given are inferred as for undeclared columns (:func:`space_from_frame`)."""
    param = f"hyperparameter {name!r}"
    if isinstance(spec, Mapping):
        d = dict(spec)
        unknown = sorted(set(d) - {"type", "lower", "upper", "log", "choices"})
        if unknown:
            raise UnknownNameError("declaration key", unknown[0],
                                   ["type", "lower", "upper", "log", "choices"], where)
    elif isinstance(spec, str):
        parts = [p.strip() for p in spec.split(":")]
        d = {"type": parts[0].lower()}
        rest = parts[1:]
        if d["type"] in ("float", "int"):
            flags = [p.lower() for p in rest if p.lower() in ("log", "linear")]
            nums = [p for p in rest if p.lower() not in ("log", "linear")]
            if flags:
                d["log"] = flags[-1] == "log"
            if nums:
                if len(nums) != 2:
                    raise InvalidValueError(param, spec, f"{d['type']}:LOWER:UPPER[:log]",
                                            where)
                try:
                    d["lower"], d["upper"] = float(nums[0]), float(nums[1])
                except ValueError:
                    raise InvalidValueError(param, spec, f"{d['type']}:LOWER:UPPER[:log] "
                                            "with numeric bounds", where) from None
        elif rest:
            d["choices"] = [_num_or_str(c) for c in ":".join(rest).split("|") if c != ""]
    else:
        raise InvalidValueError(param, spec, "a declaration string or dict", where)
    t = d.get("type")
    if t == "cat":
        t = d["type"] = "categorical"
    if t not in HP_TYPES:
        raise InvalidValueError(f"{param} type", t, list(HP_TYPES), where)
    if t in ("float", "int"):
        if "choices" in d:
            raise InvalidValueError(param, spec, f"{t} bounds, not choices", where)
        lo, hi = d.get("lower"), d.get("upper")
        if (lo is None) != (hi is None):
            raise InvalidValueError(param, spec, "both bounds or neither", where)
        if lo is not None:
            for b in (lo, hi):
                if not isinstance(b, (int, float)) or isinstance(b, bool) \
                        or not math.isfinite(b):
                    raise InvalidValueError(f"{param} bound", b, "finite numbers", where)
            if lo > hi:
                raise InvalidValueError(f"{param} bounds", [lo, hi], "lower <= upper", where)
            if t == "int" and not (float(lo).is_integer() and float(hi).is_integer()):
                raise InvalidValueError(f"{param} bounds", [lo, hi], "integer bounds", where)
            if d.get("log") and lo <= 0:
                raise InvalidValueError(f"{param} lower", lo, "a lower bound > 0 for a "
                                        "log-scaled hyperparameter", where)
        if "log" in d and not isinstance(d["log"], (bool, np.bool_)):
            raise InvalidValueError(f"{param} log", d["log"], [True, False], where)
    else:
        if "lower" in d or "upper" in d or d.get("log"):
            raise InvalidValueError(param, spec, f"{t} choices, not bounds", where)
        ch = d.get("choices")
        if ch is not None and (not isinstance(ch, (list, tuple)) or len(ch) == 0
                               or len(set(map(str, ch))) != len(ch)):
            raise InvalidValueError(f"{param} choices", ch, "a non-empty list of distinct "
                                    "values", where)
    return d


def parse_metric_spec(name: str, spec: Any, where: str = "import_tidy") -> dict[str, str]:
    """A metric declaration -> ``{"kind", "goal", "transform"}``.

    ``spec``: a dict with those keys or tokens joined by ``:``, in any order: a kind
    (``acc``: an accuracy in [0, 1], maximised; ``loss``: >= 0, minimised), a goal
    (``min``/``max``), a fit transform (``log``: fit ``log(v + 1e-4)``, needs v >= 0;
    ``logit``: needs v in [0, 1]; ``none``: the raw scale). E.g. ``"min:log"`` for a mean
    squared error, ``"acc"`` for ``val_acc_epoch200``. What is not given follows the name
    (:func:`hasbench.surrogates.metric_kind`) and the fit's defaults (``--acc-transform``,
    log for losses)."""
    from ..surrogates.model import metric_kind

    param = f"metric {name!r}"
    by_name = metric_kind(name)
    if isinstance(spec, Mapping):
        tokens = [v for v in (spec.get("kind"), spec.get("goal"), spec.get("transform")) if v]
        unknown = sorted(set(spec) - {"kind", "goal", "transform"})
        if unknown:
            raise UnknownNameError("declaration key", unknown[0], ["kind", "goal", "transform"],
                                   where)
    elif isinstance(spec, str):
        tokens = [t.strip().lower() for t in spec.split(":") if t.strip()]
    else:
        raise InvalidValueError(param, spec, "a declaration string or dict", where)
    kind = goal = transform = None
    for t in tokens:
        if t in ("acc", "loss", "other"):
            kind = t
        elif t in ("min", "max"):
            goal = t
        elif t in METRIC_TRANSFORMS or t == "raw":
            transform = "none" if t == "raw" else t
        else:
            raise InvalidValueError(f"{param} declaration", t, ["acc", "loss", "min", "max",
                                                                "log", "logit", "none"], where)
    if kind is None:
        kind = by_name if by_name != "other" or goal is None else "other"
    if by_name in ("acc", "loss") and kind != by_name:
        raise InvalidValueError(f"{param} kind", kind, [by_name], where,
                                hint=f"the name {name!r} reads as {by_name!r} everywhere in "
                                     "hasbench; rename the column to declare another kind")
    natural = {"acc": "max", "loss": "min"}.get(kind)
    if goal is None:
        goal = natural or "min"
    elif natural and goal != natural:
        raise InvalidValueError(f"{param} goal", goal, [natural], where,
                                hint=f"an {kind!r} metric is {natural}imised")
    return {"kind": kind, "goal": goal, "transform": transform}


def _cat_str(v: Any) -> str:
    """Text of a categorical value (integral floats without the ``.0``: a column read as
    floats matches declared choices ``1|2``)."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, np.generic):
        v = v.item()
    return str(v)


def _fmt_num(x: float) -> str:
    return f"{x:.6g}"


def _looks_log(v: np.ndarray, log_span: float) -> bool:
    """Whether a positive config column spanning more than ``log_span`` was drawn on a log
    scale (see :func:`space_from_frame`)."""
    from scipy import stats

    lo, hi = float(v.min()), float(v.max())
    if not (lo > 0 and hi / lo > log_span):
        return False
    u = np.unique(v)
    if len(u) <= 16 and len(v) >= 2 * len(u):  # a grid: compare its spacings
        d, r = np.diff(u), np.diff(np.log(u))
        return bool(np.std(r) / np.mean(r) < np.std(d) / np.mean(d))
    lin = stats.kstest((v - lo) / (hi - lo), "uniform").statistic
    lg = stats.kstest((np.log(v) - np.log(lo)) / (np.log(hi) - np.log(lo)),
                      "uniform").statistic
    return bool(lg < lin)


def _looks_like_int_grid(v: np.ndarray, max_grid: int) -> bool:
    """A few integers with gaps in their range, each value repeated (see
    :func:`space_from_frame`)."""
    u = np.unique(v)
    return bool(2 < len(u) <= max_grid and len(v) >= 4 * len(u)
                and len(u) < u[-1] - u[0] + 1)


def space_from_frame(df, columns: Sequence[str], fidelity: str | None, n_steps: int,
                     name: str = "imported", log_span: float = 100.0,
                     metadata: Mapping[str, Any] | None = None,
                     types: Mapping[str, Any] | None = None, max_grid: int = 16) -> Space:
    """Build a :class:`~hasbench.spaces.Space` from config columns.

    Undeclared columns (our rules; every guess is printed by the importer and can be
    overridden with ``types`` / ``--hp``): numeric columns become floats, or integers when
    every value is integral. A few integers that leave gaps in their range and repeat (at
    most ``max_grid`` distinct values, each seen 4 times on average, e.g. widths {32, 64,
    128, 256}) become an ordinal over those values. A positive column spanning more than
    ``log_span`` (default two decades) is log-scaled only if it looks log-distributed: a
    grid of at most ``max_grid`` values more evenly spaced in log than in linear scale, or
    else a sample closer to uniform (Kolmogorov-Smirnov statistic) in log than in linear
    scale, so dropout drawn uniformly from [0.004, 0.5] stays linear while a learning rate
    drawn log-uniformly from [1e-5, 0.1] is log-scaled. Bounds are the observed min/max,
    floats rounded outwards to 6 significant digits. A column with one value becomes a
    constant. Other columns become categoricals over their sorted distinct values (as
    strings). ``types`` declares columns instead
    (:func:`parse_hp_spec`: type, bounds, log, choices); observed values outside declared
    bounds or choices are refused. The fidelity is ``Fidelity(fidelity or "fidelity", 1,
    n_steps)``.
    """
    import ConfigSpace as CS
    import pandas as pd

    where = "space_from_frame"
    types = {k: parse_hp_spec(k, v, where) for k, v in (types or {}).items()}
    unknown = sorted(set(types) - set(columns))
    if unknown:
        raise UnknownNameError("declared hyperparameter", unknown[0], list(columns), where)
    hps = []
    for c in columns:
        s = df[c]
        decl = types.get(c)
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        t = decl["type"] if decl else ("float" if numeric else "categorical")
        if t in ("categorical", "ordinal"):
            if s.isna().any():
                raise InvalidValueError(f"column {c!r}", "missing values",
                                        "complete config columns", where,
                                        hint="pass a Space with conditions for inactive values")
            obs = sorted({_cat_str(v) for v in s.unique()})
            ch = decl.get("choices") if decl else None
            if ch is not None:
                allowed = [_cat_str(x) for x in ch]
                bad = [v for v in obs if v not in allowed]
                if bad:
                    raise InvalidValueError(f"column {c!r}", bad[0], allowed, where,
                                            hint=f"the declared choices of {c!r}")
            if t == "ordinal":
                seq = list(ch) if ch is not None else sorted(
                    s.unique().tolist(), key=lambda v: (not isinstance(v, (int, float)), v))
                seq = [x.item() if isinstance(x, np.generic) else x for x in seq]
                hps.append(CS.OrdinalHyperparameter(c, seq))
                continue
            vals = [_cat_str(x) for x in ch] if ch is not None else obs
            hps.append(CS.Constant(c, vals[0]) if len(vals) == 1
                       else CS.CategoricalHyperparameter(c, vals, default_value=vals[0]))
            continue
        if not numeric:
            raise InvalidValueError(f"column {c!r}", "non-numeric values",
                                    f"numbers (declared {t})", where)
        v = s.to_numpy(dtype=float)
        if not np.isfinite(v).all():
            raise InvalidValueError(f"column {c!r}", "NaN/inf values", "finite config values",
                                    where, hint="pass a Space with conditions for inactive "
                                    "values")
        lo, hi = float(v.min()), float(v.max())
        integral = bool(np.all(v == np.round(v)))
        if decl and t == "int" and not integral:
            bad = float(v[v != np.round(v)][0])
            raise InvalidValueError(f"column {c!r}", bad, "integers (declared int)", where)
        if decl and "lower" in decl:
            dlo, dhi = float(decl["lower"]), float(decl["upper"])
            out_ = (v < dlo) | (v > dhi)
            if out_.any():
                raise InvalidValueError(f"column {c!r}", float(v[out_][0]),
                                        f"values in [{_fmt_num(dlo)}, {_fmt_num(dhi)}] "
                                        "(the declared bounds)", where,
                                        hint=f"this file's values span [{_fmt_num(lo)}, "
                                             f"{_fmt_num(hi)}]")
        is_int = (t == "int") if decl else integral
        if decl is None and lo == hi:
            hps.append(CS.Constant(c, int(lo) if integral else lo))
            continue
        if decl is None and integral and _looks_like_int_grid(v, max_grid):
            # a few integers that do not fill their range ({32, 64, 128, 256}): the set the
            # user sampled from, not every integer between its ends
            hps.append(CS.OrdinalHyperparameter(c, [int(x) for x in np.unique(v)]))
            continue
        blo, bhi = (float(decl["lower"]), float(decl["upper"])) if decl and "lower" in decl \
            else (lo, hi)
        if blo == bhi:
            hps.append(CS.Constant(c, int(blo) if is_int else blo))
            continue
        logs = decl["log"] if decl and "log" in decl else _looks_log(v, log_span)
        if logs and blo <= 0:
            raise InvalidValueError(f"column {c!r}", lo, "values > 0 for a log-scaled "
                                    "hyperparameter", where)
        if is_int:
            ilo, ihi = int(round(blo)), int(round(bhi))
            dflt = int(round(math.sqrt(ilo * ihi))) if logs else int(round((ilo + ihi) / 2))
            hps.append(CS.UniformIntegerHyperparameter(c, ilo, ihi, log=logs,
                                                       default_value=min(max(dflt, ilo), ihi)))
        else:
            dflt = math.sqrt(blo * bhi) if logs else (blo + bhi) / 2
            if decl and "lower" in decl:  # declared bounds are taken as given
                hps.append(CS.UniformFloatHyperparameter(c, blo, bhi, log=logs,
                                                         default_value=dflt))
                continue
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
    return Space(name, "1.0", cs, [Fidelity(fidelity or "fidelity", 1, int(n_steps), True,
                                            False)],
                 order=list(columns), metadata=meta,
                 description=f"imported from tidy data ({len(columns)} config columns)")


def space_difference(a: Space, b: Space, names: tuple[str, str] = ("first", "second")
                     ) -> list[str]:
    """What makes two spaces' ConfigSpaces differ, one line per difference: hyperparameters
    only in one, and per shared hyperparameter each differing field (type, bounds, log,
    choices, default), then conditions and forbidden clauses. Empty when equal."""
    da = a.to_dict()["configspace"]
    db = b.to_dict()["configspace"]
    ha = {h["name"]: h for h in da.get("hyperparameters", [])}
    hb = {h["name"]: h for h in db.get("hyperparameters", [])}
    na, nb = names
    out = [f"hyperparameter {n!r} only in the {na}" for n in ha if n not in hb]
    out += [f"hyperparameter {n!r} only in the {nb}" for n in hb if n not in ha]
    for n in ha:
        if n not in hb or ha[n] == hb[n]:
            continue
        for k in sorted(set(ha[n]) | set(hb[n])):
            va, vb = ha[n].get(k), hb[n].get(k)
            if va != vb:
                label = {"lower": "lower bound", "upper": "upper bound"}.get(k, k)
                out.append(f"{n!r}: {label} {va!r} ({na}) vs {vb!r} ({nb})")
    for key in ("conditions", "forbiddens"):
        if da.get(key) != db.get(key):
            out.append(f"{key} differ")
    return out


# ---------------------------------------------------------------- column roles
_ID_RE = re.compile(r"(^|[_\-. ])(id|ids|idx|index|uuid|hash|key)$")


def _id_like(name: Any) -> bool:
    n = str(name)
    return bool(_ID_RE.search(n.lower()) or re.search(r"[a-z0-9]Id$", n)
                or re.match(r"^unnamed: ?\d+$", n.lower()))


def _codes(df, col: str) -> np.ndarray:
    import pandas as pd

    return pd.factorize(df[col], sort=False)[0].astype(np.int64)


def _combine(arrs: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Dense group codes of the tuple of code arrays (0..G-1)."""
    import pandas as pd

    arrs = [a for a in arrs if a is not None]
    if not arrs:
        return np.zeros(n, np.int64)
    key = arrs[0] + 1
    for a in arrs[1:]:
        key = pd.factorize(key * (int(a.max()) + 2) + (a + 1), sort=False)[0].astype(np.int64)
    return key if len(arrs) > 1 else pd.factorize(key, sort=False)[0].astype(np.int64)


def _max_per_group(g: np.ndarray, c: np.ndarray) -> int:
    """Largest number of distinct values of ``c`` within a group of ``g``."""
    if g.size == 0:
        return 0
    pairs = np.unique(g * (int(c.max()) + 2) + (c + 1))
    return int(np.bincount(pairs // (int(c.max()) + 2)).max())


def _loo_keys(codes: Mapping[str, np.ndarray], cols: Sequence[str], n: int
              ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Group codes of ``cols`` and, per column, of ``cols`` without it (prefix and suffix
    combinations: O(k) factorizations instead of O(k^2))."""
    arrs = [codes[c] for c in cols]
    pre = [np.zeros(n, np.int64)]
    for a in arrs:
        pre.append(_combine([pre[-1], a], n))
    suf = [np.zeros(n, np.int64)]
    for a in reversed(arrs):
        suf.append(_combine([suf[-1], a], n))
    suf = suf[::-1]
    return pre[-1], {c: _combine([pre[i], suf[i + 1]], n) for i, c in enumerate(cols)}


def _overlap(c: np.ndarray, level: np.ndarray) -> float:
    """Jaccard overlap of the values of ``c`` at the two most frequent values of ``level``
    (seeds, or fidelity steps): about 1 for a hyperparameter of configs run at both, about
    0 for a continuous measurement taken per seed or per step."""
    lv, cnt = np.unique(level, return_counts=True)
    if lv.size < 2:
        return 1.0
    l0, l1 = lv[np.argsort(-cnt, kind="stable")[:2]]
    a, b = np.unique(c[level == l0]), np.unique(c[level == l1])
    union = np.union1d(a, b).size
    return np.intersect1d(a, b).size / union if union else 1.0


def _classify_candidates(df, cands: list[str], fid: np.ndarray | None, seed: np.ndarray | None,
                         rid: np.ndarray | None) -> dict[str, str]:
    """Columns among ``cands`` that cannot be hyperparameters: a column that changes along
    a run's curve but has one value per step (an unnamed per-step metric, ``step``), or,
    with a seed column, one that changes between the seeds of a config but has one value per
    seed (a per-run measurement such as a latency).

    The test of column ``c`` along an axis (fidelity or seed): grouped by the other columns
    (and the other axis and the run id), ``c`` takes several values in some group but one
    per (group, axis value). Two such columns would hide each other (each one alone
    separates the rows of a config), so the test is also run with the other columns minus
    the *suspects*: columns whose values barely overlap between the two most frequent axis
    values (:func:`_overlap` < 0.5). Leaving a true hyperparameter out of the groups only
    makes the test stricter, so a suspect that is a hyperparameter is kept."""
    n = len(df)
    codes = {c: _codes(df, c) for c in cands}
    out: dict[str, str] = {}
    axes = []
    if fid is not None and np.unique(fid).size > 1:
        axes.append((fid, [seed, rid], "changes along a run's curve (a per-step value, not a "
                     "hyperparameter; name it in --metrics to keep it)"))
    if seed is not None and np.unique(seed).size > 1:
        axes.append((seed, [fid, rid], "differs between the seeds of a config (a per-run "
                     "measurement, not a hyperparameter; name it in --hyperparameters to use "
                     "it anyway)"))
    for level, extra, why in axes:
        cur = [c for c in cands if c not in out]
        if not cur:
            break
        suspects = {c for c in cur if _overlap(codes[c], level) < 0.5}
        _, loo_all = _loo_keys(codes, cur, n)
        clean = [c for c in cur if c not in suspects]
        full_clean, loo_clean = _loo_keys(codes, clean, n)
        for c in cur:
            cc = codes[c]
            bases = [loo_all[c]]
            if suspects:
                bases.append(loo_clean[c] if c in loo_clean else full_clean)
            for base in bases:
                g = _combine([base, *extra], n)
                if _max_per_group(g, cc) > 1 and \
                        _max_per_group(_combine([g, level], n), cc) == 1:
                    out[c] = why
                    break
    return out


def _describe_hp(space: Space, name: str) -> str:
    kind = space.kind(name)
    hp = space.configspace[name]
    if kind in ("float", "int"):
        return (f"{name} ({kind}{', log' if hp.log else ''}, "
                f"[{_fmt_num(float(hp.lower))}, {_fmt_num(float(hp.upper))}])")
    if kind == "constant":
        return f"{name} (constant {space.choices(name)[0]!r})"
    ch = space.choices(name)
    shown = "|".join(map(str, ch[:6])) + ("|..." if len(ch) > 6 else "")
    return f"{name} ({kind}: {shown})"


def format_import_summary(summary: Mapping[str, Any]) -> str:
    """The import summary (``provenance["import"]`` of an imported table) as text: what was
    taken as hyperparameters, metrics, static metrics, seeds, fidelity and runtime, and
    which columns were left out and why."""
    s = summary
    L = []
    src = {"named": "named", "inferred": "inferred: every column not given another role",
           "space": "from the given space"}.get(s["hyperparameters_from"],
                                                s["hyperparameters_from"])
    L.append(f"hyperparameters ({len(s['hyperparameters'])}, {src}):")
    for d in s.get("hyperparameter_details", s["hyperparameters"]):
        L.append(f"  {d}")
    L.append("metrics:")
    for m, info in s["metrics"].items():
        tr = info.get("transform") or "fit default"
        L.append(f"  {m} ({info['kind']}, {info['goal']}imised, transform {tr}"
                 + (f", scaled x{info['scale']:g}" if info.get("scale", 1.0) != 1.0 else "")
                 + ")")
    L.append(f"static: {', '.join(s['static']) if s['static'] else 'none'}")
    L.append(f"seeds: column {s['seed']!r}, {s['n_seeds']} seed(s)" if s["seed"] else
             f"seeds: no seed column ({s['n_seeds']} seed(s)"
             + (f", numbered from --run-id {s['run_id']!r}" if s.get("run_id") else "")
             + ")")
    if s["n_seeds"] <= 1:
        L.append("  one seed per config: the seed spread is unknown (a fitted surrogate "
                 "calibrates its intervals from model error instead)")
    L.append(f"fidelity: column {s['fidelity']!r}, {s['n_fidelities']} step(s)"
             if s["fidelity"] else "fidelity: none: one fidelity, each run is one value")
    L.append(f"runtime: {s['time']}")
    if s.get("ignored"):
        L.append("not used:")
        for c, why in s["ignored"].items():
            L.append(f"  {c}: {why}")
    return "\n".join(L)


def _check_metric_values(m: str, raw, vals: np.ndarray, where: str) -> None:
    """A metric column must be numbers (NaN/inf and empty cells are diverged values)."""
    import pandas as pd

    ok_text = {"", "nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity",
               "none", "null", "na", "n/a"}
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return
    if pd.api.types.is_bool_dtype(raw):
        raise InvalidValueError(f"column {m!r}", "true/false values", "numbers", where)
    bad = np.isnan(vals) & raw.notna().to_numpy()
    if bad.any():
        txt = raw[bad].astype(str).str.strip().str.lower()
        really = ~txt.isin(ok_text).to_numpy()
        if really.any():
            first = raw[bad][really].iloc[0]
            raise InvalidValueError(f"column {m!r}", first, "numbers (NaN, inf or an empty "
                                    "cell for a diverged value)", where,
                                    hint=f"{int(really.sum())} values of metric {m!r} are not "
                                         "numbers; is it the right column?")


def import_tidy(source: Any, out: str | os.PathLike, *, metrics: Sequence[str],
                fidelity: str | None = "epoch", seed: str | None = None,
                hyperparameters: Sequence[str] | None = None,
                config: Sequence[str] | None = None, ignore: Sequence[str] = (),
                space: Space | str | None = None, space_from: Any = None,
                configspace: Any = None, hp_types: Mapping[str, Any] | None = None,
                metric_specs: Mapping[str, Any] | None = None,
                scale: Mapping[str, float] | None = None, time: str | None = None,
                cum_time: str | None = None, static: Sequence[str] = (),
                where: Mapping[str, Any] | None = None, run_id: str | None = None,
                duplicates: str = "error", space_name: str | None = None,
                provenance: Mapping[str, Any] | None = None) -> RunTable:
    """Import tidy learning-curve data into a new run table.

    What every column was taken as is recorded in the table's provenance (``"import"``;
    :func:`format_import_summary` prints it, ``hasbench data import`` does so).

    Parameters
    ----------
    source : path or DataFrame
        ``.csv``/``.csv.gz``/``.parquet`` file or a DataFrame, one row per (config, seed,
        fidelity step).
    out : path
        New ``.h5`` file (never overwritten).
    metrics : sequence of str
        Per-step metric columns (e.g. ``["valid_loss", "test_loss"]``).
    fidelity : str or None
        Fidelity column (epochs, checkpoints ...); ``None``: the data has one fidelity (final
        values only), each run is one value.
    seed : str, optional
        Seed column; without it every config has one run (seed 0), see ``duplicates``.
    hyperparameters : sequence of str, optional
        Hyperparameter (config) columns. Default: inferred, every column without another
        role except those that cannot be hyperparameters: id-like names (``config_id``,
        ``idx``, ``Unnamed: 0``), columns that change along a run's curve, and (with a seed
        column) columns that differ between the seeds of a config (per-run measurements).
        Check the summary, or name them. ``config`` is the older name of this parameter.
    ignore : sequence of str
        Columns to drop (ids, derived values).
    space : Space or str, optional
        Use this space (values must be valid in it); default: built by
        :func:`space_from_frame`.
    space_from : RunTable or path, optional
        Use the space of this run table (e.g. the training table, to import a held-out file
        whose inferred bounds would differ); its fidelity values map this file's.
    configspace : path or ConfigSpace.ConfigurationSpace, optional
        The hyperparameters as a ConfigSpace (JSON file written by ``ConfigurationSpace.
        to_json``): names, types, bounds, log scales, conditions.
    hp_types : dict, optional
        Declarations of some hyperparameters of a built space (:func:`parse_hp_spec`):
        ``{"lr": "float:1e-5:1:log", "width": "int", "act": "categorical"}``.
    metric_specs : dict, optional
        Per metric kind, goal and fit transform (:func:`parse_metric_spec`):
        ``{"valid_mse": "min:log"}``; recorded in the table attrs (``metric_info``) and used
        by :class:`~hasbench.surrogates.CurveSurrogate`.
    scale : dict, optional
        Factor per metric applied on import (``{"valid_acc": 0.01}`` for percent).
        Accuracies (``*_acc`` or declared ``acc``) must end up in [0, 1].
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
    if hyperparameters is not None and config is not None:
        raise InvalidValueError("config", config, "None when hyperparameters is given", where_,
                                hint="config is the older name of hyperparameters")
    if hyperparameters is None:
        hyperparameters = config
    given = [k for k, v in (("space", space), ("space_from", space_from),
                            ("configspace", configspace)) if v is not None]
    if len(given) > 1:
        raise InvalidValueError(given[1], "given with " + given[0], "one of space, "
                                "space_from, configspace", where_)
    if hp_types and given:
        raise InvalidValueError("hp_types", sorted(hp_types), f"no declarations with "
                                f"{given[0]} (it declares every hyperparameter)", where_)
    src_name = None if isinstance(source, pd.DataFrame) else str(source)
    df = read_tidy(source, where)
    if len(df) == 0:
        raise InvalidValueError("source", "0 rows", "at least one row (after 'where')", where_)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    static = [static] if isinstance(static, str) else list(static)
    if hyperparameters is not None:
        hyperparameters = [hyperparameters] if isinstance(hyperparameters, str) \
            else list(hyperparameters)
    special = ([fidelity] if fidelity is not None else []) + metrics + static + \
        [c for c in (seed, time, cum_time, run_id) if c]
    for c in special + list(ignore) + list(hyperparameters or []):
        if c not in df.columns:
            raise UnknownNameError("column", c, list(df.columns), where_)
    if not metrics:
        raise InvalidValueError("metrics", metrics, "at least one metric column", where_)
    seen: dict[str, str] = {}
    for role, cols in (("metrics", metrics), ("static", static), ("hyperparameters",
                                                                   hyperparameters or [])):
        for c in cols:
            if c in seen:
                raise InvalidValueError(role, c, f"a column with one role (it is also in "
                                        f"{seen[c]})", where_)
            seen[c] = role
    for m in list(metric_specs or {}) + list(scale or {}):
        if m not in metrics:
            raise UnknownNameError("metric", m, metrics, where_,
                                   hint="declarations and scales are for --metrics columns")
    minfo = {m: parse_metric_spec(m, s, where_) for m, s in (metric_specs or {}).items()}
    scales = {}
    for m, f in (scale or {}).items():
        if isinstance(f, str) and f.strip().lower() in ("percent", "%"):
            f = 0.01
        scales[m] = check_float(f"scale[{m!r}]", f, 0.0, None, where_, low_open=True)
    ref_table = None
    if space_from is not None:
        ref_table = space_from if isinstance(space_from, RunTable) else RunTable.read(
            check_path("space_from", space_from, must_exist=True, where=where_))
        sp = ref_table.space
    elif configspace is not None:
        sp = None
    else:
        sp = get_space(space) if isinstance(space, str) else space
    ignored: dict[str, str] = {c: "named in ignore" for c in ignore}
    df = df.reset_index(drop=True)
    # fidelity steps
    if fidelity is None:
        fv = np.ones(len(df))
        fvals = np.array([], float)
        K = 1
    else:
        fv = df[fidelity].to_numpy()
        try:
            fvals = np.unique(fv.astype(float))
        except (TypeError, ValueError):
            raise InvalidValueError(f"column {fidelity!r}", "non-numeric values", "numbers",
                                    where_) from None
        if not np.isfinite(fvals).all():
            raise InvalidValueError(f"column {fidelity!r}", "NaN/inf",
                                    "finite fidelity values", where_)
        K = int(fvals.size)
    ref_fvals = list((ref_table.attrs.get("fidelity_values") or []) if ref_table is not None
                     else [])
    if fidelity is None:
        pos = np.zeros(len(df), np.int64)
    elif ref_fvals:
        # the reference table's fidelity values are its steps 1..K
        rf = np.asarray(ref_fvals, float)
        idx = np.searchsorted(rf, fvals).clip(0, rf.size - 1)
        miss = ~np.isclose(rf[idx], fvals, rtol=1e-9, atol=0)
        if miss.any():
            raise InvalidValueError(f"column {fidelity!r}", float(fvals[miss][0]),
                                    [float(x) for x in rf[:20]], where_,
                                    hint="the fidelity values of the --space-from table")
        pos = idx[np.searchsorted(fvals, fv.astype(float))].astype(np.int64)
        K = int(pos.max()) + 1
    elif sp is not None:
        # keep the space's fidelity numbering when values are its integers
        ids = fv.astype(float)
        if not (np.all(ids == np.round(ids)) and ids.min() >= 1):
            ids = np.searchsorted(fvals, fv.astype(float)) + 1.0
            log.info("fidelity values mapped to steps 1..%d", K)
        pos = ids.astype(np.int64) - 1
        K = int(pos.max()) + 1
    else:
        pos = np.searchsorted(fvals, fv.astype(float))
    # seeds, run ids
    if seed is not None:
        try:
            svf = np.asarray(df[seed].to_numpy(), float)
        except (TypeError, ValueError):
            raise InvalidValueError(f"column {seed!r}", "non-numeric seeds",
                                    "non-negative integers", where_) from None
        if not np.all(np.isfinite(svf)) or not np.all(svf == np.round(svf)) or \
                (svf < 0).any():
            raise InvalidValueError(f"column {seed!r}", "non-integer or negative seeds",
                                    "non-negative integers", where_)
        sv = svf.astype(np.int64)
    else:
        sv = np.zeros(len(df), np.int64)
    if run_id is not None:
        rid, _ = pd.factorize(df[run_id], sort=False)
    else:
        rid = np.zeros(len(df), np.int64)
    # hyperparameter columns
    cs_obj = None
    if configspace is not None:
        import ConfigSpace as CS

        if isinstance(configspace, CS.ConfigurationSpace):
            cs_obj = configspace
        else:
            p = check_path("configspace", configspace, must_exist=True, where=where_)
            try:
                cs_obj = CS.ConfigurationSpace.from_json(p)
            except Exception as exc:  # noqa: BLE001 - any parse failure of a user file
                raise InvalidValueError("configspace", str(p), "a ConfigSpace JSON file "
                                        "(ConfigurationSpace.to_json)", where_,
                                        hint=f"{type(exc).__name__}: {str(exc)[:200]}") \
                    from None
    if hyperparameters is not None:
        hp_from = "named"
        config = list(hyperparameters)
    elif sp is not None or cs_obj is not None:
        hp_from = "space"
        names = list(sp.names) if sp is not None else list(cs_obj.keys())
        infid = sp.fidelity.name if sp is not None and sp.fidelity.in_config else None
        missing = [n for n in names if n not in df.columns and n != infid]
        if missing:
            raise UnknownNameError("column", missing[0], list(df.columns), where_,
                                   hint=f"hyperparameter {missing[0]!r} of the given space "
                                        "has no column in this file")
        config = [n for n in names if n in df.columns]
    else:
        hp_from = "inferred"
        cands = [c for c in df.columns if c not in set(special) | set(ignore)]
        for c in cands:
            if c in (where or {}) and df[c].nunique(dropna=False) <= 1:
                ignored[c] = "filtered by where (one value left)"
            elif _id_like(c):
                ignored[c] = ("id-like name (name it in --hyperparameters to use it, or in "
                              "--ignore to silence this)")
        cands = [c for c in cands if c not in ignored]
        ignored.update(_classify_candidates(df, cands, pos if fidelity is not None else None,
                                            sv if seed is not None else None,
                                            rid if run_id is not None else None))
        config = [c for c in cands if c not in ignored]
    for c in df.columns:
        if c not in set(special) | set(config) | set(ignored):
            ignored[c] = "not a hyperparameter of the given space" if hp_from == "space" \
                else "not named"
    if not config:
        raise InvalidValueError("hyperparameters", config, "at least one config column",
                                where_)
    if hp_types:
        unknown = sorted(set(hp_types) - set(config))
        if unknown:
            raise UnknownNameError("declared hyperparameter", unknown[0], config, where_)
    # configs
    cfg_key = df[config].astype(str).agg("\x1f".join, axis=1) if len(config) > 1 \
        else df[config[0]].astype(str)
    cidx, cuniq = pd.factorize(cfg_key, sort=False)
    n_cfg = len(cuniq)
    first_row = np.zeros(n_cfg, np.int64)
    first_row[cidx[::-1]] = np.arange(len(df))[::-1]
    # runs: (config, seed) or (config, run_id)
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
        at = "" if fidelity is None else \
            f" at {fidelity}={fvals[p] if p < fvals.size else p + 1}"
        raise InvalidValueError("rows", f"{int(cnt[r, p])} rows for one run{at}",
                                "one row per (config, seed, fidelity)", where_,
                                hint="add the seed/run_id column or filter with where="
                                     + ("; a table without a fidelity column has one row per "
                                        "run" if fidelity is None else ""))
    from ..surrogates.model import metric_kind

    curves = {}
    resolved = {}
    for m in metrics:
        vals = pd.to_numeric(df[m], errors="coerce").to_numpy(dtype=float)
        _check_metric_values(m, df[m], vals, where_)
        if m in scales:
            vals = vals * scales[m]
        info = minfo.get(m) or {"kind": metric_kind(m),
                                "goal": "max" if metric_kind(m) == "acc" else "min",
                                "transform": None}
        fin = vals[rows_ok & np.isfinite(vals)]
        if fin.size:
            lo, hi = float(fin.min()), float(fin.max())
            if info["kind"] == "acc" and (lo < 0 or hi > 1):
                bad = hi if hi > 1 else lo
                pct = 2 < hi <= 100 and lo >= 0
                raise InvalidValueError(
                    f"column {m!r}", bad, "accuracies in [0, 1]", where_,
                    hint=f"its values span [{lo:g}, {hi:g}]"
                         + (f": percent? pass --scale {m}=0.01 (scale={{{m!r}: 0.01}})"
                            if pct else "") +
                         (f"; or declare another kind with --metric-spec {m}=min|max"
                          if metric_kind(m) != "acc" else ""))
            if info["transform"] == "log" and lo < 0:
                raise InvalidValueError(f"column {m!r}", lo, "values >= 0 (declared transform "
                                        "log)", where_)
            if info["transform"] == "logit" and (lo < 0 or hi > 1):
                raise InvalidValueError(f"column {m!r}", lo if lo < 0 else hi,
                                        "values in [0, 1] (declared transform logit)", where_)
            if info["kind"] == "loss" and lo < 0:
                raise InvalidValueError(f"column {m!r}", lo, "losses >= 0", where_,
                                        hint=f"declare it with --metric-spec {m}=min (a "
                                             "minimised metric that may be negative), or "
                                             "rename it")
        a = np.full((n_runs, K), np.nan)
        a[ridx[rows_ok], pos[rows_ok]] = vals[rows_ok]
        curves[m] = a
        resolved[m] = {**info, **({"scale": scales[m]} if m in scales else {})}
    have = cnt > 0
    n_ep = np.where(have.any(axis=1), K - np.argmax(have[:, ::-1], axis=1), 0)
    if time is not None or cum_time is not None:
        col = time or cum_time
        tv = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        _check_metric_values(col, df[col], tv, where_)
        t = np.full((n_runs, K), np.nan)
        t[ridx[rows_ok], pos[rows_ok]] = tv[rows_ok]
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
        time_desc = (f"column {col!r} ({'cumulative' if cum_time else 'per-step'} seconds)")
    else:
        t = np.ones((n_runs, K))
        unit = "unit cost per fidelity step (the source has no runtime)"
        time_desc = "none: every step costs 1 (unit cost)"
    # static metrics (per config)
    stat = {}
    for s in static:
        v = pd.to_numeric(df[s], errors="coerce").to_numpy(dtype=float)
        _check_metric_values(s, df[s], v, where_)
        stat[s] = v[first_row]
        # constant within a config (up to float noise), else it is not a static metric
        ref = stat[s][cidx]
        tol = 1e-9 * np.maximum(np.abs(ref), 1.0)
        differ = ~((np.abs(v - ref) <= tol) | (np.isnan(v) & np.isnan(ref)))
        if differ.any():
            r = int(np.argmax(differ))
            raise InvalidValueError(
                f"static {s!r}", float(v[r]), f"the config's value in its first row, "
                f"{ref[r]:g} (a static metric is constant within a config)", where_,
                hint=f"{int(differ.sum())} row(s) differ, e.g. row {r}; a value that "
                "changes between seeds or steps is a metric (--metrics), not static")
    # the space
    space_given = sp is not None or cs_obj is not None
    meta = {"fidelity_values": [float(x) for x in fvals], "fidelity_column": fidelity}
    if cs_obj is not None:
        stem = Path(str(src_name)).name.split(".")[0] if src_name else "frame"
        sp = Space(space_name or f"imported-{stem}", "1.0", cs_obj,
                   [Fidelity(fidelity or "fidelity", 1, K, True, False)],
                   order=list(cs_obj.keys()), metadata=meta,
                   description=f"imported from tidy data with a ConfigSpace "
                               f"({len(config)} hyperparameters)")
    elif sp is None:
        stem = Path(str(src_name)).name.split(".")[0] if src_name else "frame"
        sp = space_from_frame(df.iloc[first_row], config, fidelity, K,
                              name=space_name or f"imported-{stem}", metadata=meta,
                              types=hp_types)
    elif sp.fidelity.upper < K:
        raise InvalidValueError(fidelity or "fidelity", K, f"at most {sp.fidelity.upper:g} "
                                f"steps for space {sp.name!r}", where_)
    if space_given:
        _check_in_space(df.iloc[first_row], config, sp, where_,
                        f"the --space-from table {ref_table.path}" if ref_table is not None
                        else None)
    cfg_frame = df.iloc[first_row][config]
    recs = []
    for row in cfg_frame.itertuples(index=False, name=None):
        cfg = {}
        for c, v in zip(config, row, strict=True):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            kind = sp.kind(c)
            if kind == "categorical" and isinstance(sp.choices(c)[0], str):
                v = _cat_str(v)
            elif kind == "int":
                v = int(v)
            elif kind == "float":
                v = float(v)
            elif kind == "constant":
                v = sp.choices(c)[0]
            elif kind == "ordinal":
                ch = sp.choices(c)
                txt = [_cat_str(x) for x in ch]
                v = ch[txt.index(_cat_str(v))] if _cat_str(v) in txt else v
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
    n_seeds = int(np.unique(run_seed[keep_run]).size)
    summary = {"hyperparameters": list(config), "hyperparameters_from": hp_from,
               "hyperparameter_details": [_describe_hp(sp, c) for c in config],
               "metrics": resolved, "static": list(static), "seed": seed,
               "run_id": run_id, "n_seeds": n_seeds,
               "seeds_per_config": float(np.median(np.bincount(run_cfg[keep_run]))),
               "fidelity": fidelity, "n_fidelities": int(K), "time": time_desc,
               "ignored": ignored,
               "space": sp.name if hp_from == "space" else None,
               "space_from": str(ref_table.path) if ref_table is not None else None}
    prov = {"imported_from": str(src_name) if src_name else "DataFrame",
            "importer": "hasbench.tables.importers.import_tidy", "time_unit": unit,
            "fidelity_values": meta["fidelity_values"], "import": summary}
    prov.update(provenance or {})
    attrs = {"time_unit": unit, "fidelity_values": meta["fidelity_values"],
             "fidelity_column": fidelity}
    if minfo:
        attrs["metric_info"] = {m: minfo[m] for m in metrics if m in minfo}
    log.info("import_tidy summary:\n%s", format_import_summary(summary))
    return write_table(outp, sp, runs, max_epochs=K, metrics=metrics, provenance=prov,
                       static_names=static, attrs=attrs)


def _check_in_space(frame, config: Sequence[str], sp: Space, where: str,
                    origin: str | None) -> None:
    """Every value of the config columns lies in the space's bounds/choices; the error names
    the column, the first value outside, the space's bounds and this file's range."""
    import pandas as pd

    of = f"space {sp.name!r}" + (f" ({origin})" if origin else "")
    for c in config:
        if c not in sp.names:
            raise UnknownNameError("hyperparameter", c, list(sp.names), where,
                                   hint=f"a column named as a hyperparameter is not in {of}")
        kind = sp.kind(c)
        s = frame[c]
        s = s[s.notna()]
        if not len(s):
            continue
        if kind in ("float", "int"):
            hp = sp.configspace[c]
            v = pd.to_numeric(s, errors="coerce").to_numpy(float)
            lo, hi = float(hp.lower), float(hp.upper)
            tol = 1e-9 * max(abs(lo), abs(hi))  # 10-digit canonical values
            bad = ~np.isfinite(v) | (v < lo - tol) | (v > hi + tol)
            if bad.any():
                fv = v[np.isfinite(v)]
                rng = (f"[{_fmt_num(float(fv.min()))}, {_fmt_num(float(fv.max()))}]"
                       if fv.size else "non-numeric")
                raise InvalidValueError(
                    f"column {c!r}", s[bad].iloc[0], f"values in [{_fmt_num(lo)}, "
                    f"{_fmt_num(hi)}] (the bounds of {c!r} in {of})", where,
                    hint=f"this file's values of {c!r} span {rng}; declare the bounds both "
                         "files share (--hp / --configspace) when importing the first")
        elif kind in ("categorical", "ordinal", "constant"):
            allowed = [_cat_str(x) for x in sp.choices(c)]
            txt = s.map(_cat_str)
            bad = ~txt.isin(allowed)
            if bad.any():
                raise InvalidValueError(f"column {c!r}", txt[bad].iloc[0], allowed, where,
                                        hint=f"the choices of {c!r} in {of}")


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
        raise MissingDependencyError("pyarrow", "exporting to Syne Tune (parquet files)",
                                     "parquet", "export_synetune") from None
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
    rest. Deterministic for (table, fraction, seed).

    Each part is a vectorised copy of the source's arrays (configs, static metrics, runs
    with every per-epoch array, ``cpu_time``/``cuda_time`` included, status, attrs), in
    the source's order, written in one atomic step; the source was validated when it was
    read, so the runs are not re-validated one by one (248,832 runs took minutes that way).
    """
    from .runtable import _atomic_write, _State, default_provenance

    where = "split_table"
    if not isinstance(table, RunTable):
        table = RunTable.read(check_path("table", table, must_exist=True, where=where))
    fraction = check_float("fraction", fraction, 0.0, 1.0, where, low_open=True,
                           high_open=True)
    # a split must be reproducible from its provenance: no seed=None (OS entropy)
    seed = check_int("seed", seed, 0, None, where)
    paths = []
    for name, p in (("first", first), ("second", second)):
        pp = check_path(name, p, where=where)
        if pp.exists():
            raise InvalidValueError(name, str(pp), "a path that does not exist yet", where,
                                    hint="hasbench never overwrites a file")
        if not pp.parent.is_dir():
            raise InvalidValueError(name, str(pp), "a path in an existing folder", where)
        paths.append(pp)
    if paths[0].resolve() == paths[1].resolve():
        raise InvalidValueError("second", str(paths[1]), "a path other than first", where)
    C = table.n_configs
    perm = np.random.default_rng(seed).permutation(C)
    n2 = int(round(fraction * C))
    sec = np.zeros(C, bool)
    sec[perm[:n2]] = True
    st = table._st
    outs = []
    for path, mask, part in ((paths[0], ~sec, "first"), (paths[1], sec, "second")):
        prov = dict(table.provenance)
        prov["split_of"] = {"table": str(table.path), "fraction": fraction, "seed": seed,
                            "part": part}
        new = _State(st.space, st.metrics, st.max_epochs, st.static_names,
                     default_provenance(**prov), st.attrs)
        ci = np.nonzero(mask)[0]
        renum = np.full(C, -1, np.int64)
        renum[ci] = np.arange(ci.size)
        rk = mask[st.run_config] if st.run_config.size else np.zeros(0, bool)
        new.X = st.X[ci]
        new.cfg_json = [st.cfg_json[i] for i in ci]
        new.cfg_ids = [st.cfg_ids[i] for i in ci]
        new.static = {s: np.asarray(st.static[s])[ci] for s in st.static_names}
        new.run_config = renum[st.run_config[rk]]
        new.run_seed = st.run_seed[rk]
        new.run_n_epochs = st.run_n_epochs[rk]
        new.run_status = [x for x, k in zip(st.run_status, rk, strict=True) if k]
        new.curves = {m: st.curves[m][rk] for m in st.metrics}
        for arr in ("epoch_time", "cum_time", "cpu_time", "cuda_time"):
            setattr(new, arr, getattr(st, arr)[rk])
        _atomic_write(path, new)
        outs.append(RunTable(new, path))
    return outs[0], outs[1]
