"""DyESP (hasbench/optimizers/dyesp.py): the meta-scheduler's exploration degree, the MLP
pruner, the pruned-record feedback, the ablation switches, equality with its base sampler,
determinism, and replays of the shipped benchmarks through ``hasbench run``."""

from __future__ import annotations

import inspect
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.errors import InvalidValueError
from hasbench.optimizers import TPE, Result, get_optimizer
from hasbench.optimizers.dyesp import _MLP, DyESP, _spearman, _tpe_propose
from hasbench.simulate import simulate
from hasbench.spaces import get_space

SPACE = get_space("hia-cnn")
# a pruner that is active early on the synthetic benchmark (its static metrics are not the
# exact recipe's, so the reference pool is the candidates seen so far)
EAGER = dict(rho_off=-1.0, rho_on=-1.0, q_start=0.6, q_end=0.5)


@pytest.fixture(scope="module")
def bench():
    return SyntheticBenchmark("hia-cnn")


def _run(bench, seed=0, evals=150, **kw):
    opt = DyESP(bench.space, seed, **kw)
    tr = simulate(bench, opt, seed=seed, n_workers=4, max_evaluations=evals)
    return opt, tr.frame


def _proposals(frame):
    new = frame[~frame["continues"]]
    return new[SPACE.names].to_numpy()


# --------------------------------------------------------------------------- pruner
def test_never_evaluates_a_pruned_candidate_and_pruning_is_free(bench):
    opt, f = _run(bench, **EAGER)
    pruned = f[f["status"] == "pruned"]
    assert len(pruned) >= 10  # the pruner was active
    evaluated = set(f.loc[f["status"] != "pruned", "trial"])
    assert not set(pruned["trial"]) & evaluated
    # zero simulated time: no worker, start == end, no cost
    assert (pruned["cost"] == 0).all() and (pruned["start"] == pruned["end"]).all()
    assert (pruned["worker"] == -1).all()
    # every pruned job is in H with tag "pruned" and its predicted error
    h = [r for r in opt.history if r["tag"] == "pruned"]
    assert sorted(r["job"] for r in h) == sorted(pruned["job"])
    assert all(math.isfinite(r["y"]) for r in h)
    # ... and in the sampler's bad group (weight pruned_weight = 0.5), never an observation
    top = opt.models[-1]
    bad = top._kind[:top._n] == 1
    assert bad.sum() == len(pruned)
    np.testing.assert_array_equal(top._bw[:top._n][bad], 0.5)
    assert {r.kind for r in opt._bad_records} == {"pruned"}
    # the pruner predicted only rung-0 candidates and decided by its quantile threshold
    assert (pruned["rung"] == 0).all()


def test_pruner_off_means_no_pruned_jobs(bench):
    opt, f = _run(bench, no_pruner=True)
    assert opt.pruner is None
    assert (f["status"] != "pruned").all()


def test_pruner_disabled_while_its_ranking_is_poor(bench):
    # rho_off above any attainable correlation: the pruner never prunes
    opt, f = _run(bench, rho_off=1.0, rho_on=1.0)
    assert (f["status"] != "pruned").all()
    assert opt.pruner.rounds and all(r["q_prune"] == 1.0 for r in opt.pruner.rounds)


def test_q_prune_follows_the_schedule(bench):
    opt, _ = _run(bench, rho_off=-1.0, rho_on=-1.0, q_ramp=3)
    q = [r["q_prune"] for r in opt.pruner.rounds if r["rho"] is not None]
    # rho >= rho_on every round: 0.9 -> 0.5 in 3 steps, then stays
    np.testing.assert_allclose(q[:5], [0.9 - 0.4 / 3, 0.9 - 0.8 / 3, 0.5, 0.5, 0.5])
    # before rho is known an untrained pruner is off
    first = opt.pruner.rounds[0]
    assert first["rho"] is None and first["q_prune"] == 1.0


def test_mlp_learns_a_ranking_of_static_metrics():
    # y a known function of (log params, log flops) and two hyperparameters
    rng = np.random.default_rng(0)
    X = rng.random((400, 6))
    y = (X[:, 0] - 0.3) ** 2 + 0.5 * X[:, 1] + 0.2 * np.sin(6 * X[:, 2])
    z = (y - y.mean()) / y.std()
    net = _MLP(6, (64, 64), 0.1, np.random.default_rng(1))
    net.fit(X[:300], z[:300], np.zeros(300), 200, 1e-3, 0.5, 256,
            np.random.default_rng(2), 64, epochs=True)
    assert _spearman(net.predict(X[300:]), y[300:]) >= 0.8


