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
