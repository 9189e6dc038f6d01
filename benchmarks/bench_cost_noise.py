"""Seed-vs-seed agreement of a table's training cost: wall-clock vs CPU time (issue 17 item 1).

Two seeds of one config train the same network on the same data for the same epochs, so
their costs should agree; what differs is machine load. For every config with two complete
runs, the R² of seed 1's total cost predicted by seed 0's (raw and in log scale), for wall
time (``epoch_time``) and, where the table records it (schema 2), CPU time (``cpu_time``).

    python benchmarks/bench_cost_noise.py data/mnist-hia-cnn.h5 [more tables]

A table collected on a loaded, shared machine shows the gap directly: load moves wall time
but not the CPU time of the training thread. (The two seeds of a config are trained one
after the other, so slow drifts of load hit both alike and only spikes show here; the
config model's runtime R² in the validation report sees the drift too.)
"""

from __future__ import annotations

import sys

import numpy as np

from hasbench.tables import RunTable


def _r2(a: np.ndarray, b: np.ndarray) -> float:
    return float(1 - np.sum((a - b) ** 2) / np.sum((b - b.mean()) ** 2))


def seed_agreement(path: str) -> dict[str, dict[str, float]]:
    t = RunTable.read(path)
    rows = np.arange(t.n_runs)
    last = t.run_n_epochs - 1
    full = t.run_n_epochs == t.max_epochs
    costs = {"wall (epoch_time)": t.cum_time[rows, last]}
    if t.cost_metric == "cpu_time":  # schema-2 tables collected with CPU time
        costs["cpu (cpu_time)"] = t.cost(cumulative=True)[rows, last]
    out = {}
    for name, v in costs.items():
        a = np.full(t.n_configs, np.nan)
        b = a.copy()
        s0, s1 = (t.run_seed == 0) & full, (t.run_seed == 1) & full
        a[t.run_config[s0]] = v[s0]
        b[t.run_config[s1]] = v[s1]
        m = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
        out[name] = {"configs": int(m.sum()), "r2": _r2(a[m], b[m]),
                     "r2_log": _r2(np.log(a[m]), np.log(b[m])),
                     "median_ratio": float(np.median(a[m] / b[m]))}
    return out


def main(argv=None) -> int:
    paths = (argv if argv is not None else sys.argv[1:]) or ["data/mnist-hia-cnn.h5"]
    for p in paths:
        for name, r in seed_agreement(p).items():
            print(f"{p}: {name}: {r['configs']} configs with 2 full seeds, seed-vs-seed "
                  f"R² {r['r2']:.3f} (log {r['r2_log']:.3f}), median seed0/seed1 "
                  f"{r['median_ratio']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
