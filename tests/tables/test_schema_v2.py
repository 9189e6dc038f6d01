"""Run-table schema version 2 (per-epoch CPU and CUDA time, the table's cost metric) and
reading version-1 files (written as hasbench 0.1 wrote them)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from hasbench.errors import InvalidValueError, SchemaError
from hasbench.spaces import get_space
from hasbench.tables import DEFAULT_METRICS, Run, RunTable, RunTableWriter, write_table

SPACE = get_space("hia-cnn")
STATIC = {"params": 1234.0, "flops": 5e5, "model_bytes": 4936.0}


def make_run(cfg, seed, n=4, cpu=True, cuda=False):
    rng = np.random.default_rng(seed)
    wall = rng.uniform(0.2, 0.4, n)
    return Run(cfg, seed, {m: rng.random(n) for m in DEFAULT_METRICS}, wall, STATIC, "ok",
               cpu_time=wall * 0.9 if cpu else None, cuda_time=wall * 0.5 if cuda else None)


def to_version_1(path):
    """Rewrite a table the way schema version 1 stored it: no cpu_time / cuda_time."""
    with h5py.File(path, "a") as f:
        del f["runs/cpu_time"], f["runs/cuda_time"]
        f.attrs["schema_version"] = 1


def test_cpu_time_round_trip_dense_frame_and_cost(tmp_path):
    cfgs = SPACE.sample(3, 0)
    runs = [make_run(c, s, n=2 + i) for i, c in enumerate(cfgs) for s in (0, 1)]
    t = write_table(tmp_path / "t.h5", SPACE, runs, max_epochs=5)
    t = RunTable.read(tmp_path / "t.h5")
    assert t.schema_version == 2
    assert t.cost_metric == "cpu_time"
    for r, run in enumerate(runs):
        n = len(run.epoch_time)
        np.testing.assert_allclose(t.cpu_time[r, :n], run.cpu_time)
        assert np.isnan(t.cpu_time[r, n:]).all() and np.isnan(t.cuda_time[r]).all()
        np.testing.assert_allclose(t.cost(cumulative=True)[r, :n], np.cumsum(run.cpu_time))
    d = t.dense("cpu_time")
    assert d.shape == (3, 2, 5)
    np.testing.assert_allclose(d[0, 1, :2], runs[1].cpu_time)
    df = t.to_frame()
    np.testing.assert_allclose(df["cpu_time"], np.concatenate([r.cpu_time for r in runs]))
    assert df["cuda_time"].isna().all()
    s = t.summary()
    assert s["cost_metric"] == "cpu_time" and s["schema_version"] == 2
    assert s["total cpu_time (s)"] == pytest.approx(sum(r.cpu_time.sum() for r in runs),
                                                    abs=0.1)


def test_cost_metric_prefers_cuda_and_never_mixes_clocks(tmp_path):
    cfgs = SPACE.sample(2, 1)
    t = write_table(tmp_path / "gpu.h5", SPACE, [make_run(c, 0, cuda=True) for c in cfgs],
                    max_epochs=4)
    assert t.cost_metric == "cuda_time"
    # one run without CPU time: the table falls back to wall time for every run
    w = RunTableWriter(tmp_path / "mixed.h5", SPACE, max_epochs=4)
    w.append([make_run(cfgs[0], 0), make_run(cfgs[1], 0, cpu=False)])
    t = RunTable.read(tmp_path / "mixed.h5")
    assert t.cost_metric == "epoch_time"
    np.testing.assert_array_equal(t.cost(), t.epoch_time)
    assert np.isnan(t.cpu_time[1]).all() and np.isfinite(t.cpu_time[0]).all()
    # an empty table has no measured CPU time
    assert RunTableWriter(tmp_path / "empty.h5", SPACE, max_epochs=4).table().cost_metric \
        == "epoch_time"


def test_explicit_cost_metric_attribute(tmp_path):
    cfgs = SPACE.sample(2, 2)
    t = write_table(tmp_path / "t.h5", SPACE, [make_run(c, 0) for c in cfgs], max_epochs=4,
                    attrs={"cost_metric": "epoch_time"})
    assert t.cost_metric == "epoch_time"  # wall time chosen although CPU time is present
    t = write_table(tmp_path / "u.h5", SPACE, [make_run(c, 0) for c in cfgs], max_epochs=4,
                    attrs={"cost_metric": "cuda_time"})
    with pytest.raises(SchemaError, match="cuda_time"):
        t.cost_metric  # noqa: B018 - named, but not measured
    t = write_table(tmp_path / "v.h5", SPACE, [make_run(c, 0) for c in cfgs], max_epochs=4,
                    attrs={"cost_metric": "gpu"})
    with pytest.raises(InvalidValueError, match="cost_metric"):
        t.cost_metric  # noqa: B018


def test_append_validates_cost_arrays(tmp_path):
    w = RunTableWriter(tmp_path / "t.h5", SPACE, max_epochs=4)
    cfg = SPACE.sample(1, 3)[0]
    run = make_run(cfg, 0, n=3)
    bad = Run(run.config, 0, run.metrics, run.epoch_time, STATIC, cpu_time=[0.1, 0.2])
    with pytest.raises(InvalidValueError, match="cpu_time.*one per epoch"):
        w.append(bad)
    bad = Run(run.config, 0, run.metrics, run.epoch_time, STATIC, cuda_time=[0.1, -1, 0.1])
    with pytest.raises(InvalidValueError, match="cuda_time"):
        w.append(bad)
    bad = Run(run.config, 0, run.metrics, run.epoch_time, STATIC, cpu_time=[0.1, np.nan, 0.1])
    with pytest.raises(InvalidValueError, match="cpu_time"):
        w.append(bad)
    assert RunTable.read(tmp_path / "t.h5").n_runs == 0
    w.append(run)
    assert RunTable.read(tmp_path / "t.h5").n_runs == 1


def test_version_1_file_reads_with_nan_costs_and_upgrades_on_append(tmp_path):
    p = tmp_path / "v1.h5"
    cfgs = SPACE.sample(3, 4)
    write_table(p, SPACE, [make_run(c, 0) for c in cfgs[:2]], max_epochs=4)
    to_version_1(p)
    t = RunTable.read(p)
    assert t.schema_version == 1 and t.n_runs == 2
    assert t.cpu_time.shape == t.epoch_time.shape == (2, 4)
    assert np.isnan(t.cpu_time).all() and np.isnan(t.cuda_time).all()
    assert t.cost_metric == "epoch_time"
    assert t.to_frame()["cpu_time"].isna().all()
    assert t.summary()["schema_version"] == 1
    # appending rewrites the file as version 2; the old runs keep NaN CPU time
    RunTableWriter(p).append(make_run(cfgs[2], 0))
    t = RunTable.read(p)
    assert t.schema_version == 2 and t.n_runs == 3
    assert np.isnan(t.cpu_time[:2]).all() and np.isfinite(t.cpu_time[2]).all()
    assert t.cost_metric == "epoch_time"  # not every run has CPU time


@pytest.mark.parametrize("version", [0, 3, 99])
def test_unknown_versions_refused_with_named_error(tmp_path, version):
    p = tmp_path / "t.h5"
    write_table(p, SPACE, [make_run(SPACE.sample(1, 5)[0], 0)], max_epochs=4)
    with h5py.File(p, "a") as f:
        f.attrs["schema_version"] = version
    with pytest.raises(SchemaError) as e:
        RunTable.read(p)
    assert e.value.parameter == "schema_version" and e.value.value == version
    assert "1" in str(e.value) and "2" in str(e.value)
    with pytest.raises(SchemaError):
        RunTableWriter(p)  # nor extended


def test_version_2_file_missing_cost_array_is_refused(tmp_path):
    p = tmp_path / "t.h5"
    write_table(p, SPACE, [make_run(SPACE.sample(1, 6)[0], 0)], max_epochs=4)
    with h5py.File(p, "a") as f:
        del f["runs/cpu_time"]
    with pytest.raises(SchemaError, match="cpu_time"):
        RunTable.read(p)
