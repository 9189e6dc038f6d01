"""The ``hasbench`` command line.

Each stage contributes one module ``hasbench/cli/<name>_cmd.py`` with a
``register(subparsers)`` function that adds its subcommand; :func:`main` collects them.
Exit codes: 0 ok, 1 failure while running, 2 bad usage or bad input.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys

from .. import __version__
from ..errors import HasbenchError

#: command modules, in the order they appear in ``hasbench --help``
COMMANDS = ["spaces", "table", "collect", "fit", "validate", "data", "run", "results"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hasbench",
        description="Benchmarks, surrogates and simulated-time replay for joint "
                    "hyperparameter-architecture search.",
    )
    parser.add_argument("--version", action="version", version=f"hasbench {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more logging (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        modname = f"{__name__}.{name}_cmd"
        if importlib.util.find_spec(modname) is None:
            continue
        importlib.import_module(modname).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        rc = args.func(args)
    except HasbenchError as exc:
        print(f"hasbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hasbench {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`hasbench table info t.h5 | head`): stop quietly, as Unix
        # tools do; point stdout at devnull so the interpreter's final flush cannot fail again
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
