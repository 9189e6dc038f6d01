"""Datasets for real training: built-in ``digits`` and loaders for standard local files.

Every loader returns a :class:`Dataset` with fixed train / valid / test splits. The splits
depend only on the dataset and ``split_seed`` (default 0), never on the training seed, so
every run of a run table is scored on the same validation and test examples.

Splits (hasbench's choice, documented here and recorded in each table's provenance):

- ``digits`` (scikit-learn's 1,797 8x8 images, offline): the pooled images are permuted with
  ``default_rng(split_seed)``; the first 360 are the test split, the next 360 the validation
  split and the remaining 1,077 the training split.
- Datasets with an official train/test split (``mnist``, ``fashion-mnist``/``fmnist``: the
  MNIST-format idx files; ``usps``: the HDF5 release, 7,291 train + 2,007 test images of
  16x16): the official test set is the test split (permuted, so prefixes are random
  subsets); the official training set is permuted with ``default_rng(split_seed)``, its
  first 10,000 images (``min(10000, n // 6)`` for smaller sets: 1,215 for USPS) are the
  validation split and the rest the training split.
- Datasets of which only one labelled set is available (``kmnist``: the 10,000-image
  Kuzushiji-MNIST *test* release, ``kannada-mnist``: the 10,000-image Kannada-MNIST test
  release, ``kannada-dig``: the 10,240-image Dig-MNIST set): the set is pooled and split
  like a generic ``.npz`` (below): 20 % test, 20 % validation, the rest training
  (2,000 / 2,000 / 6,000 images; 2,048 / 2,048 / 6,144 for Dig-MNIST). hasbench's choice,
  since the official training sets are not in the shared data: these splits are *not*
  the official test sets, so accuracies are not comparable to published ones.
- CIFAR-10 (python batches or binary batches): ``test_batch`` is the test split; the five
  training batches are permuted, the first 5,000 images (``min(5000, n // 10)``) are
  validation, the rest training.
- generic ``.npz`` with arrays ``x`` (n, H, W) or (n, C, H, W) and ``y`` (n,): like
  ``digits``, 20 % test, 20 % validation, the rest training (or ``x_test``/``y_test`` arrays
  when present as the test split).

``max_train`` / ``max_valid`` / ``max_test`` keep the first k examples of each (already
permuted) split, so subsets are nested: a smaller subset is a prefix of a larger one.
Files are found in ``data_dir`` (an argument; ``hasbench collect --data-dir``), else in
the folder named by the environment variable ``HASBENCH_SHARED_DATA``, else in
``<repo>/../shared/data`` when it exists; each dataset's files may sit in the folder itself
or in a sub-folder named like the dataset (``mnist/``, ``usps/``, ``kannada-mnist/`` ...).
Every file whose name hasbench knows is checked against its SHA-256 (:data:`CHECKSUMS`)
before it is read (``verify=True``, the default); a mismatch raises
:class:`ChecksumError`, never a silent load. Files under other names (e.g. decompressed idx
files of MNIST) are read with a logged warning and listed as ``unverified`` in the
dataset's ``info``.

Images are scaled to [0, 1], resized (``resolution``, a factor <= 1 or > 1 applied to the side
length, bilinear with antialiasing) and standardised per channel with the training split's
mean and standard deviation.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import pickle
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import (
    InvalidValueError,
    SchemaError,
    check_choice,
    check_float,
    check_int,
    check_path,
)

__all__ = ["Dataset", "load_dataset", "list_datasets", "read_idx", "load_cifar10",
           "load_npz", "download", "shared_data_dir", "KNOWN_FILES", "CHECKSUMS",
           "ChecksumError", "verify_file"]

log = logging.getLogger(__name__)

_IDX_NAMES = {"mnist": "mnist", "fashion-mnist": "fashion-mnist", "fmnist": "fashion-mnist"}
#: sub-folder of every file-based dataset (files may also sit in data_dir itself)
_SUBFOLDERS = {**_IDX_NAMES, "usps": "usps", "kmnist": "kmnist",
               "kannada-mnist": "kannada-mnist", "kannada-dig": "kannada-mnist",
               "cifar10": "cifar10"}
#: datasets of which one labelled set is pooled and split 60/20/20 (module docstring)
_POOLED = ("kmnist", "kannada-mnist", "kannada-dig")
_DATASETS = ["digits", "mnist", "fashion-mnist", "fmnist", "usps", "kmnist", "kannada-mnist",
             "kannada-dig", "cifar10"]

#: files whose SHA-256 hasbench knows, for :func:`download` (name -> (url, sha256))
KNOWN_FILES: dict[str, tuple[str, str]] = {
    "fashion-mnist/train-images-idx3-ubyte.gz": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
    "fashion-mnist/train-labels-idx1-ubyte.gz": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-labels-idx1-ubyte.gz",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
    "fashion-mnist/t10k-images-idx3-ubyte.gz": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-images-idx3-ubyte.gz",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
    "fashion-mnist/t10k-labels-idx1-ubyte.gz": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-labels-idx1-ubyte.gz",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
}


#: SHA-256 of every data file hasbench knows, by ``<dataset folder>/<file name>``; the values
#: are those listed in the READMEs of the shared data folders (for MNIST and Fashion-MNIST
#: also the published ones)
CHECKSUMS: dict[str, str] = {
    **{k: v[1] for k, v in KNOWN_FILES.items()},
    "fashion-mnist/train-images-idx3-ubyte":
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "fashion-mnist/train-labels-idx1-ubyte":
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "fashion-mnist/t10k-images-idx3-ubyte":
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "fashion-mnist/t10k-labels-idx1-ubyte":
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    "mnist/train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "mnist/train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "mnist/t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "mnist/t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    "usps/usps.h5": "734f88c541104a956d88be2c95d03b4a463ffd74ccc2ba9c80841fb98e3fcb36",
    "kmnist/kmnist-test-imgs.npz":
        "692d824896bec8f3c357ebf7a0fe904ed67ac632ce953d0b58f7fbef7bb27d87",
    "kmnist/kmnist-test-labels.npz":
        "660f13a4705431ea2a6391c41ecbe384cd0d932c595a101ec4f3b8989e785046",
    "kannada-mnist/X_kannada_MNIST_test-idx3-ubyte.gz":
        "4628f3fa7b1d32137449dd356be4601da0c28c420b79f1b745a5134504ca35ca",
    "kannada-mnist/y_kannada_MNIST_test-idx1-ubyte.gz":
        "645db5902d290681c9e5b452428e24636963a50a3036c2201240351b88786272",
    "kannada-mnist/X_dig_MNIST-idx3-ubyte.gz":
        "abda37c59d3d65ef89505860c18e7b7f7e80bfb2ba361ec1df68949e0c630aaa",
    "kannada-mnist/y_dig_MNIST-idx1-ubyte.gz":
        "321fa413dc0f4bc4342da1f3418c656cd346f91d6d479ea67b1a107e920b907b",
}


class ChecksumError(SchemaError):
    """A data file's SHA-256 differs from the one hasbench knows for it (a corrupted,
    truncated or different file); ``value`` is the file's hash, ``allowed`` the expected."""


