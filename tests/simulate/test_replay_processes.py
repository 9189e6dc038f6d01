"""Replays in worker processes after the parent used multi-threaded XGBoost (regression:
forked workers deadlocked in OpenMP; workers are now spawned)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def test_processes_after_xgboost_in_parent_do_not_hang(syn_surrogate, tmp_path):
    sur_dir = tmp_path / "s.surrogate"
    syn_surrogate.save(sur_dir)
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    # --budget 3fe makes the parent query the benchmark (XGBoost, all cores) before forking
    cmd = [sys.executable, "-m", "hasbench", "run", "--benchmark", str(sur_dir),
           "--optimizer", "hyperband", "--seeds", "0-3", "--workers", "2", "--budget", "3fe",
           "--processes", "2", "--out", str(tmp_path / "runs"), "--no-progress"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("hasbench run --processes 2 hung (fork after multi-threaded XGBoost?)")
    assert p.returncode == 0, p.stderr
    assert len(list((tmp_path / "runs").glob("seed-*"))) == 4


def test_table_spec_is_resolved_once_and_sent_whole(syn_table, syn_surrogate, tmp_path,
                                                    monkeypatch):
    """`table:<name>` (a run table answering missing configs from a surrogate) is resolved
    once per process and table file, and worker processes get the object rather than
    re-resolving the name (which fits the fallback surrogate when none is saved)."""
    import os as _os
    import shutil

    import pandas as pd

    from hasbench.benchmarks import TabularBenchmark
    from hasbench.simulate import replay_many, resolve_benchmark

    d = tmp_path / "data"
    d.mkdir()
    shutil.copy(syn_table.path, d / "mybench.h5")
    syn_surrogate.save(d / "mybench.surrogate")
    monkeypatch.setenv("HASBENCH_DATA", str(d))
    a = resolve_benchmark("table:mybench")
    assert isinstance(a, TabularBenchmark) and a.fallback == "surrogate"
    assert resolve_benchmark("table:mybench") is a
    st = (d / "mybench.h5").stat()
    _os.utime(d / "mybench.h5", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert resolve_benchmark("table:mybench") is not a  # the file changed: resolved anew

    kw = dict(n_workers=2, max_evaluations=12, progress=False)
    one = replay_many("table:mybench", "random", "0-3", tmp_path / "p1", processes=1, **kw)
    two = replay_many("table:mybench", "random", "0-3", tmp_path / "p2", processes=2, **kw)
    for p, q in zip(one, two, strict=True):
        f1, f2 = (pd.read_parquet(x) if x.suffix == ".parquet" else pd.read_csv(x)
                  for x in (p, q))
        pd.testing.assert_frame_equal(f1, f2)
        assert len(f1) == 12


@pytest.mark.parametrize("bench", ["synthetic:hia-cnn", "digits-hia-cnn", "digits-hia-cnn-mlp",
                                   "digits-zela2018", "table:digits-hia-cnn"])
def test_traces_are_bit_identical_across_processes(bench, tmp_path):
    """Issue 15 item 7: seeds merged into other batches (another --processes, another chunk)
    must give the same traces bit for bit: every benchmark answers a row the same whatever
    else is in the batch."""
    from hasbench.simulate import Trace, replay_many

    kw = dict(n_workers=4, max_evaluations=40, progress=False)
    one = replay_many(bench, "tpe", "0-5", tmp_path / "p1", processes=1, chunk_size=6, **kw)
    two = replay_many(bench, "tpe", "0-5", tmp_path / "p2", processes=2, chunk_size=2, **kw)
    for p, q in zip(one, two, strict=True):
        a, b = Trace.load(p).frame, Trace.load(q).frame
        assert list(a.columns) == list(b.columns)
        for c in a.columns:
            x, y = a[c].to_numpy(), b[c].to_numpy()
            if x.dtype.kind == "f":
                assert x.tobytes() == y.tobytes(), (bench, p.name, c)
            else:
                assert (x == y).all(), (bench, p.name, c)
