"""Every ``hasbench ...`` command shown in README.md, data/README.md, reproduce/README.md and
docs/*.md parses with today's CLI (issue 21: the docs' commands must work as written): a
renamed or removed flag in the CLI, or a typo in the docs, fails here. Commands with
placeholders (``...``, ``<x>``) or optional-part notation (``[--quick]``) and lines that show
output (``hasbench plot: error: ...``) are left out; the README's main commands also run
for real in tests/test_readme_example.py and .ci/run."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from hasbench.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", ROOT / "data" / "README.md", ROOT / "reproduce" / "README.md",
         *sorted((ROOT / "docs").glob("*.md"))]


def _commands() -> list[tuple[str, str]]:
    out = []
    for f in FILES:
        if not f.is_file():
            continue
        for block in re.findall(r"```(?:bash|sh|console|shell)?\n(.*?)```", f.read_text(), re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.strip().removeprefix("$ ")
                if " #" in line:
                    line = line.split(" #")[0]
                for part in re.split(r"&&|\|\||;|\|", line):
                    part = part.strip()
                    if not part.startswith("hasbench ") or re.search(r"\.\.\.|<|\[-", part):
                        continue
                    argv = shlex.split(part)[1:]
                    if argv and argv[0].endswith(":"):  # output shown in the docs
                        continue
                    out.append((f.relative_to(ROOT).as_posix(), part))
    return out


COMMANDS = _commands()


def test_the_docs_show_commands():
    assert len(COMMANDS) >= 20, COMMANDS


@pytest.mark.parametrize("where, command", COMMANDS, ids=[f"{w}:{i}" for i, (w, _) in
                                                           enumerate(COMMANDS)])
def test_documented_command_parses(where, command):
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit as exc:
        assert exc.code in (0, None), f"{where}: {command}\n{err.getvalue()}"
