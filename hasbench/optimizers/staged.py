"""Staged (grouped sequential) search: optimise groups of hyperparameters one after another.

The interface for two-step search (architecture first, then training hyperparameters, from
``space.metadata['groups']``) and for grouped sequential HIA (Wang et al. 2025): stage ``k``
runs a fresh base optimizer over the hyperparameters of group ``k`` with every other
hyperparameter fixed -- to the best values found in earlier stages, else to the user's
``fixed`` values, else to the space default. A stage stops asking once its budget is spent
(``trials`` measured jobs, or ``stage_time`` simulated seconds) and ends when every job it
asked has reported (or its base optimizer has finished); the best of its measured results
fixes that group for later stages (the stage's incumbent, ties: earliest): for a
multi-fidelity base the lowest loss among the finite results at the highest fidelity that has
one; for a full-budget base the lowest loss of all (each job is one config's full evaluation,
also when the base searches an in-config fidelity such as ``epochs``, whose jobs then differ
in fidelity). A stage whose every result failed leaves its group at the working values
(hasbench's choice; its ``stage_log`` entry has ``best=None``).

``stage_fidelity`` runs a full-budget stage at a lower budget (the two-step baseline's
architecture stage at the smallest budget, Zela et al. 2018 spec section 5).
``stage_log`` records per stage its names, budgets, first and last job id (a stage's jobs
have consecutive ids), the counts of measured, failed and pruned jobs, the simulated start
and end times and the best values.

Multi-fidelity bases (Hyperband, BOHB, ASHA, DEHB, SH): jobs pass through unchanged in
meaning -- a continuation stays a continuation (``continues``, ``resume_from``) of the same
outer trial (each base trial maps to one trial id of the staged run), so the simulator
resumes checkpoints and keeps the trial's benchmark seed. An in-config fidelity (``hia-cnn``'s
``epochs``) is left out of every stage's searched names (the base sets the fidelity).

Failed and pruned results (the rule of :mod:`hasbench.optimizers.base`): a pruned job does
not count toward a stage's quota (the stage asks for another); a failed one counts (it
ran) but is never a stage's best. Pruned jobs reach the base's ``tell_pruned``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidValueError, check_float, check_int
from .base import Job, Optimizer, Result, is_failed, is_failure

__all__ = ["StagedSearch"]


class StagedSearch(Optimizer):
    """Sequential search over groups of hyperparameters.

    Parameters
    ----------
    stages : sequence of (str or sequence of str), optional
        Groups in search order: group names of ``space.metadata['groups']`` or lists of
        hyperparameter names. Default: the space's groups in their stored order (``hia-cnn``:
        architecture, then training).
    trials : int or sequence of int, optional
        Per stage, the number of measured jobs (ok or failed; pruned ones do not count) after
        which the stage stops asking. For a full-budget base one job is one trial; for a
        multi-fidelity base every rung evaluation counts. Default 50 each, unless
        ``stage_time`` is given.
    stage_time : float or sequence of float, optional
        Per stage, simulated seconds (from the stage's first job to the latest reported
        result) after which it stops asking. Needs results that carry the simulated clock
        (:attr:`Result.time`, set by the simulator). With both budgets, a stage stops at
        whichever is reached first.
    stage_fidelity : float or sequence of float, optional
        Per stage, the budget a full-budget base evaluates at (its ``max_fidelity``; default
        the maximum fidelity). A stage below the maximum must not search an in-config
        fidelity, and a multi-fidelity base takes none.
    base : str
        Registry name of the per-stage optimizer (default ``"tpe"``); full-budget and
        multi-fidelity optimizers are accepted (module docstring).
    base_kwargs : dict, optional
        Extra keyword arguments of the base optimizer.
    Other parameters: see :class:`~hasbench.optimizers.base.Optimizer`; ``names`` is not
    accepted (the stages say what is searched).

    Attributes
    ----------
    stage_best : list of dict
        Best values of each finished stage's hyperparameters.
    stage_log : list of dict
        One entry per started stage (module docstring).
    """

    name = "staged"

    def __init__(self, space, seed: int = 0, *, stages: Sequence[Any] | None = None,
                 trials: int | Sequence[int] | None = None,
                 stage_time: float | Sequence[float] | None = None,
                 stage_fidelity: float | Sequence[float] | None = None, base: str = "tpe",
                 base_kwargs: dict | None = None, fixed: dict | None = None, **kw: Any):
        where = "StagedSearch"
        if "names" in kw:
            raise InvalidValueError("names", kw["names"], "not set (use 'stages')", where)
        super().__init__(space, seed, fixed=fixed, names=list(space.names)
                         if not fixed else [n for n in space.names if n not in fixed], **kw)
        from . import _resolve, get_optimizer

        base_cls = _resolve(base)
        self._base_mf = bool(getattr(base_cls, "multi_fidelity", False))
        fid = self._fid
        fid_name = fid.name if fid is not None and fid.in_config else None
        groups = space.metadata.get("groups", {}) if isinstance(space.metadata, dict) else {}
        if stages is None:
            if not groups:
                raise InvalidValueError("stages", None, "a list of groups (the space has no "
                                        "metadata['groups'])", where)
            stages = list(groups)
        self.stages: list[list[str]] = []
        for st in stages:
            names = groups[st] if isinstance(st, str) and st in groups else (
                [st] if isinstance(st, str) else list(st))
            for n in names:
                if n not in space.names:
                    raise InvalidValueError("stages", n, list(space.names) + sorted(groups),
                                            where)
            self.stages.append([n for n in names if n not in (fixed or {})
                                and not (self._base_mf and n == fid_name)])
        for i, st in enumerate(self.stages):
            if not st:
                raise InvalidValueError("stages", stages[i], "a group with at least one "
                                        "searched hyperparameter", where)
        n_st = len(self.stages)
        if trials is None and stage_time is None:
            trials = 50
        self.trials = self._per_stage("trials", trials, n_st, int)
        self.stage_time = self._per_stage("stage_time", stage_time, n_st, float)
        self.stage_fidelity = self._per_stage("stage_fidelity", stage_fidelity, n_st, float)
        if self.stage_fidelity is not None:
            for i, f in enumerate(self.stage_fidelity):
                check_float("stage_fidelity", f, self.min_fidelity, self.max_fidelity, where)
                if self._base_mf and f != self.max_fidelity:
                    raise InvalidValueError("stage_fidelity", stage_fidelity, "not set for a "
                                            f"multi-fidelity base ({base!r} chooses its "
                                            "fidelities)", where)
                if f != self.max_fidelity and fid_name in self.stages[i]:
                    raise InvalidValueError("stage_fidelity", stage_fidelity,
                                            f"the maximum fidelity for stage {i}, which "
                                            f"searches the fidelity {fid_name!r}", where)
                if self._fid is not None and self._fid.is_int and not float(f).is_integer():
                    raise InvalidValueError("stage_fidelity", stage_fidelity, "integers "
                                            f"(fidelity {self._fid.name!r} is integer)", where)
        self._factory = get_optimizer
        self.base = base
        self.base_kwargs = dict(base_kwargs or {})
        self._seeds = self._stage_seeds(n_st)
        self._fixed_now: dict[str, Any] = dict(fixed or {})
        self.stage_best: list[dict] = []
        self.stage_log: list[dict] = []
        self._stage = -1
        self._child: Optimizer | None = None
        self._asked = 0        # measured jobs counted toward the stage's quota (+ pending)
        self._outstanding = 0
        self._t0: float | None = None   # stage start (simulated time)
        self._now = 0.0                 # latest reported simulated time
        self._clock = False             # whether any result carried Result.time
        self._told: list[tuple[float, float, int, np.ndarray]] = []
        self._jobs: dict[int, Job] = {}
        self._trial_map: dict[tuple[int, int], int] = {}
        self._next_stage()
        self.multi_fidelity = self._base_mf

    @staticmethod
    def _per_stage(name, value, n_st, kind):
        where = "StagedSearch"
        if value is None:
            return None
        vals = [value] * n_st if isinstance(value, (int, float, np.integer, np.floating)) \
            and not isinstance(value, bool) else list(value)
        if len(vals) != n_st:
            raise InvalidValueError(name, value, f"a number or {n_st} numbers (one per stage)",
                                    where)
        if kind is int:
            return [check_int(name, v, 1, None, where) for v in vals]
        return [check_float(name, v, 0.0, None, where, low_open=True) for v in vals]

    def _stage_seeds(self, n_st: int) -> list[int]:
        """Seeds of the stages' base optimizers (derived from ``seed``)."""
        return [int(s) for s in np.random.SeedSequence([self.seed, 7]).generate_state(n_st)]

    def _stage_best(self) -> tuple[dict | None, np.ndarray | None]:
        """The finished stage's best values (module docstring) and its encoded config."""
        ok = [r for r in self._told if math.isfinite(r[0])]
        if not ok:
            return None, None
        if self._base_mf:
            top = max(r[1] for r in ok)
            ok = [r for r in ok if r[1] == top]
        _, _, _, x = min(ok, key=lambda r: (r[0], r[2]))
        cfg = self.space.decode(x[None, :])[0]
        return {n: cfg[n] for n in self.stages[self._stage] if n in cfg}, x

    def _next_stage(self) -> None:
        if self._stage >= 0:
            best, _ = self._stage_best()
            entry = self.stage_log[-1]
            entry["best"] = best
            # simulated times are known only from results that carry the clock
            entry["end_time"] = self._now if self._clock else None
            if not self._clock:
                entry["start_time"] = None
            if best is None:  # every result failed: the group keeps its working values
                cfg = self.space.decode(self._child._x_base[None, :])[0]
                best = {n: cfg[n] for n in self.stages[self._stage] if n in cfg}
            self.stage_best.append(best)
            self._fixed_now.update(best)
        self._stage += 1
        self._asked = 0
        self._outstanding = 0
        self._t0 = None
        self._told = []
        if self._stage >= len(self.stages):
            self._child = None
            return
        k = self._stage
        names = self.stages[k]
        fixed = {n: v for n, v in self._fixed_now.items() if n not in names}
        top = self.max_fidelity if self.stage_fidelity is None else self.stage_fidelity[k]
        self._child = self._factory(self.base, self.space, int(self._seeds[k]),
                                    names=names, fixed=fixed, min_fidelity=self.min_fidelity,
                                    max_fidelity=top, **self.base_kwargs)
        self.stage_log.append({
            "stage": k, "names": list(names),
            "trials": None if self.trials is None else self.trials[k],
            "stage_time": None if self.stage_time is None else self.stage_time[k],
            "fidelity": top, "first_job": None, "last_job": None, "n_measured": 0,
            "n_failed": 0, "n_pruned": 0, "start_time": None, "end_time": None,
            "best": None})

    @property
    def stage(self) -> int:
        """Index of the running stage (``len(stages)`` when done)."""
        return self._stage

    def _budget_spent(self) -> bool:
        k = self._stage
        if self.trials is not None and self._asked >= self.trials[k]:
            return True
        return (self.stage_time is not None and self._t0 is not None
                and self._now - self._t0 >= self.stage_time[k])

    def ask(self) -> Job | None:
        if self._child is None or self._budget_spent():
            return None
        cj = self._child.ask()
        if cj is None:
            return None
        entry = self.stage_log[-1]
        if self._t0 is None:
            self._t0 = self._now
            entry["start_time"] = self._now
        self._asked += 1
        self._outstanding += 1
        key = (self._stage, cj.trial_id)
        t = self._trial_map.get(key)
        if t is None:
            t = self._trial_map[key] = self._new_trial_id()
        job = self._make_job(t, cj.x, cj.fidelity, cj.continues, cj.resume_from,
                             **{**cj.info, "stage": self._stage})
        self._jobs[job.job_id] = cj
        if entry["first_job"] is None:
            entry["first_job"] = job.job_id
        entry["last_job"] = job.job_id
        return job

    def _after(self, job: Job) -> None:
        self._outstanding -= 1
        if self._outstanding == 0 and (self._budget_spent() or self._child.finished):
            self._next_stage()

    def tell(self, job: Job, result: Result) -> None:
        if result.status == "pruned":
            self._pruned(job, result)
            self._child.tell(self._jobs.pop(job.job_id), result)
            self._after(job)
            return
        if result.time is not None:
            self._clock = True
            self._now = max(self._now, float(result.time))
        elif self.stage_time is not None:
            raise InvalidValueError("result.time", None, "the simulated time of the report",
                                    "StagedSearch", hint="stage_time needs a simulator that "
                                    "sets Result.time; use trials= otherwise")
        cj = self._jobs.pop(job.job_id)
        self._child.tell(cj, result)
        entry = self.stage_log[-1]
        entry["n_measured"] += 1
        if is_failed(result):
            entry["n_failed"] += 1
        loss = math.inf if is_failure(result) else float(result.loss)
        self._told.append((loss, float(job.fidelity), job.job_id, job.x))
        self._after(job)

    def tell_pruned(self, job: Job, features: Mapping[str, Any]) -> None:
        self._pruned(job, None)
        self._child.tell_pruned(self._jobs.pop(job.job_id), features)
        self._after(job)

    def _pruned(self, job: Job, result: Result | None) -> None:
        """A pruned job does not count toward the stage's quota (base module rule)."""
        self._asked -= 1
        self.stage_log[-1]["n_pruned"] += 1
        self._note_failure(job, result or Result(math.inf, 0.0, "pruned"))

    @property
    def fidelity_levels(self):
        if self._base_mf:
            return self._child.fidelity_levels if self._child is not None else None
        fid = self._fid
        if fid is not None and fid.in_config and any(fid.name in s for s in self.stages):
            return None
        if self.stage_fidelity is not None:
            return np.unique(np.array(self.stage_fidelity + [self.max_fidelity]))
        return np.array([self.max_fidelity])

    @property
    def finished(self) -> bool:
        return self._child is None
