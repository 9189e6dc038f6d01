"""The :class:`Space` object: a named, versioned ConfigSpace plus fidelities and a codec.

The codec maps many configurations to one float array (one row per config, one column per
hyperparameter, in :attr:`Space.names` order) and back:

==================  ===========================================================
hyperparameter      encoded value
==================  ===========================================================
float               the value; ``log(value)`` when declared ``log=True``
integer             the value; ``log(value)`` when declared ``log=True``
categorical         the index of the choice in ``choices``
ordinal             the index of the value in ``sequence``
constant            ``0.0``
inactive (cond.)    :data:`INACTIVE` (NaN), whatever the type
==================  ===========================================================

Canonical values.  A log-scaled float is canonical when it has at most
:data:`CANONICAL_DIGITS` (10) significant decimal digits: :meth:`Space.decode`,
:meth:`Space.sample` and :meth:`Space.canonicalize` return ``exp(z)`` rounded to 10 digits.
This makes *configurations* machine-independent: numpy's ``exp``/``log`` differ in the last
bit between CPUs (AVX2 vs AVX-512 code paths), so full-precision values, and config ids
hashed from them, used to differ between machines for about 4% of sampled configs. Encoded
arrays (``log`` of the value) can still differ in the last bit between machines; decoding
them gives the same config.

Round trips (on one machine).  ``encode`` always returns canonical arrays, and
``encode(decode(X))`` returns ``X`` bit for bit for every array ``encode`` or
``sample_array`` produced.  ``decode(encode(c)) == c`` exactly for every canonical config;
a log-scaled float typed in with more than 10 significant digits comes back rounded to 10
(:meth:`Space.canonicalize` returns the canonical form).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import ConfigSpace as CS
import numpy as np

from ..errors import (
    ConfigError,
    FidelityError,
    InvalidValueError,
    UnknownNameError,
    check_int,
    check_real_array,
)

__all__ = ["Fidelity", "Space", "INACTIVE"]

#: Sentinel stored in an encoded array for a conditional hyperparameter that is inactive.
INACTIVE = np.nan

_FLOAT, _INT, _CAT, _ORD, _CONST = "float", "int", "categorical", "ordinal", "constant"


@dataclass(frozen=True)
class Fidelity:
    """One fidelity dimension of a space (e.g. training epochs).

    Parameters
    ----------
    name : str
        Name of the fidelity, e.g. ``"epochs"``.
    lower, upper : float
        Inclusive bounds.
    is_int : bool
        Whether only integer values are allowed.
    log : bool
        Whether the fidelity is naturally spaced logarithmically (a hint for schedulers).
    in_config : bool
        ``True`` when a hyperparameter of the same name doubles as this fidelity: the
        configuration itself says how long to train (``hia-cnn``'s ``epochs``); querying a
        config then reads its curve at its own value unless a fidelity is given.
    """

    name: str
    lower: float
    upper: float
    is_int: bool = True
    log: bool = False
    in_config: bool = False

    def validate(self, values: Any, where: str | None = None) -> np.ndarray:
        """Return ``values`` as a float array; raise :class:`FidelityError` naming the first
        value out of bounds (or non-integer when ``is_int``)."""
        arr = np.asarray(values, dtype=float)
        kind = "an int" if self.is_int else "a float"
        allowed = f"{kind} in the range [{_num(self.lower)}, {_num(self.upper)}]"
        bad = ~np.isfinite(arr) | (arr < self.lower) | (arr > self.upper)
        if self.is_int:
            bad |= np.isfinite(arr) & (arr != np.round(arr))
        if bad.any():
            first = arr.reshape(-1)[np.argmax(bad.reshape(-1))]
            raise FidelityError(self.name, _num(first), allowed, where)
        return arr

    def values(self) -> np.ndarray:
        """All integer fidelity values from lower to upper (integer fidelities only)."""
        if not self.is_int:
            raise InvalidValueError("fidelity", self.name, "an integer fidelity",
                                    hint="values() lists integer fidelities only")
        return np.arange(int(self.lower), int(self.upper) + 1)


#: Most configurations one :meth:`Space.sample_array` call draws (10^8 rows of a 10-column
#: space are 8 GB): a bound that turns a mistyped ``n`` into a named error instead of a
#: MemoryError or a machine that swaps.
MAX_SAMPLE = 10**8

#: Log-scaled float values are canonical when they have at most this many significant
#: decimal digits (see :func:`_exp_short`).
CANONICAL_DIGITS = 10


def _round_sig(x: np.ndarray, digits: int = CANONICAL_DIGITS) -> np.ndarray:
    """Round each value to ``digits`` significant decimal digits.

    Python's float formatting is correctly rounded (the same bits on every CPU and libm),
    unlike a ``x * 10**k`` product whose power numpy may compute with CPU-specific SIMD code,
    so this is done element by element (about 1 us a value)."""
    x = np.asarray(x, dtype=np.float64)
    fmt = f"{{:.{int(digits) - 1}e}}"
    flat = [float(fmt.format(v)) if np.isfinite(v) else v for v in x.reshape(-1).tolist()]
    return np.asarray(flat, dtype=np.float64).reshape(x.shape)


def _exp_short(z: np.ndarray) -> np.ndarray:
    """Inverse of ``log`` that gives the same value on every machine: ``exp(z)`` rounded to
    :data:`CANONICAL_DIGITS` significant digits.

    numpy's ``exp``/``log`` use CPU-specific SIMD code (AVX2, AVX-512 ...) whose results
    can differ in the last bit (0.003773713386115795 on one machine, 0.0037737133861157953 on
    another); a value rounded to 10 significant digits is the same on both unless ``exp(z)``
    lies within one unit in the last place of a rounding boundary (about one value in 10^6).
    """
    with np.errstate(invalid="ignore", over="ignore"):
        return _round_sig(np.exp(np.asarray(z, dtype=np.float64)))


def _canonical_log(z: np.ndarray) -> np.ndarray:
    """Move each log value to the fixed point ``log(_exp_short(z))`` (one step reaches it:
    ``exp(log(r))`` is within a few units in the last place of the short decimal ``r``)."""
    z = np.asarray(z, dtype=np.float64)
    for _ in range(4):
        z2 = np.log(_exp_short(z))
        if np.array_equal(z2, z):
            return z
        z = z2
    raise RuntimeError("log codec did not reach a fixed point")  # pragma: no cover


def _num(x: float) -> int | float:
    x = float(x)
    return int(x) if x.is_integer() else x


@dataclass
class _Dim:
    name: str
    kind: str
    lower: float = 0.0
    upper: float = 0.0
    log: bool = False
    choices: tuple = ()
    default: Any = None


def _dim_of(hp: Any) -> _Dim:
    if isinstance(hp, CS.UniformFloatHyperparameter):
        return _Dim(hp.name, _FLOAT, float(hp.lower), float(hp.upper), bool(hp.log),
                    default=float(hp.default_value))
    if isinstance(hp, CS.UniformIntegerHyperparameter):
        return _Dim(hp.name, _INT, float(hp.lower), float(hp.upper), bool(hp.log),
                    default=int(hp.default_value))
    if isinstance(hp, CS.CategoricalHyperparameter):
        return _Dim(hp.name, _CAT, choices=tuple(hp.choices), default=hp.default_value)
    if isinstance(hp, CS.OrdinalHyperparameter):
        return _Dim(hp.name, _ORD, choices=tuple(hp.sequence), default=hp.default_value)
    if isinstance(hp, CS.Constant):
        return _Dim(hp.name, _CONST, choices=(hp.value,), default=hp.value)
    raise InvalidValueError(
        "hyperparameter type", type(hp).__name__,
        ["UniformFloatHyperparameter", "UniformIntegerHyperparameter",
         "CategoricalHyperparameter", "OrdinalHyperparameter", "Constant"],
        hint=f"hyperparameter {hp.name!r} cannot be encoded by hasbench")


def _py(value: Any) -> Any:
    """numpy scalar -> plain Python scalar (JSON friendly)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


class Space:
    """A named, versioned joint search space.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"hia-cnn"``.
    version : str
        Version string; bumped whenever ranges or hyperparameters change, so run tables and
        surrogates made for another version are refused.
    configspace : ConfigSpace.ConfigurationSpace
        The hyperparameters, conditions and forbiddens (interoperates with SMAC, DEHB,
        Syne Tune and Optuna through ConfigSpace).
    fidelities : sequence of Fidelity
        Fidelity dimensions (first one is the default fidelity).
    order : sequence of str, optional
        Column order of the codec; defaults to the ConfigSpace order.
    metadata : dict, optional
        JSON-serialisable extra facts (importance ranking, hyperparameter groups, citations).
    description : str
        One paragraph for ``hasbench spaces describe``.
    """

    def __init__(self, name: str, version: str, configspace: CS.ConfigurationSpace,
                 fidelities: Sequence[Fidelity] = (), order: Sequence[str] | None = None,
                 metadata: Mapping[str, Any] | None = None, description: str = ""):
        if not isinstance(name, str) or not name:
            raise InvalidValueError("name", name, "a non-empty string", "Space")
        if not isinstance(configspace, CS.ConfigurationSpace):
            raise InvalidValueError("configspace", type(configspace).__name__,
                                    "a ConfigSpace.ConfigurationSpace", "Space")
        self.name = name
        self.version = str(version)
        self.configspace = configspace
        cs_names = list(configspace.keys())
        if order is None:
            order = cs_names
        order = list(order)
        if sorted(order) != sorted(cs_names):
            raise InvalidValueError("order", order, cs_names, "Space",
                                    hint="order must be a permutation of the hyperparameters")
        self.names: list[str] = order
        self._dims = [_dim_of(configspace[n]) for n in order]
        self._index = {n: i for i, n in enumerate(order)}
        self.fidelities: tuple[Fidelity, ...] = tuple(fidelities)
        for f in self.fidelities:
            if f.in_config:
                d = self._dims[self._index[f.name]] if f.name in self._index else None
                if d is None or d.kind != _INT or (d.lower, d.upper) != (f.lower, f.upper):
                    raise InvalidValueError(
                        "fidelities", f.name, "an integer hyperparameter with the same bounds",
                        "Space", hint="an in-config fidelity must mirror its hyperparameter")
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.description = description
        self._conditional = bool(configspace.conditions) or bool(configspace.forbidden_clauses)

    # ------------------------------------------------------------------ basic facts
    def __repr__(self) -> str:
        fid = ", ".join(f"{f.name}[{_num(f.lower)}..{_num(f.upper)}]" for f in self.fidelities)
        return f"Space({self.name!r}, version={self.version!r}, d={self.dim}, fidelities=[{fid}])"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.name, self.version))

    @property
    def dim(self) -> int:
        """Number of hyperparameters (columns of the encoded array)."""
        return len(self.names)

    @property
    def fidelity(self) -> Fidelity:
        """The default (first) fidelity."""
        if not self.fidelities:
            raise InvalidValueError("fidelities", (), "at least one fidelity", self.name)
        return self.fidelities[0]

    def get_fidelity(self, name: str | None = None) -> Fidelity:
        """The fidelity called ``name`` (default: the first)."""
        if name is None:
            return self.fidelity
        for f in self.fidelities:
            if f.name == name:
                return f
        raise UnknownNameError("fidelity", name, [f.name for f in self.fidelities], self.name)

    @property
    def search_names(self) -> list[str]:
        """Hyperparameters an optimizer searches over: all except in-config fidelities.

        For ``hia-cnn`` this drops ``epochs`` when a multi-fidelity optimizer controls
        training length; a full-budget optimizer may search ``epochs`` like any other
        hyperparameter (that is what the HIA paper does).
        """
        fids = {f.name for f in self.fidelities if f.in_config}
        return [n for n in self.names if n not in fids]

    def kind(self, name: str) -> str:
        """Type of a hyperparameter: float, int, categorical, ordinal or constant."""
        return self._dims[self._col(name)].kind

    def bounds(self, name: str) -> tuple[float, float]:
        """Encoded-space bounds of a hyperparameter (log-transformed where log)."""
        d = self._dims[self._col(name)]
        if d.kind in (_FLOAT, _INT):
            return (float(np.log(d.lower)), float(np.log(d.upper))) if d.log else (d.lower, d.upper)
        return 0.0, float(len(d.choices) - 1)

    def choices(self, name: str) -> tuple:
        """Choices of a categorical/ordinal/constant hyperparameter."""
        d = self._dims[self._col(name)]
        if d.kind not in (_CAT, _ORD, _CONST):
            raise InvalidValueError("name", name, [x.name for x in self._dims
                                                   if x.kind in (_CAT, _ORD, _CONST)],
                                    self.name, hint="choices() is for categorical hyperparameters")
        return d.choices

    def is_categorical(self) -> np.ndarray:
        """Boolean mask over columns: True for categorical (unordered) hyperparameters."""
        return np.array([d.kind in (_CAT, _CONST) for d in self._dims])

    def n_choices(self) -> np.ndarray:
        """Number of choices per column (0 for numeric columns)."""
        return np.array([len(d.choices) if d.kind in (_CAT, _ORD, _CONST) else 0
                         for d in self._dims])

    def _col(self, name: str) -> int:
        try:
            return self._index[name]
        except (KeyError, TypeError):
            raise UnknownNameError("hyperparameter", name, self.names, self.name) from None

    def default(self) -> dict[str, Any]:
        """The default configuration (ConfigSpace defaults), canonical."""
        cfg = dict(self.configspace.get_default_configuration())
        return self.decode(self.encode([cfg]))[0]

    # ------------------------------------------------------------------ validation
    def validate(self, config: Mapping[str, Any], where: str | None = None) -> dict[str, Any]:
        """Check one configuration and return it with plain Python values.

        Raises :class:`~hasbench.errors.UnknownNameError` for an unknown hyperparameter and
        :class:`~hasbench.errors.ConfigError` for a value out of range, a missing active
        value, a value set for an inactive conditional hyperparameter, or a forbidden
        combination.
        """
        where = where or f"space {self.name!r}"
        if not isinstance(config, Mapping):
            raise ConfigError("config", type(config).__name__, "a mapping of hyperparameter name "
                              "to value", where)
        out: dict[str, Any] = {}
        for key, value in config.items():
            i = self._index.get(key)
            if i is None:
                raise UnknownNameError("hyperparameter", key, self.names, where)
            out[key] = self._check_value(self._dims[i], value, where)
        if self._conditional:
            missing = [n for n in self.names if n not in out]
            try:
                active = self._active(out)
            except Exception as exc:  # pragma: no cover - ConfigSpace raised on odd input
                raise ConfigError("config", out, "a valid configuration", where,
                                  hint=str(exc)) from None
            for n in out:
                if n not in active:
                    raise ConfigError(n, out[n], "no value (inactive under its condition)", where,
                                      hint="remove it or change its parent hyperparameter")
            for n in missing:
                if n in active:
                    raise ConfigError(n, None, self._allowed(self._dims[self._index[n]]), where,
                                      hint="missing value of an active hyperparameter")
            try:
                CS.Configuration(self.configspace, values=out).check_valid_configuration()
            except Exception as exc:
                raise ConfigError("config", out, "a configuration allowed by the space's "
                                  "forbidden clauses", where, hint=str(exc)) from None
        else:
            missing = [n for n in self.names if n not in out]
            if missing:
                d = self._dims[self._index[missing[0]]]
                raise ConfigError(missing[0], None, self._allowed(d), where,
                                  hint="missing value; every hyperparameter needs one")
        return {n: out[n] for n in self.names if n in out}

    def _active(self, values: Mapping[str, Any]) -> set[str]:
        cs = self.configspace
        active: set[str] = set()
        # walk in ConfigSpace's topological order
        for name in cs.keys():
            conds = cs.parent_conditions_of[name] if hasattr(cs, "parent_conditions_of") else []
            if not conds:
                active.add(name)
                continue
            ok = True
            for cond in conds:
                parents = [p.name for p in cond.parents] if hasattr(cond, "parents") \
                    else [cond.parent.name]
                if any(p not in active or p not in values for p in parents):
                    ok = False
                    break
                pv = {p: values[p] for p in parents}
                try:
                    sat = cond.satisfied_by_value(pv)
                except Exception:
                    ok = False
                    break
                if not sat:
                    ok = False
                    break
            if ok:
                active.add(name)
        return active

    @staticmethod
    def _allowed(d: _Dim) -> str | list:
        if d.kind == _FLOAT:
            return f"a float in [{d.lower}, {d.upper}]" + (" (log scale)" if d.log else "")
        if d.kind == _INT:
            return f"an int in [{int(d.lower)}, {int(d.upper)}]" + (" (log scale)" if d.log else "")
        return list(d.choices)

    def _check_value(self, d: _Dim, value: Any, where: str) -> Any:
        value = _py(value)
        if d.kind in (_FLOAT, _INT):
            # Python compares an int of any size with a float exactly, so the range check
            # comes before any float() (which overflows past 1e308) or isfinite (which
            # refuses ints past int64); NaN fails the comparison, +-inf the range
            ok = (not isinstance(value, bool) and isinstance(value, (int, float))
                  and d.lower <= value <= d.upper)
            if d.kind == _INT:
                ok = ok and float(value).is_integer()
            if not ok:
                raise ConfigError(d.name, value, self._allowed(d), where)
            return float(value) if d.kind == _FLOAT else int(value)
        # categorical / ordinal / constant: exact match, but no True == 1 confusion
        for c in d.choices:
            if type(c) is type(value) and c == value:
                return c
            if isinstance(c, float) and isinstance(value, int) and not isinstance(value, bool) \
                    and c == value:
                return c
            if isinstance(c, int) and not isinstance(c, bool) and isinstance(value, float) \
                    and c == value:
                return c
        raise ConfigError(d.name, value, list(d.choices), where)

    # ------------------------------------------------------------------ codec
    def encode(self, configs: Any, validate: bool = True) -> np.ndarray:
        """Encode configurations into a float64 array of shape ``(n, dim)``.

        Parameters
        ----------
        configs : dict, sequence of dict, or pandas.DataFrame
            One configuration, several, or a frame with one column per hyperparameter
            (NaN/None for inactive values).
        validate : bool
            Check every config first (default). Turn off only for configs already validated.
        """
        import pandas as pd

        if isinstance(configs, Mapping):
            configs = [configs]
        elif isinstance(configs, pd.DataFrame):
            configs = _frame_records(configs, self.names)
        elif isinstance(configs, np.ndarray):
            raise InvalidValueError("configs", "numpy.ndarray",
                                    "dicts or a DataFrame (use check_array for encoded arrays)",
                                    f"space {self.name!r}")
        if isinstance(configs, (str, bytes, set, frozenset)) or not hasattr(configs,
                                                                             "__iter__"):
            raise InvalidValueError("configs", configs, "a dict, a sequence of dicts or a "
                                    "DataFrame", f"space {self.name!r}")
        configs = list(configs)
        n = len(configs)
        X = np.full((n, self.dim), INACTIVE, dtype=np.float64)
        for r, cfg in enumerate(configs):
            if validate:
                cfg = self.validate(cfg, where=f"space {self.name!r}, config #{r}")
            for name, value in cfg.items():
                j = self._index[name]
                X[r, j] = self._encode_value(self._dims[j], value)
        for j, d in enumerate(self._dims):  # canonical log values: encode(decode(X)) == X
            if d.kind == _FLOAT and d.log and n:
                col = X[:, j]
                ok = ~np.isnan(col)
                col[ok] = _canonical_log(col[ok])
        return X

    @staticmethod
    def _encode_value(d: _Dim, value: Any) -> float:
        if d.kind in (_FLOAT, _INT):
            return float(np.log(float(value))) if d.log else float(value)
        if d.kind == _CONST:
            return 0.0
        for i, c in enumerate(d.choices):
            if c == value and type(c) is type(value):
                return float(i)
        return float(d.choices.index(value))

    def decode(self, X: Any, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Decode an encoded array (validated by :meth:`check_array`) into canonical dicts.

        Inactive (NaN) columns are left out of the dicts. ``names`` restricts the dicts to
        those hyperparameters (e.g. the architecture of a config)."""
        X = self.check_array(X)
        if names is None:
            idx = range(len(self._dims))
        else:
            idx = [self._col(n) for n in names]
        return self._decode(X, idx)

    def _decode(self, X: np.ndarray, idx: Sequence[int]) -> list[dict[str, Any]]:
        """:meth:`decode` of a float64 array already checked (no validation)."""
        cols: list[tuple[str, list[Any], np.ndarray]] = []
        for j in idx:
            d = self._dims[j]
            col = X[:, j]
            nan = np.isnan(col)
            if d.kind == _FLOAT:
                vals = (_exp_short(col) if d.log else col).tolist()
            elif d.kind == _INT:
                vals = [0 if m else int(v) for v, m in
                        zip(np.round(np.exp(col)) if d.log else col, nan, strict=True)]
            else:
                vals = [None if m else d.choices[int(v)] for v, m in zip(col, nan, strict=True)]
            cols.append((d.name, vals, nan))
        return [{n: v[r] for n, v, nan in cols if not nan[r]} for r in range(X.shape[0])]

    def decode_columns(self, X: Any) -> dict[str, Any]:
        """Decode an encoded array column by column, for tables people read (a trace's
        config columns): ``{name: values}`` in the config's own units (learning rate, not its
        log; ``"relu"``, not a category index). Floats and integers are float64 arrays (NaN
        where inactive); a categorical/ordinal/constant column is an array of its choices
        (``None`` where inactive) when they are all numbers or all strings, else of their
        ``str`` (mixed or boolean choices, which table formats cannot hold in one column).
        :meth:`encode_columns` is its exact inverse."""
        X = self.check_array(X)
        out: dict[str, Any] = {}
        for j, d in enumerate(self._dims):
            col = X[:, j]
            nan = np.isnan(col)
            if d.kind == _FLOAT:
                out[d.name] = _exp_short(col) if d.log else col.copy()
            elif d.kind == _INT:
                with np.errstate(invalid="ignore"):
                    v = np.round(np.exp(col)) if d.log else col.copy()
                out[d.name] = np.where(nan, np.nan, v)
            else:
                ch = list(d.choices)
                if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in ch):
                    table = np.array([float(c) for c in ch] + [np.nan])
                else:
                    strs = all(isinstance(c, str) for c in ch)
                    table = np.array([c if strs else str(c) for c in ch] + [None],
                                     dtype=object)
                idx = np.where(nan, len(ch), np.nan_to_num(col)).astype(np.int64)
                out[d.name] = table[idx]
        return out

    def encode_columns(self, columns: Mapping[str, Any], where: str | None = None
                       ) -> np.ndarray:
        """The encoded array of columns written by :meth:`decode_columns` (also after a trip
        through CSV or parquet: numbers may come back as floats, inactive values as NaN or
        empty). Validated like :meth:`check_array`; an unknown choice is a
        :class:`~hasbench.errors.ConfigError`."""
        import pandas as pd

        where = where or f"space {self.name!r}"
        missing = [n for n in self.names if n not in columns]
        if missing:
            raise InvalidValueError("columns", f"missing {missing[0]!r}",
                                    f"one column per hyperparameter {self.names}", where)
        cols = {n: (c.reset_index(drop=True) if isinstance(c, pd.Series)
                    else pd.Series(np.asarray(c, dtype=object))) for n, c in
                ((n, columns[n]) for n in self.names)}
        n = len(cols[self.names[0]]) if self.names else 0
        X = np.full((n, self.dim), INACTIVE, dtype=np.float64)
        for j, d in enumerate(self._dims):
            raw = cols[d.name]
            if len(raw) != n:
                raise InvalidValueError("columns", f"{d.name!r} of length {len(raw)}",
                                        f"columns of one length ({n})", where)
            nan = raw.isna().to_numpy()
            if d.kind in (_FLOAT, _INT):
                if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
                    v = raw.to_numpy(dtype=float, na_value=np.nan)
                else:
                    v = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
                bad = np.isnan(v) & ~nan
                if bad.any():
                    raise ConfigError(d.name, raw[np.argmax(bad)], self._allowed(d), where)
                with np.errstate(divide="ignore", invalid="ignore"):
                    X[:, j] = np.log(v) if d.log else v
                if d.kind == _FLOAT and d.log and (~nan).any():
                    col = X[:, j]
                    col[~nan] = _canonical_log(col[~nan])
                continue
            ch = list(d.choices)
            vals = raw[~nan].infer_objects()
            numeric = (pd.api.types.is_numeric_dtype(vals)
                       and not pd.api.types.is_bool_dtype(vals))
            if numeric:  # numbers (an int choice may come back as a float)
                table = {float(c): i for i, c in reversed(list(enumerate(ch)))
                         if isinstance(c, (int, float)) and not isinstance(c, bool)}
                keys = vals.to_numpy(dtype=float)
            else:
                table = {str(c): i for i, c in reversed(list(enumerate(ch)))}
                keys = vals.astype(str).to_numpy(dtype=str)
            # look up each distinct value once (a Python loop over the few choices only)
            uniq, inv = np.unique(keys, return_inverse=True)
            codes = np.array([table.get(k.item() if hasattr(k, "item") else k, -1)
                              for k in uniq], dtype=float)
            idx = codes[inv.reshape(-1)]
            unknown = idx < 0
            if unknown.any():
                raise ConfigError(d.name, vals.iat[int(np.argmax(unknown))], self._allowed(d),
                                  where)
            X[~nan, j] = idx
        return self.check_array(X, where)

    def check_array(self, X: Any, where: str | None = None) -> np.ndarray:
        """Validate an encoded array: shape ``(n, dim)``, values within encoded bounds,
        categorical/integer columns integral, NaN only for conditional hyperparameters.
        Returns it as float64."""
        where = where or f"space {self.name!r}"
        # strings ('0.5'), bools, complex numbers, None and ragged lists are refused, not
        # coerced by numpy
        X = check_real_array("X", X, where, f"a real-valued (int or float) array of shape "
                                            f"(n, {self.dim})")
        if X.ndim == 1 and X.shape[0] == self.dim:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise InvalidValueError("X.shape", X.shape, f"(n, {self.dim}) for {self.dim} "
                                    f"hyperparameters {self.names}", where)
        cond = set(self.configspace.conditional_hyperparameters) if self._conditional else set()
        for j, d in enumerate(self._dims):
            col = X[:, j]
            nan = np.isnan(col)
            if nan.any() and d.name not in cond:
                raise ConfigError(d.name, "NaN (inactive)", self._allowed(d), where,
                                  hint="only conditional hyperparameters may be inactive")
            v = col[~nan]
            if v.size == 0:
                continue
            lo, hi = self.bounds(d.name)
            tol = 1e-12 * max(1.0, abs(lo), abs(hi))
            bad = ~np.isfinite(v) | (v < lo - tol) | (v > hi + tol)
            if d.kind in (_CAT, _ORD, _CONST):
                bad |= v != np.round(v)
            if d.kind == _INT and not d.log:
                bad |= v != np.round(v)
            if d.kind == _INT and d.log:  # log of an integer (up to float error)
                with np.errstate(over="ignore", invalid="ignore"):
                    e = np.exp(v)
                    bad |= ~(np.abs(e - np.round(e)) <= 1e-9 * np.maximum(np.abs(e), 1.0))
            if bad.any():
                raise ConfigError(d.name, float(v[np.argmax(bad)]),
                                  f"encoded values in [{lo}, {hi}]" +
                                  (" (integral)" if d.kind in (_CAT, _ORD, _CONST, _INT) else ""),
                                  where)
        if self._conditional and X.shape[0]:
            self._check_conditions(X, where)
        return X

    def _check_conditions(self, X: np.ndarray, where: str) -> None:
        """Each distinct row of a conditional space: NaN exactly where a hyperparameter is
        inactive, and no forbidden combination (as :meth:`validate` checks a dict)."""
        key = np.where(np.isnan(X), np.inf, X)  # NaN rows compare equal as inf
        _, first = np.unique(key, axis=0, return_index=True)
        idx = list(range(self.dim))
        for r in np.sort(first):
            self.validate(self._decode(X[r:r + 1], idx)[0], where=f"{where}, row {int(r)}")

    def canonicalize(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Return the canonical form of a configuration (exact codec fixed point)."""
        return self.decode(self.encode([config]))[0]

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> list[dict]:
        """Sample ``n`` canonical configurations uniformly (log-uniform where declared)."""
        return self.decode(self.sample_array(n, rng))

    def sample_array(self, n: int, rng: np.random.Generator | int | None = None,
                     method: str = "random") -> np.ndarray:
        """Sample ``n`` configurations directly in encoded form, shape ``(n, dim)``.

        Parameters
        ----------
        n : int
            Number of configurations, at most :data:`MAX_SAMPLE` (10^8) per call.
        rng : numpy Generator or int seed
            Source of randomness; an int is turned into ``default_rng(int)``. ``None`` is
            refused: hasbench never uses hidden global random state.
        method : {"random", "sobol"}
            Uniform random sampling, or a scrambled Sobol sequence (better coverage).
        """
        n = check_int("n", n, 0, MAX_SAMPLE, f"space {self.name!r}.sample")
        rng = as_rng(rng, "rng")
        from ..errors import check_choice

        check_choice("method", method, ["random", "sobol"], f"space {self.name!r}.sample")
        if method == "sobol" and n > 0:
            from scipy.stats import qmc

            U = qmc.Sobol(self.dim, scramble=True, seed=rng).random(n)
        else:
            U = rng.random((n, self.dim))
        X = self.from_unit(U)
        if self._conditional and n:
            X = self._apply_conditions(X, rng)
        return X

    def from_unit(self, U: np.ndarray) -> np.ndarray:
        """Map points of the unit cube ``[0, 1)^dim`` to encoded configurations (all active)."""
        U = np.asarray(U, dtype=np.float64)
        X = np.empty_like(U)
        for j, d in enumerate(self._dims):
            u = U[:, j]
            if d.kind == _FLOAT:
                lo, hi = self.bounds(d.name)
                x = lo + u * (hi - lo)
                if d.log:  # make canonical: a fixed point of log(decode(.))
                    x = _canonical_log(np.clip(x, lo, hi))
                X[:, j] = x
            elif d.kind == _INT:
                if d.log:
                    lo, hi = np.log(d.lower - 0.5 + 1e-9), np.log(d.upper + 0.5 - 1e-9)
                    v = np.clip(np.round(np.exp(lo + u * (hi - lo))), d.lower, d.upper)
                    X[:, j] = np.log(v)
                else:
                    k = d.upper - d.lower + 1
                    X[:, j] = d.lower + np.minimum(np.floor(u * k), k - 1)
            else:
                k = len(d.choices)
                X[:, j] = np.minimum(np.floor(u * k), k - 1)
        return X

    def to_unit(self, X: np.ndarray, linear: bool = False) -> np.ndarray:
        """Map encoded configurations to the unit cube (NaN stays NaN); inverse of
        :meth:`from_unit` up to the discretisation of integer/categorical columns.
        ``linear=True`` maps log hyperparameters by their value instead of its log (the
        uniform measure on the cube is then the linear scale, not the sampling prior; no
        inverse)."""
        X = np.asarray(X, dtype=np.float64)
        U = np.empty_like(X)
        for j, d in enumerate(self._dims):
            if d.kind in (_FLOAT, _INT) and linear and d.log:
                lo, hi = (d.lower - 0.5, d.upper + 0.5) if d.kind == _INT else \
                    (d.lower, d.upper)
                with np.errstate(over="ignore"):
                    U[:, j] = (np.exp(X[:, j]) - lo) / (hi - lo) if hi > lo else 0.5
            elif d.kind in (_FLOAT, _INT):
                if d.kind == _INT and not d.log:
                    lo, hi = d.lower - 0.5, d.upper + 0.5
                elif d.kind == _INT:
                    lo, hi = np.log(d.lower - 0.5 + 1e-9), np.log(d.upper + 0.5 - 1e-9)
                else:
                    lo, hi = self.bounds(d.name)
                U[:, j] = (X[:, j] - lo) / (hi - lo) if hi > lo else 0.5
            else:
                k = len(d.choices)
                U[:, j] = (X[:, j] + 0.5) / k
        return np.clip(U, 0.0, 1.0)

    def _apply_conditions(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        X = X.copy()
        idx = list(range(self.dim))
        cfgs = self._decode(X, idx)
        for r, cfg in enumerate(cfgs):
            for _ in range(100):
                active = self._active(cfg)
                for n in self.names:
                    if n not in active:
                        X[r, self._index[n]] = INACTIVE
                vals = {n: v for n, v in cfg.items() if n in active}
                try:
                    CS.Configuration(self.configspace,
                                     values=vals).check_valid_configuration()
                    break
                except Exception:  # forbidden: redraw this row
                    X[r] = self.from_unit(rng.random((1, self.dim)))[0]
                    cfg = self._decode(X[r:r + 1].copy(), idx)[0] \
                        if not np.isnan(X[r]).any() else cfg
            else:
                raise InvalidValueError("configspace", self.name, "a space whose forbidden "
                                        "clauses allow sampling", hint="100 redraws failed")
        return X

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (space name, version, ConfigSpace, fidelities)."""
        return {
            "name": self.name,
            "version": self.version,
            "order": list(self.names),
            "configspace": json.loads(json.dumps(self.configspace.to_serialized_dict(),
                                                 default=_py)),
            "fidelities": [asdict(f) for f in self.fidelities],
            "metadata": copy.deepcopy(self.metadata),
            "description": self.description,
        }

    def to_json(self) -> str:
        """The space as a JSON string (what run tables and surrogate manifests store)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | Mapping[str, Any]) -> Space:
        """Rebuild a space from :meth:`to_json` output (no code is executed)."""
        d = json.loads(text) if isinstance(text, str) else dict(text)
        for key in ("name", "version", "configspace"):
            if key not in d:
                raise InvalidValueError("space JSON", sorted(d), "a dict with keys name, version, "
                                        "configspace, fidelities", hint=f"missing {key!r}")
        cs = CS.ConfigurationSpace.from_serialized_dict(d["configspace"])
        fids = [Fidelity(**f) for f in d.get("fidelities", [])]
        return cls(d["name"], d["version"], cs, fids, order=d.get("order"),
                   metadata=d.get("metadata"), description=d.get("description", ""))


def _frame_records(df: Any, names: list[str]) -> list[dict]:
    import pandas as pd

    recs = []
    cols = [c for c in df.columns if c in names]
    extra = [c for c in df.columns if c not in names]
    if extra:
        raise UnknownNameError("hyperparameter", extra[0], names, "configs DataFrame",
                               hint="drop non-hyperparameter columns first")
    for row in df[cols].itertuples(index=False, name=None):
        recs.append({c: _py(v) for c, v in zip(cols, row, strict=True)
                     if not (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA)})
    return recs


def as_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """Turn an int seed or a Generator into a Generator; refuse ``None`` (hidden state)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise InvalidValueError(name, rng, "a numpy.random.Generator or a non-negative int seed",
                            hint="hasbench never draws from global random state")