def test_pretraining_activates_the_pruner_from_the_start(bench):
    # static="none": encoding features only, a uniform reference pool from the start (the
    # source here is the target itself: a test of the mechanics, not leave-target-out)
    opt, f = _run(bench, pretrain="synthetic:hia-cnn", pretrain_n=200, pretrain_epochs=20,
                  static="none", evals=40)
    assert opt.pruner.pretrained
    # pruning starts before the first fine-tuning round (5 results)
    status = f["status"].to_numpy()
    first = int(np.argmax(status == "pruned"))
    assert status[first] == "pruned" and (status[:first] == "ok").sum() < 5
    # the pre-trained model predicted from the first job on: rho is known at the first round
    assert opt.pruner.rounds[0]["rho"] is not None


# --------------------------------------------------------------------------- exploration
def _loop(opt, loss_of, n_results, prune_every=None):
    """Ask/tell on one worker; ``loss_of(i)`` gives the i-th result's loss."""
    i = 0
    k = 0
    while i < n_results:
        job = opt.ask()
        if prune_every and not job.continues and prune_every(k):
            k += 1
            opt.tell_pruned(job, {})
            continue
        if not job.continues:
            k += 1
        opt.tell(job, Result(loss_of(i), 1.0))
        i += 1


def test_eps_grows_on_a_flat_objective():
    opt = DyESP(SPACE, 0, no_pruner=True)
    _loop(opt, lambda i: 0.5, 300)
    eps = [e for _, e in opt.eps_trace]
    assert eps[0] == 0.3 and eps[-1] == 0.5
    assert all(b >= a for a, b in zip(eps[:-1], eps[1:], strict=True))  # never decreases
    assert eps[2] == pytest.approx(0.3 * 1.25)  # window 1 has no earlier best: unchanged
    assert all(0.05 <= e <= 0.5 for e in eps)


def test_eps_shrinks_on_a_strictly_improving_objective():
    opt = DyESP(SPACE, 0, no_pruner=True)
    _loop(opt, lambda i: 1.0 / (1.0 + i), 600)
    eps = [e for _, e in opt.eps_trace]
    assert eps[-1] == 0.05
    assert all(b <= a for a, b in zip(eps[:-1], eps[1:], strict=True))
    assert eps[2] == pytest.approx(0.3 * 0.8)
    assert all(0.05 <= e <= 0.5 for e in eps)


def test_high_prune_rate_pushes_eps_outward():
    opt = DyESP(SPACE, 0, no_pruner=True, eps0=0.1)
    # 7 of every 10 proposals pruned, flat losses
    _loop(opt, lambda i: 0.5, 60, prune_every=lambda k: k % 10 < 7)
    eps = [e for _, e in opt.eps_trace]
    # window 1: no earlier best (iota rule skipped), prune rate 0.7 > 0.6: +0.05
    assert eps[1] == pytest.approx(0.15)
    # window 2: stagnation (x1.25), then +0.05
    assert eps[2] == pytest.approx(0.15 * 1.25 + 0.05)


def test_eps_stays_in_bounds_with_the_pruner(bench):
    for seed in range(2):
        opt, _ = _run(bench, seed=seed, evals=100, eps0=0.05, **EAGER)
        eps = np.array([e for _, e in opt.eps_trace])
        assert len(eps) > 5 and eps.min() >= 0.05 and eps.max() <= 0.5


def test_fixed_eps_never_moves():
    opt = DyESP(SPACE, 0, no_pruner=True, fixed_eps=True, eps0=0.2)
    _loop(opt, lambda i: 0.5, 100)
    assert {e for _, e in opt.eps_trace} == {0.2}


def test_eps_is_the_rate_of_uniform_proposals():
    opt = DyESP(SPACE, 0, no_pruner=True, fixed_eps=True, eps0=0.5, scheduler="none",
                n_candidates=4)
    hows = []
    for i in range(300):
        job = opt.ask()
        hows.append(job.info["proposal"])
        opt.tell(job, Result(float(np.sin(i)), 1.0))
    model = hows[10:]
    assert abs(model.count("uniform") / len(model) - 0.5) < 0.07


# --------------------------------------------------------------------------- base sampler
def _random_losses(n, seed=3):
    r = np.random.default_rng(seed).random(n)
    return [math.inf if v < 0.05 else float(v) for v in r]  # some failures


