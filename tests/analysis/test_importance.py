"""fANOVA and N-RReliefF on functions whose importance is known, and on every kind of source."""

from __future__ import annotations

import ConfigSpace as CS
import numpy as np
import pytest

from hasbench.analysis import (
    fanova_importance,
    importance,
    importance_weights,
    load_importance_data,
    plot_importance,
    relieff_importance,
)
from hasbench.errors import FidelityError, InvalidValueError, UnknownNameError
from hasbench.spaces import Fidelity, Space
from hasbench.tables import DEFAULT_METRICS, Run, write_table


def _imp(df, name):
    return float(df.set_index("hyperparameter").loc[name, "importance"])


def test_fanova_reproduces_the_closed_form_variance_decomposition():
    # f = a x0 + b x1 + c x0 x1 on U[0,1]^5 (x2..x4 irrelevant). With u = x - 1/2:
    # f = const + (a + c/2) u0 + (b + c/2) u1 + c u0 u1, so V0 = (a + c/2)^2 / 12,
    # V1 = (b + c/2)^2 / 12, V01 = c^2 / 144.
    a, b, c = 1.0, 2.0, 3.0
    rng = np.random.default_rng(0)
    X = rng.random((2000, 5))
    y = a * X[:, 0] + b * X[:, 1] + c * X[:, 0] * X[:, 1]
    v0, v1, v01 = (a + c / 2) ** 2 / 12, (b + c / 2) ** 2 / 12, c ** 2 / 144
    tot = v0 + v1 + v01
    df = fanova_importance((X, y), n_trees=32, seed=0)
    assert abs(_imp(df, "x0") - v0 / tot) < 0.05
    assert abs(_imp(df, "x1") - v1 / tot) < 0.05
    assert abs(_imp(df, "x0:x1") - v01 / tot) < 0.05
    for noise in ("x2", "x3", "x4", "x2:x3", "x0:x4"):
        assert _imp(df, noise) < 0.01
    one = df[df["order"] == 1]
    assert list(one["rank"]) == list(range(1, 6)) and one["hyperparameter"].iloc[0] == "x1"
    assert (df["std"] >= 0).all() and (df["low"] <= df["high"]).all()
    assert df.attrs["method"] == "fanova" and df.attrs["settings"]["trees_used"] == 32


def _mixed_space() -> Space:
    cs = CS.ConfigurationSpace()
    cs.add([CS.UniformFloatHyperparameter("x", 1e-3, 1.0, log=True),
            CS.CategoricalHyperparameter("opt", ["a", "b", "c"]),
            CS.UniformIntegerHyperparameter("n", 1, 4),
            CS.UniformFloatHyperparameter("noise", 0.0, 1.0)])
    return Space("mixed-test", "1", cs, [Fidelity("epochs", 1, 9)])


def test_fanova_categorical_integer_and_log_hyperparameters_closed_form():
    # y = log10(x) + g(opt) + n with x log-uniform, opt uniform over 3 choices, n uniform on
    # {1..4}: additive, so the fractions are var(log10 x) : var(g) : var(n) under the
    # space's prior (the measure fANOVA integrates over).
    space = _mixed_space()
    X = space.sample_array(3000, 1)
    g = np.array([0.0, 0.5, 2.0])
    cfg = space.decode(X)
    lx = np.log10([c["x"] for c in cfg])
    y = lx + g[X[:, space.names.index("opt")].astype(int)] + np.array([c["n"] for c in cfg])
    v_x = 3.0 ** 2 / 12            # log10(x) uniform on [-3, 0]
    v_g = g.var()
    v_n = (4 ** 2 - 1) / 12        # discrete uniform on 4 values
    tot = v_x + v_g + v_n
    df = fanova_importance((X, y, space), n_trees=32, pairwise=False)
    assert abs(_imp(df, "x") - v_x / tot) < 0.05
    assert abs(_imp(df, "opt") - v_g / tot) < 0.05
    assert abs(_imp(df, "n") - v_n / tot) < 0.05
    assert _imp(df, "noise") < 0.01


