"""Successive halving, Hyperband and BOHB behaviour (spec section 6 tests 2-4 and 6)."""

from __future__ import annotations

import ConfigSpace as CS
import numpy as np
import pytest

from hasbench.benchmarks.synthetic import OneDimBenchmark, SyntheticBenchmark
from hasbench.optimizers import BOHB, Hyperband, RandomSearch, Result, SuccessiveHalving
from hasbench.optimizers.kde import ProductKDE, kde_split_sizes
from hasbench.simulate import simulate
from hasbench.spaces import Fidelity, Space, get_space


def _drain(opt):
    jobs = []
    while (j := opt.ask()) is not None:
        jobs.append(j)
    return jobs


@pytest.mark.parametrize("variant", ["paper", "hpbandster"])
def test_sh_keeps_n_next_with_stable_ties(variant):
    sp = get_space("hia-cnn")
    opt = SuccessiveHalving(sp, seed=3, n_iterations=1, hb_variant=variant)
    bracket = opt.brackets[0]
    assert bracket.n == (27, 9, 3, 1)
    rung_members = []
    for i, n_i in enumerate(bracket.n):
        jobs = _drain(opt)
        assert len(jobs) == n_i
        assert all(j.fidelity == bracket.budgets[i] for j in jobs)
        assert all(j.continues == (i > 0) for j in jobs)
        rung_members.append([j.trial_id for j in jobs])
        # many ties (only 3 distinct losses): the earlier config must win
        for j in jobs:
            opt.tell(j, Result(loss=float(j.trial_id % 3 == 0)))
    assert opt.ask() is None and opt.finished
    for i in range(len(bracket.n) - 1):
        prev = rung_members[i]
        losses = [float(t % 3 == 0) for t in prev]
        order = sorted(range(len(prev)), key=lambda k: (losses[k], k))
        want = sorted(prev[k] for k in order[:bracket.n[i + 1]])
        assert sorted(rung_members[i + 1]) == want


def test_crashed_runs_are_never_promoted_and_freed_slots_are_refilled():
    """Item 2: 23 of 27 crashed -> the 4 finite results are promoted and HpBandSter's rule
    fills the other 5 slots of rung 1 with new configurations (never a crashed one)."""
    sp = get_space("hia-cnn")
    opt = SuccessiveHalving(sp, seed=0, n_iterations=1)
    jobs = _drain(opt)
    assert len(jobs) == 27
    finite = {j.trial_id for j in jobs[::7]}  # 4 trials: 0, 7, 14, 21
    for j in jobs:
        ok = j.trial_id in finite
        opt.tell(j, Result(loss=0.5 + 0.01 * j.trial_id if ok else np.nan,
                           status="ok" if ok else "crashed"))
    nxt = _drain(opt)
    assert len(nxt) == 9 and all(j.fidelity == 3 for j in nxt)
    promoted = [j for j in nxt if j.continues]
    assert {j.trial_id for j in promoted} == finite
    fresh = [j for j in nxt if not j.continues]
    seen = {j.trial_id for j in jobs}
    assert len(fresh) == 5 and not {j.trial_id for j in fresh} & seen
    assert all(j.info.get("refill") and j.resume_from == 0 for j in fresh)
    # refill="none": the rung runs with the finite results only
    opt = SuccessiveHalving(sp, seed=0, n_iterations=1, refill="none")
    for j in _drain(opt):
        ok = j.trial_id in finite
        opt.tell(j, Result(0.5 if ok else np.inf, status="ok" if ok else "crashed"))
    assert sorted(j.trial_id for j in _drain(opt)) == sorted(finite)


def test_all_crashed_rung_ends_bracket_with_refill_none():
    sp = get_space("hia-cnn")
    opt = SuccessiveHalving(sp, seed=0, n_iterations=1, refill="none")
    for j in _drain(opt):
        opt.tell(j, Result(np.inf, status="crashed"))
    assert opt.ask() is None and opt.finished


