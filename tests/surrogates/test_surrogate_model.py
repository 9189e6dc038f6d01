"""Curve surrogates: fit quality, clipping, monotone runtime, pickle-free save/load with
hashes, seed noise, backends."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hasbench.benchmarks import SurrogateBenchmark, TabularBenchmark
from hasbench.errors import InvalidValueError, SchemaError, UnknownNameError
from hasbench.surrogates import CurveSurrogate, SurrogateHashError, file_sha256, fit_surrogate
from hasbench.surrogates.testing import write_synthetic_table


def _pred(sur, X, f, seed=None, metrics=None):
    return sur.predict(X, np.full(len(X), float(f)) if np.ndim(f) == 0 else f,
                       metrics or sur.output_metrics, seed)


def test_manifest_contents(syn_surrogate, syn_table):
    man = json.loads((syn_surrogate.path / "manifest.json").read_text())
    assert man["format"] == "hasbench.surrogate" and man["format_version"] == 1
    assert man["space"]["name"] == "hia-cnn" and man["space"]["version"] == "1.0"
    assert man["training_table"]["sha256"] == file_sha256(syn_table.path)
    assert man["metrics"] == syn_table.metrics
    assert man["layout"]["columns"][-1] == "fidelity:epochs"
    assert "epochs" not in man["layout"]["columns"][:-1]
    assert set(man["files"]) == {n for m in man["models"].values() for n in m["files"]}
    for name in man["files"]:
        assert name.endswith((".ubj.gz", ".npz", ".json"))


def test_round_trip_identical_predictions(syn_surrogate, syn_table):
    loaded = CurveSurrogate.load(syn_surrogate.path, table=syn_table.path)
    X = syn_table.space.sample_array(200, 4)
    f = np.random.default_rng(0).integers(1, 28, 200).astype(float)
    s = np.arange(200)
    for seed in (None, s):
        a = _pred(syn_surrogate, X, f, seed)
        b = _pred(loaded, X, f, seed)
        for m in a:
            np.testing.assert_array_equal(a[m], b[m])


def test_tampered_model_file_and_table_raise_hash_error(syn_surrogate, syn_table, tmp_path):
    d = tmp_path / "copy.surrogate"
    shutil.copytree(syn_surrogate.path, d)
    CurveSurrogate.load(d)  # intact copy loads
    victim = d / "mean_valid_acc.ubj.gz"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    with pytest.raises(SurrogateHashError) as ei:
        CurveSurrogate.load(d)
    assert "mean_valid_acc.ubj.gz" in str(ei.value)
    assert isinstance(ei.value, SchemaError)
    # a different training table next to it / given explicitly
    other = write_synthetic_table(tmp_path / "other.h5", n_configs=5, rng=9)
    with pytest.raises(SurrogateHashError):
        CurveSurrogate.load(syn_surrogate.path, table=other.path)
    # missing model file
    d2 = tmp_path / "c2.surrogate"
    shutil.copytree(syn_surrogate.path, d2)
    (d2 / "time.ubj.gz").unlink()
    with pytest.raises(SchemaError):
        CurveSurrogate.load(d2)


def test_refuses_to_overwrite(syn_surrogate):
    with pytest.raises(InvalidValueError):
        syn_surrogate.save(syn_surrogate.path)


@given(seed=st.integers(0, 2**40), n=st.integers(1, 30), f=st.integers(1, 27))
def test_predictions_clipped_to_valid_ranges(syn_surrogate, seed, n, f):
    X = syn_surrogate.space.sample_array(n, seed % 1000)
    out = _pred(syn_surrogate, X, f, np.full(n, seed, dtype=np.int64))
    for m, v in out.items():
        assert np.isfinite(v).all(), m
        if m.endswith("_acc"):
            assert ((v >= 0) & (v <= 1)).all()
        elif m.endswith("_loss"):
            assert (v >= 0).all()
    assert (out["cum_time"] > 0).all()


def test_cum_time_monotone_for_every_seed(syn_surrogate):
    b = SurrogateBenchmark(syn_surrogate)
    X = b.space.sample_array(50, 3)
    for s in (None, 0, 7, 2**31):
        c = b.curve(X, seed=s, metrics=["cum_time"])["cum_time"]
        assert (np.diff(c, axis=1) > 0).all()


def test_seed_noise_scale_matches_table(syn_surrogate, syn_table):
    """Spread of surrogate seeds is of the size of the table's seed-to-seed spread."""
    b = SurrogateBenchmark(syn_surrogate)
    X = syn_table.X
    vals = np.stack([b.query(X, fidelity=27, seed=s, metrics=["valid_acc"],
                             as_arrays=True)["valid_acc"] for s in range(40)])
    sur_sd = np.median(vals.std(axis=0))
    d = syn_table.dense("valid_acc")[:, :, 26]
    tab_sd = np.nanmedian(np.abs(d[:, 0] - d[:, 1]) / np.sqrt(2) / np.sqrt(2 / np.pi))
    assert 0.2 * tab_sd < sur_sd < 5 * tab_sd
    # the z draws are standard normal across seeds
    z = (vals - vals.mean(axis=0)) / np.maximum(vals.std(axis=0), 1e-12)
    inside = vals.std(axis=0) > 1e-6
    assert abs(np.mean(np.abs(z[:, inside]) < 1.2816) - 0.8) < 0.05