def test_fanova_measure_linear_integrates_log_hyperparameters_by_value():
    # y = 4 x + n, x log-uniform on [1e-3, 1], n uniform on {1..4}. Under the prior (log
    # scale) var(4x) = 16 (E[x^2] - E[x]^2) with E[x] = 0.999/ln 1000 and
    # E[x^2] = (1 - 1e-6)/(2 ln 1000); under the linear measure var(4x) = 16 * 0.999^2 / 12.
    space = _mixed_space()
    X = space.sample_array(4000, 2)
    cfg = space.decode(X)
    x = np.array([c["x"] for c in cfg])
    y = 4 * x + np.array([c["n"] for c in cfg])
    v_n = (4 ** 2 - 1) / 12
    L = np.log(1000.0)
    v_prior = 16 * ((1 - 1e-6) / (2 * L) - (0.999 / L) ** 2)
    v_lin = 16 * 0.999 ** 2 / 12
    prior = fanova_importance((X, y, space), n_trees=32, pairwise=False)
    lin = fanova_importance((X, y, space), n_trees=32, pairwise=False, measure="linear")
    assert abs(_imp(prior, "x") - v_prior / (v_prior + v_n)) < 0.05
    assert abs(_imp(lin, "x") - v_lin / (v_lin + v_n)) < 0.05
    assert lin.attrs["settings"]["measure"] == "linear"
    with pytest.raises(InvalidValueError, match="measure"):
        fanova_importance((X, y, space), measure="log")


def test_fanova_equals_optuna_on_the_same_forest():
    # same scikit-learn forest (settings and seed), continuous inputs on [0, 1]: the exact
    # decomposition must agree with Optuna's tree walk to rounding
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from optuna.distributions import FloatDistribution

    cs = CS.ConfigurationSpace()
    cs.add([CS.UniformFloatHyperparameter(f"x{j}", 0.0, 1.0) for j in range(3)])
    space = Space("unit3", "1", cs, [Fidelity("epochs", 1, 9)])
    rng = np.random.default_rng(3)
    X = rng.random((250, 3))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + 0.3 * X[:, 0] * X[:, 2]
    ours = fanova_importance((X, y, space), n_trees=8, seed=0, pairwise=False)
    dists = {f"x{j}": FloatDistribution(0.0, 1.0) for j in range(3)}
    study = optuna.create_study()
    study.add_trials([optuna.trial.create_trial(
        params={f"x{j}": float(X[i, j]) for j in range(3)}, distributions=dists,
        value=float(y[i])) for i in range(len(y))])
    theirs = optuna.importance.FanovaImportanceEvaluator(n_trees=8, seed=0).evaluate(study)
    for name, v in theirs.items():
        assert _imp(ours, name) == pytest.approx(v, abs=1e-9)


def test_fanova_quantile_restricts_to_the_good_region():
    # y = -10 [x0 < 1/2] + x1: overall x0 dominates; among the best 40% (all in the half
    # x0 >= 1/2) only x1 varies
    rng = np.random.default_rng(1)
    X = rng.random((1500, 3))
    y = -10.0 * (X[:, 0] < 0.5) + X[:, 1]
    full = fanova_importance((X, y), n_trees=16, pairwise=False)
    assert _imp(full, "x0") > 0.9
    good = fanova_importance((X, y), n_trees=16, pairwise=False, quantile=(0.6, 1.0))
    assert _imp(good, "x1") > 0.9 and _imp(good, "x0") < 0.05
    same = fanova_importance((X, y), n_trees=16, pairwise=False, cutoffs=(-100, 100))
    assert np.allclose(same["importance"], full["importance"])
    with pytest.raises(InvalidValueError, match="quantile"):
        fanova_importance((X, y), quantile=(0.9, 0.1))


def _conditional_space() -> Space:
    cs = CS.ConfigurationSpace()
    opt = CS.CategoricalHyperparameter("opt", ["sgd", "adam"])
    mom = CS.UniformFloatHyperparameter("momentum", 0.0, 1.0)
    lr = CS.UniformFloatHyperparameter("lr", 0.0, 1.0)
    cs.add([opt, mom, lr, CS.EqualsCondition(mom, opt, "sgd")])
    return Space("cond-test", "1", cs, [Fidelity("epochs", 1, 9)])


