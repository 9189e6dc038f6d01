"""``hasbench plot`` as a user runs it: real replays on the synthetic benchmark, real
subprocesses (the bad-input cases through ``hasbench.cli.main`` in this process: the same
code, without a second or so of start-up each), exit codes, one-line errors naming the
flag, PNG/PDF files."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.simulate import replay_many

OPTS = ("random", "hyperband", "bohb")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("plot-cli")
    bench = SyntheticBenchmark("hia-cnn", seed=0)
    for opt in OPTS:
        replay_many(bench, opt, range(4), root / opt, n_workers=2, time_budget=600.0,
                    progress=False)
    return root


def hb(*args):
    return subprocess.run([sys.executable, "-m", "hasbench", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def main(capsys, *args):
    """``hasbench ARGS`` in this process: (exit code, stdout, stderr)."""
    from hasbench.cli import main as cli_main

    capsys.readouterr()
    rc = cli_main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize("kind,ext", [("anytime", "png"), ("rank", "pdf"), ("ecdf", "pdf"),
                                      ("speedup", "png"), ("cd", "png")])
def test_each_kind_writes_its_file(runs, kind, ext, tmp_path, capsys):
    out = tmp_path / f"fig.{ext}"
    extra = ["--x", "evaluations"] if kind == "anytime" else []
    p = hb("plot", runs / "random", runs / "hyperband", f"{runs / 'bohb'}:BOHB",
           "--kind", kind, "--out", out, *extra)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"wrote {out}"
    head = out.read_bytes()[:8]
    assert head == b"\x89PNG\r\n\x1a\n" if ext == "png" else head[:5] == b"%PDF-"
    assert out.stat().st_size > 5_000
    # never overwritten without --overwrite; replaced with it
    before = out.read_bytes()
    rc, _, err = main(capsys, "plot", runs / "random", runs / "bohb", runs / "hyperband",
                      "--kind", kind, "--out", out)
    assert rc == 2 and "'--out'" in err and "--overwrite" in err
    assert out.read_bytes() == before
    rc, _, err = main(capsys, "plot", runs / "random", runs / "bohb", runs / "hyperband",
                      "--kind", kind, "--out", out, "--overwrite", "--title", "replaced")
    assert rc == 0, err
    assert out.read_bytes() != before


@pytest.mark.parametrize("args,flag", [
    (["--kind", "bars", "--out", "f.png"], "--kind"),
    (["--out", "f.png"], "--kind"),                          # --kind is required
    (["--kind", "cd", "--out", "f.svg"], "--out"),
    (["--kind", "cd"], "--out"),                             # --out is required
    (["--kind", "anytime", "--out", "f.png", "--x", "epochs"], "--x"),
    (["--kind", "ecdf", "--out", "f.png", "--target", "0.1"], "--target"),
    (["--kind", "anytime", "--out", "f.png", "--regret", "false"], "--regret"),
    (["--kind", "speedup", "--out", "f.png", "--baseline", "tpe"], "--baseline"),
])
def test_bad_input_exits_2_with_one_line_naming_the_flag(runs, tmp_path, args, flag, capsys):
    args = [a if not a.startswith("f.") else tmp_path / a for a in args]
    rc, out, err = main(capsys, "plot", runs / "random", runs / "hyperband", runs / "bohb",
                        *args)
    assert rc == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hasbench plot: error:")
    assert f"'{flag}'" in lines[0]
    assert not list(tmp_path.iterdir())  # nothing written


def test_missing_folder_and_outputs_checked_first(runs, tmp_path, capsys):
    p = hb("plot", runs / "random", tmp_path / "nope", "--kind", "rank", "--out",
           tmp_path / "r.png")
    assert p.returncode == 2 and "'RESULTS'" in p.stderr and "nope" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    # a bad --out is named before the (missing) traces are looked at
    rc, _, err = main(capsys, "plot", tmp_path / "nope", "--kind", "rank", "--out",
                      tmp_path / "r.jpg")
    assert rc == 2 and "'--out'" in err
    # a folder without traces
    (tmp_path / "empty").mkdir()
    rc, _, err = main(capsys, "plot", tmp_path / "empty", "--kind", "rank", "--out",
                      tmp_path / "r.png")
    assert rc == 2 and "'RESULTS'" in err and "seed-*.parquet" in err
    # a cd diagram needs 3 optimizers: said about the inputs, not a traceback
    rc, _, err = main(capsys, "plot", runs / "random", runs / "bohb", "--kind", "cd", "--out",
                      tmp_path / "c.png")
    assert rc == 2 and "'RESULTS'" in err and "at least 3 labels" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c.png").exists() and not (tmp_path / "r.png").exists()


def test_results_plot_is_the_same_figure_and_checks_its_extension(runs, tmp_path, capsys):
    rc, _, err = main(capsys, "results", runs / "random", runs / "bohb", "--plot",
                      tmp_path / "a.svg")
    assert rc == 2 and "'--plot'" in err and ".png or .pdf" in err
    rc, _, err = main(capsys, "results", runs / "random", runs / "bohb", "--plot",
                      tmp_path / "a.pdf")
    assert rc == 0, err
    assert (tmp_path / "a.pdf").read_bytes()[:5] == b"%PDF-"
