"""Figures of optimizer runs: one function per figure kind, one style.

Every function takes the tidy frame of :func:`hasbench.results.load_traces` (columns
``benchmark, label, seed, time, regret, ...``), computes its numbers with
:mod:`hasbench.analysis.anytime` (the figure shows exactly what those functions return)
and returns a :class:`matplotlib.figure.Figure`; with ``path`` it also writes the figure,
as PNG or PDF by the file's extension (anything else is refused before any work):

- :func:`plot_anytime`: median or mean over seeds with its bootstrap 95% CI band, vs
  simulated time or number of evaluations (:func:`~hasbench.analysis.anytime_performance`);
- :func:`plot_rank`: average rank over time (:func:`~hasbench.analysis.average_rank`);
- :func:`plot_ecdf`: ECDF of the final regret over seeds (:func:`~hasbench.analysis.regret_ecdf`);
- :func:`plot_speedup`: speed-up over a baseline in time-to-target, with bootstrap CIs
  (:func:`~hasbench.analysis.speedup`);
- :func:`plot_cd`: critical-difference diagram of a Friedman test and its post-hoc
  comparison (:func:`~hasbench.analysis.friedman_test`).

Style (one for all): the Okabe & Ito (2008) colour-blind-safe palette (then line styles
when there are more than eight optimizers), log time axes (time grids are log-spaced from
the first result), log or symlog regret axes (symlog when a regret is exactly 0: the
optimum was found), a unit on every axis, a title naming the benchmark, the simulated
workers and the budget, one legend below the panels (never over a curve), one panel per
benchmark. Figures are plain :class:`~matplotlib.figure.Figure` objects (not pyplot's):
nothing is shown, no backend is chosen and nothing needs closing; a notebook displays the
returned figure. Nothing here needs torch. See docs/analysis.md ("Figures").
"""

from __future__ import annotations

import contextlib
import math
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidValueError, check_choice, check_path
from .anytime import (
    anytime_performance,
    average_rank,
    final_values,
    friedman_test,
    regret_ecdf,
    speedup,
)

__all__ = ["KINDS", "FORMATS", "PALETTE", "plot", "plot_anytime", "plot_rank", "plot_ecdf",
           "plot_speedup", "plot_cd", "check_figure_path", "save_figure", "style",
           "default_baseline", "default_target", "cd_groups"]

#: figure kinds, in the order of ``hasbench plot --kind``
KINDS = ("anytime", "rank", "ecdf", "speedup", "cd")
#: file formats, chosen by the output's extension
FORMATS = ("png", "pdf")
#: Okabe & Ito (2008), black before yellow (yellow is hard to see on white)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
           "#F0E442")
_LINESTYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")

