"""hasbench.load: names in the data folder, paths, kinds, errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import hasbench
from hasbench.benchmarks import SurrogateBenchmark, TabularBenchmark, list_benchmarks
from hasbench.errors import InvalidValueError, UnknownNameError


@pytest.fixture
def data_dir(tmp_path, monkeypatch, syn_table, syn_surrogate):
    d = tmp_path / "data"
    d.mkdir()
    shutil.copy(syn_table.path, d / "mybench.h5")
    shutil.copytree(syn_surrogate.path, d / "mybench.surrogate")
    monkeypatch.setenv("HASBENCH_DATA", str(d))
    return d


def test_load_by_name_and_kind(data_dir, syn_table):
    assert list_benchmarks() == {"mybench": ["table", "surrogate"]} or \
        list_benchmarks() == {"mybench": ["surrogate", "table"]}
    b = hasbench.load("mybench")
    assert isinstance(b, SurrogateBenchmark) and b.name == "mybench"
    t = hasbench.load("mybench", kind="table")
    assert isinstance(t, TabularBenchmark)
    q = t.query(syn_table.configs[:3], fidelity=4, metrics="valid_acc", as_arrays=True)
    assert np.isfinite(q["valid_acc"]).all()
    # a shipped table with fallback uses the shipped surrogate of the same name
    fb = hasbench.load("mybench", kind="table", fallback="surrogate")
    x = b.space.sample_array(2, 5)
    np.testing.assert_array_equal(
        fb.query(x, fidelity=9, metrics="valid_acc", as_arrays=True)["valid_acc"],
        b.query(x, fidelity=9, metrics="valid_acc", as_arrays=True)["valid_acc"])


def test_load_paths(data_dir):
    assert isinstance(hasbench.load(data_dir / "mybench.surrogate"), SurrogateBenchmark)
    assert isinstance(hasbench.load(str(data_dir / "mybench.h5")), TabularBenchmark)
    with pytest.raises(InvalidValueError):
        hasbench.load(data_dir / "mybench.h5", kind="surrogate")
    with pytest.raises(InvalidValueError):
        hasbench.load(data_dir / "does-not-exist.h5")


def test_load_errors_list_available(data_dir):
    with pytest.raises(UnknownNameError) as ei:
        hasbench.load("mybenc")
    assert "mybench" in str(ei.value)
    with pytest.raises(InvalidValueError) as ei:
        hasbench.load("mybench", kind="tabel")
    assert "table" in str(ei.value)
    with pytest.raises(InvalidValueError):
        hasbench.load(42)
    (data_dir / "mybench.surrogate" / "manifest.json").unlink()
    with pytest.raises(UnknownNameError) as ei:
        hasbench.load("mybench", kind="surrogate")
    assert "unknown surrogate benchmark 'mybench'" in str(ei.value)
    assert "mybench (table)" in str(ei.value)


def test_name_with_only_a_table_loads_the_table(data_dir, syn_table):
    # like the shipped digits-zela2018 and fmnist-hia-cnn: a run table, no surrogate
    shutil.rmtree(data_dir / "mybench.surrogate")
    b = hasbench.load("mybench")
    assert isinstance(b, TabularBenchmark) and b.name == "mybench"
    q = b.query(syn_table.configs[:2], fidelity=3, metrics="valid_acc", as_arrays=True)
    assert np.isfinite(q["valid_acc"]).all()
    with pytest.raises(UnknownNameError) as ei:  # no kind given: every name is offered
        hasbench.load("mybenc")
    assert "unknown benchmark 'mybenc'" in str(ei.value) and "mybench" in str(ei.value)
