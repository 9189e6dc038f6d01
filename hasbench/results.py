"""Load simulated traces into one DataFrame for analysis.

>>> from hasbench.results import load_traces
>>> df = load_traces(["runs/bohb", "runs/bohb-eta2:bohb eta=2"])   # doctest: +SKIP
>>> df.columns                                                     # doctest: +SKIP
Index(['label', 'optimizer', 'seed', 'benchmark', 'time', 'incumbent', ..., 'regret'])

Regret
------
The incumbent is chosen by its *observed* loss (what the optimizer knows: one seed's draw);
``regret`` is the *expected* (noise-free) loss of that incumbent's config at the
benchmark's maximum fidelity (the trace's ``incumbent_true``, what the user gets by
training it fully) minus the benchmark's fixed expected optimum (``optimum_loss`` in the
trace's metadata; see :mod:`hasbench.benchmarks.optimum`). It is never computed from the
traces being loaded, so two calls with different traces rank optimizers against the same
zero. ``regret_observed`` (``incumbent - optimum``: the luckiest draw's loss) is kept by
name; it can be negative and its bias differs between optimizers.

Runs
----
Traces are keyed by ``label``: the name given as ``DIR:LABEL`` (or ``labels=``), else the
optimizer's name. Runs under one label must have the same settings (optimizer and its
options, workers, budgets, objective, noise); otherwise :func:`load_traces` refuses to
merge them and names the settings that differ, so ablations never blend silently.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import InvalidValueError, check_choice, check_path
from .simulate.trace import Trace

__all__ = ["load_traces", "trace_files", "incumbent_on_grid", "anytime_summary", "plot_anytime",
           "parse_labelled", "run_settings"]

#: trace metadata that does not define a run's settings (varies per seed or machine)
#: (``cost_metric`` is a property of the benchmark, already named, and absent in traces
#: written before 2026-12-03: it must not split otherwise equal runs)
_NOT_SETTINGS = {"seed", "overhead_seconds", "hasbench_version", "space", "optimum_source",
                 "cost_metric"}

#: the incumbent column each regret kind is computed from
_REGRET = {("true", "incumbent"): "incumbent_true",
           ("true", "incumbent_any"): "incumbent_any_true",
           ("observed", "incumbent"): "incumbent",
           ("observed", "incumbent_any"): "incumbent_any"}


def trace_files(path: Any) -> list[Path]:
    """Trace files under ``path`` (a file, or a directory searched recursively)."""
    p = check_path("path", path, must_exist=True)
    if p.is_file():
        return [p]
    files = sorted(f for f in p.rglob("seed-*") if f.suffix in (".parquet", ".csv")
                   and not f.name.startswith("."))
    return files


def parse_labelled(item: Any) -> tuple[Path, str | None]:
    """``"DIR:LABEL"`` -> ``(DIR, LABEL)``; a path that exists as written (even with a
    colon in it) or without a colon -> ``(path, None)``."""
    if isinstance(item, Path):
        return item, None
    text = str(item)
    if ":" in text and not Path(text).expanduser().exists():
        head, label = text.rsplit(":", 1)
        if head and label.strip():
            return Path(head), label.strip()
    return Path(text), None


def run_settings(meta: dict[str, Any]) -> dict[str, Any]:
    """The settings of the run a trace belongs to: its metadata without what varies by
    seed or machine (seed, overhead, version)."""
    return {k: v for k, v in sorted(meta.items()) if k not in _NOT_SETTINGS}


def _differences(a: dict, b: dict) -> str:
    keys = sorted(set(a) | set(b))
    diff = [f"{k}: {a.get(k)!r} vs {b.get(k)!r}" for k in keys if a.get(k) != b.get(k)]
    return "; ".join(diff[:6]) + (" ..." if len(diff) > 6 else "")


def load_traces(paths: Any, *, optimum: float | None = None, events: bool = False,
                kind: str = "incumbent", regret: str = "true",
                labels: dict | list | None = None, progress: bool = False) -> pd.DataFrame:
    """Incumbent trajectories of many traces, tidy.

    Parameters
    ----------
    paths : path or iterable of paths
        Trace files or directories (e.g. ``runs/`` holding ``runs/bohb``, ``runs/rs``);
        ``"DIR:LABEL"`` names a run.
    optimum : float, optional
        Loss used as the regret's zero instead of the benchmark's (recorded in each
        trace). Required only for traces of a benchmark that knows no optimum.
    events : bool
        ``False`` (default): one row per change of any incumbent column. ``True``: one row
        per job.
    kind : {"incumbent", "incumbent_any"}
        Which incumbent defines ``regret``: the best at the largest fidelity evaluated so far
        (HpBandSter/BOHB convention) or at any fidelity (Syne Tune).
    regret : {"true", "observed"}
        ``"true"`` (default): the incumbent's expected loss at the maximum fidelity minus
        the optimum; ``"observed"``: its observed loss minus the optimum (see the module
        docstring). Both are returned, as ``regret_true`` and ``regret_observed``; ``regret``
        is the chosen one.
    labels : dict or list, optional
        ``{path: label}`` or one label per entry of ``paths`` (``None`` entries: default).
    progress : bool
        Show a progress bar (tqdm) over the trace files.

    Returns
    -------
    DataFrame
        Columns ``label, optimizer, seed, benchmark, n_workers, time, incumbent,
        incumbent_any, incumbent_true, incumbent_any_true, fidelity, regret, regret_true,
        regret_observed`` (``time`` = simulated seconds at which the value became known).
        ``attrs``: ``optimum`` (per benchmark), ``optimum_source``, ``regret``, ``kind``.
    """
    where = "load_traces"
    check_choice("kind", kind, ["incumbent", "incumbent_any"], where)
    check_choice("regret", regret, ["true", "observed"], where)
    if isinstance(paths, (str, Path)):
        paths = [paths]
    items = [parse_labelled(p) for p in paths]
    if labels is not None:
        if isinstance(labels, dict):
            lab = {str(k): v for k, v in labels.items()}
            items = [(p, lab.get(str(p), lb)) for p, lb in items]
        else:
            labels = list(labels)
            if len(labels) != len(items):
                raise InvalidValueError("labels", labels, f"one label per path ({len(items)})",
                                        where)
            items = [(p, lb if lb is not None else li)
                     for (p, li), lb in zip(items, labels, strict=True)]
    files: list[tuple[Path, str | None]] = []
    listed: set[Path] = set()
    for p, lb in items:
        for f in trace_files(p):
            if f.resolve() not in listed:  # a file reached through two arguments: once
                listed.add(f.resolve())
                files.append((f, lb))
    if not files:
        raise InvalidValueError("paths", [str(p) for p in paths],
                                "directories or files holding hasbench traces (seed-*.parquet)",
                                where)
    parts = []
    runs: dict[tuple, tuple[dict, Path]] = {}  # (benchmark, label) -> (settings, first file)
    seen: dict[tuple, Path] = {}
    optima: dict[str, tuple[float, str]] = {}
    ecol = _REGRET[(regret, kind)]
    it = files
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(files, unit="trace", desc="loading traces", leave=False)
    for f, lb in it:
        tr = Trace.load(f)
        meta = tr.meta
        bench = meta.get("benchmark")
        label = lb if lb is not None else meta.get("optimizer")
        settings = run_settings(meta)
        key = (bench, label)
        if key in runs and runs[key][0] != settings:
            raise InvalidValueError(
                "paths", f"{runs[key][1].parent} and {f.parent}",
                "runs with the same settings under one label", where,
                hint=f"both are labelled {label!r} but differ in {_differences(runs[key][0], settings)}"
                     "; give each its own label (CLI: DIR:LABEL, e.g. "
                     f"{f.parent}:{label}-b)")
        runs.setdefault(key, (settings, f))
        skey = (bench, label, int(meta.get("seed", -1)))
        if skey in seen and seen[skey] != f:
            raise InvalidValueError("paths", f"{seen[skey]} and {f}", "one trace per seed and "
                                    "label", where, hint=f"seed {skey[2]} of {label!r} is "
                                    "loaded twice; pass each run folder once")
        seen[skey] = f
        if optimum is not None:
            optima[bench] = (float(optimum), "given")
        elif meta.get("optimum_loss") is not None:
            o = (float(meta["optimum_loss"]), str(meta.get("optimum_source") or "benchmark"))
            if bench in optima and optima[bench][0] != o[0]:
                raise InvalidValueError("paths", str(f), "traces of one benchmark recording "
                                        "one optimum", where,
                                        hint=f"{bench}: {optima[bench][0]!r} vs {o[0]!r}; the "
                                        "benchmark changed between runs; pass optimum=")
            optima[bench] = o
        else:
            raise InvalidValueError("optimum", None, "a number", where,
                                    hint=f"{f} (benchmark {bench!r}) records no optimum; "
                                    "pass optimum= (CLI: --optimum)")
        fr = tr.frame
        fr = fr[fr["status"] != "pruned"]
        if "incumbent_true" not in fr.columns or meta.get("expected_values") is False:
            if regret == "true":
                raise InvalidValueError("regret", regret, ["observed"], where,
                                        hint=f"{f} is a trace without expected values "
                                        f"(schema {tr.schema_version}, or replayed with "
                                        "expected=False); re-run it with this "
                                        "hasbench, or use regret='observed' (CLI: "
                                        "--regret observed)")
            fr = fr.assign(incumbent_true=np.nan, incumbent_any_true=np.nan)
        d = pd.DataFrame({
            "label": label, "optimizer": meta.get("optimizer"),
            "seed": int(meta.get("seed", -1)), "benchmark": bench,
            "n_workers": meta.get("n_workers"), "time": fr["end"].to_numpy(),
            "incumbent": fr["incumbent"].to_numpy(),
            "incumbent_any": fr["incumbent_any"].to_numpy(),
            "incumbent_true": fr["incumbent_true"].to_numpy(),
            "incumbent_any_true": fr["incumbent_any_true"].to_numpy(),
            "fidelity": fr["fidelity"].to_numpy()})
        if not events and len(d):
            v = d[["incumbent", "incumbent_any", "incumbent_true",
                   "incumbent_any_true"]].to_numpy()
            same = (v[1:] == v[:-1]) | (np.isnan(v[1:]) & np.isnan(v[:-1]))
            keep = np.r_[True, ~same.all(axis=1)]
            d = d[keep]
        parts.append(d)
    df = pd.concat(parts, ignore_index=True)
    opt = df["benchmark"].map({b: o for b, (o, _) in optima.items()}).to_numpy(dtype=float)
    df["regret_true"] = df[_REGRET[("true", kind)]] - opt
    df["regret_observed"] = df[_REGRET[("observed", kind)]] - opt
    df["regret"] = df[ecol] - opt
    neg = df["regret_true"].to_numpy() < -1e-9
    if neg.any():
        worst = df.loc[neg].nsmallest(1, "regret_true").iloc[0]
        warnings.warn(f"true regret is negative ({worst['regret_true']:.3g} for "
                      f"{worst['label']} seed {worst['seed']} on {worst['benchmark']}): the "
                      "benchmark's recorded optimum is not its optimum; report this",
                      stacklevel=2)
    if len(optima) == 1:
        (o, src), = optima.values()
        df.attrs["optimum"], df.attrs["optimum_source"] = o, src
    else:
        df.attrs["optimum"] = {b: o for b, (o, _) in optima.items()}
        df.attrs["optimum_source"] = {b: s for b, (_, s) in optima.items()}
    df.attrs["regret"] = regret
    df.attrs["kind"] = kind
    df.attrs["runs"] = {f"{b}/{lb}": st for (b, lb), (st, _) in runs.items()}
    return df


def _run_keys(df: pd.DataFrame) -> list[str]:
    """Columns that identify one seed's trajectory (benchmark and label when present)."""
    keys = [c for c in ("benchmark", "label") if c in df.columns]
    return keys + (["optimizer"] if "label" not in df.columns else []) + ["seed"]


