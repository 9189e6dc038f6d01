"""Errors and argument checks shared by every public entry point.

Every error hasbench raises for bad input names the parameter, the bad value and what is
allowed, and keeps them as attributes (``parameter``, ``value``, ``allowed``) so callers can
act on them programmatically.  Errors subclass the builtin the user would expect
(``ValueError`` for bad values, ``KeyError`` for unknown names), so ``except ValueError``
keeps working.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from numbers import Integral, Real
from pathlib import Path
from typing import Any

__all__ = [
    "HasbenchError",
    "InvalidValueError",
    "UnknownNameError",
    "MissingDependencyError",
    "ConfigError",
    "FidelityError",
    "SchemaError",
    "check_int",
    "check_float",
    "check_choice",
    "check_path",
    "check_real_array",
]

#: Largest seed hasbench accepts anywhere (seeds are stored as int64).
MAX_SEED = 2**63 - 1


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fmt_allowed(allowed: Any) -> str:
    if isinstance(allowed, str):
        return allowed
    if isinstance(allowed, Iterable):
        items = list(allowed)
        shown = ", ".join(repr(a) for a in items[:20])
        if len(items) > 20:
            shown += f", ... ({len(items)} in all)"
        return "one of [" + shown + "]"
    return str(allowed)


def _rebuild(cls: type, args: tuple, state: dict) -> BaseException:
    """Unpickle a hasbench error without calling its ``__init__`` (whose signature,
    ``(parameter, value, allowed, ...)``, is not that of ``args``)."""
    obj = cls.__new__(cls, *args)
    obj.args = args
    obj.__dict__.update(state)
    return obj


class HasbenchError(Exception):
    """Base class of all hasbench errors.

    Every hasbench error pickles (worker processes send exceptions back to the parent that
    way): the message and the attributes travel; an attribute value that cannot be pickled
    (a lambda given as a parameter, say) travels as its ``repr``.
    """

    def __reduce__(self):
        import pickle

        state = {}
        for k, v in self.__dict__.items():
            try:
                pickle.dumps(v)
            except Exception:  # noqa: BLE001 - anything unpicklable travels as text
                v = _short(v)
            state[k] = v
        return (_rebuild, (type(self), self.args, state))

    def with_parameter(self, parameter: str, where: str | None = None) -> HasbenchError:
        """The same error with another parameter name and place (the CLI names its flags,
        e.g. ``--budget``, where the library named ``time_budget``). Errors without a
        ``parameter`` are returned unchanged."""
        if not hasattr(self, "parameter"):
            return self
        new = type(self).__new__(type(self))
        type(self).__init__(new, parameter, self.value, self.allowed,
                            where if where is not None else self.where,
                            hint=getattr(self, "hint", None))
        # attributes of subclasses (e.g. ConfigNotInTableError.nearest) travel unchanged
        new.__dict__.update({k: v for k, v in self.__dict__.items() if k not in
                             ("parameter", "where", "message", "value", "allowed", "hint")})
        return new


class InvalidValueError(HasbenchError, ValueError):
    """A parameter received a value outside what it allows.

    Attributes
    ----------
    parameter : str
        Name of the parameter (or hyperparameter) that received the value.
    value : object
        The offending value.
    allowed : object
        A description of the allowed values (a range string or a list of choices).
    """

    def __init__(self, parameter: str, value: Any, allowed: Any, where: str | None = None,
                 hint: str | None = None):
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        self.where = where
        self.hint = hint
        prefix = f"{where}: " if where else ""
        msg = (f"{prefix}invalid value for '{parameter}': {_short(value)}; "
               f"allowed: {_fmt_allowed(allowed)}")
        if hint:
            msg += f". {hint}"
        super().__init__(msg)


class UnknownNameError(HasbenchError, KeyError):
    """A name (hyperparameter, metric, space, benchmark, optimizer ...) is not known."""

    def __init__(self, parameter: str, value: Any, allowed: Any, where: str | None = None,
                 hint: str | None = None):
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        self.where = where
        self.hint = hint
        prefix = f"{where}: " if where else ""
        msg = f"{prefix}unknown {parameter} {_short(value)}; allowed: {_fmt_allowed(allowed)}"
        if hint:
            msg += f". {hint}"
        self.message = msg
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would otherwise print the repr of the message
        return self.message


class MissingDependencyError(HasbenchError, ImportError):
    """An optional package that a feature needs is not installed (the environment, not the
    input, is at fault: the CLI exits 1).

    Attributes: ``package`` (the import name), ``feature`` (what needs it), ``extra``
    (hasbench's extra that provides it) and ``where``."""

    def __init__(self, package: str, feature: str, extra: str | None = None,
                 where: str | None = None, hint: str | None = None):
        self.package = package
        self.feature = feature
        self.extra = extra
        self.where = where
        self.hint = hint
        prefix = f"{where}: " if where else ""
        how = (f"pip install -e '.[{extra}]' in the hasbench clone, or pip install {package}"
               if extra else f"pip install {package}")
        self.message = (f"{prefix}{feature} needs the package '{package}', which is not "
                        f"installed; install it with: {how}" + (f". {hint}" if hint else ""))
        super().__init__(self.message, name=package)

    def __str__(self) -> str:
        return self.message


class ConfigError(InvalidValueError):
    """A configuration is invalid for its search space (range, inactive value, missing value)."""


class FidelityError(InvalidValueError):
    """A fidelity (e.g. epochs) is outside the benchmark's bounds."""


class SchemaError(InvalidValueError):
    """A data file has the wrong format or an unsupported schema version."""


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None,
              where: str | None = None) -> int:
    """Return ``value`` as an int, raising :class:`InvalidValueError` if it is not an integer
    within ``[low, high]`` (either bound may be ``None``)."""
    lo = "-inf" if low is None else str(low)
    hi = "inf" if high is None else str(high)
    allowed = f"an int in the range [{lo}, {hi}]"
    if _is_bool(value):  # True is an Integral in Python; as a count or a seed it is a mistake
        raise InvalidValueError(name, value, allowed, where)
    if not isinstance(value, Integral):
        # an integral float (3.0) is taken as the int it equals; nothing else is coerced
        if isinstance(value, Real) and math.isfinite(float(value)) and float(value).is_integer():
            value = int(value)
        else:
            raise InvalidValueError(name, value, allowed, where)
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidValueError(name, value, allowed, where)
    return value


