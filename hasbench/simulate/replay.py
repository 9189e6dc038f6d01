"""Many replays: one trace file per seed, resumable, in parallel (processes or Ray)."""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..benchmarks.base import Benchmark
from ..errors import InvalidValueError, MissingDependencyError, check_choice, check_int, check_path
from .engine import simulate_many

__all__ = ["replay_many", "resolve_benchmark", "seed_path", "parse_seeds"]

log = logging.getLogger(__name__)


def resolve_benchmark(spec: Any) -> Benchmark:
    """A benchmark from an instance or a name: ``"synthetic:<space>"`` (closed-form
    :class:`~hasbench.benchmarks.synthetic.SyntheticBenchmark` over a registered space),
    ``"synthetic-1d"``, ``"table:<name>"`` (a shipped run table answering configs it lacks
    with a surrogate fitted on it), or anything :func:`hasbench.benchmarks.load` accepts."""
    if isinstance(spec, Benchmark):
        return spec
    if not isinstance(spec, str) or not spec:
        raise InvalidValueError("benchmark", spec, "a Benchmark or a benchmark name")
    if spec.startswith("synthetic:"):
        from ..benchmarks.synthetic import SyntheticBenchmark

        return SyntheticBenchmark(spec.split(":", 1)[1])
    if spec.startswith("table:"):
        name = spec.split(":", 1)[1]
        return _table_with_fallback(name, _table_stamp(name))
    if spec == "synthetic-1d":
        from ..benchmarks.synthetic import OneDimBenchmark

        return OneDimBenchmark()
    from ..benchmarks import load

    return load(spec)


