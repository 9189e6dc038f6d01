"""hasbench's TPE against Optuna's own TPE internals (Optuna 5): gamma, weights, the good/bad
split, the Parzen estimators (numerical, log, int, categorical kernels), the prior component,
failed/pruned records, constant liar, determinism, subspace search and convergence."""

from __future__ import annotations

import math

import ConfigSpace as CS
import numpy as np
import pytest

from hasbench.errors import InvalidValueError
from hasbench.optimizers import Result, get_optimizer
from hasbench.optimizers.parzen import Columns, ParzenEstimator, default_weights
from hasbench.optimizers.tpe import TPE
from hasbench.spaces import Space, get_space

optuna = pytest.importorskip("optuna")
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution  # noqa: E402
from optuna.samplers._tpe import sampler as osampler  # noqa: E402
from optuna.samplers._tpe.parzen_estimator import (  # noqa: E402
    _ParzenEstimator,
    _ParzenEstimatorParameters,
)


def _space(*hps, name="toy"):
    cs = CS.ConfigurationSpace()
    cs.add(list(hps))
    return Space(name, "1", cs)


def _feed(opt, losses):
    for v in losses:
        job = opt.ask()
        opt.tell(job, Result(float(v), 1.0))


@pytest.mark.parametrize("n", [1, 10, 100, 1000])
def test_gamma_is_optunas_default(n):
    opt = TPE(get_space("hia-cnn"), 0)
    assert opt.n_below(n) == osampler.default_gamma(n)


@pytest.mark.parametrize("n", [0, 1, 24, 25, 26, 100])
def test_default_weights_are_optunas(n):
    np.testing.assert_array_equal(default_weights(n), osampler.default_weights(n))


def test_split_good_bad_and_weights():
    sp = _space(CS.UniformFloatHyperparameter("x", 0.0, 1.0))
    opt = TPE(sp, 0, n_startup=100)
    losses = np.random.default_rng(1).permutation(40) / 40.0
    _feed(opt, losses)
    (G, wg), (B, wb) = opt.split()
    assert G.shape[0] == 4 and B.shape[0] == 36          # ceil(0.1 * 40)
    xs = opt._R[:40, 0]
    best = np.sort(np.argsort(losses, kind="stable")[:4])  # trial order
    np.testing.assert_array_equal(G[:, 0], xs[best])
    rest = np.setdiff1d(np.arange(40), best)
    np.testing.assert_array_equal(B[:, 0], xs[rest])
    np.testing.assert_array_equal(wg, np.ones(4))
    np.testing.assert_array_equal(wb, np.ones(36))        # multipliers; ramp applied later
    lk, gk = opt._estimators((G, wg), (B, wb), np.array([0]))
    w = np.append(osampler.default_weights(36), 1.0)
    np.testing.assert_allclose(gk.w, w / w.sum())          # ramp over the 36 oldest-first


def _optuna_pe(obs, ss, n):
    p = _ParzenEstimatorParameters(1.0, True, False, osampler.default_weights, True)
    return _ParzenEstimator(obs, ss, p)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 40])
