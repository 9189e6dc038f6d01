"""Search spaces: definitions, codec round trips (hypothesis), validation errors."""

from __future__ import annotations

import json

import ConfigSpace as CS
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hasbench.errors import ConfigError, FidelityError, InvalidValueError, UnknownNameError
from hasbench.spaces import Fidelity, Space, get_space, list_spaces

SPACES = ["hia-cnn", "zela2018", "nb201-joint"]


def test_registry_lists_the_three_shipped_spaces():
    assert set(SPACES) <= set(list_spaces())
    assert get_space("hia_cnn") is get_space("hia-cnn")


def test_unknown_space_error_names_value_and_choices():
    with pytest.raises(UnknownNameError) as e:
        get_space("hia-cnm")
    msg = str(e.value)
    assert "'hia-cnm'" in msg and "hia-cnn" in msg and "did you mean" in msg
    assert isinstance(e.value, KeyError)


def test_zela2018_has_17_hyperparameters_with_paper_names_and_log_flags():
    s = get_space("zela2018")
    assert s.dim == 17
    cs = s.configspace
    assert not cs.conditions
    for name in ["nr_residual_blocks_1", "initial_filters", "widen_factor_1", "learning_rate",
                 "batch_size", "weight_decay"]:
        assert cs[name].log, name
    for name in ["res_branches_1", "momentum", "alpha", "length", "death_rate"]:
        assert not cs[name].log, name
    assert (cs["learning_rate"].lower, cs["learning_rate"].upper) == (1e-3, 1.0)
    assert (cs["batch_size"].lower, cs["batch_size"].upper) == (32, 128)
    X = s.sample_array(10_000, 0)
    for c in s.decode(X[:2000]):
        for k in ("nr_residual_blocks_1", "batch_size", "length", "res_branches_2"):
            assert isinstance(c[k], int)


def test_hia_cnn_epochs_doubles_as_fidelity_and_ranking_is_attached():
    s = get_space("hia-cnn")
    assert s.dim == 10
    f = s.fidelity
    assert f.name == "epochs" and f.in_config and (f.lower, f.upper) == (1, 27)
    assert "epochs" not in s.search_names and len(s.search_names) == 9
    assert s.metadata["importance_rank"][:5] == ["n_conv_layers", "learning_rate",
                                                  "dropout_rate", "optimizer", "epochs"]
    assert s.names == s.metadata["importance_rank"]


def test_nb201_joint_matches_jahs():
    s = get_space("nb201-joint")
    assert [f"Op{i}" for i in range(1, 7)] == s.names[:6]
    assert s.choices("N") == (1, 3, 5) and s.choices("W") == (4, 8, 16)
    assert s.fidelity.upper == 200 and not s.fidelity.in_config


@pytest.mark.parametrize("name", SPACES)
def test_sample_is_valid_in_range_and_round_trips(name):
    s = get_space(name)
    X = s.sample_array(3000, np.random.default_rng(1))
    cfgs = s.decode(X)
    X2 = s.encode(cfgs)
    np.testing.assert_array_equal(X, X2)
    assert s.decode(X2) == cfgs
    for c in cfgs[:300]:
        s.validate(c)


@pytest.mark.parametrize("name", SPACES)
def test_sobol_sampling_is_deterministic_and_valid(name):
    s = get_space(name)
    a = s.sample_array(64, 3, method="sobol")
    b = s.sample_array(64, 3, method="sobol")
    np.testing.assert_array_equal(a, b)
    s.check_array(a)
    assert not np.array_equal(a, s.sample_array(64, 4, method="sobol"))


def test_sampling_refuses_global_random_state():
    with pytest.raises(InvalidValueError, match="rng"):
        get_space("hia-cnn").sample(3, None)


def test_json_round_trip_and_equality():
    for name in SPACES:
        s = get_space(name)
        s2 = Space.from_json(s.to_json())
        assert s2 == s
        assert s2.names == s.names and s2.fidelities == s.fidelities
        json.loads(s.to_json())  # plain JSON


def test_typed_short_decimals_round_trip_exactly():
    s = get_space("hia-cnn")
    cfg = dict(s.default(), learning_rate=0.01, dropout_rate=0.25)
    assert s.decode(s.encode([cfg]))[0] == cfg


@st.composite
def configs_of(draw, name):
    """Arbitrary in-range configs (not only sampled ones) for a space."""
    s = get_space(name)
    cfg = {}
    for n in s.names:
        k = s.kind(n)
        hp = s.configspace[n]
        if k == "float":
            cfg[n] = draw(st.floats(hp.lower, hp.upper, allow_nan=False))
        elif k == "int":
            cfg[n] = draw(st.integers(int(hp.lower), int(hp.upper)))
        else:
            cfg[n] = draw(st.sampled_from(s.choices(n)))
    return cfg


@pytest.mark.parametrize("name", SPACES)
@given(data=st.data())
def test_codec_round_trips_arbitrary_configs(name, data):
    s = get_space(name)
    cfg = data.draw(configs_of(name))
    X = s.encode([cfg])
    back = s.decode(X)[0]
    # linear floats come back bit for bit; typed log floats rounded to 10 significant digits
    assert back.keys() == cfg.keys()
    for k, v in cfg.items():
        if s.kind(k) == "float" and s.configspace[k].log:
            assert back[k] == pytest.approx(v, rel=5e-10, abs=0)
            assert float(f"{back[k]:.9e}") == back[k]
        elif s.kind(k) == "float":
            assert back[k] == v
        else:
            assert back[k] == v and type(back[k]) is type(v)
    # canonical form is a fixed point, and the array round-trips exactly
    assert s.decode(s.encode([back]))[0] == back
    np.testing.assert_array_equal(s.encode(s.decode(X)), X)


