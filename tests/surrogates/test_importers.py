"""Import tidy data into run tables, export to Syne Tune's layout, split tables."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from hasbench.benchmarks import TabularBenchmark
from hasbench.errors import InvalidValueError, UnknownNameError
from hasbench.tables.importers import export_synetune, import_tidy, split_table


def _tidy(rng):
    """Small tidy frame: 12 configs x 2 seeds, unequal lengths, one diverged run, NaN gap."""
    rows = []
    for c in range(12):
        lr = float(10 ** rng.uniform(-5, -1))
        width = int(rng.choice([16, 32, 64, 128]))
        act = ["relu", "tanh", "gelu"][c % 3]
        drop = round(float(rng.uniform(0, 0.5)), 4)
        for s in (0, 1):
            n = 10 if c % 4 else 6
            for e in range(1, n + 1):
                acc = 0.9 - 0.5 * np.exp(-e / 3) + 0.01 * s
                loss = np.nan if (c == 5 and s == 1 and e > 3) else 1 - acc
                rows.append(dict(lr=lr, width=width, act=act, drop=drop, seed=s, epoch=e,
                                 acc=acc, loss=loss, secs=0.5 + 0.01 * width,
                                 params=width * 100.0))
    return pd.DataFrame(rows)


def test_import_small_csv_builds_space_and_curves(tmp_path):
    df = _tidy(np.random.default_rng(0))
    src = tmp_path / "runs.csv"
    df.to_csv(src, index=False)
    t = import_tidy(src, tmp_path / "t.h5", metrics=["acc", "loss"], fidelity="epoch",
                    seed="seed", time="secs", static=["params"])
    sp = t.space
    assert sp.names == ["lr", "width", "act", "drop"]
    assert sp.kind("lr") == "float" and sp.configspace["lr"].log
    assert sp.kind("width") == "int" and not sp.configspace["width"].log
    assert sp.kind("act") == "categorical" and set(sp.choices("act")) == {"relu", "tanh", "gelu"}
    assert sp.fidelity.name == "epoch" and sp.fidelity.upper == 10
    assert t.n_configs == 12 and t.n_runs == 24
    assert sorted(set(t.run_n_epochs.tolist())) == [6, 10]
    assert t.run_status.count("diverged") == 1
    # values survive exactly (float32 storage of metrics)
    b = TabularBenchmark(t)
    back = t.to_frame()
    for f in (back, df):  # log values come back rounded to 10 digits (canonical form)
        f["lr_key"] = np.round(np.log(f["lr"].to_numpy(float)), 6)
    merged = back.merge(df, on=["lr_key", "width", "act", "drop", "seed", "epoch"],
                        suffixes=("", "_src"))
    assert len(merged) == len(df)
    np.testing.assert_allclose(merged["acc"], merged["acc_src"], rtol=1e-6)
    np.testing.assert_allclose(merged["epoch_time"], merged["secs"])
    np.testing.assert_array_equal(np.isnan(merged["loss"]), np.isnan(merged["loss_src"]))
    q = b.query(t.configs, fidelity=3, seed=1, metrics=["acc", "params"], as_arrays=True)
    assert np.isfinite(q["acc"]).all()


def test_import_round_trip_of_a_run_table(syn_table, tmp_path):
    df = syn_table.to_frame()
    t = import_tidy(df, tmp_path / "rt.h5", metrics=syn_table.metrics, fidelity="epoch",
                    seed="seed", space="hia-cnn", time="epoch_time",
                    static=["params", "flops", "model_bytes"],
                    ignore=["config_id", "config", "cum_time", "status"])
    assert t.n_configs == syn_table.n_configs and t.n_runs == syn_table.n_runs
    a = TabularBenchmark(syn_table).curve(syn_table.configs, seed=1)
    b = TabularBenchmark(t).curve(syn_table.configs, seed=1)
    for m in ("valid_acc", "cum_time", "params"):
        np.testing.assert_array_equal(a[m], b[m])


def test_import_errors(tmp_path):
    df = _tidy(np.random.default_rng(1))
    with pytest.raises(UnknownNameError):
        import_tidy(df, tmp_path / "a.h5", metrics=["nope"], fidelity="epoch", seed="seed")
    with pytest.raises(InvalidValueError) as ei:  # two seeds per config, no seed column
        import_tidy(df, tmp_path / "b.h5", metrics=["acc"], fidelity="epoch",
                    ignore=["seed", "secs", "params", "loss"])
    assert "seed" in str(ei.value) and "run_id" in str(ei.value)
    t = import_tidy(df, tmp_path / "c.h5", metrics=["acc"], fidelity="epoch",
                    ignore=["secs", "params", "loss"], run_id="seed", duplicates="seed")
    assert t.n_runs == 24 and set(t.seeds.tolist()) == {0, 1}
    (tmp_path / "d.h5").write_bytes(b"x")
    with pytest.raises(InvalidValueError):
        import_tidy(df, tmp_path / "d.h5", metrics=["acc"], fidelity="epoch", seed="seed")


def test_export_synetune_layout(syn_table, tmp_path):
    d = export_synetune(syn_table, tmp_path / "bb")
    names = {p.name for p in d.iterdir()}
    assert {"hyperparameters.parquet", "objectives_evaluations.npy", "fidelities_values.npy",
            "configspace.json", "fidelityspace.json", "metadata.json"} <= names
    Y = np.load(d / "objectives_evaluations.npy", allow_pickle=False)
    meta = json.loads((d / "metadata.json").read_text())
    assert Y.dtype == np.float32
    assert Y.shape == (1, syn_table.n_configs, 2, 27, len(syn_table.metrics) + 1)
    assert meta["objectives_names"][-1] == "cum_time"
    hp = pd.read_parquet(d / "hyperparameters.parquet")
    assert list(hp.columns) == syn_table.space.search_names  # epochs is the fidelity
    i = meta["objectives_names"].index("valid_acc")
    np.testing.assert_array_equal(Y[0, :, :, :, i],
                                  syn_table.dense("valid_acc").astype(np.float32))
    fv = np.load(d / "fidelities_values.npy", allow_pickle=False)
    np.testing.assert_array_equal(fv, np.arange(1, 28))
    cs = json.loads((d / "configspace.json").read_text())
    assert cs["learning_rate"]["sampler_cls"] == "LogUniform"
    assert cs["optimizer"]["domain_cls"] == "Categorical"
    try:
        from syne_tune.config_space import config_space_from_json_dict
    except Exception:  # syne_tune absent or its optional deps missing
        return
    space = config_space_from_json_dict(cs)
    for col in hp.columns:
        assert all(space[col].is_valid(v) for v in hp[col].tolist())
    with pytest.raises(InvalidValueError):
        export_synetune(syn_table, d)


def test_split_table_and_cli(syn_table, tmp_path):
    a, b = split_table(syn_table, tmp_path / "a.h5", tmp_path / "b.h5", 0.25, seed=3)
    assert a.n_configs + b.n_configs == syn_table.n_configs
    assert b.n_configs == 15 and not set(a.config_ids) & set(b.config_ids)
    r = subprocess.run([sys.executable, "-m", "hasbench", "data", "export-synetune",
                        str(b.path), str(tmp_path / "bb2")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "hasbench", "data", "import",
                        str(tmp_path / "missing.csv"), "--out", str(tmp_path / "x.h5"),
                        "--metrics", "a"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "missing.csv" in r.stderr


def _curves(shared, name):
    p = shared / "learning-curves" / name
    if not p.is_dir():
        pytest.skip(f"shared learning curves {name} not available")
    return p


def test_import_taskset_task(tmp_path, shared_data):
    p = _curves(shared_data, "taskset-rnn-imdb") / "taskset_rnn_imdb_curves.csv.gz"
    task = "FixedTextRNNClassification_imdb_patch32_VRNN64_relu_avg_bs128"
    t = import_tidy(p, tmp_path / "ts.h5", metrics=["train_loss", "valid_loss", "test_loss"],
                    fidelity="checkpoint", where={"task": task},
                    ignore=["task", "config_id", "step"])
    assert t.n_configs == 1000 and t.max_epochs == 51 and t.space.dim == 8
    assert t.space.configspace["learning_rate"].log
    # README: 8402 non-finite valid_loss values in this task -> diverged runs
    v = t.curve("valid_loss")
    assert int((~np.isfinite(v)).sum()) == 8402
    assert t.run_status.count("diverged") > 0
    assert t.attrs["time_unit"].startswith("unit cost")


def test_import_nmt_unequal_lengths(tmp_path, shared_data):
    p = _curves(shared_data, "nmt-hpo") / "nmt_curves.csv.gz"
    t = import_tidy(p, tmp_path / "nmt.h5", metrics=["dev_perplexity"], fidelity="checkpoint",
                    where={"task": "scratch", "dataset_name": "ted-zh-en"},
                    ignore=["curve_id", "task", "dataset_name", "src", "trg", "basemodel",
                            "max_len", "dev_bleu", "dataset_size"],
                    run_id="curve_id", duplicates="seed")
    assert t.n_runs == 148
    assert t.run_n_epochs.min() < t.run_n_epochs.max()
    df = pd.read_csv(p)
    sub = df[(df.task == "scratch") & (df.dataset_name == "ted-zh-en")]
    assert sorted(t.run_n_epochs.tolist()) == sorted(sub.groupby("curve_id").size().tolist())
