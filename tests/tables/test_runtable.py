"""Run tables: write/read round trip, validation, crash safety under SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from hasbench.errors import InvalidValueError, SchemaError, UnknownNameError
from hasbench.spaces import get_space
from hasbench.tables import (
    DEFAULT_METRICS,
    SCHEMA_VERSION,
    Run,
    RunTable,
    RunTableWriter,
    config_id,
    write_table,
)

SPACE = get_space("hia-cnn")
STATIC = {"params": 1234.0, "flops": 5e5, "model_bytes": 4936.0}


def make_run(cfg, seed, n=5, rng=None, status="ok"):
    rng = rng or np.random.default_rng(seed)
    return Run(cfg, seed, {m: rng.random(n) for m in DEFAULT_METRICS},
               rng.uniform(0.1, 0.2, n), STATIC, status)


def test_round_trip_arrays_frame_and_provenance(tmp_path):
    cfgs = SPACE.sample(6, 0)
    runs = [make_run(c, s, n=3 + i % 4) for i, c in enumerate(cfgs) for s in (0, 1)]
    write_table(tmp_path / "t.h5", SPACE, runs, max_epochs=8,
                provenance={"dataset": "digits", "device": "cpu"})
    t2 = RunTable.read(tmp_path / "t.h5")
    assert t2.n_configs == 6 and t2.n_runs == 12 and t2.max_epochs == 8
    assert t2.space is SPACE  # registered space reused
    assert t2.provenance["dataset"] == "digits" and "hasbench_version" in t2.provenance
    for r, run in enumerate(runs):
        n = len(run.epoch_time)
        assert t2.run_n_epochs[r] == n
        np.testing.assert_allclose(t2.curve("valid_acc")[r, :n], run.metrics["valid_acc"],
                                   rtol=1e-6)
        assert np.isnan(t2.curve("valid_acc")[r, n:]).all()
        np.testing.assert_allclose(t2.cum_time[r, :n], np.cumsum(run.epoch_time))
    assert t2.configs == [SPACE.canonicalize(c) for c in cfgs]
    assert t2.config_ids == [config_id(c) for c in t2.configs]
    np.testing.assert_array_equal(t2.X, SPACE.encode(cfgs))
    df = t2.to_frame()
    assert len(df) == sum(len(r.epoch_time) for r in runs)
    assert {"config_id", "seed", "epoch", "valid_acc", "cum_time", "params",
            "learning_rate"} <= set(df.columns)
    assert df.groupby(["config_id", "seed"]).cum_time.apply(
        lambda s: bool(np.all(np.diff(s.to_numpy()) > 0))).all()
    d = t2.dense("valid_acc")
    assert d.shape == (6, 2, 8)


def test_writer_extends_and_refuses_duplicates(tmp_path):
    p = tmp_path / "t.h5"
    w = RunTableWriter(p, SPACE, max_epochs=5)
    c = SPACE.sample(2, 1)
    w.append(make_run(c[0], 0))
    with pytest.raises(InvalidValueError, match="another writer in this process"):
        RunTableWriter(p)  # one writer per table (issue 19 item 4)
    w.close()
    w2 = RunTableWriter(p)  # reopen existing
    assert w2.has(c[0], 0) and not w2.has(c[0], 1)
    w2.append([make_run(c[0], 1), make_run(c[1], 0)])
    t = RunTable.read(p)
    assert t.n_runs == 3 and t.n_configs == 2
    with pytest.raises(InvalidValueError, match="already recorded"):
        w2.append(make_run(c[0], 1))
    with pytest.raises(InvalidValueError, match="already recorded"):
        w2.append([make_run(c[1], 5), make_run(c[1], 5)])
    assert RunTable.read(p).n_runs == 3  # a refused batch writes nothing


def test_append_validation_names_the_problem(tmp_path):
    w = RunTableWriter(tmp_path / "t.h5", SPACE, max_epochs=4)
    cfg = SPACE.sample(1, 0)[0]
    with pytest.raises(InvalidValueError, match="epoch_time"):
        w.append(make_run(cfg, 0, n=6))
    bad = make_run(cfg, 0, n=3)
    bad.metrics = dict(bad.metrics)
    del bad.metrics["valid_acc"]
    with pytest.raises(UnknownNameError, match="valid_acc"):
        w.append(bad)
    with pytest.raises(InvalidValueError, match="status"):
        w.append(make_run(cfg, 0, n=3, status="weird"))
    with pytest.raises(InvalidValueError, match="seed"):
        w.append(make_run(cfg, -1, n=3, rng=np.random.default_rng(0)))
    with pytest.raises(Exception, match="learning_rate"):
        w.append(make_run(dict(cfg, learning_rate=5.0), 0, n=3))
    assert RunTable.read(tmp_path / "t.h5").n_runs == 0


def test_wrong_space_schema_and_non_table_files(tmp_path):
    p = tmp_path / "t.h5"
    RunTableWriter(p, SPACE, max_epochs=3)
    with pytest.raises(SchemaError, match="space"):
        RunTableWriter(p, get_space("zela2018"), max_epochs=3)
    with h5py.File(p, "a") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(SchemaError) as e:
        RunTable.read(p)
    assert e.value.parameter == "schema_version" and e.value.value == 99
    assert str(SCHEMA_VERSION) in str(e.value)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = 1
    with pytest.raises(SchemaError, match="not a hasbench run table"):
        RunTable.read(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(SchemaError, match="HDF5"):
        RunTable.read(text)
    with pytest.raises(InvalidValueError, match="existing path"):
        RunTable.read(tmp_path / "missing.h5")
    with pytest.raises(InvalidValueError, match="does not exist yet"):
        write_table(text, SPACE, [], max_epochs=3)
    assert text.read_text() == "hello"  # never overwritten


def test_tilde_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    w = RunTableWriter("~/t.h5", SPACE, max_epochs=3)
    assert w.path == tmp_path / "t.h5" and (tmp_path / "t.h5").exists()


def test_file_contains_no_pickles_and_space_json(tmp_path):
    p = tmp_path / "t.h5"
    write_table(p, SPACE, [make_run(SPACE.sample(1, 0)[0], 0)], max_epochs=5)
    with h5py.File(p, "r") as f:
        assert json.loads(f.attrs["space"])["name"] == "hia-cnn"
        kinds = []
        f.visititems(lambda n, o: kinds.append(o.dtype.kind) if isinstance(o, h5py.Dataset)
                     else None)
        assert set(kinds) <= {"f", "i", "O"}  # numbers and utf-8 strings only
    assert b"pickle" not in p.read_bytes()


WRITER = textwrap.dedent("""
    import sys, numpy as np
    from hasbench.spaces import get_space
    from hasbench.tables import Run, RunTableWriter, DEFAULT_METRICS
    path, batch = sys.argv[1], int(sys.argv[2])
    space = get_space("hia-cnn")
    w = RunTableWriter(path, space, max_epochs=27)
    cfgs = space.sample(100000, 7)
    k = 0
    while True:
        runs = []
        for _ in range(batch):
            n = 27
            v = np.full(n, float(k))  # every value of run k equals k: partial runs show
            # (accuracies stay in [0, 1]: the reader refuses others; losses carry k)
            runs.append(Run(cfgs[k], 0, {m: v if m.endswith("loss") else np.full(n, 0.5)
                                         for m in DEFAULT_METRICS}, np.full(n, 0.5),
                            {"params": k, "flops": k, "model_bytes": k}))
            k += 1
        w.append(runs)
        print(k, flush=True)
