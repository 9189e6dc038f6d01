"""Checks :func:`hasbench.tables.runtable._read_state` runs on a run table from elsewhere.

Two stages, so that a hostile or damaged file fails fast (well under a second and 100 MB):

1. :func:`check_file`, before any array is read, from HDF5 metadata only: the root
   attributes (``schema``, ``schema_version`` an integer exactly, JSON attributes that
   parse, ``max_epochs`` an integer), every group and dataset present and a dataset (not a
   group or link elsewhere), dtypes (float / integer / string as documented), shapes
   against each other (``n_configs`` and ``n_runs`` rows, ``max_epochs`` columns), and
   storage: external storage (raw data in another file, e.g. ``/etc/passwd``) and virtual
   datasets are refused, and a dataset that declares far more elements than it stores
   (a 38 KB file declaring 10^9 strings) is refused before it is read. Then the stored
   config JSON strings (now known to be few enough) are parsed.
2. :func:`check_state`, after reading: value ranges -- ``status`` in
   :data:`~hasbench.tables.runtable.STATUSES`, ``n_epochs`` in ``1..max_epochs``, seeds
   ``>= 0``, config rows in range, one run per (config, seed), accuracies (``*_acc``) in
   [0, 1] where not NaN, epoch and cumulative times finite and ``>= 0`` within each run's
   epochs, cumulative time non-decreasing, CPU/CUDA times ``>= 0`` or NaN.

Every failure is a :class:`~hasbench.errors.SchemaError` naming the dataset or attribute.
What is not checked: that the numbers are the ones measured (a well-formed table with
other numbers loads); see docs/run-table-format.md.
"""

from __future__ import annotations

import json
import math
from numbers import Integral
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import SchemaError

__all__ = ["check_file", "check_state", "read_guarded", "MAX_ROWS"]

#: most configs or runs a table may declare (a table of 10^7 runs x 100 epochs is 8 GB)
MAX_ROWS = 10_000_000
#: a dataset may declare at most this many times more bytes than it stores (+1 MiB):
#: hasbench writes uncompressed data; gzip on float curves rarely exceeds 10x
_MAX_RATIO = 64


def _fail(what: str, value: Any, allowed: Any, path: Path, hint: str | None = None):
    raise SchemaError(what, value, allowed, f"run table {path}", hint=hint)


def _json_attr(a: Any, key: str, path: Path, typ: type, default: Any = ...) -> Any:
    if key not in a:
        if default is ...:
            _fail(f"attribute {key!r}", "missing", "present", path)
        return default
    v = a[key]
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if not isinstance(v, str):
        _fail(f"attribute {key!r}", type(v).__name__, "a JSON string", path)
    if len(v) > 64 << 20:
        _fail(f"attribute {key!r}", f"{len(v)} characters", "at most 64 MiB", path)
    try:
        out = json.loads(v)
    except (json.JSONDecodeError, RecursionError) as exc:
        _fail(f"attribute {key!r}", v[:60], "valid JSON", path, hint=str(exc))
    if not isinstance(out, typ):
        _fail(f"attribute {key!r}", type(out).__name__, typ.__name__, path)
    return out


def _int_attr(a: Any, key: str, path: Path) -> int:
    v = a.get(key)
    if isinstance(v, np.ndarray) and v.shape == ():
        v = v[()]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, Integral):
        _fail(f"attribute {key!r}", v, "an integer", path)
    return int(v)


def _dataset(f: h5py.File, name: str, path: Path) -> h5py.Dataset:
    link = f.get(name, getlink=True)
    if link is None:
        _fail(f"/{name}", "missing", "present", path, hint="the file is not a complete "
              "run table")
    if not isinstance(link, h5py.HardLink):
        _fail(f"/{name}", type(link).__name__, "a dataset stored in this file", path,
              hint="soft and external links are refused")
    ds = f[name]
    if not isinstance(ds, h5py.Dataset):
        _fail(f"/{name}", type(ds).__name__, "a dataset", path)
    dcpl = ds.id.get_create_plist()
    if dcpl.get_external_count() > 0:
        _fail(f"/{name}", "external storage", "data stored in this file", path,
              hint="its raw data lies in another file; refusing to read it")
    if dcpl.get_layout() == h5py.h5d.VIRTUAL:
        _fail(f"/{name}", "virtual dataset", "data stored in this file", path,
              hint="refusing to read data mapped from other files")
    if dcpl.get_nfilters() and any(dcpl.get_filter(i)[0] not in _SAFE_FILTERS
                                   for i in range(dcpl.get_nfilters())):
        _fail(f"/{name}", "unknown filter", "uncompressed or gzip/shuffle/fletcher32", path)
    return ds