def incumbent_on_grid(df: pd.DataFrame, times: Iterable[float],
                      column: str = "regret") -> pd.DataFrame:
    """Forward-fill each seed's trajectory (per benchmark and label) onto a common time
    grid: the value known at each grid time (results arriving later are not credited; NaN
    before the first).

    Returns a DataFrame ``[benchmark,] label, optimizer, seed, time, <column>``.
    """
    t = np.asarray(list(times), dtype=float)
    keys = _run_keys(df)
    extra = ["optimizer"] if "label" in df.columns and "optimizer" in df.columns else []
    out = []
    for k, g in df.groupby(keys, sort=True):
        g = g.sort_values("time", kind="stable")
        idx = np.searchsorted(g["time"].to_numpy(), t, side="right") - 1
        vals = g[column].to_numpy()
        v = np.where(idx >= 0, vals[np.clip(idx, 0, None)], np.nan)
        cols = dict(zip(keys, k if isinstance(k, tuple) else (k,), strict=True))
        for c in extra:
            cols[c] = g[c].iloc[0]
        out.append(pd.DataFrame({**cols, "time": t, column: v}))
    return pd.concat(out, ignore_index=True)


def _quantile_worst(x: np.ndarray, q: float) -> float:
    """Linear-interpolation quantile of ``x`` where ``inf`` (no result yet) ranks worst;
    ``inf`` when the quantile reaches into the seeds without a result."""
    xs = np.sort(x)
    pos = q * (xs.size - 1)
    lo, hi = int(np.floor(pos)), int(np.ceil(pos))
    a, b = xs[lo], xs[hi]
    if lo == hi or a == b:
        return float(a)
    if not np.isfinite(b):
        return math.inf
    return float(a + (b - a) * (pos - lo))


