"""Analyses of benchmarks and run tables: hyperparameter importance and budget correlation.

- :func:`fanova_importance`, :func:`relieff_importance`, :func:`importance`,
  :func:`importance_weights`, :func:`plot_importance` (:mod:`.importance`);
- :func:`budget_correlation`, :func:`correlation_matrix`, :func:`plot_budget_correlation`
  (:mod:`.fidelity`).

Every function takes a *source*: a run table (object or ``.h5`` path), a benchmark
(object or name), or arrays ``(X, y[, space])``; see :mod:`hasbench.analysis._data`.
None of this needs torch. See docs/analysis.md.
"""

from ._data import AnalysisData, load_importance_data
from .fidelity import (
    budget_correlation,
    correlation_matrix,
    default_fidelities,
    plot_budget_correlation,
)
from .importance import (
    METHODS,
    fanova_importance,
    importance,
    importance_weights,
    plot_importance,
    relieff_importance,
)

__all__ = ["AnalysisData", "load_importance_data", "METHODS", "fanova_importance",
           "importance", "importance_weights", "plot_importance", "relieff_importance",
           "budget_correlation", "correlation_matrix", "default_fidelities",
           "plot_budget_correlation"]