_RC = {"font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "xtick.labelsize": 8,
       "ytick.labelsize": 8, "legend.fontsize": 8.5, "figure.titlesize": 10,
       "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6,
       "axes.spines.top": False, "axes.spines.right": False, "lines.linewidth": 1.6,
       "savefig.dpi": 150, "pdf.fonttype": 42}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The rc settings every figure of this module is drawn and saved under."""
    import matplotlib as mpl

    with mpl.rc_context(_RC):
        yield


def _look(i: int) -> dict[str, Any]:
    """Colour, line style and marker of the ``i``-th label (colours first, then styles)."""
    n = len(PALETTE)
    # a line style per label too, so overlapping curves (BOHB starts as Hyperband) show
    return {"color": PALETTE[i % n], "ls": _LINESTYLES[(i + i // n) % len(_LINESTYLES)],
            "marker": _MARKERS[i % len(_MARKERS)]}


# ------------------------------------------------------------------------ output


def check_figure_path(path: Any, overwrite: bool = False, *, parameter: str = "path",
                      where: str = "plot") -> Path:
    """``path`` as a :class:`~pathlib.Path` ending in ``.png`` or ``.pdf`` (any case);
    refused (:class:`~hasbench.errors.InvalidValueError` naming ``parameter``) for another
    extension, or when it exists and ``overwrite`` is false, or is a folder."""
    p = check_path(parameter, path, where=where)
    ext = p.suffix.lower().lstrip(".")
    if ext not in FORMATS:
        raise InvalidValueError(parameter, str(p), "a file name ending in .png or .pdf",
                                where, hint="the format is chosen by the extension")
    if p.is_dir():
        raise InvalidValueError(parameter, str(p), "a file path", where,
                                hint="it is a folder")
    # the folder is created when missing (save_figure), so a file among its parents is the
    # one thing in the way: refuse before any work rather than fail in mkdir
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InvalidValueError(parameter, str(p), "a path inside a folder", where,
                                        hint=f"{parent} is a file")
            break
    if p.exists() and not overwrite:
        raise InvalidValueError(parameter, str(p), "a path that does not exist yet", where,
                                hint="hasbench never overwrites your files; pass "
                                     "overwrite=True (CLI: --overwrite) to replace it")
    return p


def save_figure(fig, path: Any, overwrite: bool = False, *, parameter: str = "path",
                where: str = "save_figure") -> Path:
    """Write ``fig`` to ``path`` (PNG at 150 dpi or PDF, by the extension), creating the
    folder; the file is written beside the target and moved into place, so a failed
    write leaves no half-written figure. ``bbox_inches="tight"``: nothing is clipped."""
    p = check_figure_path(path, overwrite, parameter=parameter, where=where)
    fmt = p.suffix.lower().lstrip(".")
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}.{fmt}")
    # no creation date / software version in the file: the same figure gives the same bytes
    meta = {"Software": None} if fmt == "png" else {"CreationDate": None, "Producer": None}
    try:
        with style():
            fig.savefig(tmp, format=fmt, bbox_inches="tight", pad_inches=0.05,
                        metadata=meta)
        os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)
    return p


def _finish(fig, path, overwrite, where):
    if path is not None:
        save_figure(fig, path, overwrite, where=where)
    return fig


# ------------------------------------------------------------------------ labels


def _runs(df: pd.DataFrame) -> list[dict]:
    return list(df.attrs.get("runs", {}).values())


def _objective(df: pd.DataFrame) -> str | None:
    objs = {r.get("objective") for r in _runs(df)}
    return objs.pop() if len(objs) == 1 and None not in objs else None


def _loss_text(df: pd.DataFrame) -> str:
    o = _objective(df)
    if o is None:
        return "loss"
    return f"1 - {o}" if str(o).endswith("_acc") else str(o)


def value_label(df: pd.DataFrame, column: str = "regret", what: str | None = None) -> str:
    """Axis label of ``column`` with its unit: regret is in units of the loss."""
    kind = column
    if column == "regret":
        kind = f"regret_{df.attrs.get('regret', 'true')}"
    loss = _loss_text(df)
    head = f"{what} " if what else ""
    if kind == "regret_true":
        return f"{head}true regret\n(expected loss above the optimum; loss = {loss})"
    if kind == "regret_observed":
        return f"{head}observed regret\n(observed loss above the optimum; loss = {loss})"
    return f"{head}{column} (units of the trace)"


def x_label(x: str, relative: bool = False) -> str:
    if relative:
        return "simulated time (fraction of each benchmark's longest run)"
    if x == "evaluations":
        return "evaluations finished (count)"
    return "simulated wall-clock time (s)"


def describe_runs(df: pd.DataFrame) -> str:
    """``benchmark: W workers, budget T s`` from the runs' recorded settings (a setting is
    named when all runs share it)."""
    runs = _runs(df)
    if runs:
        benches = sorted({str(r.get("benchmark")) for r in runs})
    elif "benchmark" in df.columns:
        benches = sorted(df["benchmark"].astype(str).unique())
    else:
        benches = []
    parts = []
    for key, fmt in (("n_workers", "{:g} simulated workers"), ("time_budget",
                                                                "budget {:.4g} s per seed"),
                     ("max_evaluations", "at most {:g} evaluations")):
        vals = {r.get(key) for r in runs}
        if len(vals) == 1 and None not in vals:
            parts.append(fmt.format(vals.pop()))
        elif len(vals) > 1 and key != "max_evaluations":
            parts.append(f"{key.replace('n_', '').replace('_', ' ')} varies by run")
    head = ", ".join(benches) if len(benches) <= 3 else f"{len(benches)} benchmarks"
    return head + (": " + ", ".join(parts) if parts else "")


def _title(df: pd.DataFrame, what: str, title: str | None, width_in: float) -> str:
    text = title if title is not None else f"{describe_runs(df)}\n{what}"
    width = max(40, int(width_in * 72 / (0.55 * _RC["figure.titlesize"])))
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def _scale_y(ax, values) -> None:
    """Log y axis for positive values, symlog when some are 0 (or negative: observed
    regret), linear when all are 0."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size and np.all(v > 0):
        ax.set_yscale("log")
    elif v.size and np.any(v != 0):
        a = np.abs(v[v != 0])
        ax.set_yscale("symlog", linthresh=_linthresh(a))
        if np.all(v >= 0):
            ax.set_ylim(bottom=0)