def test_pruned_jobs_never_promoted_and_replaced():
    """Item 2/3: pruned jobs do not count in a rung; their slots get new configs, and only
    measured trials are promoted."""
    sp = get_space("hia-cnn")
    opt = SuccessiveHalving(sp, seed=0, n_iterations=1)
    jobs = _drain(opt)
    pruned = {j.trial_id for j in jobs if j.trial_id % 27 >= 4}   # 23 of 27
    measured = []
    for j in jobs:
        if j.trial_id in pruned:
            opt.tell_pruned(j, {})
        else:
            opt.tell(j, Result(0.1 * j.trial_id))
            measured.append(j.trial_id)
    repl = _drain(opt)   # 23 replacements, new trials at rung 0
    assert len(repl) == 23 and all(j.fidelity == 1 and not j.continues for j in repl)
    assert not {j.trial_id for j in repl} & {j.trial_id for j in jobs}
    for j in repl:
        opt.tell(j, Result(1.0 + 0.01 * j.trial_id))
        measured.append(j.trial_id)
    rung1 = _drain(opt)
    assert len(rung1) == 9 and all(j.continues for j in rung1)
    ids = {j.trial_id for j in rung1}
    assert not ids & pruned and ids <= set(measured)
    # the best 9 of the 27 measured results
    assert ids == set(sorted(measured, key=lambda t: 0.1 * t if t < 27 else 1 + 0.01 * t)[:9])


def test_pruned_hyperband_trains_no_pruned_trial_and_fills_rungs():
    """A pruner that rejects two thirds of the *new* candidates (not continuations): a pruned
    trial is never trained later, and every finished rung 0 has its n_0 measured results."""
    import zlib

    from hasbench.optimizers import CallablePruner, Hyperband

    b = SyntheticBenchmark("hia-cnn", seed=0)
    pr = CallablePruner(lambda job, f: not job.continues
                        and zlib.crc32(job.x.tobytes()) % 3 != 0, static_metrics=())
    opt = Hyperband(b.space, seed=2, pruner=pr)
    tr = simulate(b, opt, seed=2, n_workers=3, max_evaluations=400)
    f = tr.frame
    pruned = set(f.loc[f["status"] == "pruned", "trial"])
    meas = f[f["status"] != "pruned"]
    assert len(pruned) > 100
    assert not pruned & set(meas["trial"])
    n0 = {br.s: br.n for br in opt.brackets}
    done = meas.groupby(["bracket", "rung"]).size()
    for (it, rung), n in done.items():
        if (it, rung + 1) in done.index:  # a rung that was completed and promoted
            s = opt.brackets[it % len(opt.brackets)].s
            assert n == n0[s][rung]


def test_hyperband_cycles_brackets_and_resume_flag():
    sp = get_space("hia-cnn")
    for resume in (False, True):
        opt = Hyperband(sp, seed=0, n_iterations=4, resume=resume)
        seen = []
        while not opt.finished:
            j = opt.ask()
            if j is None:
                break
            seen.append(j)
            opt.tell(j, Result(loss=float(j.x[1])))
        sizes = {}
        for j in seen:
            sizes.setdefault(j.info["iteration"], []).append(j.fidelity)
        assert len(sizes) == 4
        assert [len(v) for v in sizes.values()] == [40, 17, 8, 4]
        cont = [j for j in seen if j.continues]
        assert cont and all((j.resume_from > 0) == resume for j in cont)


def test_bohb_random_fraction_one_equals_random_sampling():
    b = SyntheticBenchmark("hia-cnn", seed=0)
    kw = dict(seed=4, n_workers=3, max_evaluations=150)
    t_bohb = simulate(b, "bohb", optimizer_kwargs={"random_fraction": 1.0}, **kw)
    t_hb = simulate(b, "hyperband", optimizer_kwargs={"hb_variant": "hpbandster"}, **kw)
    assert t_bohb.frame.equals(t_hb.frame)
    # and the configurations are those of random search with the same seed, in order
    names = b.space.names
    first = t_bohb.frame.sort_values("trial").drop_duplicates("trial")
    rs = RandomSearch(b.space, seed=4)
    xr = np.array([rs.ask().x for _ in range(len(first))])
    np.testing.assert_array_equal(first[names].to_numpy(), xr)
    # the model was fitted although it was never used
    opt = BOHB(b.space, seed=4, random_fraction=1.0)
    simulate(b, opt, seed=4, max_evaluations=150)
    assert opt.models


