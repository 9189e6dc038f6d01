"""``hasbench run``: replay an optimizer on many seeds in simulated time."""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import InvalidValueError

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def mean_full_cost(bench: Any, n: int = 256) -> float:
    """Mean seconds of one full-fidelity evaluation over ``n`` uniform configs (seed 0,
    seed-averaged answers): the unit of ``--budget Nfe``."""
    import numpy as np

    sp = bench.space
    X = sp.sample_array(n, np.random.default_rng(0))
    fid = sp.fidelity
    if fid.in_config and fid.name in sp.names:
        X[:, sp.names.index(fid.name)] = fid.upper
    c = bench.query(X, fidelity=fid.upper, metrics=[bench.cost_metric], as_arrays=True)
    return float(np.nanmean(c[bench.cost_metric]))


def parse_budget(text: str, bench: Any = None, n_workers: int = 1) -> float:
    """``"10h"``, ``"30m"``, ``"3600"``/``"3600s"``, ``"2d"`` -> seconds; ``"100fe"`` = the
    compute of 100 full-fidelity evaluations spread over the workers:
    ``100 * mean_full_cost / n_workers`` simulated seconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]*)\s*", str(text))
    if not m or (m.group(2) not in _UNITS and m.group(2) != "fe"):
        raise InvalidValueError("--budget", text, "a duration like 10h, 30m, 3600s, 2d, or "
                                "Nfe (N full-fidelity evaluations of compute)")
    v = float(m.group(1))
    if v <= 0:
        raise InvalidValueError("--budget", text, "a positive duration")
    if m.group(2) == "fe":
        return v * mean_full_cost(bench) / n_workers
    return v * _UNITS[m.group(2)]


def _parse_kv(items: list[str]) -> dict:
    out = {}
    for it in items or []:
        if "=" not in it:
            raise InvalidValueError("--opt", it, "key=value (value parsed as JSON when it can "
                                    "be, else a string)")
        k, v = it.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="replay an optimizer on many seeds in simulated time",
        description="Replay an optimizer on a benchmark once per seed, in simulated "
                    "wall-clock time, writing one trace file per seed (resumable: seeds "
                    "already written are skipped).")
    p.add_argument("--benchmark", required=True,
                   help="shipped name (e.g. digits-hia-cnn), a path, or synthetic:<space>")
    p.add_argument("--optimizer", required=True, help="optimizer name (hasbench.optimizers."
                   "list_optimizers())")
    p.add_argument("--seeds", default="0-9", help="e.g. 0-999 or 1,3,5-7 (default 0-9)")
    p.add_argument("--workers", type=int, default=1, help="simulated parallel workers")
    p.add_argument("--budget", default=None, help="simulated wall-clock budget: 10h, 30m, "
                   "3600s, or Nfe (N full-fidelity evaluations of compute)")
    p.add_argument("--max-evaluations", type=int, default=None,
                   help="stop after this many evaluations")
    p.add_argument("--objective", default=None, help="metric to optimise (default: the "
                   "benchmark's)")
    p.add_argument("--opt", action="append", metavar="KEY=VALUE",
                   help="optimizer option, repeatable (e.g. --opt eta=3)")
    p.add_argument("--out", required=True, help="output directory (one file per seed)")
    p.add_argument("--processes", type=int, default=1, help="parallel processes")
    p.add_argument("--executor", choices=["process", "ray"], default="process",
                   help="run seeds in local processes or as Ray tasks")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..simulate import replay_many, resolve_benchmark

    bench = resolve_benchmark(args.benchmark)
    budget = None if args.budget is None else parse_budget(args.budget, bench, args.workers)
    paths = replay_many(bench if not isinstance(args.benchmark, str) else args.benchmark,
                        args.optimizer, args.seeds, args.out, n_workers=args.workers,
                        time_budget=budget, max_evaluations=args.max_evaluations,
                        objective=args.objective, optimizer_kwargs=_parse_kv(args.opt),
                        processes=args.processes, executor=args.executor,
                        progress=not args.no_progress)
    print(f"{len(paths)} traces in {args.out}")
    return 0
