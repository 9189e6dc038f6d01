"""Shared pieces of the command line's vocabulary (docs/cli.md).

- :func:`deprecated_flag` / :func:`deprecated_choice`: old spellings kept for one release;
  they still work and print a one-line note on stderr naming the new spelling.
- :func:`cli_names`: re-raise a library error under the CLI flag that carried the value
  (``--budget``, not ``replay_many``'s ``time_budget``).
- :func:`command_line`: the command as typed, for a table's provenance.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Mapping

from ..errors import HasbenchError


def command_line() -> str | None:
    """``hasbench ARGS...`` as typed (shell-quoted), when this process is the ``hasbench``
    console script or ``python -m hasbench``; ``None`` otherwise (e.g. ``main([...])`` called
    from Python, whose ``sys.argv`` is not the command)."""
    import shlex

    if sys.argv and sys.argv[0].endswith(("hasbench", "__main__.py")):
        return "hasbench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    return None


#: the release after which the deprecated spellings go
REMOVED_IN = "0.3"


def deprecation_note(command: str, old: str, new: str) -> None:
    """One line on stderr (not a Python warning: those are hidden by default)."""
    print(f"hasbench {command}: DeprecationWarning: {old} is deprecated, use {new} "
          f"(the old spelling will be removed in hasbench {REMOVED_IN})", file=sys.stderr)


class _DeprecatedFlag(argparse.Action):
    """Stores into the new flag's ``dest`` and says so on stderr."""

    def __init__(self, option_strings, dest, command: str = "", new: str = "", **kw):
        self.command, self.new = command, new
        super().__init__(option_strings, dest, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        deprecation_note(self.command, option_string, self.new)
        setattr(namespace, self.dest, True if self.nargs == 0 else values)


def deprecated_flag(parser: argparse.ArgumentParser, old: str, new: str, dest: str,
                    command: str, **kw) -> None:
    """Accept ``old`` as a hidden, deprecated spelling of the flag ``new`` (same ``dest``)."""
    parser.add_argument(old, dest=dest, action=_DeprecatedFlag, command=command, new=new,
                        default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kw)


def deprecated_choice(command: str, flag: str, aliases: Mapping[str, str]):
    """An argparse ``type`` mapping deprecated values of ``flag`` to the new ones."""

    def convert(text: str) -> str:
        if text in aliases:
            deprecation_note(command, f"{flag} {text}", f"{flag} {aliases[text]}")
            return aliases[text]
        return text

    return convert


def positional_or_flag(args: argparse.Namespace, positional: str, flag_dest: str,
                       command: str, flag: str) -> str:
    """The value of ``--out``-style ``flag`` or of the deprecated positional that preceded
    it (with a note); exactly one of them must be given."""
    from ..errors import InvalidValueError

    pos, val = getattr(args, positional, None), getattr(args, flag_dest, None)
    if pos is not None and val is not None:
        raise InvalidValueError(flag, f"{val} and {pos}", "one output path",
                                f"hasbench {command}", hint=f"give only {flag}")
    if pos is not None:
        deprecation_note(command, f"the positional output ({pos})", f"{flag} {pos}")
        return pos
    if val is None:
        raise InvalidValueError(flag, None, "an output path", f"hasbench {command}",
                                hint=f"{flag} is required")
    return val


@contextlib.contextmanager
def cli_names(command: str, names: Mapping[str, str],
              sources: tuple[str | None, ...] = (None,)) -> Iterator[None]:
    """Errors raised inside the block for a parameter in ``names`` (by a function whose
    ``where`` is in ``sources``) are re-raised naming the CLI flag and ``hasbench COMMAND``."""
    try:
        yield
    except HasbenchError as exc:
        p = getattr(exc, "parameter", None)
        if p in names and getattr(exc, "where", None) in sources:
            raise exc.with_parameter(names[p], f"hasbench {command}") from exc
        raise


def check_new_output(flag: str, path, command: str, overwrite: bool,
                     ours: str | None = None):
    """The output path of ``flag``, refused when it exists unless ``overwrite``. A folder
    is replaced only when it holds ``ours`` (e.g. ``manifest.json``: a folder hasbench
    wrote), never a folder of the user's."""
    from ..errors import InvalidValueError, check_path

    where = f"hasbench {command}"
    p = check_path(flag, path, where=where)
    if not p.exists() or (p.is_dir() and not any(p.iterdir())):
        return p
    if not overwrite:
        raise InvalidValueError(flag, str(p), "a path that does not exist yet", where,
                                hint="hasbench never overwrites your files; pass --overwrite "
                                     "to replace it")
    if p.is_dir() and (ours is None or not (p / ours).is_file()):
        raise InvalidValueError(flag, str(p), f"a new path, or a folder hasbench wrote "
                                f"(with {ours})" if ours else "a file", where,
                                hint="--overwrite replaces only hasbench's own outputs")
    if not p.is_dir() and ours is not None:
        raise InvalidValueError(flag, str(p), "a folder path", where,
                                hint="it is a file; hasbench does not replace it by a folder")
    return p


@contextlib.contextmanager
def replacing(target) -> Iterator:
    """Yield a temporary sibling path to write ``target`` to; on success it is moved into
    place (an existing ``target`` replaced: a file atomically, a folder by two renames),
    on failure removed, so an interrupted or failed write leaves no half-written output."""
    import os
    import shutil
    from pathlib import Path

    target = Path(target)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}{target.suffix}")
    old = target.with_name(f".{target.name}.old-{os.getpid()}")

    def remove(p: Path) -> None:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists() or p.is_symlink():
            p.unlink(missing_ok=True)

    remove(tmp)
    try:
        yield tmp
    except BaseException:
        remove(tmp)
        raise
    if tmp.is_dir():
        if target.is_dir():
            if any(target.iterdir()):
                os.replace(target, old)
            else:
                target.rmdir()
        os.replace(tmp, target)
        remove(old)
    else:
        os.replace(tmp, target)
