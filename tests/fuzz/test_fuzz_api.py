"""Fuzzed input to the public API (issue 20, item 13).

Every call gets wrong types, NaN/inf, out-of-range values, bools where ints are meant, ints
past int64, strings where numbers are meant ('9'), ragged nested lists, unknown and
unhashable names. Each test has an oracle that says, from the input alone, whether the call
must succeed; then

- a call that must succeed succeeds (and its answer has the right shape),
- a call that must fail raises a ``hasbench.errors`` error that names the parameter, the
  value and what is allowed (nothing is accepted silently),
- no call raises anything else (an exception outside ``hasbench.errors`` fails the test
  with its traceback).

Where the oracle cannot say (an optimizer option with an odd value), only the last rule is
checked. Coercions hasbench allows on purpose (docs/simulator.md, "Input checks"): an
integral float where an int is meant (``n=3.0``, ``fidelity=9.0``), numpy scalars, an int
for a float hyperparameter. Strings and bools are never taken as numbers.

The default run draws ``HASBENCH_FUZZ_EXAMPLES`` (default 25) examples per test, a few
hundred calls in all in a few seconds; set it higher for a deeper search.
"""

from __future__ import annotations

import functools
import math
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import hasbench
from hasbench.benchmarks import TabularBenchmark
from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.errors import MAX_SEED, ConfigError, HasbenchError
from hasbench.optimizers import Result, _accepted_kwargs, _resolve, get_optimizer, list_optimizers
from hasbench.simulate import simulate
from hasbench.simulate.engine import MAX_WORKERS
from hasbench.spaces.base import MAX_SAMPLE