def anytime_summary(df: pd.DataFrame, n_points: int = 200, column: str = "regret",
                    quantiles: tuple[float, float] = (0.25, 0.75),
                    missing: str = "worst") -> pd.DataFrame:
    """Median and inter-quantile band of ``column`` over seeds, per run (label; with the
    benchmark when several are loaded), on a log-spaced grid of simulated times from the
    first result to the last.

    Parameters
    ----------
    missing : {"worst", "drop"}
        A seed that has no result yet at a grid time: ``"worst"`` (default) ranks it
        behind every seed that has one, so each statistic is over all seeds; a statistic
        that still falls on seeds without a result is left out (the line starts once
        enough seeds have reported). The statistics never get worse over time when every
        seed's curve only improves, which holds for ``regret_observed`` with
        ``kind="incumbent_any"`` only: true regret rises when a lucky draw makes a worse
        config the observed best, and the ``"incumbent"`` kind rises when a larger
        fidelity is first reached. ``"drop"`` computes the statistics over the seeds
        with a result only (the early curve then describes the fastest seeds and can rise
        as slower ones arrive).

    Returns a DataFrame ``optimizer, time, median, low, high, n`` (``optimizer`` holds the
    run's name: its label, prefixed ``benchmark/`` when several benchmarks are loaded)
    where ``n`` is the number
    of seeds with a result by that time; with ``missing="worst"``, ``low`` / ``high`` are
    NaN while that quantile is still undefined."""
    check_choice("missing", missing, ["worst", "drop"], "anytime_summary")
    if df.empty:
        raise InvalidValueError("df", "an empty frame", "traces loaded by load_traces")
    lo_q, hi_q = quantiles
    t0 = max(float(df.loc[df["time"] > 0, "time"].min()), 1e-9)
    t1 = float(df["time"].max())
    grid = np.geomspace(t0, max(t1, t0 * 1.0001), n_points)
    g = incumbent_on_grid(df, grid, column)
    g["run"] = _run_names(g)
    rows = []
    for (opt, t), v in g.groupby(["run", "time"], sort=True)[column]:
        x = v.to_numpy(dtype=float)
        n = int(np.isfinite(x).sum())
        if n == 0:
            continue
        if missing == "drop":
            x = x[np.isfinite(x)]
            rows.append((opt, t, float(np.median(x)), float(np.quantile(x, lo_q)),
                         float(np.quantile(x, hi_q)), n))
            continue
        x = np.where(np.isfinite(x), x, math.inf)
        med = _quantile_worst(x, 0.5)
        if not np.isfinite(med):
            continue
        lo, hi = (_quantile_worst(x, q) for q in (lo_q, hi_q))
        rows.append((opt, t, med, lo if np.isfinite(lo) else math.nan,
                     hi if np.isfinite(hi) else math.nan, n))
    return pd.DataFrame(rows, columns=["optimizer", "time", "median", "low", "high", "n"])


