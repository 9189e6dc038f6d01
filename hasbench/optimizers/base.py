"""The ask/tell optimizer interface, jobs, results, pruners and fixed-subspace search.

An optimizer proposes :class:`Job` s -- "train trial ``trial_id`` (config ``x``) up to
``fidelity``" -- through :meth:`Optimizer.ask` and learns from :meth:`Optimizer.tell`.
It never sees a clock or a benchmark: the simulator (:mod:`hasbench.simulate`) or a real
executor decides when jobs run. ``ask`` may return ``None`` ("nothing to do until a running
job reports"), which synchronous schedulers (successive halving, Hyperband, BOHB) use while a
rung is incomplete.

Randomness: every optimizer takes ``seed`` (int) and is deterministic given it and the order
of the results it is told. Two independent streams are derived with
``numpy.random.SeedSequence(seed).spawn``: one for configuration values (``_rng_cfg``; all
optimizers that draw uniform configurations consume it identically, so random search,
Hyperband and BOHB with ``random_fraction=1`` propose the same configurations for the same
seed) and one for every other decision (``_rng``). No global random state is used.

Subspace search (grouped sequential HIA, two-step architecture/training search): ``names``
restricts the searched hyperparameters; every other column takes its value from ``fixed``
(a partial config dict), or, when absent, the space default (an in-config fidelity such as
``hia-cnn``'s ``epochs`` takes the maximum fidelity). Models are fitted on the searched columns
only.

Pruners: an optimizer may carry a :class:`Pruner`; before a job is evaluated the simulator
asks it (with static features such as ``params``/``flops`` from the benchmark and the trial's
partial curve) whether to discard the job. A pruned job costs zero simulated time and is
reported back through :meth:`Optimizer.tell_pruned`.

Failed and pruned results: one rule for every optimizer
-------------------------------------------------------
A result is *pruned* when its status is ``"pruned"`` (:func:`is_pruned`: a pruner discarded
the job before evaluation) and *failed* when it is not pruned but its status is
``"crashed"`` or its loss is not finite (:func:`is_failed`). Either way it is a *failure*
(:func:`is_failure`): it carries no measurement, and every hasbench optimizer treats it the
same way:

1. It is never a member of anything that ranks measurements: not a population member
   (regularized evolution, DE), never a parent, never promoted, never an incumbent.
2. It is never counted in a rung or a quota: a rung's size (successive halving, Hyperband,
   BOHB, DEHB, ASHA) and a stage's trial count (staged search) count measured results only.
   What fills the slot a failure leaves is each scheduler's documented choice (see its
   docstring and ``docs/optimizers.md``); in short: a pruned job's slot is refilled by a
   new proposal (a pruner filters candidates, it does not shrink the schedule), a failed
   job's slot is not (it consumed its compute), and synchronous successive halving refills
   promotion slots that finite results cannot fill as HpBandSter does (``refill``).
3. Model-based samplers (BO, BOHB, TPE) may learn from it only as a *bad record*: the
   config, the fidelity it was asked at and a weight, ``failed_weight`` (default 1: a
   crashed run counts as a bad observation, as HpBandSter's BOHB puts it at loss ``+inf``)
   or ``pruned_weight`` (default 1: a pruned config is a bad observation, as Optuna's TPE
   ranks pruned trials below complete ones; DyESP's spec uses 0.5). A weight of 0 drops
   the record. :meth:`Optimizer._note_failure` applies the rule in ``tell`` (it returns
   ``True`` for a failure and stores the record), and :meth:`Optimizer.bad_records` hands
   the records to a model in model space. A bad record is never an observed loss.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidValueError, UnknownNameError, check_float, check_int
from ..spaces import Space

__all__ = ["Job", "Result", "Optimizer", "Pruner", "CallablePruner", "fidelity_ladder",
           "BadRecord", "is_pruned", "is_failed", "is_failure"]


@dataclass
class Job:
    """One unit of work proposed by an optimizer.

    Attributes
    ----------
    trial_id : int
        Identifies a configuration within one optimizer run (a trial may get several jobs at
        increasing fidelities).
    x : ndarray, shape (d,)
        The full encoded configuration (``space.encode`` codec, all ``space.names``).
    fidelity : float
        Train up to this fidelity (e.g. epochs).
    continues : bool
        ``True`` if this trial already ran at a lower fidelity (a promotion/continuation).
    resume_from : float
        Fidelity training resumes from (checkpoint); ``0`` = train from scratch. The
        simulator charges ``cost(resume_from -> fidelity)``.
    job_id : int
        Sequential number of the job within the optimizer run.
    info : dict
        Scheduler bookkeeping (bracket, rung ...), JSON-friendly scalars only.
    """

    trial_id: int
    x: np.ndarray
    fidelity: float
    continues: bool = False
    resume_from: float = 0.0
    job_id: int = -1
    info: dict = field(default_factory=dict)

    def config(self, space: Space) -> dict[str, Any]:
        """The configuration as a dict (decoded with ``space``)."""
        return space.decode(self.x[None, :])[0]


@dataclass
class Result:
    """What a job produced.

    Attributes
    ----------
    loss : float
        Objective as a loss (lower is better); ``inf`` for crashed/diverged runs.
    cost : float
        Seconds charged for the job.
    status : {"ok", "crashed", "pruned"}
    metrics : dict, optional
        Extra metric values (scalars).
    time : float, optional
        Simulated clock time at which the result was reported (the simulator sets it;
        ``None`` when unknown). Only optimizers with time budgets (staged search's
        ``stage_time``) read it.
    """

    loss: float
    cost: float = 0.0
    status: str = "ok"
    metrics: dict | None = None
    time: float | None = None


def _loss_of(result: Result | float) -> float:
    loss = float(result.loss if isinstance(result, Result) else result)
    return loss if math.isfinite(loss) else math.inf


def is_pruned(result: Result) -> bool:
    """``True`` if a pruner discarded the job (status ``"pruned"``)."""
    return result.status == "pruned"


def is_failed(result: Result) -> bool:
    """``True`` for a job that ran but gave no usable loss: status ``"crashed"`` or a loss
    that is not finite (NaN, +-inf). Pruned jobs are not failed (see :func:`is_pruned`)."""
    if result.status == "pruned":
        return False
    return result.status == "crashed" or not math.isfinite(float(result.loss))


def is_failure(result: Result) -> bool:
    """``True`` for a pruned or failed result: no measurement (the module's rule)."""
    return result.status != "ok" or not math.isfinite(float(result.loss))


@dataclass(frozen=True)
class BadRecord:
    """A failed or pruned job kept for model-based samplers (module docstring, rule 3).

    Attributes
    ----------
    x : ndarray, shape (d,)
        The job's full encoded configuration.
    fidelity : float
        The fidelity the job was asked at.
    weight : float
        Its weight relative to a real observation (``failed_weight`` / ``pruned_weight``).
    kind : {"failed", "pruned"}
    job_id : int
    """

    x: np.ndarray
    fidelity: float
    weight: float
    kind: str
    job_id: int


# --------------------------------------------------------------------------- pruners
class Pruner(ABC):
    """Decides, before evaluation and at zero simulated cost, whether to discard a job.

    The simulator calls :meth:`prune` for every job (after :meth:`Optimizer.ask`, before the
    job starts) when ``optimizer.pruner`` is set. ``features`` holds the static metrics named in
    :attr:`static_metrics` (read from the benchmark, e.g. ``params``, ``flops``) as floats, and
    ``"curve"``: a dict ``{fidelity: loss}`` of the trial's results so far (empty for a new
    trial). A pruner may keep state (e.g. an MLP fine-tuned on :meth:`observe` calls).
    """

    #: static metrics the simulator reads for every candidate (missing ones are skipped)
    static_metrics: tuple[str, ...] = ("params", "flops")

    @abstractmethod
    def prune(self, job: Job, features: Mapping[str, Any]) -> bool:
        """Return ``True`` to discard ``job`` without evaluating it."""

    def observe(self, job: Job, result: Result) -> None:  # noqa: B027 - optional hook
        """Called after every evaluated job (default: nothing)."""


class CallablePruner(Pruner):
    """Wrap a function ``fn(job, features) -> bool`` as a pruner.

    Examples
    --------
    >>> p = CallablePruner(lambda job, f: f["params"] > 1e6)
    """

    def __init__(self, fn, static_metrics: Sequence[str] = ("params", "flops")):
        if not callable(fn):
            raise InvalidValueError("fn", fn, "a callable (job, features) -> bool",
                                    "CallablePruner")
        self.fn = fn
        self.static_metrics = tuple(static_metrics)

    def prune(self, job: Job, features: Mapping[str, Any]) -> bool:
        return bool(self.fn(job, features))


# --------------------------------------------------------------------------- ladders
def _s_max(ratio: float, eta: int) -> int:
    """Largest s with eta**s <= ratio, counted by integer multiplication (no float log:
    ``log(243)/log(3)`` is 4.999...)."""
    s, p = 0, eta
    while p <= ratio * (1 + 1e-12):
        s += 1
        p *= eta
    return s


def fidelity_ladder(min_fidelity: float, max_fidelity: float, eta: int,
                    rung_mode: str = "geometric_down", integer: bool = False) -> np.ndarray:
    """Rung fidelities from low to high.

    ``geometric_down`` (HpBandSter, Hyperband paper): ``max * eta**-k`` for
    ``k = s_max..0`` with ``s_max = floor(log_eta(max/min))`` (counted with integers); the
    smallest rung may exceed ``min``. ``geometric_up`` (Syne Tune, ASHA paper):
    ``round(min * eta**k)`` while ``< max``, then ``max``. With ``integer=True`` the downward
    ladder is rounded to the nearest integer (ties up) and de-duplicated.

    Returns
    -------
    ndarray, shape (n_rungs,)
    """
    from ..errors import check_choice

    check_choice("rung_mode", rung_mode, ["geometric_down", "geometric_up"], "fidelity_ladder")
    if rung_mode == "geometric_down":
        s = _s_max(max_fidelity / min_fidelity, eta)
        lad = np.array([max_fidelity / eta ** k for k in range(s, -1, -1)], dtype=float)
        if integer:
            lad = np.floor(lad + 0.5)
            lad = np.clip(lad, math.ceil(min_fidelity), max_fidelity)
            lad = np.unique(lad)
        return lad
    out = []
    k = 0
    while True:
        v = float(round(min_fidelity * eta ** k)) if integer or float(min_fidelity).is_integer() \
            else min_fidelity * eta ** k
        if v >= max_fidelity * (1 - 1e-12):
            break
        if not out or v > out[-1]:
            out.append(v)
        k += 1
    out.append(float(max_fidelity))
    return np.array(out, dtype=float)


# --------------------------------------------------------------------------- optimizer
class Optimizer(ABC):
    """Base class of all hasbench optimizers (ask/tell).

    Parameters
    ----------
    space : Space
        The search space.
    seed : int
        Seed of every random decision (no global state is used).
    names : sequence of str, optional
        Hyperparameters to search (default: ``space.search_names``, which excludes an
        in-config fidelity such as ``hia-cnn``'s ``epochs``; a full-budget optimizer may
        include it, and then each job's fidelity is the config's own value). A group name of ``space.metadata['groups']`` (e.g.
        ``"architecture"``) is expanded.
    fixed : dict, optional
        Values of hyperparameters not searched (partial configuration). Unsearched, unfixed
        columns take the space default; an in-config fidelity takes the maximum fidelity.
    min_fidelity, max_fidelity : float, optional
        Fidelity range used by multi-fidelity optimizers (default: the space's fidelity
        bounds).
    pruner : Pruner, optional
        Pre-evaluation filter (see :class:`Pruner`).
    points_to_evaluate : sequence of dict, optional
        Configurations proposed first, in order, before any sampled one.
    failed_weight, pruned_weight : float
        Weights (>= 0) of failed and pruned results as bad records for model-based
        samplers (module docstring, rule 3; default 1 each, 0 drops them). Optimizers
        without a model ignore them.
    """

    #: registry name
    name: str = "optimizer"
    #: whether the optimizer chooses fidelities below the maximum
    multi_fidelity: bool = False

    def __init__(self, space: Space, seed: int = 0, *, names: Sequence[str] | None = None,
                 fixed: Mapping[str, Any] | None = None, min_fidelity: float | None = None,
                 max_fidelity: float | None = None, pruner: Pruner | None = None,
                 points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
                 failed_weight: float = 1.0, pruned_weight: float = 1.0):
        where = type(self).__name__
        if not isinstance(space, Space):
            raise InvalidValueError("space", type(space).__name__, "a hasbench Space", where)
        self.space = space
        self.seed = check_int("seed", seed, 0, None, where)
        ss = np.random.SeedSequence(self.seed)
        c1, c2 = ss.spawn(2)
        self._rng_cfg = np.random.default_rng(c1)
        self._rng = np.random.default_rng(c2)
        if pruner is not None and not isinstance(pruner, Pruner):
            raise InvalidValueError("pruner", type(pruner).__name__, "a hasbench Pruner or None",
                                    where)
        self.pruner = pruner
        fid = space.fidelities[0] if space.fidelities else None
        self._fid = fid
        lo = float(fid.lower) if fid is not None else 1.0
        hi = float(fid.upper) if fid is not None else 1.0
        self.min_fidelity = lo if min_fidelity is None else check_float(
            "min_fidelity", min_fidelity, lo, hi, where)
        self.max_fidelity = hi if max_fidelity is None else check_float(
            "max_fidelity", max_fidelity, self.min_fidelity, hi, where)
        if fid is not None and fid.is_int:
            for nm, v in (("min_fidelity", self.min_fidelity), ("max_fidelity", self.max_fidelity)):
                if not float(v).is_integer():
                    raise InvalidValueError(nm, v, f"an integer (fidelity {fid.name!r} is "
                                            "integer)", where)
        self._setup_subspace(names, fixed, where)
        self._points = [dict(p) for p in (points_to_evaluate or [])]
        self._points_X = space.encode(self._points) if self._points else np.zeros((0, space.dim))
        if self._points:
            self._points_X[:, self._fixed_cols] = self._x_base[self._fixed_cols]
        self._n_points_used = 0
        self._next_trial = 0
        self._next_job = 0
        self.failed_weight = check_float("failed_weight", failed_weight, 0.0, None, where)
        self.pruned_weight = check_float("pruned_weight", pruned_weight, 0.0, None, where)
        #: failed/pruned jobs with a positive weight, in the order they were told
        self._bad_records: list[BadRecord] = []

    # ------------------------------------------------------------ subspace
    def _setup_subspace(self, names, fixed, where):
        space = self.space
        fid_in_cfg = (self._fid is not None and self._fid.in_config
                      and self._fid.name in space.names)
        if names is None:
            names = space.search_names
        else:
            if isinstance(names, str):
                names = [names]
            groups = space.metadata.get("groups", {}) if isinstance(space.metadata, dict) else {}
            expanded: list[str] = []
            for n in names:
                if n in groups and n not in space.names:
                    expanded.extend(groups[n])
                elif n in space.names:
                    expanded.append(n)
                else:
                    raise UnknownNameError("hyperparameter or group", n,
                                           list(space.names) + sorted(groups), where)
            names = [n for n in space.names if n in set(expanded)]
            if self.multi_fidelity and fid_in_cfg and self._fid.name in names:
                raise InvalidValueError("names", self._fid.name, "hyperparameters other than the "
                                        "fidelity", where, hint="a multi-fidelity optimizer sets "
                                        "the fidelity itself")
        if not names:
            raise InvalidValueError("names", list(names), "at least one hyperparameter", where)
        fixed = dict(fixed or {})
        for n in fixed:
            if n not in space.names:
                raise UnknownNameError("hyperparameter", n, space.names, f"{where} fixed")
            if n in names:
                raise InvalidValueError("fixed", n, "hyperparameters that are not searched",
                                        where, hint="remove it from 'names' or from 'fixed'")
        base = space.default()
        if fid_in_cfg:
            base[self._fid.name] = int(self.max_fidelity) if self._fid.is_int \
                else self.max_fidelity
        base.update(fixed)
        self._x_base = space.encode([base])[0]
        self.names = list(names)
        self.fixed = fixed
        self._cols = np.array([space.names.index(n) for n in self.names], dtype=int)
        mask = np.ones(space.dim, dtype=bool)
        mask[self._cols] = False
        self._fixed_cols = np.flatnonzero(mask)
        self._fid_col = space.names.index(self._fid.name) if fid_in_cfg else None
        cat = space.is_categorical()[self._cols]
        nch = space.n_choices()[self._cols]
        #: model-space column types: 0 = continuous (unit interval), k = categorical
        self._vartypes = np.where(cat, nch, 0).astype(int)

    # ------------------------------------------------------------ sampling helpers
    def _sample(self, n: int) -> np.ndarray:
        """``n`` uniform configurations (encoded, full width) from the config stream;
        ``points_to_evaluate`` come first."""
        out = np.empty((n, self.space.dim))
        k = 0
        while k < n and self._n_points_used < len(self._points):
            out[k] = self._points_X[self._n_points_used]
            self._n_points_used += 1
            k += 1
        if k < n:
            U = self._rng_cfg.random((n - k, self._cols.size))
            out[k:] = self._from_unit_cols(U)
        return out

    def _from_unit_cols(self, U: np.ndarray) -> np.ndarray:
        full = np.full((U.shape[0], self.space.dim), 0.5)
        full[:, self._cols] = U
        X = self.space.from_unit(full)
        X[:, self._fixed_cols] = self._x_base[self._fixed_cols]
        return X

    def _to_model(self, X: np.ndarray) -> np.ndarray:
        """Encoded rows -> model space over the searched columns: unit interval for numeric
        and ordinal columns, the choice index for categorical ones. NaN (inactive) stays NaN."""
        X = np.atleast_2d(X)
        U = self.space.to_unit(X)[:, self._cols]
        cat = self._vartypes > 0
        if cat.any():
            U[:, cat] = X[:, self._cols[cat]]
        return U

    def _from_model(self, V: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`_to_model` (numeric values are clipped into the unit interval)."""
        V = np.atleast_2d(np.asarray(V, dtype=float))
        U = np.clip(V.copy(), 0.0, 1.0 - 1e-12)
        cat = self._vartypes > 0
        if cat.any():
            U[:, cat] = (np.round(V[:, cat]) + 0.5) / self._vartypes[cat]
        return self._from_unit_cols(U)

    def _new_trial_id(self) -> int:
        t = self._next_trial
        self._next_trial += 1
        return t

    def _full_fidelity(self, x: np.ndarray) -> float:
        """Fidelity of a full-budget evaluation of ``x``: with an in-config fidelity (such as
        ``hia-cnn``'s ``epochs``) the config's own value, whether searched, fixed (``fixed``)
        or, when neither, :attr:`max_fidelity` (the value :meth:`_setup_subspace` puts in the
        column); without one, :attr:`max_fidelity`."""
        if self._fid_col is not None:
            v = float(x[self._fid_col])
            return float(np.round(v)) if self._fid.is_int else v
        return self.max_fidelity

    def _make_job(self, trial_id: int, x: np.ndarray, fidelity: float, continues: bool = False,
                  resume_from: float = 0.0, **info: Any) -> Job:
        j = Job(trial_id, x, float(fidelity), continues, float(resume_from), self._next_job,
                info)
        self._next_job += 1
        return j

    # ------------------------------------------------------------ interface
    @abstractmethod
    def ask(self) -> Job | None:
        """Next job, or ``None`` when nothing can start before a running job reports."""

    @abstractmethod
    def tell(self, job: Job, result: Result) -> None:
        """Report the result of a job returned by :meth:`ask`."""

    # ------------------------------------------------------------ failure rule
    def _note_failure(self, job: Job, result: Result) -> bool:
        """Apply the failure rule (module docstring) to a told result: return ``True`` if
        ``result`` is pruned or failed, after storing it as a :class:`BadRecord` when its
        weight is positive; ``False`` for a measurement. Every optimizer's ``tell`` calls it
        first and then never lets a failure into a population, rung count or model's
        observations."""
        if result.status == "ok" and math.isfinite(result.loss):
            return False
        pruned = result.status == "pruned"
        w = self._failure_weight(result)
        if w > 0:
            self._bad_records.append(BadRecord(job.x, float(job.fidelity), w,
                                               "pruned" if pruned else "failed", job.job_id))
        return True

    def _failure_weight(self, result: Result) -> float:
        """Bad-record weight of a failure: ``pruned_weight`` or ``failed_weight``."""
        return self.pruned_weight if result.status == "pruned" else self.failed_weight

    def bad_records(self, fidelity: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Bad records in model space (:meth:`_to_model`, searched columns) and their
        weights: ``(V (m, len(names)), w (m,))``; only those asked at ``fidelity`` if given.
        """
        recs = [r for r in self._bad_records if fidelity is None or r.fidelity == fidelity]
        if not recs:
            return np.zeros((0, len(self.names))), np.zeros(0)
        V = self._to_model(np.array([r.x for r in recs]))
        return V, np.array([r.weight for r in recs], dtype=float)

    def tell_pruned(self, job: Job, features: Mapping[str, Any]) -> None:
        """A job was discarded by :attr:`pruner` without evaluation. Default: report it as a
        result with ``loss=inf`` and status ``"pruned"`` (synchronous schedulers need every
        rung member to report)."""
        self.tell(job, Result(math.inf, 0.0, "pruned"))

    def upcoming(self) -> list[tuple[int, np.ndarray]]:
        """Trials already sampled but not yet asked for, ``[(trial_id, x (d,))]``, so the
        simulator can query them in one batched benchmark call. Default: none."""
        return []

    @property
    def fidelity_levels(self) -> np.ndarray | None:
        """Every fidelity this optimizer may ask for (``None``: any). Lets the simulator read
        all of a trial's needed fidelities in one query."""
        if self._fid_col is not None and self._fid_col in self._cols:
            return None
        if self._fid_col is not None:  # fixed, or max_fidelity (see _full_fidelity)
            return np.array([self._full_fidelity(self._x_base)])
        return np.array([self.max_fidelity])

    @property
    def finished(self) -> bool:
        """``True`` once the optimizer will never propose another job."""
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(space={self.space.name!r}, seed={self.seed})"
