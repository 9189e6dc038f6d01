"""Surrogates of run tables: XGBoost (default), k-NN baseline, MLP (torch to fit).

>>> from hasbench.surrogates import fit_surrogate, load_surrogate   # doctest: +SKIP
>>> sur = fit_surrogate("data/digits-hia-cnn.h5", model="xgb")       # doctest: +SKIP
>>> sur.save("out.surrogate")                                        # doctest: +SKIP

See docs/surrogates.md for the model and :mod:`hasbench.surrogates.validation` for the
validation report.
"""

from __future__ import annotations

from typing import Any

from .backends import BACKENDS
from .model import (
    FORMAT,
    FORMAT_VERSION,
    CurveSurrogate,
    SurrogateHashError,
    file_sha256,
    load_surrogate,
    metric_kind,
)

__all__ = ["BACKENDS", "FORMAT", "FORMAT_VERSION", "CurveSurrogate", "SurrogateHashError",
           "file_sha256", "fit_surrogate", "load_surrogate", "list_models", "metric_kind"]


def list_models() -> list[str]:
    """Names of the surrogate backends: ``xgb``, ``knn``, ``mlp``."""
    return list(BACKENDS)


def fit_surrogate(table: Any, model: str = "xgb", **kwargs: Any) -> CurveSurrogate:
    """Fit a :class:`CurveSurrogate` of backend ``model`` on a run table (object or path).

    Keyword arguments go to :class:`CurveSurrogate` (``params``, ``seed``, ...)."""
    metrics = kwargs.pop("metrics", None)
    return CurveSurrogate(model, **kwargs).fit(table, metrics=metrics)