def _default_title(df: pd.DataFrame) -> str:
    """``benchmark: W workers, budget T s`` from the runs' settings (when all runs share
    them), then what the lines are."""
    runs = list(df.attrs.get("runs", {}).values())
    parts = []
    benches = sorted({str(r.get("benchmark")) for r in runs}) or \
        sorted(df["benchmark"].astype(str).unique()) if "benchmark" in df.columns else []
    if benches:
        parts.append(", ".join(benches))
    for key, fmt in (("objective", "loss = 1 - {}"), ("n_workers", "{:g} workers"),
                     ("time_budget", "budget {:.4g} s"), ("max_evaluations",
                                                          "{:g} evaluations")):
        vals = {r.get(key) for r in runs}
        if len(vals) == 1 and None not in vals:
            v = vals.pop()
            if key == "objective" and not str(v).endswith("_acc"):
                fmt = "loss = {}"
            parts.append(fmt.format(v))
    head = parts[0] + (": " + ", ".join(parts[1:]) if len(parts) > 1 else "") if parts else ""
    return (head + "\n" if head else "") + "median and 25-75% band over seeds"


def _run_names(g: pd.DataFrame) -> pd.Series:
    name = g["label"] if "label" in g.columns else g["optimizer"]
    if "benchmark" in g.columns and g["benchmark"].nunique() > 1:
        name = g["benchmark"].astype(str) + "/" + name.astype(str)
    return name.astype(str)