def verify_file(path: str | os.PathLike, key: str, where: str = "verify_file") -> bool:
    """Check ``path`` against ``CHECKSUMS[key]``.

    Returns ``True`` when it matches, ``False`` when hasbench knows no checksum for ``key``
    (the caller records the file as unverified); raises :class:`ChecksumError` on a
    mismatch."""
    p = check_path("path", path, must_exist=True, where=where)
    want = CHECKSUMS.get(key)
    if want is None:
        return False
    got = _sha256(p)
    if got != want:
        raise ChecksumError(f"sha256 of {p}", got, [want], where,
                            hint=f"{p.name} is not the {key} hasbench knows (corrupted or "
                                 "truncated copy?); replace it with the original file")
    return True


@dataclass
class Dataset:
    """Train / valid / test arrays of one image-classification dataset.

    Attributes
    ----------
    name : str
    x_train, x_valid, x_test : float32 arrays of shape (n, C, H, W)
        Standardised images.
    y_train, y_valid, y_test : int64 arrays of shape (n,)
        Labels in ``[0, n_classes)``.
    n_classes : int
    info : dict
        Source, split sizes, ``split_seed``, resolution ... (stored in table provenance).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(int(s) for s in self.x_train.shape[1:])  # type: ignore[return-value]

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, shape={self.shape}, train={len(self.y_train)}, "
                f"valid={len(self.y_valid)}, test={len(self.y_test)}, "
                f"classes={self.n_classes})")


def list_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset` (plus ``npz:PATH``)."""
    return list(_DATASETS)