def test_fanova_and_relieff_handle_inactive_conditional_values():
    space = _conditional_space()
    X = space.sample_array(1200, 2)
    j_mom = space.names.index("momentum")
    assert np.isnan(X[:, j_mom]).any() and not np.isnan(X[:, j_mom]).all()
    cfg = space.decode(X)
    mom = np.array([c.get("momentum", 0.0) for c in cfg])
    lr = X[:, space.names.index("lr")]
    # momentum matters (only where it is active); lr does not
    y = 3.0 * mom ** 2
    df = fanova_importance((X, y, space), n_trees=16)
    assert _imp(df, "momentum") + _imp(df, "opt:momentum") + _imp(df, "opt") > 0.9
    assert _imp(df, "lr") < 0.01
    # the same configurations, an objective momentum does not affect: it gets nothing
    df2 = fanova_importance((X, 2.0 * lr, space), n_trees=16)
    assert _imp(df2, "lr") > 0.95 and _imp(df2, "momentum") < 0.01
    rf = relieff_importance((X, y, space), n_bootstrap=0)
    assert _imp(rf, "momentum") > _imp(rf, "lr")


def test_relieff_ranks_relevant_above_noise_and_sums_to_one():
    # spec test: y = 5 x1 + x2 + noise ranks x1 > x2 > noise dims
    rng = np.random.default_rng(0)
    X = rng.random((800, 6))
    y = 5 * X[:, 1] + X[:, 2] + 0.1 * rng.normal(size=800)
    df = relieff_importance((X, y), k=10, n_bootstrap=50, seed=0)
    order = list(df["hyperparameter"])
    assert order[:2] == ["x1", "x2"]
    w = df.set_index("hyperparameter")["importance"]
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    assert (df["std"] >= 0).all() and (df["low"] <= df["high"]).all()
    raw = relieff_importance((X, y), normalize="none", n_bootstrap=30)
    assert (raw["std"] > 0).all()                            # the bootstrap moves the weights
    assert (raw.set_index("hyperparameter")["importance"][["x0", "x3"]] < 0.05).all()
    assert (w[["x0", "x3", "x4", "x5"]] == 0).all()         # "clip": irrelevant -> 0
    r = df.set_index("hyperparameter")["raw"]
    assert r["x2"] < 0 and r["x2"] > r[["x0", "x3", "x4", "x5"]].max()
    shifted = relieff_importance((X, y), normalize="shift", n_bootstrap=0, weighting="rank")
    s = shifted.set_index("hyperparameter")["importance"]
    assert s.min() == 0.0 and s.sum() == pytest.approx(1.0)
    assert s["x2"] > s[["x0", "x3", "x4", "x5"]].max() > 0


def test_relieff_categorical_features():
    # four categoricals with 5 choices, 300 configs: neighbourhoods mix choices, so the 0/1
    # diff of a categorical is exercised; only c0 matters
    cs = CS.ConfigurationSpace()
    cs.add([CS.CategoricalHyperparameter(f"c{j}", list("abcde")) for j in range(4)])
    space = Space("cats", "1", cs, [Fidelity("epochs", 1, 9)])
    X = space.sample_array(300, 4)
    y = np.array([0.0, 1.0, 3.0, 0.5, 2.0])[X[:, space.names.index("c0")].astype(int)]
    df = relieff_importance((X, y, space), n_bootstrap=0)
    assert df["hyperparameter"].iloc[0] == "c0"
    assert _imp(df, "c0") > 0.9