""")


@pytest.mark.parametrize("batch", [1, 40])
def test_sigkill_mid_append_keeps_every_completed_run(tmp_path, batch):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = np.random.default_rng(batch)
    path = tmp_path / "t.h5"
    for trial in range(4):
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(batch)],
                                stdout=subprocess.PIPE, text=True)
        committed = 0
        target = committed + 3
        while committed < target:  # wait for a few commits of this process
            line = proc.stdout.readline()
            if not line:
                break
            committed = int(line)
        time.sleep(float(rng.uniform(0, 0.05)))  # land anywhere, often mid-write
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        t = RunTable.read(path)  # always readable
        n = t.n_runs
        assert n >= committed and n % batch == 0  # whole batches only
        for r in range(n):
            curve = t.curve("valid_loss")[r]
            k = t.static["params"][t.run_config[r]]
            assert np.all(curve == k), "partial run found"
            assert t.run_n_epochs[r] == 27
        assert n == len(t.completed())
        # reopening for writing works and clears the dead writer's temporary file
        w = RunTableWriter(path)
        assert w.table().n_runs == n
        assert not [f for f in os.listdir(tmp_path) if f.startswith(".t.h5.tmp-")]
        w.close()  # one writer per table: the next trial's writer needs the lock
        os.replace(path, tmp_path / f"done-{trial}.h5")  # next trial: fresh file