def test_pruner_off_eps_fixed_at_zero_equals_tpe():
    dy = DyESP(SPACE, 7, scheduler="none", no_pruner=True, fixed_eps=True, eps0=0.0)
    tpe = TPE(SPACE, 7, gamma=0.15, n_candidates=64)
    for v in _random_losses(60):
        a, b = dy.ask(), tpe.ask()
        np.testing.assert_array_equal(a.x, b.x)
        assert a.fidelity == b.fidelity
        dy.tell(a, Result(v, 1.0, "ok" if math.isfinite(v) else "crashed"))
        tpe.tell(b, Result(v, 1.0, "ok" if math.isfinite(v) else "crashed"))


def test_pruner_off_eps_fixed_at_zero_equals_tpe_in_a_replay(bench):
    kw = dict(scheduler="none", no_pruner=True, fixed_eps=True, eps0=0.0)
    a = simulate(bench, "dyesp", seed=2, n_workers=4, max_evaluations=50,
                 optimizer_kwargs=kw).frame
    b = simulate(bench, "tpe", seed=2, n_workers=4, max_evaluations=50,
                 optimizer_kwargs=dict(gamma=0.15, n_candidates=64)).frame
    np.testing.assert_array_equal(a[SPACE.names].to_numpy(), b[SPACE.names].to_numpy())
    np.testing.assert_array_equal(a["loss"], b["loss"])


def test_widened_kernels_are_tpes_at_beta_one():
    m1 = TPE(SPACE, 4, n_startup=0)
    m2 = TPE(SPACE, 4, n_startup=0)
    for v in _random_losses(30):
        for m in (m1, m2):
            j = m.ask()
            m.tell(j, Result(v, 1.0, "ok" if math.isfinite(v) else "crashed"))
    for _ in range(5):
        np.testing.assert_array_equal(_tpe_propose(m1, 1.0), m2._propose())
    # wider kernels draw other candidates
    m3 = TPE(SPACE, 4, n_startup=0)
    m3._R, m3._loss, m3._kind, m3._tid, m3._bw, m3._n, m3._n_ranked = (
        m1._R.copy(), m1._loss.copy(), m1._kind.copy(), m1._tid.copy(), m1._bw.copy(),
        m1._n, m1._n_ranked)
    m4 = TPE(SPACE, 4, n_startup=0)
    m4._R, m4._loss, m4._kind, m4._tid, m4._bw, m4._n, m4._n_ranked = (
        m1._R.copy(), m1._loss.copy(), m1._kind.copy(), m1._tid.copy(), m1._bw.copy(),
        m1._n, m1._n_ranked)
    assert not np.array_equal(_tpe_propose(m3, 3.0), _tpe_propose(m4, 1.0))


def test_all_uniform_proposals_equal_asha(bench):
    # eps fixed at 1, pruner off: every new configuration is uniform, ASHA's own draws
    kw = dict(no_pruner=True, fixed_eps=True, eps0=1.0)
    a = simulate(bench, "dyesp", seed=5, n_workers=4, max_evaluations=120,
                 optimizer_kwargs=kw).frame
    b = simulate(bench, "asha", seed=5, n_workers=4, max_evaluations=120).frame
    cols = ["trial", "fidelity", "continues", "loss"] + SPACE.names
    pd.testing.assert_frame_equal(a[cols], b[cols])


def test_multivariate_auto_follows_the_architecture_part():
    assert not DyESP(SPACE, 0).multivariate  # hia-cnn: 2 of 5 architecture dims categorical
    assert not DyESP(get_space("zela2018"), 0).multivariate
    assert DyESP(get_space("nb201-joint"), 0).multivariate  # Op1..Op6 categorical


# --------------------------------------------------------------------------- feedback
def test_no_feedback_changes_the_proposal_sequence(bench):
    o1, f1 = _run(bench, seed=1, evals=100, **EAGER)
    o2, f2 = _run(bench, seed=1, evals=100, no_feedback=True, **EAGER)
    assert (f1["status"] == "pruned").sum() > 0 and (f2["status"] == "pruned").sum() > 0
    assert not any(r["tag"] == "pruned" for r in o2.history)
    assert all((m._kind[:m._n] == 1).sum() == 0 for m in o2.models)
    assert not o2._bad_records
    p1, p2 = _proposals(f1), _proposals(f2)
    n = min(len(p1), len(p2))
    assert not np.array_equal(p1[:n], p2[:n])
    # the sequences agree up to the first proposal after the first pruned record
    first = int(np.flatnonzero((f1["status"] == "pruned").to_numpy())[0])
    k = int((~f1["continues"].iloc[:first + 1]).sum())
    np.testing.assert_array_equal(p1[:k], p2[:k])