def shared_data_dir() -> Path | None:
    """The shared data folder (env ``HASBENCH_SHARED_DATA`` or ``<repo>/../shared/data``),
    or ``None`` when absent."""
    env = os.environ.get("HASBENCH_SHARED_DATA")
    cands = [Path(env)] if env else []
    cands.append(Path(__file__).resolve().parents[3] / "shared" / "data")
    for c in cands:
        if c.is_dir():
            return c
    return None


# ----------------------------------------------------------------------------- file readers

def _open_maybe_gz(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an MNIST-format idx file (optionally gzip-compressed).

    Parameters
    ----------
    path : str or PathLike
        ``*-idx3-ubyte`` (images, shape (n, H, W)) or ``*-idx1-ubyte`` (labels, shape (n,)),
        plain or ``.gz``.

    Returns
    -------
    numpy.ndarray
        The array with the shape and dtype the header declares.
    """
    p = check_path("path", path, must_exist=True, where="read_idx")
    with _open_maybe_gz(p) as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise SchemaError("path", str(p), "an idx file (magic 0x0000 + type byte + ndim)",
                          "read_idx", hint="not an MNIST-format idx file")
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise SchemaError("path", str(p), "a complete idx header", "read_idx")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    n = int(np.prod(dims)) if dims else 1
    body = data[4 + 4 * ndim:]
    if len(body) != n * dtype.itemsize:
        raise SchemaError("path", str(p), f"{n * dtype.itemsize} data bytes for shape {dims}",
                          "read_idx", hint=f"found {len(body)} bytes (truncated file?)")
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that builds only plain containers and numpy arrays.

    ``find_class`` allows exactly numpy's array reconstruction functions (``_reconstruct``,
    ``ndarray``, ``dtype``) and ``_codecs.encode`` (how protocol-2 pickles store bytes), and
    refuses every other global, so a crafted file cannot run code (the same policy as
    ``torch.load(weights_only=True)``)."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            if name == "_reconstruct":
                from numpy._core.multiarray import _reconstruct
                return _reconstruct
            if module == "_codecs":
                import codecs

                return codecs.encode
            return getattr(np, name)
        raise SchemaError("pickle global", f"{module}.{name}",
                          sorted(f"{m}.{n}" for m, n in self._ALLOWED), "load_cifar10",
                          hint="refusing to load: the file references code, not just arrays")


def _read_cifar_python_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as fh:
        obj = _ArrayOnlyUnpickler(io.BytesIO(fh.read()), encoding="bytes").load()
    if not isinstance(obj, dict):
        raise SchemaError("path", str(path), "a CIFAR-10 python batch (a dict)", "load_cifar10")
    d = {(k.decode() if isinstance(k, bytes) else k): v for k, v in obj.items()}
    if "data" not in d or "labels" not in d:
        raise SchemaError("path", str(path), "a dict with 'data' and 'labels'", "load_cifar10")
    x = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    y = np.asarray(d["labels"], dtype=np.int64)
    return x, y


def _read_cifar_binary_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 3073:
        raise SchemaError("path", str(path), "a multiple of 3073 bytes (CIFAR-10 binary)",
                          "load_cifar10")
    raw = raw.reshape(-1, 3073)
    return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)


def load_cifar10(folder: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                     np.ndarray]:
    """Read CIFAR-10 from ``folder`` (python batches ``data_batch_1..5``/``test_batch``, or
    binary ``data_batch_1..5.bin``/``test_batch.bin``).

    Returns
    -------
    x_train (50000, 3, 32, 32) uint8, y_train (50000,), x_test (10000, 3, 32, 32), y_test
    """
    d = check_path("data_dir", folder, must_exist=True, where="load_cifar10")
    for sub in (d, d / "cifar-10-batches-py", d / "cifar-10-batches-bin", d / "cifar10"):
        if (sub / "test_batch").exists():
            reader, suffix, base = _read_cifar_python_batch, "", sub
            break
        if (sub / "test_batch.bin").exists():
            reader, suffix, base = _read_cifar_binary_batch, ".bin", sub
            break
    else:
        raise InvalidValueError("data_dir", str(d), "a folder with CIFAR-10 batches "
                                "(test_batch or test_batch.bin)", "load_cifar10")
    xs, ys = zip(*(reader(base / f"data_batch_{i}{suffix}") for i in range(1, 6)), strict=True)
    xt, yt = reader(base / f"test_batch{suffix}")
    return np.concatenate(xs), np.concatenate(ys), xt, yt


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a generic ``.npz`` dataset (``x``, ``y`` and optional ``x_test``, ``y_test``);
    never unpickles (``allow_pickle=False``)."""
    p = check_path("path", path, must_exist=True, where="load_npz")
    with np.load(p, allow_pickle=False) as z:
        out = {k: z[k] for k in z.files}
    for k in ("x", "y"):
        if k not in out:
            raise SchemaError("path", str(p), "an .npz with arrays 'x' and 'y'", "load_npz",
                              hint=f"found {sorted(out)}")
    return out


# ----------------------------------------------------------------------------- download

def download(url: str, dest: str | os.PathLike, sha256: str, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` and check its SHA-256.

    An existing ``dest`` with the right hash is kept (nothing downloaded); an existing file
    with another hash is never overwritten (raises). The data go to a temporary file in the
    destination folder, are hashed, and are moved into place only when the hash matches.
    """
    dest = check_path("dest", dest, where="download")
    if not isinstance(sha256, str) or len(sha256) != 64:
        raise InvalidValueError("sha256", sha256, "a 64-hex-digit SHA-256", "download")
    sha256 = sha256.lower()
    if dest.exists():
        if _sha256(dest) == sha256:
            return dest
        raise InvalidValueError("dest", str(dest), "a missing file or one with the expected "
                                "SHA-256", "download", hint="hasbench never overwrites a file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    import urllib.request

    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while chunk := resp.read(1 << 20):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != sha256:
            raise InvalidValueError("sha256", h.hexdigest(), [sha256], f"download({url})",
                                    hint="the downloaded file has another hash; not kept")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------- building

def _find_idx(folder: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (folder / name).exists():
            return folder / name
    raise InvalidValueError("data_dir", str(folder), f"a folder holding {stem}(.gz)",
                            "load_dataset", hint="MNIST-format idx files are expected")


def _resize(x: np.ndarray, resolution: float) -> np.ndarray:
    if resolution == 1.0:
        return x
    h, w = x.shape[2:]
    size = (max(1, round(h * resolution)), max(1, round(w * resolution)))
    if size == (h, w):
        return x
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    out = F.interpolate(t, size=size, mode="bilinear", align_corners=False,
                        antialias=resolution < 1.0)
    return out.numpy()


def as_dataset(dataset: Dataset | str, where: str) -> Dataset:
    """A :class:`Dataset` as is, or a dataset name loaded with default options; anything
    else raises :class:`~hasbench.errors.InvalidValueError` naming ``where``."""
    if isinstance(dataset, str):
        dataset = load_dataset(dataset)
    if not isinstance(dataset, Dataset):
        raise InvalidValueError("dataset", type(dataset).__name__, "a Dataset or a name", where)
    return dataset


class _Files:
    """Locates a dataset's files in its folder and verifies each before it is read."""

    def __init__(self, folder: Path, key_dir: str, verify: bool, where: str):
        self.folder, self.key_dir, self.verify, self.where = folder, key_dir, verify, where
        self.verified: list[str] = []
        self.unverified: list[str] = []

    def get(self, name: str) -> Path:
        path = self.folder / name
        if not path.is_file():
            raise InvalidValueError("data_dir", str(self.folder), f"a folder holding {name}",
                                    self.where, hint=f"(or a sub-folder {self.key_dir}/ "
                                    "holding it); see ../shared/data/README.md")
        return self._checked(path)

    def idx(self, stem: str) -> Path:
        return self._checked(_find_idx(self.folder, stem))

    def _checked(self, path: Path) -> Path:
        key = f"{self.key_dir}/{path.name}"
        if not self.verify:
            self.unverified.append(key)
        elif verify_file(path, key, self.where):
            self.verified.append(key)
        else:
            log.warning("%s: no known SHA-256 for %s; read unverified", self.where, path)
            self.unverified.append(key)
        return path


def _read_usps(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The USPS HDF5 release: ``train/data`` (7291, 256) and ``test/data`` (2007, 256)
    floats in [0, 1] (16x16 images, row-major) with ``*/target`` labels 0-9."""
    import h5py

    out = []
    with h5py.File(path, "r") as f:
        for part in ("train", "test"):
            if f"{part}/data" not in f or f"{part}/target" not in f:
                raise SchemaError("path", str(path), "the USPS HDF5 release (train/data, "
                                  "train/target, test/data, test/target)", "load_dataset")
            x = np.asarray(f[f"{part}/data"][()], np.float32)
            y = np.asarray(f[f"{part}/target"][()]).astype(np.int64)
            if x.ndim != 2 or x.shape[1] != 256 or len(y) != len(x):
                raise SchemaError("path", str(path), "(n, 256) images with n labels",
                                  "load_dataset", hint=f"found {x.shape} and {y.shape}")
            out += [x.reshape(-1, 1, 16, 16), y]
    return out[0], out[1], out[2], out[3]


def _read_pooled(name: str, files: _Files) -> tuple[np.ndarray, np.ndarray]:
    """The one labelled set of a pooled dataset (module docstring): images (n, 1, 28, 28)
    uint8 and labels (n,)."""
    if name == "kmnist":
        x = load_npz_array(files.get("kmnist-test-imgs.npz"))
        y = load_npz_array(files.get("kmnist-test-labels.npz"))
    else:
        stem = "kannada_MNIST_test" if name == "kannada-mnist" else "dig_MNIST"
        x = read_idx(files.get(f"X_{stem}-idx3-ubyte.gz"))
        y = read_idx(files.get(f"y_{stem}-idx1-ubyte.gz"))
    if x.ndim != 3 or y.shape != (x.shape[0],):
        raise SchemaError("images", f"shape {x.shape}, labels {y.shape}",
                          "(n, H, W) images and n labels", f"load_dataset({name!r})")
    return x[:, None], y.astype(np.int64)


def load_npz_array(path: str | os.PathLike, key: str = "arr_0") -> np.ndarray:
    """One array of an ``.npz`` file (``np.savez`` names it ``arr_0``), never unpickled."""
    p = check_path("path", path, must_exist=True, where="load_npz_array")
    with np.load(p, allow_pickle=False) as z:
        if key not in z.files:
            raise SchemaError("path", str(p), f"an .npz holding {key!r}", "load_npz_array",
                              hint=f"found {sorted(z.files)}")
        return z[key]


def load_dataset(name: str = "digits", data_dir: str | os.PathLike | None = None,
                 split_seed: int = 0, resolution: float = 1.0, max_train: int | None = None,
                 max_valid: int | None = None, max_test: int | None = None,
                 verify: bool = True) -> Dataset:
    """Load a dataset with fixed train / valid / test splits (see the module docstring).

    Parameters
    ----------
    name : str
        ``digits`` (default, offline), ``mnist``, ``fashion-mnist`` (alias ``fmnist``),
        ``usps``, ``kmnist``, ``kannada-mnist``, ``kannada-dig``, ``cifar10`` or
        ``npz:PATH``.
    data_dir : path, optional
        Folder holding the raw files (either the folder itself or a sub-folder named like
        the dataset; ``kannada-dig`` lives in ``kannada-mnist/``). Defaults to
        ``$HASBENCH_SHARED_DATA`` or ``<repo>/../shared/data`` when present.
    split_seed : int
        Seed of the split permutation (not the training seed).
    resolution : float
        Side-length factor in (0, 4]; e.g. 0.5 turns 28x28 into 14x14.
    max_train, max_valid, max_test : int, optional
        Keep only the first k examples of each split (nested subsets).
    verify : bool
        Check every file with a known SHA-256 before reading it (default); a mismatch
        raises :class:`ChecksumError`. ``False`` reads without checking (the files are then
        listed as ``unverified`` in ``info``).

    Returns
    -------
    Dataset
    """
    where = "load_dataset"
    if not isinstance(name, str):
        raise InvalidValueError("dataset", name, _DATASETS + ["npz:PATH"], where)
    split_seed = check_int("split_seed", split_seed, 0, None, where)
    resolution = check_float("resolution", resolution, 0.0, 4.0, where, low_open=True)
    limits = {}
    for k, v in (("max_train", max_train), ("max_valid", max_valid), ("max_test", max_test)):
        limits[k] = None if v is None else check_int(k, v, 1, None, where)
    rng = np.random.default_rng(split_seed)
    info: dict[str, Any] = {"dataset": name, "split_seed": split_seed, "resolution": resolution}

    if name.startswith("npz:"):
        z = load_npz(name[4:])
        x, y = _as_nchw(z["x"]), z["y"].astype(np.int64)
        if "x_test" in z and "y_test" in z:
            xt, yt = _as_nchw(z["x_test"]), z["y_test"].astype(np.int64)
            perm = rng.permutation(len(y))
            nv = len(y) // 5
            xv, yv = x[perm[:nv]], y[perm[:nv]]
            xtr, ytr = x[perm[nv:]], y[perm[nv:]]
        else:
            perm = rng.permutation(len(y))
            nt = nv = len(y) // 5
            xt, yt = x[perm[:nt]], y[perm[:nt]]
            xv, yv = x[perm[nt:nt + nv]], y[perm[nt:nt + nv]]
            xtr, ytr = x[perm[nt + nv:]], y[perm[nt + nv:]]
        scale = 255.0 if x.dtype == np.uint8 else 1.0
        info["source"] = name[4:]
    else:
        check_choice("dataset", name, _DATASETS + ["npz:PATH"], where, unknown=True)
        if name == "digits":
            from sklearn.datasets import load_digits

            d = load_digits()
            x = d.images.astype(np.float32)[:, None]
            y = d.target.astype(np.int64)
            perm = rng.permutation(len(y))
            xt, yt = x[perm[:360]], y[perm[:360]]
            xv, yv = x[perm[360:720]], y[perm[360:720]]
            xtr, ytr = x[perm[720:]], y[perm[720:]]
            scale = 16.0
            info["source"] = "sklearn.datasets.load_digits"
        else:
            if not isinstance(verify, bool):
                raise InvalidValueError("verify", verify, [True, False], where)
            base = check_path("data_dir", data_dir, must_exist=True, where=where) \
                if data_dir is not None else shared_data_dir()
            if base is None:
                raise InvalidValueError("data_dir", None, "a folder with the raw files", where,
                                        hint=f"{name} is not built in; pass data_dir, set "
                                             "HASBENCH_SHARED_DATA (or use "
                                             "hasbench.train.datasets.download)")
            sub = _SUBFOLDERS[name]
            folder = base / sub if (base / sub).is_dir() else base
            files = _Files(folder, sub, verify, where)
            scale = 255.0
            if name == "cifar10":
                xtr_all, ytr_all, xt, yt = load_cifar10(base)
                nval = min(5000, len(ytr_all) // 10)
                files.unverified.append(str(base))
            elif name == "usps":
                xtr_all, ytr_all, xt, yt = _read_usps(files.get("usps.h5"))
                nval = min(10000, len(ytr_all) // 6)
                scale = 1.0
            elif name in _POOLED:
                x, y = _read_pooled(name, files)
                xtr_all = ytr_all = None
            else:
                xtr_all = read_idx(files.idx("train-images-idx3-ubyte"))[:, None]
                ytr_all = read_idx(files.idx("train-labels-idx1-ubyte")).astype(np.int64)
                xt = read_idx(files.idx("t10k-images-idx3-ubyte"))[:, None]
                yt = read_idx(files.idx("t10k-labels-idx1-ubyte")).astype(np.int64)
                nval = min(10000, len(ytr_all) // 6)
            if xtr_all is None:  # one pooled set: 20 % test, 20 % valid, the rest train
                perm = rng.permutation(len(y))
                nt = nv = len(y) // 5
                xt, yt = x[perm[:nt]], y[perm[:nt]]
                xv, yv = x[perm[nt:nt + nv]], y[perm[nt:nt + nv]]
                xtr, ytr = x[perm[nt + nv:]], y[perm[nt + nv:]]
                info["split"] = "pooled 60/20/20 (one labelled set)"
            else:
                perm = rng.permutation(len(ytr_all))
                xv, yv = xtr_all[perm[:nval]], ytr_all[perm[:nval]]
                xtr, ytr = xtr_all[perm[nval:]], ytr_all[perm[nval:]]
                tperm = rng.permutation(len(yt))  # so test subsets are class-balanced samples
                xt, yt = xt[tperm], yt[tperm]
                info["split"] = "official test; valid from the official training set"
            info["source"] = str(base if name == "cifar10" else folder)
            info["verified_sha256"] = sorted(files.verified)
            if files.unverified:
                info["unverified"] = sorted(files.unverified)

    if limits["max_train"] is not None:
        xtr, ytr = xtr[:limits["max_train"]], ytr[:limits["max_train"]]
    if limits["max_valid"] is not None:
        xv, yv = xv[:limits["max_valid"]], yv[:limits["max_valid"]]
    if limits["max_test"] is not None:
        xt, yt = xt[:limits["max_test"]], yt[:limits["max_test"]]

    arrays = [_resize(np.asarray(a, np.float32) / scale, resolution) for a in (xtr, xv, xt)]
    mean = arrays[0].mean(axis=(0, 2, 3), keepdims=True)
    std = arrays[0].std(axis=(0, 2, 3), keepdims=True) + 1e-6
    xtr, xv, xt = [np.ascontiguousarray((a - mean) / std, dtype=np.float32) for a in arrays]
    n_classes = int(max(ytr.max(), yv.max(), yt.max())) + 1
    info.update(n_train=len(ytr), n_valid=len(yv), n_test=len(yt),
                image_shape=list(xtr.shape[1:]), **{k: v for k, v in limits.items() if v})
    return Dataset(name if not name.startswith("npz:") else "npz", xtr, ytr, xv, yv, xt, yt,
                   n_classes, info)


def _as_nchw(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4:
        if x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
            return x.transpose(0, 3, 1, 2)
        return x
    raise InvalidValueError("x", f"shape {x.shape}", "(n, H, W), (n, C, H, W) or (n, H, W, C)",
                            "load_npz")