def test_bohb_uniform_until_model_then_kde():
    b = SyntheticBenchmark("hia-cnn", seed=0)
    opt = BOHB(b.space, seed=1, random_fraction=0.0)
    tr = simulate(b, opt, seed=1, n_workers=1, max_evaluations=27)
    # d = 9 searched hyperparameters: min_points_in_model = 10, and good/bad need > 9 rows
    # each, so the first model exists after 20 results at budget 1
    assert opt.models and set(opt.models) == {1.0}
    assert len(opt._obs[1.0][0]) == 27
    rs = RandomSearch(b.space, seed=1)
    xr = np.array([rs.ask().x for _ in range(27)])
    got = tr.frame.sort_values("trial")[b.space.names].to_numpy()
    np.testing.assert_array_equal(got[:20], xr[:20])  # uniform until a model exists
    assert not np.array_equal(got[20:], xr[20:])      # then model-based (random_fraction=0)


def _space2d():
    cs = CS.ConfigurationSpace(name="two")
    cs.add(CS.UniformFloatHyperparameter("a", 0.0, 1.0))
    cs.add(CS.CategoricalHyperparameter("c", ["x", "y", "z"]))
    return Space("two-d", "1", cs, [Fidelity("budget", 1, 9, True)])


def test_kde_split_sizes_spec_example():
    assert kde_split_sizes(20, 3) == (3, 17)
    assert kde_split_sizes(100, 3) == (15, 85)
    sp = _space2d()
    opt = BOHB(sp, seed=0)
    assert opt.min_points_in_model == 3  # d + 1
    rng = np.random.default_rng(0)
    for i in range(20):
        j = opt._make_job(i, sp.sample_array(1, rng)[0], 9.0, iteration=0)
        opt._on_result(j, Result(loss=float(rng.random())))
    good, bad = opt.models[9.0]
    assert good.data.shape[0] == 3 and bad.data.shape[0] == 17
    # good = the 3 lowest losses
    losses = np.array(opt._obs[9.0][1])
    rows = np.array(opt._obs[9.0][0])
    np.testing.assert_array_equal(good.data, rows[np.argsort(losses, kind="stable")[:3]])


def test_min_points_raised_to_d_plus_one():
    sp = _space2d()
    assert BOHB(sp, seed=0, min_points_in_model=1).min_points_in_model == 3
    assert BOHB(sp, seed=0, min_points_in_model=8).min_points_in_model == 8


def test_product_kde_normalised():
    rng = np.random.default_rng(0)
    data = np.column_stack([rng.random(15), rng.integers(0, 3, 15)])
    kde = ProductKDE(data, np.array([0, 3]))
    g = np.linspace(-1, 2, 3001)
    total = 0.0
    for c in range(3):
        v = kde.pdf(np.column_stack([g, np.full_like(g, c)]))
        total += np.trapezoid(v, g)
    assert total == pytest.approx(1.0, abs=1e-3)
    # bandwidth rule: 1.06 * std * n^(-1/(4+d)), clipped at min_bandwidth
    want = 1.06 * data.std(axis=0) * 15 ** (-1 / 6)
    np.testing.assert_allclose(kde.bw, np.maximum(want, 1e-3))


def test_bohb_median_beats_random_search_1d():
    """Spec test 6: on the 1-D synthetic function BOHB's median final loss over 20 seeds is
    no worse than random search's, at equal simulated time."""
    b = OneDimBenchmark()
    budget = 40 * 27.0  # 40 full-budget evaluations
    fin = {"bohb": [], "random": []}
    for s in range(20):
        for name in fin:
            tr = simulate(b, name, seed=s, n_workers=1, time_budget=budget, noise=False)
            f = tr.frame
            fin[name].append(f.loc[f["fidelity"] == 27, "loss"].min())
    assert np.median(fin["bohb"]) <= np.median(fin["random"])
