"""Datasets: fixed disjoint splits, idx / CIFAR / npz readers, download checks."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct

import numpy as np
import pytest

pytest.importorskip("torch")

from hasbench.errors import InvalidValueError, SchemaError  # noqa: E402
from hasbench.train.datasets import (  # noqa: E402
    download,
    load_cifar10,
    load_dataset,
    read_idx,
)


def _write_idx(path, arr, gz=False):
    arr = np.asarray(arr, np.uint8)
    head = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    data = head + arr.tobytes()
    if gz:
        with gzip.open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)


def test_digits_splits_fixed_sizes_and_subsets():
    a = load_dataset("digits")
    b = load_dataset("digits")
    assert (len(a.y_train), len(a.y_valid), len(a.y_test)) == (1077, 360, 360)
    assert a.shape == (1, 8, 8) and a.n_classes == 10
    for x, y in ((a.x_train, b.x_train), (a.x_valid, b.x_valid), (a.x_test, b.x_test)):
        np.testing.assert_array_equal(x, y)
    c = load_dataset("digits", split_seed=1)
    assert not np.array_equal(a.y_valid, c.y_valid)
    # subsets are prefixes of the fixed split (valid/test untouched)
    s = load_dataset("digits", max_train=100)
    assert len(s.y_train) == 100
    np.testing.assert_array_equal(s.y_train, a.y_train[:100])
    np.testing.assert_array_equal(s.y_valid, a.y_valid)
    # standardised with the training split's statistics
    assert abs(a.x_train.mean()) < 1e-4 and abs(a.x_train.std() - 1) < 1e-3


def test_npz_splits_are_disjoint(tmp_path):
    n = 200
    x = np.arange(n, dtype=np.float32)[:, None, None].repeat(4, 1).repeat(4, 2)  # image i = i
    y = np.arange(n) % 10
    np.savez(tmp_path / "d.npz", x=x, y=y)
    ds = load_dataset(f"npz:{tmp_path / 'd.npz'}")
    ident = [set(np.round(part[:, 0, 0, 0], 4)) for part in (ds.x_train, ds.x_valid, ds.x_test)]
    assert sum(len(s) for s in ident) == n
    assert not (ident[0] & ident[1]) and not (ident[0] & ident[2]) and not (ident[1] & ident[2])


def test_npz_refuses_pickled_arrays(tmp_path):
    np.savez(tmp_path / "bad.npz", x=np.array([object()], dtype=object), y=np.zeros(1))
    with pytest.raises(ValueError):
        load_dataset(f"npz:{tmp_path / 'bad.npz'}")


def test_resolution_scaling():
    ds = load_dataset("digits", resolution=0.5, max_train=50)
    assert ds.shape == (1, 4, 4)
    with pytest.raises(InvalidValueError, match="resolution"):
        load_dataset("digits", resolution=0.0)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, gz):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (7, 5, 6))
    p = tmp_path / ("x.idx3-ubyte" + (".gz" if gz else ""))
    _write_idx(p, img, gz)
    np.testing.assert_array_equal(read_idx(p), img)
    q = tmp_path / "bad"
    q.write_bytes(p.read_bytes() if not gz else gzip.decompress(p.read_bytes())[:-3])
    if gz:
        with pytest.raises(SchemaError, match="bytes"):
            read_idx(q)
    (tmp_path / "junk").write_bytes(b"\x01\x02\x03\x04abc")
    with pytest.raises(SchemaError):
        read_idx(tmp_path / "junk")


def test_mnist_format_folder(tmp_path):
    rng = np.random.default_rng(1)
    d = tmp_path / "kmnist"
    d.mkdir()
    _write_idx(d / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (60, 28, 28)), True)
    _write_idx(d / "train-labels-idx1-ubyte.gz", np.arange(60) % 10, True)
    _write_idx(d / "t10k-images-idx3-ubyte", rng.integers(0, 256, (12, 28, 28)))
    _write_idx(d / "t10k-labels-idx1-ubyte", np.arange(12) % 10)
    ds = load_dataset("kmnist", data_dir=tmp_path, resolution=0.25)
    assert (len(ds.y_train), len(ds.y_valid), len(ds.y_test)) == (50, 10, 12)
    assert ds.shape == (1, 7, 7)
    with pytest.raises(InvalidValueError, match="data_dir"):
        load_dataset("mnist", data_dir=tmp_path / "kmnist" / "nope")


def _cifar_folder(tmp_path, n=10):
    rng = np.random.default_rng(2)
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        obj = {b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
               b"labels": list(rng.integers(0, 10, n).tolist()), b"batch_label": b"x"}
        (d / name).write_bytes(pickle.dumps(obj, protocol=2))
    return d


def test_cifar_python_batches(tmp_path):
    _cifar_folder(tmp_path)
    xtr, ytr, xt, yt = load_cifar10(tmp_path)
    assert xtr.shape == (50, 3, 32, 32) and xt.shape == (10, 3, 32, 32)
    ds = load_dataset("cifar10", data_dir=tmp_path, resolution=0.25)
    assert ds.shape == (3, 8, 8) and len(ds.y_valid) == 5 and len(ds.y_train) == 45


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > evil_marker",))


def test_cifar_refuses_code(tmp_path, monkeypatch):
    d = _cifar_folder(tmp_path)
    (d / "data_batch_3").write_bytes(pickle.dumps({b"data": _Evil(), b"labels": []}))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SchemaError, match="posix.system|os.system"):
        load_cifar10(tmp_path)
    assert not (tmp_path / "evil_marker").exists()


def test_cifar_binary(tmp_path):
    rng = np.random.default_rng(3)
    d = tmp_path / "cifar-10-batches-bin"
    d.mkdir()
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        rec = rng.integers(0, 256, (4, 3073)).astype(np.uint8)
        rec[:, 0] %= 10
        rec.tofile(d / name)
    xtr, ytr, xt, yt = load_cifar10(tmp_path)
    assert xtr.shape == (20, 3, 32, 32) and ytr.max() < 10


def test_download_checks_sha256(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"hello hasbench")
    good = hashlib.sha256(b"hello hasbench").hexdigest()
    out = download(src.as_uri(), tmp_path / "dl" / "f.bin", good)
    assert out.read_bytes() == b"hello hasbench"
    assert download(src.as_uri(), out, good) == out  # present with right hash: kept
    with pytest.raises(InvalidValueError, match="sha256"):
        download(src.as_uri(), tmp_path / "dl" / "g.bin", "0" * 64)
    assert not (tmp_path / "dl" / "g.bin").exists()
    assert [p.name for p in (tmp_path / "dl").iterdir()] == ["f.bin"]  # no temp left
    with pytest.raises(InvalidValueError, match="overwrite"):
        download(src.as_uri(), out, "1" * 64)


def test_fashion_mnist_shared(shared_data):
    if not (shared_data / "fashion-mnist").is_dir():
        pytest.skip("no fashion-mnist in shared data")
    ds = load_dataset("fashion-mnist", data_dir=shared_data, resolution=0.5, max_train=500,
                      max_valid=200, max_test=200)
    assert ds.shape == (1, 14, 14) and ds.n_classes == 10
    assert (len(ds.y_train), len(ds.y_valid), len(ds.y_test)) == (500, 200, 200)
    assert len(np.unique(ds.y_test)) == 10


def test_unknown_dataset():
    from hasbench.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="dataset"):
        load_dataset("imagenet")
