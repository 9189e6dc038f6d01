"""Re-timing a wall-time-only table: real training on small digits runs, a real v1-style
table (CPU time NaN), resume after a partial retime, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from hasbench.errors import InvalidValueError  # noqa: E402
from hasbench.tables import Run, RunTable, RunTableWriter  # noqa: E402
from hasbench.train.collect import collect  # noqa: E402
from hasbench.train.retime import extrapolate_epochs, retime  # noqa: E402

SMALL_KW = dict(max_train=120, max_valid=60, max_test=60)
E = 5


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """A table collected with CPU time (the reference) -- 3 configs x 2 seeds x 5 epochs."""
    out = tmp_path_factory.mktemp("retime") / "ref.h5"
    collect("hia-cnn", out, n_configs=3, seeds=2, epochs=E, progress=False, **SMALL_KW)
    return out


def _wall_only_copy(src, dst, keep_cpu_rows=()):
    """The same runs with CPU time dropped (what a version-1 / old collection holds),
    except for ``keep_cpu_rows``."""
    t = RunTable.read(src)
    runs = []
    for r in range(t.n_runs):
        n = int(t.run_n_epochs[r])
        runs.append(Run(config=t.configs[t.run_config[r]], seed=int(t.run_seed[r]),
                        metrics={m: t.curve(m)[r, :n] for m in t.metrics},
                        epoch_time=t.epoch_time[r, :n],
                        static={s: t.static[s][t.run_config[r]] for s in t.static},
                        status=t.run_status[r],
                        cpu_time=t.cpu_time[r, :n] if r in keep_cpu_rows else None))
    prov = {k: v for k, v in t.provenance.items()
            if k not in ("created", "hasbench_version", "python_version", "platform")}
    with RunTableWriter(dst, t.space, t.metrics, t.max_epochs, provenance=prov) as w:
        w.append(runs)
    return dst


def test_extrapolation_rule():
    np.testing.assert_allclose(extrapolate_epochs([3.0, 1.0, 2.0], 5), [3, 1, 2, 1.5, 1.5])
    np.testing.assert_allclose(extrapolate_epochs([2.0], 3), [2, 2, 2])
    np.testing.assert_allclose(extrapolate_epochs([1.0, 2.0, 3.0], 2), [1, 2])


def test_retime_gives_a_wall_only_table_its_cpu_clock(measured, tmp_path):
    ref = RunTable.read(measured)
    wall = RunTable.read(_wall_only_copy(measured, tmp_path / "old.h5"))
    assert wall.cost_metric == "epoch_time"
    s = retime(wall.path, epochs=3, progress=False, command="test")
    assert s["retimed"] == 6 and s["skipped"] == 0 and s["failed"] == 0
    # same torch, one thread: the retrained prefixes are the stored curves bit for bit
    assert s["identical_curves"] == 6
    assert s["cost_metric"] == "cpu_time"
    t = RunTable.read(wall.path)
    assert t.cost_metric == "cpu_time"
    for m in t.metrics:  # curves and wall times untouched
        np.testing.assert_array_equal(t.curve(m), wall.curve(m))
    np.testing.assert_array_equal(t.epoch_time, wall.epoch_time)
    # epochs 4.. are the mean of measured epochs 2..3
    np.testing.assert_allclose(t.cpu_time[:, 3:], np.repeat(
        t.cpu_time[:, 1:3].mean(1, keepdims=True), E - 3, axis=1))
    # the re-measured run costs agree with the costs measured during the collection
    # (same configs and data; a loose bound, since this machine is shared)
    ratio = t.cpu_time.sum(1) / ref.cpu_time.sum(1)
    assert np.all((ratio > 0.33) & (ratio < 3.0)), ratio
    rec = t.provenance["retimed"][-1]
    assert rec["epochs"] == 3 and rec["runs_retimed"] == 6 and rec["identical_curves"] == 6
    assert rec["command"] == "test" and "mean of measured epochs 2..K" in rec["rule"]


def test_retime_resumes_and_never_replaces_measured_times(measured, tmp_path):
    ref = RunTable.read(measured)
    path = _wall_only_copy(measured, tmp_path / "half.h5", keep_cpu_rows=(0, 1, 2))
    s = retime(path, epochs=2, progress=False)
    assert s["retimed"] == 3 and s["skipped"] == 3
    t = RunTable.read(path)
    np.testing.assert_array_equal(t.cpu_time[:3], ref.cpu_time[:3])  # kept as measured
    assert np.isfinite(t.cpu_time).all()
    again = retime(path, epochs=2, progress=False)  # nothing left: nothing trained
    assert again["retimed"] == 0 and again["skipped"] == 6
    np.testing.assert_array_equal(RunTable.read(path).cpu_time, t.cpu_time)
    with RunTableWriter(path) as w, pytest.raises(InvalidValueError, match="overwrite"):
        w.set_times([0], cpu_time=np.ones((1, E)))


def test_set_times_validates(measured, tmp_path):
    path = _wall_only_copy(measured, tmp_path / "v.h5")
    with RunTableWriter(path) as w:
        with pytest.raises(InvalidValueError, match="rows"):
            w.set_times([99], cpu_time=np.ones((1, E)))
        with pytest.raises(InvalidValueError, match="rows"):
            w.set_times([1, 1], cpu_time=np.ones((2, E)))
        with pytest.raises(InvalidValueError, match="cpu_time"):
            w.set_times([0], cpu_time=np.ones((2, E)))
        with pytest.raises(InvalidValueError, match="cpu_time"):
            w.set_times([0], cpu_time=-np.ones((1, E)))
    assert RunTable.read(path).cost_metric == "epoch_time"  # nothing written


def test_retime_refuses_bad_input(measured, tmp_path):
    path = _wall_only_copy(measured, tmp_path / "b.h5")
    with pytest.raises(InvalidValueError, match="epochs"):
        retime(path, epochs=E + 1, progress=False)
    with pytest.raises(InvalidValueError, match="epochs"):
        retime(path, epochs=0, progress=False)
    with pytest.raises(InvalidValueError, match="table"):
        retime(tmp_path / "missing.h5", progress=False)
    # a table without collection provenance (e.g. imported) cannot be retrained
    t = RunTable.read(path)
    bare = tmp_path / "bare.h5"
    with RunTableWriter(bare, t.space, t.metrics, t.max_epochs) as w:
        w.append([Run(config=t.configs[0], seed=0,
                      metrics={m: t.curve(m)[0] for m in t.metrics},
                      epoch_time=t.epoch_time[0],
                      static={s: t.static[s][0] for s in t.static})])
    with pytest.raises(InvalidValueError, match="dataset_info"):
        retime(bare, progress=False)


def test_retime_refuses_a_table_a_surrogate_was_fitted_on(measured, tmp_path):
    path = _wall_only_copy(measured, tmp_path / "s.h5")
    from hasbench.surrogates.model import file_sha256

    sur = tmp_path / "s.surrogate"
    sur.mkdir()
    (sur / "manifest.json").write_text(json.dumps(
        {"training_table": {"name": "s.h5", "sha256": file_sha256(path)}}))
    with pytest.raises(InvalidValueError, match="s.surrogate"):
        retime(path, progress=False)
    assert RunTable.read(path).cost_metric == "epoch_time"


def test_cli_retime(measured, tmp_path, capsys):
    from hasbench.cli import main

    path = _wall_only_copy(measured, tmp_path / "c.h5")
    assert main(["table", "retime", str(path), "--epochs", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "retimed 6 runs (6 with curves identical" in out and "cpu_time" in out
    assert main(["table", "retime", str(path), "--epochs", "99", "--no-progress"]) == 2
    assert "--epochs" in capsys.readouterr().err


def test_killed_retime_keeps_what_it_committed_and_resumes(tmp_path, sigkill_when):
    """A real SIGKILL midway: the runs committed before it keep their CPU times, the
    rerun retimes only the rest."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    src = tmp_path / "src.h5"
    collect("hia-cnn", src, n_configs=10, seeds=2, epochs=E, sample_seed=5, progress=False,
            **SMALL_KW)
    path = _wall_only_copy(src, tmp_path / "k.h5")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(repo))
    cmd = [sys.executable, "-m", "hasbench", "table", "retime", str(path), "--epochs", str(E),
           "--commit-every", "1", "--no-progress"]
    sigkill_when(cmd, lambda: np.isfinite(RunTable.read(path).cpu_time).all(1).sum() >= 2,
                 cwd=repo, env=env)
    killed = RunTable.read(path)
    kept = np.isfinite(killed.cpu_time).all(1)
    assert 2 <= kept.sum() < killed.n_runs, "the kill must land midway"
    p = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert f"retimed {killed.n_runs - kept.sum()} runs" in p.stdout
    assert f"skipped {kept.sum()}" in p.stdout
    after = RunTable.read(path)
    assert after.cost_metric == "cpu_time"
    np.testing.assert_array_equal(after.cpu_time[kept], killed.cpu_time[kept])
    assert sum(r["runs_retimed"] for r in after.provenance["retimed"]) == after.n_runs


