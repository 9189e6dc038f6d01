"""``hasbench reproduce``: run the one-command-per-claim scripts in ``reproduce/``."""

from __future__ import annotations

import os
from pathlib import Path


def reproduce_dir() -> Path:
    """``$HASBENCH_REPRODUCE`` or ``<repo>/reproduce`` (the scripts ship with the clone)."""
    env = os.environ.get("HASBENCH_REPRODUCE")
    if env:
        return Path(env).expanduser()
    import hasbench

    return Path(hasbench.__file__).resolve().parents[1] / "reproduce"


#: scripts of ``reproduce/`` that are tools, not claims (``claims_table.py`` prints README's
#: table of the claims' committed outputs); names starting with ``_`` are helpers
NOT_CLAIMS = frozenset({"claims_table"})


def claims() -> dict[str, tuple[Path, str]]:
    """``{name: (script, first line of its docstring)}`` for every ``reproduce/*.py`` claim
    script (not helpers ``_*.py`` nor the tools in :data:`NOT_CLAIMS`)."""
    import ast

    d = reproduce_dir()
    out = {}
    for p in sorted(d.glob("*.py")) if d.is_dir() else []:
        if p.name.startswith("_") or p.stem in NOT_CLAIMS:
            continue
        try:
            doc = ast.get_docstring(ast.parse(p.read_text())) or ""
        except (SyntaxError, UnicodeDecodeError):  # pragma: no cover - a broken script
            doc = ""
        out[p.stem] = (p, " ".join(doc.split("\n\n")[0].split()))
    return out


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "reproduce", help="check a paper claim on the shipped benchmarks (reproduce/)",
        description="Run one claim script of reproduce/: it replays what it needs, writes "
                    "figures and a Markdown table to reproduce/out/NAME/ and prints whether "
                    "the claim holds on each benchmark, with the numbers.")
    p.add_argument("name", nargs="?", help="claim name (see --list)")
    p.add_argument("--list", action="store_true", help="list the claims")
    p.add_argument("--quick", action="store_true", help="few seeds and benchmarks (minutes)")
    p.add_argument("--out", default=None, help="output folder (default reproduce/out/NAME)")
    p.set_defaults(func=run)


def run(args) -> int:
    import runpy

    from ..errors import InvalidValueError, UnknownNameError

    avail = claims()
    if args.list or not args.name:
        if not avail:
            raise InvalidValueError("reproduce/", str(reproduce_dir()), "a folder of claim "
                                    "scripts", "hasbench reproduce",
                                    hint="the scripts ship with a clone of the repository; "
                                         "set HASBENCH_REPRODUCE to their folder")
        for n, (_, doc) in avail.items():
            print(f"{n}: {doc}")
        return 0
    if args.name not in avail:
        raise UnknownNameError("claim", args.name, sorted(avail), "hasbench reproduce")
    script = avail[args.name][0]
    mod = runpy.run_path(str(script), run_name="hasbench_reproduce")
    argv = (["--quick"] if args.quick else []) + (["--out", args.out] if args.out else [])
    return int(mod["main"](argv) or 0)
