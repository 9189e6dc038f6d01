"""The ``hasbench`` command line.

Each stage contributes one module ``hasbench/cli/<name>_cmd.py`` with a
``register(subparsers)`` function that adds its subcommand; :func:`main` collects them.
Exit codes: 0 ok, 1 failure while running, 2 bad usage or bad input.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import importlib.util
import logging
import os
import sys
import traceback

from .. import __version__
from ..errors import HasbenchError, MissingDependencyError

#: command modules, in the order they appear in ``hasbench --help``
COMMANDS = ["spaces", "table", "collect", "fit", "validate", "data", "run", "results", "plot",
            "importance", "budget", "reproduce"]


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
        if args.verbose:
            traceback.print_exc()
        text = _one_line(exc)  # errors raised by a command name it already
        text = text.removeprefix(f"hasbench {args.command}: ")
        print(f"hasbench {args.command}: error: {text}", file=sys.stderr)
        # a missing optional package is the environment's fault, not bad usage
        return 1 if isinstance(exc, MissingDependencyError) else 2
    except (OSError, MemoryError, ImportError, RuntimeError, ValueError, TypeError,
            KeyError, IndexError, UnicodeError) as exc:
        if isinstance(exc, BrokenPipeError):
            return _broken_pipe()
        code, text = _classify(exc)
        if args.verbose:
            traceback.print_exc()
        print(f"hasbench {args.command}: error: {text}"
              + ("" if args.verbose else " (-v for the traceback)"), file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print(f"hasbench {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


def _broken_pipe() -> int:
    # the reader went away (`hasbench table info t.h5 | head`): stop quietly, as Unix
    # tools do; point stdout at devnull so the interpreter's final flush cannot fail again
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 600 else text[:597] + "..."


#: errno values that mean the environment, not the input, is at fault (exit 1)
_ENV_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO,
               errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.EFBIG,
               getattr(errno, "EDQUOT", errno.ENOSPC)}


def _classify(exc: BaseException) -> tuple[int, str]:
    """Exit code and one line for an error that escaped a command: 1 when the environment
    is at fault (disk full, read-only or unwritable folder, out of memory, a missing
    optional package), 2 when the input is (a missing or wrong file, a value a library
    refused). Chosen at the CLI boundary only; the library keeps raising the originals."""
    if isinstance(exc, ImportError):
        mod = getattr(exc, "name", None) or _one_line(exc)
        return 1, (f"a required package is missing ({mod}); install the extra that "
                   "provides it, e.g. pip install -e '.[train]' in the hasbench clone")
    if isinstance(exc, MemoryError):
        return 1, "out of memory"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        reason = exc.strerror or _one_line(exc)
        code = 1 if exc.errno in _ENV_ERRNOS else 2
        return code, f"{reason}{where}"
    if isinstance(exc, RuntimeError):
        text = _one_line(exc)
        full = any(s in text.lower() for s in ("no space", "can't destroy cache",
                                               "file write failed", "write failed"))
        return 1, (f"could not write (disk full?): {text}" if full else text)
    name = type(exc).__name__
    return 2, f"bad input ({name}): {_one_line(exc)}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