_SAFE_FILTERS = {h5py.h5z.FILTER_DEFLATE, h5py.h5z.FILTER_SHUFFLE,
                 h5py.h5z.FILTER_FLETCHER32, getattr(h5py.h5z, "FILTER_LZF", 32000)}


def _check(ds: h5py.Dataset, kind: str, shape: tuple[int | None, ...], path: Path
           ) -> tuple[int, ...]:
    """``kind``: "f" float, "i" integer, "s" string. ``shape`` entries None are free."""
    name = ds.name
    if len(ds.shape) != len(shape) or any(w is not None and s != w
                                          for s, w in zip(ds.shape, shape, strict=True)):
        _fail(name, f"shape {ds.shape}", f"shape {tuple('*' if w is None else w for w in shape)}",
              path)
    if kind == "s":
        if h5py.check_string_dtype(ds.dtype) is None:
            _fail(name, f"dtype {ds.dtype}", "strings", path)
        itemsize = 16  # a variable-length string's heap reference on disk
    else:
        ok = ds.dtype.kind in ("f" if kind == "f" else "iu")
        if not ok:
            _fail(name, f"dtype {ds.dtype}", "floats" if kind == "f" else "integers", path)
        itemsize = ds.dtype.itemsize
    n = math.prod(ds.shape)
    if ds.shape and ds.shape[0] > MAX_ROWS:
        _fail(name, f"{ds.shape[0]} rows", f"at most {MAX_ROWS}", path)
    declared = n * itemsize
    stored = ds.id.get_storage_size()
    if declared > _MAX_RATIO * stored + (1 << 20):
        _fail(name, f"{n} elements declared, {stored} bytes stored",
              "data actually stored in the file", path,
              hint="the file declares more data than it holds; refusing to read it")
    return ds.shape


def check_file(f: h5py.File, path: Path) -> None:
    """Stage 1 (metadata only, then the config JSON strings); see the module docstring."""
    from ..spaces import Space
    from . import runtable

    SCHEMA = runtable.SCHEMA
    READABLE_VERSIONS = getattr(runtable, "READABLE_VERSIONS", (runtable.SCHEMA_VERSION,))

    a = f.attrs
    schema = a.get("schema")
    if isinstance(schema, bytes):
        schema = schema.decode("utf-8", "replace")
    if schema != SCHEMA:
        _fail("schema", schema, [SCHEMA], path, hint="this HDF5 file is not a hasbench run "
              "table")
    ver = _int_attr(a, "schema_version", path)
    if ver not in READABLE_VERSIONS:
        _fail("schema_version", ver, list(READABLE_VERSIONS), path,
              hint="written by another hasbench version; see docs/run-table-format.md")
    metrics = _json_attr(a, "metrics", path, list)
    if not metrics or not all(isinstance(m, str) and m and "/" not in m for m in metrics) \
            or len(set(metrics)) != len(metrics):
        _fail("attribute 'metrics'", metrics[:5], "a non-empty list of unique names", path)
    static = _json_attr(a, "static_names", path, list)
    if not all(isinstance(s, str) and s and "/" not in s for s in static) \
            or len(set(static)) != len(static):
        _fail("attribute 'static_names'", static[:5], "a list of unique names", path)
    _json_attr(a, "provenance", path, dict)
    _json_attr(a, "attrs", path, dict, {})
    E = _int_attr(a, "max_epochs", path)
    if not 1 <= E <= 100_000:
        _fail("attribute 'max_epochs'", E, "an integer in [1, 100000]", path)
    sp = _json_attr(a, "space", path, dict)
    try:
        space = Space.from_json(json.dumps(sp))
    except Exception as exc:  # noqa: BLE001 - any parse failure of untrusted JSON
        _fail("attribute 'space'", type(exc).__name__, "a valid space description", path,
              hint=str(exc)[:200])
    X = _dataset(f, "configs/X", path)
    C = _check(X, "f", (None, space.dim), path)[0]
    for name in ("configs/json", "configs/id"):
        _check(_dataset(f, name, path), "s", (C,), path)
    for s in static:
        _check(_dataset(f, f"static/{s}", path), "f", (C,), path)
    R = _check(_dataset(f, "runs/seed", path), "i", (None,), path)[0]
    for name in ("runs/config", "runs/n_epochs"):
        _check(_dataset(f, name, path), "i", (R,), path)
    _check(_dataset(f, "runs/status", path), "s", (R,), path)
    for m in metrics:
        _check(_dataset(f, f"runs/metrics/{m}", path), "f", (R, E), path)
    arrays = ["epoch_time", "cum_time"] + (["cpu_time", "cuda_time"] if ver >= 2 else [])
    for name in arrays:
        _check(_dataset(f, f"runs/{name}", path), "f", (R, E), path)


