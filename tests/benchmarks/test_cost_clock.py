"""The simulated clock is the table's cost clock (issue 17 item 1): CPU seconds where a
version-2 table has them, not the wall seconds a loaded machine inflates."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from hasbench.benchmarks import SurrogateBenchmark, TabularBenchmark
from hasbench.errors import SchemaError
from hasbench.simulate import simulate
from hasbench.surrogates import CurveSurrogate
from hasbench.surrogates.testing import synthetic_runs
from hasbench.tables import RunTable, write_table

E = 6


def configs(table, rows):
    """Encoded configs of table rows, their in-config ``epochs`` within the table's range."""
    X = table.X[rows].copy()
    X[:, table.space.names.index("epochs")] = E
    return X


def loaded_runs(n_configs=80, seed=0, cpu=True):
    """Synthetic runs whose CPU time is the config's cost and whose wall time carries a
    random per-run load factor between 1 and 5 (a shared machine)."""
    rng = np.random.default_rng(seed)
    out = []
    for r in synthetic_runs("hia-cnn", n_configs, seeds=(0, 1), max_epochs=E, rng=seed):
        c = np.asarray(r.epoch_time, dtype=float)
        out.append(dataclasses.replace(r, epoch_time=c * rng.uniform(1.0, 5.0),
                                       cpu_time=c if cpu else None))
    return out


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    p = tmp_path_factory.mktemp("clock") / "loaded.h5"
    return write_table(p, "hia-cnn", loaded_runs(), max_epochs=E)


@pytest.fixture(scope="module")
def sur(table):
    return CurveSurrogate("xgb", seed=0, n_jobs=1).fit(table)


def test_tabular_clock_is_cpu_time_unless_chosen(table):
    assert table.cost_metric == "cpu_time"
    bench = TabularBenchmark(table)
    assert bench.cost_metric == "cpu_time" and bench.clock_metric == "cum_time"
    X = configs(table, table.run_config[:6])
    got = bench.query(X, fidelity=E, seed=table.run_seed[:6], metrics=["cum_time"],
                      as_arrays=True)["cum_time"]
    np.testing.assert_allclose(got, np.nansum(table.cpu_time[:6], axis=1))
    cost = bench.cost(X, from_fidelity=2, to_fidelity=E, seed=table.run_seed[:6])
    np.testing.assert_allclose(cost, np.nansum(table.cpu_time[:6, 2:], axis=1))
    wall = TabularBenchmark(table, cost_metric="epoch_time")
    assert wall.cost_metric == "epoch_time"
    got = wall.query(X, fidelity=E, seed=table.run_seed[:6], metrics=["cum_time"],
                     as_arrays=True)["cum_time"]
    np.testing.assert_allclose(got, table.cum_time[:6, -1])
    with pytest.raises(SchemaError, match="cost_metric"):
        TabularBenchmark(table, cost_metric="cuda_time")  # not measured


def test_surrogate_runtime_model_is_fitted_on_cpu_time(table, sur, tmp_path):
    assert sur.cost_metric == "cpu_time"
    X = configs(table, slice(None))
    pred = sur.predict(X, np.full(len(X), float(E)), ["cum_time"])["cum_time"]
    cpu = np.nanmean(table.dense("cpu_time")[:, :, :].sum(axis=2), axis=1)
    wall = np.nanmean(table.dense("epoch_time").sum(axis=2), axis=1)
    ok = np.isfinite(cpu) & (cpu > 0)
    # CPU seconds are the config's cost; the wall seconds are ~3x that on average
    assert 0.8 < np.median(pred[ok] / cpu[ok]) < 1.25
    assert np.median(pred[ok] / wall[ok]) < 0.6
    lp, lc = np.log(pred[ok]), np.log(cpu[ok])
    assert 1 - np.sum((lp - lc) ** 2) / np.sum((lc - lc.mean()) ** 2) > 0.8
    # recorded in the manifest and back on load; the benchmark names its clock
    out = sur.save(tmp_path / "s.surrogate")
    assert json.loads((out / "manifest.json").read_text())["cost_metric"] == "cpu_time"
    sb = SurrogateBenchmark(out, verify_table=False)
    assert sb.cost_metric == "cpu_time"
    wall_sur = CurveSurrogate("xgb", seed=0, n_jobs=1, cost_metric="epoch_time").fit(table)
    assert wall_sur.cost_metric == "epoch_time"
    pw = wall_sur.predict(X, np.full(len(X), float(E)), ["cum_time"])["cum_time"]
    assert np.median(pw[ok] / cpu[ok]) > 2.0


def test_manifest_without_clock_loads_as_wall_time(table, tmp_path):
    """Surrogates saved before the clock was recorded were fitted on wall seconds."""
    out = CurveSurrogate("xgb", seed=0, n_jobs=1, cost_metric="epoch_time").fit(
        table).save(tmp_path / "old.surrogate")
    man = json.loads((out / "manifest.json").read_text())
    del man["cost_metric"]
    (out / "manifest.json").write_text(json.dumps(man))
    assert CurveSurrogate.load(out, verify_table=False).cost_metric == "epoch_time"
    man["cost_metric"] = "sundial"
    (out / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(SchemaError, match="cost_metric"):
        CurveSurrogate.load(out, verify_table=False)


def test_validation_compares_the_same_clock(sur, tmp_path):
    from hasbench.surrogates.validation import validate

    # a held-out table without CPU time cannot score a CPU-time runtime model
    held = write_table(tmp_path / "wall_only.h5", "hia-cnn",
                       loaded_runs(20, seed=1, cpu=False), max_epochs=E)
    with pytest.raises(SchemaError, match="cost_metric"):
        validate(sur, held, optimizers=())
    held = write_table(tmp_path / "held.h5", "hia-cnn", loaded_runs(20, seed=1),
                       max_epochs=E)
    rep = validate(sur, held, optimizers=())
    assert rep["cost_metric"] == "cpu_time"
    # the held-out CPU seconds are a function of the config: the runtime model scores well
    # (the wall seconds, with their load factors, could not be predicted like this)
    assert rep["metrics"]["cum_time"]["per_fidelity"][str(E)]["r2"] > 0.8


def test_trace_records_the_clock(sur):
    from hasbench.optimizers import get_optimizer

    bench = SurrogateBenchmark(sur)
    tr = simulate(bench, get_optimizer("random", bench.space, seed=0), seed=0,
                  max_evaluations=5)
    assert tr.meta["cost_metric"] == "cpu_time"


def test_fit_cli_names_the_clock(table, tmp_path):
    p = subprocess.run([sys.executable, "-m", "hasbench", "fit", str(table.path), "--out",
                        str(tmp_path / "c.surrogate"), "--cost-metric", "cuda_time",
                        "--threads", "1"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stderr
    assert "--cost-metric" in p.stderr and "cuda_time" in p.stderr and "cpu_time" in p.stderr
    p = subprocess.run([sys.executable, "-m", "hasbench", "fit", str(table.path), "--out",
                        str(tmp_path / "w.surrogate"), "--cost-metric", "epoch_time",
                        "--threads", "1"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "simulated clock: epoch_time" in p.stdout
    assert RunTable.read(table.path).cost_metric == "cpu_time"  # the table is untouched
