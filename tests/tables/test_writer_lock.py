"""One writer per run table (issue 19 item 4): an OS file lock on ``<table>.lock``, held by
real second processes here; a SIGKILLed holder's lock is taken over."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from hasbench.errors import InvalidValueError
from hasbench.spaces import get_space
from hasbench.tables import DEFAULT_METRICS, Run, RunTable, RunTableWriter

SPACE = get_space("hia-cnn")

# holds a writer until told to close (a line on stdin) or killed
HOLDER = textwrap.dedent("""
    import sys
    from hasbench.tables import RunTableWriter
    w = RunTableWriter(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()
    w.close()
    print("closed", flush=True)
""")

# appends 25 runs one commit at a time, starting when the file sys.argv[3] appears
APPENDER = textwrap.dedent("""
    import inspect, os, sys, time, numpy as np
    from hasbench.spaces import get_space
    from hasbench.tables import Run, RunTableWriter, DEFAULT_METRICS
    path, offset, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    space = get_space("hia-cnn")
    cfgs = space.sample(50, 11)[offset:offset + 25]
    while not os.path.exists(go):
        time.sleep(0.005)
    kw = ({"lock_timeout": 120} if "lock_timeout" in
          inspect.signature(RunTableWriter).parameters else {})
    w = RunTableWriter(path, **kw)
    for c in cfgs:
        w.append(Run(c, 0, {m: np.full(3, 0.5) for m in DEFAULT_METRICS}, np.full(3, 0.1),
                     {"params": 1.0, "flops": 1.0, "model_bytes": 1.0}))
    print("appended 25", flush=True)
""")


def _new_table(path):
    w = RunTableWriter(path, SPACE, max_epochs=3)
    getattr(w, "close", lambda: None)()  # (so that the tests also run on the unlocked code)


def _holder(path):
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready", p.stderr.read()
    return p


def test_second_process_is_refused_then_waits(tmp_path):
    path = tmp_path / "t.h5"
    _new_table(path)
    holder = _holder(path)
    try:
        with pytest.raises(InvalidValueError, match=rf"t\.h5\.lock is held by pid {holder.pid}"):
            RunTableWriter(path)
        # a waiting writer gets the table once the holder closes its writer
        t0 = time.monotonic()
        holder.stdin.write("close\n")
        holder.stdin.flush()
        with RunTableWriter(path, lock_timeout=60) as w:
            assert w.table().n_runs == 0
        assert holder.stdout.readline().strip() == "closed"
        assert time.monotonic() - t0 < 60
    finally:
        holder.kill()
        holder.wait()
    assert not (tmp_path / "t.h5.lock").exists()  # a normal release removes the file


def test_sigkilled_holder_lock_is_taken_over(tmp_path):
    path = tmp_path / "t.h5"
    _new_table(path)
    holder = _holder(path)
    lock = tmp_path / "t.h5.lock"
    assert lock.read_text().split()[0] == str(holder.pid)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert lock.exists()  # the killed process could not clean up
    with RunTableWriter(path) as w:  # taken over at once, no waiting
        assert lock.read_text().split() == [str(os.getpid()), socket.gethostname()]
        w.append(Run(SPACE.sample(1, 0)[0], 0, {m: np.full(3, 0.5) for m in DEFAULT_METRICS},
                     np.full(3, 0.1), {"params": 1.0, "flops": 1.0, "model_bytes": 1.0}))
    assert RunTable.read(path).n_runs == 1


def test_two_concurrent_appenders_lose_no_run(tmp_path):
    # the case: two processes appending 25 runs each ended with 25 runs
    path = tmp_path / "t.h5"
    _new_table(path)
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, str(path), str(off), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for off in (0, 25)]
    time.sleep(0.5)
    go.touch()
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
        assert "appended 25" in out
    assert RunTable.read(path).n_runs == 50


def test_legacy_pid_file_of_a_live_collector_is_honoured(tmp_path):
    # older hasbench versions created <table>.lock with O_EXCL and no flock; a collection
    # they started must keep its table (the shipped data/collect_all.sh runs for hours)
    path = tmp_path / "t.h5"
    _new_table(path)
    lock = tmp_path / "t.h5.lock"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        lock.write_text(f"{sleeper.pid} {socket.gethostname()}")
        with pytest.raises(InvalidValueError, match=f"held by pid {sleeper.pid}"):
            RunTableWriter(path)
        assert lock.read_text() == f"{sleeper.pid} {socket.gethostname()}"  # untouched
    finally:
        sleeper.kill()
        sleeper.wait()
    with RunTableWriter(path):  # its process is gone: stale, taken over
        assert lock.read_text().split()[0] == str(os.getpid())


def test_closed_writer_refuses_appends_and_bad_timeout(tmp_path):
    path = tmp_path / "t.h5"
    w = RunTableWriter(path, SPACE, max_epochs=3)
    w.close()
    w.close()  # idempotent
    with pytest.raises(InvalidValueError, match="closed"):
        w.append(Run(SPACE.sample(1, 0)[0], 0, {m: np.full(3, 0.5) for m in DEFAULT_METRICS},
                     np.full(3, 0.1), {"params": 1.0, "flops": 1.0, "model_bytes": 1.0}))
    with pytest.raises(InvalidValueError, match="lock_timeout"):
        RunTableWriter(path, lock_timeout=-1)
    with pytest.raises(InvalidValueError, match="lock"):
        RunTableWriter(path, lock="mine")
