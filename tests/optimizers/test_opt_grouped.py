"""Grouped sequential optimisation (issue 16 item 2; spec grouped_sequential_hia.md):
ranking, groups, allocation, only the active group varies, one group = simultaneous TPE,
leave-one-benchmark-out weights, determinism, the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.errors import InvalidValueError, UnknownNameError
from hasbench.optimizers import CallablePruner, get_optimizer
from hasbench.optimizers.grouped import (
    GroupedSequential,
    _default_sources,
    allocate_trials,
    form_groups,
    loo_importance_weights,
)
from hasbench.optimizers.staged import trace_stages
from hasbench.simulate import simulate
from hasbench.spaces import get_space


@pytest.fixture(scope="module")
def bench():
    return SyntheticBenchmark("hia-cnn", seed=0)


TOP5 = ["n_conv_layers", "learning_rate", "dropout_rate", "optimizer", "epochs"]


def test_default_is_the_published_top5_then_the_rest(bench):
    opt = get_optimizer("grouped-sequential", bench.space, seed=0)
    assert opt.importance_source == "published"
    assert opt.ranking[:5] == TOP5
    assert opt.groups == [TOP5, [n for n in bench.space.names if n not in TOP5]]
    assert opt.allocation_trials == [50, 50]            # equal rank weights: 5/10 each
    lin = GroupedSequential(bench.space, seed=0, rank_weighting="linear")
    assert lin.allocation_trials == [73, 27]            # (10+9+8+7+6)/55 of 100


def test_space_without_a_published_ranking_uses_its_order():
    opt = get_optimizer("grouped-sequential", "zela2018", seed=0)
    assert opt.importance_source == "order"
    assert opt.ranking == get_space("zela2018").names
    assert [len(g) for g in opt.groups] == [5, 12]
    with pytest.raises(InvalidValueError, match="importance_source"):
        GroupedSequential(opt.space, importance_source="published")


def test_user_weights_rank_and_allocate(bench):
    w = {"learning_rate": 4.0, "n_filters": 3.0, "batch_size": 2.0, "epochs": 1.0}
    opt = GroupedSequential(bench.space, seed=0, weights=w, grouping="cumulative",
                            n_trials=60)
    assert opt.ranking[:4] == ["learning_rate", "n_filters", "batch_size", "epochs"]
    # names without a weight get 0 and keep the published order at the end
    assert opt.ranking[4:] == ["n_conv_layers", "dropout_rate", "optimizer", "kernel_size",
                               "activation", "n_dense_units"]
    # cumulative, tau 0.5 of the remaining mass: {lr 0.4, filters 0.3} -> 0.7 >= 0.5;
    # {batch 0.2} of 0.3 -> 0.67 >= 0.5; then {epochs} and finally the weightless rest
    assert opt.groups == [["learning_rate", "n_filters"], ["batch_size"], ["epochs"],
                          opt.ranking[4:]]
    assert sum(opt.allocation_trials) == 60 and min(opt.allocation_trials) >= 10
    assert opt.allocation_trials == [30, 10, 10, 10]
    with pytest.raises(UnknownNameError, match="learning_rat"):
        GroupedSequential(bench.space, weights={"learning_rat": 1.0})
    with pytest.raises(InvalidValueError, match="weights"):
        GroupedSequential(bench.space, weights={"learning_rate": -1.0})
    with pytest.raises(InvalidValueError, match="importance_source"):
        GroupedSequential(bench.space, weights=w, importance_source="published")


@pytest.mark.parametrize("n, w, minimum, expect", [
    (100, [0.5, 0.5], 10, [50, 50]),
    (100, [0.95, 0.05], 10, [90, 10]),
    (100, [1 / 3] * 3, 10, [34, 33, 33]),
    (31, [0.7, 0.2, 0.1], 10, [11, 10, 10]),
    (40, [0.0, 1.0], 10, [10, 30]),
])
def test_allocation_sums_and_minimum(n, w, minimum, expect):
    got = allocate_trials(n, w, "proportional", minimum)
    assert got == expect and sum(got) == n and min(got) >= minimum


def test_allocation_random_weights_sum_exactly():
    rng = np.random.default_rng(0)
    for _ in range(200):
        m = int(rng.integers(1, 7))
        mn = int(rng.integers(1, 12))
        n = int(rng.integers(m * mn, 300))
        w = rng.dirichlet(np.ones(m)) * (rng.random(m) > 0.2)
        for how in ("proportional", "equal"):
            a = allocate_trials(n, w, how, mn)
            assert sum(a) == n and min(a) >= mn
    assert allocate_trials(100, [0.9, 0.1, 0.0], "equal", 1) == [34, 33, 33]
    with pytest.raises(InvalidValueError, match="n_trials"):
        allocate_trials(25, [0.5, 0.5, 0.0], "proportional", 10)


def test_form_groups_rules():
    r = list("abcdefg")
    w = dict(zip(r, [0.3, 0.2, 0.2, 0.1, 0.1, 0.05, 0.05], strict=True))
    assert form_groups(r, w, "top_k_split", top_k=3) == [list("abc"), list("defg")]
    assert form_groups(r, w, "fixed_size", group_size=3) == [list("abc"), list("def"), ["g"]]
    assert form_groups(r, w, "single") == [r]
    assert form_groups(r, w, "cumulative", tau=0.5) == [list("ab"), list("cd"), ["e"], ["f"],
                                                        ["g"]]
    with pytest.raises(InvalidValueError, match="grouping"):
        form_groups(r, w, "blocks")


def _stage_rows(tr, opt):
    f = tr.frame.sort_values("job")
    st = trace_stages(tr, opt.trials)
    return f, st[np.argsort(tr.frame["job"].to_numpy(), kind="stable")]


@pytest.mark.parametrize("workers", [1, 3])
def test_only_the_active_group_changes(bench, workers):
    sp = bench.space
    opt = GroupedSequential(sp, seed=2, grouping="fixed_size", group_size=4, n_trials=36,
                            min_trials=6)
    tr = simulate(bench, opt, seed=2, n_workers=workers, max_evaluations=1000)
    assert opt.finished and len(tr.frame) == 36
    f, st = _stage_rows(tr, opt)
    assert [int((st == k).sum()) for k in range(3)] == opt.allocation_trials
    # every job trains its config for its own epochs (fixed after stage 1 to its best)
    np.testing.assert_array_equal(f["fidelity"], f["epochs"])
    assert (f["fidelity"][st > 1] == opt.stage_best[1]["epochs"]).all()
    assert [(s["first_job"], s["last_job"]) for s in opt.stage_log] == \
        [(int(f["job"][st == k].min()), int(f["job"][st == k].max())) for k in range(3)]
    default = sp.default()
    cfgs = sp.decode(f[sp.names].to_numpy())
    for k, g in enumerate(opt.groups):
        rows = [c for c, s in zip(cfgs, st, strict=True) if s == k]
        for c in rows:
            for j, other in enumerate(opt.groups):
                for n in other:
                    if j < k:    # earlier groups: at their stage's best
                        assert c[n] == opt.stage_best[j][n]
                    elif j > k:  # later groups: at their defaults
                        assert c[n] == default[n]
        for n in g:  # the active group's hyperparameters vary (ints may repeat)
            assert len({c[n] for c in rows}) > 1 or sp.kind(n) in ("categorical", "ordinal")
        # the stage's best is its lowest loss (ties: earliest)
        fk = f[st == k]
        i = int(np.argmin(fk["loss"].to_numpy()))
        best = sp.decode(fk[sp.names].to_numpy()[i:i + 1])[0]
        assert opt.stage_best[k] == {n: best[n] for n in g}


@pytest.mark.parametrize("kw", [{"grouping": "single"},
                                {"groups": [["learning_rate", "epochs", "n_conv_layers",
                                             "optimizer", "dropout_rate", "batch_size",
                                             "n_filters", "kernel_size", "activation",
                                             "n_dense_units"]]}])
def test_one_group_equals_simultaneous_tpe(bench, kw):
    sp = bench.space
    for seed, workers in ((0, 1), (5, 3)):
        g = simulate(bench, GroupedSequential(sp, seed=seed, n_trials=30, **kw), seed=seed,
                     n_workers=workers, max_evaluations=30)
        t = simulate(bench, "tpe", seed=seed, n_workers=workers, max_evaluations=30,
                     optimizer_kwargs={"names": list(sp.names)})
        assert len(g.frame) == 30
        assert (g.frame["stage"] == 0).all() and (t.frame["stage"] == -1).all()
        assert g.frame.drop(columns="stage").equals(t.frame.drop(columns="stage"))
        assert g.frame["epochs"].nunique() > 3   # epochs is searched, as in the paper


def test_same_seed_identical_trace_and_seeds_differ(bench):
    kw = dict(n_workers=4, max_evaluations=60, optimizer_kwargs={"n_trials": 40,
                                                                 "min_trials": 5})
    a = simulate(bench, "grouped-sequential", seed=7, **kw)
    b = simulate(bench, "grouped-sequential", seed=7, **kw)
    c = simulate(bench, "grouped-sequential", seed=8, **kw)
    assert a == b and not a.frame.equals(c.frame)
    assert (trace_stages(a) == trace_stages(b)).all()   # the trace's stage column


def test_pruned_proposals_are_replaced(bench):
    pr = CallablePruner(lambda job, f: job.job_id % 3 == 0, ())
    opt = GroupedSequential(bench.space, seed=0, n_trials=20, min_trials=5, pruner=pr)
    f = simulate(bench, opt, seed=0, max_evaluations=1000).frame
    assert (f["status"] == "ok").sum() == 20 and (f["status"] == "pruned").sum() >= 9
    assert [s["n_measured"] for s in opt.stage_log] == opt.allocation_trials


@pytest.mark.parametrize("kw, name", [
    ({"n_trials": 0}, "n_trials"), ({"n_trials": 15}, "n_trials"),
    ({"importance_source": "gini"}, "importance_source"),
    ({"rank_weighting": "log"}, "rank_weighting"), ({"grouping": "pairs"}, "grouping"),
    ({"top_k": 0}, "top_k"), ({"tau": 0.0}, "tau"), ({"tau": 1.5}, "tau"),
    ({"group_size": 0}, "group_size"), ({"allocation": "greedy"}, "allocation"),
    ({"min_trials": 0}, "min_trials"), ({"base": "bohb"}, "base"),
    ({"groups": [["learning_rate"], ["learning_rate"]]}, "groups"), ({"groups": []}, "groups"),
    ({"groups": [["lr"]]}, "lr"), ({"trials": [5, 5]}, "trials"), ({"names": ["epochs"]},
                                                                   "names"),
    ({"importance_source": "fanova"}, "target"), ({"weights": {}}, "weights"),
    ({"importance_kwargs": 3}, "importance_kwargs"), ({"target": 3}, "target"),
    ({"fixed": {"lr": 1}}, "lr"),
])
def test_named_errors(bench, kw, name):
    with pytest.raises((InvalidValueError, UnknownNameError), match=name):
        get_optimizer("grouped-sequential", bench.space, seed=0, **kw)


def test_leave_one_benchmark_out_refuses_the_target():
    with pytest.raises(InvalidValueError, match="other than the target"):
        loo_importance_weights(["fmnist-hia-cnn", "digits-hia-cnn.heldout"], "n-relieff",
                               target="digits-hia-cnn")
    with pytest.raises(InvalidValueError, match="importance_benchmarks"):
        GroupedSequential(get_space("hia-cnn"), importance_source="n-relieff",
                          target="digits-hia-cnn",
                          importance_benchmarks=["data/digits-hia-cnn.h5"])


def test_leave_one_benchmark_out_weights_come_from_other_tables():
    imp = pytest.importorskip("hasbench.analysis.importance")
    from hasbench.benchmarks.registry import list_benchmarks

    if "table" not in list_benchmarks().get("fmnist-hia-cnn", []):
        pytest.skip("fmnist-hia-cnn table not shipped")
    sp = get_space("hia-cnn")
    opt = GroupedSequential(sp, seed=0, importance_source="n-relieff",
                            importance_benchmarks=["fmnist-hia-cnn"], target="digits-hia-cnn")
    ref = imp.importance_weights("table:fmnist-hia-cnn", "n-relieff", n_bootstrap=0)
    tot = sum(ref.values())
    for n in sp.names:
        assert opt.weights[n] == pytest.approx(ref[n] / tot)
    assert opt.ranking[0] == max(ref, key=ref.get)
    # the default sources for a target are the other shipped tables of the space
    # (not computed here: a table still being collected may be too small for k=10)
    dflt = _default_sources("hia-cnn", "digits-hia-cnn")
    assert "fmnist-hia-cnn" in dflt
    assert not any(s.startswith("digits-hia-cnn") for s in dflt)
    assert "digits-hia-cnn" in _default_sources("hia-cnn", "fmnist-hia-cnn")


# ------------------------------------------------------------------------- CLI
SHIPPED = ["digits-hia-cnn", "fmnist-hia-cnn", "digits-zela2018"]


@pytest.mark.parametrize("bench_name", SHIPPED)
def test_cli_run_on_shipped_benchmarks(tmp_path, bench_name):
    from hasbench.benchmarks.registry import list_benchmarks
    from hasbench.cli import main
    from hasbench.simulate import Trace

    if bench_name not in list_benchmarks():
        pytest.skip(f"{bench_name} not shipped in this checkout")
    out = tmp_path / "runs"
    opts = ["--opt", "n_trials=24", "--opt", "min_trials=6"]
    assert main(["run", "--benchmark", bench_name, "--optimizer", "grouped-sequential",
                 "--seeds", "0-2", "--workers", "4", "--budget", "100fe", "--out", str(out),
                 "--no-progress", *opts]) == 0
    files = sorted(out.glob("seed-*"))
    assert len(files) == 3
    traces = [Trace.load(p) for p in files]
    for tr in traces:
        assert tr.meta["optimizer"] == "grouped-sequential"
        assert tr.meta["optimizer_kwargs"] == {"n_trials": 24, "min_trials": 6}
        st = trace_stages(tr)
        assert len(tr.frame) == 24 and sorted(set(st.tolist())) == [0, 1]
    assert not traces[0].frame.equals(traces[1].frame)


def test_cli_opt_sets_every_documented_parameter(tmp_path, capsys):
    import json

    from hasbench.cli import main
    from hasbench.simulate import Trace

    opts = {"n_trials": 30, "importance_source": "weights",
            "weights": {"learning_rate": 3, "n_filters": 2, "epochs": 1},
            "rank_weighting": "linear", "grouping": "fixed_size", "top_k": 4, "tau": 0.4,
            "group_size": 2, "allocation": "equal", "min_trials": 5, "base": "tpe",
            "base_kwargs": {"n_startup": 4}, "fixed": {"kernel_size": 5},
            "failed_weight": 0.5, "pruned_weight": 0.5}
    args = []
    for k, v in opts.items():
        args += ["--opt", f"{k}={json.dumps(v) if not isinstance(v, str) else v}"]
    out = tmp_path / "r"
    assert main(["run", "--benchmark", "synthetic:hia-cnn", "--optimizer",
                 "grouped-sequential", "--seeds", "0", "--max-evaluations", "100",
                 "--out", str(out), "--no-progress", *args]) == 0
    tr = Trace.load(next(out.glob("seed-*")))
    assert tr.meta["optimizer_kwargs"] == opts
    f = tr.frame
    assert len(f) == 30 and (f["kernel_size"] == 1).all()   # 5 is choice index 1
    opt = get_optimizer("grouped-sequential", "hia-cnn", **opts)
    assert opt.groups[0] == ["learning_rate", "n_filters"] and len(opt.groups) == 5
    assert opt.allocation_trials == [6] * 5 and opt.base_kwargs == {"n_startup": 4}
    # the remaining documented parameters, each through --opt
    for k, v in [("importance_benchmarks", ["fmnist-hia-cnn"]), ("target", "digits-hia-cnn"),
                 ("importance_kwargs", {"k": 5}), ("groups", [["epochs"], ["n_filters"]])]:
        capsys.readouterr()
        rc = main(["run", "--benchmark", "synthetic:hia-cnn", "--optimizer",
                   "grouped-sequential", "--seeds", "0", "--max-evaluations", "5", "--out",
                   str(tmp_path / k), "--no-progress", "--opt", f"{k}={json.dumps(v)}",
                   "--opt", "min_trials=2"])
        assert rc == 0, capsys.readouterr().err
    # an undocumented key is refused naming the flag
    assert main(["run", "--benchmark", "synthetic:hia-cnn", "--optimizer",
                 "grouped-sequential", "--seeds", "0", "--max-evaluations", "5", "--out",
                 str(tmp_path / "bad"), "--no-progress", "--opt", "n_trial=5"]) == 2
    assert "n_trials" in capsys.readouterr().err