def test_fit_quality_on_held_out_synthetic_configs(tmp_path):
    from scipy.stats import kendalltau

    tr = write_synthetic_table(tmp_path / "tr.h5", n_configs=200, rng=1)
    te = write_synthetic_table(tmp_path / "te.h5", n_configs=60, rng=2)
    sur = CurveSurrogate("xgb", params={"n_estimators": 150, "max_depth": 6}, n_jobs=1).fit(tr)
    y = TabularBenchmark(te).query(te.configs, fidelity=27, metrics=["valid_acc", "cum_time"],
                                   as_arrays=True)
    p = SurrogateBenchmark(sur).query(te.configs, fidelity=27,
                                      metrics=["valid_acc", "cum_time"], as_arrays=True)
    ok = np.isfinite(y["valid_acc"])
    r2 = 1 - np.sum((y["valid_acc"][ok] - p["valid_acc"][ok]) ** 2) / \
        np.sum((y["valid_acc"][ok] - y["valid_acc"][ok].mean()) ** 2)
    assert r2 > 0.8
    assert kendalltau(y["valid_acc"][ok], p["valid_acc"][ok])[0] > 0.6
    lt = np.log(y["cum_time"])
    r2t = 1 - np.sum((lt - np.log(p["cum_time"])) ** 2) / np.sum((lt - lt.mean()) ** 2)
    assert r2t > 0.8


@pytest.mark.parametrize("model", ["knn", "mlp"])
def test_other_backends_round_trip(model, syn_table, tmp_path):
    if model == "mlp":
        pytest.importorskip("torch")
        params = {"epochs": 3, "hidden": [16], "members": 2}
    else:
        params = None
    sur = fit_surrogate(syn_table, model=model, params=params, calibration_fraction=0.0)
    d = sur.save(tmp_path / f"{model}.surrogate")
    # npz weights, JSON manifest; the MLP's spread and static models are trees (ubj.gz)
    assert all(p.name.endswith((".npz", ".json", ".ubj.gz")) for p in d.iterdir())
    for p in d.glob("*.npz"):
        np.load(p, allow_pickle=False)
    back = CurveSurrogate.load(d)
    X = syn_table.space.sample_array(30, 1)
    f = np.arange(30) % 27 + 1.0
    a = _pred(sur, X, f, np.arange(30))
    b = _pred(back, X, f, np.arange(30))
    for m in a:
        np.testing.assert_allclose(a[m], b[m], rtol=1e-6, atol=1e-9)
    assert (np.diff(SurrogateBenchmark(back).curve(X[:5], metrics=["cum_time"])["cum_time"],
                    axis=1) > 0).all()


