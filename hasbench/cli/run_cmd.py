"""``hasbench run``: replay an optimizer on many seeds in simulated time."""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import InvalidValueError

_UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def mean_full_cost(bench: Any, n: int = 256) -> float:
    """Mean seconds of one full-fidelity evaluation over ``n`` uniform configs (seed 0,
    seed-averaged answers): the unit of ``--budget Nfe``."""
    import numpy as np

    sp = bench.space
    X = sp.sample_array(n, np.random.default_rng(0))
    fid = sp.fidelity
    if fid.in_config and fid.name in sp.names:
        X[:, sp.names.index(fid.name)] = fid.upper
    c = bench.query(X, fidelity=fid.upper, metrics=[bench.clock_metric], as_arrays=True)
    return float(np.nanmean(c[bench.clock_metric]))


def parse_budget(text: str, bench: Any = None, n_workers: int = 1) -> float:
    """``"10h"``, ``"30m"``, ``"3600s"``, ``"2d"`` -> seconds; ``"100fe"`` = the compute of
    100 full-fidelity evaluations spread over the workers:
    ``100 * mean_full_cost / n_workers`` simulated seconds. A unit is required: a bare
    ``"100"`` (seconds? evaluations?) is refused."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]*)\s*", str(text))
    allowed = ("a duration with a unit: 10h, 30m (or 30min), 3600s, 2d, or Nfe "
               "(N full-fidelity evaluations of compute)")
    if m and m.group(2) == "":
        raise InvalidValueError("--budget", text, allowed, "hasbench run",
                                hint=f"a number without a unit is ambiguous; write "
                                     f"{m.group(1)}s for simulated seconds or {m.group(1)}fe "
                                     "for full-fidelity evaluations")
    if not m or (m.group(2) not in _UNITS and m.group(2) != "fe"):
        raise InvalidValueError("--budget", text, allowed, "hasbench run")
    v = float(m.group(1))
    if v <= 0:
        raise InvalidValueError("--budget", text, "a positive duration", "hasbench run")
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


#: library parameter -> the flag that carries it (errors name the flag)
_FLAGS = {"time_budget": "--budget", "max_evaluations": "--max-evaluations",
          "n_workers": "--workers", "objective": "--objective", "seeds": "--seeds",
          "out": "--out", "processes": "--processes", "executor": "--executor",
          "benchmark": "--benchmark", "name_or_path": "--benchmark",
          "optimizer": "--optimizer"}


def register(subparsers) -> None:
    from ..optimizers import list_optimizers

    p = subparsers.add_parser(
        "run", help="replay an optimizer on many seeds in simulated time",
        description="Replay an optimizer on a benchmark once per seed, in simulated "
                    "wall-clock time, writing one trace file per seed (resumable: seeds "
                    "already written are skipped). --workers are simulated parallel "
                    "workers inside each replay; --processes are the real processes that "
                    "run seeds side by side (docs/cli.md).")
    p.add_argument("--benchmark", required=True,
                   help="shipped name (e.g. digits-hia-cnn; 'hasbench data list'), a path, "
                        "or synthetic:<space>")
    p.add_argument("--optimizer", required=True,
                   help="one of: " + ", ".join(list_optimizers()))
    p.add_argument("--seeds", default="0-9", help="e.g. 0-999 or 1,3,5-7 (default 0-9)")
    p.add_argument("--workers", type=int, default=1,
                   help="simulated parallel workers per replay (default 1)")
    p.add_argument("--budget", default=None, help="simulated wall-clock budget per seed, "
                   "with a unit: 10h, 30m, 3600s, 2d, or Nfe (N full-fidelity evaluations "
                   "of compute, spread over the workers); no default: give --budget or "
                   "--max-evaluations")
    p.add_argument("--max-evaluations", type=int, default=None,
                   help="stop after this many evaluations (default: no cap)")
    p.add_argument("--objective", default=None, help="metric to optimise (default: the "
                   "benchmark's, valid_acc for hasbench's own)")
    p.add_argument("--opt", action="append", metavar="KEY=VALUE",
                   help="optimizer option, repeatable (e.g. --opt eta=3; the value is "
                        "parsed as JSON when it can be; default: none)")
    p.add_argument("--out", required=True, help="output directory (one file per seed)")
    p.add_argument("--processes", type=int, default=1,
                   help="real processes (or Ray tasks) running seeds in parallel (default 1)")
    p.add_argument("--executor", choices=["process", "ray"], default="process",
                   help="run seeds in local processes (default) or as Ray tasks")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def check_optimizer(name: str, space: Any, kwargs: dict, where: str = "hasbench run") -> None:
    """Build the optimizer once, here, so a bad ``--optimizer`` or ``--opt`` fails before any
    output is written or any process is spawned (a worker's error used to end in
    BrokenProcessPool). Errors name the flag: ``--opt random_fraction``."""
    from ..errors import HasbenchError, UnknownNameError
    from ..optimizers import get_optimizer

    try:
        get_optimizer(name, space, seed=0, **kwargs)
    except UnknownNameError as exc:
        if exc.where == "get_optimizer" and str(exc.parameter).startswith("keyword argument"):
            import difflib

            close = difflib.get_close_matches(str(exc.value), [str(a) for a in exc.allowed],
                                              n=2)
            raise UnknownNameError(f"--opt key of optimizer {name!r}:", exc.value,
                                   exc.allowed, where,
                                   hint="did you mean " + " or ".join(map(repr, close)) + "?"
                                   if close else None) from exc
        if exc.parameter == "optimizer":
            raise exc.with_parameter("--optimizer", where) from exc
        raise
    except HasbenchError as exc:
        p = getattr(exc, "parameter", None)
        if p in kwargs:
            raise exc.with_parameter(f"--opt {p}", where) from exc
        raise


def run(args) -> int:
    from ..errors import InvalidValueError, check_choice, check_int
    from ..simulate import replay_many, resolve_benchmark
    from ._flags import cli_names

    where = "hasbench run"
    check_int("--workers", args.workers, 1, None, where)
    check_int("--processes", args.processes, 1, None, where)
    if args.max_evaluations is not None:
        check_int("--max-evaluations", args.max_evaluations, 1, None, where)
    if args.budget is None and args.max_evaluations is None:
        raise InvalidValueError("--budget", None, "a duration with a unit (10h, 30m, 3600s, "
                                "2d) or Nfe", where,
                                hint="a replay needs a budget: give --budget or "
                                     "--max-evaluations")
    kw = _parse_kv(args.opt)
    sources = (None, "replay_many", "simulate", "simulate_many", "hasbench.load",
               "resolve_benchmark")
    with cli_names("run", _FLAGS, sources):
        bench = resolve_benchmark(args.benchmark)
        if args.objective is not None:
            check_choice("--objective", args.objective, bench.metrics, where, unknown=True)
        check_optimizer(args.optimizer, bench.space, kw, where)
        budget = None if args.budget is None else parse_budget(args.budget, bench,
                                                               args.workers)
        paths = replay_many(bench if not isinstance(args.benchmark, str) else args.benchmark,
                            args.optimizer, args.seeds, args.out, n_workers=args.workers,
                            time_budget=budget, max_evaluations=args.max_evaluations,
                            objective=args.objective, optimizer_kwargs=kw,
                            processes=args.processes, executor=args.executor,
                            progress=not args.no_progress)
    print(f"{len(paths)} traces in {args.out}")
    return 0