def check_float(name: str, value: Any, low: float | None = None, high: float | None = None,
                where: str | None = None, low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a float, raising :class:`InvalidValueError` unless it is a finite
    real number within the given bounds."""
    lb = "(" if low_open else "["
    hb = ")" if high_open else "]"
    allowed = (f"a finite float in the range {lb}{'-inf' if low is None else low}, "
               f"{'inf' if high is None else high}{hb}")
    if _is_bool(value) or not isinstance(value, Real):
        raise InvalidValueError(name, value, allowed, where)
    try:
        value_f = float(value)
    except OverflowError:  # an int beyond the float range
        raise InvalidValueError(name, value, allowed, where) from None
    if not math.isfinite(value_f):
        raise InvalidValueError(name, value, allowed, where)
    value = value_f
    if low is not None and (value < low or (low_open and value == low)):
        raise InvalidValueError(name, value, allowed, where)
    if high is not None and (value > high or (high_open and value == high)):
        raise InvalidValueError(name, value, allowed, where)
    return value


def check_choice(name: str, value: Any, choices: Iterable[Any], where: str | None = None,
                 unknown: bool = False) -> Any:
    """Return ``value`` if it is one of ``choices``; otherwise raise
    :class:`InvalidValueError` (or :class:`UnknownNameError` when ``unknown=True``)."""
    choices = list(choices)
    ok = any(_same(value, c) for c in choices)
    if not ok:
        hint = None
        if isinstance(value, str):
            import difflib

            close = difflib.get_close_matches(value, [str(c) for c in choices], n=3)
            if close:
                hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
        cls = UnknownNameError if unknown else InvalidValueError
        raise cls(name, value, choices, where, hint=hint)
    return value


def _is_bool(value: Any) -> bool:
    """A Python or numpy bool (numpy's is ``numpy.bool_``, named ``numpy.bool`` in 2.x)."""
    t = type(value)
    return isinstance(value, bool) or (t.__module__ == "numpy" and t.__name__ in ("bool_", "bool"))


def _same(value: Any, choice: Any) -> bool:
    """``value == choice`` for a choice list, safely: an unhashable value, a numpy array
    (whose ``==`` is elementwise) or a bool standing for 0/1 never matches."""
    if value is choice:
        return True
    if _is_bool(value) != _is_bool(choice) or hasattr(value, "__array__") and \
            getattr(value, "ndim", 0) != 0:
        return False
    try:
        return bool(value == choice)
    except Exception:  # noqa: BLE001 - a value whose == raises is no choice
        return False


def check_real_array(name: str, value: Any, where: str | None = None,
                     allowed: str = "a real number or an array of real numbers") -> Any:
    """``value`` as a float64 numpy array, refusing what numpy would coerce silently:
    strings (``'9'``), bools, complex numbers, ``None`` and other objects, ragged nested
    lists. Ints and floats (Python or numpy, any width) are accepted; shape is not checked."""
    import numpy as np

    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, OverflowError):  # ragged lists, odd objects
        raise InvalidValueError(name, value, allowed, where) from None
    if arr.dtype.kind not in "iuf":
        raise InvalidValueError(name, value, allowed, where)
    return arr.astype(np.float64, copy=False)


def check_path(name: str, value: Any, must_exist: bool = False, where: str | None = None) -> Path:
    """Expand ``~`` and environment variables and return a :class:`~pathlib.Path`."""
    if not isinstance(value, (str, os.PathLike)) or str(value) == "":
        raise InvalidValueError(name, value, "a non-empty path (str or os.PathLike)", where)
    path = Path(os.path.expandvars(os.path.expanduser(os.fspath(value))))
    if must_exist and not path.exists():
        raise InvalidValueError(name, str(path), "an existing path", where,
                                hint="the file does not exist")
    return path
