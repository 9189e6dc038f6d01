"""SyntheticBenchmark / OneDimBenchmark: closed-form benchmarks used by optimizer tests."""

from __future__ import annotations

import numpy as np
import pytest

from hasbench.benchmarks.synthetic import OneDimBenchmark, SyntheticBenchmark
from hasbench.errors import InvalidValueError, UnknownNameError
from hasbench.spaces import get_space


@pytest.fixture(scope="module")
def bench():
    return SyntheticBenchmark("hia-cnn", seed=0)


def test_optimum_is_best_and_exact(bench):
    x, acc = bench.optimum()
    X = bench.space.sample_array(5000, 1)
    q = bench.query(X, fidelity=27, as_arrays=True)["valid_acc"]
    assert q.max() < acc
    assert bench.query(x, fidelity=27, as_arrays=True)["valid_acc"][0] == acc
    assert bench.optimum_loss() == pytest.approx(1 - acc)
    # the optimum is a valid, canonical configuration
    cfg = bench.space.decode(x)[0]
    bench.space.validate(cfg)


def test_curves_saturate_cost_monotone(bench):
    X = bench.space.sample_array(50, 2)
    c = bench.curve(X, metrics=["valid_acc", "cum_time"])
    acc, t = c["valid_acc"], c["cum_time"]
    assert (np.diff(acc, axis=1) >= -1e-12).all()  # noise-free curves never drop
    # saturating: the second half gains less than the first half
    assert ((acc[:, 26] - acc[:, 13]) <= (acc[:, 13] - acc[:, 0]) + 1e-12).all()
    assert (np.diff(t, axis=1) > 0).all()
    # continuation from 9 to 27 costs the difference
    cost = bench.cost(X, 9, 27)
    np.testing.assert_allclose(cost, t[:, 26] - t[:, 8])


def test_cost_grows_with_model_size(bench):
    sp = bench.space
    small = sp.default()
    big = dict(small, n_conv_layers=5, n_filters=64, n_dense_units=256)
    small = dict(small, n_conv_layers=1, n_filters=4, n_dense_units=16)
    q = bench.query([small, big], fidelity=27, as_arrays=True)
    assert q["cum_time"][1] > q["cum_time"][0]
    assert q["params"][1] > q["params"][0] and q["flops"][1] > q["flops"][0]


def test_seed_noise_consistent_and_deterministic(bench):
    X = bench.space.sample_array(20, 3)
    a = bench.curve(X, seed=5, metrics=["valid_acc"])["valid_acc"]
    b = bench.curve(X, seed=5, metrics=["valid_acc"])["valid_acc"]
    c = bench.curve(X, seed=6, metrics=["valid_acc"])["valid_acc"]
    mean = bench.curve(X, metrics=["valid_acc"])["valid_acc"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # the per-seed offset is shared along the curve: its sign is mostly constant
    d = a - mean
    assert (np.sign(d[:, 10:]) == np.sign(d[:, [26]])).mean() > 0.8
    # a single query equals the curve entry
    q = bench.query(X[:1], fidelity=9, seed=5, as_arrays=True)["valid_acc"][0]
    assert q == a[0, 8]


def test_other_spaces_and_validation():
    for name in ("zela2018", "nb201-joint"):
        b = SyntheticBenchmark(get_space(name), seed=1)
        x, v = b.optimum()
        assert np.isfinite(v)
    with pytest.raises(InvalidValueError, match="noise"):
        SyntheticBenchmark("hia-cnn", noise=-1)
    with pytest.raises(UnknownNameError):
        SyntheticBenchmark("hia-cnn").query(np.zeros((0, 10)), metrics=["nope"])


def test_one_dim():
    b = OneDimBenchmark()
    x = np.linspace(0, 1, 1001)[:, None]
    v = b.query(x, fidelity=27, as_arrays=True)["valid_loss"]
    assert abs(x[np.argmin(v), 0] - 0.73) < 2e-3
    assert v.min() == pytest.approx(0.0, abs=1e-9)
    low = b.query(x, fidelity=1, as_arrays=True)["valid_loss"]
    assert not np.allclose(low, v)  # low fidelity is biased


def test_a_row_is_answered_the_same_whatever_else_is_in_the_batch(bench):
    """Issue 15 item 7: a BLAS product made a row's last bits depend on the batch (21 of 300
    rows differed between a 3,000-row call and one-row calls)."""
    X = bench.space.sample_array(3000, 11)
    full = bench.query(X, fidelity=27, as_arrays=True)["valid_acc"]
    single = np.array([bench.query(X[i:i + 1], fidelity=27, as_arrays=True)["valid_acc"][0]
                       for i in range(300)])
    np.testing.assert_array_equal(single, full[:300])
