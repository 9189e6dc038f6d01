"""Replay speed of DyESP against TPE, measured in the same run (issue 16, "Done when").

Both optimizers are replayed for the same seeds on the same benchmark with the same
simulated budget (``--budget``, default 100 full-fidelity evaluations of compute spread over
``--workers`` 4, as ``hasbench run --budget 100fe``), each with ``simulate_many`` (the seeds
run in lock step and share batched benchmark queries: the same machinery for both). The
figure is the ratio of the two wall times (target: DyESP <= 5x TPE). Jobs per replay, pruned
jobs and the final true regret (expected max-fidelity loss of the incumbent minus the
benchmark's optimum) are printed beside it, so a ratio can be read against the work done:
DyESP runs ASHA, which starts many more (low-fidelity) jobs than full-fidelity TPE in the same
simulated time, and each new job costs a TPE proposal and each result a share of the MLP's
fine-tuning. Two context rows follow the ratio (not part of the target): ASHA with
uniform sampling (DyESP's scheduler, about as many jobs as DyESP) and DyESP with
``scheduler="none"`` (every configuration at full fidelity, about as many jobs as TPE).

Usage::

    nice -n 10 python benchmarks/bench_methods_dyesp.py --seeds 100
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
    dt = time.perf_counter() - t0
    jobs = np.array([len(t.frame) for t in trs])
    pruned = np.array([(t.frame["status"] == "pruned").sum() for t in trs])
    opt_loss = bench.optimum_loss()
    regret = np.array([t.frame["incumbent_true"].iloc[-1] - opt_loss for t in trs])
    return dt, jobs, pruned, regret


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
    print(f"# DyESP vs TPE replay speed: {args.benchmark}, {args.seeds} seeds, "
          f"{args.workers} workers, budget {args.budget} = {budget:.1f} simulated s")
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.platform()}, "
          f"python {platform.python_version()}")
    rows = {}
    for name in ("tpe", "dyesp"):
        rows[name] = replay(bench, name, seeds, args.workers, budget)
        dt, jobs, pruned, regret = rows[name]
        print(f"{name:6s} wall {dt:8.1f} s  ({dt / len(seeds):.2f} s/seed)  jobs/replay "
              f"{jobs.mean():7.1f}  pruned/replay {pruned.mean():6.1f}  jobs/s "
              f"{jobs.sum() / dt:7.1f}  median final true regret {np.median(regret):.4f}",
              flush=True)
    ratio = rows["dyesp"][0] / rows["tpe"][0]
    per_job = (rows["dyesp"][0] / rows["dyesp"][1].sum()) / (rows["tpe"][0] /
                                                            rows["tpe"][1].sum())
    print(f"ratio dyesp/tpe wall time: {ratio:.2f}x (target <= 5x: "
          f"{'met' if ratio <= 5 else 'NOT met'}); per job: {per_job:.2f}x", flush=True)
    for label, name, kw in (("asha", "asha", None),
                            ("dyesp scheduler=none", "dyesp", {"scheduler": "none"})):
        dt, jobs, pruned, regret = replay(bench, name, seeds, args.workers, budget, kw)
        print(f"context: {label:20s} wall {dt:8.1f} s ({dt / rows['tpe'][0]:.2f}x tpe)  "
              f"jobs/replay {jobs.mean():7.1f}  pruned/replay {pruned.mean():6.1f}  median "
              f"final true regret {np.median(regret):.4f}", flush=True)


if __name__ == "__main__":
    main()
