"""No orphaned workers (issue 19 item 5): when ``hasbench run --processes 2`` or ``hasbench
collect --workers 2`` is killed or interrupted, its worker processes (and the
multiprocessing resource tracker) end too. Real CLI subprocesses, real signals; survivors are
found through ``/proc`` (every process of the command's own session)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="finds the command's processes through /proc")


def _session(sid: int) -> dict[int, str]:
    """Live (non-zombie) processes of session ``sid``: pid -> command line."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid and fields[0] != "Z":  # fields[3]: session id
                out[int(d.name)] = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
    return out


def _kill_parent_and_check(cmd, sig, ready, tmp_path, env=None):
    # own session: the signal goes to the parent only (as `kill PID` would), and every
    # descendant stays findable by its session id even after the parent is gone
    # SIGINT back to its default in the child: under a background job (nohup ... &, as
    # CI scripts may run) it is inherited as ignored, and Python then never raises
    # KeyboardInterrupt, which is what a user's Ctrl-C gives
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, env=env, cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    sid = proc.pid
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            kids = {p: c for p, c in _session(sid).items() if p != sid}
            workers = [p for p, c in kids.items() if "spawn_main" in c]
            if len(workers) >= 2 and ready():
                break
            assert proc.poll() is None, f"finished before the kill: {proc.stderr.read()[-2000:]}"
            time.sleep(0.1)
        else:
            pytest.fail(f"workers never started: {_session(sid)}")
        os.kill(proc.pid, sig)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 15  # the parent-watch thread polls every 0.5 s
        while _session(sid) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = _session(sid)
        assert not survivors, f"orphaned after {sig!r} to the parent: {survivors}"
    finally:
        for p in _session(sid):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# SIGTERM ends a Python process like SIGKILL (no handler): the same kernel path
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_run_processes_workers_die_with_parent(tmp_path, sig):
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "hasbench", "run", "--benchmark", "synthetic:hia-cnn",
           "--optimizer", "random", "--seeds", "0-99999", "--max-evaluations", "300",
           "--processes", "2", "--out", str(out), "--no-progress"]
    n_traces = lambda: len(list(out.glob("seed-*"))) if out.exists() else 0  # noqa: E731
    _kill_parent_and_check(cmd, sig, lambda: n_traces() >= 2, tmp_path)
    before = n_traces()
    time.sleep(1.0)
    assert n_traces() == before  # nobody writes traces any more


@pytest.mark.parametrize("sig", [signal.SIGKILL])
def test_collect_workers_die_with_parent(tmp_path, sig):
    out = tmp_path / "t.h5"
    cmd = [sys.executable, "-m", "hasbench", "collect", "--space", "hia-cnn", "--dataset",
           "digits", "--n-configs", "200", "--seeds", "1", "--epochs", "27", "--workers", "2",
           "--threads", "1", "--out", str(out), "--no-progress", "--max-train-examples", "200",
           "--max-valid-examples", "60", "--max-test-examples", "60"]
    env = dict(os.environ, OMP_NUM_THREADS="1")

    def training():  # workers have committed a run: they are past their start-up
        from hasbench.tables import RunTable

        try:
            return RunTable.read(out).n_runs >= 1
        except Exception:  # noqa: BLE001 - not created yet
            return False

    _kill_parent_and_check(cmd, sig, training, tmp_path, env)
    # the killed collection's lock does not block the next writer
    from hasbench.tables import RunTableWriter

    with RunTableWriter(out) as w:
        assert w.table().n_runs >= 0