def parse_configs(texts: list[str], path: Path) -> list[dict]:
    """The stored ``/configs/json`` rows as dicts, each checked to be one JSON object
    (parsed once here; the reader derives the config ids from them)."""
    out = []
    for k, s in enumerate(texts):
        try:
            cfg = json.loads(s)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            _fail("/configs/json", f"row {k}", "one JSON object per config", path,
                  hint=str(exc))
        if not isinstance(cfg, dict):
            _fail("/configs/json", f"row {k}: {type(cfg).__name__}", "a JSON object", path)
        out.append(cfg)
    return out


def _kind(metric: str) -> str:
    from ..surrogates.model import metric_kind

    return metric_kind(metric)


def check_state(st: Any, path: Path) -> None:
    """Stage 2 (value ranges of the arrays read); see the module docstring."""
    from .runtable import STATUSES

    C = st.X.shape[0]
    E = st.max_epochs
    rc, seed, ne = st.run_config, st.run_seed, st.run_n_epochs
    if ((rc < 0) | (rc >= max(C, 1))).any() or (C == 0 and rc.size):
        _fail("/runs/config", int(rc[(rc < 0) | (rc >= C)][0]), f"rows 0..{C - 1} of /configs",
              path)
    if (seed < 0).any():
        _fail("/runs/seed", int(seed[seed < 0][0]), "seeds >= 0", path)
    if ((ne < 1) | (ne > E)).any():
        _fail("/runs/n_epochs", int(ne[(ne < 1) | (ne > E)][0]), f"1 to {E} (max_epochs)", path)
    bad = sorted(set(st.run_status) - set(STATUSES))
    if bad:
        _fail("/runs/status", bad[0], list(STATUSES), path)
    if rc.size and np.unique(rc.astype(np.int64) * (int(seed.max()) + 1) + seed).size != rc.size:
        _fail("/runs", "a (config, seed) pair recorded twice", "one run per (config, seed)",
              path)
    within = np.arange(1, E + 1)[None, :] <= ne[:, None]
    for m in st.metrics:
        if _kind(m) == "acc":
            v = st.curves[m]
            off = ~np.isnan(v) & ((v < 0) | (v > 1))
            if off.any():
                _fail(f"/runs/metrics/{m}", float(v[off][0]), "accuracies in [0, 1] or NaN",
                      path)
    for name in ("epoch_time", "cum_time"):
        v = getattr(st, name)
        off = within & ~(np.isfinite(v) & (v >= 0))
        if off.any():
            _fail(f"/runs/{name}", float(v[off][0]), "finite seconds >= 0 within each run's "
                  "epochs", path)
    ct = np.where(within, st.cum_time, 0.0)
    if E > 1 and (np.diff(ct, axis=1)[within[:, 1:]] < -1e-9 * (1 + np.abs(
            ct[:, 1:][within[:, 1:]]))).any():
        _fail("/runs/cum_time", "decreasing", "non-decreasing cumulative seconds", path)
    for name in ("cpu_time", "cuda_time"):
        v = getattr(st, name, None)
        if v is not None and (~np.isnan(v) & ~(np.isfinite(v) & (v >= 0))).any():
            _fail(f"/runs/{name}", "negative or infinite", "seconds >= 0, or NaN", path)


def read_guarded(read: Any, path: Path) -> Any:
    """``read(path)``, with whatever a damaged file makes h5py or numpy raise beyond the
    checks above (a corrupt B-tree or checksum: ``KeyError``/``OSError`` ...) turned into a
    :class:`SchemaError` naming the file."""
    from ..errors import HasbenchError

    try:
        return read(path)
    except HasbenchError:
        raise
    except (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError,
            UnicodeDecodeError, AttributeError) as exc:
        raise SchemaError("path", str(path), "a readable hasbench run table",
                          f"run table {path}",
                          hint=f"damaged file: {type(exc).__name__}: {str(exc)[:160]}") from None
