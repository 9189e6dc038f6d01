"""Every optimizer: deterministic given its seed, valid jobs, named errors; subspace search,
pruner hook, staged (two-step) search, Optuna adapter."""

from __future__ import annotations

import numpy as np
import pytest

from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.errors import InvalidValueError, UnknownNameError
from hasbench.optimizers import (
    CallablePruner,
    StagedSearch,
    get_optimizer,
    list_optimizers,
)
from hasbench.simulate import simulate
from hasbench.spaces import get_space

FAST = {"bo": {"n_candidates": 200}}


@pytest.fixture(scope="module")
def bench():
    return SyntheticBenchmark("hia-cnn", seed=0)


@pytest.mark.parametrize("name", sorted(set(list_optimizers()) - {"optuna"}))
def test_reproducible_and_seed_dependent(bench, name):
    kw = dict(n_workers=2, max_evaluations=25, optimizer_kwargs=FAST.get(name, {}))
    a = simulate(bench, name, seed=3, **kw)
    b = simulate(bench, name, seed=3, **kw)
    c = simulate(bench, name, seed=4, **kw)
    assert a == b
    assert not a.frame.equals(c.frame)
    bench.space.check_array(a.frame[bench.space.names].to_numpy())
    fid = a.frame["fidelity"]
    assert ((fid >= 1) & (fid <= 27)).all()


def test_registry_errors():
    with pytest.raises(UnknownNameError, match="optimizer"):
        get_optimizer("smac", "hia-cnn")
    with pytest.raises(InvalidValueError, match="seed"):
        get_optimizer("random", "hia-cnn", seed=-1)
    with pytest.raises(InvalidValueError, match="eta"):
        get_optimizer("hyperband", "hia-cnn", eta=1)
    with pytest.raises(UnknownNameError, match="learning_rat"):
        get_optimizer("random", "hia-cnn", names=["learning_rat"])
    with pytest.raises(InvalidValueError, match="fixed"):
        get_optimizer("random", "hia-cnn", names=["learning_rate"],
                      fixed={"learning_rate": 0.01})
    with pytest.raises(InvalidValueError, match="epochs"):
        get_optimizer("hyperband", "hia-cnn", names=["epochs", "learning_rate"])
    with pytest.raises(InvalidValueError, match="max_fidelity"):
        get_optimizer("hyperband", "hia-cnn", fidelity=(1, 40))


def test_fixed_subspace(bench):
    sp = bench.space
    opt = get_optimizer("tpe", sp, seed=0, names=["learning_rate", "dropout_rate"],
                        fixed={"n_conv_layers": 4, "optimizer": "sgd"})
    tr = simulate(bench, opt, seed=0, max_evaluations=30)
    cfgs = tr.configs()
    assert all(c["n_conv_layers"] == 4 and c["optimizer"] == "sgd" for c in cfgs)
    assert all(c["epochs"] == 27 for c in cfgs)  # in-config fidelity fixed at the max
    default = sp.default()
    assert all(c["n_filters"] == default["n_filters"] for c in cfgs)
    assert len({c["learning_rate"] for c in cfgs}) == 30


def test_group_names_expand(bench):
    opt = get_optimizer("random", bench.space, seed=0, names=["architecture"])
    assert set(opt.names) == set(bench.space.metadata["groups"]["architecture"])


def test_full_budget_optimizer_may_search_epochs(bench):
    tr = simulate(bench, "random", seed=0, max_evaluations=30,
                  optimizer_kwargs={"names": list(bench.space.names)})
    f = tr.frame
    np.testing.assert_array_equal(f["fidelity"].to_numpy(), f["epochs"].to_numpy())
    assert f["fidelity"].nunique() > 5


def test_pruner_hook_zero_cost(bench):
    X = bench.space.sample_array(2000, 0)
    thr = float(np.median(bench.query(X, fidelity=27, metrics=["params"],
                                      as_arrays=True)["params"]))
    pr = CallablePruner(lambda job, f: f["params"] > thr)
    opt = get_optimizer("hyperband", bench.space, seed=0, pruner=pr)
    tr = simulate(bench, opt, seed=0, n_workers=2, max_evaluations=120)
    f = tr.frame
    pruned = f[f["status"] == "pruned"]
    ok = f[f["status"] == "ok"]
    assert len(pruned) > 10 and len(ok) == 120
    assert (pruned["start"] == pruned["end"]).all() and (pruned["cost"] == 0).all()
    params = bench.query(ok[bench.space.names].to_numpy(), fidelity=27, metrics=["params"],
                         as_arrays=True)["params"]
    assert (params <= thr).all()


