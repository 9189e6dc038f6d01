"""``hasbench data split``: the vectorised copy against the per-run copy it replaced.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_split.py [--configs 20000] [--seeds 4]
        [--epochs 27] [--baseline-configs 2000] [--json OUT]

Measured in one run, on one synthetic hia-cnn table of ``--configs`` configs x ``--seeds``
seeds (written once with ``write_table``, read once):

1. ``split_table`` (today's: one vectorised slice of every array per part, one write each);
2. the per-run copy it replaced (one ``Run`` per run, appended through
   ``write_table``/``RunTableWriter``, which re-validates and re-encodes every config), on
   the first ``--baseline-configs`` configs' runs only (it is slow: 248,832 runs took about
   4 minutes), scaled to the whole table by the run count (it is linear in the runs).

Printed: seconds of each, runs per second, and the ratio baseline / vectorised at equal run
counts (the target: a copy, i.e. at least 10x faster; recorded in docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from hasbench.surrogates.testing import write_synthetic_table
from hasbench.tables import Run, RunTable, write_table
from hasbench.tables.importers import split_table


def _per_run_copy(table: RunTable, path: Path, configs: np.ndarray) -> None:
    """The split before issue 20: one Run per run, through the writer."""
    keep = np.zeros(table.n_configs, bool)
    keep[configs] = True
    runs = []
    cfgs = table.configs
    for r in range(table.n_runs):
        c = int(table.run_config[r])
        if not keep[c]:
            continue
        n = int(table.run_n_epochs[r])
        runs.append(Run(config=cfgs[c], seed=int(table.run_seed[r]),
                        metrics={m: table.curve(m)[r, :n] for m in table.metrics},
                        epoch_time=table.epoch_time[r, :n],
                        static={s: table.static[s][c] for s in table.static},
                        status=table.run_status[r]))
    write_table(path, table.space, runs, table.max_epochs, table.metrics,
                provenance=dict(table.provenance), static_names=list(table.static),
                attrs=table.attrs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", type=int, default=20000)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=27)
    ap.add_argument("--baseline-configs", type=int, default=2000)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        t0 = time.perf_counter()
        write_synthetic_table(d / "src.h5", "hia-cnn", n_configs=a.configs,
                              seeds=tuple(range(a.seeds)), rng=0)
        t_make = time.perf_counter() - t0
        src = RunTable.read(d / "src.h5")
        t0 = time.perf_counter()
        split_table(src, d / "a.h5", d / "b.h5", 0.2, seed=0)
        t_vec = time.perf_counter() - t0
        nb = min(a.baseline_configs, src.n_configs)
        t0 = time.perf_counter()
        _per_run_copy(src, d / "base.h5", np.arange(nb))
        t_base = time.perf_counter() - t0
        base_runs = int(np.isin(src.run_config, np.arange(nb)).sum())
    per_run_base = t_base / base_runs
    scaled = per_run_base * src.n_runs
    res = {"machine": f"{platform.node()} {platform.processor() or platform.machine()}",
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "configs": src.n_configs, "runs": src.n_runs, "epochs": src.max_epochs,
           "make_table_s": round(t_make, 2), "vectorised_split_s": round(t_vec, 3),
           "vectorised_runs_per_s": round(src.n_runs / t_vec),
           "baseline_runs_copied": base_runs, "baseline_s": round(t_base, 3),
           "baseline_runs_per_s": round(base_runs / t_base),
           "baseline_scaled_to_table_s": round(scaled, 2),
           "ratio_baseline_over_vectorised": round(scaled / t_vec, 1)}
    print(json.dumps(res, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
