"""Hyperparameter importance: functional ANOVA on a tree ensemble, and N-RReliefF.

Both estimators take the same *source* (a run table, a benchmark, or arrays; see
:mod:`hasbench.analysis._data`) and return a :class:`pandas.DataFrame` with one row per
hyperparameter (and, for fANOVA with ``pairwise=True``, per pair):

==============  ===============================================================
column          meaning
==============  ===============================================================
hyperparameter  name; a pair is written ``"a:b"``
order           1 for a single hyperparameter, 2 for a pair
importance      the estimate (fANOVA: mean over trees of the variance fraction;
                N-RReliefF: the normalised weight on all the data)
std             spread of the per-tree (fANOVA) or per-resample (N-RReliefF) estimates
low, high       2.5 and 97.5 percentiles of those estimates
rank            1 = most important, within each order
==============  ===============================================================

``df.attrs`` records the method, its settings, the source, objective and fidelity.

>>> from hasbench.analysis import fanova_importance, relieff_importance
>>> fanova_importance("data/digits-hia-cnn.h5", fidelity=27)          # doctest: +SKIP
>>> relieff_importance("data/digits-hia-cnn.h5").set_index("hyperparameter")["importance"]
...                                                                   # doctest: +SKIP
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidValueError, check_choice, check_float, check_int
from ._data import INACTIVE_POS, AnalysisData, load_importance_data

__all__ = ["fanova_importance", "relieff_importance", "importance", "importance_weights",
           "plot_importance", "METHODS"]

#: method names accepted by :func:`importance` (and ``hasbench importance --method``)
METHODS = ("fanova", "n-relieff")

_COLUMNS = ["hyperparameter", "order", "importance", "std", "low", "high", "rank"]


# =============================================================================== fANOVA
def fanova_importance(source: Any, fidelity: Any = None, objective: str | None = None, *,
                      n_trees: int = 64, seed: int = 0, pairwise: bool = True,
                      quantile: tuple[float, float] | None = None,
                      cutoffs: tuple[float, float] | None = None,
                      model: str = "random_forest", max_features: float = 1.0,
                      max_depth: int = 64, min_samples_split: int = 2,
                      min_samples_leaf: int = 1, bootstrap: bool = True,
                      training_seed: Any = None, n_samples: int = 2048,
                      n_jobs: int | None = 1, measure: str = "prior") -> pd.DataFrame:
    """Functional ANOVA importance (Hutter, Hoos & Leyton-Brown, ICML 2014).

    A scikit-learn tree ensemble is fitted to (configuration, objective) pairs; for every
    tree the variance of its prediction over the space is decomposed exactly into the
    contributions of single hyperparameters and pairs. The importance of ``U`` in one tree
    is ``V_U / V`` (``V_U`` the variance of the marginal of ``U`` minus the variances of
    its lower-order terms, ``V`` the tree's total variance); the result is the mean over
    trees with non-zero variance, and ``std``/``low``/``high`` describe the spread over
    trees, as in the reference implementation (``automl/fanova``).

    The computation is exact, not sampled: each tree's leaves are boxes of the unit cube;
    along each hyperparameter the tree's split points cut the axis into cells, the
    marginal of ``U`` is constant on products of cells and is obtained for all cells at
    once by a (1-d or 2-d) difference-array sum over leaves, weighted by the leaves' volume
    in the other dimensions. Hand-written because scikit-learn has no fANOVA; it is
    vectorised over leaves and cells instead of walking the tree once per grid point as
    ``automl/fanova`` and Optuna do.

    Parameters
    ----------
    source : RunTable, path, Benchmark, benchmark name, or tuple (X, y[, space])
        See :mod:`hasbench.analysis._data`.
    fidelity : float, optional
        Where to read the objective (default: the benchmark convention, see
        :func:`~hasbench.analysis._data.load_importance_data`).
    objective : str, optional
        Metric (default ``valid_acc``).
    n_trees : int
        Trees in the ensemble (Optuna's default, 64; ``automl/fanova`` uses 16).
    seed : int
        Seed of the ensemble (and of the configuration sample of a benchmark source).
    pairwise : bool
        Also report every pair's individual (second-order) importance.
    quantile : (float, float), optional
        Restrict the analysis to the part of the space whose predicted objective lies
        between these quantiles of the observed values, e.g. ``(0.75, 1.0)`` for the best
        quarter of accuracies. As ``fANOVA.set_cutoffs``: leaves predicting outside the
        range are excluded from every marginal and from the total variance.
    cutoffs : (float, float), optional
        The same with absolute objective values. At most one of ``quantile``/``cutoffs``.
    model : {"random_forest", "extra_trees"}
        :class:`~sklearn.ensemble.RandomForestRegressor` or
        :class:`~sklearn.ensemble.ExtraTreesRegressor`.
    max_features, max_depth, min_samples_split, min_samples_leaf, bootstrap
        Passed to the ensemble. Defaults are scikit-learn's (and Optuna's
        ``FanovaImportanceEvaluator``'s); ``automl/fanova`` uses ``max_features=0.7``.
    training_seed, n_samples
        See :func:`~hasbench.analysis._data.load_importance_data`.
    n_jobs : int, optional
        Parallel jobs for fitting the ensemble (default 1).
    measure : {"prior", "linear"}
        The measure the marginals average over (see Notes): ``"prior"`` (default), the
        space's sampling prior (log scale for log hyperparameters); ``"linear"``, log
        hyperparameters on the linear scale of their values, as Optuna's
        ``FanovaImportanceEvaluator`` and ``automl/fanova`` on raw values integrate them
        (categoricals stay coded by index). Both are hasbench's choices where the paper
        is silent; the results differ where a log hyperparameter matters (on
        ``digits-hia-cnn``, ``learning_rate`` 0.124 vs 0.05, docs/performance.md).

    Returns
    -------
    pandas.DataFrame
        Columns ``hyperparameter, order, importance, std, low, high, rank`` (see the module
        docstring); singles first, then pairs, each sorted by importance.

    Notes
    -----
    Choices of hasbench where the paper is silent or the setting differs:

    - *Measure.* Marginals average over the unit cube of :meth:`Space.to_unit`, i.e. the
      space's own sampling prior: log scale for log hyperparameters, equal mass for every
      integer value and every choice. (Optuna integrates log hyperparameters on the linear
      scale and one-hot encodes categoricals.) Array sources without a space are scaled to
      ``[0, 1]`` by their observed range.
    - *Categorical hyperparameters* are coded by choice index (cells of width ``1/k``);
      trees split them like ordered values, and the integration gives every choice mass
      ``1/k``. Any function of the choice is representable, so this is exact for the
      fitted tree; only the tree's inductive bias differs from a one-hot coding.
    - *Inactive (conditional) values* are coded as a separate point (``-1``) on their axis
      that carries the observed inactive fraction ``p`` of the mass; the active range
      carries ``1 - p``. The decomposition then treats the axis as one variable with an
      "inactive" level (fANOVA's product measure ignores the condition itself).
    - Rows whose objective is not finite are dropped (``df.attrs["dropped"]``).
    """
    where = "fanova_importance"
    n_trees = check_int("n_trees", n_trees, 1, None, where)
    seed = check_int("seed", seed, 0, None, where)
    check_choice("model", model, ["random_forest", "extra_trees"], where)
    check_choice("measure", measure, ["prior", "linear"], where)
    if quantile is not None and cutoffs is not None:
        raise InvalidValueError("quantile/cutoffs", (quantile, cutoffs), "at most one of them",
                                where)
    data = load_importance_data(source, fidelity, objective, training_seed, n_samples, seed,
                                where)
    lo_cut, hi_cut = -np.inf, np.inf
    if quantile is not None:
        q = _pair("quantile", quantile, where)
        for v in q:
            check_float("quantile", v, 0.0, 1.0, where)
        if q[0] >= q[1]:
            raise InvalidValueError("quantile", quantile, "(low, high) with low < high", where)
        lo_cut, hi_cut = (float(np.quantile(data.y, q[0])), float(np.quantile(data.y, q[1])))
        if q[0] == 0.0:
            lo_cut = -np.inf
        if q[1] == 1.0:
            hi_cut = np.inf
    elif cutoffs is not None:
        c = _pair("cutoffs", cutoffs, where)
        if not c[0] < c[1]:
            raise InvalidValueError("cutoffs", cutoffs, "(low, high) with low < high", where)
        lo_cut, hi_cut = float(c[0]), float(c[1])

    forest = _make_forest(model, n_trees, seed, max_features, max_depth, min_samples_split,
                          min_samples_leaf, bootstrap, n_jobs, where)
    U = data.U_linear if measure == "linear" and data.U_linear is not None else data.U
    Z, p_inactive = _tree_coding(U)
    forest.fit(Z, data.y)
    res = fanova_forest(forest, p_inactive, pairwise=pairwise, cutoffs=(lo_cut, hi_cut))
    if not res["used"].any():
        raise InvalidValueError("y", f"{data.objective or 'objective'} of {len(data.y)} "
                                "configs", "values that vary (inside the cutoffs)", where,
                                hint="every tree predicts a constant: nothing to decompose")
    df = _frame(data.names, res["single"], res.get("pair"), pairwise)
    df.attrs.update(_attrs(data, "fanova", n_trees=n_trees, seed=seed, model=model,
                           measure=measure,
                           max_features=max_features, max_depth=max_depth,
                           min_samples_split=min_samples_split,
                           min_samples_leaf=min_samples_leaf, bootstrap=bootstrap,
                           quantile=None if quantile is None else list(quantile),
                           cutoffs=[lo_cut, hi_cut], trees_used=int(res["used"].sum()),
                           total_variance=float(np.mean(res["total"][res["used"]]))
                           if res["used"].any() else 0.0))
    return df


def _pair(name, value, where):
    try:
        a, b = value
        return float(a), float(b)
    except (TypeError, ValueError):
        raise InvalidValueError(name, value, "a pair (low, high) of numbers", where) from None


def _make_forest(model, n_trees, seed, max_features, max_depth, min_samples_split,
                 min_samples_leaf, bootstrap, n_jobs, where):
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

    cls = RandomForestRegressor if model == "random_forest" else ExtraTreesRegressor
    max_depth = check_int("max_depth", max_depth, 1, None, where)
    kw = dict(n_estimators=n_trees, max_depth=max_depth, random_state=seed, n_jobs=n_jobs,
              min_samples_split=check_int("min_samples_split", min_samples_split, 2, None,
                                          where),
              min_samples_leaf=check_int("min_samples_leaf", min_samples_leaf, 1, None, where),
              max_features=check_float("max_features", max_features, 0.0, 1.0, where,
                                       low_open=True),
              bootstrap=bool(bootstrap))
    return cls(**kw)


def _tree_coding(U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit-cube data with inactive values moved to :data:`INACTIVE_POS`, and the inactive
    fraction of every column."""
    nan = np.isnan(U)
    return np.where(nan, INACTIVE_POS, U), nan.mean(axis=0)


def _measure(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """Mass of the intervals ``(a, b]`` on one axis: an atom ``p`` at INACTIVE_POS plus
    ``1 - p`` spread uniformly over ``[0, 1]``."""
    act = np.clip(np.minimum(b, 1.0) - np.maximum(a, 0.0), 0.0, None) * (1.0 - p)
    if p > 0:
        act = act + p * ((a < INACTIVE_POS) & (INACTIVE_POS <= b))
    return act


def fanova_forest(forest: Any, p_inactive: Sequence[float] | None = None,
                  pairwise: bool = True,
                  cutoffs: tuple[float, float] = (-np.inf, np.inf)) -> dict[str, np.ndarray]:
    """Exact per-tree fANOVA of a fitted scikit-learn regression forest whose inputs are
    unit-cube coded (inactive values at ``-1``, see :func:`fanova_importance`).

    Returns ``{"single": (n_trees, d), "pair": (n_trees, d, d) (upper triangle), "total":
    (n_trees,), "used": bool (n_trees,)}``; fractions of trees with zero variance are NaN.
    """
    trees = [e.tree_ for e in forest.estimators_]
    d = int(forest.n_features_in_)
    p = np.zeros(d) if p_inactive is None else np.asarray(p_inactive, dtype=float)
    single = np.full((len(trees), d), np.nan)
    pair = np.full((len(trees), d, d), np.nan) if pairwise else None
    total = np.zeros(len(trees))
    for t, tree in enumerate(trees):
        s, pr, v = _fanova_tree(tree, p, pairwise, cutoffs)
        total[t] = v
        if v > 0:
            single[t] = s / v
            if pairwise:
                pair[t] = pr / v
    out = {"single": single, "total": total, "used": total > 0}
    if pairwise:
        out["pair"] = pair
    return out


def _leaf_boxes(tree, dom_lo: np.ndarray, dom_hi: np.ndarray):
    """Lower/upper bounds ``(n_leaves, d)`` of every leaf's box (intervals ``(lo, hi]``) and
    the leaf values, walking the tree one depth level at a time (vectorised)."""
    feat = tree.feature
    thr = tree.threshold
    left, right = tree.children_left, tree.children_right
    n, d = tree.node_count, dom_lo.shape[0]
    lo = np.empty((n, d))
    hi = np.empty((n, d))
    lo[0], hi[0] = dom_lo, dom_hi
    front = np.array([0], dtype=np.intp)
    while front.size:
        inner = front[feat[front] >= 0]
        if not inner.size:
            break
        f = feat[inner]
        t = np.clip(thr[inner], dom_lo[f], dom_hi[f])
        li, ri = left[inner], right[inner]
        lo[li], hi[li] = lo[inner], hi[inner]
        lo[ri], hi[ri] = lo[inner], hi[inner]
        hi[li, f] = t
        lo[ri, f] = t
        front = np.concatenate([li, ri])
    leaf = feat < 0
    return lo[leaf], hi[leaf], tree.value[leaf, 0, 0].astype(np.float64), thr, feat


def _fanova_tree(tree, p: np.ndarray, pairwise: bool, cutoffs: tuple[float, float]):
    d = p.shape[0]
    dom_lo = np.where(p > 0, INACTIVE_POS - 0.5, 0.0)
    dom_hi = np.ones(d)
    lo, hi, val, thr, feat = _leaf_boxes(tree, dom_lo, dom_hi)
    L = val.shape[0]
    inc = (val >= cutoffs[0]) & (val <= cutoffs[1])
    masked = not inc.all()
    F = np.empty((L, d))            # each leaf's mass along each axis
    S = np.empty((L, d), np.intp)   # first cell of each leaf along each axis
    E = np.empty((L, d), np.intp)   # one past its last cell
    W: list[np.ndarray] = []        # mass of every cell along each axis
    for j in range(d):
        tj = np.clip(thr[feat == j], dom_lo[j], dom_hi[j])
        cuts = np.unique(np.concatenate([[dom_lo[j], dom_hi[j]], tj]))
        S[:, j] = np.searchsorted(cuts, lo[:, j])
        E[:, j] = np.searchsorted(cuts, hi[:, j])
        W.append(_measure(cuts[:-1], cuts[1:], p[j]))
        F[:, j] = _measure(lo[:, j], hi[:, j], p[j])
    vol = np.prod(F, axis=1) * inc
    if vol.sum() <= 0:
        return np.zeros(d), np.zeros((d, d)), 0.0
    mean = np.sum(vol * val) / vol.sum()
    total = float(np.sum(vol * (val - mean) ** 2) / vol.sum())
    if total <= 1e-300:
        return np.zeros(d), np.zeros((d, d)), 0.0
    split = np.array([w.shape[0] > 1 for w in W])
    V1 = np.zeros(d)
    for j in np.nonzero(split)[0]:
        rest = np.prod(np.delete(F, j, axis=1), axis=1) * inc
        K = W[j].shape[0]
        num = (np.bincount(S[:, j], rest * val, K + 1) - np.bincount(E[:, j], rest * val, K + 1))
        num = np.cumsum(num)[:K]
        if masked:
            den = np.cumsum(np.bincount(S[:, j], rest, K + 1) - np.bincount(E[:, j], rest, K + 1))[:K]
        else:
            den = None
        V1[j] = _weighted_var(num, den, W[j])
    V2 = np.zeros((d, d))
    if pairwise:
        for i, j in itertools.combinations(np.nonzero(split)[0], 2):
            keep = np.ones(d, bool)
            keep[[i, j]] = False
            rest = np.prod(F[:, keep], axis=1) * inc
            Ki, Kj = W[i].shape[0], W[j].shape[0]
            num = _cum2(S[:, i], E[:, i], S[:, j], E[:, j], rest * val, Ki, Kj)
            den = _cum2(S[:, i], E[:, i], S[:, j], E[:, j], rest, Ki, Kj) if masked else None
            tot = _weighted_var(num, den, np.outer(W[i], W[j]))
            V2[i, j] = max(tot - V1[i] - V1[j], 0.0)
    return V1, V2, total


def _cum2(si, ei, sj, ej, w, Ki, Kj):
    """``A[k, m] = sum of w over leaves whose cells include (k, m)`` via a 2-d difference
    array: +w at (s_i, s_j) and (e_i, e_j), -w at (e_i, s_j) and (s_i, e_j)."""
    n = Kj + 1
    size = (Ki + 1) * n
    acc = (np.bincount(si * n + sj, w, size) + np.bincount(ei * n + ej, w, size)
           - np.bincount(ei * n + sj, w, size) - np.bincount(si * n + ej, w, size))
    acc = acc.reshape(Ki + 1, n)
    return np.cumsum(np.cumsum(acc, axis=0), axis=1)[:Ki, :Kj]


def _weighted_var(num: np.ndarray, den: np.ndarray | None, cell_w: np.ndarray) -> float:
    """Variance of the marginal ``num / den`` over cells weighted by ``cell_w * den``
    (``den`` is 1 everywhere without cutoffs: the leaves partition the space)."""
    if den is None:
        m, w = num, cell_w
    else:
        w = cell_w * den
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    sw = w.sum()
    if sw <= 0:
        return 0.0
    mu = np.sum(w * m) / sw
    return float(max(np.sum(w * (m - mu) ** 2) / sw, 0.0))


def _frame(names: list[str], single: np.ndarray, pair: np.ndarray | None,
           pairwise: bool) -> pd.DataFrame:
    rows = []
    used = ~np.isnan(single).any(axis=1)
    S = single[used]
    for j, n in enumerate(names):
        rows.append(_row(n, 1, S[:, j]))
    if pairwise and pair is not None:
        P = pair[used]
        for i, j in itertools.combinations(range(len(names)), 2):
            rows.append(_row(f"{names[i]}:{names[j]}", 2, P[:, i, j]))
    return _ranked(pd.DataFrame(rows, columns=_COLUMNS[:-1]))


def _row(name: str, order: int, vals: np.ndarray, point: float | None = None) -> list:
    vals = np.asarray(vals, dtype=float)
    if vals.size == 0:
        return [name, order, 0.0 if point is None else point, np.nan, np.nan, np.nan]
    est = float(vals.mean()) if point is None else float(point)
    lo, hi = np.percentile(vals, [2.5, 97.5]) if vals.size > 1 else (np.nan, np.nan)
    return [name, order, est, float(vals.std()) if vals.size > 1 else np.nan,
            float(lo), float(hi)]


def _ranked(df: pd.DataFrame) -> pd.DataFrame:
    df = df.sort_values(["order", "importance"], ascending=[True, False], kind="stable")
    df["rank"] = df.groupby("order").cumcount() + 1
    return df.reset_index(drop=True)


def _attrs(data: AnalysisData, method: str, **settings) -> dict:
    return {"method": method, "source": data.source, "objective": data.objective,
            "fidelity": data.fidelity, "n": int(data.y.shape[0]), "dropped": data.dropped,
            "names": list(data.names), "settings": settings}


# ============================================================================ N-RReliefF
def relieff_importance(source: Any, fidelity: Any = None, objective: str | None = None, *,
                       k: int = 10, n_bootstrap: int = 200, seed: int = 0, normalize: str = "clip", weighting: str = "equal",
                       sigma: float = 20.0, training_seed: Any = None,
                       n_samples: int = 2048, chunk: int = 256) -> pd.DataFrame:
    """N-RReliefF importance weights (Sun, Gong, Li & Zhang 2019), the estimator of the HIA
    paper (Wang, Nabney & Golbabaee 2024) behind ``hia-cnn``'s published ranking.

    RReliefF (Robnik-Šikonja & Kononenko 2003) estimates, for every hyperparameter ``A``,
    how much more often ``A`` differs between near configurations whose objectives differ
    than between near configurations whose objectives agree::

        W[A] = N_dC&dA / N_dC - (N_dA - N_dC&dA) / (m - N_dC)

    accumulated over the ``k`` nearest neighbours of each of ``m`` instances (here every
    instance: ``m = n``, the spec's setting), where ``diff`` of a numeric value is the
    absolute difference divided by its observed range, of a categorical 0/1, and of the
    objective ``|y_i - y_j| / (max y - min y)``. Neighbours are found with the Manhattan
    distance of those diffs. The "N" step normalises the weights to sum to 1.

    Parameters
    ----------
    source, fidelity, objective, training_seed, n_samples
        As :func:`fanova_importance`.
    k : int
        Neighbours per instance (spec: 10).
    n_bootstrap : int
        Bootstrap resamples for ``std``/``low``/``high`` (0 for none): the ``m`` instances
        whose neighbourhoods are accumulated are drawn with replacement, the neighbours
        still being searched among all configurations. This measures how much the weights
        depend on which instances are averaged; it does not redo the neighbour search (a
        bootstrap of the data would make duplicated rows each other's nearest neighbours),
        and it costs nothing beyond the single pass. [hasbench's choice]
    seed : int
        Seed of the bootstrap (and of a benchmark source's configuration sample).
    normalize : {"clip", "shift", "none"}
        The "N" of N-RReliefF: turn the raw weights (in ``[-1, 1]``) into weights >= 0
        summing to 1. Sun et al.'s "improved normalization formula" could not be retrieved,
        so hasbench chooses [paper silent; we choose]: ``"clip"`` (default) sets negative
        raw weights (hyperparameters RReliefF judges irrelevant) to 0 and divides by the
        sum; ``"shift"`` subtracts the smallest raw weight first (keeps every difference,
        but gives irrelevant hyperparameters, even a constant column, the gap to the most
        negative one: on ``digits-hia-cnn`` about 8% each); ``"none"`` returns the raw
        weights. Rows are ranked by the normalised weight with ties broken by the raw
        weight (column ``raw``), so hyperparameters clipped to 0 keep RReliefF's order (the
        spec's check ``y = 5 x1 + x2 + noise`` has a negative raw weight for ``x2``, above
        the noise dimensions').
    weighting : {"equal", "rank"}
        Neighbour influence: ``1/k`` each (default), or RReliefF's rank-based
        ``exp(-(rank/sigma)^2)`` normalised over the ``k`` neighbours. [paper silent; we
        choose]
    sigma : float
        Width of the rank weighting.
    chunk : int
        Rows per block of the pairwise-distance computation (memory ``chunk * n * 8`` bytes).

    Returns
    -------
    pandas.DataFrame
        As :func:`fanova_importance` (singles only), plus ``raw`` (the RReliefF weight
        before normalisation). ``importance`` is the weight with every instance used once;
        ``std``/``low``/``high`` are over the bootstrap.

    Notes
    -----
    Inactive (conditional) values: ``diff`` is 0 between two inactive values and 1 between
    an inactive and an active one. Numeric diffs are measured in the unit-cube coding of
    the space (log scale for log hyperparameters). [hasbench's choice]
    """
    where = "relieff_importance"
    k = check_int("k", k, 1, None, where)
    n_bootstrap = check_int("n_bootstrap", n_bootstrap, 0, None, where)
    seed = check_int("seed", seed, 0, None, where)
    check_choice("normalize", normalize, ["clip", "shift", "none"], where)
    check_choice("weighting", weighting, ["equal", "rank"], where)
    sigma = check_float("sigma", sigma, 0.0, None, where, low_open=True)
    chunk = check_int("chunk", chunk, 1, None, where)
    data = load_importance_data(source, fidelity, objective, training_seed, n_samples, seed,
                                where)
    n = data.y.shape[0]
    if k >= n:
        raise InvalidValueError("k", k, f"an int in the range [1, {n - 1}] (fewer than the "
                                f"{n} configurations)", where)
    dc, da, dcda = rrelieff_terms(data.U, data.y, data.categorical, k, weighting, sigma, chunk)
    raw = _relieff_weights(dc.sum(), da.sum(0), dcda.sum(0), n)
    full = _normalize(raw, normalize)
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_bootstrap):
        c = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        reps.append(_normalize(_relieff_weights(c @ dc, c @ da, c @ dcda, n), normalize))
    R = np.asarray(reps).reshape(len(reps), len(data.names))
    rows = [_row(nm, 1, R[:, j], point=full[j]) + [raw[j]]
            for j, nm in enumerate(data.names)]
    df = pd.DataFrame(rows, columns=_COLUMNS[:-1] + ["raw"])
    df = df.sort_values(["importance", "raw"], ascending=False, kind="stable")
    df["rank"] = np.arange(1, len(df) + 1)
    df = df[_COLUMNS + ["raw"]].reset_index(drop=True)
    df.attrs.update(_attrs(data, "n-relieff", k=k, n_bootstrap=n_bootstrap, seed=seed,
                           normalize=normalize, weighting=weighting, sigma=sigma))
    return df


def _relieff_weights(n_dc: float, n_da: np.ndarray, n_dcda: np.ndarray, m: float) -> np.ndarray:
    """RReliefF's ``W[A] = N_dC&dA / N_dC - (N_dA - N_dC&dA) / (m - N_dC)``."""
    if n_dc <= 0 or m - n_dc <= 0:
        return np.zeros_like(n_da)
    return n_dcda / n_dc - (n_da - n_dcda) / (m - n_dc)


def _normalize(w: np.ndarray, how: str) -> np.ndarray:
    if how == "none":
        return w
    v = np.clip(w, 0.0, None) if how == "clip" else w - w.min()
    s = v.sum()
    return v / s if s > 0 else np.zeros_like(w)


def rrelieff(U: np.ndarray, y: np.ndarray, categorical: np.ndarray, k: int = 10,
             weighting: str = "equal", sigma: float = 20.0, chunk: int = 256) -> np.ndarray:
    """Raw RReliefF weights (one per column of ``U``), every instance used once (``m = n``);
    see :func:`rrelieff_terms`."""
    dc, da, dcda = rrelieff_terms(U, y, categorical, k, weighting, sigma, chunk)
    return _relieff_weights(dc.sum(), da.sum(0), dcda.sum(0), U.shape[0])


def rrelieff_terms(U: np.ndarray, y: np.ndarray, categorical: np.ndarray, k: int = 10,
                   weighting: str = "equal", sigma: float = 20.0, chunk: int = 256):
    """Each instance's contribution to RReliefF's sums: ``N_dC`` ``(n,)``, ``N_dA`` and
    ``N_dC&dA`` ``(n, d)`` (summing them over instances gives the algorithm's totals).

    ``U`` is unit-cube coded with NaN for inactive values; ``categorical`` marks unordered
    columns. Hand-written (no scikit-learn or SciPy equivalent): an exact brute-force
    neighbour search in blocks of ``chunk`` rows, because the mixed numeric / categorical /
    inactive ``diff`` is not a metric the library neighbour searches accept.
    """
    U = np.asarray(U, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = U.shape
    nan = np.isnan(U)
    with np.errstate(invalid="ignore"):
        span = np.nanmax(U, axis=0) - np.nanmin(U, axis=0)
    span = np.where(np.isfinite(span) & (span > 0), span, 1.0)
    Uz = np.where(nan, 0.0, U) / span
    cat = np.asarray(categorical, bool)
    yspan = float(y.max() - y.min())
    yz = (y - y.min()) / yspan if yspan > 0 else np.zeros(n)
    if weighting == "equal":
        wk = np.full(k, 1.0 / k)
    else:
        wk = np.exp(-((np.arange(1, k + 1) / sigma) ** 2))
        wk = wk / wk.sum()
    n_dc = np.zeros(n)
    n_da = np.zeros((n, d))
    n_dcda = np.zeros((n, d))

    has_nan = nan.any(axis=0)

    def diff(a_val, a_nan, b_val, b_nan, j):
        dv = (a_val != b_val).astype(np.float64) if cat[j] else np.abs(a_val - b_val)
        if not has_nan[j]:
            return dv
        return np.where(a_nan | b_nan, (a_nan != b_nan).astype(np.float64), dv)

    for i0 in range(0, n, chunk):
        i1 = min(i0 + chunk, n)
        rows = np.arange(i0, i1)
        D = np.zeros((i1 - i0, n))
        for j in range(d):
            D += diff(Uz[rows, j][:, None], nan[rows, j][:, None], Uz[None, :, j],
                      nan[None, :, j], j)
        D[np.arange(i1 - i0), rows] = np.inf  # never one's own neighbour
        nn = np.argpartition(D, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(D, nn, axis=1), axis=1, kind="stable")
        nn = np.take_along_axis(nn, order, axis=1)              # (b, k) nearest first
        dC = np.abs(yz[rows][:, None] - yz[nn])                 # (b, k)
        n_dc[rows] = dC @ wk
        for j in range(d):
            dA = diff(Uz[rows, j][:, None], nan[rows, j][:, None], Uz[nn, j], nan[nn, j], j)
            n_da[rows, j] = dA @ wk
            n_dcda[rows, j] = (dC * dA) @ wk
    return n_dc, n_da, n_dcda


# ============================================================================ helpers
def importance(source: Any, method: str = "fanova", **kwargs: Any) -> pd.DataFrame:
    """:func:`fanova_importance` (``method="fanova"``) or :func:`relieff_importance`
    (``"n-relieff"``); keyword arguments are passed on."""
    check_choice("method", method, METHODS, "importance")
    fn = fanova_importance if method == "fanova" else relieff_importance
    return fn(source, **kwargs)


def importance_weights(source: Any, method: str = "n-relieff", **kwargs: Any) -> dict[str, float]:
    """Importance of each single hyperparameter as ``{name: weight}``, weights >= 0 summing
    to 1 (fANOVA fractions are rescaled by their sum), in the space's column order.

    Meant for the grouped-sequential optimiser's prior weights, e.g.
    ``importance_weights("table:fmnist-hia-cnn")`` computed on *another* benchmark."""
    if method == "fanova":
        kwargs.setdefault("pairwise", False)
    df = importance(source, method, **kwargs)
    one = df[df["order"] == 1]
    w = np.clip(one["importance"].to_numpy(dtype=float), 0.0, None)
    s = w.sum()
    w = w / s if s > 0 else np.full(w.shape, 1.0 / max(len(w), 1))
    got = dict(zip(one["hyperparameter"], w.tolist(), strict=True))
    return {n: got[n] for n in _column_order(df, one)}


def _column_order(df, one) -> list[str]:
    names = df.attrs.get("names")
    return list(names) if names else list(one["hyperparameter"])


def plot_importance(df: pd.DataFrame, path: Any = None, top: int | None = 10,
                    title: str | None = None):
    """Horizontal bar chart of an importance frame with ``std`` error bars: singles, and
    (when present) the ``top`` pairs in a second panel. Saves a PNG when ``path`` is
    given; returns the matplotlib Figure (Agg canvas, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not isinstance(df, pd.DataFrame) or not set(_COLUMNS[:-1]) <= set(df.columns):
        raise InvalidValueError("df", type(df).__name__, "a frame returned by "
                                "fanova_importance / relieff_importance", "plot_importance")
    parts = [g for _, g in df.groupby("order", sort=True)]
    if top is not None:
        top = check_int("top", top, 1, None, "plot_importance")
        parts = [parts[0]] + [g.head(top) for g in parts[1:]]
    heights = [max(len(g), 1) for g in parts]
    fig = Figure(figsize=(7.5, 1.2 + 0.32 * sum(heights) + 0.6 * len(parts)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(parts), 1, squeeze=False,
                        gridspec_kw={"height_ratios": heights})[:, 0]
    attrs = df.attrs or {}
    method = attrs.get("method", "")
    for ax, g in zip(axes, parts, strict=True):
        g = g.iloc[::-1]
        err = g["std"].to_numpy(dtype=float)
        err = np.where(np.isfinite(err), err, 0.0)
        ax.barh(g["hyperparameter"], g["importance"], xerr=err, capsize=3,
                color="#4c72b0" if int(g["order"].iloc[0]) == 1 else "#dd8452",
                error_kw={"elinewidth": 1})
        ax.set_xlim(left=0)
        ax.tick_params(axis="y", labelsize=8)
        label = "individual" if int(g["order"].iloc[0]) == 1 else "pairwise"
        unit = "variance fraction" if method == "fanova" else "normalised weight"
        ax.set_xlabel(f"{label} importance ({unit}; bars: ±1 std)")
        ax.grid(axis="x", alpha=0.3)
    if title is None:
        fid = attrs.get("fidelity")
        title = (f"{method} importance — {attrs.get('source', '')}, "
                 f"{attrs.get('objective') or 'objective'}"
                 + ("" if fid is None else f" at fidelity {fid:g}"))
    axes[0].set_title(title, fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
