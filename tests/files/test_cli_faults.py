"""Faults at the CLI boundary (issue 19, items 6-7): one clear line on stderr and exit 2
(bad input) or 1 (environment), never a traceback; -v adds the traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def hb(*args, preexec=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "hasbench", *args], capture_output=True,
                          text=True, timeout=timeout, preexec_fn=preexec)


def _one_line(p, rc):
    assert p.returncode == rc, p.stdout + p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    return lines[0]


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    d = tmp_path_factory.mktemp("tr") / "runs"
    p = hb("run", "--benchmark", "synthetic:hia-cnn", "--optimizer", "random", "--seeds", "0-1",
           "--max-evaluations", "5", "--out", str(d), "--no-progress")
    assert p.returncode == 0, p.stderr
    return d


def test_bad_input_exits_2_with_one_line(tmp_path, syn_table, syn_surrogate):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "bin.csv").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "x.parquet").write_text("not parquet")
    cases = [
        (["results", str(tmp_path / "x.parquet")], "parquet"),
        (["data", "import", str(tmp_path / "empty.csv"), "--out", str(tmp_path / "a.h5"),
          "--metrics", "acc"], ""),
        (["data", "import", str(tmp_path / "bin.csv"), "--out", str(tmp_path / "b.h5"),
          "--metrics", "acc"], ""),
        (["validate", str(syn_surrogate.path), "--table", str(syn_table.path),
          "--optimizers", "random,bogus"], "bogus"),
        (["fit", str(syn_table.path), "--out", str(tmp_path / "f1"), "--params",
          '{"n_estimators": -1}'], "n_estimators"),
        (["fit", str(syn_table.path), "--out", str(tmp_path / "f2"), "--params",
          '{"max_depth": "a"}'], "max_depth"),
        (["fit", str(syn_table.path), "--out", str(tmp_path / "f3"), "--threads", "0"],
         "--threads"),
    ]
    for args, word in cases:
        line = _one_line(hb(*args), 2)
        assert word in line, line


def test_plot_faults(traces, tmp_path):
    line = _one_line(hb("results", str(traces), "--plot", str(tmp_path / "p.xyz")), 2)
    assert "xyz" in line or "format" in line.lower()
    # a missing folder is created (as for traces and surrogates); a file in the way is
    # refused in one line, and is left as it was
    p = hb("results", str(traces), "--plot", str(tmp_path / "missing" / "p.png"))
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "missing" / "p.png").stat().st_size > 0
    (tmp_path / "afile").write_text("mine")
    line = _one_line(hb("results", str(traces), "--plot", str(tmp_path / "afile" / "p.png")),
                     2)
    assert "afile" in line and "--plot" in line
    assert (tmp_path / "afile").read_text() == "mine"


def test_disk_full_is_an_environment_error(syn_table, tmp_path):
    """A file-size limit makes every large write fail with EFBIG, as a full disk does."""
    def limit():
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    p = hb("table", "export-csv", str(syn_table.path), "--out", str(tmp_path / "t.csv"),
           preexec=limit)
    _one_line(p, 1)
    p = hb("-v", "table", "export-csv", str(syn_table.path), "--out", str(tmp_path / "t2.csv"),
           preexec=limit)
    assert p.returncode == 1 and "Traceback" in p.stderr
    assert not list(tmp_path.glob(".t*.csv*"))  # no half-written temporary file left


def test_missing_optional_dependency_exits_1(tmp_path):
    code = textwrap.dedent("""
        import sys
        sys.modules["pyarrow"] = None  # as if not installed
        sys.modules["pyarrow.parquet"] = None
        from hasbench.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    p = subprocess.run([sys.executable, "-c", code, "results", str(tmp_path / "t.parquet")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr and "missing" in p.stderr
