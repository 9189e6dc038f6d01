"""Grouped sequential optimisation ("GSOS"; Wang, Nabney & Golbabaee 2025, arXiv 2503.05106).

Hyperparameters are ranked by prior importance weights, the ranking is cut into groups, and
the groups are optimised one at a time with TPE, most important first: stage ``k`` searches
group ``k`` with earlier groups fixed at their stage's best values (the incumbent) and later
groups at their defaults; after stage ``k`` its best values are written into the working
configuration (spec ``docs/specs/grouped_sequential_hia.md`` section 4). The paper's
baseline, the "simultaneous" strategy, is the same TPE over every hyperparameter with the same
total budget: ``grouping="single"`` (one group holding everything, which is exactly
``TPE(space, seed, names=space.names)`` with ``n_trials`` trials).

What is the paper's and what is hasbench's choice
-------------------------------------------------
From the paper [found]: ordering by importance, one group at a time with TPE, earlier groups
fixed at their best values, the simultaneous baseline, and the published top five of
``hia-cnn`` (n_conv_layers > learning_rate > dropout_rate > optimizer > epochs), from
N-RReliefF weights computed on *other* datasets than those optimised. Everything else was not
retrievable and is hasbench's choice (each a parameter):

* ``importance_source="auto"``: user ``weights`` if given; else the space's published
  ranking (``metadata['importance_rank']``; for ``hia-cnn`` only ranks 1-5 are the paper's,
  6-10 are placeholders); else, for a space without one (``zela2018``), the space's column
  order ("order"), which is **not** an importance ranking. ``"fanova"`` / ``"n-relieff"``
  compute the weights with :mod:`hasbench.analysis.importance` on run tables of *other*
  benchmarks (leave-one-benchmark-out, below).
* ``rank_weighting="equal"``: a ranking without numeric weights (the paper's weights were not
  published in what we could read) gives every hyperparameter weight ``1/d``; ``"linear"``
  gives rank ``r`` (1 = most important) the weight ``d - r + 1`` (normalised).
* ``grouping="top_k_split"`` with ``top_k=5`` (spec rule 1): the top five, then the rest;
  ``"cumulative"`` (rule 2): walk the ranking and close a group once it holds ``tau`` (0.5) of
  the remaining weight; ``"fixed_size"`` (rule 3): consecutive groups of ``group_size`` (3);
  ``"single"``: one group (the simultaneous baseline); or explicit ``groups``.
* ``allocation="proportional"``: ``N_k = N_total * W_k`` (``W_k`` the group's weight) with at
  least ``min_trials`` (10) per group, as the spec's ``round(N_total * W_k), min 10``, except
  that rounding is by largest remainder and the groups above the minimum share what the
  minimum leaves, so the allocation sums to exactly ``n_trials`` (spec test 3);
  ``"equal"``: ``n_trials / m`` each (``equal_trials_per_group``).
* Switching rule: a stage ends after its ``N_k`` measured trials (pruned ones are replaced,
  failed ones count, :mod:`hasbench.optimizers.base`) have all reported; its best is the
  lowest observed loss (ties: earliest). Whether the paper matched total trials or ran each
  stage to convergence is not known; ``n_trials=100`` (spec default) for both strategies.
* TPE settings: hasbench's Optuna-faithful :class:`~hasbench.optimizers.tpe.TPE` defaults
  (``n_startup=10``, independent, i.e. Optuna's ``TPESampler(n_startup_trials=10,
  multivariate=False)``), a fresh sampler (own startup phase) per stage; ``base_kwargs``
  overrides them. Stage 0 uses the run's ``seed`` itself (so one group equals TPE with that
  seed), later stages seeds derived from it.
* Defaults of later groups: the ConfigSpace ``default_value`` of each hyperparameter
  (``space.default()``); an in-config fidelity (``hia-cnn``'s ``epochs``) is searched like any
  hyperparameter (the paper ranks it fifth) and sits at the maximum until its group runs.
* Computed weights: ``importance_weights(table, method)`` (fANOVA variance fractions
  rescaled to sum 1, or N-RReliefF's normalised weights) per source table, averaged over the
  sources; a hyperparameter the estimator does not report (e.g. ``epochs`` on a table, where
  every run trains the same number of epochs) gets weight 0 and is ranked last.

Leave-one-benchmark-out: importance computed on the benchmark being optimised would use the
answers the optimiser is scored on. The optimiser does not know which benchmark it runs on,
so ``importance_source="fanova"`` / ``"n-relieff"`` needs ``target`` (the benchmark being
optimised: its shipped run tables are excluded, and the sources default to every other
shipped table named ``<dataset>-<space name>``) or explicit ``importance_benchmarks``;
naming the target among the sources is refused.

Trace bookkeeping: the trace has one row per trial with its cost (``cost``) and every
pruned/failed job; :attr:`stage_log` (from :class:`~hasbench.optimizers.staged.StagedSearch`)
records each stage's names, allocation, job range and counts; the trace's ``stage`` column
holds every row's stage (:func:`~hasbench.optimizers.staged.trace_stages` reads it, or
rebuilds it for traces of schema version 1-2, which have no such column).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidValueError, UnknownNameError, check_choice, check_float, check_int
from .staged import StagedSearch

__all__ = ["GroupedSequential", "rank_hyperparameters", "form_groups", "allocate_trials",
           "loo_importance_weights", "IMPORTANCE_SOURCES", "GROUPINGS"]

IMPORTANCE_SOURCES = ("auto", "weights", "published", "order", "fanova", "n-relieff")
GROUPINGS = ("top_k_split", "cumulative", "fixed_size", "single")
_NOT_ACCEPTED = ("stages", "trials", "stage_time", "stage_fidelity", "names")

_WHERE = "GroupedSequential"
#: computed weights, shared by every seed of a process: (method, sources, kwargs) -> weights
_CACHE: dict[tuple, dict[str, float]] = {}


# ------------------------------------------------------------------------- weights
def _rank_weights(ranked: Sequence[str], how: str) -> dict[str, float]:
    d = len(ranked)
    if how == "equal":
        w = np.full(d, 1.0 / d)
    else:
        w = np.arange(d, 0, -1, dtype=float)
        w /= w.sum()
    return dict(zip(ranked, w.tolist(), strict=True))


def _check_weights(weights: Any, names: Sequence[str], all_names: Sequence[str]) -> dict:
    if not isinstance(weights, Mapping) or not weights:
        raise InvalidValueError("weights", weights, "a non-empty dict {hyperparameter: weight "
                                ">= 0}", _WHERE)
    out = {}
    for k, v in weights.items():
        if k not in all_names:
            raise UnknownNameError("hyperparameter in 'weights'", k, list(all_names), _WHERE)
        out[k] = check_float(f"weights[{k!r}]", v, 0.0, None, _WHERE)
    tot = sum(out[n] for n in names if n in out)
    if tot <= 0:
        raise InvalidValueError("weights", weights, "at least one positive weight of a "
                                "searched hyperparameter", _WHERE)
    return {n: out.get(n, 0.0) / tot for n in names}


def rank_hyperparameters(weights: Mapping[str, float], order: Sequence[str]) -> list[str]:
    """Names by decreasing weight; ties keep ``order`` (e.g. the published ranking)."""
    pos = {n: i for i, n in enumerate(order)}
    return sorted(weights, key=lambda n: (-weights[n], pos.get(n, len(pos))))


def loo_importance_weights(sources: Sequence[str], method: str = "n-relieff",
                           target: str | None = None, **kwargs: Any) -> dict[str, float]:
    """Mean normalised importance weights over the run tables ``sources`` (names or paths),
    computed by :func:`hasbench.analysis.importance.importance_weights` (imported lazily;
    cached per process). ``target`` may not be among the sources."""
    check_choice("importance_source", method, ["fanova", "n-relieff"], _WHERE)
    if isinstance(sources, str) or not sources:
        raise InvalidValueError("importance_benchmarks", sources, "a non-empty list of run "
                                "table names or paths (other benchmarks than the target)",
                                _WHERE)
    srcs = [str(s) for s in sources]
    if target is not None:
        for s in srcs:
            if _same_task(s, str(target)):
                raise InvalidValueError("importance_benchmarks", s, "benchmarks other than "
                                        f"the target {target!r}", _WHERE,
                                        hint="importance must never be computed on the "
                                             "table being optimised (leave-one-benchmark-"
                                             "out)")
    if method == "n-relieff":
        kwargs.setdefault("n_bootstrap", 0)  # only the point estimate is used
    key = (method, tuple(srcs), json.dumps(kwargs, sort_keys=True, default=str))
    if key not in _CACHE:
        try:
            from ..analysis.importance import importance_weights
        except ImportError as exc:  # pragma: no cover - the analysis package ships
            raise InvalidValueError("importance_source", method, "'published', 'order' or "
                                    "'weights' (hasbench.analysis.importance is not "
                                    "available)", _WHERE) from exc
        acc: dict[str, list[float]] = {}
        for s in srcs:
            src = s if ("/" in s or s.endswith(".h5") or ":" in s) else f"table:{s}"
            for n, v in importance_weights(src, method, **kwargs).items():
                acc.setdefault(n, []).append(float(v))
        mean = {n: float(np.mean(v)) for n, v in acc.items()}
        tot = sum(mean.values())
        _CACHE[key] = {n: v / tot for n, v in mean.items()} if tot > 0 else mean
    return dict(_CACHE[key])


def _stem(s: str) -> str:
    import os

    b = os.path.basename(str(s).rstrip("/"))
    if b.startswith("table:"):
        b = b[len("table:"):]
    for suf in (".h5", ".surrogate"):
        if b.endswith(suf):
            b = b[: -len(suf)]
    return b


def _same_task(a: str, b: str) -> bool:
    """Two names/paths of the same task (``digits-hia-cnn`` and ``digits-hia-cnn.heldout``)."""
    sa, sb = _stem(a), _stem(b)
    return sa == sb or sa.startswith(sb + ".") or sb.startswith(sa + ".")


def _default_sources(space_name: str, target: str) -> list[str]:
    from ..benchmarks.registry import list_benchmarks

    out = [n for n, kinds in list_benchmarks().items() if "table" in kinds
           and n.endswith("-" + space_name) and not _same_task(n, target)]
    if not out:
        raise InvalidValueError("target", target, "a benchmark with other shipped run tables "
                                f"of space {space_name!r} to compute importance on", _WHERE,
                                hint="pass importance_benchmarks explicitly")
    return out


# ------------------------------------------------------------------------- groups
def form_groups(ranked: Sequence[str], weights: Mapping[str, float], grouping: str = "top_k_split",
                top_k: int = 5, tau: float = 0.5, group_size: int = 3) -> list[list[str]]:
    """Cut a ranking into groups by one of :data:`GROUPINGS` (module docstring)."""
    check_choice("grouping", grouping, GROUPINGS, _WHERE)
    r = list(ranked)
    if grouping == "single":
        return [r]
    if grouping == "top_k_split":
        return [g for g in (r[:top_k], r[top_k:]) if g]
    if grouping == "fixed_size":
        return [r[i:i + group_size] for i in range(0, len(r), group_size)]
    groups, i = [], 0
    while i < len(r):
        rest = r[i:]
        mass = sum(weights[n] for n in rest)
        if mass <= 0:
            groups.append(rest)
            break
        g, cum = [], 0.0
        for n in rest:
            g.append(n)
            cum += weights[n]
            if cum >= tau * mass * (1 - 1e-12):
                break
        groups.append(g)
        i += len(g)
    return groups


def allocate_trials(n_trials: int, group_weights: Sequence[float], allocation: str =
                    "proportional", min_trials: int = 10) -> list[int]:
    """Trials per group, summing to ``n_trials``, each at least ``min_trials`` (module
    docstring: the spec's proportional rule with largest-remainder rounding, or equal)."""
    check_choice("allocation", allocation, ["proportional", "equal"], _WHERE)
    m = len(group_weights)
    if n_trials < m * min_trials:
        raise InvalidValueError("n_trials", n_trials, f"an int >= {m * min_trials} "
                                f"({m} groups x min_trials={min_trials})", _WHERE)
    w = np.asarray(group_weights, dtype=float) if allocation == "proportional" else np.ones(m)
    if w.sum() <= 0:
        w = np.ones(m)
    floor = np.zeros(m, dtype=bool)
    while True:
        free = ~floor
        rest = n_trials - min_trials * floor.sum()
        wf = w[free]
        share = np.zeros(m)
        share[free] = rest * (wf / wf.sum() if wf.sum() > 0 else np.full(wf.size, 1 / wf.size))
        low = free & (share < min_trials)
        if not low.any():
            break
        floor |= low
    share[floor] = min_trials
    out = np.floor(share).astype(int)
    left = n_trials - out.sum()
    if left:
        rem = share - out
        order = sorted(range(m), key=lambda i: (-rem[i], i))  # ties: more important first
        for i in order[:left]:
            out[i] += 1
    return out.tolist()


# ------------------------------------------------------------------------- optimizer
class GroupedSequential(StagedSearch):
    """Grouped sequential optimisation with TPE (module docstring: the paper's method and
    every choice of ours).

    Parameters
    ----------
    n_trials : int
        Total trials over all groups (spec N_total, default 100).
    importance_source : {"auto", "weights", "published", "order", "fanova", "n-relieff"}
        Where the importance weights come from (default ``"auto"``).
    weights : dict, optional
        ``{hyperparameter: weight >= 0}``; missing names get 0 (ranked last). Implies
        ``importance_source="weights"``.
    rank_weighting : {"equal", "linear"}
        Weights of a ranking without numbers (default ``"equal"``).
    importance_benchmarks : list of str, optional
        Run tables (names or paths) to compute ``fanova``/``n-relieff`` weights on.
    target : str, optional
        The benchmark being optimised; excluded from (and the default complement of) the
        importance sources.
    importance_kwargs : dict, optional
        Passed to :func:`hasbench.analysis.importance.importance_weights` (e.g.
        ``{"fidelity": 9}``).
    grouping : {"top_k_split", "cumulative", "fixed_size", "single"}
        Group rule (default ``"top_k_split"``).
    top_k, tau, group_size : int, float, int
        Parameters of the rules (5, 0.5, 3).
    groups : list of list of str, optional
        Explicit groups in search order (overrides ranking and grouping; hyperparameters in
        no group stay at their defaults).
    allocation : {"proportional", "equal"}
        Trial allocation (default ``"proportional"``).
    min_trials : int
        Fewest trials per group (default 10).
    base : str
        Per-group sampler, a full-budget optimizer (default ``"tpe"``).
    base_kwargs : dict, optional
        Its options (default: TPE's defaults).
    fixed : dict, optional
        Hyperparameters held fixed throughout (neither ranked nor searched).
    Other parameters: see :class:`~hasbench.optimizers.base.Optimizer`.

    Attributes
    ----------
    weights : dict
        The normalised weights used (searched hyperparameters).
    ranking : list of str
    groups : list of list of str
    allocation_trials : list of int
    importance_source : str
        The source actually used (``"auto"`` resolved).
    """

    name = "grouped-sequential"

    def __init__(self, space, seed: int = 0, *, n_trials: int = 100,
                 importance_source: str = "auto", weights: Mapping[str, float] | None = None,
                 rank_weighting: str = "equal", importance_benchmarks: Sequence[str] | None =
                 None, target: str | None = None, importance_kwargs: dict | None = None,
                 grouping: str = "top_k_split", top_k: int = 5, tau: float = 0.5,
                 group_size: int = 3, groups: Sequence[Sequence[str]] | None = None,
                 allocation: str = "proportional", min_trials: int = 10, base: str = "tpe",
                 base_kwargs: dict | None = None, fixed: dict | None = None, **kw: Any):
        for k in _NOT_ACCEPTED:
            if k in kw:
                raise InvalidValueError(k, kw[k], "not set (grouped-sequential forms its "
                                        "stages from 'groups'/'grouping' and 'n_trials')",
                                        _WHERE)
        from ..spaces import Space

        if not isinstance(space, Space):
            raise InvalidValueError("space", type(space).__name__, "a hasbench Space", _WHERE)
        from . import _resolve

        if getattr(_resolve(base), "multi_fidelity", False):
            raise InvalidValueError("base", base, "a full-budget optimizer (e.g. 'tpe', "
                                    "'random')", _WHERE, hint="the grouped strategy searches "
                                    "epochs like any hyperparameter")
        self.n_trials = check_int("n_trials", n_trials, 1, None, _WHERE)
        check_choice("importance_source", importance_source, IMPORTANCE_SOURCES, _WHERE)
        self.rank_weighting = check_choice("rank_weighting", rank_weighting,
                                           ["equal", "linear"], _WHERE)
        self.grouping = check_choice("grouping", grouping, GROUPINGS, _WHERE)
        self.top_k = check_int("top_k", top_k, 1, None, _WHERE)
        self.tau = check_float("tau", tau, 0.0, 1.0, _WHERE, low_open=True)
        self.group_size = check_int("group_size", group_size, 1, None, _WHERE)
        self.allocation = check_choice("allocation", allocation, ["proportional", "equal"],
                                       _WHERE)
        self.min_trials = check_int("min_trials", min_trials, 1, None, _WHERE)
        if importance_kwargs is not None and not isinstance(importance_kwargs, Mapping):
            raise InvalidValueError("importance_kwargs", importance_kwargs, "a dict", _WHERE)
        if target is not None and not isinstance(target, str):
            raise InvalidValueError("target", target, "a benchmark name or path (str)", _WHERE)
        fixed = dict(fixed or {})
        for n in fixed:
            if n not in space.names:
                raise UnknownNameError("hyperparameter", n, space.names, f"{_WHERE} fixed")
        names = [n for n in space.names if n not in fixed]
        if not names:
            raise InvalidValueError("fixed", sorted(fixed), "leaving at least one "
                                    "hyperparameter to search", _WHERE)

        src = importance_source
        if weights is not None and src not in ("auto", "weights"):
            raise InvalidValueError("importance_source", src, "'auto' or 'weights' when "
                                    "'weights' is given", _WHERE)
        meta = space.metadata if isinstance(space.metadata, dict) else {}
        if src == "auto":
            src = "weights" if weights is not None else (
                "published" if meta.get("importance_rank") else "order")
        order = list(meta.get("importance_rank") or space.names)
        if src == "weights":
            if weights is None:
                raise InvalidValueError("weights", None, "a dict {hyperparameter: weight} "
                                        "(importance_source='weights')", _WHERE)
            w = _check_weights(weights, names, space.names)
        elif src == "published":
            rank = meta.get("importance_rank")
            if not rank:
                raise InvalidValueError("importance_source", src, ["order", "weights",
                                        "fanova", "n-relieff"], _WHERE,
                                        hint=f"space {space.name!r} has no published "
                                             "importance ranking")
            pub = meta.get("importance_weights")
            w = _check_weights(pub, names, space.names) if pub else \
                _rank_weights([n for n in rank if n in names], self.rank_weighting)
        elif src == "order":
            order = list(space.names)
            w = _rank_weights(names, self.rank_weighting)
        else:
            if importance_benchmarks is None:
                if target is None:
                    raise InvalidValueError("target", None, "the benchmark being optimised "
                                            "(or importance_benchmarks)", _WHERE,
                                            hint=f"importance_source={src!r} computes weights "
                                                 "on other benchmarks than the target")
                importance_benchmarks = _default_sources(space.name, target)
            got = loo_importance_weights(list(importance_benchmarks), src, target,
                                         **dict(importance_kwargs or {}))
            w = {n: float(got.get(n, 0.0)) for n in names}
            tot = sum(w.values())
            w = {n: v / tot for n, v in w.items()} if tot > 0 else \
                _rank_weights(names, "equal")
        self.importance_source = src
        self.importance_benchmarks = None if importance_benchmarks is None else \
            [str(s) for s in importance_benchmarks]
        self.target = target
        self.weights = w
        self.ranking = rank_hyperparameters(w, order)
        if groups is not None:
            gl = self._check_groups(groups, names, space)
        else:
            gl = form_groups(self.ranking, w, self.grouping, self.top_k, self.tau,
                             self.group_size)
        self.groups = gl
        gw = [sum(w.get(n, 0.0) for n in g) for g in gl]
        self.allocation_trials = allocate_trials(self.n_trials, gw, self.allocation,
                                                 self.min_trials) if len(gl) > 1 \
            else [self.n_trials]
        super().__init__(space, seed, stages=gl, trials=self.allocation_trials, base=base,
                         base_kwargs=base_kwargs, fixed=fixed or None, **kw)

    @staticmethod
    def _check_groups(groups, names, space) -> list[list[str]]:
        if isinstance(groups, str) or not isinstance(groups, Sequence) or not groups:
            raise InvalidValueError("groups", groups, "a non-empty list of lists of "
                                    "hyperparameter names", _WHERE)
        seen: set[str] = set()
        out = []
        for g in groups:
            if isinstance(g, str) or not isinstance(g, Sequence) or not g:
                raise InvalidValueError("groups", groups, "a non-empty list of non-empty "
                                        "lists of hyperparameter names", _WHERE)
            for n in g:
                if n not in names:
                    raise UnknownNameError("hyperparameter in 'groups'", n, list(names),
                                           _WHERE)
                if n in seen:
                    raise InvalidValueError("groups", groups, "groups without a repeated "
                                            "hyperparameter", _WHERE, hint=f"{n!r} repeats")
                seen.add(n)
            out.append(list(g))
        return out

    def _stage_seeds(self, n_st: int) -> list[int]:
        """Stage 0 runs on the run's own seed (one group = TPE with ``seed``)."""
        s = super()._stage_seeds(n_st)
        s[0] = self.seed
        return s

    def describe(self) -> dict[str, Any]:
        """Weights, ranking, groups and allocation, JSON-friendly."""
        return {"importance_source": self.importance_source, "weights": dict(self.weights),
                "ranking": list(self.ranking), "groups": [list(g) for g in self.groups],
                "trials": list(self.allocation_trials)}
