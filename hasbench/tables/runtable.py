"""HDF5 run tables: configs x seeds x epochs of learning curves, with crash-safe appends.

The file layout is documented in ``docs/run-table-format.md`` (schema version
:data:`SCHEMA_VERSION`).  In short::

    /                      attrs: schema, schema_version, space (JSON), metrics (JSON), ...
    /configs/X             (n_configs, d) float64   encoded configs (NaN = inactive)
    /configs/json          (n_configs,)   str       canonical config as JSON
    /configs/id            (n_configs,)   str       stable config id (sha256 of the JSON)
    /static/<name>         (n_configs,)   float64   static metrics (params, flops, ...)
    /runs/config           (n_runs,)      int64     row of /configs
    /runs/seed             (n_runs,)      int64
    /runs/n_epochs         (n_runs,)      int32     epochs recorded
    /runs/status           (n_runs,)      str       "ok" | "diverged" | "failed"
    /runs/metrics/<name>   (n_runs, E)    float32   per-epoch metric, NaN after n_epochs
    /runs/epoch_time       (n_runs, E)    float64   wall seconds per epoch
    /runs/cum_time         (n_runs, E)    float64   cumulative wall seconds (monotone)
    /runs/cpu_time         (n_runs, E)    float64   CPU seconds per epoch (v2; NaN = unmeasured)
    /runs/cuda_time        (n_runs, E)    float64   CUDA-event seconds per epoch (v2; NaN)

Version 1 files (no ``cpu_time``/``cuda_time``) are still read: both arrays are then NaN
everywhere and :attr:`RunTable.cost_metric` is ``"epoch_time"``. Appending to a version-1
file rewrites it as version 2 (its old runs keep NaN CPU/CUDA times).

Crash safety: :class:`RunTableWriter` never modifies the file in place. Each
:meth:`~RunTableWriter.append` writes the complete new table to a temporary file in the same
folder, ``fsync``\\ s it and renames it over the old one (``os.replace`` is atomic on POSIX),
so a writer killed at any instant leaves either the old or the new table, both complete.
Loading reads arrays and JSON only: nothing is unpickled and no code runs.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .. import __version__
from .._clocks import COST_METRICS
from ..errors import (
    InvalidValueError,
    SchemaError,
    UnknownNameError,
    check_choice,
    check_float,
    check_int,
    check_path,
)
from ..spaces import Space, get_space
from . import _validate
from ._lock import TableLock, acquire_lock, lock_path

__all__ = ["Run", "RunTable", "RunTableWriter", "SCHEMA", "SCHEMA_VERSION", "DEFAULT_METRICS",
           "config_id", "STATUSES", "COST_METRICS", "READABLE_VERSIONS"]

SCHEMA = "hasbench.runtable"
SCHEMA_VERSION = 2
#: versions this reader understands (version 1 lacks the cpu_time / cuda_time arrays)
READABLE_VERSIONS = (1, 2)
DEFAULT_METRICS = ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc")
STATUSES = ("ok", "diverged", "failed")
_STR = h5py.string_dtype(encoding="utf-8")


#: significant digits kept of every float before a config is hashed (:func:`config_id`)
CONFIG_ID_DIGITS = 10


def _id_value(v: Any) -> Any:
    if isinstance(v, float) and math.isfinite(v):
        return float(f"{v:.{CONFIG_ID_DIGITS - 1}e}")
    return v


def config_id(config: Mapping[str, Any]) -> str:
    """Machine-stable id of a configuration: the first 16 hex digits of the SHA-256 of its
    JSON (keys sorted), with every float first rounded to :data:`CONFIG_ID_DIGITS` (10)
    significant digits.

    The rounding makes the id the same on every machine: numpy's ``exp``/``log`` differ in
    the last bit between CPUs, so a sampled learning rate can be 0.003773713386115795 on one
    machine and 0.0037737133861157953 on another. Two configs whose floats agree to 10
    significant digits get the same id. Tables written before this rule (hasbench 0.1)
    stored ids of the unrounded values; readers recompute every id from ``/configs/json``
    (:func:`_read_state`), so old and new tables compare equal."""
    text = json.dumps({k: _id_value(v) for k, v in dict(config).items()}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Run:
    """One training run: a config trained with one seed for ``len(epoch_time)`` epochs.

    Parameters
    ----------
    config : dict
        The configuration (validated against the table's space on append).
    seed : int
        Training seed.
    metrics : dict of str -> array of shape (n_epochs,)
        Per-epoch values; every metric of the table must be present (NaN allowed).
    epoch_time : array of shape (n_epochs,)
        Wall time of each epoch in seconds (training plus evaluation).
    cpu_time : array of shape (n_epochs,), optional
        CPU seconds of each epoch's training plus evaluation (see
        :mod:`hasbench.train.trainer` for which clock); ``None`` when not measured (stored
        as NaN). Unlike wall time it barely changes with other load on the machine.
    cuda_time : array of shape (n_epochs,), optional
        GPU time of each epoch in seconds, from CUDA events; ``None`` off the GPU.
    static : dict of str -> float
        Static metrics of the config (params, flops, ...); identical for every seed.
    status : {"ok", "diverged", "failed"}
        "diverged" for NaN/inf losses (the curve holds what was measured).
    """

    config: Mapping[str, Any]
    seed: int
    metrics: Mapping[str, Any]
    epoch_time: Any
    static: Mapping[str, float] = field(default_factory=dict)
    status: str = "ok"
    cpu_time: Any = None
    cuda_time: Any = None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def default_provenance(**extra: Any) -> dict[str, Any]:
    """Provenance dict recorded in every table: hasbench/python/platform and creation date."""
    prov = {
        "hasbench_version": __version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "created": _now(),
    }
    prov.update(extra)
    return prov


def _extension_record(st: _State, provenance: Mapping[str, Any] | None) -> dict[str, Any]:
    """What an appending writer adds to ``provenance["extensions"]`` of an existing table:
    when, by which hasbench, the table's size before, and the given provenance entries that
    differ from the table's (e.g. collect's command and ``n_configs``)."""
    rec = {"date": _now(), "hasbench_version": __version__, "session": os.urandom(4).hex(),
           "runs_before": int(len(st.run_seed)), "configs_before": int(len(st.cfg_ids))}
    for k, v in dict(provenance or {}).items():
        if k not in rec and st.provenance.get(k) != v:
            rec[k] = v
    return rec


def _extended_provenance(st: _State, rec: dict[str, Any], n_runs: int, n_configs: int
                         ) -> dict[str, Any]:
    """The table's provenance with this writer's extension record (one per writer, updated
    by each of its appends with the size after it)."""
    return _with_session_record(st.provenance, "extensions", {
        **rec, "runs_after": int(n_runs), "configs_after": int(n_configs)})


def _with_session_record(provenance: Mapping[str, Any], key: str, rec: dict[str, Any]
                         ) -> dict[str, Any]:
    """``provenance`` with ``rec`` as the last record of the list ``provenance[key]``: it
    replaces the last record when that one is of the same writer session (``"session"``),
    else it is appended (one record per writer, updated by each of its commits)."""
    prov = dict(provenance)
    recs = list(prov.get(key) or [])
    if recs and isinstance(recs[-1], dict) and recs[-1].get("session") == rec["session"]:
        recs[-1] = rec
    else:
        recs.append(rec)
    prov[key] = recs
    return prov


def _provenance_note(prov: Mapping[str, Any], n_configs: int) -> str | None:
    """A warning for ``table info`` when the provenance's first command does not describe
    the table as it is: it names fewer configs than the table holds and no extension record
    says how the rest came (tables extended before hasbench recorded extensions)."""
    first = prov.get("n_configs")
    exts = [e for e in (prov.get("extensions") or []) if isinstance(e, dict)]
    if not isinstance(first, (int, np.integer)) or isinstance(first, bool):
        return None
    known = max([int(first)] + [int(e["configs_after"]) for e in exts
                                if isinstance(e.get("configs_after"), (int, np.integer))])
    if known >= n_configs:
        return None
    return (f"the table holds {n_configs} configs, but its provenance records only "
            f"{known} (the first command's --n-configs {first}"
            + (f" and {len(exts)} extension record(s)" if exts else
               "; no extension records: it was extended before hasbench recorded them")
            + "); data/README.md gives the commands that made the shipped tables")


class _State:
    """In-memory contents of a table (what is written to disk)."""

    def __init__(self, space: Space, metrics: Sequence[str], max_epochs: int,
                 static_names: Sequence[str], provenance: Mapping[str, Any],
                 attrs: Mapping[str, Any] | None = None):
        self.space = space
        self.metrics = list(metrics)
        self.max_epochs = int(max_epochs)
        self.static_names = list(static_names)
        self.provenance = dict(provenance)
        self.attrs = dict(attrs or {})
        self.X = np.zeros((0, space.dim))
        self.cfg_json: list[str] = []
        self.cfg_ids: list[str] = []
        self.static = {n: np.zeros(0) for n in self.static_names}
        self.run_config = np.zeros(0, np.int64)
        self.run_seed = np.zeros(0, np.int64)
        self.run_n_epochs = np.zeros(0, np.int32)
        self.run_status: list[str] = []
        self.curves = {m: np.zeros((0, self.max_epochs), np.float32) for m in self.metrics}
        self.epoch_time = np.zeros((0, self.max_epochs))
        self.cum_time = np.zeros((0, self.max_epochs))
        self.cpu_time = np.zeros((0, self.max_epochs))
        self.cuda_time = np.zeros((0, self.max_epochs))
        self.file_version = SCHEMA_VERSION  # version of the file this state was read from

    def id_index(self) -> dict[str, int]:
        return {cid: i for i, cid in enumerate(self.cfg_ids)}


def _write(path: Path, st: _State) -> None:
    with h5py.File(path, "w", track_order=True) as f:
        a = f.attrs
        a["schema"] = SCHEMA
        a["schema_version"] = SCHEMA_VERSION
        a["space"] = st.space.to_json()
        a["space_name"] = st.space.name
        a["space_version"] = st.space.version
        a["metrics"] = json.dumps(st.metrics)
        a["max_epochs"] = st.max_epochs
        a["static_names"] = json.dumps(st.static_names)
        a["provenance"] = json.dumps(st.provenance, sort_keys=True, default=str)
        a["attrs"] = json.dumps(st.attrs, sort_keys=True, default=str)
        a["modified"] = _now()
        g = f.create_group("configs")
        g.create_dataset("X", data=st.X, dtype=np.float64)
        g.create_dataset("json", data=np.array(st.cfg_json, dtype=object), dtype=_STR)
        g.create_dataset("id", data=np.array(st.cfg_ids, dtype=object), dtype=_STR)
        s = f.create_group("static")
        for n in st.static_names:
            s.create_dataset(n, data=st.static[n], dtype=np.float64)
        r = f.create_group("runs")
        r.create_dataset("config", data=st.run_config, dtype=np.int64)
        r.create_dataset("seed", data=st.run_seed, dtype=np.int64)
        r.create_dataset("n_epochs", data=st.run_n_epochs, dtype=np.int32)
        r.create_dataset("status", data=np.array(st.run_status, dtype=object), dtype=_STR)
        m = r.create_group("metrics")
        for name in st.metrics:
            m.create_dataset(name, data=st.curves[name], dtype=np.float32,
                             chunks=True if len(st.run_seed) else None)
        r.create_dataset("epoch_time", data=st.epoch_time, dtype=np.float64)
        r.create_dataset("cum_time", data=st.cum_time, dtype=np.float64)
        r.create_dataset("cpu_time", data=st.cpu_time, dtype=np.float64)
        r.create_dataset("cuda_time", data=st.cuda_time, dtype=np.float64)
        f.flush()


def _atomic_write(path: Path, st: _State) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{os.urandom(4).hex()}")
    try:
        _write(tmp, st)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    finally:
        if tmp.exists():  # only our own temporary file, never the user's table
            tmp.unlink()


def _remove_stale_temps(path: Path) -> None:
    """Remove temporary files that a killed writer of *this* table left behind (named
    ``.<table>.tmp-<pid>-<hex>``, pid no longer running). Nothing else is touched."""
    prefix = f".{path.name}.tmp-"
    for cand in path.parent.glob(prefix + "*"):
        try:
            pid = int(cand.name[len(prefix):].split("-")[0])
        except ValueError:
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            cand.unlink(missing_ok=True)
        except PermissionError:
            continue


def _str_list(ds: h5py.Dataset) -> list[str]:
    return [x.decode() if isinstance(x, bytes) else str(x) for x in ds[()]]


def _canonical_X(space: Space, X: np.ndarray) -> np.ndarray:
    """Stored encoded configs moved to this machine's canonical codec values (log floats:
    ``log`` of the 10-digit value), so exact lookups match what ``space.encode`` gives here
    even for a table written on another CPU or by hasbench 0.1."""
    from ..spaces.base import _canonical_log

    X = np.array(X, dtype=np.float64)
    for j, name in enumerate(space.names):
        if space.kind(name) == "float" and space._dims[j].log and X.shape[0]:
            col = X[:, j]
            ok = ~np.isnan(col)
            col[ok] = _canonical_log(col[ok])
    return X


def _read_state(path: Path) -> _State:
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise SchemaError("path", str(path), "an HDF5 run table written by hasbench",
                          hint=f"cannot open as HDF5 ({exc})") from None
    with f:
        _validate.check_file(f, path)  # metadata first: structure, dtypes, shapes, storage
        a = f.attrs
        if a.get("schema") != SCHEMA:
            raise SchemaError("schema", a.get("schema"), [SCHEMA], f"run table {path}",
                              hint="this HDF5 file is not a hasbench run table")
        ver = int(a.get("schema_version", -1))
        if ver not in READABLE_VERSIONS:
            raise SchemaError("schema_version", ver, list(READABLE_VERSIONS),
                              f"run table {path}",
                              hint="written by another hasbench version; see "
                                   "docs/run-table-format.md")
        space = Space.from_json(a["space"])
        try:  # prefer the registered object when name and version match
            reg = get_space(space.name)
            if reg.version == space.version and reg == space:
                space = reg
        except KeyError:
            pass
        st = _State(space, json.loads(a["metrics"]), int(a["max_epochs"]),
                    json.loads(a["static_names"]), json.loads(a["provenance"]),
                    json.loads(a.get("attrs", "{}")))
        st.X = f["configs/X"][()]
        st.cfg_json = _str_list(f["configs/json"])
        # ids are derived data: recomputed with today's machine-stable rule (files of
        # hasbench 0.1 stored ids of unrounded floats, which differ between CPUs)
        st.cfg_ids = [config_id(c) for c in _validate.parse_configs(st.cfg_json, path)]
        if len(set(st.cfg_ids)) != len(st.cfg_ids):
            raise SchemaError("configs/json", f"{len(st.cfg_ids)} configs",
                              "distinct configurations", f"run table {path}",
                              hint="two stored configs agree to 10 significant digits")
        st.X = _canonical_X(space, st.X)
        st.static = {n: f["static"][n][()] for n in st.static_names}
        r = f["runs"]
        st.run_config = r["config"][()]
        st.run_seed = r["seed"][()]
        st.run_n_epochs = r["n_epochs"][()]
        st.run_status = _str_list(r["status"])
        st.curves = {m: r["metrics"][m][()] for m in st.metrics}
        st.epoch_time = r["epoch_time"][()]
        st.cum_time = r["cum_time"][()]
        st.file_version = ver
        for name in ("cpu_time", "cuda_time"):  # absent in version 1: not measured
            if ver >= 2 and name not in r:
                raise SchemaError(f"/runs/{name}", "missing", "present in a version-2 table",
                                  f"run table {path}")
            setattr(st, name, r[name][()] if ver >= 2 else np.full(st.epoch_time.shape, np.nan))
    _validate.check_state(st, path)  # value ranges
    return st


class RunTable:
    """A run table loaded into memory (tables are MBs, not GBs).

    Use :meth:`read` to load a file. Arrays are indexed by run (one row per config x seed);
    :meth:`dense` reshapes a metric to ``(n_configs, n_seeds, n_epochs)`` and
    :meth:`to_frame` gives a tidy DataFrame with one row per (config, seed, epoch).

    Attributes
    ----------
    path : Path
    space : Space
    metrics : list of str
    max_epochs : int
    X : ndarray (n_configs, d)
        Encoded configs.
    configs : list of dict
    config_ids : list of str
    static : dict of str -> ndarray (n_configs,)
    run_config, run_seed, run_n_epochs : ndarray (n_runs,)
    run_status : list of str
    epoch_time, cum_time : ndarray (n_runs, max_epochs)
        Wall seconds per epoch and their cumulative sum.
    cpu_time, cuda_time : ndarray (n_runs, max_epochs)
        CPU and CUDA-event seconds per epoch (schema version 2); NaN where not measured
        (every entry of a version-1 table, ``cuda_time`` of CPU runs).
    cost_metric : str
        Which per-epoch time is the table's training cost (see :attr:`cost_metric`).
    provenance : dict
    """

    def __init__(self, state: _State, path: Path | None = None):
        self._st = state
        self.path = path
        self.space = state.space
        self.metrics = list(state.metrics)
        self.max_epochs = state.max_epochs
        self.X = state.X
        self.config_ids = list(state.cfg_ids)
        self.static = dict(state.static)
        self.run_config = state.run_config
        self.run_seed = state.run_seed
        self.run_n_epochs = state.run_n_epochs
        self.run_status = list(state.run_status)
        self.epoch_time = state.epoch_time
        self.cum_time = state.cum_time
        self.cpu_time = state.cpu_time
        self.cuda_time = state.cuda_time
        self.provenance = dict(state.provenance)
        self.attrs = dict(state.attrs)
        self._configs: list[dict] | None = None

    @classmethod
    def read(cls, path: str | os.PathLike) -> RunTable:
        """Load a run table (raises :class:`~hasbench.errors.SchemaError` for a file that is
        not a run table of a supported schema version)."""
        path = check_path("path", path, must_exist=True, where="RunTable.read")
        return cls(_validate.read_guarded(_read_state, path), path)

    # ----------------------------------------------------------------- facts
    @property
    def n_configs(self) -> int:
        return self.X.shape[0]

    @property
    def n_runs(self) -> int:
        return int(self.run_seed.shape[0])

    @property
    def seeds(self) -> np.ndarray:
        """Sorted unique seeds present in the table."""
        return np.unique(self.run_seed)

    @property
    def configs(self) -> list[dict]:
        """Configs as canonical dicts (decoded lazily from the canonical encoded configs, so
        a table written on another CPU or by hasbench 0.1 shows the same 10-digit values as
        ``space.canonicalize``; the stored JSON keeps the values as written)."""
        if self._configs is None:
            self._configs = self.space.decode(self._st.X) if len(self._st.cfg_json) else []
        return self._configs

    @property
    def schema_version(self) -> int:
        """Schema version of the file as read (1 or 2; a new or appended table is 2)."""
        return self._st.file_version

    @property
    def cost_metric(self) -> str:
        """The per-epoch time that is this table's training cost: ``"cuda_time"`` if every
        recorded epoch of every run has one, else ``"cpu_time"`` if every recorded epoch has
        one, else ``"epoch_time"`` (wall seconds; always the case for version-1 tables).
        A table created with ``attrs={"cost_metric": NAME}`` uses NAME instead (it must be
        one of :data:`COST_METRICS` and measured for every epoch). hasbench's choice: a
        table's cost is one clock for all its runs, never a mix."""
        explicit = self.attrs.get("cost_metric")
        if explicit is not None:
            return self._check_clock(explicit, "RunTable.cost_metric", f"run table {self.path}",
                                     f"attrs name {explicit!r} but some epochs lack it")
        for m in COST_METRICS[:-1]:
            if self._measured(m):
                return m
        return "epoch_time"

    def _measured(self, metric: str) -> bool:
        if metric == "epoch_time":
            return True
        if not self.n_runs:
            return False
        arr = getattr(self, metric)
        mask = np.arange(self.max_epochs)[None, :] < self.run_n_epochs[:, None]
        return bool(np.isfinite(arr[mask]).all())

    def cost(self, cumulative: bool = False, metric: str | None = None) -> np.ndarray:
        """Per-epoch (or, with ``cumulative``, cumulative) seconds of :attr:`cost_metric`
        (or of ``metric``, one of :data:`COST_METRICS` measured for every recorded epoch),
        shape ``(n_runs, max_epochs)``, NaN after a run's last epoch. For ``epoch_time``
        the cumulative seconds are the stored ``cum_time``."""
        m = self.resolve_cost_metric(metric, "RunTable.cost")
        if cumulative and m == "epoch_time":
            return self.cum_time
        arr = getattr(self, m)
        return np.cumsum(arr, axis=1) if cumulative else arr

    def resolve_cost_metric(self, metric: str | None, where: str) -> str:
        """``metric`` checked against the clocks this table measured for every recorded
        epoch; ``None`` gives :attr:`cost_metric`. Raises :class:`SchemaError` (naming the
        parameter ``cost_metric``) for a clock some epoch lacks."""
        if metric is None:
            return self.cost_metric
        return self._check_clock(metric, where, where,
                                 f"some epochs of run table {self.path} lack {metric}")

    def _check_clock(self, metric: str, where: str, schema_where: str, hint: str) -> str:
        """``metric`` if it is a known clock measured for every recorded epoch."""
        check_choice("cost_metric", metric, COST_METRICS, where)
        if not self._measured(metric):
            raise SchemaError("cost_metric", metric, [m for m in COST_METRICS
                                                      if self._measured(m)],
                              schema_where, hint=hint)
        return metric

    def __repr__(self) -> str:
        return (f"RunTable({str(self.path)!r}, space={self.space.name!r} v{self.space.version}, "
                f"configs={self.n_configs}, runs={self.n_runs}, max_epochs={self.max_epochs}, "
                f"metrics={self.metrics})")

    def curve(self, metric: str) -> np.ndarray:
        """Per-run curve of ``metric``, shape ``(n_runs, max_epochs)`` (float32, NaN-padded)."""
        check_choice("metric", metric, self.metrics, "RunTable.curve", unknown=True)
        return self._st.curves[metric]

    def dense(self, metric: str, seeds: Sequence[int] | None = None) -> np.ndarray:
        """``metric`` (or ``"epoch_time"``/``"cum_time"``/``"cpu_time"``/``"cuda_time"``)
        as ``(n_configs, n_seeds, E)``; missing runs are NaN. ``seeds`` defaults to
        :attr:`seeds`."""
        if metric in ("epoch_time", "cum_time", "cpu_time", "cuda_time"):
            src = getattr(self, metric)
        else:
            src = self.curve(metric)
        seeds = self.seeds if seeds is None else np.asarray(seeds)
        out = np.full((self.n_configs, len(seeds), self.max_epochs), np.nan)
        pos = {int(s): i for i, s in enumerate(seeds)}
        for r in range(self.n_runs):
            j = pos.get(int(self.run_seed[r]))
            if j is not None:
                out[self.run_config[r], j] = src[r]
        return out

    def completed(self) -> set[tuple[str, int]]:
        """Set of ``(config_id, seed)`` pairs present in the table."""
        return {(self.config_ids[c], int(s)) for c, s in zip(self.run_config, self.run_seed,
                                                              strict=True)}

    def static_frame(self):
        """Static metrics as a DataFrame indexed by config id."""
        import pandas as pd

        return pd.DataFrame(self.static, index=pd.Index(self.config_ids, name="config_id"))

    def to_frame(self, with_config: bool = True):
        """Tidy DataFrame: one row per (config, seed, epoch) with every metric, ``epoch_time``,
        ``cum_time``, ``cpu_time``, ``cuda_time`` (NaN where not measured), ``status``,
        static metrics and (optionally) hyperparameter columns.
        Epochs are 1-based; rows after a run's last epoch are omitted."""
        import pandas as pd

        E = self.max_epochs
        ep = np.arange(1, E + 1)
        mask = ep[None, :] <= self.run_n_epochs[:, None]
        ridx, eidx = np.nonzero(mask)
        cfg = self.run_config[ridx]
        data: dict[str, Any] = {
            "config_id": np.asarray(self.config_ids, dtype=object)[cfg] if self.n_configs
            else np.array([], dtype=object),
            "config": cfg,
            "seed": self.run_seed[ridx],
            "epoch": eidx + 1,
        }
        for m in self.metrics:
            data[m] = self._st.curves[m][ridx, eidx].astype(np.float64)
        data["epoch_time"] = self.epoch_time[ridx, eidx]
        data["cum_time"] = self.cum_time[ridx, eidx]
        data["cpu_time"] = self.cpu_time[ridx, eidx]
        data["cuda_time"] = self.cuda_time[ridx, eidx]
        data["status"] = np.asarray(self.run_status, dtype=object)[ridx] if self.n_runs \
            else np.array([], dtype=object)
        for n, v in self.static.items():
            data[n] = v[cfg]
        df = pd.DataFrame(data)
        if with_config and self.n_configs:
            hp = pd.DataFrame(self.configs)
            hp = hp.reindex(columns=self.space.names)
            df = pd.concat([df, hp.iloc[cfg].reset_index(drop=True)], axis=1)
        return df

    def summary(self) -> dict[str, Any]:
        """Key facts as a dict (what ``hasbench table info`` prints)."""
        out: dict[str, Any] = {
            "path": str(self.path),
            "schema_version": self.schema_version,
            "space": f"{self.space.name} v{self.space.version}",
            "configs": self.n_configs,
            "runs": self.n_runs,
            "seeds": [int(s) for s in self.seeds[:10]] + (["..."] if len(self.seeds) > 10 else []),
            "max_epochs": self.max_epochs,
            "metrics": self.metrics,
            "static": list(self.static),
            "status": {s: int(sum(1 for x in self.run_status if x == s)) for s in STATUSES},
        }
        if self.n_runs:
            last = self.run_n_epochs - 1
            rows = np.arange(self.n_runs)
            for m in ("valid_acc", "test_acc"):
                if m in self.metrics:
                    v = self._st.curves[m][rows, last].astype(float)
                    v = v[np.isfinite(v)]
                    if v.size:
                        q = np.quantile(v, [0.0, 0.25, 0.5, 0.75, 1.0])
                        out[f"final {m} (min/q25/median/q75/max)"] = [round(float(x), 4)
                                                                       for x in q]
            total = self.cum_time[rows, last]
            out["total training time (s)"] = round(float(np.nansum(total)), 1)
            out["cost_metric"] = self.cost_metric
            if self.cost_metric != "epoch_time":
                out[f"total {self.cost_metric} (s)"] = round(
                    float(np.nansum(self.cost(cumulative=True)[rows, last])), 1)
        note = _provenance_note(self.provenance, self.n_configs)
        if note:
            out["provenance note"] = note
        out["provenance"] = self.provenance
        return out