# --------------------------------------------------------------------------- determinism
def test_same_seed_same_trace(bench):
    a = simulate(bench, "dyesp", seed=3, n_workers=4, max_evaluations=100,
                 optimizer_kwargs=EAGER).frame
    b = simulate(bench, "dyesp", seed=3, n_workers=4, max_evaluations=100,
                 optimizer_kwargs=EAGER).frame
    assert (a["status"] == "pruned").any()
    pd.testing.assert_frame_equal(a, b)
    c = simulate(bench, "dyesp", seed=4, n_workers=4, max_evaluations=30,
                 optimizer_kwargs=EAGER).frame
    assert not a[SPACE.names].head(20).equals(c[SPACE.names].head(20))


# --------------------------------------------------------------------------- parameters
def test_every_parameter_is_accepted_by_the_registry():
    sig = inspect.signature(DyESP.__init__)
    params = {n: p.default for n, p in sig.parameters.items()
              if p.kind is p.KEYWORD_ONLY and n not in ("in_shape", "n_classes")}
    opt = get_optimizer("dyesp", "hia-cnn", seed=0, **params)
    assert isinstance(opt, DyESP)
    # the base classes' options too (ASHA, Optimizer)
    get_optimizer("dyesp", "hia-cnn", eta=2, asha_mode="stopping", failed_weight=0.0)
    exact = get_optimizer("dyesp", "hia-cnn", in_shape=[1, 8, 8], n_classes=10,
                          static="exact")
    assert exact.in_shape == (1, 8, 8)


@pytest.mark.parametrize("kw,name", [
    (dict(eps0=0.9), "eps0"), (dict(eps_min=0.6, eps_max=0.5), "eps_max"),
    (dict(static="exact"), "in_shape"), (dict(in_shape=[1, 8, 8]), "n_classes"),
    (dict(fixed_eps="yes"), "fixed_eps"), (dict(hidden=[0]), "hidden"),
    (dict(q_start=0.4), "q_start"), (dict(scheduler="bohb"), "scheduler"),
    (dict(pretrain=3), "pretrain"), (dict(tpe_kwargs={"gamma": 0.2}), "tpe_kwargs"),
    (dict(multivariate="maybe"), "multivariate"), (dict(window=0), "window")])
def test_bad_values_name_the_parameter(kw, name):
    with pytest.raises(InvalidValueError) as e:
        DyESP(SPACE, 0, **kw)
    assert e.value.parameter == name


def test_in_shape_refused_for_a_space_without_a_recipe():
    from hasbench.benchmarks.synthetic import one_dim_space

    with pytest.raises(InvalidValueError) as e:
        DyESP(one_dim_space(), 0, in_shape=[1, 8, 8], n_classes=10)
    assert e.value.parameter == "in_shape"


# --------------------------------------------------------------------------- shipped
def test_hasbench_run_dyesp_on_digits(tmp_path):
    out = tmp_path / "r"
    proc = subprocess.run(
        [sys.executable, "-m", "hasbench", "run", "--benchmark", "digits-hia-cnn",
         "--optimizer", "dyesp", "--seeds", "0-1", "--workers", "4", "--budget", "3fe",
         "--opt", "eps0=0.2", "--opt", "hidden=[32, 32]", "--opt", "ft_every=3",
         "--out", str(out), "--no-progress"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    from hasbench.simulate.trace import Trace

    tr = Trace.load(out / "seed-000000.parquet")
    assert tr.meta["optimizer"] == "dyesp"
    assert tr.meta["optimizer_kwargs"]["hidden"] == [32, 32]
    assert len(tr.frame) > 20
    bad = subprocess.run(
        [sys.executable, "-m", "hasbench", "run", "--benchmark", "synthetic:hia-cnn",
         "--optimizer", "dyesp", "--budget", "1fe", "--opt", "eps0=2", "--out",
         str(tmp_path / "bad")], capture_output=True, text=True)
    assert bad.returncode == 2 and "eps0" in bad.stderr


@pytest.mark.parametrize("name", ["fmnist-hia-cnn", "digits-zela2018"])
def test_replays_on_shipped_benchmarks(name, tmp_path):
    import hasbench
    from hasbench.simulate import simulate_many

    b = hasbench.load(name)
    trs = simulate_many(b, "dyesp", [0, 1, 2], n_workers=4, max_evaluations=60)
    for tr in trs:
        f = tr.frame
        assert (f["status"] == "ok").sum() == 60
        assert np.isfinite(f["incumbent_true"].iloc[-1])
    # the pruner computes the exact static metrics of its reference pool: the input shape
    # and class count were inferred from the benchmark's own (exact) params and FLOPs
    opt = DyESP(b.space, 0)
    simulate(b, opt, seed=0, n_workers=4, max_evaluations=30)
    assert opt.pruner._static_mode == "exact"
    assert opt.pruner._setup[1] == 10