def _table_stamp(name: str) -> tuple | None:
    """Identity of the table file behind ``table:<name>`` (path, size, mtime), if found."""
    from ..benchmarks.registry import _looks_like_path, data_dir

    p = Path(name).expanduser() if _looks_like_path(name) else data_dir() / f"{name}.h5"
    try:
        st = p.stat()
    except OSError:
        return None
    return (str(p.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _table_with_fallback(name: str, stamp: tuple | None) -> Benchmark:
    # cached per process and table file: the fallback surrogate is fitted on the table when
    # no saved one of the same name exists (minutes), and `hasbench run` resolves the
    # benchmark both to size the budget and to replay
    from ..benchmarks import load

    return load(name, kind="table", fallback="surrogate")


def parse_seeds(text: Any) -> list[int]:
    """``"0-999"``, ``"1,3,5-7"``, an int, or an iterable of ints -> sorted unique list."""
    if isinstance(text, int):
        return [check_int("seeds", text, 0)]
    if not isinstance(text, str):
        try:
            return sorted({check_int("seeds", s, 0) for s in text})
        except TypeError:
            raise InvalidValueError("seeds", text, "'0-999', '1,3,5-7' or ints") from None
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                a, b = part.split("-", 1)
                a, b = int(a), int(b)
                if b < a or a < 0:
                    raise ValueError
                out.update(range(a, b + 1))
            else:
                v = int(part)
                if v < 0:
                    raise ValueError
                out.add(v)
        except ValueError:
            raise InvalidValueError("seeds", text, "non-negative ints and ranges like "
                                    "'0-999' or '1,3,5-7'") from None
    return sorted(out)


def seed_path(out: Path, seed: int, ext: str = ".parquet") -> Path:
    return out / f"seed-{seed:06d}{ext}"


# worker-process state (set by the initializer, or inherited through fork)
_STATE: dict[str, Any] = {}


def _init_worker(bench_spec: Any, kwargs: dict) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _STATE["bench"] = resolve_benchmark(bench_spec)
    _STATE["kwargs"] = kwargs


def _run_chunk(seeds: Sequence[int], out: str, ext: str) -> list[int]:
    bench = _STATE["bench"]
    kw = _STATE["kwargs"]
    todo = [s for s in seeds if not seed_path(Path(out), s, ext).exists()]

    def save(tr):
        tr.save(seed_path(Path(out), tr.meta["seed"], ext))

    # all seeds of the chunk advance in lock step; their benchmark queries are merged
    kw = dict(kw)
    opt = kw.pop("optimizer")
    simulate_many(bench, opt, todo, on_done=save, **kw)
    return list(seeds)


def replay_many(benchmark: Any, optimizer: Any, seeds: Any, out: Any, *, n_workers: int = 1,
                time_budget: float | None = None, max_evaluations: int | None = None,
                objective: str | None = None, optimizer_kwargs: dict | None = None,
                processes: int = 1, executor: str = "process", progress: bool = True,
                chunk_size: int | None = None, noise: bool = True,
                expected: bool = True) -> list[Path]:
    """Replay ``optimizer`` once per seed into ``out/seed-NNNNNN.parquet``.

    Each seed's trace is written atomically (temp file + ``os.replace``); a seed whose file
    exists is skipped, so an interrupted call loses nothing and rerunning finishes the rest
    with identical results. ``out/manifest.json`` records the run settings; reusing ``out``
    with different settings is refused.

    Parameters
    ----------
    benchmark : Benchmark or str
        An instance or a name for :func:`resolve_benchmark` (names are re-resolved in each
        worker process; instances are inherited through ``fork``).
    optimizer : str
        Registry name (must be a name, so workers can rebuild it).
    seeds : str or iterable of int
        E.g. ``"0-999"``.
    out : path
        Output directory (created).
    processes : int
        Parallel worker processes (1 = in this process).
    executor : {"process", "ray"}
        ``ray`` runs the chunks as Ray tasks on a local (or running) Ray instance.
    chunk_size : int, optional
        Seeds per task (default: balanced, at most 50). The seeds of a chunk are simulated
        in lock step with merged benchmark queries (:func:`simulate_many`); each seed's file
        is written as soon as it finishes.
    Other parameters: see :func:`~hasbench.simulate.simulate`.

    Returns
    -------
    list of Path
        The trace file of every requested seed.
    """
    where = "replay_many"
    if not isinstance(optimizer, str):
        raise InvalidValueError("optimizer", type(optimizer).__name__, "a registry name", where)
    from ..optimizers import _resolve

    _resolve(optimizer)
    seeds = parse_seeds(seeds)
    out = check_path("out", out)
    processes = check_int("processes", processes, 1, None, where)
    executor = check_choice("executor", executor, ["process", "ray"], where)
    if executor == "ray":  # before anything is written or shown
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise MissingDependencyError("ray", "executor='ray'", "ray", where)
    from .trace import have_parquet

    ext = ".parquet" if have_parquet() else ".csv"
    bench_obj = resolve_benchmark(benchmark)
    kwargs = dict(optimizer=optimizer, n_workers=n_workers, time_budget=time_budget,
                  max_evaluations=max_evaluations, objective=objective,
                  optimizer_kwargs=dict(optimizer_kwargs or {}), noise=noise)
    if not expected:  # kept out of the manifest when on, so older run folders still match
        kwargs["expected"] = False
    # validate settings once, here, before anything is written or any process starts:
    # the simulator's own checks, and the optimizer built once with its options
    from .engine import _check_args, make_optimizer

    _check_args(bench_obj, seeds[0] if seeds else 0, n_workers, time_budget,
                max_evaluations, objective, 50)
    make_optimizer(optimizer, bench_obj.space, seeds[0] if seeds else 0, optimizer_kwargs)
    if out.exists() and not out.is_dir():
        raise InvalidValueError("out", str(out), "a folder (new, or one a replay wrote)",
                                where, hint="it is a file")
    if out.is_dir() and not (out / "manifest.json").exists() and \
            any(not f.name.startswith(".") for f in out.iterdir()):
        raise InvalidValueError("out", str(out), "a new or empty folder, or one a replay "
                                "wrote (with manifest.json)", where,
                                hint="it holds other files; hasbench writes its traces only "
                                     "into folders of its own")
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"benchmark": getattr(bench_obj, "name", str(benchmark)),
                **{k: v for k, v in kwargs.items()}}
    mpath = out / "manifest.json"
    if mpath.exists():
        old = json.loads(mpath.read_text())
        if old != json.loads(json.dumps(manifest)):
            raise InvalidValueError("out", str(out), "an empty directory or one holding a run "
                                    "with the same settings", where,
                                    hint=f"it holds {old}; choose another --out")
    else:
        tmp = mpath.with_name(f".manifest.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        os.replace(tmp, mpath)
    paths = [seed_path(out, s, ext) for s in seeds]
    todo = [s for s, p in zip(seeds, paths, strict=True) if not p.exists()]
    log.info("%d of %d seeds to run in %s", len(todo), len(seeds), out)
    if not todo:
        return paths
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(seeds), initial=len(seeds) - len(todo), unit="seed",
                   desc=f"{optimizer}")
    # Workers are spawned, never forked: a forked child deadlocks in OpenMP once the parent
    # has run a multi-threaded XGBoost prediction (e.g. for --budget Nfe). Workers re-resolve a
    # benchmark name (a shipped surrogate loads in ~0.1 s); other benchmarks are sent whole.
    # A "table:" name is sent whole too: re-resolving it would refit its fallback surrogate
    # in every worker.
    spec = (benchmark if isinstance(benchmark, str) and not benchmark.startswith("table:")
            else bench_obj)
    try:
        if processes == 1 and executor == "process":
            _init_worker(bench_obj, kwargs)
            for c in _chunks(todo, 1, chunk_size):
                _run_chunk(c, str(out), ext)
                if bar:
                    bar.update(len(c))
        elif executor == "process":
            _run_processes(spec, kwargs, todo, out, ext, processes, chunk_size, bar)
        else:
            _run_ray(spec, kwargs, todo, out, ext, processes, chunk_size, bar)
    finally:
        if bar:
            bar.close()
    return paths


def _chunks(todo: list[int], processes: int, chunk_size: int | None) -> Iterable[list[int]]:
    if chunk_size is None:
        chunk_size = max(1, min(50, len(todo) // (processes * 4) or 1))
    for i in range(0, len(todo), chunk_size):
        yield todo[i:i + chunk_size]


def _run_processes(spec, kwargs, todo, out, ext, processes, chunk_size, bar) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from .._workers import child_init, killing_pool_on_error, worker_initargs

    ctx = mp.get_context("spawn")
    # workers die with this process (killed or interrupted): no orphan keeps writing traces
    with ProcessPoolExecutor(processes, mp_context=ctx, initializer=child_init,
                             initargs=worker_initargs(_init_worker, spec, kwargs)) as pool, \
            killing_pool_on_error(pool):
        futs = [pool.submit(_run_chunk, c, str(out), ext)
                for c in _chunks(todo, processes, chunk_size)]
        for f in as_completed(futs):
            n = len(f.result())
            if bar:
                bar.update(n)


def _run_ray(spec, kwargs, todo, out, ext, processes, chunk_size, bar) -> None:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingDependencyError("ray", "executor='ray'", "ray", "replay_many") from exc
    started = False
    if not ray.is_initialized():
        ray.init(num_cpus=processes, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True)
        started = True

    @ray.remote(num_cpus=1)
    def task(seeds, bench_spec, kw):
        _init_worker(bench_spec, kw)
        return _run_chunk(seeds, str(out), ext)

    try:
        ref = ray.put(spec)
        pending = [task.remote(c, ref, kwargs) for c in _chunks(todo, processes, chunk_size)]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for r in ready:
                n = len(ray.get(r))
                if bar:
                    bar.update(n)
    finally:
        if started:
            ray.shutdown()
