"""hasbench: benchmarks, surrogates and simulated-time replay for joint hyperparameter-
architecture search (HAS) research.

The data flow, one subpackage per stage::

    spaces -> train (real runs) -> tables (HDF5 run tables) -> surrogates -> benchmarks
           -> optimizers + simulate (replay) -> analysis

Importing hasbench never imports torch; only :mod:`hasbench.train` and the MLP surrogate
need it.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (  # noqa: E402
    ConfigError,
    FidelityError,
    HasbenchError,
    InvalidValueError,
    SchemaError,
    UnknownNameError,
)
from .spaces import Fidelity, Space, get_space, list_spaces  # noqa: E402

__all__ = ["__version__", "ConfigError", "FidelityError", "HasbenchError", "InvalidValueError",
           "SchemaError", "UnknownNameError", "Fidelity", "Space", "get_space", "list_spaces",
           "load"]


def load(name_or_path, **kwargs):
    """Load a benchmark by shipped name (e.g. ``"digits-hia-cnn"``) or path.

    See :func:`hasbench.benchmarks.load`.
    """
    from .benchmarks import load as _load

    return _load(name_or_path, **kwargs)