class RunTableWriter:
    """Create or extend a run table, one atomic commit per :meth:`append`.

    Parameters
    ----------
    path : str or PathLike
        Table file. ``~`` is expanded. If it exists it must be a run table for the same space
        (name and version) and metrics; it is extended, never truncated.
    space : Space or str, optional
        Required when creating a table.
    metrics : sequence of str
        Per-epoch metrics every run records (default: train/valid/test loss and accuracy).
    max_epochs : int, optional
        Width of the curve arrays; required when creating a table.
    provenance : dict, optional
        Dataset, device, library versions ... merged into :func:`default_provenance`.
    static_names : sequence of str
        Static metrics per config (default: params, flops, model_bytes).
    lock_timeout : float
        Seconds to wait for another writer of the same table to finish (default 0: fail
        at once).
    lock : TableLock, optional
        A lock on ``path`` the caller already holds (:func:`hasbench.tables._lock.
        acquire_lock`, as ``collect`` does to cover its whole run); the writer uses it and
        leaves releasing it to the caller.

    Notes
    -----
    One writer per table: the writer holds an OS file lock on ``<path>.lock`` from its
    creation until :meth:`close` (or the end of a ``with`` block, or its garbage
    collection). A second writer, in this process or another, waits ``lock_timeout``
    seconds and then raises :class:`~hasbench.errors.InvalidValueError` naming the holder.
    The kernel drops the lock of a killed process, so its lock file is taken over by the
    next writer (see :mod:`hasbench.tables._lock`). Readers (:meth:`RunTable.read`) take no
    lock: every commit is an atomic file replacement.
    """

    def __init__(self, path: str | os.PathLike, space: Space | str | None = None,
                 metrics: Sequence[str] = DEFAULT_METRICS, max_epochs: int | None = None,
                 provenance: Mapping[str, Any] | None = None,
                 static_names: Sequence[str] = ("params", "flops", "model_bytes"),
                 attrs: Mapping[str, Any] | None = None, lock_timeout: float = 0.0,
                 lock: TableLock | None = None):
        self._lock = None
        self._own_lock = False
        self.path = check_path("path", path, where="RunTableWriter")
        if self.path.is_dir():
            raise InvalidValueError("path", str(self.path), "a file path, not a directory",
                                    "RunTableWriter")
        if not self.path.exists() and not self.path.parent.exists():
            raise InvalidValueError("path", str(self.path), "a path in an existing folder",
                                    "RunTableWriter", hint=f"create {self.path.parent} first")
        lock_timeout = check_float("lock_timeout", lock_timeout, 0.0, None, "RunTableWriter")
        if lock is None:
            self._lock = acquire_lock(self.path, "RunTableWriter", lock_timeout)
            self._own_lock = True
        elif (not isinstance(lock, TableLock) or not lock.held
              or lock.path.resolve() != lock_path(self.path).resolve()):
            raise InvalidValueError("lock", lock, f"a held TableLock of {self.path}",
                                    "RunTableWriter")
        else:
            self._lock = lock
        try:
            self._open(space, metrics, max_epochs, provenance, static_names, attrs)
        except BaseException:
            self.close()
            raise

    def _open(self, space, metrics, max_epochs, provenance, static_names, attrs) -> None:
        if self.path.exists():
            st = _read_state(self.path)
            if space is not None:
                sp = get_space(space) if isinstance(space, str) else space
                if (sp.name, sp.version) != (st.space.name, st.space.version):
                    raise SchemaError("space", f"{sp.name} v{sp.version}",
                                      [f"{st.space.name} v{st.space.version}"],
                                      f"RunTableWriter({self.path})",
                                      hint="the existing table was made for another space")
            if metrics is not DEFAULT_METRICS and list(metrics) != st.metrics:
                raise SchemaError("metrics", list(metrics), [st.metrics],
                                  f"RunTableWriter({self.path})",
                                  hint="the existing table records other metrics")
            if max_epochs is not None and int(max_epochs) > st.max_epochs:
                raise SchemaError("max_epochs", max_epochs, f"<= {st.max_epochs}",
                                  f"RunTableWriter({self.path})",
                                  hint="the existing table has narrower curves")
            self._st = st
            self._extension = _extension_record(st, provenance)
        else:
            if space is None or max_epochs is None:
                raise InvalidValueError("space/max_epochs", (space, max_epochs),
                                        "both given when creating a new table",
                                        "RunTableWriter")
            sp = get_space(space) if isinstance(space, str) else space
            if not isinstance(sp, Space):
                raise InvalidValueError("space", space, "a Space or a registered space name",
                                        "RunTableWriter")
            metrics = list(metrics)
            if not metrics or len(set(metrics)) != len(metrics):
                raise InvalidValueError("metrics", metrics, "a non-empty list of unique names",
                                        "RunTableWriter")
            max_epochs = check_int("max_epochs", max_epochs, 1, None, "RunTableWriter")
            self._st = _State(sp, metrics, max_epochs, list(static_names),
                              default_provenance(**dict(provenance or {})), attrs)
            _atomic_write(self.path, self._st)
        _remove_stale_temps(self.path)
        self._done = self.table().completed()

    def close(self) -> None:
        """Release the table's lock (unless the caller passed it in). Idempotent; appending
        afterwards raises."""
        lk, own = self._lock, self._own_lock
        self._lock, self._own_lock = None, False
        if lk is not None and own:
            lk.release()

    @property
    def closed(self) -> bool:
        return self._lock is None

    def __enter__(self) -> RunTableWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    @property
    def space(self) -> Space:
        return self._st.space

    def table(self) -> RunTable:
        """The table as currently committed (a snapshot that does not change later)."""
        import copy

        return RunTable(copy.copy(self._st), self.path)

    def completed(self) -> set[tuple[str, int]]:
        """``(config_id, seed)`` pairs already in the table."""
        return set(self._done)

    def has(self, config: Mapping[str, Any], seed: int) -> bool:
        cfg = self.space.canonicalize(config)
        return (config_id(cfg), int(seed)) in self._done

    def append(self, runs: Run | Iterable[Run]) -> int:
        """Validate and commit runs atomically. Returns the number of runs added.

        A run whose (config, seed) is already in the table raises
        :class:`~hasbench.errors.InvalidValueError` (never silently duplicated). All runs of
        one call land together or not at all."""
        if self._lock is None or not self._lock.held:
            raise InvalidValueError("writer", str(self.path), "an open writer (not closed)",
                                    "RunTableWriter.append",
                                    hint="the writer was closed and no longer holds the lock")
        if isinstance(runs, Run):
            runs = [runs]
        runs = list(runs)
        if not runs:
            return 0
        st = self._st
        E = st.max_epochs
        new_keys: set[tuple[str, int]] = set()
        prepared = []
        for k, run in enumerate(runs):
            where = f"RunTableWriter.append, run #{k}"
            if not isinstance(run, Run):
                raise InvalidValueError("runs", type(run).__name__, "Run objects", where)
            cfg = self.space.canonicalize(self.space.validate(run.config, where))
            seed = check_int("seed", run.seed, 0, None, where)
            cid = config_id(cfg)
            if (cid, seed) in self._done or (cid, seed) in new_keys:
                raise InvalidValueError("runs", f"config {cid} seed {seed}",
                                        "runs not yet in the table", where,
                                        hint="this (config, seed) is already recorded")
            new_keys.add((cid, seed))
            check_choice("status", run.status, STATUSES, where)
            et = np.asarray(run.epoch_time, dtype=np.float64).reshape(-1)
            n = et.shape[0]
            if not 1 <= n <= E:
                raise InvalidValueError("epoch_time", f"{n} epochs", f"1 to {E} epochs", where)
            if (~np.isfinite(et) | (et < 0)).any():
                raise InvalidValueError("epoch_time", et.tolist()[:5], "finite values >= 0", where)
            costs = {}
            for cname in ("cpu_time", "cuda_time"):
                cv = getattr(run, cname, None)
                if cv is None:
                    costs[cname] = np.full(n, np.nan)
                    continue
                cv = np.asarray(cv, dtype=np.float64).reshape(-1)
                if cv.shape[0] != n:
                    raise InvalidValueError(cname, f"{cv.shape[0]} values",
                                            f"{n} values (one per epoch, like epoch_time)",
                                            where)
                if (~np.isfinite(cv) | (cv < 0)).any():
                    raise InvalidValueError(cname, cv.tolist()[:5],
                                            "finite values >= 0 (or None: not measured)", where)
                costs[cname] = cv
            curves = {}
            missing = [m for m in st.metrics if m not in run.metrics]
            if missing:
                raise UnknownNameError("metric", missing[0], list(run.metrics), where,
                                       hint=f"every run needs all table metrics {st.metrics}")
            for m in st.metrics:
                v = np.asarray(run.metrics[m], dtype=np.float64).reshape(-1)
                if v.shape[0] != n:
                    raise InvalidValueError(f"metrics[{m!r}]", f"{v.shape[0]} values",
                                            f"{n} values (one per epoch)", where)
                curves[m] = v
                if _validate._kind(m) == "acc":
                    off = ~np.isnan(v) & ((v < 0) | (v > 1))
                    if off.any():
                        raise InvalidValueError(
                            f"metrics[{m!r}]", float(v[off][0]), "accuracies in [0, 1] (NaN "
                            "for a diverged value)", where,
                            hint="percent? divide by 100 (hasbench data import --scale "
                                 f"{m}=0.01)")
            extra = [m for m in run.metrics if m not in st.metrics]
            if extra:
                raise UnknownNameError("metric", extra[0], st.metrics, where)
            static = {}
            for s in st.static_names:
                if s not in run.static:
                    raise InvalidValueError("static", sorted(run.static), st.static_names, where,
                                            hint=f"missing static metric {s!r}")
                static[s] = float(run.static[s])
            prepared.append((cfg, cid, seed, n, run.status, curves, et, static, costs))

        # commit: build the new arrays, then write them atomically
        idx = st.id_index()
        add_X, add_json, add_ids = [], [], []
        add_static: dict[str, list[float]] = {s: [] for s in st.static_names}
        rc, rs, rn, rstat = [], [], [], []
        cur = {m: np.full((len(prepared), E), np.nan, np.float32) for m in st.metrics}
        et_arr = np.full((len(prepared), E), np.nan)
        ct_arr = np.full((len(prepared), E), np.nan)
        cost_arr = {c: np.full((len(prepared), E), np.nan) for c in ("cpu_time", "cuda_time")}
        for k, (cfg, cid, seed, n, status, curves, et, static, costs) in enumerate(prepared):
            if cid not in idx:
                idx[cid] = len(st.cfg_ids) + len(add_ids)
                add_X.append(self.space.encode([cfg], validate=False)[0])
                add_json.append(json.dumps(cfg, sort_keys=True))
                add_ids.append(cid)
                for s in st.static_names:
                    add_static[s].append(static[s])
            rc.append(idx[cid])
            rs.append(seed)
            rn.append(n)
            rstat.append(status)
            for m in st.metrics:
                cur[m][k, :n] = curves[m]
            et_arr[k, :n] = et
            ct_arr[k, :n] = np.cumsum(et)
            for c, cv in costs.items():
                cost_arr[c][k, :n] = cv
        prov = st.provenance
        if getattr(self, "_extension", None) is not None:  # appending to an existing table
            prov = _extended_provenance(st, self._extension, len(st.run_seed) + len(rs),
                                        len(st.cfg_ids) + len(add_ids))
        new = _State(st.space, st.metrics, E, st.static_names, prov, st.attrs)
        new.X = np.concatenate([st.X, np.asarray(add_X).reshape(-1, st.space.dim)])
        new.cfg_json = st.cfg_json + add_json
        new.cfg_ids = st.cfg_ids + add_ids
        new.static = {s: np.concatenate([st.static[s], np.asarray(add_static[s], float)])
                      for s in st.static_names}
        new.run_config = np.concatenate([st.run_config, np.asarray(rc, np.int64)])
        new.run_seed = np.concatenate([st.run_seed, np.asarray(rs, np.int64)])
        new.run_n_epochs = np.concatenate([st.run_n_epochs, np.asarray(rn, np.int32)])
        new.run_status = st.run_status + rstat
        new.curves = {m: np.concatenate([st.curves[m], cur[m]]) for m in st.metrics}
        new.epoch_time = np.concatenate([st.epoch_time, et_arr])
        new.cum_time = np.concatenate([st.cum_time, ct_arr])
        new.cpu_time = np.concatenate([st.cpu_time, cost_arr["cpu_time"]])
        new.cuda_time = np.concatenate([st.cuda_time, cost_arr["cuda_time"]])
        _atomic_write(self.path, new)
        self._st = new
        self._done |= new_keys
        return len(prepared)

    def set_times(self, rows: Sequence[int], cpu_time: np.ndarray | None = None,
                  cuda_time: np.ndarray | None = None, record: Mapping[str, Any] | None = None,
                  overwrite: bool = False) -> int:
        """Fill the CPU and/or CUDA time of existing runs (one atomic commit); returns the
        number of runs changed.

        This is how a table collected without a load-independent clock gets one
        (:func:`hasbench.train.retime.retime`); curves, wall times and everything else stay
        as they are.

        Parameters
        ----------
        rows : sequence of int
            Distinct run indices (rows of ``/runs``).
        cpu_time, cuda_time : ndarray (len(rows), k), optional
            Seconds per epoch, ``k <= max_epochs``; each row must be finite and >= 0 for
            the run's recorded epochs (``n_epochs``); entries after them are ignored.
        record : dict, optional
            Entries recorded in ``provenance["retimed"]`` (one record per writer, updated by
            each call, like ``provenance["extensions"]``), with ``runs_retimed`` counted.
        overwrite : bool
            Replace times already measured; by default a run whose recorded epochs already
            have the clock raises :class:`~hasbench.errors.InvalidValueError` (measured data
            are never silently replaced).
        """
        where = "RunTableWriter.set_times"
        if self._lock is None or not self._lock.held:
            raise InvalidValueError("writer", str(self.path), "an open writer (not closed)",
                                    where)
        st = self._st
        n_runs, E = len(st.run_seed), st.max_epochs
        try:
            rows_arr = np.asarray(rows, dtype=np.int64).reshape(-1)
        except (TypeError, ValueError):
            raise InvalidValueError("rows", rows, f"run indices in [0, {n_runs})",
                                    where) from None
        if ((rows_arr < 0) | (rows_arr >= n_runs)).any() or len(set(rows_arr.tolist())) \
                != len(rows_arr):
            raise InvalidValueError("rows", rows_arr.tolist()[:5],
                                    f"distinct run indices in [0, {n_runs})", where)
        if cpu_time is None and cuda_time is None:
            raise InvalidValueError("cpu_time/cuda_time", None, "at least one array", where)
        if not isinstance(overwrite, bool):
            raise InvalidValueError("overwrite", overwrite, [True, False], where)
        n_ep = st.run_n_epochs[rows_arr]
        mask = np.arange(E)[None, :] < n_ep[:, None]
        new_arrays = {}
        for name, val in (("cpu_time", cpu_time), ("cuda_time", cuda_time)):
            if val is None:
                continue
            v = np.asarray(val, dtype=np.float64)
            if v.ndim != 2 or v.shape[0] != len(rows_arr) or not 1 <= v.shape[1] <= E:
                raise InvalidValueError(name, f"shape {v.shape}",
                                        f"({len(rows_arr)}, k) with k <= {E}", where)
            full = np.full((len(rows_arr), E), np.nan)
            full[:, :v.shape[1]] = v
            bad = mask & ~(np.isfinite(full) & (full >= 0))
            if bad.any():
                r = int(np.nonzero(bad.any(1))[0][0])
                raise InvalidValueError(name, full[r][mask[r]].tolist()[:5],
                                        f"finite values >= 0 for each of run "
                                        f"{int(rows_arr[r])}'s {int(n_ep[r])} epochs", where)
            old = getattr(st, name)[rows_arr]
            if not overwrite and (mask & np.isfinite(old)).any(1).any():
                r = int(np.nonzero((mask & np.isfinite(old)).any(1))[0][0])
                raise InvalidValueError("rows", int(rows_arr[r]),
                                        f"runs whose {name} is not measured yet", where,
                                        hint="pass overwrite=True to replace measured times")
            full[~mask] = np.nan
            new_arrays[name] = full
        prov = st.provenance
        if record is not None:
            rec = getattr(self, "_retime_record", None)
            if rec is None:
                rec = {"date": _now(), "hasbench_version": __version__,
                       "session": os.urandom(4).hex(), "runs_retimed": 0}
            rec = {**rec, **dict(record), "date": _now(),
                   "runs_retimed": int(rec["runs_retimed"]) + len(rows_arr)}
            self._retime_record = rec
            prov = _with_session_record(prov, "retimed", rec)
        import copy

        new = copy.copy(st)
        new.provenance = prov
        for name, full in new_arrays.items():
            arr = getattr(st, name).copy()
            arr[rows_arr] = full
            setattr(new, name, arr)
        _atomic_write(self.path, new)
        new.file_version = SCHEMA_VERSION
        self._st = new
        return len(rows_arr)


def write_table(path: str | os.PathLike, space: Space | str, runs: Iterable[Run],
                max_epochs: int, metrics: Sequence[str] = DEFAULT_METRICS,
                provenance: Mapping[str, Any] | None = None,
                static_names: Sequence[str] = ("params", "flops", "model_bytes"),
                attrs: Mapping[str, Any] | None = None) -> RunTable:
    """Create a new table at ``path`` holding ``runs`` (one atomic write). Refuses to
    overwrite an existing file."""
    p = check_path("path", path, where="write_table")
    if p.exists():
        raise InvalidValueError("path", str(p), "a path that does not exist yet", "write_table",
                                hint="hasbench never overwrites a file; use RunTableWriter to "
                                     "extend a table")
    with RunTableWriter(p, space, metrics, max_epochs, provenance, static_names, attrs) as w:
        w.append(list(runs))
        return w.table()
