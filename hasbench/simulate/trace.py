"""The :class:`Trace` of one simulated optimizer run: a tidy table plus run metadata.

One row per finished (or pruned) job, in completion order. Columns:

==================  ==========================================================================
``job``             job number in start order (optimizer's ``job_id``)
``trial``           trial id (a configuration; several jobs when promoted/continued)
``worker``          simulated worker that ran it
``start``, ``end``  simulated seconds
``fidelity``        fidelity reached (e.g. epochs)
``resume_from``     fidelity training resumed from (0 = from scratch)
``continues``       the trial ran before at a lower fidelity
``status``          ``ok``, ``crashed`` (loss inf) or ``pruned`` (zero duration, no loss)
``bench_seed``      benchmark seed of the trial (-1: seed-averaged answers)
``value``           the objective metric as the benchmark returns it (e.g. ``valid_acc``)
``loss``            the objective as a loss (``1 - acc``; inf for crashed, NaN for pruned)
``cost``            charged seconds (``end - start`` without overhead)
``bracket``         Hyperband/BOHB/SH iteration (bracket instance) of the job, else -1
``rung``            rung index within the bracket (SH, Hyperband, BOHB, ASHA), else -1
``stage``           stage (group) index of the job in a staged search (``staged``,
                    ``two-step``, ``grouped-sequential``: the optimizer's ``Job.info['stage']``,
                    the stage that asked for it), else -1
``incumbent``       best loss so far among results at the *largest fidelity evaluated so far*
                    (HpBandSter/BOHB-paper convention); can rise when a larger fidelity is
                    first reached
``incumbent_any``   best loss so far at any fidelity (Syne Tune convention); never rises
``forced``          evaluated although the pruner rejected it, because it followed
                    ``max_consecutive_prunes`` rejections in a row (see ``simulate``)
``expected_loss``   noise-free (``seed=None``) loss of the config at the job's fidelity
``expected_loss_max`` noise-free loss of the config at the benchmark's maximum fidelity
``incumbent_true``  ``expected_loss_max`` of the config that is the ``incumbent`` (chosen by
                    its *observed* loss, what the optimizer knows): what the user gets by
                    training the incumbent fully; regret is reported from this. It can rise
                    when a lucky draw makes a worse config the observed best.
``incumbent_any_true`` the same for ``incumbent_any``
``<hp names>``      the configuration. In memory (``Trace.frame``) encoded, as optimizers see
                    it (``space.encode`` codec: log values, category indices; see
                    :meth:`configs`); in the files, in the config's own units (learning rate,
                    ``"relu"``; empty where inactive: ``Space.decode_columns``), re-encoded
                    exactly on load
==================  ==========================================================================

Metadata (``Trace.meta``, JSON): optimizer name and options, seed, benchmark name, objective,
n_workers, budgets, space JSON, ``optimum_loss`` (the benchmark's fixed expected optimum,
see ``Benchmark.optimum_loss``) with ``optimum_source`` (how it was determined),
``regret_fidelity`` (the fidelity ``expected_loss_max`` is read at), ``cost_metric`` (which
measured clock the simulated seconds are: ``cpu_time``, ``epoch_time`` = wall, ``cuda_time``
or ``model``; see ``Benchmark.cost_metric``; absent in traces before 2026-12-03), hasbench
version.

Schema version 2 added ``forced``, ``expected_loss``, ``expected_loss_max``,
``incumbent_true``, ``incumbent_any_true``; version-1 traces still load (without them).
Schema version 3 added ``stage``; version-1 and -2 traces still load, without it (their
stages can be rebuilt with :func:`hasbench.optimizers.staged.trace_stages`). Version 4
stores the config columns in the config's own units instead of encoded, so a trace file is
readable on its own; versions 1-3 (encoded columns) still load. Stored as parquet (pyarrow; metadata in the schema under ``hasbench``) or,
without pyarrow, as CSV plus a ``.json`` sidecar. Never pickled.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SchemaError, check_path

__all__ = ["Trace", "TRACE_SCHEMA_VERSION", "have_parquet"]

TRACE_SCHEMA_VERSION = 4
#: versions :meth:`Trace.load` reads
READABLE_VERSIONS = (1, 2, 3, 4)
#: the first version whose config columns are stored decoded
_DECODED_SINCE = 4
_META_KEY = b"hasbench"


def have_parquet() -> bool:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=32)
def _space_of(space_json: str):
    """The Space of a trace's metadata, built once per distinct JSON (every seed of a run
    folder has the same one; parsing it per file dominated loading 1,000 traces)."""
    from ..spaces import Space

    return Space.from_json(space_json)


class Trace:
    """A simulated run: :attr:`frame` (tidy DataFrame, see the module docstring) and
    :attr:`meta` (dict)."""

    def __init__(self, frame: pd.DataFrame, meta: dict[str, Any]):
        self.frame = frame
        self.meta = dict(meta)
        #: the schema version the trace was read from (:meth:`load`), else the current one
        self.schema_version = TRACE_SCHEMA_VERSION

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return (f"Trace(optimizer={self.meta.get('optimizer')!r}, seed={self.meta.get('seed')}, "
                f"jobs={len(self.frame)}, end={self.end_time:.1f}s)")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Trace) and self.meta == other.meta
                and self.frame.equals(other.frame))

    @property
    def end_time(self) -> float:
        return float(self.frame["end"].max()) if len(self.frame) else 0.0

    @property
    def space(self):
        from ..spaces import Space

        return Space.from_json(self.meta["space"])

    def configs(self) -> list[dict]:
        """Decoded configurations of every row."""
        sp = self.space
        return sp.decode(self.frame[sp.names].to_numpy(dtype=float))

    def incumbent_curve(self, kind: str = "incumbent") -> pd.DataFrame:
        """``(time, value)`` steps of the incumbent (``"incumbent"`` or ``"incumbent_any"``),
        one row per change."""
        f = self.frame[self.frame["status"] != "pruned"]
        v = f[kind].to_numpy()
        keep = np.r_[True, v[1:] != v[:-1]] if len(v) else np.zeros(0, bool)
        return pd.DataFrame({"time": f["end"].to_numpy()[keep], kind: v[keep]})

    def best(self) -> dict[str, Any]:
        """The final incumbent: its config, loss and fidelity."""
        f = self.frame[self.frame["status"] == "ok"]
        if not len(f):
            return {}
        top = f["fidelity"].max()
        g = f[f["fidelity"] == top]
        i = int(np.argmin(g["loss"].to_numpy()))
        row = g.iloc[i]
        sp = self.space
        return {"config": sp.decode(row[sp.names].to_numpy(dtype=float)[None, :])[0],
                "loss": float(row["loss"]), "fidelity": float(row["fidelity"]),
                "trial": int(row["trial"])}

    # ------------------------------------------------------------------ storage
    def save(self, path: Any) -> Path:
        """Write atomically and durably, as the run-table writer does: a temporary file in
        the same folder, flushed and ``fsync``-ed, renamed over the target (``os.replace``),
        then the folder ``fsync``-ed so the rename survives a power loss. Parquet when
        pyarrow is installed, else CSV with a JSON sidecar (written the same way). A failed
        write removes its temporary file and leaves an existing file untouched. Returns the
        path written."""
        path = check_path("path", path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = dict(self.meta, schema_version=TRACE_SCHEMA_VERSION)

        def durable_write(dst: Path, write) -> None:
            tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
            try:
                write(tmp)
                fd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, dst)
            finally:
                if tmp.exists():  # only our own temporary file
                    tmp.unlink()
            dfd = os.open(dst.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

        frame = self._stored_frame() if TRACE_SCHEMA_VERSION >= _DECODED_SINCE else self.frame
        if have_parquet() and path.suffix != ".csv":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            md = dict(table.schema.metadata or {})
            md[_META_KEY] = json.dumps(meta, sort_keys=True).encode()
            table = table.replace_schema_metadata(md)
            durable_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
            return path
        if path.suffix != ".csv":
            path = path.with_suffix(".csv")
        durable_write(path.with_suffix(".json"),
                      lambda tmp: tmp.write_text(json.dumps(meta, sort_keys=True)))
        durable_write(path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.17g"))
        return path

    def _stored_frame(self) -> pd.DataFrame:
        """The frame as written: config columns in the config's own units (integers as
        nullable ints, so a CSV shows ``64``, not ``64.0``)."""
        if "space" not in self.meta:
            return self.frame
        sp = self.space
        if not all(n in self.frame for n in sp.names):
            return self.frame
        frame = self.frame.copy()
        cols = sp.decode_columns(frame[sp.names].to_numpy(dtype=float))
        for n, v in cols.items():
            k = sp.kind(n)
            integral = k == "int" or (k in ("categorical", "ordinal", "constant") and all(
                isinstance(c, int) and not isinstance(c, bool) for c in sp.choices(n)))
            frame[n] = pd.array(v, dtype="Int64") if integral else v
        return frame

    @classmethod
    def load(cls, path: Any) -> Trace:
        """Read a trace written by :meth:`save` (no code is executed)."""
        path = check_path("path", path, must_exist=True)
        if path.suffix == ".csv":
            side = path.with_suffix(".json")
            meta = json.loads(side.read_text()) if side.exists() else {}
            frame = pd.read_csv(path)
        else:
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            md = table.schema.metadata or {}
            if _META_KEY not in md:
                raise SchemaError("path", str(path), "a hasbench trace (parquet with "
                                  "'hasbench' metadata)")
            meta = json.loads(md[_META_KEY])
            frame = table.to_pandas()
        ver = meta.pop("schema_version", None)
        if ver not in READABLE_VERSIONS:
            raise SchemaError("schema_version", ver, list(READABLE_VERSIONS), str(path))
        if ver >= _DECODED_SINCE and "space" in meta:
            from ..spaces import Space

            sp = (_space_of(meta["space"]) if isinstance(meta["space"], str)
                  else Space.from_json(meta["space"]))
            present = [n for n in sp.names if n in frame]
            if present:
                if len(present) != len(sp.names):
                    raise SchemaError("columns", f"{len(present)} of {len(sp.names)} "
                                      "hyperparameters", f"all of {sp.names}", str(path))
                X = sp.encode_columns({n: frame[n] for n in sp.names}, where=str(path))
                frame = frame.copy()
                for j, n in enumerate(sp.names):
                    frame[n] = X[:, j]
        tr = cls(frame, meta)
        tr.schema_version = ver
        return tr
