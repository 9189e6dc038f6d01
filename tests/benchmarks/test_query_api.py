"""Benchmark query API over tabular and surrogate benchmarks: errors, vectorisation,
invariances, seeds and costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hasbench.benchmarks import SurrogateBenchmark, TabularBenchmark
from hasbench.errors import ConfigError, FidelityError, InvalidValueError, UnknownNameError


@pytest.fixture(scope="module")
def benches(syn_table, syn_surrogate):
    return {"table": TabularBenchmark(syn_table), "surrogate": SurrogateBenchmark(syn_surrogate)}


KINDS = ["table", "surrogate"]


@pytest.mark.parametrize("kind", KINDS)
@given(name=st.text(min_size=1, max_size=12))
def test_unknown_metric_raises_named_error(benches, kind, name):
    b = benches[kind]
    if name in b.metrics:
        return
    X = b.table.X[:2] if kind == "table" else b.space.sample_array(2, 0)
    with pytest.raises(UnknownNameError) as ei:
        b.query(X, metrics=[name])
    assert "metric" in str(ei.value) and "valid_acc" in str(ei.value)


@pytest.mark.parametrize("kind", KINDS)
@given(f=st.one_of(st.integers(-100, 0), st.integers(28, 10_000),
                   st.floats(1.01, 26.99).filter(lambda x: x != round(x)),
                   st.sampled_from([np.nan, np.inf, -np.inf])))
def test_fidelity_out_of_range_raises(benches, kind, f):
    b = benches[kind]
    X = b.table.X[:3] if kind == "table" else b.space.sample_array(3, 1)
    with pytest.raises(FidelityError) as ei:
        b.query(X, fidelity=f)
    assert "epochs" in str(ei.value)
    with pytest.raises(FidelityError):
        b.query(X, fidelity=np.array([5.0, f, 5.0]))


@pytest.mark.parametrize("kind", KINDS)
@given(col=st.integers(0, 9), delta=st.sampled_from([1e3, -1e3, 0.5, np.nan]))
def test_invalid_config_raises_config_error(benches, kind, col, delta):
    b = benches[kind]
    X = b.space.sample_array(2, 3)
    X[1, col] = X[1, col] + delta if np.isfinite(delta) else np.nan
    try:
        b.space.check_array(X)
    except ConfigError:
        pass
    else:  # the perturbation happened to stay valid (e.g. +0.5 on a float column)
        return
    with pytest.raises(ConfigError):
        b.query(X)


@pytest.mark.parametrize("kind", KINDS)
def test_invalid_config_dict_raises(benches, kind):
    b = benches[kind]
    cfg = b.space.sample(1, 0)[0]
    with pytest.raises(ConfigError):
        b.query({**cfg, "learning_rate": 5.0})
    with pytest.raises(UnknownNameError):
        b.query({**cfg, "not_a_hp": 1})


@pytest.mark.parametrize("kind", KINDS)
@given(shape=st.sampled_from([(3,), (2, 9), (2, 11), (1, 2, 10), (0, 5)]))
def test_wrong_array_shape_raises(benches, kind, shape):
    b = benches[kind]
    with pytest.raises(InvalidValueError):
        b.query(np.zeros(shape))
    with pytest.raises(InvalidValueError):
        b.query(b.space.sample_array(4, 0) if kind == "surrogate" else b.table.X[:4],
                fidelity=np.ones(3))
    with pytest.raises(InvalidValueError):
        b.query(b.space.sample_array(4, 0) if kind == "surrogate" else b.table.X[:4],
                seed=np.array([0, 1]))


def _configs(b, kind, n, rng):
    if kind == "table":
        return b.table.X[np.random.default_rng(rng).integers(0, b.table.n_configs, n)]
    return b.space.sample_array(n, rng)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [None, "array"])
def test_batch_equals_row_by_row(benches, kind, seed):
    b = benches[kind]
    X = _configs(b, kind, 25, 5)
    f = np.random.default_rng(0).integers(1, 28, 25).astype(float)
    s = None if seed is None else np.arange(25) % 4
    batch = b.query(X, fidelity=f, seed=s, as_arrays=True)
    for i in range(25):
        one = b.query(X[i], fidelity=f[i], seed=None if s is None else int(s[i]),
                      as_arrays=True)
        for m in b.metrics:
            np.testing.assert_array_equal(one[m], batch[m][i:i + 1], err_msg=m)


@pytest.mark.parametrize("kind", KINDS)
def test_permutation_invariance(benches, kind):
    b = benches[kind]
    X = _configs(b, kind, 40, 6)
    f = np.random.default_rng(1).integers(1, 28, 40).astype(float)
    s = np.arange(40) % 3
    perm = np.random.default_rng(2).permutation(40)
    a = b.query(X, fidelity=f, seed=s, as_arrays=True)
    p = b.query(X[perm], fidelity=f[perm], seed=s[perm], as_arrays=True)
    for m in b.metrics:
        np.testing.assert_array_equal(a[m][perm], p[m])


@pytest.mark.parametrize("kind", KINDS)
def test_input_forms_agree(benches, kind):
    b = benches[kind]
    X = _configs(b, kind, 5, 7)
    cfgs = b.space.decode(X)
    ref = b.query(X, fidelity=9, metrics=["valid_acc", "cum_time"], as_arrays=True)
    for form in (cfgs, pd.DataFrame(cfgs), X.tolist()):
        got = b.query(form, fidelity=9, metrics=["valid_acc", "cum_time"], as_arrays=True)
        np.testing.assert_array_equal(got["valid_acc"], ref["valid_acc"])
    df = b.query(cfgs[0], fidelity=9, metrics="valid_acc")
    assert list(df.columns) == ["epochs", "valid_acc"] and len(df) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_fidelity_none_reads_config_at_its_own_epochs(benches, kind):
    b = benches[kind]
    cfgs = b.space.decode(_configs(b, kind, 6, 8))
    for c, e in zip(cfgs, [1, 3, 9, 14, 20, 27], strict=True):
        c["epochs"] = e
    own = b.query(cfgs, metrics=["valid_acc", "cum_time"], as_arrays=True)
    explicit = b.query(cfgs, fidelity=[1, 3, 9, 14, 20, 27], metrics=["valid_acc", "cum_time"],
                       as_arrays=True)
    for m in own:
        np.testing.assert_array_equal(own[m], explicit[m])
    # the epochs column is not a model input: same curve whatever it says
    for c in cfgs:
        c["epochs"] = 2
    again = b.query(cfgs, fidelity=[1, 3, 9, 14, 20, 27], metrics=["valid_acc"], as_arrays=True)
    np.testing.assert_array_equal(again["valid_acc"], explicit["valid_acc"])


@pytest.mark.parametrize("kind", KINDS)
def test_cost_monotone_and_continuation(benches, kind):
    b = benches[kind]
    X = _configs(b, kind, 10, 9)
    for seed in (None, 3):
        curves = b.curve(X, seed=seed, metrics=["cum_time"])["cum_time"]
        assert curves.shape == (10, 27)
        assert (np.diff(curves, axis=1) >= 0).all() and (curves > 0).all()
        full = b.cost(X, 0, 27, seed=seed)
        part = b.cost(X, 0, 9, seed=seed) + b.cost(X, 9, 27, seed=seed)
        np.testing.assert_allclose(full, part, rtol=1e-12)
        np.testing.assert_allclose(full, curves[:, -1])
        assert (b.cost(X, 9, 27, seed=seed) < full).all()
    with pytest.raises(InvalidValueError):
        b.cost(X, 20, 9)


def test_surrogate_seeds_deterministic_distinct_and_smooth(benches):
    b = benches["surrogate"]
    X = b.space.sample_array(30, 11)
    c0 = b.curve(X, seed=0, metrics=["valid_acc"])["valid_acc"]
    c0b = b.curve(X, seed=0, metrics=["valid_acc"])["valid_acc"]
    c1 = b.curve(X, seed=1, metrics=["valid_acc"])["valid_acc"]
    mean = b.curve(X, metrics=["valid_acc"])["valid_acc"]
    np.testing.assert_array_equal(c0, c0b)
    assert np.mean(np.abs(c0 - c1) > 0) > 0.5
    # consistent along a curve: one seed shifts the curve to one side (where not clipped)
    dev = c0 - mean
    inside = (c0 > 1e-9) & (c0 < 1 - 1e-9)
    sign_ok = [np.all(np.sign(d[i][np.abs(d[i]) > 1e-12]) == np.sign(d[i][np.abs(d[i]) >
                                                                             1e-12][0]))
               for d, i in ((dev, r) for r in range(30)) if inside[i].all()
               and (np.abs(dev[i]) > 1e-12).any()]
    assert len(sign_ok) > 10 and all(sign_ok)
    # smooth: the seed deviation changes far less from epoch to epoch than i.i.d. jitter of
    # the same size would
    jump = np.abs(np.diff(dev, axis=1)).mean()
    assert jump < 0.5 * np.abs(dev).mean() * np.sqrt(2)


def test_tabular_exact_lookup(syn_table, benches):
    b = benches["table"]
    t = syn_table
    cfgs = t.configs
    dense = t.dense("valid_acc")  # (C, S, E)
    got = b.query(cfgs, fidelity=5, metrics=["valid_acc"], as_arrays=True)["valid_acc"]
    np.testing.assert_allclose(got, dense[:, :, 4].astype(float).mean(axis=1))
    for s in range(2):
        v = b.query(cfgs, fidelity=27, seed=s, metrics=["valid_acc"], as_arrays=True)
        np.testing.assert_allclose(v["valid_acc"], dense[:, s, 26].astype(float))
        # seeds beyond the recorded ones wrap around (mod the number of seeds)
        w = b.query(cfgs, fidelity=27, seed=s + 2, metrics=["valid_acc"], as_arrays=True)
        np.testing.assert_array_equal(w["valid_acc"], v["valid_acc"])
    st_ = b.query(cfgs, metrics=["params"], as_arrays=True)["params"]
    np.testing.assert_array_equal(st_, t.static["params"])
    ct = b.query(cfgs, fidelity=3, seed=1, metrics=["cum_time"], as_arrays=True)["cum_time"]
    ok = t.run_n_epochs[t.run_seed == 1] >= 3
    np.testing.assert_allclose(ct[t.run_config[t.run_seed == 1][ok]],
                               t.cum_time[t.run_seed == 1][ok, 2])


def test_tabular_missing_config_names_nearest_and_fallback(syn_table, syn_surrogate):
    from hasbench.benchmarks import ConfigNotInTableError

    b = TabularBenchmark(syn_table)
    cfg = dict(syn_table.configs[4])
    cfg["dropout_rate"] = 0.123456
    with pytest.raises(ConfigNotInTableError) as ei:
        b.query([syn_table.configs[0], cfg])
    err = ei.value
    assert isinstance(err, ConfigError) and err.row == 1
    assert err.nearest and err.nearest[0] == syn_table.configs[4]
    assert "nearest" in str(err) and "fallback='surrogate'" in str(err)
    fb = TabularBenchmark(syn_table, fallback="surrogate", surrogate=syn_surrogate)
    out = fb.query([syn_table.configs[0], cfg], fidelity=27, metrics=["valid_acc"],
                   as_arrays=True)["valid_acc"]
    exact = b.query(syn_table.configs[0], fidelity=27, metrics=["valid_acc"], as_arrays=True)
    assert out[0] == exact["valid_acc"][0]
    sur = SurrogateBenchmark(syn_surrogate).query(cfg, fidelity=27, metrics=["valid_acc"],
                                                  as_arrays=True)
    assert out[1] == sur["valid_acc"][0]


def test_query_is_one_backend_call_per_metric(syn_surrogate):
    """10,000 (config, epoch) rows: each metric's regressor is called exactly once."""
    calls = {}

    class Counting:
        def __init__(self, key, reg):
            self.key, self.reg = key, reg

        def predict(self, F):
            calls[self.key] = calls.get(self.key, 0) + 1
            return self.reg.predict(F)

    b = SurrogateBenchmark(syn_surrogate)
    saved = dict(syn_surrogate._models)
    try:
        syn_surrogate._models = {k: Counting(k, r) for k, r in saved.items()}
        X = b.space.sample_array(10_000, 0)
        f = np.random.default_rng(0).integers(1, 28, 10_000)
        out = b.query(X, fidelity=f, seed=np.arange(10_000) % 5, as_arrays=True)
    finally:
        syn_surrogate._models = saved
    assert all(v.shape == (10_000,) for v in out.values())
    assert calls and all(c == 1 for c in calls.values()), calls
    assert set(calls) == set(saved)


