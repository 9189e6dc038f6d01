"""Load simulated traces into one DataFrame for analysis.

>>> from hasbench.results import load_traces
>>> df = load_traces("runs/bohb")            # doctest: +SKIP
>>> df.columns                                 # doctest: +SKIP
Index(['optimizer', 'seed', 'time', 'incumbent', 'incumbent_any', 'regret', ...])

Regret is ``incumbent - optimum``. The optimum is the benchmark's known optimum loss when the
trace records one (synthetic benchmarks), else -- stated in ``df.attrs['optimum_source']`` --
the best loss at the maximum fidelity over every trace loaded in the call (an empirical
optimum; pass ``optimum=`` to fix it across calls).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import InvalidValueError, check_choice, check_path
from .simulate.trace import Trace

__all__ = ["load_traces", "trace_files", "incumbent_on_grid", "anytime_summary", "plot_anytime"]


def trace_files(path: Any) -> list[Path]:
    """Trace files under ``path`` (a file, or a directory searched recursively)."""
    p = check_path("path", path, must_exist=True)
    if p.is_file():
        return [p]
    files = sorted(f for f in p.rglob("seed-*") if f.suffix in (".parquet", ".csv")
                   and not f.name.startswith("."))
    return files


def load_traces(paths: Any, *, optimum: float | None = None, events: bool = False,
                kind: str = "incumbent") -> pd.DataFrame:
    """Incumbent trajectories of many traces, tidy.

    Parameters
    ----------
    paths : path or iterable of paths
        Trace files or directories (e.g. ``runs/`` holding ``runs/bohb``, ``runs/rs``).
    optimum : float, optional
        Loss used as the regret's zero. Default: see the module docstring.
    events : bool
        ``False`` (default): one row per incumbent change. ``True``: one row per job.
    kind : {"incumbent", "incumbent_any"}
        Which incumbent defines ``regret`` (both columns are returned).

    Returns
    -------
    DataFrame
        Columns ``optimizer, seed, benchmark, n_workers, time, incumbent, incumbent_any,
        fidelity, regret`` (``time`` = simulated seconds at which the value became known).
    """
    check_choice("kind", kind, ["incumbent", "incumbent_any"], "load_traces")
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for p in paths:
        files.extend(trace_files(p))
    if not files:
        raise InvalidValueError("paths", [str(p) for p in paths],
                                "directories or files holding hasbench traces (seed-*.parquet)")
    parts = []
    opts = []
    emp = math.inf
    for f in files:
        tr = Trace.load(f)
        fr = tr.frame
        fr = fr[fr["status"] != "pruned"]
        meta = tr.meta
        ok = fr["status"] == "ok"
        top = float(meta.get("max_fidelity", fr["fidelity"].max() if len(fr) else 0))
        full = fr.loc[ok & (fr["fidelity"] >= top), "loss"]
        if len(full):
            emp = min(emp, float(full.min()))
        if meta.get("optimum_loss") is not None:
            opts.append(float(meta["optimum_loss"]))
        d = pd.DataFrame({
            "optimizer": meta.get("optimizer"), "seed": int(meta.get("seed", -1)),
            "benchmark": meta.get("benchmark"), "n_workers": meta.get("n_workers"),
            "time": fr["end"].to_numpy(), "incumbent": fr["incumbent"].to_numpy(),
            "incumbent_any": fr["incumbent_any"].to_numpy(),
            "fidelity": fr["fidelity"].to_numpy()})
        if not events and len(d):
            v = d[kind].to_numpy()
            keep = np.r_[True, v[1:] != v[:-1]]
            d = d[keep]
        parts.append(d)
    df = pd.concat(parts, ignore_index=True)
    if optimum is not None:
        opt, src = float(optimum), "given"
    elif opts and len(set(opts)) == 1:
        opt, src = opts[0], "benchmark"
    else:
        opt, src = emp, "empirical best loss at the maximum fidelity over the loaded traces"
    df["regret"] = df[kind] - opt
    df.attrs["optimum"] = opt
    df.attrs["optimum_source"] = src
    return df


def incumbent_on_grid(df: pd.DataFrame, times: Iterable[float],
                      column: str = "regret") -> pd.DataFrame:
    """Forward-fill each (optimizer, seed) trajectory onto a common time grid: the value
    known at each grid time (results arriving later are not credited; NaN before the first).

    Returns a DataFrame ``optimizer, seed, time, <column>``.
    """
    t = np.asarray(list(times), dtype=float)
    out = []
    for (o, s), g in df.groupby(["optimizer", "seed"], sort=True):
        g = g.sort_values("time", kind="stable")
        idx = np.searchsorted(g["time"].to_numpy(), t, side="right") - 1
        vals = g[column].to_numpy()
        v = np.where(idx >= 0, vals[np.clip(idx, 0, None)], np.nan)
        out.append(pd.DataFrame({"optimizer": o, "seed": s, "time": t, column: v}))
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
    """Median and inter-quantile band of ``column`` over seeds, per optimizer, on a
    log-spaced grid of simulated times from the first result to the last.

    Parameters
    ----------
    missing : {"worst", "drop"}
        A seed that has no result yet at a grid time: ``"worst"`` (default) ranks it
        behind every seed that has one, so each statistic is over all seeds and, since
        every seed's incumbent only improves, never gets worse over time; a statistic
        that still falls on seeds without a result is left out (the line starts once
        enough seeds have reported). ``"drop"`` computes the statistics over the seeds
        with a result only (the early curve then describes the fastest seeds and can rise
        as slower ones arrive).

    Returns a DataFrame ``optimizer, time, median, low, high, n`` where ``n`` is the number
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
    rows = []
    for (opt, t), v in g.groupby(["optimizer", "time"], sort=True)[column]:
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
    if column == "regret":
        ylabel = f"regret of the incumbent (loss - {df.attrs.get('optimum', 0):.4g})"
    ax.set_ylabel(ylabel)
    ax.set_title(title or "anytime performance: median and 25-75% over seeds")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
