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
    CHECKSUMS,
    ChecksumError,
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
    d = tmp_path / "mnist"
    d.mkdir()
    _write_idx(d / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (60, 28, 28)), True)
    _write_idx(d / "train-labels-idx1-ubyte.gz", np.arange(60) % 10, True)
    _write_idx(d / "t10k-images-idx3-ubyte", rng.integers(0, 256, (12, 28, 28)))
    _write_idx(d / "t10k-labels-idx1-ubyte", np.arange(12) % 10)
    # these synthetic files carry the names of the real MNIST files: refused unless the
    # caller opts out of verification
    with pytest.raises(ChecksumError, match="train-images-idx3-ubyte.gz"):
        load_dataset("mnist", data_dir=tmp_path)
    ds = load_dataset("mnist", data_dir=tmp_path, resolution=0.25, verify=False)
    assert (len(ds.y_train), len(ds.y_valid), len(ds.y_test)) == (50, 10, 12)
    assert ds.shape == (1, 7, 7)
    assert "mnist/t10k-labels-idx1-ubyte" in ds.info["unverified"]
    with pytest.raises(InvalidValueError, match="verify"):
        load_dataset("mnist", data_dir=tmp_path, verify="yes")
    with pytest.raises(InvalidValueError, match="data_dir"):
        load_dataset("mnist", data_dir=tmp_path / "mnist" / "nope")


def test_pooled_npz_release_split_60_20_20(tmp_path):
    """kmnist's one labelled set is pooled and split like a generic npz (files written
    here, so verification is off)."""
    d = tmp_path / "kmnist"
    d.mkdir()
    n = 50
    x = np.arange(n, dtype=np.uint8)[:, None, None].repeat(28, 1).repeat(28, 2)  # image i = i
    np.savez(d / "kmnist-test-imgs.npz", x)
    np.savez(d / "kmnist-test-labels.npz", np.arange(n, dtype=np.uint8) % 10)
    ds = load_dataset("kmnist", data_dir=tmp_path, verify=False)
    assert (len(ds.y_train), len(ds.y_valid), len(ds.y_test)) == (30, 10, 10)
    raw = [set(np.unique(part[:, 0, 0, 0]).round(3)) for part in (ds.x_train, ds.x_valid,
                                                                   ds.x_test)]
    assert sum(map(len, raw)) == n and not (raw[0] & raw[1] or raw[0] & raw[2]
                                            or raw[1] & raw[2])
    assert ds.info["split"].startswith("pooled")


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


# ------------------------------------------------------------- the shared data files

#: dataset -> (folder, split sizes without limits, image side)
SHARED = {
    "mnist": ("mnist", (50000, 10000, 10000), 28),
    "usps": ("usps", (6076, 1215, 2007), 16),
    "kmnist": ("kmnist", (6000, 2000, 2000), 28),
    "kannada-mnist": ("kannada-mnist", (6000, 2000, 2000), 28),
    "kannada-dig": ("kannada-mnist", (6144, 2048, 2048), 28),
}


@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_dataset_loads_verified_with_documented_splits(shared_data, name):
    folder, sizes, side = SHARED[name]
    if not (shared_data / folder).is_dir():
        pytest.skip(f"no {folder}/ in the shared data")
    ds = load_dataset(name, data_dir=shared_data)
    assert (len(ds.y_train), len(ds.y_valid), len(ds.y_test)) == sizes
    assert ds.shape == (1, side, side) and ds.n_classes == 10
    for y in (ds.y_train, ds.y_valid, ds.y_test):
        assert set(np.unique(y)) == set(range(10))
    # every file read was checked against its published / README SHA-256
    assert ds.info["verified_sha256"] and "unverified" not in ds.info
    assert all(k in CHECKSUMS for k in ds.info["verified_sha256"])
    # the hia-cnn benchmarks' budget: 14x14, 2,000 / 1,000 / 1,000 (nested prefixes)
    res = 14 / side
    small = load_dataset(name, data_dir=shared_data, resolution=res, max_train=2000,
                         max_valid=1000, max_test=1000)
    assert small.shape == (1, 14, 14)
    np.testing.assert_array_equal(small.y_train, ds.y_train[:2000])
    np.testing.assert_array_equal(small.y_test, ds.y_test[:1000])
    # the splits are disjoint (no image in two of them), checked on raw pixels
    if name != "mnist":  # (MNIST's official files are disjoint by construction; big)
        keys = [{a.tobytes() for a in part} for part in (ds.x_train, ds.x_valid, ds.x_test)]
        assert not (keys[0] & keys[2]) and not (keys[1] & keys[2])


@pytest.mark.parametrize("name, victim", [
    ("mnist", "t10k-labels-idx1-ubyte.gz"),
    ("usps", "usps.h5"),
    ("kmnist", "kmnist-test-labels.npz"),
    ("kannada-mnist", "y_kannada_MNIST_test-idx1-ubyte.gz"),
    ("kannada-dig", "X_dig_MNIST-idx3-ubyte.gz"),
])
def test_corrupted_copy_is_refused(shared_data, tmp_path, name, victim):
    import shutil

    folder = SHARED[name][0]
    src = shared_data / folder
    if not src.is_dir():
        pytest.skip(f"no {folder}/ in the shared data")
    dst = tmp_path / folder
    shutil.copytree(src, dst)
    bad = dst / victim
    bad.chmod(0o644)
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    bad.write_bytes(bytes(data))
    with pytest.raises(ChecksumError) as e:
        load_dataset(name, data_dir=tmp_path)
    assert victim in str(e.value) and e.value.allowed == [CHECKSUMS[f"{folder}/{victim}"]]
    # a truncated file too
    bad.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(ChecksumError):
        load_dataset(name, data_dir=tmp_path)
