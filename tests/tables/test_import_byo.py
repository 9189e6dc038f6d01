"""Bring your own runs (issue 20, items 1-6): one seed, one fidelity, column roles and
declarations, percent accuracies, a shared space for held-out files, provenance of extended
tables, a vectorised split. Small CSVs written to tmp_path, real CLI subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from hasbench.cli import main
from hasbench.errors import InvalidValueError, UnknownNameError
from hasbench.surrogates import CurveSurrogate
from hasbench.surrogates.validation import validate
from hasbench.tables import Run, RunTable, RunTableWriter, write_table
from hasbench.tables.importers import import_tidy, space_difference, split_table

SMALL = {"n_estimators": 40, "max_depth": 4, "learning_rate": 0.15,
         "std": {"n_estimators": 20}, "time": {"n_estimators": 30},
         "static": {"n_estimators": 20}}


def _runs(rng, n_configs=60, seeds=(0,), epochs=(1, 2, 3, 4, 5), lr_range=(-4, -1),
          noise=0.01, first_id=0):
    """Tidy rows: lr (log), width (int), act (text); valid_acc/valid_loss curves (or one
    final value when ``epochs`` is None); id columns; a per-run latency; a per-step
    ``step``."""
    rows = []
    for c in range(n_configs):
        lr = float(10 ** rng.uniform(*lr_range))
        width = int(rng.choice([16, 32, 64, 128]))
        act = ["relu", "tanh", "gelu"][c % 3]
        q = 0.55 + 0.35 * np.exp(-(np.log10(lr) + 2.5) ** 2) + 0.0005 * width \
            + (0.03 if act == "gelu" else 0.0)
        for s in seeds:
            shift = rng.normal(0, noise)
            lat = float(rng.uniform(1, 2))
            for e in (epochs if epochs is not None else [None]):
                acc = q - (0.3 * np.exp(-e) if e is not None else 0.0) + shift \
                    + rng.normal(0, noise / 3)
                acc = float(np.clip(acc, 0.0, 1.0))
                row = dict(config_id=first_id + c, json_config_id=10_000 + first_id + c,
                           lr=lr, width=width, act=act, seed_index=s, valid_acc=acc,
                           valid_loss=1 - acc, latency_ms=lat)
                if e is not None:
                    row.update(epoch=e, step=100 * e, secs=0.1 + 0.001 * width)
                rows.append(row)
    return pd.DataFrame(rows)


def _sub(*args, timeout=300):
    """A real ``hasbench`` process."""
    return subprocess.run([sys.executable, "-m", "hasbench", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli(capsys):
    """``hasbench.cli.main`` in this process (exit code, stdout, stderr)."""
    def run(*args):
        capsys.readouterr()
        rc = main([str(a) for a in args])
        got = capsys.readouterr()
        return SimpleNamespace(returncode=rc, stdout=got.out, stderr=got.err)

    return run


# ------------------------------------------------------------------ item 1: one seed
def test_one_seed_intervals_from_model_error(tmp_path):
    rng = np.random.default_rng(0)
    train = import_tidy(_runs(rng, 80), tmp_path / "train.h5", metrics=["valid_acc",
                        "valid_loss"], seed="seed_index", time="secs",
                        ignore=["config_id", "json_config_id", "latency_ms", "step"])
    held = import_tidy(_runs(rng, 40, first_id=500), tmp_path / "held.h5",
                       metrics=["valid_acc", "valid_loss"], seed="seed_index", time="secs",
                       ignore=["config_id", "json_config_id", "latency_ms", "step"],
                       space_from=train)
    sur = CurveSurrogate("xgb", params=SMALL, n_jobs=1).fit(train)
    for m in ("valid_acc", "valid_loss"):
        assert np.all(np.asarray(sur.calib_var[m]) > 0), sur.calib_var[m]
        assert "out-of-fold" in sur.calib_source[m]
    man = sur.manifest()
    assert man["seed_information"]["seed_spread"].startswith("unknown")
    assert "no seed information" in man["noise"]["calib_source"]["valid_acc"]
    rep = validate(sur, held, optimizers=None)
    cov = rep["coverage"]["valid_acc"]["predictive"]["all_fidelities"]
    assert 0.65 <= cov <= 0.95, cov  # was 0.000: zero-width intervals
    assert any("no seed information" in n for n in rep["notes"])
    # the saved surrogate keeps it
    sur.save(tmp_path / "s.surrogate")
    back = CurveSurrogate.load(tmp_path / "s.surrogate")
    assert back.calib_source == sur.calib_source
    assert back.seed_information == sur.seed_information


def test_multi_seed_calibration_unchanged_by_the_one_seed_path(syn_table):
    sur = CurveSurrogate("xgb", params=SMALL, n_jobs=1).fit(syn_table)
    assert sur.seed_information["seed_spread"] == "modelled"
    assert set(sur.calib_source.values()) <= {"held-out seed values (calibration split)",
                                              "none"}


# ------------------------------------------------------------------ item 2: one fidelity
def test_final_only_table_imports_fits_and_validates_from_the_cli(tmp_path, cli):
    rng = np.random.default_rng(1)
    _runs(rng, 70, seeds=(0, 1, 2), epochs=None).to_csv(tmp_path / "final.csv.gz",
                                                          index=False)
    r = _sub("data", "import", tmp_path / "final.csv.gz", "--out", tmp_path / "f.h5",
             "--metrics", "valid_acc", "--seed-column", "seed_index")
    assert r.returncode == 0, r.stderr
    assert "fidelity: none" in r.stdout and "3 seed(s)" in r.stdout
    t = RunTable.read(tmp_path / "f.h5")
    assert t.max_epochs == 1 and t.n_configs == 70 and t.n_runs == 210
    assert t.attrs["fidelity_column"] is None
    r = cli("data", "split", tmp_path / "f.h5", "--first", tmp_path / "a.h5", "--second",
             tmp_path / "b.h5", "--fraction", "0.3")
    assert r.returncode == 0, r.stderr
    r = cli("fit", tmp_path / "a.h5", "--out", tmp_path / "f.surrogate", "--params",
             json.dumps(SMALL), "--threads", "1")
    assert r.returncode == 0, r.stderr
    r = cli("validate", tmp_path / "f.surrogate", "--table", tmp_path / "b.h5", "--out",
             tmp_path / "rep", "--optimizers", "random,hyperband,asha", "--repeats", "2",
             "--no-plots")
    assert r.returncode == 0, r.stderr  # was: Hyperband: invalid value for 'max_fidelity'
    rep = json.loads((tmp_path / "rep.json").read_text())
    ork = rep["optimizer_ranking"]
    assert ork["optimizers"] == ["random"]
    assert set(ork["skipped"]) == {"hyperband", "asha"}
    assert "one fidelity" in ork["skipped"]["hyperband"]
    md = (tmp_path / "rep.md").read_text()
    assert "hyperband: skipped" in md


def test_explicit_fidelity_none_and_missing_fidelity_column(tmp_path):
    df = _runs(np.random.default_rng(2), 12, epochs=None)
    t = import_tidy(df, tmp_path / "n.h5", metrics=["valid_acc"], fidelity=None,
                    hyperparameters=["lr", "width", "act"])
    assert t.max_epochs == 1 and t.n_runs == 12
    with pytest.raises(UnknownNameError):  # a named fidelity column must exist
        import_tidy(df, tmp_path / "m.h5", metrics=["valid_acc"], fidelity="epoch")
    # two rows of one run without a fidelity column: refused, with the reason
    with pytest.raises(InvalidValueError, match="one row per run"):
        import_tidy(pd.concat([df, df]), tmp_path / "d.h5", metrics=["valid_acc"],
                    fidelity=None, hyperparameters=["lr", "width", "act"])


# ------------------------------------------------------------------ item 3: column roles
def test_ids_per_run_and_per_step_columns_are_not_hyperparameters(tmp_path, cli):
    rng = np.random.default_rng(3)
    df = _runs(rng, 30, seeds=(0, 1, 2))
    df.to_csv(tmp_path / "runs.csv", index=False)
    r = cli("data", "import", tmp_path / "runs.csv", "--out", tmp_path / "t.h5",
             "--metrics", "valid_acc,valid_loss", "--seed-column", "seed_index",
             "--time", "secs")
    assert r.returncode == 0, r.stderr
    t = RunTable.read(tmp_path / "t.h5")
    # before: config_id, json_config_id, latency_ms and step became hyperparameters
    assert t.space.names == ["lr", "width", "act"]
    assert t.n_configs == 30 and t.n_runs == 90
    out = r.stdout
    assert "hyperparameters (3, inferred" in out
    for col, why in (("config_id", "id-like"), ("json_config_id", "id-like"),
                     ("latency_ms", "seeds of a config"), ("step", "along a run's curve")):
        line = next(x for x in out.splitlines() if x.strip().startswith(col + ":"))
        assert why in line, line
    assert "seeds: column 'seed_index', 3 seed(s)" in out
    assert "fidelity: column 'epoch', 5 step(s)" in out
    summary = t.provenance["import"]
    assert summary["hyperparameters"] == ["lr", "width", "act"]
    assert summary["hyperparameters_from"] == "inferred"
    # named explicitly: exactly those; every other column is reported as not named
    t2 = import_tidy(df, tmp_path / "t2.h5", metrics=["valid_acc"], seed="seed_index",
                     hyperparameters=["lr", "width", "act", "latency_ms"])
    assert t2.space.names == ["lr", "width", "act", "latency_ms"] and t2.n_configs == 90
    assert t2.provenance["import"]["ignored"]["valid_loss"] == "not named"


def test_declared_types_bounds_and_configspace(tmp_path, cli):
    import ConfigSpace as CS

    df = _runs(np.random.default_rng(4), 20)
    df.to_csv(tmp_path / "runs.csv", index=False)
    base = ["data", "import", tmp_path / "runs.csv", "--metrics", "valid_acc",
            "--seed-column", "seed_index", "--hyperparameters", "lr,width,act"]
    r = cli(*base, "--out", tmp_path / "d.h5", "--hp", "lr=float:1e-6:1:log",
             "--hp", "width=int:8:256:log", "--hp", "act=categorical:relu|tanh|gelu|silu")
    assert r.returncode == 0, r.stderr
    sp = RunTable.read(tmp_path / "d.h5").space
    lr, width = sp.configspace["lr"], sp.configspace["width"]
    assert (lr.lower, lr.upper, lr.log) == (1e-6, 1.0, True)
    assert (width.lower, width.upper, width.log) == (8, 256, True)
    assert set(sp.choices("act")) == {"relu", "tanh", "gelu", "silu"}
    assert "lr (float, log, [1e-06, 1])" in r.stdout
    # a value outside the declared bounds: exit 2, naming the column and the bounds
    r = cli(*base, "--out", tmp_path / "e.h5", "--hp", "lr=float:1e-3:1")
    assert r.returncode == 2 and "column 'lr'" in r.stderr and "declared bounds" in r.stderr
    assert "Traceback" not in r.stderr
    r = cli(*base, "--out", tmp_path / "e.h5", "--hp", "lr=complex")
    assert r.returncode == 2 and "complex" in r.stderr and "float" in r.stderr
    # a ConfigSpace JSON file gives names, types and bounds
    cs = CS.ConfigurationSpace({"lr": CS.Float("lr", (1e-5, 0.5), log=True),
                                "width": CS.Integer("width", (16, 128)),
                                "act": CS.Categorical("act", ["relu", "tanh", "gelu"])})
    cs.to_json(tmp_path / "cs.json")
    r = cli("data", "import", tmp_path / "runs.csv", "--metrics", "valid_acc",
             "--seed-column", "seed_index", "--configspace", tmp_path / "cs.json",
             "--out", tmp_path / "c.h5")
    assert r.returncode == 0, r.stderr
    sp = RunTable.read(tmp_path / "c.h5").space
    assert sp.configspace["lr"].upper == 0.5 and set(sp.names) == {"lr", "width", "act"}
    assert "from the given space" in r.stdout


def test_metric_goal_and_transform_are_declared_and_used_by_fit(tmp_path):
    rng = np.random.default_rng(5)
    df = _runs(rng, 60)
    # a minimised metric on a log scale, with diverged (NaN) values
    df["valid_mse"] = 10 * np.exp(-6 * df["valid_acc"]) * 10 ** rng.uniform(-1, 1, len(df))
    df.loc[df.config_id == 3, "valid_mse"] = np.nan
    kw = dict(metrics=["valid_acc", "valid_mse"], seed="seed_index", time="secs",
              hyperparameters=["lr", "width", "act"])
    t = import_tidy(df, tmp_path / "m.h5", metric_specs={"valid_mse": "min:log"}, **kw)
    assert t.attrs["metric_info"] == {"valid_mse": {"kind": "other", "goal": "min",
                                                    "transform": "log"}}
    sur = CurveSurrogate("xgb", params=SMALL, n_jobs=1).fit(t)
    finite = df["valid_mse"].dropna()
    # diverged values of a minimised metric are filled with its worst (largest) value;
    # undeclared, 'other' metrics were filled with the smallest: a diverged run looked best
    assert sur.fill["valid_mse"] == pytest.approx(finite.max(), rel=1e-6)
    assert sur.manifest()["metric_info"]["valid_mse"]["transform"] == "log"
    assert sur._transform("valid_mse") == "log" and sur._transform("valid_acc") == "logit"
    raw = CurveSurrogate("xgb", params=SMALL, n_jobs=1).fit(
        import_tidy(df, tmp_path / "r.h5", metric_specs={"valid_mse": "min:none"}, **kw))
    X, f = t.X, np.full(t.n_configs, 5.0)
    a = sur.predict(X, f, ["valid_mse"])["valid_mse"]
    b = raw.predict(X, f, ["valid_mse"])["valid_mse"]
    assert not np.allclose(a, b)  # a different fit scale, not a label
    with pytest.raises(InvalidValueError, match="valid_acc"):  # an accuracy is maximised
        import_tidy(df, tmp_path / "x.h5", metric_specs={"valid_acc": "min"}, **kw)
    with pytest.raises(InvalidValueError, match="logit"):
        import_tidy(df, tmp_path / "y.h5", metric_specs={"valid_mse": "min:logit"}, **kw)


def test_non_numeric_metric_column_is_a_named_error(tmp_path):
    df = _runs(np.random.default_rng(6), 8)
    df["valid_loss"] = df["valid_loss"].astype(object)
    df.loc[3, "valid_loss"] = "oops"
    df.loc[4, "valid_loss"] = "nan"  # a diverged value written as text is fine
    with pytest.raises(InvalidValueError) as ei:
        import_tidy(df, tmp_path / "t.h5", metrics=["valid_loss"], seed="seed_index",
                    hyperparameters=["lr", "width", "act"])
    assert ei.value.parameter == "column 'valid_loss'" and ei.value.value == "oops"
    df.loc[3, "valid_loss"] = "inf"
    t = import_tidy(df, tmp_path / "t.h5", metrics=["valid_loss"], seed="seed_index",
                    hyperparameters=["lr", "width", "act"])
    assert t.run_status.count("diverged") >= 1


# ------------------------------------------------------------------ item 4: percent
def test_percent_accuracy_is_refused_or_scaled(tmp_path, cli):
    df = _runs(np.random.default_rng(7), 10)
    df["valid_acc"] *= 100
    df.to_csv(tmp_path / "pct.csv", index=False)
    base = ["data", "import", tmp_path / "pct.csv", "--metrics", "valid_acc",
            "--seed-column", "seed_index", "--hyperparameters", "lr,width,act"]
    r = _sub(*base, "--out", tmp_path / "p.h5")
    assert r.returncode == 2, r.stdout  # was exit 0, every prediction clipped to 1.0
    assert "column 'valid_acc'" in r.stderr and "--scale valid_acc=0.01" in r.stderr
    assert not (tmp_path / "p.h5").exists()
    r = cli(*base, "--out", tmp_path / "p.h5", "--scale", "valid_acc=percent")
    assert r.returncode == 0, r.stderr
    v = RunTable.read(tmp_path / "p.h5").curve("valid_acc")
    np.testing.assert_allclose(np.nanmax(v), df["valid_acc"].max() / 100, rtol=1e-6)


def test_writer_refuses_accuracies_outside_unit_interval(tmp_path):
    from hasbench.spaces import get_space

    sp = get_space("hia-cnn")
    cfg = sp.sample(1, 0)[0]
    run = Run(config=cfg, seed=0, metrics={"valid_acc": [0.5, 87.0]},
              epoch_time=[1.0, 1.0])
    with pytest.raises(InvalidValueError) as ei:
        write_table(tmp_path / "w.h5", sp, [run], max_epochs=27, metrics=["valid_acc"],
                    static_names=())
    assert ei.value.parameter == "metrics['valid_acc']" and ei.value.value == 87.0
    ok = Run(config=cfg, seed=0, metrics={"valid_acc": [0.5, np.nan]}, epoch_time=[1.0, 1.0])
    write_table(tmp_path / "w2.h5", sp, [ok], max_epochs=27, metrics=["valid_acc"],
                static_names=())


# ------------------------------------------------------------------ item 5: --space-from
def test_heldout_file_imported_with_the_training_space(tmp_path, cli):
    rng = np.random.default_rng(8)
    _runs(rng, 60, epochs=(1, 2, 4, 8)).to_csv(tmp_path / "train.csv", index=False)
    held = _runs(rng, 20, epochs=(1, 2, 4, 8), lr_range=(-3, -2), first_id=100)
    held.to_csv(tmp_path / "held.csv", index=False)
    common = ["--metrics", "valid_acc", "--seed-column", "seed_index",
              "--hyperparameters", "lr,width,act"]
    assert cli("data", "import", tmp_path / "train.csv", "--out", tmp_path / "train.h5",
                *common).returncode == 0
    assert cli("data", "import", tmp_path / "held.csv", "--out", tmp_path / "alone.h5",
                *common).returncode == 0
    r = cli("data", "import", tmp_path / "held.csv", "--out", tmp_path / "held.h5",
             *common, "--space-from", tmp_path / "train.h5")
    assert r.returncode == 0, r.stderr
    train, alone, hel = (RunTable.read(tmp_path / f"{n}.h5") for n in ("train", "alone",
                                                                      "held"))
    assert hel.space.to_dict()["configspace"] == train.space.to_dict()["configspace"]
    assert hel.max_epochs == 4  # fidelity values 1, 2, 4, 8 -> the training table's steps
    diff = space_difference(alone.space, train.space)
    assert any(d.startswith("'lr': lower bound") for d in diff), diff
    sur = CurveSurrogate("xgb", params=SMALL, n_jobs=1).fit(train)
    validate(sur, hel, optimizers=None)  # accepted
    with pytest.raises(InvalidValueError) as ei:  # refused, saying which bound differs
        validate(sur, alone, optimizers=None)
    assert "'lr': lower bound" in str(ei.value) and "--space-from" in str(ei.value)
    # a held-out value outside the training bounds: named column, bounds and range
    held.loc[0, "lr"] = 0.5
    held.to_csv(tmp_path / "held2.csv", index=False)
    r = cli("data", "import", tmp_path / "held2.csv", "--out", tmp_path / "h2.h5", *common,
             "--space-from", tmp_path / "train.h5")
    assert r.returncode == 2 and "column 'lr'" in r.stderr and "bounds of 'lr'" in r.stderr
    # a fidelity value the training table does not have
    held["epoch"] = held["epoch"].replace(8, 6)
    held.to_csv(tmp_path / "held3.csv", index=False)
    r = cli("data", "import", tmp_path / "held3.csv", "--out", tmp_path / "h3.h5", *common,
             "--space-from", tmp_path / "train.h5")
    assert r.returncode == 2 and "'epoch'" in r.stderr and "6" in r.stderr


# ------------------------------------------------------------------ item 6
def test_extending_a_table_records_provenance(tmp_path, cli):
    df = _runs(np.random.default_rng(9), 10)
    t = import_tidy(df, tmp_path / "t.h5", metrics=["valid_acc"], seed="seed_index",
                    hyperparameters=["lr", "width", "act"])
    cfg = dict(t.configs[0], lr=0.01234)
    with RunTableWriter(tmp_path / "t.h5", provenance={"command": "hasbench collect "
                        "--n-configs 12", "n_configs": 12}) as w:
        w.append(Run(config=cfg, seed=0, metrics={"valid_acc": [0.5, 0.6]},
                     epoch_time=[1.0, 1.0]))
        w.append(Run(config=dict(cfg, lr=0.02), seed=0, metrics={"valid_acc": [0.5]},
                     epoch_time=[1.0]))
    r = cli("table", "info", tmp_path / "t.h5", "--json")
    assert r.returncode == 0, r.stderr
    prov = json.loads(r.stdout)["provenance"]
    (ext,) = prov["extensions"]  # one record per writer, with the size after its appends
    assert ext["n_configs"] == 12 and "--n-configs 12" in ext["command"]
    assert (ext["configs_before"], ext["configs_after"]) == (10, 12)
    assert (ext["runs_before"], ext["runs_after"]) == (10, 12)


def test_info_warns_when_provenance_describes_fewer_configs(tmp_path, cli):
    """Issue 21 item 9: a table extended before extension records existed showed its first
    command (--n-configs 1024 for 4,096 configs) as if it described the table."""
    from hasbench.spaces import get_space

    sp = get_space("hia-cnn")
    runs = [Run(config=c, seed=0, metrics={"valid_acc": [0.5]}, epoch_time=[1.0],
                static={"params": 1.0, "flops": 1.0, "model_bytes": 4.0})
            for c in sp.sample(3, 0)]
    prov = {"command": "hasbench collect --n-configs 1", "n_configs": 1}
    with RunTableWriter(tmp_path / "old.h5", space=sp, metrics=["valid_acc"], max_epochs=1,
                        provenance=prov) as w:
        for run in runs:
            w.append(run)
    r = cli("table", "info", tmp_path / "old.h5")
    assert r.returncode == 0, r.stderr
    note = [ln for ln in r.stdout.splitlines() if ln.startswith("provenance note")]
    assert len(note) == 1 and "holds 3 configs" in note[0] and "records only 1" in note[0]
    # a table whose extensions are recorded is described by them: no note
    with RunTableWriter(tmp_path / "new.h5", space=sp, metrics=["valid_acc"], max_epochs=1,
                        provenance=prov) as w:
        w.append(runs[0])
    with RunTableWriter(tmp_path / "new.h5", provenance={"n_configs": 3}) as w:
        for run in runs[1:]:
            w.append(run)
    r = cli("table", "info", tmp_path / "new.h5")
    assert r.returncode == 0 and "provenance note" not in r.stdout, r.stdout


def test_split_is_an_exact_copy_of_the_arrays(tmp_path):
    from hasbench.spaces import get_space

    rng = np.random.default_rng(10)
    sp = get_space("hia-cnn")
    cfgs = sp.sample(25, 1)
    runs = []
    for i, c in enumerate(cfgs):
        for s in (0, 1):
            n = 3 + (i % 4)
            runs.append(Run(config=c, seed=s, metrics={"valid_acc": rng.uniform(0, 1, n)},
                            epoch_time=rng.uniform(1, 2, n), cpu_time=rng.uniform(1, 2, n),
                            static={"params": float(i)},
                            status="diverged" if i == 3 else "ok"))
    src = write_table(tmp_path / "src.h5", sp, runs, max_epochs=27, metrics=["valid_acc"],
                      static_names=["params"])
    a, b = split_table(src, tmp_path / "a.h5", tmp_path / "b.h5", fraction=0.4, seed=2)
    a, b = RunTable.read(a.path), RunTable.read(b.path)
    assert a.n_configs == 15 and b.n_configs == 10
    for part in (a, b):
        idx = {cid: i for i, cid in enumerate(src.config_ids)}
        ci = np.array([idx[c] for c in part.config_ids])
        np.testing.assert_array_equal(part.static["params"], src.static["params"][ci])
        for r in range(part.n_runs):
            c = ci[part.run_config[r]]
            (k,) = np.nonzero((src.run_config == c) & (src.run_seed == part.run_seed[r]))[0]
            for arr in ("epoch_time", "cum_time", "cpu_time"):
                np.testing.assert_array_equal(getattr(part, arr)[r], getattr(src, arr)[k])
            np.testing.assert_array_equal(part.curve("valid_acc")[r],
                                          src.curve("valid_acc")[k])
            assert part.run_status[r] == src.run_status[k]
        assert part.cost_metric == "cpu_time"  # was lost: the split dropped cpu_time
        assert part.provenance["split_of"]["fraction"] == 0.4
    with pytest.raises(InvalidValueError):
        split_table(src, tmp_path / "a.h5", tmp_path / "c.h5")


def test_inferred_scales_follow_how_values_were_drawn(tmp_path, cli):
    """Issue 21 item 9: dropout drawn uniformly from [0.004, 0.5] was log-scaled (span >
    100) and widths {32, 64, 128, 256} became every integer from 32 to 256."""
    rng = np.random.default_rng(3)
    n = 120
    cfg = {"dropout": rng.uniform(0.004, 0.5, n), "width": rng.choice([32, 64, 128, 256], n),
           "lr": 10 ** rng.uniform(-5, -1, n), "layers": rng.integers(1, 5, n),
           "lr_grid": rng.choice([1e-4, 1e-3, 1e-2, 1e-1], n)}
    rows = [dict({k: v[i] for k, v in cfg.items()}, epoch=e, valid_acc=0.5 + 0.01 * e)
            for i in range(n) for e in (1, 2)]
    pd.DataFrame(rows).to_csv(tmp_path / "runs.csv", index=False)
    r = cli("data", "import", tmp_path / "runs.csv", "--out", tmp_path / "t.h5",
            "--metrics", "valid_acc", "--hyperparameters", ",".join(cfg))
    assert r.returncode == 0, r.stderr
    sp = RunTable.read(tmp_path / "t.h5").space
    hp = sp.configspace
    assert not hp["dropout"].log and hp["lr"].log and hp["lr_grid"].log
    assert list(hp["width"].sequence) == [32, 64, 128, 256]  # those values, in order
    assert (hp["layers"].lower, hp["layers"].upper) == (1, 4)  # a contiguous range stays one
    # and the printed summary says so, so a wrong guess is seen (and --hp overrides it)
    assert "dropout (float, [" in r.stdout and "lr (float, log," in r.stdout
    assert "width (ordinal: 32|64|128|256)" in r.stdout
    r = cli("data", "import", tmp_path / "runs.csv", "--out", tmp_path / "t2.h5",
            "--metrics", "valid_acc", "--hyperparameters", ",".join(cfg),
            "--hp", "width=int:32:256", "--hp", "dropout=float:0.004:0.5:log")
    assert r.returncode == 0, r.stderr
    hp = RunTable.read(tmp_path / "t2.h5").space.configspace
    assert hp["dropout"].log and (hp["width"].lower, hp["width"].upper) == (32, 256)


@pytest.mark.parametrize("seed", [None, True, -1, 1.5, "0"])
def test_split_needs_a_seed_it_can_record(tmp_path, seed):
    """Issue 19 item 7: split_table(seed=None) drew from OS entropy (two calls split
    differently, and the provenance recorded None)."""
    from hasbench.tables.importers import split_table

    src = import_tidy(_runs(np.random.default_rng(11), 20), tmp_path / "t.h5",
                      metrics=["valid_acc"], seed="seed_index",
                      hyperparameters=["lr", "width", "act"])
    with pytest.raises(InvalidValueError) as ei:
        split_table(src, tmp_path / "a.h5", tmp_path / "b.h5", 0.25, seed)
    assert ei.value.parameter == "seed"
    assert not (tmp_path / "a.h5").exists() and not (tmp_path / "b.h5").exists()
    a1, b1 = split_table(src, tmp_path / "a.h5", tmp_path / "b.h5", 0.25, 7)
    a2, b2 = split_table(src, tmp_path / "a2.h5", tmp_path / "b2.h5", 0.25, 7)
    assert b1.config_ids == b2.config_ids and b1.provenance["split_of"]["seed"] == 7


def test_a_static_metric_that_varies_within_a_config_is_refused(tmp_path):
    """Issue 19 item 7: a static metric that changed between a config's rows kept its first
    value silently."""
    df = _runs(np.random.default_rng(12), 8, seeds=(0, 1))
    df["params"] = 1000.0 + df["width"]  # constant per config: accepted
    t = import_tidy(df, tmp_path / "ok.h5", metrics=["valid_acc"], seed="seed_index",
                    hyperparameters=["lr", "width", "act"], static=["params"])
    assert sorted(set(t.static["params"])) == sorted(set(1000.0 + df["width"]))
    df.loc[df["seed_index"] == 1, "params"] += 5.0  # differs between the seeds
    with pytest.raises(InvalidValueError) as ei:
        import_tidy(df, tmp_path / "bad.h5", metrics=["valid_acc"], seed="seed_index",
                    hyperparameters=["lr", "width", "act"], static=["params"])
    assert "static 'params'" in str(ei.value) and "constant within a config" in str(ei.value)
    assert not (tmp_path / "bad.h5").exists()
