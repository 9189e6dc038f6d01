"""Issue 21 item 9: trace files stored the encoded configs (log learning rate, category
indices); a trace file is now readable on its own (schema 4) and loads back exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hasbench.simulate.trace as T
from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.simulate import Trace, simulate


@pytest.fixture(scope="module")
def trace():
    bench = SyntheticBenchmark("hia-cnn", seed=0)
    return simulate(bench, "random", seed=4, n_workers=2, max_evaluations=30)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_files_hold_the_configs_values_and_load_back_exactly(trace, tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    p = trace.save(tmp_path / f"seed{suffix}")
    raw = pd.read_csv(p) if suffix == ".csv" else pd.read_parquet(p)
    configs = trace.configs()  # decoded from the in-memory (encoded) frame
    sp = trace.space
    for name in sp.names:
        want = [c.get(name) for c in configs]
        got = raw[name].tolist()
        for w, g in zip(want, got, strict=True):
            if w is None:
                assert pd.isna(g)
            elif isinstance(w, str):
                assert g == w  # "adam", not a category index
            else:
                assert float(g) == pytest.approx(float(w), rel=1e-12)
    lr = raw["learning_rate"].to_numpy(dtype=float)
    lo, hi = sp.configspace["learning_rate"].lower, sp.configspace["learning_rate"].upper
    assert (lr > 0).all() and lr.min() >= lo and lr.max() <= hi  # the rate, not its log
    back = Trace.load(p)
    assert back.schema_version == T.TRACE_SCHEMA_VERSION >= 4
    enc = trace.frame[sp.names].to_numpy(dtype=float)
    got = back.frame[sp.names].to_numpy(dtype=float)
    assert np.array_equal(np.isnan(enc), np.isnan(got))
    assert np.array_equal(np.nan_to_num(enc), np.nan_to_num(got))  # bit for bit


def test_encoded_traces_of_earlier_versions_still_load(trace, tmp_path):
    real = T.TRACE_SCHEMA_VERSION
    T.TRACE_SCHEMA_VERSION = 3  # as written before (encoded config columns)
    try:
        p = trace.save(tmp_path / "old.csv")
    finally:
        T.TRACE_SCHEMA_VERSION = real
    sp = trace.space
    raw = pd.read_csv(p)
    assert raw["learning_rate"].max() < 0  # encoded: the log of the rate
    back = Trace.load(p)
    assert back.schema_version == 3
    assert np.allclose(back.frame[sp.names].to_numpy(float),
                       trace.frame[sp.names].to_numpy(float), equal_nan=True)


def test_a_value_outside_the_space_is_a_named_error(trace, tmp_path):
    from hasbench.errors import ConfigError

    p = trace.save(tmp_path / "bad.csv")
    raw = pd.read_csv(p)
    cat = next(n for n in trace.space.names if trace.space.kind(n) == "categorical")
    raw.loc[0, cat] = "no-such-choice"
    raw.to_csv(p, index=False)
    with pytest.raises(ConfigError) as ei:
        Trace.load(p)
    assert cat in str(ei.value) and "no-such-choice" in str(ei.value)
