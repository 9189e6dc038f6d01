"""Fuzzed command lines (issue 20, item 13): every subcommand gets one flag (or positional)
replaced by an odd value: empty, quotes, negative, hex, lists, huge or overflowing numbers,
a unit where none belongs, ``None``/``True``/``[]``/``{}``, non-ASCII text, NaN/inf.

The oracle is the CLI's contract (docs/cli.md): ``hasbench.cli.main`` returns 0, 1 or 2
(argparse's own usage errors exit 2), never raises (an exception escaping ``main`` is a
traceback for the user, and fails the test with it), and a refusal is one line naming the
command, never a traceback. Each call runs in its own empty working folder, so a value taken
as a path (``--csv 1e9``) writes there, not into the repository.

``HASBENCH_FUZZ_EXAMPLES // 2`` (default 12) examples per command; a few seconds each.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hasbench.cli import main

# half the API fuzzer's count: a command line costs more than a call
N = max(5, int(os.environ.get("HASBENCH_FUZZ_EXAMPLES", "25")) // 2)
FUZZ = settings(max_examples=N, deadline=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

ODD = [" ", "", "'", '"', "-1", "-5", "0", "0x10", "1,2", "1,2,", "1.5", "1e400", "1e9",
       "1h", "99999999999999999999", "=", "None", "True", "[]", "{}", "abc", "inf", "nan",
       "-inf", "é", "1-", "0-99999999999", "5-1", "a=b", "x=1,y", '{"max_depth": "a"}',
       "../../etc/passwd", "/dev/zero", "💥"]
values = st.one_of(st.sampled_from(ODD), st.text(max_size=8),
                   st.integers(-10**20, 10**20).map(str),
                   st.floats(allow_nan=True, allow_infinity=True).map(repr))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Real inputs the commands can start from: a finished run folder and a run table."""
    d = tmp_path_factory.mktemp("fuzz-cli")
    assert main(["run", "--benchmark", "synthetic:hia-cnn", "--optimizer", "random",
                 "--seeds", "0-1", "--workers", "2", "--budget", "10fe", "--out",
                 str(d / "runs"), "--no-progress"]) == 0
    table = Path(__file__).resolve().parents[2] / "data" / "digits-hia-cnn.heldout.h5"
    if not table.is_file():  # pragma: no cover - shipped with the repository
        pytest.skip("data/digits-hia-cnn.heldout.h5 not present")
    return {"runs": str(d / "runs"), "table": str(table)}


# command -> (a valid argv with {runs}/{table}/{out} placeholders, the positions (indices
# into the argv) whose value is replaced; each must hold a flag's value or a positional)
RUN = ["run", "--benchmark", "synthetic:hia-cnn", "--optimizer", "random", "--seeds", "0-1",
       "--workers", "2", "--budget", "5fe", "--max-evaluations", "6", "--processes", "1",
       "--opt", "max_trials=50", "--out", "{out}/r", "--no-progress"]
COMMANDS = {
    "run": (RUN, [2, 4, 6, 8, 10, 12, 14, 16, 18]),
    "run-bohb": ([*RUN[:4], "bohb", *RUN[5:16], "eta=3", *RUN[17:]], [6, 8, 10, 16, 18]),
    "results": (["results", "{runs}", "--at", "1,3", "--csv", "{out}/a.csv", "--plot",
                 "{out}/p.png", "--regret", "true"], [1, 3, 5, 7, 9]),
    "table-info": (["table", "info", "{table}"], [2]),
    "export-csv": (["table", "export-csv", "{table}", "--out", "{out}/t.csv"], [2, 4]),
    "fit": (["fit", "{table}", "--model", "knn", "--out", "{out}/s", "--threads", "1",
             "--params", "{{}}"], [1, 3, 5, 7, 9]),
    "split": (["data", "split", "{table}", "--first", "{out}/a.h5", "--second",
               "{out}/b.h5", "--fraction", "0.3", "--seed", "1"], [2, 4, 6, 8, 10]),
    "budget-correlation": (["budget-correlation", "{table}", "--fidelities", "1,3,9"],
                           [1, 3]),
    "spaces": (["spaces", "describe", "hia-cnn"], [2]),
    "reproduce": (["reproduce", "--list"], [1]),
}


def _call(argv: list[str]) -> int:
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as here:
        os.chdir(here)  # a value taken as a relative path lands here
        try:
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse's usage errors
                rc = exc.code if isinstance(exc.code, int) else 2
        finally:
            os.chdir(cwd)
    return rc


def _check(argv, capsys):
    rc = _call(argv)
    err = capsys.readouterr().err
    assert rc in (0, 1, 2), (argv, rc, err)
    assert "Traceback" not in err, (argv, err)
    if rc != 0:
        lines = [ln for ln in err.splitlines() if ln.strip() and "%|" not in ln
                 and "deprecated" not in ln]
        assert lines, (argv, "a refusal says why")
        assert lines[-1].startswith(("hasbench", "usage:")) or "error:" in lines[-1], \
            (argv, err)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_valid_command_line_runs(command, world, tmp_path, capsys):
    """The oracle's baseline: each template command is valid as written."""
    argv, _ = COMMANDS[command]
    argv = [a.format(out=tmp_path, **world) for a in argv]
    assert _call(argv) == 0, capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(COMMANDS))
@FUZZ
@given(data=st.data())
def test_one_odd_value_never_gives_a_traceback(command, world, data, capsys):
    argv, positions = COMMANDS[command]
    pos = data.draw(st.sampled_from(positions), label="position")
    value = data.draw(values, label="value")
    with tempfile.TemporaryDirectory() as out:
        argv = [a.format(out=out, **world) for a in argv]
        argv[pos] = value
        _check(argv, capsys)
