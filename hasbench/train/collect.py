"""Resumable collection of run tables: sample configs, train them, append to a table.

The config list is a deterministic function of (space, sampler, n_configs, sample_seed,
epochs, exclude table), so rerunning the same command after an interruption rebuilds the
same list, skips every (config_id, seed) already in the output table and trains only what
is missing. Results are appended by the main process only, one atomic commit per run
(:meth:`~hasbench.tables.RunTableWriter.append`), so a kill loses at most the runs in flight.

In-config fidelity (``hia-cnn``'s ``epochs``): every stored config has ``epochs`` set to the
number of epochs trained (``epochs`` argument, which for the shipped tables is the fidelity
maximum 27), and its curve holds one value per epoch; a query for ``epochs=e`` reads the
curve at epoch ``e`` (constant learning rate, so this is honest). ``epochs`` must lie within
the fidelity's bounds.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidValueError, MissingDependencyError, check_choice, check_int, check_path
from ..spaces import Space, get_space
from ..tables import RunTable, RunTableWriter, config_id
from ..tables._lock import acquire_lock

__all__ = ["collect", "make_configs", "search_id"]

log = logging.getLogger(__name__)

_WORKER: dict[str, Any] = {}


def search_id(space: Space, cfg: Mapping[str, Any]) -> str:
    """Id of a config ignoring in-config fidelities (used to keep tables disjoint)."""
    skip = {f.name for f in space.fidelities if f.in_config}
    return config_id({k: v for k, v in cfg.items() if k not in skip})


def _read_csv_configs(space: Space, path: str, epochs: int) -> list[dict]:
    import pandas as pd

    p = check_path("sampler", path, must_exist=True, where="collect (csv:PATH)")
    df = pd.read_csv(p)
    fid = space.fidelity
    out = []
    for k, row in enumerate(df.to_dict("records")):
        cfg = {n: row[n] for n in space.names if n in row and not _isnan(row[n])}
        if fid.in_config:
            cfg[fid.name] = epochs
        out.append(space.canonicalize(space.validate(cfg, f"collect: CSV row {k}")))
    return out


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and v != v


def make_configs(space: Space | str, n_configs: int, sampler: str = "sobol",
                 sample_seed: int = 0, epochs: int | None = None,
                 exclude: str | os.PathLike | None = None) -> list[dict]:
    """The deterministic config list of a collection.

    Parameters
    ----------
    space : Space or str
    n_configs : int
        Number of configs (for ``csv:PATH``, at most this many rows are used).
    sampler : {"sobol", "random", "csv:PATH"}
        Scrambled Sobol points or uniform random samples (both from ``sample_seed``), or
        the rows of a CSV file with one column per hyperparameter.
    sample_seed : int
    epochs : int, optional
        Trained epochs; in-config fidelities are set to it (default: fidelity maximum).
    exclude : path, optional
        A run table whose configs (compared without in-config fidelities) are left out;
        extra points of the same sequence replace them, so the list still has
        ``n_configs`` configs.

    Returns
    -------
    list of dict
        Canonical configs, duplicates removed, in sampling order.
    """
    where = "make_configs"
    sp = get_space(space) if isinstance(space, str) else space
    n_configs = check_int("n_configs", n_configs, 1, None, where)
    sample_seed = check_int("sample_seed", sample_seed, 0, None, where)
    fid = sp.fidelity
    epochs = int(fid.upper) if epochs is None else check_int(
        "epochs", epochs, int(fid.lower), int(fid.upper), where)
    excluded: set[str] = set()
    if exclude is not None:
        other = RunTable.read(check_path("exclude", exclude, must_exist=True, where=where))
        if other.space.name != sp.name:
            raise InvalidValueError("exclude", str(exclude), f"a run table of space {sp.name!r}",
                                    where, hint=f"it holds space {other.space.name!r}")
        excluded = {search_id(sp, c) for c in other.configs}
    if not isinstance(sampler, str):
        raise InvalidValueError("sampler", sampler, ["sobol", "random", "csv:PATH"], where)
    if sampler.startswith("csv:"):
        cands = _read_csv_configs(sp, sampler[4:], epochs)
        return _dedupe(sp, cands, excluded)[:n_configs]
    check_choice("sampler", sampler, ["sobol", "random", "csv:PATH"], where)
    m = n_configs
    while True:
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*balance properties of Sobol.*")
            X = sp.sample_array(m, np.random.default_rng(sample_seed), method=sampler)
        cands = []
        for cfg in sp.decode(X):
            if fid.in_config:
                cfg[fid.name] = epochs
            cands.append(sp.canonicalize(cfg))
        keep = _dedupe(sp, cands, excluded)
        if len(keep) >= n_configs:
            return keep[:n_configs]
        if m > 100 * n_configs + 1000:
            raise InvalidValueError("n_configs", n_configs, f"<= {len(keep)} for this space",
                                    where, hint="the space has too few distinct configs")
        m += n_configs - len(keep)


def _dedupe(sp: Space, cands: list[dict], excluded: set[str]) -> list[dict]:
    seen, out = set(), []
    for c in cands:
        cid = config_id(c)
        if cid in seen or search_id(sp, c) in excluded:
            continue
        seen.add(cid)
        out.append(c)
    return out


# ----------------------------------------------------------------------------- workers

def _dataset_kwargs(dataset: str, data_dir, resolution, max_train, max_valid, max_test,
                    split_seed) -> dict[str, Any]:
    return {"name": dataset, "data_dir": None if data_dir is None else str(data_dir),
            "resolution": float(resolution), "max_train": max_train, "max_valid": max_valid,
            "max_test": max_test, "split_seed": split_seed}


def _worker_init(ds_kwargs: Mapping[str, Any], threads: int) -> None:
    import torch

    from .datasets import load_dataset

    torch.set_num_threads(threads)
    _WORKER["dataset"] = load_dataset(**ds_kwargs)
    _WORKER["threads"] = threads


def _train_items(space_name: str, items: list, ds, epochs: int, device: str, threads: int,
                 batched: bool) -> list[dict[str, Any]]:
    """Train a task: a list of (config, seed); batched tasks use population training."""
    if batched:
        from .population import train_population

        runs = train_population([c for c, _ in items], [s for _, s in items], space_name, ds,
                                epochs, device, num_threads=threads)
    else:
        from .trainer import train_config

        runs = [train_config(c, space_name, ds, seed=s, epochs=epochs, device=device,
                             num_threads=threads) for c, s in items]
    return [_run_to_dict(r) for r in runs]


def _worker_run(space_name: str, items: list, epochs: int, device: str, batched: bool):
    return _train_items(space_name, items, _WORKER["dataset"], epochs, device,
                        _WORKER["threads"], batched)


def _run_to_dict(run) -> dict[str, Any]:
    return {"config": dict(run.config), "seed": int(run.seed),
            "metrics": {k: np.asarray(v).tolist() for k, v in run.metrics.items()},
            "epoch_time": np.asarray(run.epoch_time).tolist(), "static": dict(run.static),
            "status": run.status,
            **{c: None if getattr(run, c, None) is None else np.asarray(getattr(run, c)).tolist()
               for c in ("cpu_time", "cuda_time")}}


def _ray_task(space_name, items, epochs, device, batched, ds, threads):
    import torch

    torch.set_num_threads(threads)
    return _train_items(space_name, items, ds, epochs, device, threads, batched)


class _Failure:
    """A task that raised: its (config, seed) items and the error."""

    def __init__(self, items, error):
        self.items, self.error = items, error


class _LocalExecutor:
    """In-process (1 worker) or a spawn process pool (several)."""

    def __init__(self, workers: int, ds_kwargs: Mapping[str, Any], threads: int):
        self.workers = workers
        self._old_threads = None
        if workers == 1:
            import torch

            self._old_threads = torch.get_num_threads()
            _WORKER.clear()
            _worker_init(ds_kwargs, threads)
            self.pool = None
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            from .._workers import child_init, worker_initargs

            # workers die with this process, however it ends (no orphan keeps training)
            self.pool = ProcessPoolExecutor(workers, mp.get_context("spawn"),
                                            initializer=child_init,
                                            initargs=worker_initargs(_worker_init,
                                                                     dict(ds_kwargs), threads))

    def map_unordered(self, tasks, space_name, epochs, device, batched):
        """Yield, per task, a list of run dicts or a :class:`_Failure`."""
        if self.pool is None:
            for items in tasks:
                try:
                    yield _worker_run(space_name, items, epochs, device, batched)
                except Exception as exc:  # reported to the caller, who logs it
                    yield _Failure(items, exc)
            return
        from concurrent.futures import FIRST_COMPLETED, wait

        yield from _bounded_unordered(
            tasks,
            submit=lambda items: self.pool.submit(_worker_run, space_name, items, epochs,
                                                  device, batched),
            wait_done=lambda handles: wait(handles, return_when=FIRST_COMPLETED)[0],
            result=lambda f: f.result(),
            window=2 * self.workers)

    def close(self, interrupted: bool = False):
        """Shut the pool down; ``interrupted``: kill the workers instead of waiting for
        their running tasks (whose results could no longer be recorded)."""
        if self.pool is not None:
            if interrupted:
                from .._workers import kill_pool

                kill_pool(self.pool)
            else:
                self.pool.shutdown(cancel_futures=True)
        if self._old_threads is not None:
            import torch

            torch.set_num_threads(self._old_threads)
            _WORKER.clear()


def _bounded_unordered(tasks, submit, wait_done, result, window):
    """Run ``tasks`` with at most ``window`` in flight; yield each result (or a
    :class:`_Failure`) as it finishes. ``submit(items) -> handle``, ``wait_done(handles) ->
    finished handles``, ``result(handle) -> value``: the process pool and Ray share this."""
    it = iter(tasks)
    pending = {}

    def fill():
        while len(pending) < window:
            items = next(it, None)
            if items is None:
                return
            pending[submit(items)] = items

    fill()
    while pending:
        for handle in wait_done(list(pending)):
            items = pending.pop(handle)
            fill()
            try:
                yield result(handle)
            except Exception as exc:
                yield _Failure(items, exc)


class _RayExecutor:
    def __init__(self, workers: int, address: str | None, ds_kwargs: Mapping[str, Any],
                 threads: int):
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise MissingDependencyError("ray", "executor 'ray'", "ray", "collect") from exc
        from .datasets import load_dataset

        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, log_to_driver=False, include_dashboard=False)
            self.started = True
        self.workers = workers
        self.ds_ref = ray.put(load_dataset(**ds_kwargs))  # shipped once to the cluster
        self.threads = threads
        self.remote = ray.remote(num_cpus=threads)(_ray_task)

    def map_unordered(self, tasks, space_name, epochs, device, batched):
        ray = self.ray
        yield from _bounded_unordered(
            tasks,
            submit=lambda items: self.remote.remote(space_name, items, epochs, device, batched,
                                                    self.ds_ref, self.threads),
            wait_done=lambda handles: ray.wait(handles, num_returns=1)[0],
            result=ray.get,
            window=2 * self.workers)

    def close(self, interrupted: bool = False):
        if self.started:
            self.ray.shutdown()


def _make_tasks(pending: list[tuple[dict, int]], space_name: str, batched: bool,
                max_group: int) -> list[list[tuple[dict, int]]]:
    """One run per task, or (batched, ``hia-cnn``) groups of runs sharing architecture and
    batch size, in order of first appearance, at most ``max_group`` runs each."""
    if not batched or space_name != "hia-cnn":
        return [[t] for t in pending]
    from .population import group_key

    groups: dict[tuple, list] = {}
    for cfg, s in pending:
        groups.setdefault(group_key(cfg), []).append((cfg, s))
    return [g[i:i + max_group] for g in groups.values() for i in range(0, len(g), max_group)]


# ----------------------------------------------------------------------------- collect

def collect(space: Space | str, out: str | os.PathLike, dataset: str = "digits",
            n_configs: int = 8, seeds: int | Sequence[int] = 2, epochs: int | None = None,
            sampler: str = "sobol", sample_seed: int = 0, workers: int = 1,
            executor: str = "local", address: str | None = None, device: str = "cpu",
            data_dir: str | os.PathLike | None = None, resolution: float = 1.0,
            max_train: int | None = None, max_valid: int | None = None,
            max_test: int | None = None, split_seed: int = 0,
            exclude: str | os.PathLike | None = None, threads: int = 1,
            batched: bool = False, max_group: int = 8, progress: bool = True,
            command: str | None = None,
            allow_stale_surrogates: bool = False) -> dict[str, Any]:
    """Train ``n_configs`` configs x ``seeds`` and append them to the run table ``out``.

    Resumable: (config, seed) pairs already in ``out`` are skipped. See the module docstring.

    Parameters
    ----------
    space : Space or str
        ``hia-cnn``, ``zela2018`` or ``nb201-joint``.
    out : path
        Run table to create or extend (its space, metrics and width must match).
    dataset, data_dir, resolution, max_train, max_valid, max_test, split_seed
        Passed to :func:`~hasbench.train.datasets.load_dataset`.
    n_configs, sampler, sample_seed, exclude
        Passed to :func:`make_configs`.
    seeds : int or sequence of int
        An int ``k`` means seeds ``0..k-1``.
    epochs : int, optional
        Epochs per run (default: the fidelity maximum); the table's ``max_epochs``.
    workers : int
        Parallel training processes (local) or concurrent tasks (Ray).
    executor : {"local", "ray"}
        ``ray`` connects to ``address`` (e.g. ``auto`` or ``ray://host:10001``) or starts a
        local instance with ``workers`` CPUs.
    device : {"cpu", "cuda", "auto"}
    threads : int
        Torch threads per worker (default 1).
    batched : bool
        Train ``hia-cnn`` runs that share architecture and batch size (e.g. the seeds of a
        config) together with :func:`~hasbench.train.population.train_population`, up to
        ``max_group`` per task; their ``epoch_time`` is then the amortised group time
        (recorded in the provenance). Other spaces ignore it.
    progress : bool
        Show a tqdm progress bar (stderr).
    command : str, optional
        Command line recorded in the table's provenance.
    allow_stale_surrogates : bool
        Appending changes the table's file hash, so every surrogate fitted on it or on a
        split of it (:func:`dependent_surrogates`) would stop loading with
        ``SurrogateHashError`` or stop being validated on a true held-out split. By default ``collect``
        refuses to append to such a table (resuming a complete one, with nothing to train,
        is fine); pass ``True`` to append anyway and refit those surrogates afterwards.

    Returns
    -------
    dict
        Summary: ``trained``, ``skipped``, ``failed``, ``status`` counts, ``seconds``,
        ``seconds_per_run``, ``n_runs`` (table total), ``valid_acc`` quantiles.
    """
    import torch

    from .trainer import SUPPORTED_SPACES, resolve_device

    where = "collect"
    sp = get_space(space) if isinstance(space, str) else space
    check_choice("space", sp.name, SUPPORTED_SPACES, where)
    out = check_path("out", out, where=where)
    fid = sp.fidelity
    epochs = int(fid.upper) if epochs is None else check_int(
        "epochs", epochs, int(fid.lower), int(fid.upper), where)
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seed_list = list(range(check_int("seeds", seeds, 1, None, where)))
    else:
        seed_list = [check_int("seeds", s, 0, None, where) for s in seeds]
        if not seed_list or len(set(seed_list)) != len(seed_list):
            raise InvalidValueError("seeds", seeds, "a non-empty list of distinct ints >= 0",
                                    where)
    workers = check_int("workers", workers, 1, None, where)
    threads = check_int("threads", threads, 1, None, where)
    max_group = check_int("max_group", max_group, 1, None, where)
    if not isinstance(batched, bool):
        raise InvalidValueError("batched", batched, [True, False], where)
    if not isinstance(allow_stale_surrogates, bool):
        raise InvalidValueError("allow_stale_surrogates", allow_stale_surrogates,
                                [True, False], where)
    check_choice("executor", executor, ["local", "ray"], where)
    dev = str(resolve_device(device))
    if not isinstance(dataset, str):
        raise InvalidValueError("dataset", dataset, "a dataset name", where)

    configs = make_configs(sp, n_configs, sampler, sample_seed, epochs, exclude)
    ds_kwargs = _dataset_kwargs(dataset, data_dir, resolution, max_train, max_valid, max_test,
                                split_seed)
    from .datasets import load_dataset

    ds_info = load_dataset(**ds_kwargs).info  # validates the dataset options up front
    prov = {"dataset": dataset, "dataset_info": ds_info, "device": dev,
            "torch_version": torch.__version__, "sampler": sampler, "sample_seed": sample_seed,
            "n_configs": n_configs, "seeds": seed_list, "epochs": epochs,
            "exclude": None if exclude is None else str(exclude),
            "command": command or "hasbench.train.collect.collect",
            "trainer": ("hasbench.train.population.train_population (batched; epoch_time is "
                        "the group's epoch time / group size)" if batched and sp.name ==
                        "hia-cnn" else "hasbench.train.trainer.train_config") +
                       " (constant learning rate)"}
    if not out.exists() and not out.parent.exists():
        raise InvalidValueError("out", str(out), "a path in an existing folder", where)
    # one writer per table (tables/_lock.py): held for the whole collection, and handed to
    # the writer so that it does not try to take it a second time
    lock = acquire_lock(out, "collect", parameter="out")
    try:
        return _collect_locked(out, sp, dataset, configs, seed_list, epochs, prov, workers,
                               executor, address, ds_kwargs, threads, batched, max_group, dev,
                               progress, allow_stale_surrogates, lock)
    finally:
        lock.release()


def _split_source(path: Path) -> str | None:
    """Base name of the table ``path`` was split from (its provenance ``split_of``)."""
    import json

    import h5py

    try:
        with h5py.File(path, "r") as f:
            prov = json.loads(f.attrs.get("provenance", "{}"))
        src = (prov.get("split_of") or {}).get("table")
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    return Path(str(src)).name if src else None


def dependent_surrogates(table: str | os.PathLike) -> list[Path]:
    """Surrogate folders that appending to ``table`` would break.

    A surrogate (a ``*.surrogate`` folder beside ``table``) depends on the table when its
    manifest records the table's current file (same name and SHA-256), or a split of it
    (``hasbench data split`` output, found beside the table or one folder below, whose
    provenance names this table): extending the table would make the first fail to load and
    the second no longer a held-out split of it. Only manifests' JSON and tables' attributes
    are read; unreadable ones are skipped."""
    import json

    from ..surrogates.model import file_sha256

    t = Path(table)
    if not t.is_file():
        return []
    targets = {t.name: [t]}
    for cand in sorted([*t.parent.glob("*.h5"), *t.parent.glob("*/*.h5")]):
        if cand != t and _split_source(cand) == t.name:
            targets.setdefault(cand.name, []).append(cand)
    digests: dict[Path, str] = {}
    out = []
    for man in sorted(t.parent.glob("*.surrogate/manifest.json")):
        try:
            info = json.loads(man.read_text()).get("training_table") or {}
        except (OSError, ValueError, AttributeError):
            continue
        if not isinstance(info, dict):
            continue
        for cand in targets.get(info.get("name"), []):
            if cand not in digests:
                digests[cand] = file_sha256(cand)
            if info.get("sha256") == digests[cand]:
                out.append(man.parent)
                break
    return out


def _collect_locked(out, sp, dataset, configs, seed_list, epochs, prov, workers, executor,
                    address, ds_kwargs, threads, batched, max_group, dev, progress,
                    allow_stale_surrogates=False, lock=None):
    where = "collect"
    writer = RunTableWriter(out, sp, max_epochs=None if out.exists() else epochs,
                            provenance=prov, lock=lock)
    if writer.table().max_epochs != epochs:
        raise InvalidValueError("epochs", epochs, [writer.table().max_epochs], where,
                                hint=f"{out} was collected with another number of epochs")
    done = writer.completed()
    todo = [(cfg, s) for cfg in configs for s in seed_list if (config_id(cfg), s) not in done]
    skipped = len(configs) * len(seed_list) - len(todo)
    if todo and not allow_stale_surrogates:
        deps = dependent_surrogates(out)
        if deps:
            raise InvalidValueError(
                "out", str(out), "a run table that no surrogate was fitted on", where,
                hint=f"{len(todo)} runs would be appended, but {', '.join(d.name for d in deps)}"
                     f" was fitted on this file (or a split of it) and would then fail to load "
                     f"(SurrogateHashError). Extend a copy of the table instead, or pass "
                     f"--allow-stale-surrogates and refit")
    tasks = _make_tasks(todo, sp.name, batched, max_group)
    log.info("collect: %d runs to train (%d tasks), %d already in %s", len(todo), len(tasks),
             skipped, out)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(configs) * len(seed_list), initial=skipped, disable=not progress,
               desc=f"collect {sp.name}/{dataset}", unit="run", file=sys.stderr,
               dynamic_ncols=True, smoothing=0.05)
    t0 = time.perf_counter()
    trained, failed, statuses = 0, 0, {}
    ex = (_RayExecutor(workers, address, ds_kwargs, threads) if executor == "ray"
          else _LocalExecutor(workers, ds_kwargs, threads))
    from ..tables import Run

    interrupted = True
    try:
        for recs in ex.map_unordered(tasks, sp.name, epochs, dev, batched):
            if isinstance(recs, _Failure):  # logged, not recorded: retried by the next call
                failed += len(recs.items)
                for cfg, s in recs.items:
                    log.error("collect: config %s seed %d failed: %r", config_id(cfg), s,
                              recs.error)
                bar.update(len(recs.items))
                continue
            writer.append([Run(**r) for r in recs])  # one atomic commit per task
            trained += len(recs)
            for r in recs:
                statuses[r["status"]] = statuses.get(r["status"], 0) + 1
            bar.update(len(recs))
            bar.set_postfix(va=f"{recs[-1]['metrics']['valid_acc'][-1]:.3f}", refresh=False)
        interrupted = False
    finally:
        bar.close()
        ex.close(interrupted)
    secs = time.perf_counter() - t0
    table = RunTable.read(out)
    va = table.curve("valid_acc")[:, -1] if table.n_runs else np.zeros(0)
    va = va[np.isfinite(va)]
    summary = {
        "out": str(out), "space": sp.name, "dataset": dataset, "configs": len(configs),
        "seeds": seed_list, "epochs": epochs, "trained": trained, "skipped": skipped,
        "failed": failed, "status": statuses, "seconds": round(secs, 2),
        "seconds_per_run": round(secs / trained, 3) if trained else None,
        "n_runs": int(table.n_runs),
        "table_status": {s: int(np.sum(np.asarray(table.run_status) == s))
                         for s in ("ok", "diverged", "failed")},
        "final_valid_acc_quantiles": ({q: round(float(np.quantile(va, q)), 4)
                                       for q in (0.0, 0.1, 0.5, 0.9, 1.0)} if va.size else {}),
    }
    return summary
