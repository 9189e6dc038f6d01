"""Replay speed of grouped-sequential and two-step search against TPE, in the same run
(issue 16, "Done when": each <= 5x TPE's wall time).

All optimizers are replayed for the same seeds on the same benchmark with the same simulated
budget (``--budget``, default 100 full-fidelity evaluations of compute over ``--workers`` 4,
as ``hasbench run --budget 100fe``), each with ``simulate_many`` (the same machinery). TPE
(``tpe``, the baseline of the ratio) is replayed first and again last, and the ratio uses the
mean of its two wall times, so load drifting on a shared machine shows up as a spread between
them (printed). Beside each wall time: jobs per replay and the median final true regret.

Context rows (not part of the target) give the papers' comparisons on the same replays:

* grouped-sequential vs the simultaneous baseline (``grouping="single"``: one TPE over all
  hyperparameters, the same ``n_trials``), as in the spec's section 5: total simulated
  training time ``T_tot`` (sum of job costs), time to the final best ``T_best`` (cumulative
  cost up to the job that reached the final observed best), mean per-seed reductions
  ``R = (T_sim - T_gsos) / T_sim`` and the change of the final best observed validation loss
  (paper, means over six datasets: R_tot 31.9%, R_best 19.7%, accuracy -2.2 points);
* two-step vs joint TPE (Zela et al. 2018's claim 1): median final true regret.

Usage::

    nice -n 10 python benchmarks/bench_methods_grouped.py --seeds 100
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import datetime, timezone

import numpy as np

from hasbench.cli.run_cmd import parse_budget
from hasbench.simulate import simulate_many
from hasbench.simulate.replay import resolve_benchmark


def replay(bench, opt, seeds, workers, budget, kw=None):
    t0 = time.perf_counter()
    trs = simulate_many(bench, opt, seeds, n_workers=workers, time_budget=budget,
                        optimizer_kwargs=kw or {})
    return time.perf_counter() - t0, trs


def summary(bench, trs, column="incumbent_true"):
    """Jobs per replay and final true regret (``incumbent_true``: the trace's incumbent,
    best at the largest fidelity evaluated so far; ``incumbent_any_true``: best at any
    fidelity, which is the incumbent of an optimizer that searches ``epochs``)."""
    jobs = np.array([len(t.frame) for t in trs])
    opt_loss = bench.optimum_loss()
    regret = np.array([t.frame.sort_values("job")[column].iloc[-1] - opt_loss for t in trs])
    return jobs, regret


def times(tr):
    """(T_tot, T_best, final best observed loss) of one full-budget trace (job order)."""
    f = tr.frame.sort_values("job")
    cost = f["cost"].to_numpy()
    loss = np.where(f["status"].to_numpy() == "ok", f["loss"].to_numpy(), np.inf)
    i = int(np.argmin(loss))
    return cost.sum(), cost[: i + 1].sum(), loss[i]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--benchmark", default="digits-hia-cnn")
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--budget", default="100fe")
    args = ap.parse_args()
    bench = resolve_benchmark(args.benchmark)
    budget = parse_budget(args.budget, bench, args.workers)
    seeds = list(range(args.seeds))
    print(f"# grouped-sequential / two-step vs TPE replay speed: {args.benchmark}, "
          f"{args.seeds} seeds, {args.workers} workers, budget {args.budget} = "
          f"{budget:.1f} simulated s")
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.platform()}, "
          f"python {platform.python_version()}")
    runs = {}
    order = [("tpe", "tpe", None), ("grouped-sequential", "grouped-sequential", None),
             ("two-step", "two-step", None),
             ("simultaneous", "grouped-sequential", {"grouping": "single"}),
             ("tpe (again)", "tpe", None)]
    for label, name, kw in order:
        dt, trs = replay(bench, name, seeds, args.workers, budget, kw)
        jobs, regret = summary(bench, trs)
        _, regret_any = summary(bench, trs, "incumbent_any_true")
        runs[label] = (dt, trs)
        print(f"{label:20s} wall {dt:8.1f} s ({dt / len(seeds):.3f} s/seed)  jobs/replay "
              f"{jobs.mean():6.1f}  jobs/s {jobs.sum() / dt:7.1f}  final true regret "
              f"median {np.median(regret):.4f} mean {regret.mean():.4f} (any-fidelity "
              f"incumbent: median {np.median(regret_any):.4f} mean {regret_any.mean():.4f})",
              flush=True)
    t_a, t_b = runs["tpe"][0], runs["tpe (again)"][0]
    tpe = 0.5 * (t_a + t_b)
    print(f"tpe wall: {t_a:.1f} s and {t_b:.1f} s (spread {abs(t_a - t_b) / tpe:.0%})")
    for label in ("grouped-sequential", "two-step"):
        r = runs[label][0] / tpe
        print(f"ratio {label}/tpe wall time: {r:.2f}x (target <= 5x: "
              f"{'met' if r <= 5 else 'NOT met'})", flush=True)
    g = np.array([times(t) for t in runs["grouped-sequential"][1]])
    s = np.array([times(t) for t in runs["simultaneous"][1]])
    r_tot = (s[:, 0] - g[:, 0]) / s[:, 0]
    r_best = (s[:, 1] - g[:, 1]) / s[:, 1]
    d_loss = g[:, 2] - s[:, 2]
    print(f"context gsos vs simultaneous ({args.seeds} seeds): mean R_tot {r_tot.mean():.1%} "
          f"(ratio of sums {1 - g[:, 0].sum() / s[:, 0].sum():.1%}), mean R_best "
          f"{r_best.mean():.1%}, final best observed loss gsos - simultaneous "
          f"{d_loss.mean():+.4f} (median {np.median(d_loss):+.4f}); trials "
          f"{np.mean([len(t.frame) for t in runs['grouped-sequential'][1]]):.0f} vs "
          f"{np.mean([len(t.frame) for t in runs['simultaneous'][1]]):.0f}", flush=True)
    _, reg_two = summary(bench, runs["two-step"][1])
    _, reg_tpe = summary(bench, runs["tpe"][1])
    print(f"context two-step vs joint tpe: final true regret median {np.median(reg_two):.4f} "
          f"vs {np.median(reg_tpe):.4f}, mean {reg_two.mean():.4f} vs {reg_tpe.mean():.4f}",
          flush=True)
    # a stage fixes its group at its best *observed* result: how often was that a lucky draw?
    gap = []
    for t in runs["grouped-sequential"][1]:
        f = t.frame.sort_values("job")
        s0 = f[f["job"] < int(f["job"].min()) + 50]
        i = int(np.argmin(np.where(s0["status"] == "ok", s0["loss"], np.inf)))
        gap.append(s0["expected_loss"].iloc[i] - s0["loss"].iloc[i])
    gap = np.array(gap)
    print(f"context gsos first group's best: expected - observed loss median "
          f"{np.median(gap):+.4f}, > 0.1 in {(gap > 0.1).sum()} of {gap.size} seeds "
          f"(default allocation: the first group is jobs 0-49)", flush=True)


if __name__ == "__main__":
    main()