@pytest.mark.parametrize("name", ["sh", "hyperband", "bohb", "asha", "dehb"])
def test_trials_pruned_at_the_first_rung_are_never_trained_later(bench, name):
    # issue 15 item 10: a pruner that rejects at every rung hides promotions of pruned
    # trials; this one rejects only new trials (about half, by config), never promotions
    def first_rung_half(job, f):
        return not job.continues and int(np.floor(job.x.sum() * 1e6)) % 2 == 0

    opt = get_optimizer(name, bench.space, seed=0, pruner=CallablePruner(first_rung_half, ()))
    f = simulate(bench, opt, seed=0, n_workers=2, max_evaluations=150).frame
    pruned = set(f.loc[f["status"] == "pruned", "trial"])
    ran = set(f.loc[f["status"] != "pruned", "trial"])
    assert len(pruned) > 20 and len(ran) > 20
    assert not pruned & ran
    # promotions happened among the trials that ran
    assert f.loc[f["status"] == "ok", "continues"].any() or \
        (f.loc[f["status"] == "ok"].groupby("trial")["fidelity"].nunique() > 1).any()


def test_staged_two_step_search(bench):
    sp = bench.space
    groups = sp.metadata["groups"]
    opt = StagedSearch(sp, seed=0, trials=[15, 10], base="random")
    tr = simulate(bench, opt, seed=0, n_workers=3, max_evaluations=1000)
    assert opt.finished and len(tr.frame) == 25
    cfgs = tr.frame.sort_values("job")
    dec = sp.decode(cfgs[sp.names].to_numpy())
    default = sp.default()
    stage0, stage1 = dec[:15], dec[15:]
    for c in stage0:  # training HPs stay at their defaults (epochs: the max fidelity)
        assert all(c[n] == default[n] for n in groups["training"] if n != "epochs")
    best = opt.stage_best[0]
    assert set(best) == set(groups["architecture"])
    for c in stage1:  # architecture fixed to stage 0's best, training varies
        assert all(c[n] == best[n] for n in best)
    assert len({c["learning_rate"] for c in stage1}) == 10
    # the best of stage 0 is its lowest loss
    f0 = cfgs.iloc[:15]
    i = int(np.argmin(f0["loss"].to_numpy()))
    assert sp.decode(f0[sp.names].to_numpy()[i:i + 1])[0]["n_conv_layers"] == \
        best["n_conv_layers"]


def test_optuna_adapter(bench):
    pytest.importorskip("optuna")
    kw = dict(n_workers=2, max_evaluations=30)
    a = simulate(bench, "optuna", seed=1, **kw)
    b = simulate(bench, "optuna", seed=1, **kw)
    assert a == b
    assert (a.frame["fidelity"] == 27).all()
    p = simulate(bench, "optuna", seed=1, n_workers=1, max_evaluations=60,
                 optimizer_kwargs={"optuna_pruner": "median"})
    f = p.frame
    assert f["continues"].any() and (f["fidelity"] < 27).any()
    with pytest.raises(InvalidValueError, match="sampler"):
        get_optimizer("optuna", get_space("hia-cnn"), sampler="nope")


def test_pruner_sees_partial_curves(bench):
    seen = []

    def rule(job, f):
        if job.continues:
            seen.append(dict(f["curve"]))
            return min(f["curve"].values()) > 0.2
        return False

    opt = get_optimizer("hyperband", bench.space, seed=1, pruner=CallablePruner(rule))
    tr = simulate(bench, opt, seed=1, n_workers=2, max_evaluations=150)
    f = tr.frame
    pruned = f[f["status"] == "pruned"]
    assert len(pruned) and pruned["continues"].all()
    assert seen and all(len(c) >= 1 for c in seen)
    # a pruned promotion costs nothing; the bracket still completes (loss inf for the rung)
    assert (pruned["cost"] == 0).all()


def test_bo_random_forest_and_fidelity_kwarg(bench):
    kw = dict(seed=2, max_evaluations=20, optimizer_kwargs={"surrogate": "rf", "n_init": 5})
    a, b = simulate(bench, "bo", **kw), simulate(bench, "bo", **kw)
    assert a == b
    opt = get_optimizer("hyperband", bench.space, seed=0, fidelity=(3, 27))
    assert opt.brackets[0].budgets == (3.0, 9.0, 27.0)
