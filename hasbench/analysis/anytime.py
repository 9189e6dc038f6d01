"""Anytime performance, ranks, time-to-target, stability, ECDFs and a Friedman test of
optimizer runs, on the tidy frame of :func:`hasbench.results.load_traces`.

Input: a DataFrame with one row per change of a seed's incumbent (or per job, with
``load_traces(..., events=True)``) and the columns ``benchmark``, ``label`` (or
``optimizer``), ``seed``, ``time`` and the value column (default ``regret``, the true
regret; lower is better). A *run* is one ``(benchmark, label, seed)``; each run's curve is
a step function: the value known at ``x`` is the one of its last row with ``time <= x``
(as :func:`hasbench.results.incumbent_on_grid`, here vectorised over all runs at once).

x axis: ``x="time"`` (simulated seconds) or ``x="evaluations"``: the row's 1-based
position in its run sorted by time, which counts evaluations only on a frame loaded with
``events=True`` (one row per job; a frame that has an ``evaluations`` column uses it).

Seeds without a result yet: a seed that has reported nothing by ``x`` counts as worse than
every seed that has (``+inf``), so each statistic is over all seeds; a median or quantile
that falls on such seeds is NaN (not yet defined) and a mean is NaN while any seed is
missing. Seeds that never reach a target have time-to-target ``inf`` (right-censored), see
:func:`time_to_target`.

Nothing here needs torch. See docs/analysis.md ("Anytime performance and comparisons").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InvalidValueError, check_choice, check_float, check_int

__all__ = ["run_matrix", "anytime_performance", "average_rank", "time_to_target",
           "time_to_target_summary", "speedup", "stability", "final_values", "regret_ecdf",
           "friedman_test", "FriedmanResult", "default_grid"]

_STATS = ["median", "mean"]


# ---------------------------------------------------------------------------- input


def _label_col(df: pd.DataFrame) -> str:
    return "label" if "label" in df.columns else "optimizer"


def _check_frame(df: Any, column: str, x: str, where: str) -> pd.DataFrame:
    """Validate ``df`` and return ``benchmark, label, seed, _x, _v`` sorted by run and x."""
    if not isinstance(df, pd.DataFrame):
        raise InvalidValueError("df", type(df).__name__, "a DataFrame from "
                                "hasbench.results.load_traces", where)
    if df.empty:
        raise InvalidValueError("df", "an empty frame", "traces loaded by load_traces", where)
    check_choice("x", x, ["time", "evaluations"], where)
    lab = _label_col(df)
    need = ["seed", "time", column, lab]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InvalidValueError("df", f"a frame without column(s) {missing}",
                                f"a frame with columns {need} (+ 'benchmark')", where,
                                hint="load it with hasbench.results.load_traces")
    if column not in df.columns or not pd.api.types.is_numeric_dtype(df[column]):
        raise InvalidValueError("column", column, "a numeric column of df", where)
    d = pd.DataFrame({
        "benchmark": (df["benchmark"].astype(str).to_numpy() if "benchmark" in df.columns
                      else np.full(len(df), "", dtype=object)),
        "label": df[lab].astype(str).to_numpy(),
        "seed": df["seed"].to_numpy(),
        "_t": df["time"].to_numpy(dtype=float),
        "_v": df[column].to_numpy(dtype=float)})
    if x == "evaluations" and "evaluations" in df.columns:
        d["_x"] = df["evaluations"].to_numpy(dtype=float)
    d = d.sort_values(["benchmark", "label", "seed", "_t"], kind="stable", ignore_index=True)
    if x == "time":
        d["_x"] = d["_t"]
    elif "_x" not in d.columns:
        d["_x"] = d.groupby(["benchmark", "label", "seed"], sort=False).cumcount() + 1.0
    d["_run"] = d.groupby(["benchmark", "label", "seed"], sort=False).ngroup()
    return d


def default_grid(xs: np.ndarray, n_points: int, x: str) -> np.ndarray:
    """``n_points`` log-spaced points from the first positive x to the last (time), or
    integers 1..max (evaluations, at most ``n_points`` of them, log-spaced)."""
    xs = np.asarray(xs, dtype=float)
    pos = xs[xs > 0]
    if pos.size == 0:
        return np.array([0.0])
    lo, hi = float(pos.min()), float(pos.max())
    if x == "evaluations":
        return np.unique(np.round(np.geomspace(max(lo, 1.0), max(hi, 1.0), n_points)))
    return np.geomspace(lo, max(hi, lo * 1.0001), n_points)


def _grid_values(d: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """Values of every run of ``d`` (sorted by ``_run`` then ``_x``) on ``grid``: an array
    (n_runs, n_grid), NaN before a run's first row. One searchsorted over all runs: each
    row's key is ``run * L + rank(x)`` over the union of row and grid x values, so the keys
    are sorted and a grid point's last row with ``x <= t`` in the same run is found at once."""
    codes = d["_run"].to_numpy(dtype=np.int64)
    xs = d["_x"].to_numpy(dtype=float)
    vals = d["_v"].to_numpy(dtype=float)
    n_runs = int(codes.max()) + 1 if codes.size else 0
    allx = np.unique(np.concatenate([xs, grid]))
    L = np.int64(allx.size)
    key = codes * L + np.searchsorted(allx, xs)
    # rows of one run with equal x: ties keep file order (sort was stable); the last wins
    q = (np.arange(n_runs, dtype=np.int64)[:, None] * L
         + np.searchsorted(allx, grid)[None, :]).ravel()
    idx = np.searchsorted(key, q, side="right") - 1
    safe = np.clip(idx, 0, None)
    ok = (idx >= 0) & (codes[safe] == np.repeat(np.arange(n_runs), grid.size))
    return np.where(ok, vals[safe], np.nan).reshape(n_runs, grid.size)


