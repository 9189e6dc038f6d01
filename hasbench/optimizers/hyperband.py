"""Successive halving, Hyperband and BOHB, synchronous, as published.

Brackets follow ``docs/specs/bohb_hyperband.md``:

- ``hb_variant="paper"`` (Li et al. 2017): ``s_max = floor(log_eta(R))``,
  ``n = ceil((s_max + 1) * eta**s / (s + 1))``, rung ``i`` has ``floor(n / eta**i)`` configs.
- ``hb_variant="bohb"`` (the schedule of the BOHB paper, HpBandSter's formula in exact
  arithmetic): ``n0 = floor((s_max + 1) / (s + 1)) * eta**s``, rung ``i`` has
  ``max(floor(n0 / eta**i), 1)``; ``s_max`` as above.
- ``hb_variant="hpbandster"``: HpBandSter 0.7.4's own output, float rounding included
  (``optimizers/hyperband.py``: ``K = -int(log(min/max)/log(eta)) + 1``, budgets
  ``max * eta**-linspace(K-1, 0, K)``, ``n0 = int(floor(K/(s+1)) * eta**s)``, rung ``i`` has
  ``max(int(n0 * eta**-i), 1)``). Where the float logarithm falls just short of an integer
  this differs from ``"bohb"``: ``(1, 243, 3)`` runs 5 rungs from budget 3, ``(1, 10, 10)``
  a single rung at 10. Use it to reproduce HpBandSter runs; the published schedules are the
  defaults (``"paper"`` for Hyperband and SH, ``"bohb"`` for BOHB).

The exact variants count rungs with integer arithmetic (``s_max`` by multiplication, so
``(1, 243, 3)`` gives 6 brackets and starts at budget 1).

Budgets come from :func:`~hasbench.optimizers.base.fidelity_ladder`: ``rung_mode=
"geometric_down"`` (``max * eta**-k``, both reference implementations) or ``"geometric_up"``
(Syne Tune: ``round(min * eta**k)`` while below ``max``, then ``max``; ``s_max`` is then the
ladder length minus one; not with ``"hpbandster"``, whose budgets are its own). A bracket
with ``s + 1`` rungs uses the top ``s + 1`` budgets. For an integer fidelity, downward
budgets are rounded to the nearest integer (hasbench's choice, so ``(1, 200, 3)`` on
integer epochs gives 2, 7, 22, 67, 200).

Scheduling (HpBandSter's master loop): :meth:`Hyperband.ask` returns the next job of the
oldest active bracket that has one; when every active bracket is waiting for results, it
starts the next bracket (iteration ``j`` uses ``s = s_max - (j mod (s_max + 1))``), unless
``n_iterations`` brackets have been started, then ``None``. Promoted configs keep their
order.

Failed and pruned results (the rule of :mod:`hasbench.optimizers.base`):

- Only finite, measured results are ranked: a rung's survivors are the best ``n_{i+1}`` of
  its finite results by loss, ties broken by the earlier config (stable sort). A failed
  (crashed, non-finite) result counts as one of the rung's ``n_i`` results (it consumed its
  compute) but is never promoted.
- A pruned job does not count in its rung: it leaves the rung's member list.
- Freed slots (``refill``): with ``refill="sample"`` (default, HpBandSter 0.7.4's
  ``BaseIteration.get_next_run``: after promotion, ``add_configuration`` samples new
  configs until the stage has ``num_configs[stage]``), every slot a finite result cannot
  fill -- fewer than ``n_{i+1}`` finite results at rung ``i``, or a job pruned at rung
  ``i`` -- is filled by a *new* configuration from the sampler (uniform; BOHB: its model)
  trained from scratch at that rung's budget, as a new trial (``continues=False``,
  ``info["refill"] = True`` above rung 0). With ``refill="none"`` the rung runs with fewer
  configs (a rung left empty ends the bracket). HpBandSter has no pruner; treating a pruned
  job's slot like a crashed promotion's is hasbench's choice.

Resumption: ``resume=False`` (default, as HpBandSter) retrains a promoted config from
scratch at the higher budget; ``resume=True`` continues from the previous rung's checkpoint
(the simulator charges only the extra epochs). Refills always start from scratch.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidValueError, check_choice, check_float, check_int
from .base import Job, Optimizer, Result, _loss_of, _s_max, fidelity_ladder, is_failure
from .kde import ProductKDE, kde_split_sizes

__all__ = ["Bracket", "hyperband_brackets", "SuccessiveHalving", "Hyperband", "BOHB",
           "HB_VARIANTS"]


@dataclass(frozen=True)
class Bracket:
    """One successive-halving bracket: ``n[i]`` configs evaluated at ``budgets[i]``."""

    s: int
    n: tuple[int, ...]
    budgets: tuple[float, ...]


def hyperband_brackets(min_budget: float, max_budget: float, eta: int = 3,
                       hb_variant: str = "paper", rung_mode: str = "geometric_down",
                       integer: bool = False) -> list[Bracket]:
    """The brackets of one Hyperband iteration, for ``s = s_max, ..., 0``.

    Parameters
    ----------
    min_budget, max_budget : float
        Fidelity range (``0 < min_budget < max_budget``).
    eta : int
        Reduction factor (>= 2).
    hb_variant : {"paper", "bohb", "hpbandster"}
        See the module docstring; ``"hpbandster"`` reproduces HpBandSter 0.7.4's float
        arithmetic and needs ``rung_mode="geometric_down"``.
    rung_mode : {"geometric_down", "geometric_up"}
    integer : bool
        Round budgets for an integer fidelity (see :func:`fidelity_ladder`).

    Examples
    --------
    >>> [b.n for b in hyperband_brackets(1, 27, 3, "bohb")]
    [(27, 9, 3, 1), (9, 3, 1), (6, 2), (4,)]
    >>> hyperband_brackets(1, 243, 3, "hpbandster")[0].budgets[0]   # HpBandSter's rounding
    3.0
    """
    where = "hyperband_brackets"
    eta = check_int("eta", eta, 2, None, where)
    min_budget = check_float("min_budget", min_budget, 0.0, None, where, low_open=True)
    max_budget = check_float("max_budget", max_budget, 0.0, None, where, low_open=True)
    if max_budget <= min_budget:
        raise InvalidValueError("max_budget", max_budget, f"a value > min_budget={min_budget}",
                                where)
    check_choice("hb_variant", hb_variant, HB_VARIANTS, where)
    check_choice("rung_mode", rung_mode, ["geometric_down", "geometric_up"], where)
    if hb_variant == "hpbandster":
        if rung_mode != "geometric_down":
            raise InvalidValueError("rung_mode", rung_mode, "'geometric_down' with "
                                    "hb_variant='hpbandster' (HpBandSter's own budgets)", where,
                                    hint="use hb_variant='bohb' for HpBandSter's bracket sizes "
                                    "on another ladder")
        return _hpbandster_brackets(min_budget, max_budget, eta, integer)
    if rung_mode == "geometric_down":
        s_max = _s_max(max_budget / min_budget, eta)
        ladder = np.array([max_budget / eta ** k for k in range(s_max, -1, -1)])
        if integer:
            ladder = np.clip(np.floor(ladder + 0.5), math.ceil(min_budget), max_budget)
    else:
        ladder = fidelity_ladder(min_budget, max_budget, eta, "geometric_up", integer)
        s_max = len(ladder) - 1
    out = []
    K = s_max + 1
    for s in range(s_max, -1, -1):
        if hb_variant == "paper":
            n0 = -((-K * eta ** s) // (s + 1))  # ceil(K * eta^s / (s + 1)), exact
            ns = tuple(n0 // eta ** i for i in range(s + 1))
        else:
            n0 = (K // (s + 1)) * eta ** s
            ns = tuple(max(n0 // eta ** i, 1) for i in range(s + 1))
        out.append(Bracket(s, ns, tuple(float(b) for b in ladder[K - (s + 1):])))
    return out


#: bracket variants of :func:`hyperband_brackets`
HB_VARIANTS = ("paper", "bohb", "hpbandster")


def _hpbandster_brackets(min_budget: float, max_budget: float, eta: int,
                         integer: bool) -> list[Bracket]:
    """HpBandSter 0.7.4 ``optimizers/hyperband.py`` (``__init__`` and
    ``get_next_iteration``), float arithmetic kept on purpose so the output is HpBandSter's
    own, rounding included."""
    K = -int(np.log(min_budget / max_budget) / np.log(eta)) + 1
    ladder = max_budget * np.power(eta, -np.linspace(K - 1, 0, K))
    if integer:
        ladder = np.clip(np.floor(ladder + 0.5), math.ceil(min_budget), max_budget)
    out = []
    for s in range(K - 1, -1, -1):
        n0 = int(np.floor(K / (s + 1)) * eta ** s)
        ns = tuple(max(int(n0 * (eta ** (-i))), 1) for i in range(s + 1))
        out.append(Bracket(s, ns, tuple(float(b) for b in ladder[K - (s + 1):])))
    return out


@dataclass
class _Run:
    """One successive-halving iteration in progress."""

    iteration: int
    bracket: Bracket
    rung: int = 0
    target: int = 0                                    # results the current rung waits for
    to_sample: int = 0                                 # new configs still to sample
    members: list = field(default_factory=list)        # trial ids of the current rung, in order
    configs: dict = field(default_factory=dict)        # trial id -> x
    ready: deque = field(default_factory=deque)        # trial ids of the rung not yet issued
    losses: dict = field(default_factory=dict)         # trial id -> loss at current rung
    fresh: set = field(default_factory=set)            # trials sampled for the current rung
    outstanding: int = 0
    done: bool = False


class Hyperband(Optimizer):
    """Hyperband (Li et al. 2017) with random sampling; the base of SH and BOHB.

    Parameters
    ----------
    space, seed, names, fixed, min_fidelity, max_fidelity, pruner, points_to_evaluate
        See :class:`~hasbench.optimizers.base.Optimizer`.
    eta : int
        Reduction factor (default 3).
    hb_variant : {"paper", "bohb", "hpbandster"}
        Bracket sizes (default ``"paper"``; BOHB defaults to ``"bohb"``); see the module
        docstring.
    rung_mode : {"geometric_down", "geometric_up"}
        Budget ladder (default ``"geometric_down"``, as both reference implementations).
    n_iterations : int, optional
        Number of brackets to run (``None``: forever; the simulator's budget stops it).
    resume : bool
        Continue promoted configs from their checkpoint (default ``False``: retrain from
        scratch, as HpBandSter).
    refill : {"sample", "none"}
        What fills a rung slot that no finite result can fill (a shortfall of finite results
        at promotion, or a pruned job): a new sampled configuration trained from scratch at
        that budget (``"sample"``, default, as HpBandSter) or nothing (``"none"``).
    """

    name = "hyperband"
    multi_fidelity = True
    _default_variant = "paper"
    _eager_sampling = True

    def __init__(self, space, seed: int = 0, *, eta: int = 3, hb_variant: str | None = None,
                 rung_mode: str = "geometric_down", n_iterations: int | None = None,
                 resume: bool = False, refill: str = "sample", **kw: Any):
        super().__init__(space, seed, **kw)
        where = type(self).__name__
        self.eta = check_int("eta", eta, 2, None, where)
        self.hb_variant = check_choice("hb_variant", hb_variant or self._default_variant,
                                       HB_VARIANTS, where)
        self.rung_mode = check_choice("rung_mode", rung_mode, ["geometric_down",
                                                               "geometric_up"], where)
        self.n_iterations = None if n_iterations is None else check_int(
            "n_iterations", n_iterations, 1, None, where)
        self.resume = bool(resume)
        self.refill = check_choice("refill", refill, ["sample", "none"], where)
        if self.max_fidelity <= self.min_fidelity:
            raise InvalidValueError("max_fidelity", self.max_fidelity,
                                    f"a value > min_fidelity={self.min_fidelity}", where)
        integer = bool(self._fid is not None and self._fid.is_int)
        self.brackets = self._make_brackets(integer)
        self._levels = np.unique(np.concatenate([b.budgets for b in self.brackets]))
        self._runs: list[_Run] = []
        self._n_started = 0

    def _make_brackets(self, integer: bool) -> list[Bracket]:
        return hyperband_brackets(self.min_fidelity, self.max_fidelity, self.eta,
                                  self.hb_variant, self.rung_mode, integer)

    # ------------------------------------------------------------ sampling hook
    def _sample_new(self, budget: float) -> np.ndarray:
        """One new configuration for a rung at ``budget`` (BOHB overrides)."""
        return self._sample(1)[0]

    # ------------------------------------------------------------ bracket bookkeeping
    def _start_run(self) -> _Run:
        j = self._n_started
        self._n_started += 1
        br = self.brackets[j % len(self.brackets)]
        run = _Run(j, br, target=br.n[0])
        if self._eager_sampling:
            X = self._sample(br.n[0])
            for x in X:
                t = self._new_trial_id()
                run.configs[t] = x
                run.members.append(t)
                run.ready.append(t)
        else:
            run.to_sample = br.n[0]
        self._runs.append(run)
        return run

    def _next_of(self, run: _Run) -> Job | None:
        if run.done:
            return None
        b = run.bracket.budgets[run.rung]
        if run.ready:
            t = run.ready.popleft()
        elif run.to_sample > 0:
            run.to_sample -= 1
            t = self._new_trial_id()
            run.configs[t] = self._sample_new(b)
            run.members.append(t)
            if run.rung > 0:
                run.fresh.add(t)
        else:
            return None
        run.outstanding += 1
        cont = run.rung > 0 and t not in run.fresh
        prev = run.bracket.budgets[run.rung - 1] if cont else 0.0
        info = {} if cont or run.rung == 0 else {"refill": True}
        return self._make_job(t, run.configs[t], b, continues=cont,
                              resume_from=prev if self.resume else 0.0,
                              iteration=run.iteration, bracket=run.bracket.s, rung=run.rung,
                              **info)

    def ask(self) -> Job | None:
        for run in self._runs:
            job = self._next_of(run)
            if job is not None:
                return job
        if self.n_iterations is not None and self._n_started >= self.n_iterations:
            return None
        return self._next_of(self._start_run())

    def tell(self, job: Job, result: Result) -> None:
        run = self._run_of(job)
        run.outstanding -= 1
        t = job.trial_id
        if self._note_failure(job, result):
            if result.status == "pruned":  # not counted in the rung: its slot is freed
                run.members.remove(t)
                run.configs.pop(t, None)
                if self.refill == "sample":
                    run.to_sample += 1
                else:
                    run.target -= 1
                self._on_result(job, result)
                self._advance(run)
                return
            run.losses[t] = math.inf  # failed: one of the rung's results, never promoted
        else:
            run.losses[t] = float(result.loss)
        self._on_result(job, result)
        self._advance(run)

    def _advance(self, run: _Run) -> None:
        """Close the current rung once all its results are in: promote the best finite ones
        and fill the remaining slots (``refill``)."""
        while len(run.losses) >= run.target and run.outstanding == 0 and not run.ready \
                and run.to_sample == 0:
            if run.rung == len(run.bracket.n) - 1 or run.target == 0:
                run.done = True
                self._runs.remove(run)
                return
            keep = run.bracket.n[run.rung + 1]
            fin = [t for t in run.members if math.isfinite(run.losses.get(t, math.inf))]
            if len(fin) > keep:
                losses = np.array([run.losses[t] for t in fin])
                order = np.argsort(losses, kind="stable")
                survivors = set(order[:keep].tolist())
                fin = [t for i, t in enumerate(fin) if i in survivors]
            run.members = fin
            run.ready = deque(fin)
            run.losses = {}
            run.fresh = set()
            run.rung += 1
            short = keep - len(fin)
            if self.refill == "sample":
                run.to_sample = short
                run.target = keep
            else:
                run.target = len(fin)
            if run.target > 0:
                return

    def _run_of(self, job: Job) -> _Run:
        it = job.info.get("iteration")
        for run in self._runs:
            if run.iteration == it:
                return run
        raise InvalidValueError("job", job.job_id, "a job of a bracket still running",
                                type(self).__name__, hint="told twice or not from this optimizer")

    def _on_result(self, job: Job, result: Result) -> None:
        """Hook for model-based subclasses (BOHB); called for every told result, failures
        included (check :func:`~hasbench.optimizers.base.is_failure`)."""

    # ------------------------------------------------------------ simulator helpers
    def upcoming(self) -> list[tuple[int, np.ndarray]]:
        out = []
        for run in self._runs:
            if run.rung == 0:
                out.extend((t, run.configs[t]) for t in run.ready)
        return out

    @property
    def fidelity_levels(self) -> np.ndarray:
        return self._levels

    @property
    def finished(self) -> bool:
        return (self.n_iterations is not None and self._n_started >= self.n_iterations
                and not self._runs)


class SuccessiveHalving(Hyperband):
    """Successive halving: the most aggressive Hyperband bracket (``s = s_max``), repeated
    (or a chosen ``n_configs``: rungs ``floor(n_configs / eta**i)`` down to one config).

    Parameters
    ----------
    n_configs : int, optional
        Configs in the first rung (default: the bracket's ``n_0`` for the variant).
    Other parameters as :class:`Hyperband`.
    """

    name = "sh"

    def __init__(self, space, seed: int = 0, *, n_configs: int | None = None, **kw: Any):
        self._n_configs = None if n_configs is None else check_int(
            "n_configs", n_configs, 1, None, type(self).__name__)
        super().__init__(space, seed, **kw)

    def _make_brackets(self, integer: bool) -> list[Bracket]:
        top = super()._make_brackets(integer)[0]
        if self._n_configs is None:
            return [top]
        ns = []
        for i in range(len(top.n)):
            v = self._n_configs // self.eta ** i
            if v < 1:
                break
            ns.append(v)
        return [Bracket(len(ns) - 1, tuple(ns), top.budgets[-len(ns):])]


class BOHB(Hyperband):
    """BOHB (Falkner et al. 2018): Hyperband brackets (the BOHB schedule, ``hb_variant=
    "bohb"``, by default) whose new configurations come from a TPE-style KDE model (spec
    section 3).

    Parameters
    ----------
    top_n_percent : float
        Share of observations forming the good density (default 15).
    min_points_in_model : int, optional
        Observations needed at a budget before a model is fitted (default and minimum
        ``d + 1``, ``d`` = number of searched hyperparameters).
    num_samples : int
        Candidates drawn from the good KDE per proposal (default 64).
    random_fraction : float
        Share of uniformly random proposals once a model exists (default 1/3).
    bandwidth_factor : float
        Widening of continuous kernels when sampling candidates (default 3).
    min_bandwidth : float
        Lower clip of KDE bandwidths (default 1e-3).
    Other parameters as :class:`Hyperband` (``hb_variant`` defaults to ``"bohb"``).

    Notes
    -----
    Failed and pruned results (the base module's rule): a failure with a positive weight
    (``failed_weight``, ``pruned_weight``, default 1) is an observation at its budget with
    loss ``+inf`` -- for a crashed run exactly HpBandSter's treatment: it counts toward
    ``N_b`` and the split sizes and sorts last, into the bad set. Its weight scales its
    kernel in the bad density, ``g(x) = sum_i w_i k_i(x) / sum_i w_i`` (bandwidths from all
    bad rows, unweighted, as with weights 1); weight 0 drops it. With every weight 1 this is
    the reference's unweighted KDE.

    The 64 candidates are drawn in one vectorised step (the reference draws them in a loop
    with ``np.random``): same distribution, different random stream. Inactive conditional
    values are imputed with a random observed value of the same column (0.5 if none).
    """

    name = "bohb"
    _default_variant = "bohb"
    _eager_sampling = False

    def __init__(self, space, seed: int = 0, *, top_n_percent: float = 15.0,
                 min_points_in_model: int | None = None, num_samples: int = 64,
                 random_fraction: float = 1.0 / 3.0, bandwidth_factor: float = 3.0,
                 min_bandwidth: float = 1e-3, **kw: Any):
        super().__init__(space, seed, **kw)
        where = "BOHB"
        self.top_n_percent = check_float("top_n_percent", top_n_percent, 1.0, 99.0, where)
        d = len(self.names)
        mp = d + 1 if min_points_in_model is None else check_int(
            "min_points_in_model", min_points_in_model, 1, None, where)
        self.min_points_in_model = max(mp, d + 1)
        self.num_samples = check_int("num_samples", num_samples, 1, None, where)
        self.random_fraction = check_float("random_fraction", random_fraction, 0.0, 1.0, where)
        self.bandwidth_factor = check_float("bandwidth_factor", bandwidth_factor, 0.0, None,
                                            where, low_open=True)
        self.min_bandwidth = check_float("min_bandwidth", min_bandwidth, 0.0, None, where)
        self._obs: dict[float, tuple[list, list]] = {}
        self._obs_w: dict[float, list] = {}
        #: budget -> (good KDE, bad KDE)
        self.models: dict[float, tuple[ProductKDE, ProductKDE]] = {}

    # ------------------------------------------------------------ model
    def _on_result(self, job: Job, result: Result) -> None:
        fail = is_failure(result)
        w = self._failure_weight(result) if fail else 1.0
        if w <= 0:
            return
        b = job.fidelity
        if self.models and max(self.models) > b:
            return
        rows, losses = self._obs.setdefault(b, ([], []))
        rows.append(self._to_model(job.x)[0])
        losses.append(math.inf if fail else _loss_of(result))
        self._obs_w.setdefault(b, []).append(w)
        self._fit(b)

    def _fit(self, b: float) -> None:
        rows, losses = self._obs[b]
        n = len(rows)
        if n < self.min_points_in_model:
            return
        d = len(self.names)
        X = np.array(rows)
        y = np.array(losses)
        X = self._impute(X)
        n_good, n_bad = kde_split_sizes(n, self.min_points_in_model, self.top_n_percent)
        idx = np.argsort(y, kind="stable")
        good = X[idx[:n_good]]
        bad = X[idx[n_good:n_good + n_bad]]
        if good.shape[0] <= d or bad.shape[0] <= d:
            return
        bad_kde = ProductKDE(bad, self._vartypes, self.min_bandwidth)
        wb = np.asarray(self._obs_w[b], dtype=float)[idx[n_good:n_good + n_bad]]
        if (wb != 1.0).any():
            bad_kde = _WeightedKDE(bad, wb, self._vartypes, self.min_bandwidth, bad_kde.bw)
        self.models[b] = (ProductKDE(good, self._vartypes, self.min_bandwidth), bad_kde)

    def _impute(self, X: np.ndarray) -> np.ndarray:
        nan = np.isnan(X)
        if not nan.any():
            return X
        X = X.copy()
        for j in np.flatnonzero(nan.any(axis=0)):
            obs = X[~nan[:, j], j]
            k = int(nan[:, j].sum())
            X[nan[:, j], j] = self._rng.choice(obs, k) if obs.size else 0.5
        return X

    def _sample_new(self, budget: float) -> np.ndarray:
        if not self.models:
            return self._sample(1)[0]
        if self._rng.random() < self.random_fraction:
            return self._sample(1)[0]
        good, bad = self.models[max(self.models)]
        rng = self._rng
        m = self.num_samples
        data = good.data[rng.integers(0, good.data.shape[0], m)]
        bw = np.maximum(good.bw, self.min_bandwidth)
        V = data.copy()
        cont = self._vartypes == 0
        if cont.any():
            from scipy.special import ndtr, ndtri

            mu = data[:, cont]
            sd = self.bandwidth_factor * bw[cont]
            lo = ndtr((0.0 - mu) / sd)
            hi = ndtr((1.0 - mu) / sd)
            u = rng.random(mu.shape)
            p = np.clip(lo + u * (hi - lo), 1e-300, 1 - 1e-16)
            V[:, cont] = np.clip(mu + sd * ndtri(p), 0.0, 1.0)
        cat = ~cont
        if cat.any():
            keep = rng.random((m, int(cat.sum()))) < (1.0 - bw[cat])
            rand = np.floor(rng.random((m, int(cat.sum()))) * self._vartypes[cat])
            V[:, cat] = np.where(keep, data[:, cat], rand)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            score = np.maximum(bad.pdf(V), 1e-32) / np.maximum(good.pdf(V), 1e-32)
        score[~np.isfinite(score)] = np.inf
        if not np.isfinite(score).any():
            return self._sample(1)[0]
        best = int(np.argmin(score))
        return self._from_model(V[best:best + 1])[0]


class _WeightedKDE:
    """Weighted mixture of product kernels with common bandwidths (``ProductKDE`` is
    unweighted): rows sharing a weight form one :class:`ProductKDE` with the given
    bandwidths, and the density is ``sum_g w_g n_g pdf_g(x) / sum_g w_g n_g``, i.e.
    ``sum_i w_i k_i(x) / sum_i w_i``."""

    def __init__(self, data: np.ndarray, weights: np.ndarray, vartypes: np.ndarray,
                 min_bandwidth: float, bw: np.ndarray):
        self.data = data
        self.bw = bw
        self._parts = []
        for w in np.unique(weights):
            rows = data[weights == w]
            self._parts.append((float(w) * rows.shape[0],
                                ProductKDE(rows, vartypes, min_bandwidth, bandwidth=bw)))
        self._total = sum(m for m, _ in self._parts)

    def pdf(self, X: np.ndarray) -> np.ndarray:
        return sum(m * k.pdf(X) for m, k in self._parts) / self._total