def test_relieff_cannot_weigh_a_categorical_its_neighbours_always_share():
    # a known RReliefF property, pinned so docs/analysis.md stays true: with many configs
    # per choice, a categorical's diff (1) exceeds every numeric diff, the k nearest
    # neighbours share its choice, and it gets no weight however much it matters
    space = _mixed_space()
    X = space.sample_array(600, 4)
    y = np.array([0.0, 1.0, 3.0])[X[:, space.names.index("opt")].astype(int)]
    y = y + 0.05 * X[:, space.names.index("noise")]
    rf = relieff_importance((X, y, space), n_bootstrap=0, normalize="none")
    assert abs(_imp(rf, "opt")) < 1e-3
    fa = fanova_importance((X, y, space), n_trees=8, pairwise=False)
    assert _imp(fa, "opt") > 0.9


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """hia-cnn table, 80 configs x 2 seeds, 9 epochs: valid_acc depends on learning rate
    and grows with the epoch; seed 1 is noisier."""
    from hasbench.spaces import get_space

    space = get_space("hia-cnn")
    rng = np.random.default_rng(0)
    cfgs = space.sample(80, rng)
    E = 9
    runs = []
    for c in cfgs:
        q = 1.0 - abs(np.log10(c["learning_rate"]) + 2.5) / 2.0
        for s in (0, 1):
            curve = q * (1 - np.exp(-np.arange(1, E + 1) / 3)) + 0.01 * s * rng.random(E)
            m = {k: curve if k == "valid_acc" else rng.random(E) for k in DEFAULT_METRICS}
            runs.append(Run(c, s, m, np.ones(E), {"params": 1, "flops": 1, "model_bytes": 1}))
    path = tmp_path_factory.mktemp("imp") / "t.h5"
    return write_table(path, space, runs, max_epochs=E)


def test_table_source_fidelity_and_objective(table):
    d = load_importance_data(table)
    assert d.names == table.space.names and d.y.shape == (80,)
    d9 = load_importance_data(table.path, fidelity=9)      # a path works too
    assert "epochs" not in d9.names                         # in-config fidelity left out
    df = fanova_importance(table, fidelity=5, n_trees=8, pairwise=False)
    assert df["hyperparameter"].iloc[0] == "learning_rate"
    assert df.attrs["fidelity"] == 5 and df.attrs["objective"] == "valid_acc"
    d0 = load_importance_data(table, training_seed=0)
    assert not np.allclose(d0.y, d.y)
    with pytest.raises(FidelityError, match=r"'fidelity'.*\[1, 9\]"):
        fanova_importance(table, fidelity=27)
    with pytest.raises(FidelityError, match="fidelity"):
        relieff_importance(table, fidelity=2.5)
    with pytest.raises(UnknownNameError, match="objective"):
        fanova_importance(table, objective="valid_accuracy")
    with pytest.raises(InvalidValueError, match="training_seed"):
        load_importance_data(table, training_seed=7)


def test_benchmark_source_samples_the_space():
    from hasbench.benchmarks.synthetic import SyntheticBenchmark

    bench = SyntheticBenchmark("zela2018")
    df = relieff_importance(bench, n_samples=300, n_bootstrap=10)
    assert set(df["hyperparameter"]) == set(bench.space.names)
    df = fanova_importance(bench, fidelity=9, n_samples=300, n_trees=8, pairwise=False)
    assert df.attrs["n"] == 300 and df.attrs["source"].startswith("benchmark")


def test_helpers_and_input_errors(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.random((200, 3))
    y = 2 * X[:, 0] + X[:, 2]
    w = importance_weights((X, y), method="fanova", n_trees=8)
    assert list(w) == ["x0", "x1", "x2"] and sum(w.values()) == pytest.approx(1.0)
    assert w["x0"] > w["x2"] > w["x1"]
    w2 = importance_weights((X, y))                        # N-RReliefF by default
    assert max(w2, key=w2.get) == "x0"
    with pytest.raises(InvalidValueError, match=r"'method'.*fanova.*n-relieff"):
        importance((X, y), method="fanava")
    with pytest.raises(InvalidValueError, match="n_trees"):
        fanova_importance((X, y), n_trees=0)
    with pytest.raises(InvalidValueError, match="'k'"):
        relieff_importance((X[:5], y[:5]), k=10)
    with pytest.raises(InvalidValueError, match="y"):
        fanova_importance((X, y[:10]))
    with pytest.raises(InvalidValueError, match="vary"):
        fanova_importance((X, np.ones(200)), n_trees=2)
    with pytest.raises(InvalidValueError, match="source"):
        fanova_importance(42)
    with pytest.raises(InvalidValueError, match="source"):
        fanova_importance(str(tmp_path / "missing.h5"))
    fig = plot_importance(fanova_importance((X, y), n_trees=4), tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 1000 and len(fig.axes) == 2
