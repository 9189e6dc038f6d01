"""Issue 21 item 6: budgets need a unit, `results --at` refuses times past the runs' budget,
and error messages name the CLI flags (not the library's parameters)."""

from __future__ import annotations

import pytest

from hasbench.cli import main
from hasbench.cli.run_cmd import parse_budget
from hasbench.errors import InvalidValueError

RUN = ["run", "--benchmark", "synthetic:hia-cnn", "--optimizer", "random", "--seeds", "0-1",
       "--no-progress"]


def test_budget_units():
    assert parse_budget("100s") == 100.0
    assert parse_budget("2m") == parse_budget("2min") == 120.0
    assert parse_budget("1.5h") == 5400.0
    assert parse_budget("1d") == 86400.0


@pytest.mark.parametrize("text", ["100", "3600", " 7 "])
def test_budget_without_unit_is_refused(text):
    with pytest.raises(InvalidValueError, match="--budget") as ei:
        parse_budget(text)
    msg = str(ei.value)
    assert "unit" in msg and f"{text.strip()}s" in msg and f"{text.strip()}fe" in msg


def test_cli_budget_without_unit(tmp_path, capsys):
    out = tmp_path / "r"
    assert main([*RUN, "--budget", "100", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--budget" in err and "100s" in err
    assert not out.exists()


@pytest.mark.parametrize("extra, flag, internal", [
    ([], "--budget", "time_budget"),                              # no budget at all
    (["--budget", "1h", "--workers", "0"], "--workers", "n_workers"),
    (["--budget", "1h", "--processes", "0"], "--processes", "'processes'"),
    (["--budget", "1h", "--max-evaluations", "0"], "--max-evaluations", "max_evaluations"),
    (["--budget", "1h", "--objective", "nope"], "--objective", "simulate"),
    (["--budget", "1h", "--seeds", "5-1"], "--seeds", "'seeds'"),
])
def test_run_errors_name_flags(tmp_path, capsys, extra, flag, internal):
    args = [a for a in RUN if a not in ("--seeds", "0-1")] if "--seeds" in extra else RUN
    out = tmp_path / "r"
    assert main([*args, *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert flag in err, err
    assert internal not in err and "replay_many" not in err, err
    assert not out.exists()  # refused before anything is written


@pytest.fixture(scope="module")
def one_hour_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs") / "random"
    assert main([*RUN, "--budget", "1h", "--out", str(d)]) == 0
    return d


def test_results_at_within_budget(one_hour_runs, capsys):
    assert main(["results", str(one_hour_runs), "--at", "600,3600"]) == 0
    assert "3600" in capsys.readouterr().out


def test_results_at_beyond_budget_is_refused(one_hour_runs, capsys):
    assert main(["results", str(one_hour_runs), "--at", "3600,36000"]) == 2
    err = capsys.readouterr().err
    assert "--at" in err and "36000" in err and "3600" in err and "budget" in err


def test_results_plot_error_names_the_flag(one_hour_runs, tmp_path, capsys):
    png = tmp_path / "a.png"
    png.write_bytes(b"")
    assert main(["results", str(one_hour_runs), "--plot", str(png)]) == 2
    err = capsys.readouterr().err
    assert "--plot" in err and "plot_anytime" not in err and "'path'" not in err
    assert main(["results", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "'paths'" in err and "missing" in err and "'path'" not in err
