"""Honest numbers in the validation report (issue 20 items 7-11): the two intervals named and
checked separately, config-dependent predictive widths, a noise ceiling from every seed, an
optimizer-ranking check that can discriminate, runtime up to a speed factor, --objective.

Real fitted surrogates on small synthetic run tables built here; no mocks."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from hasbench.errors import UnknownNameError
from hasbench.spaces import get_space
from hasbench.surrogates import CurveSurrogate
from hasbench.surrogates.testing import synthetic_runs, write_synthetic_table
from hasbench.surrogates.validation import _ceiling, validate
from hasbench.tables import write_table

SMALL = {"n_estimators": 60, "max_depth": 4, "learning_rate": 0.2}


def _write(path, runs):
    return write_table(path, get_space("hia-cnn"), runs, max_epochs=27,
                       provenance={"dataset": "synthetic"})


@pytest.fixture(scope="module")
def runs_ho():
    return synthetic_runs("hia-cnn", 30, seeds=(0, 1, 2), rng=7)


@pytest.fixture(scope="module")
def ho(runs_ho, tmp_path_factory):
    return _write(tmp_path_factory.mktemp("ho") / "ho.h5", runs_ho)


@pytest.fixture(scope="module")
def ho_slow(runs_ho, tmp_path_factory):
    """The same runs on a machine 3x slower: every epoch time times 3."""
    slow = [dataclasses.replace(r, epoch_time=np.asarray(r.epoch_time) * 3.0)
            for r in runs_ho]
    return _write(tmp_path_factory.mktemp("slow") / "slow.h5", slow)


@pytest.fixture(scope="module")
def ho_noisy(runs_ho, tmp_path_factory):
    """The same configs with every seed's deviation from its config's seed mean tripled:
    a seed-to-seed spread three times the one the surrogate was fitted on."""
    by_cfg: dict[int, list[int]] = {}
    for i in range(len(runs_ho)):  # synthetic_runs: a config's seeds are consecutive
        by_cfg.setdefault(i // 3, []).append(i)
    out = list(runs_ho)
    for idx in by_cfg.values():
        for m in ("valid_acc", "test_acc", "train_acc"):
            n = min(len(runs_ho[i].metrics[m]) for i in idx)
            mean = np.mean([runs_ho[i].metrics[m][:n] for i in idx], axis=0)
            for i in idx:
                r = out[i]
                v = np.array(r.metrics[m], float)
                v[:n] = np.clip(mean + 3.0 * (v[:n] - mean), 0.0, 1.0)
                out[i] = dataclasses.replace(r, metrics={**r.metrics, m: v})
    return _write(tmp_path_factory.mktemp("noisy") / "noisy.h5", out)


@pytest.fixture(scope="module")
def sur(tmp_path_factory):
    tr = write_synthetic_table(tmp_path_factory.mktemp("tr") / "tr.h5", n_configs=80,
                               seeds=(0, 1, 2), rng=3)
    return CurveSurrogate("xgb", params=SMALL, n_jobs=1).fit(tr)


# ------------------------------------------------------------------ item 7: two intervals
def test_seed_noise_model_is_checked_on_held_out_seed_pairs(sur, ho, ho_noisy):
    rep = validate(sur, ho, optimizers=None)
    sn = rep["coverage"]["valid_acc"]["seed_noise"]
    # 3 seeds: 3 pairs per (config, epoch)
    assert sn["n_pairs"] == 3 * 30 * 27
    assert 0.6 <= sn["all_fidelities"] <= 0.95, sn  # the spread it was fitted on
    noisy = validate(sur, ho_noisy, optimizers=None)["coverage"]["valid_acc"]["seed_noise"]
    # three times the seed spread: far fewer pairs inside 1.28 * sqrt(2) * sigma
    assert noisy["all_fidelities"] < sn["all_fidelities"] - 0.25, (noisy, sn)
    pr = rep["coverage"]["valid_acc"]["predictive"]
    assert len(pr["per_decile"]) == 10
    assert sum(b["n"] for b in pr["per_decile"]) == pr["n"]
    assert all(a["hi"] <= b["lo"] + 1e-12 for a, b in zip(pr["per_decile"],
                                                         pr["per_decile"][1:], strict=False))
    assert pr["decile_range"][0] <= pr["all_fidelities"] <= pr["decile_range"][1]
    assert "80% predictive interval coverage (valid_acc)" in rep["targets"]


@pytest.mark.slow
def test_predictive_width_depends_on_the_config(tmp_path):
    tr = write_synthetic_table(tmp_path / "tr.h5", n_configs=250, rng=11)
    te = write_synthetic_table(tmp_path / "te.h5", n_configs=100, rng=12)
    params = {"n_estimators": 120, "learning_rate": 0.1}
    flat = CurveSurrogate("xgb", params=params, n_jobs=1, calibration_bins=1).fit(tr)
    lvl = CurveSurrogate("xgb", params=params, n_jobs=1).fit(tr)  # default: 5 bins
    X, f = te.X, np.full(te.n_configs, 27.0)

    def model_error_sd(s):
        p = s.predict_std(X, f, ["valid_acc"], kind="predictive")["valid_acc"]
        q = s.predict_std(X, f, ["valid_acc"], kind="seed")["valid_acc"]
        return np.sqrt(np.maximum(p ** 2 - q ** 2, 0.0))

    e1, e5 = model_error_sd(flat), model_error_sd(lvl)
    assert np.ptp(e1) < 1e-9  # one model-error variance per epoch: the same for every config
    assert e5.max() > 2.0 * e5.min()  # by the level of the prediction
    r1 = validate(flat, te, optimizers=None)["coverage"]["valid_acc"]["predictive"]
    r5 = validate(lvl, te, optimizers=None)
    c5 = r5["coverage"]["valid_acc"]["predictive"]
    w1 = r1["decile_range"][1] - r1["decile_range"][0]
    w5 = c5["decile_range"][1] - c5["decile_range"][0]
    assert w5 < w1 - 0.1, (r1["decile_range"], c5["decile_range"])
    assert 0.65 <= c5["all_fidelities"] <= 0.95
    assert "predicted level" in r5["predictive_interval"]["width_depends_on"]["valid_acc"]
    # saved and loaded: the same widths; the manifest is verified on load
    lvl.save(tmp_path / "l.surrogate")
    back = CurveSurrogate.load(tmp_path / "l.surrogate")
    assert back.calibration_bins == 5 and set(back.calib_level) == set(lvl.calib_level)
    np.testing.assert_allclose(model_error_sd(back), e5, rtol=1e-6)
    man = json.loads((tmp_path / "l.surrogate" / "manifest.json").read_text())
    man["noise"]["calib_level"]["valid_acc"]["var"][0][0] = -1.0
    (tmp_path / "l.surrogate" / "manifest.json").write_text(json.dumps(man))
    from hasbench.errors import SchemaError

    with pytest.raises(SchemaError, match="calib_level"):
        CurveSurrogate.load(tmp_path / "l.surrogate")


def test_calibration_bins_is_validated():
    from hasbench.errors import InvalidValueError

    with pytest.raises(InvalidValueError, match="calibration_bins"):
        CurveSurrogate("xgb", calibration_bins=0)


# ------------------------------------------------------------------ item 8: noise ceiling
def test_noise_ceiling_uses_every_seed():
    """Four seeds: the ceiling is that of a four-seed mean (seeds 0 and 1 alone estimate a
    two-seed mean's, which is lower)."""
    from scipy.stats import kendalltau

    rng = np.random.default_rng(3)
    mu = rng.uniform(0.1, 1.0, 400)
    sd = 0.05 + 0.15 * mu
    V = mu[:, None] + rng.normal(size=(400, 4)) * sd[:, None]
    c = _ceiling(V)
    fresh = [mu[:, None] + rng.normal(size=(400, 4)) * sd[:, None] for _ in range(200)]
    tau = np.mean([kendalltau(mu, f.mean(axis=1))[0] for f in fresh])
    r2 = np.mean([1 - np.sum((f.mean(axis=1) - mu) ** 2)
                  / np.sum((f.mean(axis=1) - f.mean(axis=1).mean()) ** 2) for f in fresh])
    assert abs(c["kendall_tau"] - tau) < 0.015, (c, tau)
    assert abs(c["r2"] - r2) < 0.015, (c, r2)
    assert c["seed_pairs"] == 6 and c["seeds_per_config"] == 4
    two = _ceiling(V[:, :2])  # what seeds 0 and 1 alone say
    assert two["kendall_tau"] < tau - 0.03 and two["r2"] < r2 - 0.03
    # a missing seed: that config's mean has fewer seeds; a config with one is left out
    W = V.copy()
    W[0, 1:] = np.nan
    W[1, 3] = np.nan
    assert _ceiling(W)["n"] == 399


def test_noise_ceiling_is_worded_as_an_expected_value(sur, ho, tmp_path):
    from hasbench.surrogates.validation import write_report

    write_report(sur, ho, tmp_path / "r", plots=False, optimizers=None)
    md = (tmp_path / "r.md").read_text()
    assert "expected" in md and "not a bound" in md
    assert "no surrogate can expect to beat" not in md


# ------------------------------------------------------------------ item 9: ranking
def test_ranking_reports_identical_traces_as_one_optimizer(sur, ho):
    # a budget that ends inside TPE's 10 random start-up trials: TPE == random search
    short = validate(sur, ho, optimizers=["random", "tpe", "hyperband"], repeats=3,
                     budget_runs=3, n_bootstrap=200)["optimizer_ranking"]
    assert ["random", "tpe"] in short["identical_traces"]["both"]
    assert short["distinct_optimizers"] == ["random", "hyperband"]
    assert short["kendall_tau"] is None  # two distinct optimizers: no tau (null in JSON)
    long = validate(sur, ho, optimizers=["random", "tpe", "hyperband"], repeats=3,
                    budget_runs=40, n_bootstrap=200)["optimizer_ranking"]
    assert long["identical_traces"]["both"] == []  # TPE's model acted
    assert long["distinct_optimizers"] == ["random", "tpe", "hyperband"]
    assert long["table"]["tpe"]["mean_full_fidelity_jobs"] > 10
    for o in long["optimizers"]:
        t, s = long["table"][o]["mean_best_loss"], long["surrogate"][o]["mean_best_loss"]
        assert long["optimism"]["per_optimizer"][o] == pytest.approx((t - s) / t)
    lo, hi = long["kendall_tau_ci"]
    if long["kendall_tau"] is not None:
        assert -1 <= lo <= long["kendall_tau"] + 1e-12 and lo <= hi <= 1


def test_ranking_budget_is_each_benchmarks_own_seconds(sur, ho, ho_slow):
    """A held-out table collected on a 3x slower machine gives the same ranking check: the
    budget is in each benchmark's own median full-run time (it was in the table's seconds,
    so the surrogate got 3x the jobs)."""
    kw = dict(optimizers=["random", "hyperband", "asha"], repeats=3, budget_runs=8,
              n_bootstrap=100)
    a = validate(sur, ho, **kw)["optimizer_ranking"]
    b = validate(sur, ho_slow, **kw)["optimizer_ranking"]
    assert b["budget_seconds"]["table"] == pytest.approx(3 * a["budget_seconds"]["table"])
    assert b["budget_seconds"]["surrogate"] == a["budget_seconds"]["surrogate"]
    for o in kw["optimizers"]:
        assert b["surrogate"][o]["best_losses"] == a["surrogate"][o]["best_losses"]
        assert b["table"][o]["best_losses"] == a["table"][o]["best_losses"]
    assert b["kendall_tau"] == a["kendall_tau"]


# ------------------------------------------------------------------ item 10: runtime
def test_runtime_reported_raw_and_up_to_a_speed_factor(sur, ho, ho_slow):
    a = validate(sur, ho, optimizers=None)["runtime"]["final_fidelity"]
    b = validate(sur, ho_slow, optimizers=None)["runtime"]["final_fidelity"]
    assert b["raw"]["r2"] < 0 < a["raw"]["r2"]  # 3x slower seconds: raw R² collapses
    fa, fb = a["up_to_speed_factor"], b["up_to_speed_factor"]
    assert fb["speed_factor"] == pytest.approx(3 * fa["speed_factor"], rel=1e-6)
    assert fb["r2_log"] == pytest.approx(fa["r2_log"], abs=1e-9)
    assert fb["r2"] == pytest.approx(fa["r2"], abs=1e-9)
    assert b["raw"]["spearman_rho"] == pytest.approx(a["raw"]["spearman_rho"])
    assert fa["r2_log"] >= a["raw"]["r2_log"] - 1e-12  # the factor is the log-LS optimum


# ------------------------------------------------------------------ item 11: --objective
def test_objective_sets_targets_and_top_k(sur, ho):
    rep = validate(sur, ho, optimizers=["random"], repeats=2, budget_runs=3,
                   objective="valid_loss")
    assert rep["objective"] == "valid_loss"
    t = rep["targets"]
    assert t["final valid_loss R2"]["measured"] is not None
    assert t["80% predictive interval coverage (valid_loss)"]["measured"] is not None
    assert set(rep["top_k"]) == {"10"}
    # the lowest predicted losses are compared with the lowest true losses
    d = validate(sur, ho, optimizers=None)
    assert d["objective"] == "valid_acc" and "final valid_acc R2" in d["targets"]
    with pytest.raises(UnknownNameError, match="objective") as ei:
        validate(sur, ho, optimizers=None, objective="valid_acc_typo")
    assert "valid_loss" in str(ei.value)


def test_cli_objective(sur, ho, tmp_path):
    sur.save(tmp_path / "s.surrogate")

    def hb(*a):
        return subprocess.run([sys.executable, "-m", "hasbench", "validate",
                               str(tmp_path / "s.surrogate"), "--table", str(ho.path), *a],
                              capture_output=True, text=True, timeout=300)

    r = hb("--objective", "valid_loss", "--optimizers", "", "--out", str(tmp_path / "v"),
           "--no-plots")
    assert r.returncode == 0, r.stderr
    assert "final valid_loss R2" in r.stdout
    rep = json.loads((tmp_path / "v.json").read_text())
    assert rep["objective"] == "valid_loss" and rep["top_k"]
    assert "`valid_loss` per fidelity" in (tmp_path / "v.md").read_text()
    r = hb("--objective", "nope", "--optimizers", "")
    assert r.returncode == 2 and "--objective" in r.stderr and "valid_acc" in r.stderr
    assert "Traceback" not in r.stderr
