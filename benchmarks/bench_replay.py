"""Replay throughput of hasbench's simulator vs Syne Tune 0.16 and HpBandSter 0.7.4, and the
1,000-seed Hyperband target.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_replay.py [--benchmark NAME] [--seeds 3]
        [--budget-fe 100] [--peer-python PYTHON] [--target-seeds 1000] [--json OUT]

Measured in one run, on one benchmark (default ``synthetic:hia-cnn``; a shipped name such
as ``digits-hia-cnn`` is used when given and loadable):

1. hasbench ``simulate`` for random search, ASHA, BOHB and Hyperband: 4 simulated workers,
   a simulated time budget of ``budget_fe`` full-fidelity evaluations of compute
   (``budget_fe * mean_full_cost / 4`` simulated seconds), ``--seeds`` seeds each.
2. Syne Tune 0.16's simulator backend (``UserBlackboxBackend`` + ``SimulatorCallback``,
   ``sleep_time=0``) for RandomSearch, ASHA and BOHB on the same benchmark (wrapped as a
   Syne Tune ``Blackbox`` answering whole curves from the hasbench benchmark), same
   workers and simulated budget, same seeds.
3. HpBandSter 0.7.4 BOHB (local Pyro4 name server, one worker thread answering from the
   benchmark at once; HpBandSter has no simulated clock) for ``--hpb-iterations``
   brackets.
4. ``replay_many`` of Hyperband over ``--target-seeds`` seeds on ``--target-benchmark`` (4 simulated workers, budget
   100 full-fidelity evaluations of compute, ``--processes`` processes), written to a
   temporary directory: the wall time against the 60 s target.

Peers run in subprocesses of ``--peer-python`` (default: this interpreter; set it to a
virtualenv holding ``pip install syne-tune==0.16.0 hpbandster==0.7.4``), in the same run.

Throughput = (config, fidelity) results delivered to the optimizer per wall second. Syne
Tune reports every epoch of a running trial, so its count includes one result per epoch,
which favours it; the fairer figure is the wall time to replay the same simulated budget
("equal-budget ratio" = peer wall seconds / hasbench wall seconds), also printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _peer(python: str, module: str, args: list[str], timeout: float = 900) -> dict | str:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    try:
        p = subprocess.run([python, "-m", module, *args], capture_output=True, text=True,
                           cwd=REPO, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
    return "failed: " + " | ".join(tail)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--benchmark", default="synthetic:hia-cnn")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--budget-fe", type=float, default=100.0)
    ap.add_argument("--peer-python", default=os.environ.get("HASBENCH_PEER_PYTHON",
                                                             sys.executable))
    ap.add_argument("--hpb-iterations", type=int, default=8)
    ap.add_argument("--target-seeds", type=int, default=1000)
    ap.add_argument("--target-benchmark", default=None,
                    help="benchmark of the 1,000-seed target (default: --benchmark); "
                         "'fitted:<name>' = an XGBoost CurveSurrogate fitted here on the "
                         "shipped run table <name>, used as a SurrogateBenchmark")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    from hasbench.cli.run_cmd import mean_full_cost
    from hasbench.simulate import replay_many, resolve_benchmark, simulate

    bench = resolve_benchmark(a.benchmark)
    T = a.budget_fe * mean_full_cost(bench) / a.workers
    print(f"benchmark {bench.name}; {a.workers} workers; simulated budget {T:.0f} s "
          f"({a.budget_fe:g} full-fidelity evaluations of compute); seeds 0..{a.seeds - 1}")
    out: dict = {"machine": f"{platform.machine()} {platform.processor() or ''} "
                            f"{os.cpu_count()} cores, Python {platform.python_version()}",
                 "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "benchmark": bench.name, "workers": a.workers, "time_budget": T, "rows": []}

    # 1. hasbench
    simulate(bench, "random", seed=0, n_workers=a.workers, max_evaluations=20)  # warm-up
    hb = {}
    for name in ("random", "asha", "bohb", "hyperband"):
        n, wall = 0, 0.0
        for s in range(a.seeds):
            t0 = time.perf_counter()
            tr = simulate(bench, name, seed=s, n_workers=a.workers, time_budget=T)
            wall += time.perf_counter() - t0
            n += int((tr.frame["status"] == "ok").sum())
        hb[name] = (n, wall)
        print(f"hasbench {name:10s}: {n:7d} results in {wall:7.3f} s  "
              f"= {n / wall:9.0f} results/s")
        out["rows"].append({"who": f"hasbench-{name}", "results": n, "wall": wall})

    # 2./3. peers
    peers = {}
    if not a.skip_peers:
        for sch, mine in (("random", "random"), ("asha", "asha"), ("bohb", "bohb")):
            n, wall, err = 0, 0.0, None
            for s in range(a.seeds):
                r = _peer(a.peer_python, "benchmarks.peers.syne_tune_peer",
                          ["--benchmark", a.benchmark, "--scheduler", sch, "--seed", str(s),
                           "--workers", str(a.workers), "--time-budget", str(T)])
                if isinstance(r, str):
                    err = r
                    break
                n += r["results"]
                wall += r["wall"]
            key = f"syne-tune-0.16-{sch}"
            if err:
                print(f"{key}: could not run: {err}")
                out["rows"].append({"who": key, "error": err})
                continue
            peers[key] = (n, wall, mine)
            out["rows"].append({"who": key, "results": n, "wall": wall})
        n, wall, err = 0, 0.0, None
        for s in range(a.seeds):
            r = _peer(a.peer_python, "benchmarks.peers.hpbandster_peer",
                      ["--benchmark", a.benchmark, "--seed", str(s), "--iterations",
                       str(a.hpb_iterations)], timeout=600)
            if isinstance(r, str):
                err = r
                break
            n += r["results"]
            wall += r["wall"]
        if err:
            print(f"hpbandster-0.7.4-bohb: could not run: {err}")
            out["rows"].append({"who": "hpbandster-0.7.4-bohb", "error": err})
        else:
            peers["hpbandster-0.7.4-bohb"] = (n, wall, "bohb")
            out["rows"].append({"who": "hpbandster-0.7.4-bohb", "results": n, "wall": wall})
        for key, (n, wall, mine) in peers.items():
            hn, hw = hb[mine]
            ratio = (hn / hw) / (n / wall)
            line = (f"{key:24s}: {n:7d} results in {wall:7.2f} s = {n / wall:8.0f} results/s;"
                    f" hasbench {mine} / peer throughput = {ratio:7.1f}x")
            if key.startswith("syne"):
                eq = wall / hw
                line += f"; equal-budget wall ratio = {eq:7.1f}x"
                out["rows"].append({"who": key, "throughput_ratio": ratio,
                                    "equal_budget_ratio": eq})
            else:
                out["rows"].append({"who": key, "throughput_ratio": ratio})
            print(line)

    # 4. 1,000 seeds of Hyperband
    if a.target_seeds:
        tb_spec = a.target_benchmark or a.benchmark
        if tb_spec.startswith("fitted:"):
            from hasbench.benchmarks import load
            from hasbench.benchmarks.surrogate import SurrogateBenchmark

            name = tb_spec.split(":", 1)[1]
            t0 = time.perf_counter()
            sur = load(name, kind="table", fallback="surrogate").surrogate
            tbench = SurrogateBenchmark(sur, name=f"{name} (XGBoost surrogate fitted here)")
            print(f"fitted the surrogate of {name} in {time.perf_counter() - t0:.1f} s "
                  "(not counted)")
        else:
            tbench = resolve_benchmark(tb_spec)
        out["target_benchmark"] = tbench.name
        tmp = Path(tempfile.mkdtemp(prefix="hasbench-replay-"))
        T100 = 100.0 * mean_full_cost(tbench) / a.workers
        try:
            t0 = time.perf_counter()
            replay_many(tbench, "hyperband", f"0-{a.target_seeds - 1}", tmp / "hb",
                        n_workers=a.workers, time_budget=T100, processes=a.processes,
                        progress=False)
            wall = time.perf_counter() - t0
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"{tbench.name}: {a.target_seeds} seeds of Hyperband ({a.workers} workers, 100 full-fidelity "
              f"evaluations of compute each, {a.processes} processes, files written): "
              f"{wall:.1f} s (target <= 60 s)")
        out["target_seconds"] = wall
        # 5. the cost of recording expected values (true regret): the same replays with
        # and without, alternated (off, on, on, off, off, on) in this process so load drift
        # hits both alike; CPU time beside wall time (the machine is shared)
        n = max(1, a.target_seeds // 10)
        walls = {False: 0.0, True: 0.0}
        cpus = {False: 0.0, True: 0.0}
        for rep, exp in enumerate((False, True, True, False, False, True)):
            tmp = Path(tempfile.mkdtemp(prefix="hasbench-replay-"))
            try:
                t0, c0 = time.perf_counter(), time.process_time()
                replay_many(tbench, "hyperband", f"0-{n - 1}", tmp / f"hb{rep}",
                            n_workers=a.workers, time_budget=T100, processes=1,
                            progress=False, expected=exp)
                walls[exp] += time.perf_counter() - t0
                cpus[exp] += time.process_time() - c0
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        ratio = cpus[True] / cpus[False]
        print(f"expected values (true regret): {n} seeds x 3 with / without, one process: "
              f"CPU {cpus[True]:.1f} s / {cpus[False]:.1f} s = {ratio:.3f} (target <= 1.20); "
              f"wall {walls[True]:.1f} s / {walls[False]:.1f} s = "
              f"{walls[True] / walls[False]:.3f}")
        out["expected_values_ratio"] = ratio
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