REPO = Path(__file__).resolve().parents[2]
N = int(os.environ.get("HASBENCH_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=N, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large])

SPACE = hasbench.get_space("hia-cnn")
SYN = SyntheticBenchmark("hia-cnn")


@functools.cache
def table_bench() -> TabularBenchmark:
    path = REPO / "data" / "digits-hia-cnn.h5"
    if not path.is_file():  # pragma: no cover - the table ships with the repository
        pytest.skip("data/digits-hia-cnn.h5 not present")
    return TabularBenchmark(path)


def bench_of(which: str):
    return SYN if which == "synthetic" else table_bench()


def configs_of(which: str, n: int, seed: int) -> np.ndarray:
    """``n`` encoded configs the benchmark can answer (table configs for the table)."""
    if which == "synthetic":
        return SPACE.sample_array(n, seed)
    b = table_bench()
    rows = np.flatnonzero(b._has_runs)
    pick = np.random.default_rng(seed).choice(rows, size=n)
    return np.asarray(b.table.X[pick], dtype=float)


# ----------------------------------------------------------------------------- helpers
def outcome(fn, *args, **kwargs):
    """``(True, result)`` or ``(False, error)`` for a hasbench error (checked to name the
    parameter, the value and what is allowed); any other exception propagates."""
    try:
        return True, fn(*args, **kwargs)
    except HasbenchError as exc:
        assert_named(exc)
        return False, exc


def assert_named(exc: HasbenchError) -> None:
    for attr in ("parameter", "value", "allowed"):
        assert hasattr(exc, attr), f"{type(exc).__name__} without {attr!r}: {exc}"
    text = str(exc)
    assert str(exc.parameter) in text and "allowed" in text, text


def expect(valid: bool, fn, *args, **kwargs):
    ok, res = outcome(fn, *args, **kwargs)
    if valid:
        assert ok, f"valid input refused: {res}"
    else:
        assert not ok, f"invalid input accepted silently: args={args!r} kwargs={kwargs!r}"
    return res


def is_bool(v) -> bool:
    return isinstance(v, (bool, np.bool_))


def is_real(v) -> bool:
    return not is_bool(v) and isinstance(v, (Real, np.integer, np.floating)) and \
        not isinstance(v, complex)


def is_int_like(v) -> bool:
    """An int, or a float that is one (what check_int takes)."""
    if not is_real(v):
        return False
    if isinstance(v, (Integral, np.integer)):
        return True
    return math.isfinite(float(v)) and float(v).is_integer()


_ODD = [None, True, False, np.True_, "9", "", "nan", "relu", "1e3", b"9", 1 + 2j, object(),
        slice(1), np.float32(9.0), np.int64(9), np.uint64(2**63), 2**63, 2**64, 10**30,
        -10**30, float("nan"), float("inf"), -float("inf"), 1e308, -0.0, {}, set(), ()]
junk = st.one_of(
    st.sampled_from(_ODD),
    st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.lists(st.integers(-3, 30), max_size=4),
    st.lists(st.one_of(st.integers(0, 30), st.text(max_size=2)), min_size=1, max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


# ----------------------------------------------------------------------------- Space
def _value_ok(name: str, v) -> bool:
    d = SPACE._dims[SPACE._index[name]]
    if d.kind in ("float", "int"):
        if not is_real(v) or not (d.lower <= v <= d.upper):
            return False
        return d.kind == "float" or float(v).is_integer()
    if d.kind == "ordinal":  # (3, 5): the ints, or floats equal to them
        return is_real(v) and any(v == c for c in d.choices)
    return isinstance(v, str) and v in d.choices


def _near_values(name: str):
    d = SPACE._dims[SPACE._index[name]]
    if d.kind in ("float", "int"):
        lo, hi = d.lower, d.upper
        return st.one_of(st.floats(lo - 1, hi + 1), st.integers(int(lo) - 2, int(hi) + 2),
                         st.sampled_from([lo, hi, np.float64(lo), np.int64(int(hi))]))
    return st.sampled_from(list(d.choices) + [str(c) for c in d.choices] + ["", "RELU"])


@FUZZ
@given(st.data())
def test_encode_one_hyperparameter(data):
    name = data.draw(st.sampled_from(SPACE.names))
    value = data.draw(st.one_of(junk, _near_values(name)))
    cfg = SPACE.default()
    cfg[name] = value
    valid = _value_ok(name, value)
    res = expect(valid, SPACE.encode, cfg)
    if valid:
        SPACE.check_array(res)
        back = SPACE.decode(res)[0][name]
        if SPACE.kind(name) == "float":
            assert math.isclose(back, float(value), rel_tol=1e-9, abs_tol=1e-300)
        else:
            assert back == value
    else:
        assert isinstance(res, ConfigError) and res.parameter == name


@FUZZ
@given(junk, st.sampled_from(["unknown", "missing", "both", "none"]))
def test_encode_containers_and_keys(configs, keys):
    # a container that is no config (an int, a string, a list of junk) is refused
    ok, res = outcome(SPACE.encode, configs)
    if ok:
        assert configs in ([], ()) and res.shape == (0, SPACE.dim)
    cfg = SPACE.default()
    if keys in ("unknown", "both"):
        cfg["no_such_hp"] = 1
    if keys in ("missing", "both"):
        del cfg["learning_rate"]
    expect(keys == "none", SPACE.encode, [cfg])


def _bad_cells(name: str, x: float):
    """Encoded values that column ``name`` must refuse (``x`` is a valid one)."""
    d = SPACE._dims[SPACE._index[name]]
    lo, hi = SPACE.bounds(name)
    bad = [np.nan, np.inf, -np.inf, lo - 1.0, hi + 1.0, 1e308]
    if d.kind in ("categorical", "ordinal", "constant") or (d.kind == "int" and not d.log):
        bad.append(min(max(x + 0.37, lo + 0.1), hi - 0.1))
    if d.kind == "int" and d.log:  # log of a non-integer inside the bounds
        bad.append(np.log(min(np.exp(x) + 0.5, d.upper - 0.5)))
    return bad


@FUZZ
@given(st.integers(1, 5), st.integers(0, 2**32 - 1), st.data())
def test_check_array_refuses_each_bad_cell(n, seed, data):
    X = SPACE.sample_array(n, seed)
    np.testing.assert_array_equal(SPACE.encode(SPACE.decode(X)), X)
    r = data.draw(st.integers(0, n - 1))
    name = data.draw(st.sampled_from(SPACE.names))
    j = SPACE.names.index(name)
    X[r, j] = data.draw(st.sampled_from(_bad_cells(name, X[r, j])))
    err = expect(False, SPACE.check_array, X)
    assert isinstance(err, ConfigError) and err.parameter == name
    expect(False, SPACE.decode, X)


_SHAPES = ["array", "list", "tuple_rows", "row_1d", "transposed", "narrow", "3d", "ragged",
           "string_cell", "strings", "bools", "complex", "none_cell", "huge_int_cell",
           "scalar", "float32"]


@FUZZ
@given(st.integers(1, 4), st.integers(0, 2**32 - 1), st.sampled_from(_SHAPES))
def test_check_array_containers(n, seed, shape):
    X = SPACE.sample_array(n, seed)
    rows = X.tolist()
    obj = {
        "array": X, "list": rows, "tuple_rows": [tuple(r) for r in rows], "row_1d": X[0],
        "transposed": X.T, "narrow": X[:, :-1], "3d": X[None], "ragged": rows + [rows[0][:-1]],
        "string_cell": [[str(v) for v in rows[0]]] + rows[1:], "strings": X.astype(str),
        "bools": X.astype(bool), "complex": X.astype(complex),
        "none_cell": [rows[0][:-1] + [None]] + rows[1:],
        "huge_int_cell": [rows[0][:-1] + [10**30]] + rows[1:], "scalar": 3.0,
        "float32": X.astype(np.float32),
    }[shape]
    if shape == "float32":  # rounding may move a value off its grid: either answer is fine
        outcome(SPACE.check_array, obj)
        return
    res = expect(shape in ("array", "list", "tuple_rows", "row_1d"), SPACE.check_array, obj)
    if shape in ("array", "list", "tuple_rows"):
        np.testing.assert_array_equal(res, X)


def _n_ok(n) -> bool:
    return is_int_like(n) and 0 <= n <= MAX_SAMPLE


@FUZZ
@given(st.one_of(st.integers(-3, 40), junk), st.one_of(st.integers(0, 2**64), junk),
       st.one_of(st.sampled_from(["random", "sobol"]), junk))
def test_sample_array(n, rng, method):
    assume(not (is_real(n) and math.isfinite(float(n)) and 40 < n <= MAX_SAMPLE))
    valid = _n_ok(n) and (isinstance(rng, (int, np.integer)) and not is_bool(rng)
                          and rng >= 0) and isinstance(method, str) and \
        method in ("random", "sobol")
    X = expect(valid, SPACE.sample_array, n, rng, method=method)
    if valid:
        assert X.shape == (int(n), SPACE.dim)
        SPACE.check_array(X)
        np.testing.assert_array_equal(X, SPACE.sample_array(n, rng, method=method))


# ----------------------------------------------------------------------------- Benchmark
E = 27  # both benchmarks answer epochs 1..27


def _fid_scalar_ok(v) -> bool:
    return is_real(v) and math.isfinite(float(v)) and float(v).is_integer() and 1 <= v <= E


def _fidelity_ok(v, n: int) -> bool:
    if v is None:
        return True
    if isinstance(v, (list, np.ndarray)):
        a = np.asarray(v) if not isinstance(v, list) or all(is_real(x) for x in v) else None
        if a is None or a.dtype.kind not in "iuf" or a.shape not in ((), (n,)):
            return False
        return bool(all(_fid_scalar_ok(x) for x in a.reshape(-1).tolist()))
    return _fid_scalar_ok(v)


def _seed_ok(v, n: int) -> bool:
    if v is None:
        return True
    if isinstance(v, (list, np.ndarray)):
        if isinstance(v, list) and not all(isinstance(x, (int, np.integer)) and not is_bool(x)
                                           for x in v):
            return False
        a = np.asarray(v)
        if a.dtype.kind not in "iu" or a.shape not in ((), (n,)):
            return False
        return bool(all(0 <= int(x) <= MAX_SEED for x in a.reshape(-1).tolist()))
    return isinstance(v, (int, np.integer)) and not is_bool(v) and 0 <= v <= MAX_SEED


def _metrics_ok(v, bench) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v in bench.metrics
    if isinstance(v, (list, tuple)) or (isinstance(v, np.ndarray) and v.ndim == 1):
        return len(v) > 0 and all(isinstance(m, str) and m in bench.metrics for m in v)
    return False


def fidelities(n: int):
    return st.one_of(st.none(), st.integers(-1, E + 2), st.sampled_from([9.0, np.float32(9),
                                                                         np.int64(3), 9.5]),
                     st.lists(st.integers(0, E + 1), min_size=n, max_size=n),
                     st.lists(st.integers(1, E), min_size=0, max_size=n + 1).map(np.array),
                     st.just(np.full(n, "9")), st.just(np.ones(n, bool)), junk)


def seeds(n: int):
    return st.one_of(st.none(), st.integers(-2, 2**64), st.sampled_from([np.int64(4), 1.0]),
                     st.lists(st.integers(-1, 2**63), min_size=n, max_size=n),
                     st.lists(st.integers(0, 9), min_size=n, max_size=n).map(np.array),
                     st.just(np.zeros(n, bool)), junk)


def metric_args():
    names = SYN.metrics
    return st.one_of(st.none(), st.sampled_from(names),
                     st.lists(st.sampled_from(names), min_size=1, max_size=3),
                     st.lists(st.sampled_from(names + ["bogus", ""]), max_size=3),
                     st.sampled_from([("valid_acc",), {"valid_acc": 1}, {"valid_acc"},
                                      np.array(["valid_acc"]), [["valid_acc"]]]), junk)


_CONFIG_FORMS = ["array", "list", "dicts", "frame", "dict", "ragged", "string_cell", "narrow",
                 "3d", "scalar", "unknown_key", "object_array", "text"]


def config_arg(which: str, n: int, seed: int, form: str):
    """``(configs, valid, n_rows)`` in the given form."""
    X = configs_of(which, max(n, 1), seed)[:n]
    rows = X.tolist()
    dicts = SPACE.decode(X)
    if form == "array":
        return X, True, n
    if form == "list":
        return rows, True, n
    if form == "dicts":
        return dicts, True, n
    if form == "frame":
        return pd.DataFrame(dicts, columns=SPACE.names), True, n
    if form == "dict":
        return SPACE.decode(configs_of(which, 1, seed))[0], True, 1
    one = configs_of(which, 1, seed).tolist()
    if form == "ragged":
        return one + [one[0][:-1]], False, 0
    if form == "string_cell":
        return [[str(v) for v in one[0]]], False, 0
    if form == "narrow":
        return np.asarray(one)[:, :-1], False, 0
    if form == "3d":
        return np.asarray(one)[None], False, 0
    if form == "scalar":
        return 3.0, False, 0
    if form == "unknown_key":
        d = SPACE.decode(configs_of(which, 1, seed))[0]
        d["no_such_hp"] = 1
        return [d], False, 0
    if form == "object_array":
        return np.asarray(one, dtype=object), False, 0
    return "n_conv_layers=2", False, 0


@pytest.mark.parametrize("which", ["synthetic", "table"])
@FUZZ
@given(data=st.data())
def test_query(which, data):
    bench = bench_of(which)
    n = data.draw(st.integers(0, 4))
    form = data.draw(st.sampled_from(_CONFIG_FORMS))
    configs, cfg_ok, n = config_arg(which, n, data.draw(st.integers(0, 2**16)), form)
    fidelity = data.draw(fidelities(n))
    seed = data.draw(seeds(n))
    metrics = data.draw(metric_args())
    valid = cfg_ok and _fidelity_ok(fidelity, n) and _seed_ok(seed, n) and \
        _metrics_ok(metrics, bench)
    res = expect(valid, bench.query, configs, fidelity=fidelity, seed=seed, metrics=metrics)
    if valid:
        assert len(res) == n
        want = bench.metrics if metrics is None else ([metrics] if isinstance(metrics, str)
                                                      else list(metrics))
        assert set(want) <= set(res.columns)


def _from_ok(frm, to: np.ndarray) -> bool:
    n = to.shape[0]
    if isinstance(frm, (list, np.ndarray)):
        if isinstance(frm, list) and not all(is_real(x) for x in frm):
            return False
        a = np.asarray(frm)
        if a.dtype.kind not in "iuf" or a.shape not in ((), (n,)):
            return False
        vals = np.broadcast_to(a.astype(float), (n,))
    elif is_real(frm):
        try:
            vals = np.full(n, float(frm))
        except OverflowError:  # an int past the float range
            return False
    else:
        return False
    ok = np.isfinite(vals) & ((vals == 0) | ((vals >= 1) & (vals <= E) & (vals == np.round(vals))))
    return bool(np.all(ok & (np.nan_to_num(vals, nan=np.inf) <= to)))


@pytest.mark.parametrize("which", ["synthetic", "table"])
@FUZZ
@given(data=st.data())
def test_cost(which, data):
    bench = bench_of(which)
    n = data.draw(st.integers(1, 4))
    X = configs_of(which, n, data.draw(st.integers(0, 2**16)))
    to = data.draw(st.one_of(st.none(), st.integers(1, E), junk))
    frm = data.draw(st.one_of(st.integers(-2, E + 1), st.sampled_from([0, 0.0, 0.5, 3.0]),
                              st.lists(st.integers(0, E), min_size=n, max_size=n), junk))
    seed = data.draw(seeds(n))
    valid_to = _fidelity_ok(to, n)
    to_arr = X[:, SPACE.names.index("epochs")] if to is None else (
        np.broadcast_to(np.asarray(to, dtype=float), (n,)) if valid_to else None)
    valid = valid_to and _seed_ok(seed, n) and _from_ok(frm, to_arr)
    res = expect(valid, bench.cost, X, from_fidelity=frm, to_fidelity=to, seed=seed)
    if valid:
        assert res.shape == (n,) and np.all(np.isfinite(res)) and np.all(res >= 0)


@pytest.mark.parametrize("which", ["synthetic", "table"])
@FUZZ
@given(data=st.data())
def test_curve(which, data):
    bench = bench_of(which)
    n = data.draw(st.integers(0, 3))
    X = configs_of(which, max(n, 1), data.draw(st.integers(0, 2**16)))[:n]
    seed = data.draw(seeds(n))
    metrics = data.draw(metric_args())
    valid = _seed_ok(seed, n) and _metrics_ok(metrics, bench)
    res = expect(valid, bench.curve, X, seed=seed, metrics=metrics)
    if valid:
        assert all(v.shape == (n, E) for v in res.values())


def test_big_query_is_answered_in_chunks_with_the_same_values():
    """Rows past ``query_chunk_rows`` go in several backend calls; the answers are those of
    one call (the broadcast view of one config from the 1,000,000-row report, smaller)."""
    x = SPACE.sample_array(3, 0)
    X = np.concatenate([np.broadcast_to(x[:1], (70_000, SPACE.dim)), x[1:]])
    f = np.full(X.shape[0], 9.0)
    seed = np.arange(X.shape[0]) % 7
    whole = SYN._query_arrays(np.ascontiguousarray(X), f, seed, ["valid_acc", "cum_time"])
    calls = []
    orig = SYN._query_arrays

    def counting(*a, **k):
        calls.append(a[0].shape[0])
        return orig(*a, **k)

    SYN._query_arrays = counting
    try:
        got = SYN.query(X, fidelity=9, seed=seed, metrics=["valid_acc", "cum_time"],
                        as_arrays=True)
    finally:
        del SYN._query_arrays
    assert max(calls) <= SYN.query_chunk_rows and sum(calls) == X.shape[0]
    for m in whole:
        np.testing.assert_array_equal(got[m], whole[m])


# ----------------------------------------------------------------------------- optimizers
_OPT_NAMES = [n for n in list_optimizers() if n != "optuna"]  # optuna: optional extra


def _kwarg_keys(name: str) -> list[str]:
    return sorted(_accepted_kwargs(_resolve(name)) or [])


@FUZZ
@given(data=st.data())
def test_get_optimizer(data):
    name = data.draw(st.one_of(st.sampled_from(_OPT_NAMES + ["rs", "hb", "evolution"]),
                               st.sampled_from(["bogus", "BOHB", " random", ""]),
                               st.sampled_from([["bohb"], {"a": 1}, None, 3]), junk))
    seed = data.draw(st.one_of(st.integers(0, 2**63), st.sampled_from([3.0, True, -1]), junk))
    fidelity = data.draw(st.one_of(st.none(), st.tuples(st.integers(1, E), st.integers(1, E)),
                                   junk))
    known = isinstance(name, str) and (name in list_optimizers()
                                       or name in ("rs", "hb", "evolution"))
    kwargs = {}
    if known and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(_kwarg_keys(name) + ["bogus_kwarg"]))
        kwargs[key] = data.draw(junk)
    ok, opt = outcome(get_optimizer, name, SPACE, seed=seed, fidelity=fidelity, **kwargs)
    seed_ok = is_int_like(seed) and seed >= 0
    if not known or not seed_ok or "bogus_kwarg" in kwargs or (
            fidelity is not None and not isinstance(fidelity, tuple)):
        assert not ok, f"accepted: {name!r} seed={seed!r} fidelity={fidelity!r} {kwargs!r}"
    if known and seed_ok and fidelity is None and not kwargs:
        assert ok, opt
    if ok:  # whatever was accepted must also work
        for _ in range(3):
            job = opt.ask()
            if job is None:
                break
            opt.tell(job, Result(loss=0.5, cost=1.0))


# ----------------------------------------------------------------------------- simulate
@FUZZ
@given(data=st.data())
def test_simulate_arguments(data):
    n_workers = data.draw(st.one_of(st.integers(1, 4), st.sampled_from(
        [MAX_WORKERS, MAX_WORKERS + 1, 10**6, 0, -1, True, 2.5, 2.0, "2", None]), junk))
    max_ev = data.draw(st.one_of(st.none(), st.integers(1, 5), st.sampled_from(
        [0, -1, True, 2.5, "3", float("nan")]), junk))
    budget = data.draw(st.one_of(st.none(), st.floats(1.0, 2000.0), st.sampled_from(
        [0.0, -5.0, float("nan"), float("inf"), "3600", True, 10**400]),
        junk))
    seed = data.draw(st.one_of(st.integers(0, 2**16), st.sampled_from(
        [MAX_SEED, MAX_SEED + 1, True, -1, 1.5, "0"]), junk))
    objective = data.draw(st.one_of(st.none(), st.sampled_from(["valid_acc", "valid_loss",
                                                                 "bogus", "", ["valid_acc"]]),
                                    junk))
    optimizer = data.draw(st.one_of(st.sampled_from(["random", "hyperband", "asha"]),
                                    st.sampled_from(["bogus", ""]), junk))
    w_ok = is_int_like(n_workers) and 1 <= n_workers <= MAX_WORKERS
    m_ok = max_ev is None or (is_int_like(max_ev) and max_ev >= 1)
    b_ok = budget is None or (is_real(budget) and 0 < budget < math.inf)
    # keep every accepted replay small: a time budget alone only with a few workers
    assume(not (w_ok and m_ok and b_ok) or max_ev is not None
           or (budget is not None and n_workers <= 4 and budget <= 2000))
    valid = (w_ok and m_ok and b_ok and (max_ev is not None or budget is not None)
             and is_int_like(seed) and 0 <= seed <= MAX_SEED
             and (objective is None or (isinstance(objective, str)
                                        and objective in SYN.metrics))
             and isinstance(optimizer, str) and optimizer in ("random", "hyperband", "asha"))
    tr = expect(valid, simulate, SYN, optimizer, seed=seed, n_workers=n_workers,
                time_budget=budget, max_evaluations=max_ev, objective=objective)
    if valid and max_ev is not None:
        assert (tr.frame["status"] != "pruned").sum() <= max_ev


# ----------------------------------------------------------------------------- load
@FUZZ
@given(st.one_of(st.sampled_from(["hia-cnn", "zela2018", "digits", "digits-hia-cnn.heldout",
                                  "no-such-benchmark", "", " ", "a/b/c.h5", "~nope",
                                  "x.surrogate", "/nonexistent/t.h5"]),
                 st.text(alphabet="abcdefxyz-_.", min_size=1, max_size=8), junk),
       st.one_of(st.none(), st.just("synthetic"), st.sampled_from(["table", "surrogate",
                                                                   "bogus"]), junk))
def test_load_names(name, kind):
    valid = kind == "synthetic" and name in hasbench.list_spaces()
    if kind in (None, "table", "surrogate") and isinstance(name, str):
        assume(name not in hasbench.benchmarks.list_benchmarks())  # loading is slow
        assume(not Path(os.path.expanduser(name)).exists())
    res = expect(valid, hasbench.load, name, kind=kind)
    if valid:
        assert res.space.name == name


# ----------------------------------------------------------------------------- conditions
def _conditional_space():
    import ConfigSpace as CS

    from hasbench.spaces import Fidelity, Space

    cs = CS.ConfigurationSpace(seed=0)
    opt = CS.CategoricalHyperparameter("optimizer", ["sgd", "adam"])
    mom = CS.UniformFloatHyperparameter("momentum", 0.0, 0.99, default_value=0.9)
    lr = CS.UniformFloatHyperparameter("lr", 1e-4, 1.0, log=True)
    cs.add([opt, mom, lr])
    cs.add(CS.EqualsCondition(mom, opt, "sgd"))
    cs.add(CS.ForbiddenAndConjunction(CS.ForbiddenEqualsClause(opt, "adam"),
                                      CS.ForbiddenInClause(lr, [1.0])))
    return Space("cond", "1", cs, [Fidelity("epochs", 1, 10)],
                 order=["optimizer", "momentum", "lr"])


COND = _conditional_space()


@FUZZ
@given(st.integers(1, 6), st.integers(0, 2**32 - 1), st.sampled_from(
    ["valid", "nan_in_active", "value_in_inactive", "forbidden"]), st.data())
def test_check_array_conditions_and_forbidden_clauses(n, seed, how, data):
    """NaN in an active conditional, a value for an inactive one and a forbidden
    combination are refused in encoded arrays as in dicts."""
    X = COND.sample_array(n, seed)
    r = data.draw(st.integers(0, n - 1))
    if how == "nan_in_active":
        X[r] = [0.0, np.nan, np.log(0.01)]  # sgd without its momentum
    elif how == "value_in_inactive":
        X[r] = [1.0, 0.5, np.log(0.01)]  # adam with a momentum
    elif how == "forbidden":
        X[r] = [1.0, np.nan, 0.0]  # adam with lr = 1.0
    err = expect(how == "valid", COND.check_array, X)
    if how != "valid":
        assert isinstance(err, ConfigError) and f"row {r}" in str(err)
    else:
        np.testing.assert_array_equal(COND.encode(COND.decode(X)), X)


# ----------------------------------------------------------------------------- reported cases
def _syn_x():
    return SPACE.sample_array(2, 0)


def _with(col: str, value: float) -> np.ndarray:
    X = _syn_x()
    X[0, SPACE.names.index(col)] = value
    return X


REPORTED = {  # the cases named in issue 20, item 13 (each accepted or mis-raised before)
    "ragged configs": lambda: SYN.query([[1.0] * SPACE.dim, [1.0] * (SPACE.dim - 1)]),
    "huge int hyperparameter": lambda: SPACE.encode({**SPACE.default(), "n_filters": 10**30}),
    "non-integral log-int": lambda: SPACE.check_array(_with("batch_size", np.log(20.5))),
    "fidelity='9'": lambda: SYN.query(_syn_x(), fidelity="9"),
    "fidelity=True": lambda: SYN.query(_syn_x(), fidelity=True),
    "cost(from_fidelity=True)": lambda: SYN.cost(_syn_x(), from_fidelity=True),
    "cost(from_fidelity=nan)": lambda: SYN.cost(_syn_x(), from_fidelity=float("nan")),
    "cost(from_fidelity=-1)": lambda: SYN.cost(_syn_x(), from_fidelity=-1),
    "seed=2**63 (wrapped to a negative int64)": lambda: SYN.query(_syn_x(), seed=2**63),
    "metrics=[]": lambda: SYN.query(_syn_x(), metrics=[]),
    "simulate(seed=True)": lambda: simulate(SYN, "random", seed=True, max_evaluations=2),
    "simulate(n_workers=10**6)": lambda: simulate(SYN, "random", n_workers=10**6,
                                                  max_evaluations=2),
    "simulate(objective='')": lambda: simulate(SYN, "random", objective="",
                                               max_evaluations=2),
    "sample_array(n=True)": lambda: SPACE.sample_array(True, 0),
    "get_optimizer(bogus_kwarg)": lambda: get_optimizer("bohb", SPACE, bogus_kwarg=1),
    "get_optimizer(unhashable name)": lambda: get_optimizer(["bohb"], SPACE),
    "get_optimizer(seed=True)": lambda: get_optimizer("random", SPACE, seed=True),
    "get_optimizer(fidelity=9)": lambda: get_optimizer("hyperband", SPACE, fidelity=9),
    "get_optimizer(fixed=3)": lambda: get_optimizer("random", SPACE, fixed=3),
    "load(kind=array)": lambda: hasbench.load("digits-hia-cnn", kind=np.array(["table"] * 2)),
}


@pytest.mark.parametrize("case", sorted(REPORTED))
def test_reported_cases_raise_named_errors(case):
    expect(False, REPORTED[case])
