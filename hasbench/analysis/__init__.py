"""Analyses of benchmarks and run tables: hyperparameter importance and budget correlation.

- :func:`fanova_importance`, :func:`relieff_importance`, :func:`importance`,
  :func:`importance_weights`, :func:`plot_importance` (:mod:`.importance`);
- :func:`budget_correlation`, :func:`correlation_matrix`, :func:`plot_budget_correlation`
  (:mod:`.fidelity`);
- :func:`anytime_performance`, :func:`average_rank`, :func:`time_to_target`,
  :func:`time_to_target_summary`, :func:`speedup`, :func:`stability`, :func:`regret_ecdf`,
  :func:`friedman_test` (:mod:`.anytime`), on the frame of
  :func:`hasbench.results.load_traces`.

Every function takes a *source*: a run table (object or ``.h5`` path), a benchmark
(object or name), or arrays ``(X, y[, space])``; see :mod:`hasbench.analysis._data`.
None of this needs torch. See docs/analysis.md.
"""

from ._data import AnalysisData, load_importance_data
from .anytime import (
    FriedmanResult,
    anytime_performance,
    average_rank,
    final_values,
    friedman_test,
    regret_ecdf,
    run_matrix,
    speedup,
    stability,
    time_to_target,
    time_to_target_summary,
)
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
           "plot_budget_correlation",
           "anytime_performance", "average_rank", "final_values", "friedman_test",
           "FriedmanResult", "regret_ecdf", "run_matrix", "speedup", "stability",
           "time_to_target", "time_to_target_summary"]