def test_parzen_estimator_matches_optuna(n):
    rng = np.random.default_rng(n)
    ss = {"a": FloatDistribution(0.0, 0.5), "b": FloatDistribution(1e-4, 1e-1, log=True),
          "c": IntDistribution(1, 5), "d": IntDistribution(16, 256, log=True),
          "e": CategoricalDistribution(["x", "y", "z"])}
    cols = Columns([0, 0, 0, 0, 3], [0, 1e-4, 1, 16, 0], [0.5, 1e-1, 5, 256, 0],
                   [0, 0, 1, 1, 0], [False, True, False, True, False])
    obs = {"a": rng.uniform(0, .5, n), "b": np.exp(rng.uniform(np.log(1e-4), np.log(.1), n)),
           "c": rng.integers(1, 6, n).astype(float),
           "d": np.round(np.exp(rng.uniform(np.log(16), np.log(256), n))),
           "e": rng.integers(0, 3, n).astype(float)}
    obs_arr = np.column_stack([obs[k] for k in ss]) if n else np.zeros((0, 5))
    mine = ParzenEstimator(obs_arr, cols, default_weights(n))
    ref = _optuna_pe(obs, ss, n)
    S = ref.sample(np.random.RandomState(0), 64)
    X = np.column_stack([S[k] for k in ss])
    np.testing.assert_allclose(mine.log_pdf(X), ref.log_pdf(S), rtol=1e-9, atol=1e-9)
    per = mine.log_pdf_columns(X)
    for j, k in enumerate(ss):  # independent TPE: one Optuna estimator per parameter
        r1 = _optuna_pe({k: obs[k]}, {k: ss[k]}, n)
        np.testing.assert_allclose(per[:, j], r1.log_pdf({k: S[k]}), rtol=1e-9, atol=1e-9)
    # samples follow the same distribution: compare the mean log density under Optuna's
    Y = mine.sample(np.random.default_rng(1), 4000, joint=True)
    lp_mine = ref.log_pdf({k: Y[:, j] for j, k in enumerate(ss)}).mean()
    S2 = ref.sample(np.random.RandomState(2), 4000)
    lp_ref = ref.log_pdf(S2).mean()
    assert abs(lp_mine - lp_ref) < 0.15


def test_categorical_kernel_is_optunas_and_ignores_index_order():
    cols = Columns([4], [0], [1], [0], [False])
    obs = np.array([[0.0], [0.0], [2.0]])
    pe = ParzenEstimator(obs, cols, np.ones(3))
    p = np.exp(pe.log_pdf(np.arange(4.0)[:, None]))
    # Optuna: kernel rows (1/4 prior spread + 1 at the observation), normalised; uniform prior
    a = 1.0 / 4
    row = lambda i: (np.full(4, a) + np.eye(4)[i]) / (4 * a + 1)  # noqa: E731
    expect = (row(0) + row(0) + row(2) + np.full(4, 0.25)) / 4
    np.testing.assert_allclose(p, expect)
    assert p[1] == pytest.approx(p[3])  # unobserved choices alike, whatever their index


def test_prior_keeps_unobserved_choices_alive():
    """All good configs share one choice; Optuna's prior still proposes the others (the old
    BOHB-KDE "tpe" almost never did: its bandwidth came from the std of the choice index)."""
    sp = _space(CS.CategoricalHyperparameter("c", ["a", "b", "c"]),
                CS.UniformFloatHyperparameter("x", 0.0, 1.0))
    opt = TPE(sp, 0, n_startup=10)
    got = []
    for i in range(70):
        job = opt.ask()
        cfg = job.config(sp)
        opt.tell(job, Result((0.0 if cfg["c"] == "a" else 10.0) + cfg["x"], 1.0))
        if i >= 10:
            got.append(cfg["c"])
    assert min(got.count("b"), got.count("c")) >= 3


def test_deterministic_per_seed_and_seed_dependent():
    sp = get_space("hia-cnn")

    def run(seed, **kw):
        opt = get_optimizer("tpe", sp, seed=seed, **kw)
        out = []
        for i in range(25):
            job = opt.ask()
            out.append(job.x)
            opt.tell(job, Result(float(np.sin(job.x).sum() + i * 1e-3), 1.0))
        return np.array(out)

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3)[10:], run(4)[10:])
    a = run(3, multivariate=True)
    np.testing.assert_array_equal(a, run(3, multivariate=True))
    assert not np.array_equal(a[10:], run(3)[10:])
    sp.check_array(a)


def test_subspace_names_and_fixed():
    sp = get_space("hia-cnn")
    opt = get_optimizer("tpe", sp, seed=0, names=["learning_rate", "optimizer"],
                        fixed={"n_conv_layers": 4})
    default = sp.default()
    for _ in range(30):
        job = opt.ask()
        c = job.config(sp)
        assert c["n_conv_layers"] == 4 and c["epochs"] == 27 and job.fidelity == 27
        assert c["n_filters"] == default["n_filters"]
        opt.tell(job, Result(abs(math.log10(c["learning_rate"]) + 2.0), 1.0))
    assert opt.split()[0][0].shape[1] == 2