def plot_anytime(df: pd.DataFrame, path: Any, title: str | None = None,
                 column: str = "regret", overwrite: bool = False,
                 missing: str = "worst") -> Path:
    """Plot median ``column`` (default regret) vs simulated time, one line per optimizer,
    with the 25-75% band over seeds; log-log axes. Writes ``path`` (PNG/PDF/SVG) and
    returns it. Refuses to overwrite an existing file unless ``overwrite=True``.
    ``missing``: how seeds without a result yet count, see :func:`anytime_summary`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = check_path("path", path)
    if out.exists() and not overwrite:
        raise InvalidValueError("path", str(out), "a path that does not exist yet",
                                "plot_anytime", hint="pass overwrite=True (CLI: --overwrite) "
                                "to replace it")
    summ = anytime_summary(df, column=column, missing=missing)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for opt, g in summ.groupby("optimizer", sort=True):
        line, = ax.plot(g["time"], g["median"], label=f"{opt} ({int(g['n'].max())} seeds)")
        ax.fill_between(g["time"], g["low"], g["high"], alpha=0.2, color=line.get_color(),
                        linewidth=0)
    ax.set_xscale("log")
    vals = summ[["median", "low", "high"]].to_numpy()
    vals = vals[np.isfinite(vals)]
    if vals.size and np.all(vals > 0):
        ax.set_yscale("log")
    elif vals.size and np.all(vals >= 0) and np.any(vals > 0):
        # regret reaches exactly 0 (the best config was found): log scale above a floor
        floor = max(float(vals[vals > 0].min()), 1e-4 * float(vals.max()))
        ax.set_yscale("symlog", linthresh=floor)
        ax.set_ylim(bottom=0)
    ax.set_xlabel("simulated wall-clock time (s)")
    ylabel = column
    o = df.attrs.get("optimum", 0)
    o_txt = f"{o:.4g}" if isinstance(o, (int, float)) else "optimum"
    kind = column if column != "regret" else f"regret_{df.attrs.get('regret', 'true')}"
    if kind == "regret_true":
        ylabel = f"true regret (expected loss of incumbent - {o_txt})"
    elif kind == "regret_observed":
        ylabel = f"observed regret (incumbent's observed loss - {o_txt})"
    ax.set_ylabel(ylabel)
    ax.set_title(title or _default_title(df), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
