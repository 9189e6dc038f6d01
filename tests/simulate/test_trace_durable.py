"""``Trace.save`` is atomic and durable (issue 19 item 8): data fsync-ed before the rename,
the folder fsync-ed after it, no temporary file left behind when a write fails.

A power loss cannot be staged in a test, so ``os.fsync`` and ``os.replace`` are wrapped with
recording spies (the real calls still run) and the order of the calls is checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.simulate import simulate
from hasbench.simulate.trace import Trace, have_parquet

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(),
                                reason="maps fsync-ed descriptors to paths through /proc")


@pytest.fixture(scope="module")
def trace():
    return simulate(SyntheticBenchmark("hia-cnn", seed=0), "random", seed=0,
                    max_evaluations=5)


@pytest.fixture
def calls(monkeypatch):
    log: list[tuple[str, str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        log.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"), ""))
        return real_fsync(fd)

    def replace(src, dst, *a, **kw):
        log.append(("replace", str(Path(src).resolve()), str(Path(dst).resolve())))
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return log


def _check_durable(log, target: Path):
    target = target.resolve()
    reps = [i for i, c in enumerate(log) if c[0] == "replace" and c[2] == str(target)]
    assert len(reps) == 1, log
    i = reps[0]
    tmp = log[i][1]
    assert Path(tmp).parent == target.parent and tmp != str(target)
    # the temporary file's data reached the disk before the rename ...
    assert ("fsync", tmp, "") in log[:i], log
    # ... and the folder (the rename itself) after it
    assert ("fsync", str(target.parent), "") in log[i + 1:], log


@pytest.mark.skipif(not have_parquet(), reason="needs pyarrow")
def test_parquet_save_fsyncs_file_then_folder(trace, calls, tmp_path):
    out = trace.save(tmp_path / "seed-000000.parquet")
    _check_durable(calls, out)
    assert Trace.load(out) == trace
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed-000000.parquet"]


def test_csv_save_fsyncs_table_and_sidecar(trace, calls, tmp_path):
    out = trace.save(tmp_path / "seed-000000.csv")
    _check_durable(calls, out)
    _check_durable(calls, out.with_suffix(".json"))
    assert len(Trace.load(out)) == len(trace)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed-000000.csv",
                                                          "seed-000000.json"]


def test_failed_save_leaves_old_file_and_no_temporary(trace, tmp_path, monkeypatch):
    suffix = ".parquet" if have_parquet() else ".csv"
    out = trace.save(tmp_path / f"seed-000000{suffix}")
    before = sorted(p.name for p in tmp_path.iterdir())
    old = out.read_bytes()

    def full_disk(src, dst, *a, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        trace.save(out)
    assert out.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no .tmp left behind
