"""Surrogates answer params / FLOPs / model bytes exactly when the table's networks are
hasbench's own (checked against every config of the table at fit time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hasbench.spaces.static import static_metrics
from hasbench.surrogates import CurveSurrogate, load_surrogate
from hasbench.surrogates.model import exact_static_setup
from hasbench.tables import RunTable

HELD = Path(__file__).resolve().parents[2] / "data" / "digits-hia-cnn.heldout.h5"
TINY = {"n_estimators": 20, "max_depth": 3, "std": {"n_estimators": 10},
        "time": {"n_estimators": 20}, "static": {"n_estimators": 20}}


@pytest.fixture(scope="module")
def real_table():
    if not HELD.exists():
        pytest.skip("shipped digits-hia-cnn.heldout.h5 not present")
    return RunTable.read(HELD)


def test_setup_infers_shape_and_classes_and_rejects_mismatch(real_table, syn_table):
    assert exact_static_setup(real_table) == {"in_shape": [1, 8, 8], "n_classes": 10}
    real_table.static = dict(real_table.static)
    try:
        flops = np.asarray(real_table.static["flops"], float).copy()
        flops[3] += 1.0  # one network built differently: no exact answers
        real_table.static["flops"] = flops
        assert exact_static_setup(real_table) is None
    finally:
        real_table.static = RunTable.read(HELD).static
    assert exact_static_setup(syn_table) is None  # no dataset_info in its provenance


def test_surrogate_answers_unseen_configs_exactly(real_table, tmp_path):
    sur = CurveSurrogate("xgb", params=TINY, n_jobs=1, calibration_fraction=0).fit(real_table)
    assert sur.static_exact == {"in_shape": [1, 8, 8], "n_classes": 10}
    X = real_table.space.sample_array(50, 7)
    want = static_metrics(real_table.space, X, (1, 8, 8), 10)
    for s in (sur, load_surrogate(sur.save(tmp_path / "s"))):
        got = s.predict(X, np.full(50, 3.0), ["params", "flops", "model_bytes", "valid_acc"])
        for m in want:
            np.testing.assert_array_equal(got[m], want[m])
        assert np.isfinite(got["valid_acc"]).all()


def test_time_static_adds_flops_to_the_runtime_model(real_table, syn_table, tmp_path):
    from hasbench.errors import InvalidValueError

    sur = CurveSurrogate("xgb", params=TINY, n_jobs=1, time_static=True).fit(real_table)
    assert sur.time_static and len(sur.time_static_bounds) == 2
    assert sur._models["time"].scale_lo.size == sur.search_cols.size + 2
    X = real_table.space.sample_array(40, 3)
    f = np.full(40, 27.0)
    a = sur.predict(X, f, ["cum_time", "valid_acc"], seed=np.zeros(40, np.int64))
    assert (a["cum_time"] > 0).all() and np.isfinite(a["cum_time"]).all()
    back = load_surrogate(sur.save(tmp_path / "t"))
    assert back.time_static and back.time_static_bounds == sur.time_static_bounds
    b = back.predict(X, f, ["cum_time", "valid_acc"], seed=np.zeros(40, np.int64))
    np.testing.assert_array_equal(a["cum_time"], b["cum_time"])
    plain = CurveSurrogate("xgb", params=TINY, n_jobs=1).fit(real_table)
    assert not np.allclose(plain.predict(X, f, ["cum_time"])["cum_time"],
                           sur.predict(X, f, ["cum_time"])["cum_time"])
    with pytest.raises(InvalidValueError, match="time_static"):
        CurveSurrogate("xgb", params=TINY, n_jobs=1, time_static=True).fit(syn_table)
    with pytest.raises(InvalidValueError, match="time_static"):
        CurveSurrogate("xgb", time_static="yes")
