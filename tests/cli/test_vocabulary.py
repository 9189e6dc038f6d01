"""Issue 21 item 7: one CLI vocabulary (docs/cli.md). New spellings work; the old ones still
work for a release and print a deprecation note on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hasbench.cli import build_parser, main
from hasbench.spaces import get_space
from hasbench.tables import DEFAULT_METRICS, Run, write_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def parse(argv, capsys):
    args = build_parser().parse_args(argv)
    return args, capsys.readouterr().err


def hb(*args):
    return subprocess.run([sys.executable, "-m", "hasbench", *args], capture_output=True,
                          text=True, timeout=300)


class _Result:
    def __init__(self, rc, out, err):
        self.returncode, self.stdout, self.stderr = rc, out, err


@pytest.fixture
def cli(capsys):
    """The CLI in this process (faster than a subprocess per call)."""
    def run(*args):
        try:
            rc = main(list(args))
        except SystemExit as exc:  # --help
            rc = exc.code
        out = capsys.readouterr()
        return _Result(rc, out.out, out.err)
    return run


@pytest.fixture
def table(tmp_path):
    s = get_space("hia-cnn")
    rng = np.random.default_rng(0)
    runs = [Run(c, seed, {m: rng.random(3) for m in DEFAULT_METRICS}, np.ones(3),
                {"params": 1, "flops": 1, "model_bytes": 1})
            for c in s.sample(12, 0) for seed in (0, 1)]
    return write_table(tmp_path / "t.h5", s, runs, max_epochs=3,
                       provenance={"dataset": "unit-test"}).path


# ------------------------------------------------------------------ collect
def test_collect_processes_and_executor(capsys):
    args, err = parse(["collect", "--out", "t.h5", "--processes", "3", "--executor",
                       "process"], capsys)
    assert args.processes == 3 and args.executor == "process" and err == ""
    args, _ = parse(["collect", "--out", "t.h5"], capsys)
    assert args.processes == 1 and args.executor == "process"


def test_collect_old_spellings_warn(capsys):
    args, err = parse(["collect", "--out", "t.h5", "--workers", "3", "--executor", "local"],
                      capsys)
    assert args.processes == 3 and args.executor == "process"
    assert "--workers is deprecated" in err and "--processes" in err
    assert "--executor local is deprecated" in err and "--executor process" in err


def test_collect_help_has_one_vocabulary(cli):
    out = cli("collect", "--help").stdout
    assert "--processes" in out and "--workers" not in out
    assert "{process,ray}" in out and "local" not in out.split("--executor")[1][:40]


# ------------------------------------------------------------------ data import
def test_import_seed_column(capsys):
    base = ["data", "import", "x.csv", "--out", "t.h5", "--metrics", "acc"]
    args, err = parse([*base, "--seed-column", "rep"], capsys)
    assert args.seed_column == "rep" and err == ""
    args, err = parse([*base, "--seed", "rep"], capsys)
    assert args.seed_column == "rep"
    assert "--seed is deprecated" in err and "--seed-column" in err


def test_import_old_and_new_spelling_give_the_same_table(tmp_path, cli):
    import pandas as pd

    rows = [{"lr": lr, "rep": s, "epoch": e, "acc": 0.1 * e + lr + 0.1 * s}
            for lr in (0.001, 0.01, 0.1) for s in (0, 1) for e in (1, 2, 3)]
    src = tmp_path / "runs.csv"
    pd.DataFrame(rows).to_csv(src, index=False)
    new = cli("data", "import", str(src), "--out", str(tmp_path / "a.h5"), "--metrics", "acc",
             "--seed-column", "rep")
    old = cli("data", "import", str(src), "--out", str(tmp_path / "b.h5"), "--metrics", "acc",
             "--seed", "rep")
    assert new.returncode == 0 and old.returncode == 0, new.stderr + old.stderr
    assert "deprecated" not in new.stderr and "deprecated" in old.stderr
    assert "6 runs" in new.stdout and "6 runs" in old.stdout


# ------------------------------------------------------------------ outputs
def test_export_csv_out_flag_and_deprecated_positional(table, tmp_path, cli):
    p = hb("table", "export-csv", str(table), "--out", str(tmp_path / "a.csv"))
    assert p.returncode == 0 and "deprecated" not in p.stderr, p.stderr
    p = hb("table", "export-csv", str(table), str(tmp_path / "b.csv"))  # as a user has it
    assert p.returncode == 0 and "deprecated" in p.stderr and "--out" in p.stderr
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    p = cli("table", "export-csv", str(table), "--out", str(tmp_path / "a.csv"))
    assert p.returncode == 2 and "--overwrite" in p.stderr
    (tmp_path / "a.csv").write_text("old")
    p = cli("table", "export-csv", str(table), "--out", str(tmp_path / "a.csv"), "--overwrite")
    assert p.returncode == 0 and (tmp_path / "a.csv").read_bytes() == \
        (tmp_path / "b.csv").read_bytes()
    p = cli("table", "export-csv", str(table), str(tmp_path / "c.csv"), "--out",
            str(tmp_path / "d.csv"))
    assert p.returncode == 2 and "only --out" in p.stderr


def test_export_synetune_out_flag(table, tmp_path, cli):
    pytest.importorskip("pyarrow")
    p = cli("data", "export-synetune", str(table), "--out", str(tmp_path / "st"))
    assert p.returncode == 0 and "deprecated" not in p.stderr, p.stderr
    p = cli("data", "export-synetune", str(table), str(tmp_path / "st2"))
    assert p.returncode == 0 and "deprecated" in p.stderr
    assert (tmp_path / "st2" / "metadata.json").is_file()


def test_fit_overwrite(table, tmp_path):
    out = tmp_path / "t.surrogate"
    fit = ["fit", str(table), "--model", "knn", "--out", str(out)]
    assert main(fit) == 0
    first = (out / "manifest.json").read_text()
    assert main(fit) == 2  # refused without --overwrite
    assert main([*fit, "--overwrite", "--seed", "1"]) == 0
    assert (out / "manifest.json").read_text() != first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers
    # --overwrite never replaces a folder that is not a surrogate
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    assert main(["fit", str(table), "--model", "knn", "--out", str(other),
                 "--overwrite"]) == 2
    assert (other / "notes.txt").read_text() == "keep me"


# ------------------------------------------------------------------ help texts
def test_run_help_lists_optimizers_and_defaults(cli):
    out = cli("run", "--help").stdout
    for name in ("bohb", "hyperband", "random", "tpe", "asha"):
        assert name in out
    assert "default 1" in out and "default 0-9" in out


def test_validate_help_percent(cli):
    out = cli("validate", "--help").stdout
    assert "80%" in out and "80%%" not in out


def test_every_help_renders(cli):
    for cmd in (["collect"], ["fit"], ["validate"], ["run"], ["results"], ["data", "import"],
                ["data", "split"], ["data", "export-synetune"], ["table", "export-csv"]):
        p = cli(*cmd, "--help")
        assert p.returncode == 0 and "%%" not in p.stdout, (cmd, p.stdout)


def test_docs_cli_md_names_the_vocabulary():
    text = DOC.read_text()
    for word in ("--processes", "--workers", "--executor", "--seed-column", "--overwrite",
                 "--out", "deprecated"):
        assert word in text


@pytest.mark.parametrize("blocked, argv, package", [
    ("pyarrow", ["data", "export-synetune", "{table}", "--out", "{tmp}/st"], "pyarrow"),
    ("ray", ["run", "--benchmark", "synthetic:hia-cnn", "--optimizer", "random", "--seeds",
             "0-1", "--budget", "10fe", "--executor", "ray", "--processes", "2",
             "--out", "{tmp}/r"], "ray"),
])
def test_missing_package_is_the_environment_exit_1(table, tmp_path, blocked, argv, package):
    """Issue 21 item 9: a missing optional package said "allowed: installed" and exited 2
    (bad usage). It is a named error (MissingDependencyError) that names the package and the
    extra, and the CLI exits 1. The package is made unimportable in a real subprocess."""
    argv = [a.format(table=table, tmp=tmp_path) for a in argv]
    code = (f"import sys; sys.modules[{blocked!r}] = None\n"
            "from hasbench.cli import main\n"
            f"sys.exit(main({argv!r}))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 1, (p.returncode, p.stderr)
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in p.stderr, p.stderr
    assert f"'{package}'" in err[0] and "not installed" in err[0]
    assert f"pip install -e '.[{package if package != 'pyarrow' else 'parquet'}]'" in err[0]
    assert "allowed: installed" not in err[0]


def test_missing_dependency_error_pickles_and_is_an_import_error():
    import pickle

    from hasbench.errors import HasbenchError, MissingDependencyError

    e = MissingDependencyError("pyarrow", "parquet files", "parquet", "export_synetune")
    back = pickle.loads(pickle.dumps(e))
    assert isinstance(back, ImportError) and isinstance(back, HasbenchError)
    assert str(back) == str(e) and back.package == "pyarrow" and back.extra == "parquet"
