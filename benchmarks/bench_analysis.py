"""Wall time of the anytime analysis (``hasbench.analysis.anytime``) on many seeds.

Synthetic traces, built as the tidy frame ``hasbench.results.load_traces`` returns (no
replays): ``--optimizers`` labels x ``--seeds`` seeds on one benchmark, each seed's curve
``--changes`` incumbent changes at random simulated times in (0, 1000] s with a decreasing
regret. Each analysis function is timed on the whole frame (``--points`` grid points,
``--resamples`` bootstrap resamples). Baseline measured in the same run:
``hasbench.results.incumbent_on_grid`` (the per-seed loop the analysis replaces) on the same
frame and grid (``run_matrix`` does the same forward fill vectorised), and
``scipy.stats.bootstrap`` of the median on the same seeds x grid matrices (complete columns
of the evaluations grid), against the vectorised percentile bootstrap
``anytime_performance`` uses for the median (``_median_ci``); the ratios are printed.
Target: summarising 1,000 seeds x 10 optimizers takes seconds.

Usage::

    nice -n 10 OMP_NUM_THREADS=1 python benchmarks/bench_analysis.py --seeds 1000
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from scipy import stats

from hasbench.analysis import (
    anytime_performance,
    average_rank,
    friedman_test,
    regret_ecdf,
    run_matrix,
    speedup,
    stability,
    time_to_target_summary,
)
from hasbench.analysis.anytime import _median_ci
from hasbench.results import incumbent_on_grid


def synthetic(n_opt: int, n_seeds: int, n_changes: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_runs = n_opt * n_seeds
    t = np.sort(rng.uniform(0, 1000, (n_runs, n_changes)), axis=1)
    quality = rng.uniform(0.5, 1.5, (n_opt, 1, 1))  # optimizers differ in speed
    r = np.minimum.accumulate(rng.exponential(1, (n_runs, n_changes)), axis=1)
    r = (r.reshape(n_opt, n_seeds, n_changes) * quality).reshape(n_runs, n_changes)
    r = r * np.linspace(1, 0.05, n_changes)
    lab = np.repeat([f"opt{i}" for i in range(n_opt)], n_seeds * n_changes)
    seeds = np.tile(np.repeat(np.arange(n_seeds), n_changes), n_opt)
    return pd.DataFrame({"label": lab, "optimizer": lab, "seed": seeds,
                         "benchmark": "synthetic", "time": t.ravel(), "incumbent": r.ravel(),
                         "regret": r.ravel()})


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1000)
    ap.add_argument("--optimizers", type=int, default=10)
    ap.add_argument("--changes", type=int, default=30)
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--no-baseline", action="store_true")
    a = ap.parse_args()
    df = synthetic(a.optimizers, a.seeds, a.changes)
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, Python "
          f"{platform.python_version()}; {a.optimizers} optimizers x {a.seeds} seeds x "
          f"{a.changes} changes = {len(df):,} rows; {a.points} grid points, "
          f"{a.resamples} resamples")
    target = float(df.groupby(["label", "seed"])["regret"].min().median())
    grid = np.geomspace(df["time"].min(), df["time"].max(), a.points)
    rows = []
    for name, fn in [
        ("run_matrix (forward fill)", lambda: run_matrix(df, grid)),
        ("anytime_performance (median+mean, CIs)",
         lambda: anytime_performance(df, grid, n_resamples=a.resamples)),
        ("anytime_performance x=evaluations",
         lambda: anytime_performance(df, x="evaluations", n_points=a.points,
                                     n_resamples=a.resamples)),
        ("average_rank by=seed", lambda: average_rank(df, grid)),
        ("time_to_target_summary", lambda: time_to_target_summary(df, target,
                                                                  n_resamples=a.resamples)),
        ("speedup vs opt0", lambda: speedup(df, target, "opt0", n_resamples=a.resamples)),
        ("stability", lambda: stability(df, target=target)),
        ("regret_ecdf", lambda: regret_ecdf(df)),
        ("friedman_test blocks=seed", lambda: friedman_test(df, blocks="seed")),
    ]:
        s, _ = timed(fn)
        rows.append((name, s))
        print(f"  {name:42s} {s:7.2f} s", flush=True)
    total = sum(s for n, s in rows if n != "run_matrix (forward fill)")
    print(f"  {'all summaries (without run_matrix)':42s} {total:7.2f} s")
    if not a.no_baseline:
        s, _ = timed(lambda: incumbent_on_grid(df, grid))
        ours = rows[0][1]
        print(f"  {'baseline: results.incumbent_on_grid':42s} {s:7.2f} s  "
              f"(run_matrix {s / ours:.0f}x faster)")
        runs, _, v = run_matrix(df, x="evaluations", n_points=a.points)
        mats = [v[(runs["label"] == lb).to_numpy()] for lb in sorted(runs["label"].unique())]
        mats = [m[:, ~np.isnan(m).any(axis=0)] for m in mats]
        ours, _ = timed(lambda: [_median_ci(m, a.resamples, 0.95, np.random.default_rng(0))
                                 for m in mats])
        s, _ = timed(lambda: [stats.bootstrap((m,), np.median, axis=0, vectorized=True,
                                              n_resamples=a.resamples, method="percentile",
                                              rng=np.random.default_rng(0), batch=20)
                              for m in mats])
        print(f"  median CIs, {mats[0].shape[1]} grid points x {len(mats)} optimizers: "
              f"vectorised {ours:.2f} s, baseline scipy.stats.bootstrap {s:.2f} s "
              f"({s / ours:.0f}x)")


if __name__ == "__main__":
    main()