def test_runs_appended_before_the_lock_are_retimed_too(measured, tmp_path, monkeypatch):
    """Another writer may extend the table between retime's first read and its lock: the
    runs to retime are taken from the table as committed under the lock (a real append
    interleaved at that point)."""
    import hasbench.train.retime as rt

    ref = RunTable.read(measured)
    path = _wall_only_copy(measured, tmp_path / "grow.h5")
    t = RunTable.read(path)
    keep = [r for r in range(t.n_runs) if r != 5]
    small = tmp_path / "small.h5"  # the same table without its last run
    with RunTableWriter(small, t.space, t.metrics, t.max_epochs,
                        provenance={k: v for k, v in t.provenance.items()
                                    if k in ("dataset", "dataset_info", "device")}) as w:
        w.append([Run(config=t.configs[t.run_config[r]], seed=int(t.run_seed[r]),
                      metrics={m: t.curve(m)[r] for m in t.metrics},
                      epoch_time=t.epoch_time[r],
                      static={s: t.static[s][t.run_config[r]] for s in t.static})
                  for r in keep])
    real_lock = rt.acquire_lock

    def lock_after_an_append(p, *a, **kw):
        with RunTableWriter(p) as w:  # the other writer, before retime takes the lock
            w.append([Run(config=t.configs[t.run_config[5]], seed=int(t.run_seed[5]),
                          metrics={m: t.curve(m)[5] for m in t.metrics},
                          epoch_time=t.epoch_time[5],
                          static={s: t.static[s][t.run_config[5]] for s in t.static})])
        return real_lock(p, *a, **kw)

    monkeypatch.setattr(rt, "acquire_lock", lock_after_an_append)
    s = retime(small, epochs=2, progress=False)
    assert s["retimed"] == ref.n_runs
    assert RunTable.read(small).cost_metric == "cpu_time"
