"""Corrupted run tables (issue 19, item 3): every one is refused with a SchemaError naming
what is wrong, fast and without reading absurd amounts, and `hasbench table info` exits 2
with one line on each."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest

from hasbench.errors import SchemaError
from hasbench.spaces import get_space
from hasbench.tables import DEFAULT_METRICS, Run, RunTable, write_table


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    s = get_space("hia-cnn")
    rng = np.random.default_rng(0)
    runs = [Run(c, seed, {m: rng.random(4) for m in DEFAULT_METRICS}, np.ones(4),
                {"params": 1, "flops": 1, "model_bytes": 1})
            for c in s.sample(3, 0) for seed in (0, 1)]
    p = tmp_path_factory.mktemp("good") / "t.h5"
    write_table(p, s, runs, max_epochs=4)
    return p


def _attr(key, value):
    def f(h):
        h.attrs[key] = value
    return f


def _replace(name, data, **kw):
    def f(h):
        del h[name]
        h.create_dataset(name, data=data, **kw)
    return f


def _set(name, index, value):
    def f(h):
        a = h[name][()]
        a[index] = value
        del h[name]
        h.create_dataset(name, data=a)
    return f


def _external(h):
    n = h["runs/seed"].shape[0]
    del h["runs/seed"]
    h.create_dataset("runs/seed", shape=(n,), dtype="<i8", external=[("/etc/passwd", 0, 8 * n)])


def _virtual(h):
    n = h["runs/seed"].shape[0]
    layout = h5py.VirtualLayout(shape=(n,), dtype="<i8")
    layout[:] = h5py.VirtualSource("/tmp/does-not-matter.h5", "x", shape=(n,))
    del h["runs/seed"]
    h.create_virtual_dataset("runs/seed", layout)


def _huge_strings(h):
    del h["runs/status"]
    h.create_dataset("runs/status", shape=(10 ** 9,), dtype=h5py.string_dtype(),
                     chunks=(10 ** 6,))


def _soft(h):
    del h["runs/seed"]
    h["runs/seed"] = h5py.SoftLink("/runs/config")


def _del(name):
    def f(h):
        del h[name]
    return f


CASES = {
    "missing group runs": _del("runs"),
    "missing configs/json": _del("configs/json"),
    "missing runs/status": _del("runs/status"),
    "missing metric": _del("runs/metrics/valid_acc"),
    "missing cum_time": _del("runs/cum_time"),
    "missing static": _del("static/params"),
    "schema_version abc": _attr("schema_version", "abc"),
    "schema_version '1'": _attr("schema_version", "1"),
    "schema_version 1.5": _attr("schema_version", 1.5),
    "schema_version 99": _attr("schema_version", 99),
    "schema missing": lambda h: h.attrs.__delitem__("schema"),
    "metrics bad json": _attr("metrics", "[valid_acc"),
    "metrics not a list": _attr("metrics", '{"a": 1}'),
    "provenance bad json": _attr("provenance", "{nope"),
    "space bad json": _attr("space", "{"),
    "space not a space": _attr("space", '{"name": 3}'),
    "max_epochs string": _attr("max_epochs", "4"),
    "max_epochs 0": _attr("max_epochs", 0),
    "status weird": _replace("runs/status", np.array(["weird"] * 6, dtype=object),
                             dtype=h5py.string_dtype()),
    "n_epochs -3": _set("runs/n_epochs", 0, -3),
    "n_epochs too many": _set("runs/n_epochs", 0, 9),
    "seed -7": _set("runs/seed", 0, -7),
    "duplicate run": _set("runs/seed", 1, 0),
    "config row out of range": _set("runs/config", 0, 77),
    "valid_acc 7.0": _set("runs/metrics/valid_acc", (0, 0), 7.0),
    "test_acc -1": _set("runs/metrics/test_acc", (0, 0), -1.0),
    "negative cum_time": _set("runs/cum_time", (0, 1), -5.0),
    "inf epoch_time": _set("runs/epoch_time", (0, 0), np.inf),
    "seed as float": _replace("runs/seed", np.arange(6, dtype=float)),
    "metric wrong width": _replace("runs/metrics/valid_acc", np.zeros((6, 5), np.float32)),
    "metric wrong rows": _replace("runs/metrics/valid_acc", np.zeros((7, 4), np.float32)),
    "X wrong width": _replace("configs/X", np.zeros((3, 2))),
    "config json not json": _replace("configs/json", np.array(["{x", "{}", "{}"], dtype=object),
                                     dtype=h5py.string_dtype()),
    "external storage": _external,
    "virtual dataset": _virtual,
    "1e9 strings declared": _huge_strings,
    "soft link": _soft,
    "group instead of dataset": lambda h: (h.__delitem__("runs/seed"),
                                           h.create_group("runs/seed")),
}


def _make(good: Path, tmp: Path, name: str) -> Path:
    p = tmp / (name.replace(" ", "_").replace("'", "").replace("/", "_") + ".h5")
    shutil.copy(good, p)
    with h5py.File(p, "a") as h:
        CASES[name](h)
    return p


def test_the_good_table_loads(good):
    assert RunTable.read(good).n_runs == 6


@pytest.mark.parametrize("name", sorted(CASES))
def test_corrupted_table_is_refused_fast(good, tmp_path, name):
    p = _make(good, tmp_path, name)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(SchemaError):
            RunTable.read(p)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 1.0
    assert peak < 100 << 20


def test_non_tables_are_refused(tmp_path):
    for name, data in {"empty.h5": b"", "text.h5": b"hello\n" * 10,
                       "zeros.h5": bytes(4096)}.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(SchemaError):
            RunTable.read(tmp_path / name)


def test_random_byte_mutations_never_escape_as_other_errors(good, tmp_path):
    raw = good.read_bytes()
    rng = np.random.default_rng(19)
    outcomes = {"loaded": 0, "refused": 0}
    for k in range(60):
        b = bytearray(raw)
        for _ in range(int(rng.integers(1, 6))):
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
        p = tmp_path / f"m{k}.h5"
        p.write_bytes(bytes(b))
        t0 = time.perf_counter()
        try:
            RunTable.read(p)
            outcomes["loaded"] += 1
        except SchemaError:
            outcomes["refused"] += 1
        assert time.perf_counter() - t0 < 1.0
    assert outcomes["refused"] > 0


def test_table_info_exits_2_with_one_line_on_each(good, tmp_path):
    paths = [str(_make(good, tmp_path, n)) for n in sorted(CASES)]
    code = ("import sys\nfrom hasbench.cli import main\nrcs = []\n"
            "import io, contextlib\n"
            "for p in sys.argv[1:]:\n"
            "    err = io.StringIO()\n"
            "    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):\n"
            "        rc = main(['table', 'info', p])\n"
            "    lines = err.getvalue().strip().splitlines()\n"
            "    print(rc, len(lines), lines[0][:200] if lines else '')\n")
    proc = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = proc.stdout.strip().splitlines()
    assert len(rows) == len(paths)
    for p, row in zip(paths, rows, strict=True):
        rc, n, *msg = row.split(" ", 2)
        assert (rc, n) == ("2", "1"), (p, row)
    # and one real CLI call end to end
    r = subprocess.run([sys.executable, "-m", "hasbench", "table", "info", paths[0]],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