def test_bad_arguments_raise_named_errors(syn_table):
    with pytest.raises(UnknownNameError):
        CurveSurrogate("gbm")
    with pytest.raises(InvalidValueError):
        CurveSurrogate("xgb", calibration_fraction=0.9)
    with pytest.raises(UnknownNameError):
        CurveSurrogate("knn").fit(syn_table, metrics=["nope"])
    with pytest.raises(InvalidValueError):
        CurveSurrogate("knn").predict(np.zeros((1, 10)), np.ones(1), ["valid_acc"])
    # the MLP backend models mean curves only (CurveSurrogate routes other roles to xgb);
    # asking it directly for another role names the allowed one
    from hasbench.surrogates.backends import make_regressor
    with pytest.raises(InvalidValueError, match=r"'role'.*'time'.*\['mean'\]"):
        make_regressor("mlp", "time", None, None)
    assert make_regressor("xgb", "time", None, None).role == "time"


def test_cli_fit_writes_loadable_surrogate(syn_table, tmp_path):
    out = tmp_path / "cli.surrogate"
    r = subprocess.run([sys.executable, "-m", "hasbench", "fit", str(syn_table.path),
                        "--model", "knn", "--acc-transform", "none", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    b = SurrogateBenchmark(out)
    assert b.query(syn_table.configs[:2], fidelity=3, metrics="valid_acc").shape == (2, 2)
    assert CurveSurrogate.load(out).acc_transform == "none"
    r = subprocess.run([sys.executable, "-m", "hasbench", "fit", str(syn_table.path),
                        "--acc-transform", "probit", "--out", str(tmp_path / "y")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "--acc-transform" in r.stderr and "probit" in r.stderr
    assert not (tmp_path / "y").exists()
    r = subprocess.run([sys.executable, "-m", "hasbench", "fit", str(syn_table.path),
                        "--model", "nope", "--out", str(tmp_path / "x")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "nope" in r.stderr


def test_gp_backend_round_trip_and_quality(tmp_path):
    from scipy.stats import kendalltau

    tr = write_synthetic_table(tmp_path / "tr.h5", n_configs=80, rng=3)
    te = write_synthetic_table(tmp_path / "te.h5", n_configs=30, rng=4)
    sur = fit_surrogate(tr, model="gp", metrics=["valid_acc"], calibration_fraction=0.0)
    d = sur.save(tmp_path / "gp.surrogate")
    back = CurveSurrogate.load(d)
    X = te.X
    f = np.arange(len(X)) % 27 + 1.0
    a = _pred(sur, X, f, np.arange(len(X)))
    b = _pred(back, X, f, np.arange(len(X)))
    for m in a:
        np.testing.assert_allclose(a[m], b[m], rtol=1e-10, atol=1e-12)
    y = TabularBenchmark(te).query(te.configs, fidelity=27, metrics=["valid_acc"],
                                   as_arrays=True)["valid_acc"]
    p = SurrogateBenchmark(back).query(te.configs, fidelity=27, metrics=["valid_acc"],
                                       as_arrays=True)["valid_acc"]
    ok = np.isfinite(y)
    assert kendalltau(y[ok], p[ok])[0] > 0.5


def test_oblique_xgb_features_follow_a_diagonal_boundary_and_round_trip(tmp_path):
    """A cliff along x0 + x1 = 1 (like "learning rate too high for this depth") is one split
    on the pairwise-sum feature; plain trees approximate it with a staircase."""
    from hasbench.surrogates.backends import XGBRegressor, load_regressor

    rng = np.random.default_rng(0)
    F = np.column_stack([rng.random((600, 3)), rng.integers(1, 28, 600)]).astype(float)
    y = (F[:, 0] + F[:, 1] > 1.0).astype(float)
    Ft = np.column_stack([rng.random((400, 3)), rng.integers(1, 28, 400)]).astype(float)
    yt = (Ft[:, 0] + Ft[:, 1] > 1.0).astype(float)
    lo, hi = np.array([0, 0, 0, 1.0]), np.array([1, 1, 1, 27.0])
    err = {}
    for oblique in (False, True):
        reg = XGBRegressor("mean", lo, hi, n_jobs=1, n_estimators=30, max_depth=2,
                           learning_rate=0.3, oblique=oblique).fit(F, y)
        err[oblique] = float(np.mean((reg.predict(Ft) - yt) ** 2))
    assert err[True] < 0.5 * err[False], err
    names = reg.save(tmp_path, "m")
    back = load_regressor(tmp_path, "m", {**reg.meta(), "files": names})
    np.testing.assert_allclose(back.predict(Ft), reg.predict(Ft), rtol=1e-6)


def test_mlp_ensemble_members_are_averaged(syn_table):
    pytest.importorskip("torch")
    params = {"epochs": 20, "hidden": [16], "members": 3}
    sur = fit_surrogate(syn_table, model="mlp", params=params, calibration_fraction=0.0,
                        metrics=["valid_acc"])
    reg = sur._models["mean:valid_acc"]
    assert len(reg.nets) == 3
    X = syn_table.space.encode(syn_table.configs[:10])
    from hasbench.surrogates.backends import MLPRegressor
    F = sur.features(X, np.full(10, 27.0))
    single = []
    for layers in reg.nets:
        one = MLPRegressor("mean", reg.scale_lo, reg.scale_hi, cats=reg.cats)
        one.nets, one.y_mean, one.y_std, one.n_steps = [layers], reg.y_mean, reg.y_std, \
            reg.n_steps
        single.append(one.predict(F))
    np.testing.assert_allclose(reg.predict(F), np.mean(single, axis=0), rtol=1e-5, atol=1e-6)
    assert np.ptp(np.array(single), axis=0).max() > 0  # members differ (own seeds)


def test_time_detrend_removes_load_drift_in_collection_order(tmp_path):
    # real synthetic runs, then a machine-load episode: runs 200-399 (in commit order) took
    # 1.6x as long. Detrending must recover the undisturbed runtime level of those configs.
    import dataclasses

    from hasbench.surrogates.testing import synthetic_runs
    from hasbench.tables import config_id, write_table

    runs = synthetic_runs("hia-cnn", 300, (0, 1), rng=4)
    slowed = np.zeros(len(runs), bool)
    slowed[200:400] = True
    table = write_table(tmp_path / "load.h5", "hia-cnn", [
        dataclasses.replace(r, epoch_time=np.asarray(r.epoch_time) * (1.6 if sl else 1.0))
        for r, sl in zip(runs, slowed, strict=True)], max_epochs=27)
    # undisturbed truth per config: log of the seed-mean total time; which configs were hit
    tot: dict[str, list[float]] = {}
    hit_ids = set()
    for r, sl in zip(runs, slowed, strict=True):
        cid = config_id(table.space.validate(r.config))
        tot.setdefault(cid, []).append(float(np.sum(r.epoch_time)))
        if sl:
            hit_ids.add(cid)
    y = np.log([np.mean(tot[c]) for c in table.config_ids])
    hit = np.array([c in hit_ids for c in table.config_ids])
    assert 90 <= hit.sum() <= 110
    params = {"time": {"n_estimators": 200, "learning_rate": 0.1}}
    errs = {}
    for w in (0, 60):
        sur = CurveSurrogate("xgb", params=params, n_jobs=1, calibration_fraction=0.0,
                             time_detrend=w).fit(table.path, metrics=["valid_acc"])
        pred = sur.predict(table.X, np.full(table.n_configs, 27.0), ["cum_time"])["cum_time"]
        errs[w] = np.log(pred) - y
    assert errs[0][hit].mean() > 0.2  # the plain fit learns the slowdown
    assert abs(errs[60][hit].mean()) < 0.5 * errs[0][hit].mean()
    assert np.sqrt(np.mean(errs[60] ** 2)) < np.sqrt(np.mean(errs[0] ** 2))
    # the default level (a low quantile of the load factors) is the undisturbed machine
    assert abs(errs[60][~hit].mean()) < 0.1
    info = sur.time_detrend_info
    assert info["level_quantile"] == 0.1
    # level 0.9 falls inside the slow episode: every runtime is expressed at that load
    slow = CurveSurrogate("xgb", params=params, n_jobs=1, calibration_fraction=0.0,
                          time_detrend=60, time_detrend_level=0.9).fit(
        table.path, metrics=["valid_acc"])
    pred = slow.predict(table.X, np.full(table.n_configs, 27.0), ["cum_time"])["cum_time"]
    assert abs((np.log(pred) - y).mean() - np.log(1.6)) < 0.15
    assert info["window_runs"] == 60 and 1.3 < info["factor_quantiles"]["1.0"] < 1.9
    assert info["residual_sd_after"] < info["residual_sd_before"]
    # saved and loaded with the surrogate
    sur.save(tmp_path / "det.surrogate")
    back = CurveSurrogate.load(tmp_path / "det.surrogate")
    assert back.time_detrend == 60 and back.time_detrend_info == info
    assert back.time_detrend_level == 0.1
    with pytest.raises(InvalidValueError, match="time_detrend"):
        CurveSurrogate("xgb", time_detrend=-1)
    with pytest.raises(InvalidValueError, match="time_detrend_level.*1.5"):
        CurveSurrogate("xgb", time_detrend=60, time_detrend_level=1.5)
    with pytest.raises(InvalidValueError, match="time_detrend"):
        CurveSurrogate("xgb", time_detrend=400, n_jobs=1).fit(table.path, metrics=["valid_acc"])


def test_role_params_reach_their_models(syn_table):
    # {"mean": {...}} is a role block like "std"/"time"; top-level keys also go to "mean"
    sur = CurveSurrogate("xgb", n_jobs=1, calibration_fraction=0.0, params={
        "learning_rate": 0.3, "mean": {"n_estimators": 7, "max_depth": 2},
        "time": {"n_estimators": 5}}).fit(syn_table, metrics=["valid_acc"])
    mean = sur._models["mean:valid_acc"]
    assert mean.booster.num_boosted_rounds() == 7
    assert mean.params["learning_rate"] == 0.3 and "mean" not in mean.params
    depth = mean.booster.trees_to_dataframe().groupby("Tree")["ID"].count()
    assert depth.max() <= 7  # depth 2: at most 3 splits + 4 leaves per tree
    assert sur._models["time"].booster.num_boosted_rounds() == 5
    with pytest.raises(InvalidValueError, match=r"params\['time'\].*dict"):
        CurveSurrogate("xgb", params={"time": 3})


def test_accuracy_means_on_logit_scale_by_default(syn_surrogate, tmp_path):
    import json
    import shutil

    assert syn_surrogate.acc_transform == "logit"
    man = json.loads((syn_surrogate.path / "manifest.json").read_text())
    assert man["acc_transform"] == "logit"
    X = syn_surrogate.space.sample_array(40, 3)
    f = np.full(40, 27.0)
    new = syn_surrogate.predict(X, f, ["valid_acc"])["valid_acc"]
    assert ((new > 0) & (new < 1)).all()
    # a manifest written before the default changed has no key: it loads as "none" (its
    # mean models were fitted on raw accuracies), so the same files answer differently
    old = tmp_path / "old.surrogate"
    shutil.copytree(syn_surrogate.path, old)
    man.pop("acc_transform")
    (old / "manifest.json").write_text(json.dumps(man))
    back = CurveSurrogate.load(old)
    assert back.acc_transform == "none"
    assert not np.allclose(back.predict(X, f, ["valid_acc"])["valid_acc"], new)
    with pytest.raises(InvalidValueError, match="acc_transform.*probit"):
        CurveSurrogate("xgb", acc_transform="probit")


def test_seeded_prediction_does_not_depend_on_metric_order(syn_surrogate):
    # regression: asking cum_time before a per-epoch metric with a seed raised TypeError
    X = syn_surrogate.space.sample_array(6, 2)
    f = np.full(6, 4.0)
    s = np.arange(6, dtype=np.int64)
    a = syn_surrogate.predict(X, f, ["cum_time", "valid_acc"], seed=s)
    b = syn_surrogate.predict(X, f, ["valid_acc", "cum_time"], seed=s)
    for m in a:
        np.testing.assert_array_equal(a[m], b[m])