@pytest.mark.parametrize("multivariate", [False, True])
def test_concentrates_on_a_known_optimum(multivariate):
    sp = _space(CS.UniformFloatHyperparameter("x", 0.0, 1.0),
                CS.UniformIntegerHyperparameter("k", 1, 9),
                CS.UniformFloatHyperparameter("lr", 1e-5, 1.0, log=True))
    opt = TPE(sp, 0, multivariate=multivariate)
    late = []
    for i in range(80):
        job = opt.ask()
        c = job.config(sp)
        loss = (c["x"] - 0.3) ** 2 + 0.01 * (c["k"] - 7) ** 2 + \
            0.01 * (math.log10(c["lr"]) + 3) ** 2
        opt.tell(job, Result(loss, 1.0))
        if i >= 60:
            late.append((c["x"], c["k"], math.log10(c["lr"])))
    late = np.array(late)
    med = np.median(late, axis=0)
    assert abs(med[0] - 0.3) < 0.1 and abs(med[1] - 7) <= 1 and abs(med[2] + 3) < 1.0


def test_failed_and_pruned_are_weighted_bad_records_only():
    sp = _space(CS.UniformFloatHyperparameter("x", 0.0, 1.0))
    opt = TPE(sp, 0, n_startup=5, pruned_weight=0.5, failed_weight=0.0)
    for _ in range(4):
        opt.tell_pruned(opt.ask(), {})
    opt.tell(opt.ask(), Result(math.inf, 1.0, "crashed"))
    assert opt._n_ranked == 0        # neither counts towards n_startup nor gamma
    _feed(opt, [0.5, 0.1, 0.3, 0.2, 0.4])
    (G, wg), (B, wb) = opt.split()
    assert G.shape[0] == 1 and B.shape[0] == 4 + 4   # 4 evaluated + 4 pruned, no crashed
    assert sorted(wb.tolist()) == [0.5] * 4 + [1.0] * 4
    opt0 = TPE(sp, 0, pruned_weight=0.0)
    opt0.tell_pruned(opt0.ask(), {})
    assert opt0._n == 0


def test_constant_liar_puts_pending_in_the_bad_group():
    sp = _space(CS.UniformFloatHyperparameter("x", 0.0, 1.0))
    opt = TPE(sp, 0, n_startup=3)
    _feed(opt, [0.3, 0.2, 0.1])
    pend = [opt.ask() for _ in range(3)]
    (_, _), (B, _) = opt.split()
    assert B.shape[0] == 2 + 3
    opt.tell(pend[0], Result(0.5, 1.0))
    assert opt.split()[1][0].shape[0] == 2 + 1 + 2
    off = TPE(sp, 0, n_startup=3, constant_liar=False)
    _feed(off, [0.3, 0.2, 0.1])
    off.ask()
    assert off.split()[1][0].shape[0] == 2


def test_named_errors():
    sp = get_space("hia-cnn")
    with pytest.raises(InvalidValueError, match="gamma"):
        TPE(sp, 0, gamma=0.0)
    with pytest.raises(InvalidValueError, match="weights"):
        TPE(sp, 0, weights="linear")
    with pytest.raises(InvalidValueError, match="ordinal"):
        TPE(sp, 0, ordinal="float")
    with pytest.raises(InvalidValueError, match="multivariate"):
        TPE(sp, 0, multivariate="yes")
    with pytest.raises(InvalidValueError, match="pruned_weight"):
        TPE(sp, 0, pruned_weight=-1.0)


def test_old_model_kept_as_tpe_kde():
    opt = get_optimizer("tpe-kde", "hia-cnn", seed=0)
    assert type(opt).__name__ == "KDETPE"
    _feed(opt, np.linspace(1, 0, 15))
    opt.space.check_array(opt.ask().x[None, :])
