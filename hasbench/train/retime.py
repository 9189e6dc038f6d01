"""Re-time a run table: give runs collected without a load-independent clock their CPU time.

Tables collected before schema version 2 (or imported ones) record only wall seconds per
epoch, which on a shared machine carry whatever else the machine was doing (issue 17:
``digits-zela2018``'s runtime R² was 0.725 although its seeds agree almost perfectly).
Retraining every run in full to measure CPU time costs as much as the collection did.
:func:`retime` measures it on a prefix of each run instead.

Method (hasbench's choice; the parameter is ``epochs``):

- Each (config, seed) is trained again with the trainer, dataset options and seed recorded
  in the table's provenance, for its first ``epochs`` epochs (``K``, default 4), on one
  torch thread with the ``time.thread_time`` clock (:mod:`hasbench.train.trainer`).
- The K measured epochs are stored as measured. Every later epoch gets the mean of the
  measured epochs 2..K (epoch 1 alone when K = 1): an epoch's work depends only on the
  config and the data sizes, never on the epoch (constant learning rate, same number of
  batches, the same evaluation), and epoch 1 is left out of the mean because it carries the
  one-off warm-up of the allocator and caches. A run of K epochs or fewer is measured
  entirely.
- The retrained prefix reproduces the stored curves bit for bit when the torch version and
  thread count match the collection's (training is deterministic per seed on the CPU):
  the number of runs whose first K epochs of every metric are identical is recorded, and
  a mismatch is logged (the times are still those of the same config and data sizes).
- Only the CPU clock is filled (``cpu_time``); curves and wall times are left as they are.
  The table's :attr:`~hasbench.tables.RunTable.cost_metric` becomes ``cpu_time`` once every
  run has one (never a mix of clocks), so surrogates refitted afterwards use it.
- Resumable: runs that already have a CPU time are skipped, and results are committed
  every ``commit_every`` runs (atomic file replacement, one writer per table), so an
  interrupted call loses at most the runs since the last commit. The provenance records
  each session under ``"retimed"`` (command, K, clock, torch version, platform, runs,
  identical curves).
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import time
from typing import Any

import numpy as np

from ..errors import InvalidValueError, check_int, check_path
from ..tables import RunTable, RunTableWriter, config_id
from ..tables._lock import acquire_lock

__all__ = ["retime", "extrapolate_epochs"]

log = logging.getLogger(__name__)

RULE = ("epochs 1..K measured; later epochs: mean of measured epochs 2..K (epoch 1 when "
        "K = 1)")


def extrapolate_epochs(measured: np.ndarray, n_epochs: int) -> np.ndarray:
    """Per-epoch times of an ``n_epochs`` run from its first ``len(measured)`` measured
    epochs (the rule of the module docstring)."""
    m = np.asarray(measured, dtype=np.float64).reshape(-1)
    if m.size == 0:
        raise InvalidValueError("measured", [], "at least one measured epoch",
                                "extrapolate_epochs")
    if m.size >= n_epochs:
        return m[:n_epochs].copy()
    fill = float(np.mean(m[1:])) if m.size > 1 else float(m[0])
    return np.concatenate([m, np.full(n_epochs - m.size, fill)])


def _unmeasured(t: RunTable) -> np.ndarray:
    """Rows of runs some recorded epoch of which has no CPU time."""
    mask = np.arange(t.max_epochs)[None, :] < t.run_n_epochs[:, None]
    return np.nonzero((mask & ~np.isfinite(t.cpu_time)).any(1))[0]


def _dataset_kwargs_of(table: RunTable, data_dir) -> dict[str, Any]:
    prov = table.provenance
    info = prov.get("dataset_info")
    where = "retime"
    if not isinstance(info, dict) or "dataset" not in info:
        raise InvalidValueError(
            "table", str(table.path), "a table collected by hasbench collect",
            where, hint="its provenance has no dataset_info, so the runs cannot be trained "
                        "again (imported tables keep the clocks they were imported with)")
    if str(prov.get("device", "cpu")) != "cpu":
        raise InvalidValueError("table", str(table.path), "a table collected on the CPU",
                                where, hint=f"it was collected on {prov.get('device')!r}; "
                                            "its CUDA time cannot be re-measured here")
    if "batched" in str(prov.get("trainer", "")):
        raise InvalidValueError("table", str(table.path),
                                "a table trained one run at a time",
                                where, hint="it was collected with --batched population "
                                            "training, whose epoch cost is amortised over a "
                                            "group; retime trains runs one at a time")
    return {"name": info["dataset"], "data_dir": None if data_dir is None else str(data_dir),
            "resolution": float(info.get("resolution", 1.0)),
            "max_train": info.get("max_train"), "max_valid": info.get("max_valid"),
            "max_test": info.get("max_test"), "split_seed": int(info.get("split_seed", 0))}


def retime(table: str | os.PathLike, epochs: int = 4, workers: int = 1,
           data_dir: str | os.PathLike | None = None, commit_every: int = 10,
           progress: bool = True, command: str | None = None,
           allow_stale_surrogates: bool = False) -> dict[str, Any]:
    """Measure the CPU time of every run of ``table`` that lacks one (module docstring).

    Parameters
    ----------
    table : path
        A run table collected by ``hasbench collect`` on the CPU (changed in place: only
        ``/runs/cpu_time`` and the provenance).
    epochs : int
        K, the epochs retrained per run (1 to the table's ``max_epochs``; default 4).
    workers : int
        Parallel training processes (each on one torch thread).
    data_dir : path, optional
        Folder of the raw dataset files (default: as for ``collect``).
    commit_every : int
        Runs per atomic commit.
    progress : bool
        tqdm progress bar on stderr.
    command : str, optional
        Command line recorded in the provenance.
    allow_stale_surrogates : bool
        Retiming changes the file, so surrogates fitted on it (or on a split of it) stop
        loading; refused unless ``True`` (refit them afterwards).

    Returns
    -------
    dict
        ``retimed``, ``skipped`` (runs that had a CPU time), ``identical_curves``,
        ``failed``, ``seconds``, ``cost_metric`` (the table's clock afterwards).
    """
    where = "retime"
    path = check_path("table", table, must_exist=True, where=where)
    workers = check_int("workers", workers, 1, None, where)
    commit_every = check_int("commit_every", commit_every, 1, None, where)
    for name, flag in (("progress", progress), ("allow_stale_surrogates",
                                                allow_stale_surrogates)):
        if not isinstance(flag, bool):
            raise InvalidValueError(name, flag, [True, False], where)
    # one read, under the lock: the runs to retime are those of the table as committed
    # then (another writer may have added runs before)
    lock = acquire_lock(path, where, parameter="table")
    try:
        writer = RunTableWriter(path, lock=lock)
        t = writer.table()
        epochs = check_int("epochs", epochs, 1, t.max_epochs, where)
        ds_kwargs = _dataset_kwargs_of(t, data_dir)
        need = _unmeasured(t)
        summary: dict[str, Any] = {"table": str(path), "epochs": epochs, "retimed": 0,
                                   "skipped": int(t.n_runs - need.size),
                                   "identical_curves": 0, "failed": 0, "seconds": 0.0}
        if need.size:
            if not allow_stale_surrogates:
                _refuse_dependent_surrogates(path, where)
            _retime_locked(writer, t, need, epochs, workers, ds_kwargs, commit_every,
                           progress, command, summary)
        summary["cost_metric"] = writer.table().cost_metric
        writer.close()
    finally:
        lock.release()
    return summary


def _refuse_dependent_surrogates(path, where: str) -> None:
    from .collect import dependent_surrogates

    deps = dependent_surrogates(path)
    if deps:
        raise InvalidValueError(
            "table", str(path), "a run table that no surrogate was fitted on", where,
            hint=f"{', '.join(d.name for d in deps)} was fitted on this file (or a split "
                 "of it) and would fail to load afterwards (SurrogateHashError); pass "
                 "allow_stale_surrogates=True (--allow-stale-surrogates) and refit")


def _retime_locked(writer, t, need, epochs, workers, ds_kwargs, commit_every, progress,
                   command, summary) -> None:
    import torch
    from tqdm.auto import tqdm

    from .collect import _Failure, _LocalExecutor

    row_of = {(t.config_ids[t.run_config[r]], int(t.run_seed[r])): int(r) for r in need}
    configs = t.configs
    # one task per run, each trained for min(K, n_epochs) epochs: group runs by that length
    by_len: dict[int, list] = {}
    for r in need:
        k = int(min(epochs, t.run_n_epochs[r]))
        by_len.setdefault(k, []).append((configs[t.run_config[r]], int(t.run_seed[r])))
    record = {"command": command or "hasbench.train.retime.retime", "epochs": epochs,
              "rule": RULE, "clock": "time.thread_time, 1 torch thread",
              "torch_version": torch.__version__, "platform": platform.platform(),
              "identical_curves": 0}
    bar = tqdm(total=t.n_runs, initial=summary["skipped"], disable=not progress,
               desc=f"retime {t.path.name}", unit="run", file=sys.stderr,
               dynamic_ncols=True, smoothing=0.05)
    pend_rows: list[int] = []
    pend_cpu: list[np.ndarray] = []
    t0 = time.perf_counter()

    def commit():
        if pend_rows:
            writer.set_times(pend_rows, cpu_time=np.stack(pend_cpu), record=record)
            pend_rows.clear()
            pend_cpu.clear()

    interrupted = True
    ex = _LocalExecutor(workers, ds_kwargs, 1)
    try:
        for k, items in sorted(by_len.items()):
            for recs in ex.map_unordered([[it] for it in items], t.space.name, k, "cpu",
                                         False):
                if isinstance(recs, _Failure):
                    summary["failed"] += len(recs.items)
                    for cfg, s in recs.items:
                        log.error("retime: config %s seed %d failed: %r", config_id(cfg), s,
                                  recs.error)
                    bar.update(len(recs.items))
                    continue
                for rec in recs:
                    r = row_of[(config_id(t.space.canonicalize(rec["config"])), rec["seed"])]
                    n = int(t.run_n_epochs[r])
                    same = all(np.array_equal(np.asarray(rec["metrics"][m], np.float32)[:k],
                                              t.curve(m)[r, :k], equal_nan=True)
                               for m in t.metrics)
                    if not same:
                        log.warning("retime: run %d (config %s seed %d): the retrained "
                                    "curves differ from the stored ones (another torch "
                                    "version or thread count?)", r, t.config_ids[
                                        t.run_config[r]], rec["seed"])
                    record["identical_curves"] += int(same)
                    summary["identical_curves"] += int(same)
                    pend_rows.append(r)
                    pend_cpu.append(extrapolate_epochs(np.asarray(rec["cpu_time"])[:k], n))
                    summary["retimed"] += 1
                    bar.update(1)
                if len(pend_rows) >= commit_every:
                    commit()
        commit()
        interrupted = False
    finally:
        if interrupted:
            try:  # what was measured before the interruption is kept
                commit()
            except Exception:  # noqa: BLE001 - the interruption is the error to report
                log.exception("retime: could not commit the last runs")
        bar.close()
        ex.close(interrupted)
        summary["seconds"] = round(time.perf_counter() - t0, 2)