@pytest.mark.parametrize("name", SPACES)
@given(data=st.data())
def test_codec_rejects_out_of_range_values_with_named_errors(name, data):
    s = get_space(name)
    cfg = data.draw(configs_of(name))
    hp_name = data.draw(st.sampled_from(s.names))
    k = s.kind(hp_name)
    hp = s.configspace[hp_name]
    if k in ("float", "int"):
        bad = data.draw(st.sampled_from([hp.upper + 1, hp.lower - 1, float("nan"), "x"]))
    elif k == "constant":
        bad = "not-" + str(hp.value)
    else:
        bad = data.draw(st.sampled_from(["__nope__", 999, None]))
    cfg[hp_name] = bad
    with pytest.raises(ConfigError) as e:
        s.encode([cfg])
    assert e.value.parameter == hp_name
    assert repr(bad)[:20] in str(e.value) and hp_name in str(e.value)


@pytest.mark.parametrize("name", SPACES)
def test_unknown_and_missing_hyperparameters(name):
    s = get_space(name)
    cfg = s.default()
    with pytest.raises(UnknownNameError, match="unknown hyperparameter 'bogus'"):
        s.encode([dict(cfg, bogus=1)])
    first = s.names[0]
    del cfg[first]
    with pytest.raises(ConfigError, match=first):
        s.encode([cfg])


@pytest.mark.parametrize("name", SPACES)
@given(data=st.data())
def test_check_array_rejects_bad_arrays(name, data):
    s = get_space(name)
    X = s.sample_array(4, data.draw(st.integers(0, 2**31)))
    col = data.draw(st.integers(0, s.dim - 1))
    lo, hi = s.bounds(s.names[col])
    X[data.draw(st.integers(0, 3)), col] = data.draw(st.sampled_from([hi + 1.0, lo - 1.0,
                                                                      np.nan, np.inf]))
    with pytest.raises(ConfigError) as e:
        s.check_array(X)
    assert e.value.parameter == s.names[col]
    with pytest.raises(InvalidValueError, match="shape"):
        s.check_array(np.zeros((3, s.dim + 1)))


def test_booleans_are_not_confused_with_integers():
    s = get_space("nb201-joint")
    cfg = s.default()
    cfg["TrivialAugment"] = 1
    with pytest.raises(ConfigError, match="TrivialAugment"):
        s.encode([cfg])


def _conditional_space() -> Space:
    cs = CS.ConfigurationSpace(name="cond")
    opt = CS.CategoricalHyperparameter("optimizer", ["sgd", "adam"])
    mom = CS.UniformFloatHyperparameter("momentum", 0.0, 0.99, default_value=0.9)
    lr = CS.UniformFloatHyperparameter("lr", 1e-4, 1.0, log=True)
    cs.add([opt, mom, lr])
    cs.add(CS.EqualsCondition(mom, opt, "sgd"))
    return Space("cond", "1", cs, [Fidelity("epochs", 1, 10)], order=["optimizer", "momentum",
                                                                      "lr"])


def test_conditional_space_inactive_values_use_sentinel_and_round_trip():
    s = _conditional_space()
    X = s.sample_array(500, 0)
    adam = X[:, 0] == 1
    assert np.isnan(X[adam, 1]).all() and not np.isnan(X[~adam, 1]).any()
    cfgs = s.decode(X)
    assert all("momentum" not in c for c, a in zip(cfgs, adam, strict=True) if a)
    np.testing.assert_array_equal(s.encode(cfgs), X)


def test_conditional_space_rejects_inactive_value_and_missing_active_value():
    s = _conditional_space()
    with pytest.raises(ConfigError, match="momentum.*inactive"):
        s.encode([{"optimizer": "adam", "momentum": 0.5, "lr": 0.01}])
    with pytest.raises(ConfigError, match="momentum"):
        s.encode([{"optimizer": "sgd", "lr": 0.01}])
    # NaN in a non-conditional column is refused
    with pytest.raises(ConfigError, match="lr"):
        s.check_array(np.array([[0.0, 0.5, np.nan]]))


@given(st.floats(allow_nan=True, allow_infinity=True), st.booleans())
def test_fidelity_validation(value, as_array):
    f = get_space("hia-cnn").fidelity
    ok = np.isfinite(value) and 1 <= value <= 27 and float(value).is_integer()
    arg = np.array([1.0, value]) if as_array else value
    if ok:
        assert f.validate(arg).max() <= 27
    else:
        with pytest.raises(FidelityError) as e:
            f.validate(arg)
        assert e.value.parameter == "epochs" and "[1, 27]" in str(e.value)


def test_unit_cube_maps_are_consistent():
    s = get_space("zela2018")
    X = s.sample_array(200, 5)
    U = s.to_unit(X)
    assert ((U >= 0) & (U <= 1)).all()
    np.testing.assert_allclose(s.from_unit(U), X, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["hia-cnn", "zela2018", "nb201-joint"])
def test_decode_names_gives_the_subset_of_the_full_decode(name):
    sp = get_space(name)
    X = sp.sample_array(50, 4)
    full = sp.decode(X)
    pick = sp.names[::2]
    part = sp.decode(X, names=pick)
    assert part == [{k: v for k, v in c.items() if k in pick} for c in full]
    with pytest.raises(UnknownNameError):
        sp.decode(X, names=["no_such_hp"])
