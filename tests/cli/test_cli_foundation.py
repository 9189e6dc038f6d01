"""The hasbench CLI as a user runs it: real subprocesses, exit codes, messages."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hasbench.spaces import get_space
from hasbench.tables import DEFAULT_METRICS, Run, write_table


def hb(*args, check_rc=None):
    proc = subprocess.run([sys.executable, "-m", "hasbench", *args], capture_output=True,
                          text=True, timeout=120)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stdout + proc.stderr
    return proc


def test_help_everywhere():
    out = hb("--help", check_rc=0).stdout
    assert "spaces" in out and "table" in out
    for cmd in (["spaces", "--help"], ["spaces", "describe", "--help"], ["table", "info", "--help"]):
        assert "usage:" in hb(*cmd, check_rc=0).stdout


def test_spaces_list_and_describe():
    out = hb("spaces", "list", check_rc=0).stdout
    for name in ("hia-cnn", "zela2018", "nb201-joint"):
        assert name in out
    out = hb("spaces", "describe", "zela2018", check_rc=0).stdout
    assert "nr_residual_blocks_1" in out and "log" in out
    assert '"name": "hia-cnn"' in hb("spaces", "describe", "hia-cnn", "--json", check_rc=0).stdout


def test_bad_usage_exits_2_with_clear_message(tmp_path):
    p = hb("spaces", "describe", "nope", check_rc=2)
    assert "unknown space 'nope'" in p.stderr and "hia-cnn" in p.stderr
    p = hb("table", "info", str(tmp_path / "missing.h5"), check_rc=2)
    assert "missing.h5" in p.stderr
    hb("no-such-command", check_rc=2)


def test_table_info(tmp_path):
    s = get_space("hia-cnn")
    rng = np.random.default_rng(0)
    runs = [Run(c, 0, {m: rng.random(4) for m in DEFAULT_METRICS}, np.ones(4),
                {"params": 1, "flops": 1, "model_bytes": 1}) for c in s.sample(3, 0)]
    write_table(tmp_path / "t.h5", s, runs, max_epochs=4, provenance={"dataset": "unit-test"})
    out = hb("table", "info", str(tmp_path / "t.h5"), check_rc=0).stdout
    assert "hia-cnn v1.0" in out and "unit-test" in out and "runs" in out
    hb("table", "export-csv", str(tmp_path / "t.h5"), "--out", str(tmp_path / "t.csv"),
       check_rc=0)
    import pandas as pd

    assert len(pd.read_csv(tmp_path / "t.csv")) == 12
    # refuses to overwrite
    p = hb("table", "export-csv", str(tmp_path / "t.h5"), "--out", str(tmp_path / "t.csv"),
           check_rc=2)
    assert "does not exist yet" in p.stderr


def test_import_without_torch():
    code = ("import sys, hasbench, hasbench.tables, hasbench.benchmarks, hasbench.cli; "
            "hasbench.cli.build_parser(); "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, "importing hasbench pulled in torch: " + proc.stderr


def test_loading_a_surrogate_does_not_import_h5py():
    """Loading and querying a shipped surrogate reads JSON and model files only; checking
    the clock its manifest names must not pull in the run-table reader (h5py, ~0.1 s of the
    1 s load budget in docs/performance.md)."""
    from pathlib import Path

    if not (Path(__file__).resolve().parents[2] / "data" / "digits-hia-cnn.surrogate").is_dir():
        pytest.skip("shipped surrogate not present")
    code = ("import sys, hasbench; b = hasbench.load('digits-hia-cnn'); "
            "b.query(b.space.sample_array(2, 0), fidelity=3); "
            "sys.exit(1 if 'h5py' in sys.modules else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, "loading a surrogate imported h5py: " + proc.stderr


@pytest.mark.parametrize("bad", [["spaces"], ["table"]])
def test_missing_action_is_usage_error(bad):
    hb(*bad, check_rc=2)


def test_closed_stdout_pipe_is_not_a_traceback():
    """`hasbench spaces describe hia-cnn | head -1`: the reader leaves first."""
    p = subprocess.Popen([sys.executable, "-m", "hasbench", "spaces", "describe", "hia-cnn"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # before the command has written anything: its first write fails
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err