def test_curve_shape_and_query_agree(benches):
    b = benches["surrogate"]
    X = b.space.sample_array(4, 2)
    c = b.curve(X, seed=2)
    for m in ("valid_acc", "cum_time", "params"):
        assert c[m].shape == (4, 27)
        q = b.query(X, fidelity=13, seed=2, metrics=[m], as_arrays=True)[m]
        np.testing.assert_array_equal(q, c[m][:, 12])


def test_seed_draws_identical_in_a_fresh_process(syn_surrogate):
    """The seed noise is a pure function of (config, seed): no process state involved."""
    import subprocess
    import sys

    b = SurrogateBenchmark(syn_surrogate)
    X = b.space.sample_array(5, 21)
    here = b.query(X, fidelity=7, seed=[0, 1, 2, 3, 2**40], metrics=["valid_acc", "cum_time"],
                   as_arrays=True)
    code = (
        "import sys, json, numpy as np\n"
        "from hasbench.benchmarks import SurrogateBenchmark\n"
        f"b = SurrogateBenchmark({str(syn_surrogate.path)!r})\n"
        "X = np.array(json.loads(sys.stdin.read()))\n"
        "o = b.query(X, fidelity=7, seed=[0, 1, 2, 3, 2**40], metrics=['valid_acc', 'cum_time'],"
        " as_arrays=True)\n"
        "print(json.dumps({k: v.tolist() for k, v in o.items()}))\n")
    import json

    r = subprocess.run([sys.executable, "-c", code], input=json.dumps(X.tolist()),
                       capture_output=True, text=True, timeout=120,
                       env={**__import__("os").environ, "PYTHONHASHSEED": "123"})
    assert r.returncode == 0, r.stderr
    there = json.loads(r.stdout)
    for m in here:
        assert here[m].tolist() == there[m]
