"""What :meth:`CurveSurrogate.load <hasbench.surrogates.CurveSurrogate.load>` checks
before any model answers a query.

A surrogate folder may come from someone else, so the loader treats its manifest and
model files as untrusted input:

- **paths**: every name the manifest gives (``files``, each model's ``files``, the
  training table's ``name``) must be a plain file name: no folder part, no ``..``, not
  absolute; a model file must resolve (symlinks followed) to a regular file *inside* the
  surrogate folder. Nothing outside the folder is read, except the training table next to
  it, which is only hashed, and only when its recorded name is a plain ``.h5`` name.
- **hashes and sizes**: every file a model is loaded from must be listed in ``files`` with
  its SHA-256; an empty or missing ``files`` map is an error. The file's size is checked
  against the manifest's ``sizes`` (written since 2026-12-02) or, for older manifests,
  against a cap, *before* it is read; it is read once into memory, and the bytes that were
  hashed are the bytes that are parsed (no second read that could differ).
  Decompression (gzip) and npz members are capped too, using their headers.
- **structure**: the manifest's values are checked (types, ranges, lengths against
  ``max_epochs``, clip bounds of accuracies within [0, 1] ...); XGBoost models are parsed
  here (a strict UBJSON reader) and their trees checked -- node counts against array
  lengths, child and parent links forming one tree, split features below the number of
  inputs the surrogate feeds, tree count against ``n_estimators``, one output -- before
  XGBoost sees the bytes (XGBoost trusts its input: out-of-range child indices crash the
  interpreter); npz models (MLP, k-NN, GP) have their array shapes checked against each
  other and against the inputs and epochs of the surrogate.

What is *not* checked: that the numbers are the ones that were fitted. The SHA-256 in the
manifest protects against accidental or partial corruption (a truncated download, a flipped
bit, a file swapped by mistake); it is not a signature: whoever can edit the model files can
recompute the manifest, and a well-formed model with other numbers then loads and answers
other numbers. A file with a valid hash is trusted to be the model its author fitted.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SchemaError

__all__ = ["MAX_FILE_BYTES", "member_path", "read_member", "gunzip_capped", "load_npz_bytes",
           "parse_ubj", "check_xgb_model", "check_manifest", "plain_name"]

#: Largest model file (on disk, and after decompression) read when the manifest records no
#: size. The shipped model files are 0.05-3 MB; an XGBoost model of 5,000 depth-10 trees is
#: about 400 MB. A parameter of :meth:`CurveSurrogate.load` (``max_file_bytes``).
MAX_FILE_BYTES = 1 << 30


# ------------------------------------------------------------------ paths and bytes
def plain_name(name: Any, what: str, where: str) -> str:
    """``name`` if it is a plain file name (no folder part, no ``..``, not absolute)."""
    ok = (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name
          and "\\" not in name and "\x00" not in name and not os.path.isabs(name))
    if not ok:
        raise SchemaError(what, name, "a plain file name inside the surrogate folder "
                          "(no folder part, no '..', not absolute)", where,
                          hint="the manifest points outside its folder; refusing to read it")
    return name


def member_path(directory: Path, name: Any, what: str, where: str) -> Path:
    """Path of the file ``name`` of a surrogate folder: a plain name that resolves
    (following symlinks) to a regular file inside the folder."""
    plain_name(name, what, where)
    root = directory.resolve()
    p = directory / name
    try:
        real = p.resolve(strict=True)
    except (OSError, RuntimeError):
        raise SchemaError(what, name, "a file present in the surrogate folder", where,
                          hint="the surrogate folder is incomplete") from None
    if real.parent != root:
        raise SchemaError(what, name, "a file inside the surrogate folder", where,
                          hint=f"it is a symlink to {real}, outside the folder; refusing "
                               "to read it")
    if not stat.S_ISREG(real.stat().st_mode):
        raise SchemaError(what, name, "a regular file", where,
                          hint="not a regular file (device, folder or pipe); refusing to "
                               "read it")
    return real


def read_member(directory: Path, name: str, digest: Any, size: Any, cap: int,
                where: str) -> bytes:
    """Bytes of ``name``, read once, after checking its size, and verified against
    ``digest`` (SHA-256 hex). Raises :class:`SurrogateHashError` on a mismatch."""
    from .model import SurrogateHashError

    if not (isinstance(digest, str) and len(digest) == 64
            and all(c in "0123456789abcdef" for c in digest)):
        raise SchemaError(f"files[{name!r}]", digest, "a SHA-256 hex digest (64 characters)",
                          where)
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise SchemaError(f"sizes[{name!r}]", size, "a file size in bytes (int >= 0)", where)
    path = member_path(directory, name, "model file", where)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SchemaError("model file", name, "a regular file", where)
        limit = cap if size is None else size
        if st.st_size > limit or (size is not None and st.st_size != size):
            raise SchemaError(f"size of {name}", st.st_size,
                              f"{size} bytes (the manifest's size)" if size is not None
                              else f"at most {cap} bytes", where,
                              hint="refusing to read it" if size is None else
                              "the model file was truncated, extended or replaced")
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise SchemaError(f"size of {name}", len(data), f"at most {limit} bytes", where,
                          hint="the file grew while it was read")
    got = hashlib.sha256(data).hexdigest()
    if got != digest:
        raise SurrogateHashError("sha256 of " + name, got, [digest], where,
                                 hint="the model file was modified or corrupted")
    return data


def gunzip_capped(data: bytes, cap: int, name: str, where: str) -> bytes:
    """Decompress gzip ``data``, refusing more than ``cap`` bytes of output (gzip bombs)."""
    d = zlib.decompressobj(wbits=31)
    try:
        out = d.decompress(data, cap + 1)
        if len(out) > cap:
            raise SchemaError(f"decompressed size of {name}", f"> {cap} bytes",
                              f"at most {cap} bytes", where, hint="refusing to decompress it")
        if not d.eof or d.unused_data:
            raise SchemaError("model file", name, "one complete gzip stream", where,
                              hint="truncated or trailing bytes")
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise SchemaError("model file", name, "a gzip file", where, hint=str(exc)) from None
    return out


def load_npz_bytes(data: bytes, name: str, cap: int, where: str) -> dict[str, np.ndarray]:
    """Arrays of an npz file given as bytes. Every member's ``.npy`` header (dtype, shape)
    is read and checked before its data: numeric dtypes only (no objects, so no pickles),
    the declared size must fit the member's uncompressed size, and all members together
    must fit ``cap`` bytes."""
    fmt = np.lib.format
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise SchemaError("model file", name, "an npz file", where, hint=str(exc)) from None
    if sum(i.file_size for i in infos) > cap:
        raise SchemaError(f"uncompressed size of {name}", sum(i.file_size for i in infos),
                          f"at most {cap} bytes", where, hint="refusing to read it")
    out: dict[str, np.ndarray] = {}
    for info in infos:
        key = info.filename[:-4] if info.filename.endswith(".npy") else None
        if not key or key in out:
            raise SchemaError(f"member of {name}", info.filename, "unique '<name>.npy' arrays",
                              where)
        try:
            with zf.open(info) as fh:
                version = fmt.read_magic(fh)
                if version == (1, 0):
                    shape, fortran, dtype = fmt.read_array_header_1_0(fh)
                elif version == (2, 0):
                    shape, fortran, dtype = fmt.read_array_header_2_0(fh)
                else:
                    raise ValueError(f"npy format version {version}")
                if dtype.hasobject or dtype.kind not in "biuf":
                    raise ValueError(f"dtype {dtype} (numeric arrays only)")
                n = math.prod(shape)
                if n * dtype.itemsize > info.file_size:
                    raise ValueError(f"declared shape {shape} larger than the stored data")
                buf = fh.read(n * dtype.itemsize + 1)
                if len(buf) != n * dtype.itemsize:
                    raise ValueError(f"{len(buf)} data bytes for shape {shape}")
                arr = np.frombuffer(buf, dtype=dtype).reshape(shape, order="F" if fortran
                                                               else "C").copy()
        except (ValueError, OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise SchemaError(f"array {key!r} of {name}", info.filename, "a numeric .npy array",
                              where, hint=str(exc)) from None
        out[key] = arr
    return out


# ------------------------------------------------------------------ UBJSON (XGBoost)
_UBJ_NUM = {ord("i"): ">i1", ord("U"): ">u1", ord("I"): ">i2", ord("l"): ">i4",
            ord("L"): ">i8", ord("d"): ">f4", ord("D"): ">f8"}
_UBJ_STRUCT = {ord(c): (struct.Struct(">" + f), struct.calcsize(">" + f))
               for c, f in zip("iUIlLdD", "bBhiqfd", strict=True)}
_UBJ_INT = {ord(c) for c in "iUIlL"}
_N, _S, _C, _T, _F, _Z = (ord(c) for c in "NSCTFZ")
_LB, _RB, _LC, _RC, _DOLLAR, _HASH = (ord(c) for c in "[]{}$#")
_MAX_DEPTH = 12


class _UBJError(ValueError):
    pass


class _UBJReader:
    """A strict reader of the UBJSON subset XGBoost writes (Draft 12: typed and counted
    containers, big-endian numbers). Written here rather than taken from a package because
    it must be strict where XGBoost is lenient: any unknown marker, a length past the end,
    a duplicate key, nesting deeper than 12 or trailing bytes is an error, so that XGBoost
    is only handed bytes whose structure has been read the same way."""

    def __init__(self, data: bytes):
        self.b = bytes(data)
        self.n = len(self.b)
        self.i = 0

    def _marker(self) -> int:
        b, i, n = self.b, self.i, self.n
        while i < n and b[i] == _N:  # no-op
            i += 1
        if i >= n:
            raise _UBJError("unexpected end of data")
        self.i = i + 1
        return b[i]

    def _num(self, m: int) -> Any:
        st, size = _UBJ_STRUCT[m]
        if self.i + size > self.n:
            raise _UBJError("number past the end")
        v = st.unpack_from(self.b, self.i)[0]
        self.i += size
        return v

    def _len(self) -> int:
        m = self._marker()
        if m not in _UBJ_INT:
            raise _UBJError(f"expected an integer length at byte {self.i - 1}")
        k = self._num(m)
        if k < 0 or k > self.n - self.i:
            raise _UBJError(f"length {k} at byte {self.i} runs past the end")
        return k

    def _str(self) -> str:
        k = self._len()
        i = self.i
        self.i += k
        try:
            return self.b[i:i + k].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _UBJError(f"invalid UTF-8 string ({exc})") from None

    def value(self, m: int | None = None, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise _UBJError("nesting too deep")
        m = self._marker() if m is None else m
        if m in _UBJ_STRUCT:
            return self._num(m)
        if m == _S:
            return self._str()
        if m == _LC:
            return self._object(depth)
        if m == _LB:
            return self._array(depth)
        if m == _C:
            if self.i >= self.n:
                raise _UBJError("char past the end")
            self.i += 1
            return chr(self.b[self.i - 1])
        if m == _T:
            return True
        if m == _F:
            return False
        if m == _Z:
            return None
        raise _UBJError(f"unknown marker {chr(m)!r} at byte {self.i - 1}")

    def _array(self, depth: int) -> Any:
        typ = None
        m = self._marker()
        if m == _DOLLAR:
            typ = self._marker()
            if self._marker() != _HASH:
                raise _UBJError("typed array without a count")
            m = _HASH
        if m == _HASH:
            mc = self._marker()
            if mc not in _UBJ_INT:
                raise _UBJError("array count is not an integer")
            count = self._num(mc)
            if count < 0 or count > self.n - self.i:
                raise _UBJError(f"array count {count} past the end")
            if typ in _UBJ_NUM:
                dt = np.dtype(_UBJ_NUM[typ])
                if self.i + count * dt.itemsize > self.n:
                    raise _UBJError(f"array of {count} values past the end")
                a = np.frombuffer(self.b, dt, count, self.i).astype(dt.newbyteorder("="))
                self.i += count * dt.itemsize
                return a
            if typ is not None and typ not in (_S, _LB, _LC):
                raise _UBJError(f"unsupported array element type {typ!r}")
            return [self.value(typ, depth + 1) for _ in range(count)]
        out = []
        while m != _RB:
            out.append(self.value(m, depth + 1))
            m = self._marker()
        return out

    def _object(self, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        m = self._marker()
        if m in (_DOLLAR, _HASH):
            raise _UBJError("typed or counted objects are not written by XGBoost")
        while m != _RC:
            self.i -= 1  # m was the key's length marker
            key = self._str()
            if key in out:
                raise _UBJError(f"duplicate key {key!r}")
            out[key] = self.value(None, depth + 1)
            m = self._marker()
        return out

    def document(self) -> Any:
        v = self.value()
        if self.i != self.n:
            raise _UBJError(f"{self.n - self.i} trailing bytes")
        return v


def parse_ubj(data: bytes, name: str = "model", where: str = "") -> Any:
    """Parse UBJSON bytes strictly (see :class:`_UBJReader`); :class:`SchemaError` if
    they are not well-formed."""
    try:
        return _UBJReader(data).document()
    except (_UBJError, ValueError, TypeError) as exc:
        raise SchemaError("model file", name, "a well-formed XGBoost UBJSON model", where,
                          hint=str(exc)) from None


def _int_str(v: Any) -> int:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return int(v)
    if isinstance(v, str) and v.lstrip("-").isdigit():
        return int(v)
    raise _UBJError(f"{v!r} is not an integer")


_TREE_ARRAYS = ("left_children", "right_children", "parents", "split_indices",
                "split_conditions", "default_left", "split_type", "base_weights",
                "loss_changes", "sum_hessian")
_ROOT_PARENT = (2147483647, -1)


def check_xgb_model(doc: Any, n_features: int, n_trees: int | None, name: str,
                    where: str) -> None:
    """Check a parsed XGBoost model (as :func:`parse_ubj` returns it) against what the
    surrogate will feed it: a single-output ``gbtree`` regression with ``n_features``
    inputs and ``n_trees`` trees (``None``: any number), every tree well-formed (array
    lengths equal to its node count, children after their parent, each node reached from
    the root exactly once, split features below ``n_features``, numeric splits only,
    finite thresholds and leaf values). Raises :class:`SchemaError` naming what differs."""
    try:
        _check_xgb(doc, n_features, n_trees)
    except (_UBJError, KeyError, TypeError, ValueError, IndexError) as exc:
        msg = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise SchemaError("model file", name, "an XGBoost model of the structure the "
                          "manifest describes", where, hint=msg) from None


def _check_xgb(doc: Any, n_features: int, n_trees: int | None) -> None:
    if not isinstance(doc, dict):
        raise _UBJError("the document is not an object")
    ln = doc["learner"]
    mp = ln["learner_model_param"]
    if _int_str(mp["num_feature"]) != n_features:
        raise _UBJError(f"num_feature {mp['num_feature']} != {n_features} inputs")
    if _int_str(mp.get("num_target", "1")) != 1 or _int_str(mp.get("num_class", "0")) != 0:
        raise _UBJError("not a single-output regression model")
    base = str(mp.get("base_score", "0")).strip("[]")
    if not all(math.isfinite(float(x)) for x in base.split(",")):
        raise _UBJError(f"base_score {mp['base_score']!r} is not finite")
    if ln["objective"]["name"] != "reg:squarederror":
        raise _UBJError(f"objective {ln['objective']['name']!r} (hasbench fits "
                        "reg:squarederror)")
    for k in ("feature_names", "feature_types"):
        if len(ln.get(k, [])) not in (0, n_features):
            raise _UBJError(f"{k} has {len(ln[k])} entries")
    gb = ln["gradient_booster"]
    if gb["name"] != "gbtree":
        raise _UBJError(f"booster {gb['name']!r} (hasbench fits gbtree)")
    model = gb["model"]
    trees = model["trees"]
    if not isinstance(trees, list):
        raise _UBJError("trees is not a list")
    nt = len(trees)
    par = model["gbtree_model_param"]
    if _int_str(par["num_trees"]) != nt or _int_str(par.get("num_parallel_tree", "1")) != 1:
        raise _UBJError(f"num_trees {par['num_trees']} != {nt} stored trees")
    if n_trees is not None and nt != n_trees:
        raise _UBJError(f"{nt} trees, the manifest says n_estimators = {n_trees}")
    info = np.asarray(model["tree_info"])
    if info.shape != (nt,) or (info != 0).any():
        raise _UBJError("tree_info does not match the trees")
    if "iteration_indptr" in model and not np.array_equal(
            np.asarray(model["iteration_indptr"]), np.arange(nt + 1)):
        raise _UBJError("iteration_indptr does not match one tree per round")
    cats = model.get("cats", {})
    if any(len(v) for v in cats.values()):
        raise _UBJError("categorical encodings present (hasbench fits none)")
    cols: dict[str, list[np.ndarray]] = {k: [] for k in _TREE_ARRAYS}
    sizes = np.zeros(nt, np.int64)
    for t, tree in enumerate(trees):  # per tree: only cheap checks; arrays are checked below
        tp = tree["tree_param"]
        n = _int_str(tp["num_nodes"])
        if _int_str(tree.get("id", t)) != t or n < 1:
            raise _UBJError(f"tree {t}: id or num_nodes invalid")
        if _int_str(tp["num_feature"]) != n_features:
            raise _UBJError(f"tree {t}: num_feature {tp['num_feature']} != {n_features}")
        if _int_str(tp.get("size_leaf_vector", "1")) not in (0, 1) or \
                _int_str(tp.get("num_deleted", "0")) != 0:
            raise _UBJError(f"tree {t}: vector leaves or deleted nodes")
        for k in _TREE_ARRAYS:
            v = tree[k]
            if not isinstance(v, np.ndarray) or v.shape != (n,) or v.dtype.kind not in "biuf":
                raise _UBJError(f"tree {t}: {k} is not a numeric array of num_nodes = {n} "
                                "values")
            cols[k].append(v)
        for k in ("categories", "categories_nodes", "categories_segments",
                  "categories_sizes"):
            if len(tree.get(k, [])):
                raise _UBJError(f"tree {t}: categorical splits (hasbench fits none)")
        sizes[t] = n
    if nt == 0:
        return
    a = {k: np.concatenate(v) for k, v in cols.items()}
    start = np.repeat(np.cumsum(sizes) - sizes, sizes)  # offset of each node's tree
    end = start + np.repeat(sizes, sizes)
    ids = np.arange(start.size)  # global node index
    left = a["left_children"].astype(np.int64) + start
    right = a["right_children"].astype(np.int64) + start
    leaf = a["left_children"] == -1
    if not np.array_equal(leaf, a["right_children"] == -1):
        raise _UBJError(f"tree {_tree_of(~(leaf == (a['right_children'] == -1)), sizes)}: "
                        "a node with one child")
    inner = ~leaf
    bad = inner & ((left <= ids) | (left >= end) | (right <= ids) | (right >= end))
    if bad.any():
        raise _UBJError(f"tree {_tree_of(bad, sizes)}: child index out of range")
    # one tree: every node but the root is the child of exactly one node
    seen = np.bincount(np.concatenate([left[inner], right[inner]]), minlength=ids.size)
    root = np.zeros(ids.size, bool)
    root[np.cumsum(sizes) - sizes] = True
    bad = np.where(root, seen != 0, seen != 1)
    if bad.any():
        raise _UBJError(f"tree {_tree_of(bad, sizes)}: nodes are not linked as one tree")
    parents = a["parents"].astype(np.int64)
    bad = np.zeros(ids.size, bool)
    bad[left[inner]] |= parents[left[inner]] + start[left[inner]] != ids[inner]
    bad[right[inner]] |= parents[right[inner]] + start[right[inner]] != ids[inner]
    bad |= root & ~np.isin(parents, _ROOT_PARENT)
    if bad.any():
        raise _UBJError(f"tree {_tree_of(bad, sizes)}: parent links do not match the children")
    si = a["split_indices"].astype(np.int64)
    bad = (si < 0) | (si >= n_features)
    if bad.any():
        raise _UBJError(f"tree {_tree_of(bad, sizes)}: split feature out of range "
                        f"[0, {n_features})")
    if (a["split_type"] != 0).any():
        raise _UBJError(f"tree {_tree_of(a['split_type'] != 0, sizes)}: non-numeric split")
    if not np.isin(a["default_left"], (0, 1)).all():
        raise _UBJError("default_left is not 0/1")
    if not np.isfinite(a["split_conditions"]).all():
        raise _UBJError(f"tree {_tree_of(~np.isfinite(a['split_conditions']), sizes)}: "
                        "non-finite split threshold or leaf value")


def _tree_of(mask: np.ndarray, sizes: np.ndarray) -> int:
    """Index of the tree holding the first flagged node."""
    return int(np.searchsorted(np.cumsum(sizes), int(np.argmax(mask)), side="right"))


# ------------------------------------------------------------------ manifest
class _M:
    """Typed access to manifest values; every failure names the key path."""

    def __init__(self, where: str):
        self.where = where

    def fail(self, key: str, value: Any, allowed: Any, hint: str | None = None):
        raise SchemaError(f"manifest {key}", value, allowed, self.where, hint=hint)

    def get(self, obj: Any, key: str, path: str, typ: Any, default: Any = ...) -> Any:
        if not isinstance(obj, dict):
            self.fail(path, obj, "an object")
        if key not in obj:
            if default is ...:
                self.fail(f"{path}.{key}".lstrip("."), "missing", "present",
                          hint="the manifest is incomplete")
            return default
        v = obj[key]
        if typ is not None and not _is(v, typ):
            self.fail(f"{path}.{key}".lstrip("."), v, _typename(typ))
        return v

    def number(self, v: Any, path: str, low: float | None = None, high: float | None = None,
               none_ok: bool = False) -> float | None:
        if v is None and none_ok:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or (low is not None and v < low) or (high is not None and v > high):
            self.fail(path, v, f"a finite number in [{low}, {high}]"
                      + (" or null" if none_ok else ""))
        return float(v)

    def numbers(self, v: Any, path: str, n: int | None, low: float | None = None,
                high: float | None = None) -> list[float]:
        if not isinstance(v, list) or (n is not None and len(v) != n):
            self.fail(path, _short(v), f"a list of {n if n is not None else 'any number of'} "
                      "finite numbers")
        return [self.number(x, f"{path}[{i}]", low, high) for i, x in enumerate(v)]


def _is(v: Any, typ: Any) -> bool:
    if typ is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if typ is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(v, typ)


def _typename(typ: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", int: "an integer",
             float: "a number", bool: "true or false"}
    if isinstance(typ, tuple):
        return " or ".join(names.get(t, str(t)) for t in typ)
    return names.get(typ, str(typ))


def _short(v: Any) -> Any:
    return v if len(repr(v)) < 60 else repr(v)[:57] + "..."


def _acc(metric: str) -> bool:
    from .model import metric_kind

    return metric_kind(metric) == "acc"


def check_manifest(man: Any, where: str) -> None:
    """Check the values :meth:`CurveSurrogate.load` uses: presence, types, ranges and
    lengths (against ``max_epochs`` and the metric list). :class:`SchemaError` names the
    key path and the bad value."""
    M = _M(where)
    if not isinstance(man, dict):
        M.fail("(top level)", type(man).__name__, "a JSON object")
    M.get(man, "model", "", str)
    metrics = M.get(man, "metrics", "", list)
    if not metrics or not all(isinstance(m, str) and m for m in metrics) \
            or len(set(metrics)) != len(metrics):
        M.fail("metrics", _short(metrics), "a non-empty list of unique metric names")
    static = M.get(man, "static", "", list)
    if not all(isinstance(s, str) for s in static):
        M.fail("static", _short(static), "a list of names")
    E = M.get(man, "max_epochs", "", int)
    if not 1 <= E <= 100_000:
        M.fail("max_epochs", E, "an integer in [1, 100000]")
    M.get(man, "space", "", dict)
    lay = M.get(man, "layout", "", dict)
    cols = M.get(lay, "columns", "layout", list)
    sc = M.get(lay, "search_cols", "layout", list)
    if not all(_is(c, int) and c >= 0 for c in sc) or len(cols) != len(sc) + 1:
        M.fail("layout.search_cols", _short(sc), "column indices, one per search column")
    for k in ("scale_lo", "scale_hi"):
        M.numbers(M.get(lay, k, "layout", list), f"layout.{k}", len(cols))
    fill = M.get(man, "fill", "", dict)
    clip = M.get(man, "clip", "", dict)
    for m in metrics:
        acc = _acc(m)
        M.number(M.get(fill, m, "fill", float), f"fill.{m}")
        c = M.get(clip, m, "clip", list)
        if len(c) != 2:
            M.fail(f"clip.{m}", c, "[low, high]")
        lo = M.number(c[0], f"clip.{m}[0]", 0.0 if acc else None, 1.0 if acc else None,
                      none_ok=not acc)
        hi = M.number(c[1], f"clip.{m}[1]", 0.0 if acc else None, 1.0 if acc else None,
                      none_ok=not acc)
        if lo is not None and hi is not None and lo > hi:
            M.fail(f"clip.{m}", c, "[low, high] with low <= high")
    extra = set(clip) - set(metrics)
    if extra:
        M.fail("clip", sorted(extra)[0], list(metrics), hint="a clip bound for no metric")
    for key in ("epoch_clip", "epoch_clip_mean"):
        ec = M.get(man, key, "", dict, {})
        for m, v in ec.items():
            if m not in metrics:
                M.fail(key, m, list(metrics))
            if not isinstance(v, list) or len(v) != 2:
                M.fail(f"{key}.{m}", _short(v), "[lows, highs], one value per epoch each")
            acc = _acc(m)
            lo = M.numbers(v[0], f"{key}.{m}[0]", E, 0.0 if acc else None, 1.0 if acc else None)
            hi = M.numbers(v[1], f"{key}.{m}[1]", E, 0.0 if acc else None, 1.0 if acc else None)
            if any(a > b for a, b in zip(lo, hi, strict=True)):
                M.fail(f"{key}.{m}", "low > high", "low <= high at every epoch")
    tp = M.numbers(M.get(man, "time_profile", "", list), "time_profile", E, 0.0, None)
    if tp and (tp[-1] <= 0 or any(b < a for a, b in zip(tp, tp[1:], strict=False))):
        M.fail("time_profile", _short(tp), "non-decreasing fractions of the full run time")
    nz = M.get(man, "noise", "", dict)
    ref = M.get(nz, "reference", "noise", (str, type(None)))
    if ref is not None and ref not in metrics:
        M.fail("noise.reference", ref, list(metrics))
    for m, c in M.get(nz, "corr", "noise", dict).items():
        M.number(c, f"noise.corr.{m}", -1.0, 1.0)
    for m, f in M.get(nz, "std_factor", "noise", dict).items():
        M.number(f, f"noise.std_factor.{m}", 0.0, None)
    for m, v in M.get(nz, "calib_var", "noise", dict).items():
        M.numbers(v, f"noise.calib_var.{m}", None, 0.0, None)
    for m, lv in M.get(nz, "calib_level", "noise", dict, {}).items():
        if m not in metrics:
            M.fail("noise.calib_level", m, list(metrics))
        ed = M.get(lv, "edges", f"noise.calib_level.{m}", list)
        va = M.get(lv, "var", f"noise.calib_level.{m}", list)
        if len(ed) != E or len(va) != E:
            M.fail(f"noise.calib_level.{m}", f"{len(ed)}/{len(va)} epochs",
                   f"{E} epochs of edges and variances")
        for e in range(E):
            M.numbers(va[e], f"noise.calib_level.{m}.var[{e}]", None, 0.0, None)
            q = M.numbers(ed[e], f"noise.calib_level.{m}.edges[{e}]", len(va[e]) - 1)
            if any(b < a for a, b in zip(q, q[1:], strict=False)):
                M.fail(f"noise.calib_level.{m}.edges[{e}]", _short(q), "non-decreasing edges")
    for m, b in M.get(nz, "std_mean_bounds", "noise", dict, {}).items():
        M.numbers(b, f"noise.std_mean_bounds.{m}", 2)
    slog = M.get(man, "static_log", "", dict, {})
    if not all(isinstance(v, bool) for v in slog.values()):
        M.fail("static_log", _short(slog), "true/false per static metric")
    se = M.get(man, "static_exact", "", (dict, type(None)), None)
    if se is not None:
        shape = M.get(se, "in_shape", "static_exact", list)
        k = M.get(se, "n_classes", "static_exact", int)
        if len(shape) != 3 or not all(_is(s, int) and 1 <= s <= 100_000 for s in shape) \
                or not 1 <= k <= 1_000_000:
            M.fail("static_exact", se, "{in_shape: [C, H, W], n_classes: K} positive ints")
    if M.get(man, "time_static", "", bool, False):
        M.numbers(M.get(man, "time_static_bounds", "", list)[0], "time_static_bounds[0]", 2)
        tsb = man["time_static_bounds"]
        if len(tsb) != 2:
            M.fail("time_static_bounds", tsb, "two [low, high] pairs (log FLOPs, log params)")
        M.numbers(tsb[1], "time_static_bounds[1]", 2)
    opt = M.get(man, "optimum", "", (dict, type(None)), None)
    for m, e in (opt or {}).items():
        if m not in metrics:
            M.fail("optimum", m, metrics)
        M.get(e, "method", f"optimum.{m}", str)
        M.number(M.get(e, "loss", f"optimum.{m}", float), f"optimum.{m}.loss")
    files = M.get(man, "files", "", dict)
    if not files:
        M.fail("files", files, "a non-empty map of file name -> SHA-256",
               hint="without it nothing would be verified")
    sizes = M.get(man, "sizes", "", dict, {})
    for n in sizes:
        if n not in files:
            M.fail("sizes", n, sorted(files))
    models = M.get(man, "models", "", dict)
    need = [f"mean:{m}" for m in metrics] + ["time"]
    for k in need:
        if k not in models:
            M.fail("models", "missing " + k, "a model for every metric and the runtime")
    for key, meta in models.items():
        path = f"models.{key}"
        M.get(meta, "kind", path, str)
        M.get(meta, "role", path, str)
        M.get(meta, "params", path, dict, {})
        fl = M.get(meta, "files", path, list)
        if len(fl) != 1:
            M.fail(f"{path}.files", fl, "exactly one file name")
        if fl[0] not in files:
            M.fail(f"{path}.files", fl[0], "a file listed (and hashed) in the manifest's "
                   "files", hint="an unlisted file would be loaded unverified")
    tinfo = M.get(man, "training_table", "", dict, {})
    if tinfo.get("name") is not None:
        M.get(tinfo, "name", "training_table", str)
    if tinfo.get("sha256") is not None:
        M.get(tinfo, "sha256", "training_table", str)