def run_matrix(df: pd.DataFrame, grid: Any = None, column: str = "regret", x: str = "time",
               n_points: int = 100) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Every run's step curve on one grid, as a matrix.

    Returns ``(runs, grid, values)``: ``runs`` a frame ``benchmark, label, seed`` (one row
    per run), ``grid`` the x values (``default_grid`` over all rows when not given) and
    ``values`` an array (n_runs, n_grid), NaN before a run's first result."""
    where = "run_matrix"
    d = _check_frame(df, column, x, where)
    n_points = check_int("n_points", n_points, 1, None, where)
    g = default_grid(d["_x"].to_numpy(), n_points, x) if grid is None else _as_grid(grid, where)
    runs = d.drop_duplicates("_run")[["benchmark", "label", "seed"]].reset_index(drop=True)
    return runs, g, _grid_values(d, g)


def _as_grid(grid: Any, where: str) -> np.ndarray:
    g = np.asarray(grid, dtype=float).ravel()
    if g.size == 0 or not np.all(np.isfinite(g)) or np.any(np.diff(g) < 0):
        raise InvalidValueError("grid", grid, "a non-empty increasing sequence of finite "
                                "x values", where)
    return g


# ------------------------------------------------------------------- statistics


def _median_worst(v: np.ndarray, axis: int = 0) -> np.ndarray:
    """Median where NaN (no result yet) ranks worst; NaN where it falls on such seeds."""
    m = np.median(np.where(np.isnan(v), np.inf, v), axis=axis)
    return np.where(np.isfinite(m), m, np.nan)


