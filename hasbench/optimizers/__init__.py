"""Optimizers with one ask/tell interface (see :mod:`hasbench.optimizers.base`).

>>> from hasbench.optimizers import get_optimizer, list_optimizers
>>> opt = get_optimizer("hyperband", "hia-cnn", seed=0)
>>> job = opt.ask()                     # Job(trial_id, x, fidelity, continues, ...)
>>> from hasbench.optimizers import Result
>>> opt.tell(job, Result(loss=0.3, cost=12.0))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import HasbenchError, InvalidValueError, UnknownNameError, check_float
from .asha import ASHA
from .base import CallablePruner, Job, Optimizer, Pruner, Result, fidelity_ladder
from .bo import BayesianOptimization
from .dehb import DEHB
from .evolution import RegularizedEvolution
from .hyperband import BOHB, Bracket, Hyperband, SuccessiveHalving, hyperband_brackets
from .random_search import RandomSearch
from .staged import StagedSearch
from .tpe import TPE

__all__ = ["Job", "Result", "Optimizer", "Pruner", "CallablePruner", "fidelity_ladder",
           "RandomSearch", "BayesianOptimization", "DEHB", "TPE", "SuccessiveHalving", "Hyperband",
           "BOHB", "ASHA", "RegularizedEvolution", "StagedSearch", "Bracket",
           "hyperband_brackets", "get_optimizer", "list_optimizers", "register_optimizer"]

_REGISTRY: dict[str, Any] = {
    "random": RandomSearch,
    "bo": BayesianOptimization,
    "tpe": TPE,
    "tpe-kde": "hasbench.optimizers.tpe:KDETPE",
    "sh": SuccessiveHalving,
    "hyperband": Hyperband,
    "bohb": BOHB,
    "asha": ASHA,
    "re": RegularizedEvolution,
    "dehb": DEHB,
    "staged": StagedSearch,
    "optuna": "hasbench.optimizers.optuna:OptunaSampler",
    "dyesp": "hasbench.optimizers.dyesp:DyESP",
    "grouped-sequential": "hasbench.optimizers.grouped:GroupedSequential",
    "two-step": "hasbench.optimizers.staged:TwoStepSearch",
}
_ALIASES = {"rs": "random", "hb": "hyperband", "gp": "bo", "evolution": "re",
            "successive_halving": "sh"}


def list_optimizers() -> list[str]:
    """Registered optimizer names."""
    return sorted(_REGISTRY)


def register_optimizer(name: str, cls: Any) -> None:
    """Add an optimizer class (a subclass of :class:`Optimizer`) under ``name``."""
    _REGISTRY[name] = cls


def _resolve(name: str):
    if not isinstance(name, str):
        raise InvalidValueError("name", name, "an optimizer name (str): one of "
                                f"{list_optimizers()}", "get_optimizer")
    key = _ALIASES.get(name, name)
    if key not in _REGISTRY:
        from ..errors import check_choice

        check_choice("optimizer", name, list_optimizers(), "get_optimizer", unknown=True)
    cls = _REGISTRY[key]
    if isinstance(cls, str):
        import importlib

        mod, attr = cls.split(":")
        cls = getattr(importlib.import_module(mod), attr)
    return cls


def _accepted_kwargs(cls) -> set[str] | None:
    """Keyword arguments ``cls(space, seed, **kw)`` accepts: the keyword parameters of
    every ``__init__`` along the MRO that passes ``**kw`` on (``None``: a constructor takes
    arbitrary keywords and does not forward them to a known class)."""
    import inspect

    names: set[str] = set()
    for c in cls.__mro__:
        init = c.__dict__.get("__init__")
        if init is None:
            continue
        params = list(inspect.signature(init).parameters.values())[1:]
        var_kw = False
        for p in params:
            if p.kind is p.VAR_KEYWORD:
                var_kw = True
            elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                names.add(p.name)
        if not var_kw:
            return names - {"space", "seed"}
        if c is Optimizer:  # pragma: no cover - the base takes no **kw
            return names - {"space", "seed"}
    return None


def get_optimizer(name: str, space: Any, seed: int = 0, fidelity: Any = None,
                  **kwargs: Any) -> Optimizer:
    """Build a registered optimizer.

    Parameters
    ----------
    name : str
        One of :func:`list_optimizers` (aliases: rs, hb, gp, evolution).
    space : Space or str
        The search space (or a registered space name).
    seed : int
    fidelity : (float, float), optional
        ``(min_fidelity, max_fidelity)`` override.
    **kwargs
        Optimizer-specific options (see each class) and the base options of
        :class:`~hasbench.optimizers.base.Optimizer`. An unknown key raises
        :class:`~hasbench.errors.UnknownNameError` naming it and the accepted keys.
    """
    where = "get_optimizer"
    cls = _resolve(name)
    allowed = _accepted_kwargs(cls) if isinstance(cls, type) else None
    if allowed is not None:
        for k in kwargs:
            if k not in allowed:
                raise UnknownNameError(f"keyword argument of optimizer {name!r}", k,
                                       sorted(allowed), where)
    _check_base_kwargs(kwargs, where)
    if isinstance(space, str):
        from ..spaces import get_space

        space = get_space(space)
    if fidelity is not None:
        pair = "None or a pair (min_fidelity, max_fidelity) of numbers"
        if isinstance(fidelity, (str, bytes, Mapping)) or not hasattr(fidelity, "__len__") \
                or len(fidelity) != 2:
            raise InvalidValueError("fidelity", fidelity, pair, where)
        lo, hi = (check_float(f"fidelity[{i}]", v, where=where) for i, v in enumerate(fidelity))
        kwargs.setdefault("min_fidelity", lo)
        kwargs.setdefault("max_fidelity", hi)
    try:
        return cls(space, seed, **kwargs)
    except HasbenchError:
        raise
    except (TypeError, ValueError, OverflowError, AttributeError, KeyError) as exc:
        # a constructor that did not check one of its options itself: name the options
        # rather than let a TypeError from deep inside escape (the cause stays chained)
        raise InvalidValueError(f"keyword arguments of optimizer {name!r}", kwargs,
                                f"the options documented by {cls.__name__}", where,
                                hint=f"{type(exc).__name__}: {exc}") from exc


def _check_base_kwargs(kwargs: dict[str, Any], where: str) -> None:
    """Types of the options every optimizer takes (:class:`Optimizer`) and of the
    option dicts some pass on: refused here with a named error, not as a TypeError from
    ``dict(3)`` inside a constructor."""
    names = kwargs.get("names")
    if names is not None and not isinstance(names, str) and (
            isinstance(names, (Mapping, bytes)) or not hasattr(names, "__iter__")
            or not all(isinstance(n, str) for n in names)):
        raise InvalidValueError("names", names, "None, a hyperparameter (or group) name, or "
                                "a list of names", where)
    for key in ("fixed", "base_kwargs", "tpe_kwargs", "importance_kwargs"):
        v = kwargs.get(key)
        if v is not None and not isinstance(v, Mapping):
            raise InvalidValueError(key, v, "None or a dict", where)
    pts = kwargs.get("points_to_evaluate")
    if pts is not None and (isinstance(pts, (str, bytes, Mapping))
                            or not hasattr(pts, "__iter__")
                            or not all(isinstance(p, Mapping) for p in pts)):
        raise InvalidValueError("points_to_evaluate", pts, "None or a list of config dicts",
                                where)
    if "resume" in kwargs and not isinstance(kwargs["resume"], bool):
        raise InvalidValueError("resume", kwargs["resume"], [True, False], where)