def _linthresh(a: np.ndarray) -> float:
    """Linear range of a symlog axis: the decade at or below the smallest nonzero |value|
    (at most 3 decades below the largest), so that 0 and the first log tick sit a decade
    apart and their labels do not collide."""
    lo = max(float(a.min()), 1e-3 * float(a.max()))
    return float(10.0 ** math.floor(math.log10(lo)))


def _scale_x(ax, values, log: bool) -> None:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if log and v.size and np.all(v > 0) and v.max() > 3 * v.min():
        ax.set_xscale("log")


def _panels(n: int, width: float = 5.0, height: float = 3.6, ncols: int = 3):
    from matplotlib.figure import Figure

    nc = max(1, min(ncols, n))
    nr = -(-n // nc)
    fig = Figure(figsize=(width * nc, height * nr + 0.9), layout="constrained")
    axes = fig.subplots(nr, nc, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, list(axes[:n])


def _legend(fig, axes) -> None:
    """One legend for the figure, below the panels (so it covers no curve)."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    if seen:
        # as many columns as fit the figure's width (a legend wider than the figure would
        # widen it and squeeze the panels)
        longest = max(len(lab) for lab in seen)
        per = (longest * 0.6 * _RC["legend.fontsize"] + 40) / 72  # inches per entry
        ncol = max(1, min(len(seen), 6, int(fig.get_figwidth() / per)))
        fig.legend(list(seen.values()), list(seen), loc="outside lower center", ncol=ncol,
                   frameon=False)


def _labels(df: pd.DataFrame) -> list[str]:
    col = "label" if "label" in df.columns else "optimizer"
    return sorted(df[col].astype(str).unique())


def _check_df(df: Any, where: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InvalidValueError("df", type(df).__name__, "a DataFrame from "
                                "hasbench.results.load_traces", where)
    if df.empty:
        raise InvalidValueError("df", "an empty frame", "traces loaded by load_traces", where)


def _n_seeds(df: pd.DataFrame) -> str:
    n = df.groupby(["benchmark", "label"] if "benchmark" in df.columns else ["label"])[
        "seed"].nunique()
    lo, hi = int(n.min()), int(n.max())
    return f"{lo} seeds" if lo == hi else f"{lo}-{hi} seeds"


# ------------------------------------------------------------------------ anytime


def plot_anytime(df: pd.DataFrame, path: Any = None, *, x: str = "time",
                 stat: str = "median", column: str = "regret", n_points: int = 100,
                 n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0,
                 title: str | None = None, overwrite: bool = False):
    """Anytime performance: the ``stat`` (median or mean) of ``column`` over seeds vs
    simulated time (``x="time"``) or evaluations (``x="evaluations"``, on a frame loaded
    with ``load_traces(..., events=True)``: one row per job), with its bootstrap CI
    (``confidence``, default 95%) as a band; one line per label, one panel per benchmark.

    The lines are :func:`~hasbench.analysis.anytime_performance`'s columns ``stat``,
    ``stat_low``, ``stat_high`` on its grid, drawn as steps (a curve holds its value until
    the next result). A line starts once the statistic is defined (seeds without a result
    yet rank worst); the band is left out where its bound is not defined yet.
    Log time axis; log regret axis (symlog when a regret is 0)."""
    where = "plot_anytime"
    _check_df(df, where)
    check_choice("stat", stat, ["median", "mean"], where)
    if path is not None:
        check_figure_path(path, overwrite, where=where)
    perf = anytime_performance(df, x=x, column=column, n_points=n_points,
                               n_resamples=n_resamples, confidence=confidence, seed=seed)
    labels = _labels(df)
    benches = sorted(perf["benchmark"].unique())
    with style():
        fig, axes = _panels(len(benches))
        for ax, b in zip(axes, benches, strict=True):
            pb = perf[perf["benchmark"] == b]
            for i, lab in enumerate(labels):
                g = pb[pb["label"] == lab]
                if g.empty:
                    continue
                lk = _look(i)
                line, = ax.plot(g["x"], g[stat], color=lk["color"], ls=lk["ls"],
                                drawstyle="steps-post",
                                label=f"{lab} ({int(g['n_seeds'].iloc[0])} seeds)")
                line.set_gid(f"anytime:{b}:{lab}")
                ax.fill_between(g["x"], g[f"{stat}_low"], g[f"{stat}_high"], step="post",
                                color=lk["color"], alpha=0.18 if len(labels) <= 3 else 0.1,
                                linewidth=0)
            _scale_x(ax, pb["x"], log=True)
            _scale_y(ax, pb[[stat, f"{stat}_low", f"{stat}_high"]].to_numpy())
            ax.set_xlabel(x_label(x))
            ax.set_ylabel(value_label(df, column, what=stat))
            if len(benches) > 1:
                ax.set_title(str(b))
        _legend(fig, axes)
        level = f"{100 * confidence:g}%"
        fig.suptitle(_title(df, f"{stat} over seeds, {level} bootstrap CI band",
                            title, fig.get_figwidth()))
    return _finish(fig, path, overwrite, where)


# ------------------------------------------------------------------------ rank


def plot_rank(df: pd.DataFrame, path: Any = None, *, x: str = "time", by: str = "seed",
              column: str = "regret", n_points: int = 100, relative: bool | None = None,
              title: str | None = None, overwrite: bool = False):
    """Average rank over time of each label (1 = best), from
    :func:`~hasbench.analysis.average_rank` (``by="seed"``: ranked within each seed number
    the labels share, then averaged). One panel per benchmark; with several benchmarks a
    last panel ``all`` averages them at the same fraction of each benchmark's longest run
    (``relative``, default then)."""
    where = "plot_rank"
    _check_df(df, where)
    if path is not None:
        check_figure_path(path, overwrite, where=where)
    r = average_rank(df, x=x, column=column, by=by, n_points=n_points, relative=relative)
    labels = _labels(df)
    k = len(labels)
    benches = sorted(b for b in r["benchmark"].unique() if b != "all")
    if "all" in set(r["benchmark"]):
        benches.append("all")
    rel = relative if relative is not None else r["benchmark"].nunique() > 1
    with style():
        fig, axes = _panels(len(benches))
        for ax, b in zip(axes, benches, strict=True):
            rb = r[r["benchmark"] == b]
            for i, lab in enumerate(labels):
                g = rb[rb["label"] == lab]
                if g.empty:
                    continue
                lk = _look(i)
                line, = ax.plot(g["x"], g["rank"], color=lk["color"], ls=lk["ls"],
                                drawstyle="steps-post", label=lab)
                line.set_gid(f"rank:{b}:{lab}")
            _scale_x(ax, rb["x"], log=True)
            ax.set_ylim(0.8, k + 0.2)
            ax.set_yticks(range(1, k + 1))
            ax.set_xlabel(x_label(x, relative=bool(rel) and x == "time")
                          if not (rel and x == "evaluations")
                          else "evaluations (fraction of each benchmark's longest run)")
            ax.set_ylabel(f"average rank of {value_label(df, column).split(chr(10))[0]}\n"
                          f"(1 = best of {k})")
            if len(benches) > 1:
                ax.set_title("mean over benchmarks" if b == "all" else str(b))
        _legend(fig, axes)
        how = {"seed": f"ranked per seed ({_n_seeds(df)}), then averaged",
               "median": "rank of the median curve over seeds",
               "mean": "rank of the mean curve over seeds"}[by]
        fig.suptitle(_title(df, f"average rank over time: {how}", title, fig.get_figwidth()))
    return _finish(fig, path, overwrite, where)


# ------------------------------------------------------------------------ ECDF


def plot_ecdf(df: pd.DataFrame, path: Any = None, *, column: str = "regret",
              at: float | None = None, title: str | None = None, overwrite: bool = False):
    """Empirical CDF over seeds of each label's final ``column`` (or its value at simulated
    time ``at``), from :func:`~hasbench.analysis.regret_ecdf`: the fraction of seeds whose
    final regret is at most x; higher and further left is better. One panel per
    benchmark; log x axis (symlog when a regret is 0)."""
    where = "plot_ecdf"
    _check_df(df, where)
    if path is not None:
        check_figure_path(path, overwrite, where=where)
    e = regret_ecdf(df, column=column, at=at)
    labels = _labels(df)
    benches = sorted(e["benchmark"].unique())
    with style():
        fig, axes = _panels(len(benches))
        for ax, b in zip(axes, benches, strict=True):
            eb = e[e["benchmark"] == b]
            for i, lab in enumerate(labels):
                g = eb[eb["label"] == lab]
                if g.empty:
                    continue
                lk = _look(i)
                v = g["value"].to_numpy(dtype=float)
                p = g["probability"].to_numpy(dtype=float)
                # the step starts at 0 just left of the smallest value
                line, = ax.step(np.r_[v[0], v], np.r_[0.0, p], where="post",
                                color=lk["color"], ls=lk["ls"], label=lab)
                line.set_gid(f"ecdf:{b}:{lab}")
            _scale_x_values(ax, eb["value"].to_numpy())
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel(value_label(df, column, what="final" if at is None
                                      else f"at {at:g} s,"))
            ax.set_ylabel("fraction of seeds (ECDF)")
            if len(benches) > 1:
                ax.set_title(str(b))
        _legend(fig, axes)
        when = "at the end of each run" if at is None else f"at {at:g} s simulated time"
        fig.suptitle(_title(df, f"ECDF over seeds ({_n_seeds(df)}) of the regret {when}",
                            title, fig.get_figwidth()))
    return _finish(fig, path, overwrite, where)


def _scale_x_values(ax, values) -> None:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size and np.all(v > 0):
        ax.set_xscale("log")
    elif v.size and np.any(v != 0):
        a = np.abs(v[v != 0])
        ax.set_xscale("symlog", linthresh=_linthresh(a))


# ------------------------------------------------------------------------ speed-up


def default_baseline(df: pd.DataFrame) -> str:
    """``"random"`` when it is a label (the papers' baseline), else the first label."""
    labels = _labels(df)
    return "random" if "random" in labels else labels[0]


def default_target(df: pd.DataFrame, baseline: str, column: str = "regret") -> dict:
    """Per benchmark, the baseline's median final ``column`` over seeds, as the BOHB and
    Hyperband papers measure speed-ups ("time to reach random search's final
    performance"). For an even number of seeds the upper median (the larger of the two
    middle values): then more than half of the baseline's seeds reach it and its own
    median time to it is finite. [hasbench's choice; pass ``target=`` to set it]"""
    fv = final_values(df, column=column)
    base = fv[fv["label"] == str(baseline)]
    out = {}
    for b in sorted(fv["benchmark"].unique()):
        v = base.loc[base["benchmark"] == b, "value"].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if v.size == 0:
            raise InvalidValueError("baseline", baseline, "a label with results on every "
                                    f"benchmark (none on {b!r})", "plot_speedup")
        out[str(b)] = float(np.quantile(v, 0.5, method="higher"))
    return out


def plot_speedup(df: pd.DataFrame, path: Any = None, *, target: Any = None,
                 baseline: str | None = None, x: str = "time", stat: str = "median",
                 column: str = "regret", n_resamples: int = 1000, confidence: float = 0.95,
                 seed: int = 0, title: str | None = None, overwrite: bool = False):
    """Speed-up of each label over ``baseline`` in reaching ``target``:
    ``stat(baseline's time-to-target) / stat(label's)`` per benchmark (> 1: faster), with
    the bootstrap CI of :func:`~hasbench.analysis.speedup` as an error bar; log axis, a
    line at 1.

    ``baseline``: default :func:`default_baseline` (``random`` when present). ``target``:
    a number or ``{benchmark: number}``; default :func:`default_target` (the baseline's
    median final value). A label whose statistic is infinite (its median seed never
    reaches the target) has speed-up 0, drawn as a marker at the left edge with "never";
    an infinite speed-up (only the baseline never gets there) at the right edge with "inf";
    NaN (neither does) is written as "n/a"."""
    where = "plot_speedup"
    _check_df(df, where)
    check_choice("stat", stat, ["median", "mean"], where)
    if path is not None:
        check_figure_path(path, overwrite, where=where)
    baseline = default_baseline(df) if baseline is None else str(baseline)
    check_choice("baseline", baseline, _labels(df), where)
    tgt = default_target(df, baseline, column) if target is None else target
    s = speedup(df, tgt, baseline, column=column, x=x, stat=stat, n_resamples=n_resamples,
                confidence=confidence, seed=seed)
    labels = [lb for lb in _labels(df) if lb != baseline]
    benches = sorted(s["benchmark"].unique())
    from matplotlib.figure import Figure

    tg = tgt if isinstance(tgt, dict) else {b: tgt for b in benches}
    what = "true regret" if column == "regret" else column
    rows = len(labels) * len(benches) + len(benches)
    with style():
        fig = Figure(figsize=(6.4, 1.5 + 0.3 * rows), layout="constrained")
        ax = fig.subplots()
        fin = s[["speedup", "low", "high"]].to_numpy(dtype=float)
        fin = fin[np.isfinite(fin) & (fin > 0)]
        lo_lim = min(float(fin.min()) if fin.size else 1.0, 1.0) / 2
        hi_lim = max(float(fin.max()) if fin.size else 1.0, 1.0) * 2
        ticks, ticklabels, bold, y = [], [], [], 0.0
        for b in benches:
            sb = s[s["benchmark"] == b]
            frac = float(sb["baseline_fraction_reached"].iloc[0]) if len(sb) else math.nan
            ticks.append(y)
            ticklabels.append(f"{b}: {what} <= {float(tg[b]):.3g}\n({baseline}: "
                              f"{100 * frac:.0f}% of seeds reach it)")
            bold.append(True)
            y += 1
            for lab in labels:
                r = sb[sb["label"] == lab]
                if r.empty:
                    continue
                r = r.iloc[0]
                lk = _look(_labels(df).index(lab))
                v, lo, hi = float(r["speedup"]), float(r["low"]), float(r["high"])
                ticks.append(y)
                ticklabels.append(f"{lab} ({100 * float(r['fraction_reached']):.0f}% reach it)")
                bold.append(False)
                if math.isnan(v):
                    ax.text(1.0, y, "n/a: neither reaches the target", va="center",
                            ha="center", fontsize=8)
                    y += 1
                    continue
                shown = v if 0 < v < math.inf else (lo_lim if v == 0 else hi_lim)
                # the CI as a line; a bound at 0 or inf runs to the axis edge, with an arrow
                if not (math.isnan(lo) or math.isnan(hi)):
                    a = lo if lo > 0 else lo_lim
                    z = hi if hi < math.inf else hi_lim
                    ax.plot([a, z], [y, y], color=lk["color"], lw=1.4,
                            gid=f"speedup-ci:{b}:{lab}")
                    for bound, edge, m in ((lo, a, "<"), (hi, z, ">")):
                        if bound == 0 or bound == math.inf:
                            ax.plot([edge], [y], marker=m, color=lk["color"], ms=5)
                        else:
                            ax.plot([edge, edge], [y - 0.15, y + 0.15], color=lk["color"],
                                    lw=1.2)
                ax.plot([shown], [y], marker=lk["marker"], color=lk["color"], ms=6, ls="",
                        gid=f"speedup:{b}:{lab}")
                note = []
                if v == 0 or v == math.inf:
                    note.append("never" if v == 0 else "inf")
                if math.isnan(lo) or math.isnan(hi):
                    note.append("CI undefined")
                if note:
                    ax.annotate(", ".join(note), (shown, y), xytext=(0, 6),
                                textcoords="offset points", va="bottom", ha="center",
                                fontsize=7.5)
                y += 1
            y += 0.3
        ax.axvline(1.0, color="0.3", lw=1, ls="--")
        ax.set_xscale("log")
        ax.set_xlim(lo_lim / 1.3, hi_lim * 1.3)
        ax.set_yticks(ticks, ticklabels)
        for t, bb in zip(ax.get_yticklabels(), bold, strict=True):
            if bb:
                t.set_fontweight("bold")
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(max(ticks) + 0.7 if ticks else 1, -0.7)
        ax.grid(True, axis="x", which="both", alpha=0.3)
        ax.grid(False, axis="y")
        unit = "evaluations" if x == "evaluations" else "simulated time"
        ax.set_xlabel(f"speed-up over {baseline} (x: ratio of {stat} {unit} to reach the "
                      "target; > 1 = faster)")
        src = "given" if target is not None else f"{baseline}'s median final value"
        fig.suptitle(_title(df, f"{stat} time to {what} <= target ({src}); "
                            f"{100 * confidence:g}% bootstrap CI over seeds ({_n_seeds(df)})",
                            title, fig.get_figwidth()))
    return _finish(fig, path, overwrite, where)


# ------------------------------------------------------------------------ CD diagram


def cd_groups(mean_ranks: pd.Series, pairs: pd.DataFrame) -> list[tuple[int, int]]:
    """Maximal runs ``(first, last)`` (positions in ``mean_ranks``, sorted best first) of
    labels no pair of which differs significantly (``pairs['significant']``): the bars of
    a critical-difference diagram. Runs of one label are left out."""
    names = list(mean_ranks.index)
    sig = {}
    for r in pairs.itertuples(index=False):
        sig[(r.a, r.b)] = sig[(r.b, r.a)] = bool(r.significant)
    out: list[tuple[int, int]] = []
    k = len(names)
    for i in range(k):
        j = i
        while j + 1 < k and not any(sig.get((names[m], names[j + 1]), False)
                                    for m in range(i, j + 1)):
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in out):
            out.append((i, j))
    return out


def plot_cd(df: pd.DataFrame, path: Any = None, *, column: str = "regret",
            at: float | None = None, blocks: str | None = None, stat: str = "median",
            posthoc: str = "nemenyi", alpha: float = 0.05, title: str | None = None,
            overwrite: bool = False):
    """Critical-difference diagram (Demsar 2006) of the final ranks, from
    :func:`~hasbench.analysis.friedman_test`: each label at its mean rank on an axis from
    1 (best, left) to k, the best half named on the left, the rest on the right; a thick
    bar joins labels that do not differ significantly (Nemenyi: mean ranks within the
    critical difference, drawn as a scale bar ``CD``; Wilcoxon-Holm: no pair significant
    at ``alpha``).

    ``blocks``: ``"benchmark"`` (each benchmark one block, a label's value its ``stat``
    over seeds) or ``"seed"`` ((benchmark, seed) pairs all labels have). Default: by
    benchmark when there are 5 or more benchmarks, else by seed. [hasbench's choice: with
    k = 3 labels and N = 2 blocks the Nemenyi CD (2.34) exceeds the largest possible rank
    difference (2), so a by-benchmark test over few benchmarks can never find a difference.]
    Needs 3 or more labels."""
    where = "plot_cd"
    _check_df(df, where)
    if path is not None:
        check_figure_path(path, overwrite, where=where)
    if blocks is None:
        n_b = df["benchmark"].nunique() if "benchmark" in df.columns else 1
        blocks = "benchmark" if n_b >= 5 else "seed"
    res = friedman_test(df, column=column, at=at, blocks=blocks, stat=stat, posthoc=posthoc,
                        alpha=alpha)
    mr = res.mean_ranks
    names = list(mr.index)
    k = len(names)
    order = {lab: i for i, lab in enumerate(_labels(df))}
    groups = cd_groups(mr, res.pairs)
    n_left = -(-k // 2)
    from matplotlib.figure import Figure

    n_side = max(n_left, k - n_left)
    with style():
        fig = Figure(figsize=(6.4, 1.5 + 0.3 * (n_side + len(groups))), layout="constrained")
        ax = fig.subplots()
        ax.set_axis_off()
        top = 0.0
        ax.plot([1, k], [top, top], color="black", lw=1)
        for t in range(1, k + 1):
            ax.plot([t, t], [top, top - 0.12], color="black", lw=1)
            ax.text(t, top - 0.2, str(t), ha="center", va="bottom", fontsize=8)
        ax.text((1 + k) / 2, top - 0.55, "mean rank (1 = best)", ha="center", va="bottom",
                fontsize=8.5)
        if posthoc == "nemenyi":
            cd = res.critical_difference
            span = min(cd, k - 1)
            ycd = top - 0.95
            ax.plot([1, 1 + span], [ycd, ycd], color="black", lw=1.6)
            for xe in (1, 1 + span):
                ax.plot([xe, xe], [ycd - 0.07, ycd + 0.07], color="black", lw=1.2)
            ax.text(1 + span / 2, ycd - 0.1, f"CD = {cd:.2f}"
                    + (" (> k - 1: no difference can be significant)" if cd > k - 1 else ""),
                    ha="center", va="bottom", fontsize=8)
        # the bars of non-significant groups, just below the axis
        gy = [top + 0.25 + 0.18 * g for g in range(len(groups))]
        for (i, j), yy in zip(groups, gy, strict=True):
            ax.plot([mr.iloc[i] - 0.03, mr.iloc[j] + 0.03], [yy, yy], color="black", lw=3.2,
                    solid_capstyle="round", gid=f"cd-group:{names[i]}:{names[j]}")
        base = top + 0.25 + 0.18 * len(groups) + 0.15
        for pos, lab in enumerate(names):
            r = float(mr.iloc[pos])
            left = pos < n_left
            depth = base + 0.3 * (pos if left else k - 1 - pos)
            xe = 1 - 0.25 if left else k + 0.25
            lk = _look(order.get(lab, pos))
            ln, = ax.plot([r, r, xe], [top, depth, depth], color=lk["color"], lw=1.2)
            ln.set_gid(f"cd-rank:{lab}")
            ax.plot([r], [top], marker="o", color=lk["color"], ms=4)
            ax.text(xe - 0.05 if left else xe + 0.05, depth, f"{lab} ({r:.2f})",
                    ha="right" if left else "left", va="center", fontsize=8.5,
                    color="black", gid=f"cd-label:{lab}")
        ax.set_xlim(1 - 0.3, k + 0.3)
        ax.set_ylim(base + 0.3 * (n_side - 1) + 0.25,
                    top - (1.2 if posthoc == "nemenyi" else 0.7))
        nblk = res.values.shape[0]
        what = ("benchmarks" if blocks == "benchmark" else "(benchmark, seed) pairs")
        ph = ("Nemenyi" if posthoc == "nemenyi" else "Wilcoxon-Holm")
        fig.suptitle(_title(
            df, f"final-rank Friedman test over {nblk} {what}: chi2 = {res.statistic:.3g}, "
                f"p = {res.pvalue:.3g}; bars: no significant {ph} difference at "
                f"alpha = {alpha:g}", title, fig.get_figwidth()))
    return _finish(fig, path, overwrite, where)


# ------------------------------------------------------------------------ dispatch


_FUNCS = {"anytime": plot_anytime, "rank": plot_rank, "ecdf": plot_ecdf,
          "speedup": plot_speedup, "cd": plot_cd}


def plot(df: pd.DataFrame, kind: str, path: Any = None, **kwargs):
    """The figure ``kind`` (one of :data:`KINDS`) of ``df``: ``plot_<kind>(df, path,
    **kwargs)``."""
    check_choice("kind", kind, list(KINDS), "plot")
    return _FUNCS[kind](df, path, **kwargs)