def _scipy_ci(v: np.ndarray, stat: str, n_resamples: int, level: float, method: str,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap CI of ``stat`` over axis 0 of ``v`` (seeds x grid), each column on its own,
    with ``scipy.stats.bootstrap`` (vectorised over the columns). Columns where a seed has
    no result yet (NaN) get NaN bounds: the resampled statistic is then undefined for some
    resamples, and scipy's percentile interpolation would turn them into NaN anyway."""
    lo = np.full(v.shape[1], np.nan)
    hi = np.full(v.shape[1], np.nan)
    full = ~np.isnan(v).any(axis=0)
    if v.shape[0] < 2 or not full.any():
        return lo, hi
    fn = np.median if stat == "median" else np.mean
    cols = v[:, full]
    const = np.ptp(cols, axis=0) == 0  # bootstrap of a constant column: the constant
    res_lo, res_hi = cols[0].copy(), cols[0].copy()
    if (~const).any():
        r = stats.bootstrap((cols[:, ~const],), fn, axis=0, vectorized=True,
                            n_resamples=n_resamples, confidence_level=level, method=method,
                            rng=rng, batch=max(1, int(2e7 // max(cols.size, 1))))
        res_lo[~const], res_hi[~const] = r.confidence_interval
    lo[full], hi[full] = res_lo, res_hi
    return lo, hi


def _median_ci(v: np.ndarray, n_resamples: int, level: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap CI of the median over axis 0 of ``v`` (seeds x grid), NaN (no
    result yet) ranking worst; a bound that falls on such seeds is NaN.

    Hand-written rather than ``scipy.stats.bootstrap`` for speed: scipy resamples and
    partitions all n values of every resample in every column (n_resamples x n x n_grid
    work: 5-20 s for 1,000 seeds x 10 optimizers on a 2-core VM). A resample's median only
    depends on how many draws fall at or below each order statistic, and those counts
    (a multinomial over the sorted positions) have the same distribution for every column;
    so one set of ``n_resamples`` count vectors gives the positions of each resample's
    median in the sorted sample, and every column's resampled medians are a gather from its
    sorted values. Per column this is exactly the percentile bootstrap (linear
    interpolation between resample percentiles, as scipy)."""
    n, g = v.shape
    if n < 2:
        return np.full(g, np.nan), np.full(g, np.nan)
    xs = np.sort(np.where(np.isnan(v), np.inf, v), axis=0)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples)
    cum = np.cumsum(counts, axis=1)
    k1 = np.argmax(cum >= (n + 1) // 2, axis=1)  # lower median's position (odd n: the median)
    k2 = k1 if n % 2 else np.argmax(cum >= n // 2 + 1, axis=1)
    med = 0.5 * (xs[k1] + xs[k2])  # n_resamples x grid
    a = (1 - level) / 2
    with np.errstate(invalid="ignore"):
        lo, hi = np.percentile(med, [100 * a, 100 * (1 - a)], axis=0)
    return np.where(np.isfinite(lo), lo, np.nan), np.where(np.isfinite(hi), hi, np.nan)


def anytime_performance(df: pd.DataFrame, grid: Any = None, *, column: str = "regret",
                        x: str = "time", n_points: int = 100, n_resamples: int = 1000,
                        confidence: float = 0.95, ci_method: str = "percentile",
                        seed: int = 0) -> pd.DataFrame:
    """Median and mean of ``column`` over seeds vs simulated time (``x="time"``) or number
    of evaluations (``x="evaluations"``), with bootstrap CIs over seeds.

    Parameters
    ----------
    grid : sequence of x values, optional
        Default: per benchmark, ``n_points`` log-spaced times from its first result to its
        last (evaluations: integers).
    n_resamples, confidence, ci_method
        Bootstrap settings; ``ci_method`` ``"percentile"`` (default: BCa's jackknife costs
        n_seeds times more, too slow at 1,000 seeds), ``"basic"`` or ``"BCa"``. The mean's
        CI is ``scipy.stats.bootstrap``'s, NaN at a grid point where some seed has no
        result yet. The median's percentile CI is an equivalent vectorised bootstrap (see
        ``_median_ci``; scipy's with the other methods), defined while its bounds do not
        fall on seeds without a result (these rank worst).
    seed : int
        Seed of the bootstrap resampling (results are reproducible).

    Returns a DataFrame ``benchmark, label, x, n, n_seeds, median, median_low,
    median_high, mean, mean_low, mean_high`` (``n``: seeds with a result by ``x``)."""
    where = "anytime_performance"
    d = _check_frame(df, column, x, where)
    n_points = check_int("n_points", n_points, 1, None, where)
    n_resamples = check_int("n_resamples", n_resamples, 1, None, where)
    level = check_float("confidence", confidence, 0, 1, where, low_open=True, high_open=True)
    check_choice("ci_method", ci_method, ["percentile", "basic", "BCa"], where)
    seed = check_int("seed", seed, 0, None, where)
    rng = np.random.default_rng(seed)
    out = []
    for bench, db in d.groupby("benchmark", sort=True):
        g = (default_grid(db["_x"].to_numpy(), n_points, x) if grid is None
             else _as_grid(grid, where))
        db = db.assign(_run=db.groupby(["label", "seed"], sort=False).ngroup())
        vals = _grid_values(db, g)
        run_label = db.drop_duplicates("_run")["label"].to_numpy()
        for lab in sorted(set(run_label)):
            v = vals[run_label == lab]
            n = (~np.isnan(v)).sum(axis=0)
            mean = np.where(n == v.shape[0], np.mean(np.nan_to_num(v), axis=0), np.nan)
            if ci_method == "percentile":
                mlo, mhi = _median_ci(v, n_resamples, level, rng)
            else:
                mlo, mhi = _scipy_ci(v, "median", n_resamples, level, ci_method, rng)
            alo, ahi = _scipy_ci(v, "mean", n_resamples, level, ci_method, rng)
            out.append(pd.DataFrame({
                "benchmark": bench, "label": lab, "x": g, "n": n, "n_seeds": v.shape[0],
                "median": _median_worst(v), "median_low": mlo, "median_high": mhi,
                "mean": mean, "mean_low": alo, "mean_high": ahi}))
    return pd.concat(out, ignore_index=True)


# ------------------------------------------------------------------------ ranks


def _rank_rows(v: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, 1 = lowest value, ties share their average rank
    (``scipy.stats.rankdata(method="average")``); NaN (no result) ranks behind every
    result, tied among themselves."""
    return stats.rankdata(np.where(np.isnan(v), np.inf, v), method="average", axis=-1)


def average_rank(df: pd.DataFrame, grid: Any = None, *, column: str = "regret",
                 x: str = "time", by: str = "seed", n_points: int = 100,
                 relative: bool | None = None) -> pd.DataFrame:
    """Average rank of each optimizer (label) over time, per benchmark and across them.

    Parameters
    ----------
    by : {"seed", "median", "mean"}
        ``"seed"`` (default; our choice, the papers are silent): at each x the labels are
        ranked within each seed number that every label of the benchmark has (seed *s* of
        one optimizer against seed *s* of the others), and the ranks are averaged over
        seeds. ``"median"`` / ``"mean"``: the labels' median / mean curves over seeds are
        ranked (one rank per benchmark and x, as HPO suites rank aggregated curves).
        Ties share their average rank; a label without a result yet ranks last.
    relative : bool, optional
        x as a fraction of each benchmark's largest x (so benchmarks with different budgets
        are averaged at the same fraction of their budget). Default: ``True`` when several
        benchmarks are in ``df``; the grid is then over (0, 1]. Without it, all benchmarks
        share one grid of absolute x values.

    Returns a DataFrame ``benchmark, label, x, rank``; with several benchmarks, rows with
    ``benchmark == "all"`` hold the mean over benchmarks (each weighted equally)."""
    where = "average_rank"
    d = _check_frame(df, column, x, where)
    check_choice("by", by, ["seed", "median", "mean"], where)
    n_points = check_int("n_points", n_points, 1, None, where)
    benches = sorted(d["benchmark"].unique())
    if relative is None:
        relative = len(benches) > 1
    if relative:
        scale = d.groupby("benchmark")["_x"].transform("max").to_numpy()
        d["_x"] = d["_x"] / np.where(scale > 0, scale, 1.0)
    g_all = (default_grid(d["_x"].to_numpy(), n_points, "time" if relative else x)
             if grid is None else _as_grid(grid, where))
    out = []
    for bench, db in d.groupby("benchmark", sort=True):
        labels = sorted(db["label"].unique())
        g = g_all  # one grid for all benchmarks, so their ranks average at the same x
        if by == "seed":
            common = set.intersection(*(set(db.loc[db["label"] == lb, "seed"]) for lb in labels))
            if not common:
                raise InvalidValueError("df", f"benchmark {bench!r}", "labels sharing at "
                                        "least one seed number", where,
                                        hint="use by='median' to rank aggregated curves")
            db = db[db["seed"].isin(common)]
        db = db.assign(_run=db.groupby(["label", "seed"], sort=True).ngroup())
        vals = _grid_values(db, g)  # runs ordered by (label, seed)
        if by == "seed":
            n_s = len(common)
            cube = vals.reshape(len(labels), n_s, g.size)  # label x seed x grid
            r = _rank_rows(np.moveaxis(cube, 0, -1)).mean(axis=0).T  # label x grid
        else:
            run_label = db.drop_duplicates("_run")["label"].to_numpy()
            agg = np.stack([_median_worst(vals[run_label == lb]) if by == "median" else
                            np.where(np.isnan(vals[run_label == lb]).any(axis=0), np.nan,
                                     vals[run_label == lb].mean(axis=0)) for lb in labels])
            r = _rank_rows(agg.T).T
        for i, lb in enumerate(labels):
            out.append(pd.DataFrame({"benchmark": bench, "label": lb, "x": g, "rank": r[i]}))
    res = pd.concat(out, ignore_index=True)
    if len(benches) > 1:
        allr = res.groupby(["label", "x"], as_index=False)["rank"].mean()
        res = pd.concat([res, allr.assign(benchmark="all")[res.columns]], ignore_index=True)
    return res


# --------------------------------------------------------------- time to target


def _targets(d: pd.DataFrame, target: Any, where: str) -> np.ndarray:
    """Per-row target from a number or ``{benchmark: number}``."""
    if isinstance(target, dict):
        miss = sorted(set(d["benchmark"]) - {str(k) for k in target})
        if miss:
            raise InvalidValueError("target", target, f"a number for every benchmark "
                                    f"(missing: {miss})", where)
        tmap = {str(k): check_float("target", v, where=where) for k, v in target.items()}
        return d["benchmark"].map(tmap).to_numpy(dtype=float)
    return np.full(len(d), check_float("target", target, where=where))


def time_to_target(df: pd.DataFrame, target: Any, *, column: str = "regret",
                   x: str = "time") -> pd.DataFrame:
    """First x (simulated time or evaluation) at which each run's ``column`` is
    ``<= target``.

    ``target``: a number, or ``{benchmark: number}``. A run that never reaches it has
    ``time_to_target = inf`` and ``reached = False`` (right-censored: it would need more
    than its budget; ``budget`` is its last x, a lower bound). "First" is meant literally:
    true regret can rise again after reaching the target (a lucky draw makes a worse
    config the incumbent); the run still counts as having reached it then.

    Returns a DataFrame ``benchmark, label, seed, time_to_target, reached, budget``."""
    where = "time_to_target"
    d = _check_frame(df, column, x, where)
    hit = d["_v"].to_numpy() <= _targets(d, target, where)
    d["_hit"] = np.where(hit, d["_x"].to_numpy(), np.inf)
    g = d.groupby(["benchmark", "label", "seed"], sort=True)
    res = g.agg(time_to_target=("_hit", "min"), budget=("_x", "max")).reset_index()
    res["reached"] = np.isfinite(res["time_to_target"].to_numpy())
    return res[["benchmark", "label", "seed", "time_to_target", "reached", "budget"]]


def _stat(a: np.ndarray, stat: str, axis: int = -1) -> np.ndarray:
    """Median / mean along ``axis``; ``inf`` (censored) enters as ``inf``: the median is
    ``inf`` when half or more are censored, the mean when any is."""
    return np.median(a, axis=axis) if stat == "median" else np.mean(a, axis=axis)


def _censored_bootstrap(samples: list[np.ndarray], fn, n_resamples: int, level: float,
                        rng: np.random.Generator) -> tuple[float, float]:
    """Percentile bootstrap of ``fn(*resamples)`` (each sample resampled independently,
    vectorised: one (n_resamples, n) index array per sample).

    Hand-written rather than ``scipy.stats.bootstrap`` because the samples hold ``inf``
    (censored times): scipy interpolates between percentiles (inf - inf = NaN) and its
    BCa jackknife breaks on them; order statistics (``method="inverted_cdf"``) keep an
    infinite bound infinite. NaN (undefined, e.g. inf/inf) resamples make the bounds NaN."""
    if any(s.size < 2 for s in samples):
        return math.nan, math.nan
    res = [s[rng.integers(0, s.size, (n_resamples, s.size))] for s in samples]
    with np.errstate(invalid="ignore", divide="ignore"):
        th = np.asarray(fn(*res), dtype=float)
    if np.isnan(th).any():
        return math.nan, math.nan
    a = (1 - level) / 2
    lo, hi = np.quantile(th, [a, 1 - a], method="inverted_cdf")
    return float(lo), float(hi)


def time_to_target_summary(df: pd.DataFrame, target: Any, *, column: str = "regret",
                           x: str = "time", stat: str = "median", n_resamples: int = 1000,
                           confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Time-to-target per benchmark and label with a bootstrap CI over seeds.

    Censored runs (never reached) count as ``inf``: with ``stat="median"`` (default) the
    statistic is finite while fewer than half the seeds are censored, with ``"mean"`` only
    when none is; a CI bound is ``inf`` when that many resamples are infinite.

    Returns ``benchmark, label, n_seeds, n_reached, fraction_reached, <stat>, low, high``
    (column ``time_to_target`` holds the statistic)."""
    where = "time_to_target_summary"
    check_choice("stat", stat, _STATS, where)
    n_resamples = check_int("n_resamples", n_resamples, 1, None, where)
    level = check_float("confidence", confidence, 0, 1, where, low_open=True, high_open=True)
    rng = np.random.default_rng(check_int("seed", seed, 0, None, where))
    t = time_to_target(df, target, column=column, x=x)
    rows = []
    for (b, lb), g in t.groupby(["benchmark", "label"], sort=True):
        v = g["time_to_target"].to_numpy(dtype=float)
        lo, hi = _censored_bootstrap([v], lambda a: _stat(a, stat), n_resamples, level, rng)
        rows.append((b, lb, v.size, int(np.isfinite(v).sum()), float(np.isfinite(v).mean()),
                     float(_stat(v, stat)), lo, hi))
    return pd.DataFrame(rows, columns=["benchmark", "label", "n_seeds", "n_reached",
                                       "fraction_reached", "time_to_target", "low", "high"])


def speedup(df: pd.DataFrame, target: Any, baseline: str, *, column: str = "regret",
            x: str = "time", stat: str = "median", n_resamples: int = 1000,
            confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Speed-up of each label over ``baseline`` in reaching ``target``:
    ``stat(time_to_target of baseline) / stat(time_to_target of label)`` per benchmark
    (> 1: the label is faster), with a percentile bootstrap CI that resamples the seeds of
    the two independently (runs of different optimizers are not paired by seed).

    Censored runs count as ``inf`` (see :func:`time_to_target_summary`): a speed-up is
    ``inf`` when only the baseline's statistic is infinite, 0 when only the label's is,
    NaN when both are; the CI is NaN when some resample has both infinite.

    Returns ``benchmark, label, baseline, speedup, low, high, fraction_reached,
    baseline_fraction_reached``."""
    where = "speedup"
    check_choice("stat", stat, _STATS, where)
    n_resamples = check_int("n_resamples", n_resamples, 1, None, where)
    level = check_float("confidence", confidence, 0, 1, where, low_open=True, high_open=True)
    rng = np.random.default_rng(check_int("seed", seed, 0, None, where))
    t = time_to_target(df, target, column=column, x=x)
    check_choice("baseline", str(baseline), sorted(t["label"].unique()), where)

    def ratio(b, a):
        with np.errstate(invalid="ignore", divide="ignore"):
            return _stat(b, stat) / _stat(a, stat)

    rows = []
    for bench, tb in t.groupby("benchmark", sort=True):
        base = tb.loc[tb["label"] == str(baseline), "time_to_target"].to_numpy(dtype=float)
        if base.size == 0:
            raise InvalidValueError("baseline", baseline, "a label with runs on every "
                                    f"benchmark (none on {bench!r})", where)
        for lb, g in tb.groupby("label", sort=True):
            if lb == str(baseline):
                continue
            a = g["time_to_target"].to_numpy(dtype=float)
            lo, hi = _censored_bootstrap([base, a], ratio, n_resamples, level, rng)
            rows.append((bench, lb, str(baseline), float(ratio(base, a)), lo, hi,
                         float(np.isfinite(a).mean()), float(np.isfinite(base).mean())))
    return pd.DataFrame(rows, columns=["benchmark", "label", "baseline", "speedup", "low",
                                       "high", "fraction_reached",
                                       "baseline_fraction_reached"])


# ------------------------------------------------------ final values, stability, ECDF


def final_values(df: pd.DataFrame, *, column: str = "regret", at: float | None = None,
                 x: str = "time") -> pd.DataFrame:
    """Each run's value at its end (``at=None``: its last row) or at ``x = at`` (NaN when
    the run has no result by then). Returns ``benchmark, label, seed, value``."""
    where = "final_values"
    d = _check_frame(df, column, x, where)
    if at is None:
        last = d.groupby("_run", sort=True).tail(1)
        return pd.DataFrame({"benchmark": last["benchmark"].to_numpy(),
                             "label": last["label"].to_numpy(),
                             "seed": last["seed"].to_numpy(),
                             "value": last["_v"].to_numpy()})
    at = check_float("at", at, 0, None, where)
    runs = d.drop_duplicates("_run")[["benchmark", "label", "seed"]].reset_index(drop=True)
    return runs.assign(value=_grid_values(d, np.array([at]))[:, 0])


def stability(df: pd.DataFrame, *, column: str = "regret", at: float | None = None,
              target: Any = None, x: str = "time") -> pd.DataFrame:
    """Spread over seeds of the final value (or the value at ``at``), per benchmark and
    label: ``n_seeds, median, mean, std`` (ddof=1), ``iqr`` (``scipy.stats.iqr``),
    ``q25, q75, min, max, range`` and, with ``target``, ``fraction_reached`` (seeds whose
    curve reached ``target`` at any point up to ``at``, see :func:`time_to_target`).
    Seeds without a result by ``at`` are left out of the spread and counted in
    ``n_missing``."""
    fv = final_values(df, column=column, at=at, x=x)
    tt = time_to_target(df, target, column=column, x=x) if target is not None else None
    rows = []
    for (b, lb), g in fv.groupby(["benchmark", "label"], sort=True):
        v = g["value"].to_numpy(dtype=float)
        ok = v[~np.isnan(v)]
        q25, q75 = np.quantile(ok, [0.25, 0.75]) if ok.size else (np.nan, np.nan)
        row = {"benchmark": b, "label": lb, "n_seeds": v.size,
               "n_missing": int(np.isnan(v).sum()),
               "median": float(np.median(ok)) if ok.size else np.nan,
               "mean": float(ok.mean()) if ok.size else np.nan,
               "std": float(ok.std(ddof=1)) if ok.size > 1 else np.nan,
               "iqr": float(stats.iqr(ok)) if ok.size else np.nan,
               "q25": float(q25), "q75": float(q75),
               "min": float(ok.min()) if ok.size else np.nan,
               "max": float(ok.max()) if ok.size else np.nan}
        row["range"] = row["max"] - row["min"]
        if tt is not None:
            h = tt[(tt["benchmark"] == b) & (tt["label"] == lb)]["time_to_target"].to_numpy()
            reached = np.isfinite(h) if at is None else h <= at  # inf <= inf is True
            row["fraction_reached"] = float(reached.mean())
        rows.append(row)
    return pd.DataFrame(rows)


def regret_ecdf(df: pd.DataFrame, *, column: str = "regret", at: float | None = None,
                x: str = "time") -> pd.DataFrame:
    """Empirical CDF of the final value (or the value at ``at``) over seeds, per
    benchmark and label, from ``scipy.stats.ecdf``: ``benchmark, label, value,
    probability`` (the fraction of seeds with final value ``<= value``; one row per
    distinct value, so ties make one step). Seeds without a result by ``at`` are left out."""
    fv = final_values(df, column=column, at=at, x=x)
    out = []
    for (b, lb), g in fv.groupby(["benchmark", "label"], sort=True):
        v = g["value"].to_numpy(dtype=float)
        v = v[~np.isnan(v)]
        if v.size == 0:
            continue
        e = stats.ecdf(v).cdf
        out.append(pd.DataFrame({"benchmark": b, "label": lb, "value": e.quantiles,
                                 "probability": e.probabilities}))
    return pd.concat(out, ignore_index=True)


# ---------------------------------------------------------------- Friedman test


@dataclass
class FriedmanResult:
    """Friedman test of final ranks across blocks, with a post-hoc comparison.

    ``values``: blocks x labels (the statistic each rank is computed from); ``ranks``: the
    same shape, 1 = best; ``mean_ranks``: per label, best first; ``statistic``,
    ``pvalue``: ``scipy.stats.friedmanchisquare``; ``posthoc``: ``"nemenyi"`` or
    ``"wilcoxon-holm"``; ``critical_difference``: Nemenyi CD (NaN for Wilcoxon-Holm);
    ``pairs``: one row per pair ``a, b, rank_diff, pvalue`` (Wilcoxon-Holm: Holm-adjusted),
    ``significant``."""

    values: pd.DataFrame
    ranks: pd.DataFrame
    mean_ranks: pd.Series
    statistic: float
    pvalue: float
    posthoc: str
    alpha: float
    critical_difference: float
    pairs: pd.DataFrame = field(repr=False)


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (hand-written: scipy has only Benjamini-Hochberg/
    Yekutieli in ``false_discovery_control``; statsmodels is not a dependency)."""
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def friedman_test(df: pd.DataFrame, *, column: str = "regret", at: float | None = None,
                  blocks: str = "benchmark", stat: str = "median", posthoc: str = "nemenyi",
                  alpha: float = 0.05, x: str = "time") -> FriedmanResult:
    """Friedman test of the labels' final ranks, and a post-hoc test, as HPO benchmark
    suites report them (Demsar 2006).

    Parameters
    ----------
    blocks : {"benchmark", "seed"}
        ``"benchmark"`` (default): one block per benchmark, each label's value its ``stat``
        (median or mean) over seeds of the final ``column``. ``"seed"``: one block per
        (benchmark, seed number) that every label has (use when few benchmarks).
    posthoc : {"nemenyi", "wilcoxon-holm"}
        ``"nemenyi"`` (default): two labels differ when their mean ranks differ by more
        than the critical difference ``CD = q_alpha * sqrt(k (k+1) / (6 N))``, ``q_alpha``
        the studentized range quantile (``scipy.stats.studentized_range``, infinite df)
        over sqrt(2) (Demsar's table). ``"wilcoxon-holm"``: pairwise
        ``scipy.stats.wilcoxon`` signed-rank tests on the block values, Holm-adjusted
        (Benavoli et al. 2016 recommend it over mean-rank tests).

    Ranks: 1 = lowest value; ties share the average rank; a label without a result ranks
    last. Needs at least 3 labels and 2 blocks."""
    where = "friedman_test"
    check_choice("blocks", blocks, ["benchmark", "seed"], where)
    check_choice("stat", stat, _STATS, where)
    check_choice("posthoc", posthoc, ["nemenyi", "wilcoxon-holm"], where)
    alpha = check_float("alpha", alpha, 0, 1, where, low_open=True, high_open=True)
    fv = final_values(df, column=column, at=at, x=x)
    if blocks == "benchmark":
        fn = (lambda s: s.median()) if stat == "median" else (lambda s: s.mean())
        wide = fv.groupby(["benchmark", "label"])["value"].agg(fn).unstack("label")
    else:
        wide = fv.pivot_table(index=["benchmark", "seed"], columns="label", values="value",
                              aggfunc="first", dropna=False)
        present = fv.groupby(["benchmark", "seed"])["label"].nunique()
        wide = wide.loc[present[present == fv["label"].nunique()].index]
    k, n = wide.shape[1], wide.shape[0]
    if k < 3:
        raise InvalidValueError("df", f"{k} label(s)", "at least 3 labels (optimizers) to "
                                "compare", where)
    if n < 2:
        raise InvalidValueError("blocks", blocks, f"at least 2 blocks (have {n})", where,
                                hint="with one benchmark, use blocks='seed'")
    vals = wide.to_numpy(dtype=float)
    ranks = _rank_rows(vals)
    st, p = stats.friedmanchisquare(*np.where(np.isnan(vals), np.inf, vals).T)
    mean_ranks = pd.Series(ranks.mean(axis=0), index=wide.columns.astype(str),
                           name="mean_rank").sort_values(kind="stable")
    labels = list(wide.columns.astype(str))
    rows = []
    if posthoc == "nemenyi":
        q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
        cd = float(q * math.sqrt(k * (k + 1) / (6.0 * n)))
        for i in range(k):
            for j in range(i + 1, k):
                diff = float(ranks[:, i].mean() - ranks[:, j].mean())
                rows.append((labels[i], labels[j], diff, math.nan, abs(diff) > cd))
    else:
        cd = math.nan
        raw = []
        for i in range(k):
            for j in range(i + 1, k):
                a, b = vals[:, i], vals[:, j]
                ok = ~(np.isnan(a) | np.isnan(b))
                if np.all(a[ok] == b[ok]):
                    pv = 1.0
                else:
                    pv = float(stats.wilcoxon(a[ok], b[ok]).pvalue)
                raw.append(pv)
                rows.append([labels[i], labels[j],
                             float(ranks[:, i].mean() - ranks[:, j].mean()), pv, False])
        adj = _holm(np.asarray(raw))
        for r, pa in zip(rows, adj, strict=True):
            r[3], r[4] = float(pa), bool(pa < alpha)
        rows = [tuple(r) for r in rows]
    pairs = pd.DataFrame(rows, columns=["a", "b", "rank_diff", "pvalue", "significant"])
    return FriedmanResult(values=wide, ranks=pd.DataFrame(ranks, index=wide.index,
                                                          columns=wide.columns),
                          mean_ranks=mean_ranks, statistic=float(st), pvalue=float(p),
                          posthoc=posthoc, alpha=alpha, critical_difference=cd, pairs=pairs)
