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
and end times and the best values. Every job carries its stage in ``Job.info['stage']``,
which the simulator writes into the trace's ``stage`` column.

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

from ..errors import InvalidValueError, UnknownNameError, check_choice, check_float, check_int
from .base import Job, Optimizer, Result, is_failed, is_failure

__all__ = ["StagedSearch", "TwoStepSearch", "trace_stages"]


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
        # a full-budget base asks its config's own in-config fidelity, also when an earlier
        # stage (or ``fixed``) set it (Optimizer._full_fidelity)
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
        levels = [self.max_fidelity] + list(self.stage_fidelity or [])
        if fid is not None and fid.in_config and fid.name in self.fixed:
            levels.append(self._full_fidelity(self._x_base))  # a user-fixed fidelity
        return np.unique(np.array(levels, dtype=float))

    @property
    def finished(self) -> bool:
        return self._child is None


def trace_stages(trace: Any, trials: Sequence[int] | None = None,
                 stage_time: Sequence[float] | None = None) -> np.ndarray:
    """The stage of every row of a staged run's trace (aligned with ``trace.frame``).

    A trace of schema version 3 or later records each job's stage in its ``stage`` column
    (the stage that asked for the job, :class:`StagedSearch` ``Job.info['stage']``); without
    ``trials``/``stage_time`` that column is returned as it is. Older traces have no such
    column; for them (or when ``trials``/``stage_time`` are given) the stages are rebuilt
    from the rule the optimizer applies: a stage's jobs have consecutive job ids; a job
    belongs to the running stage while fewer than ``trials[k]`` non-pruned jobs of the stage came before it and its
    start is less than ``stage_time[k]`` simulated seconds after the stage's first job.
    ``trials``/``stage_time`` default to those of the optimizer rebuilt from the trace's
    metadata (its registry name and ``optimizer_kwargs``; pass them when the run was given an
    optimizer instance). Exact for :class:`StagedSearch`, :class:`TwoStepSearch` and
    :class:`~hasbench.optimizers.grouped.GroupedSequential` runs without ``count_overhead``
    whose base optimizers never finish by themselves (TPE, random search, BO, ASHA, RE);
    the ``stage_log`` attribute of the optimizer instance is the direct record.
    """
    frame = trace.frame
    if trials is None and stage_time is None and "stage" in frame.columns:
        return frame["stage"].to_numpy(dtype=np.int64).copy()
    if trials is None and stage_time is None:
        from ..spaces import Space
        from . import get_optimizer

        meta = trace.meta
        opt = get_optimizer(meta["optimizer"], Space.from_json(meta["space"]),
                            seed=int(meta["seed"]), **dict(meta.get("optimizer_kwargs") or {}))
        if not isinstance(opt, StagedSearch):
            raise InvalidValueError("trace", meta["optimizer"], "a trace of a staged "
                                    "optimizer (staged, two-step, grouped-sequential)",
                                    "trace_stages")
        trials, stage_time = opt.trials, opt.stage_time
    n_st = len(trials if trials is not None else stage_time)
    order = np.argsort(frame["job"].to_numpy(), kind="stable")
    start = frame["start"].to_numpy(dtype=float)
    pruned = frame["status"].to_numpy() == "pruned"
    out = np.full(len(frame), -1, dtype=np.int64)
    k, count, t0 = 0, 0, None
    for i in order:
        while True:
            if k >= n_st:
                raise InvalidValueError("trace", f"job {int(frame['job'].iloc[i])}",
                                        f"a run of {n_st} stages with these budgets",
                                        "trace_stages", hint="more jobs than the budgets "
                                        "allow: pass the run's trials/stage_time")
            if t0 is None:
                t0 = start[i]
            if (trials is not None and count >= trials[k]) or \
                    (stage_time is not None and start[i] - t0 >= stage_time[k]):
                k, count, t0 = k + 1, 0, None
                continue
            break
        out[i] = k
        if not pruned[i]:
            count += 1
    return out


class TwoStepSearch(StagedSearch):
    """Two-step search: the architecture first, with default training hyperparameters, then
    the training hyperparameters of the best architecture (the baseline of Zela et al. 2018's
    claim that separate optimisation can be suboptimal; spec
    ``shared/specs/zela2018_joint_bohb.md`` section 5). *Joint* search is any optimizer on the
    whole space.

    The spec's two-stage baseline is "architecture search with fixed default HPs on the
    smallest budget, then HPO of the best architecture on the full budget"; the paper's exact
    protocol was not retrieved. hasbench's choices, each a parameter:

    * the budget split: ``arch_fraction=0.5`` of the total, in trials (``n_trials``, default
      100) or, with ``total_time``, in simulated seconds (``stage_time``; both caps apply when
      both are given);
    * ``arch_fidelity``: the architecture step evaluates at the smallest fidelity
      (``"min"``, default for full-budget bases: 1 of 27 epochs, the same ratio as Zela's
      400 s of 10,800 s), ``"max"`` or a number; a multi-fidelity base (BOHB, Hyperband ...)
      chooses its own fidelities in both steps and takes only ``"max"`` (its default);
    * the training step searches the space's training group at the full budget; an in-config
      fidelity in that group (``hia-cnn``'s ``epochs``) stays at the maximum unless
      ``search_fidelity=True`` (the joint optimizers search ``space.search_names``, which
      leaves it out, so the two compare on the same hyperparameters);
    * the best architecture is the stage's lowest observed loss (ties: earliest;
      :class:`StagedSearch`), the groups are ``space.metadata['groups'][arch_group]`` and
      ``[train_group]``.

    Parameters
    ----------
    n_trials : int, optional
        Total trials (default 100 unless ``total_time`` is given).
    total_time : float, optional
        Total simulated seconds, split by ``arch_fraction``.
    arch_fraction : float
        Share of the budget for the architecture step, in (0, 1) (default 0.5).
    arch_fidelity : {"min", "max"} or float, optional
        Fidelity of the architecture step (default: "min" for a full-budget base, "max" for
        a multi-fidelity one).
    search_fidelity : bool
        Search an in-config fidelity in the training step (default False).
    arch_group, train_group : str
        Group names in ``space.metadata['groups']`` (default "architecture", "training").
    base, base_kwargs, fixed
        As :class:`StagedSearch` (default base ``"tpe"``).
    """

    name = "two-step"

    def __init__(self, space, seed: int = 0, *, n_trials: int | None = None,
                 total_time: float | None = None, arch_fraction: float = 0.5,
                 arch_fidelity: str | float | None = None, search_fidelity: bool = False,
                 arch_group: str = "architecture", train_group: str = "training",
                 base: str = "tpe", base_kwargs: dict | None = None,
                 fixed: dict | None = None, **kw: Any):
        where = "TwoStepSearch"
        for k in ("stages", "trials", "stage_time", "stage_fidelity", "names"):
            if k in kw:
                raise InvalidValueError(k, kw[k], "not set (two-step takes n_trials, "
                                        "total_time and arch_fraction)", where)
        from ..spaces import Space
        from . import _resolve

        if not isinstance(space, Space):
            raise InvalidValueError("space", type(space).__name__, "a hasbench Space", where)
        groups = space.metadata.get("groups", {}) if isinstance(space.metadata, dict) else {}
        for nm, g in (("arch_group", arch_group), ("train_group", train_group)):
            if not isinstance(g, str) or g not in groups:
                raise UnknownNameError(f"group ({nm})", g, sorted(groups), where)
        if arch_group == train_group:
            raise InvalidValueError("train_group", train_group, f"a group other than "
                                    f"arch_group={arch_group!r}", where)
        self.arch_fraction = check_float("arch_fraction", arch_fraction, 0.0, 1.0, where,
                                         low_open=True, high_open=True)
        if not isinstance(search_fidelity, (bool, np.bool_)):
            raise InvalidValueError("search_fidelity", search_fidelity, "True or False", where)
        self.search_fidelity = bool(search_fidelity)
        if total_time is not None:
            self.total_time = check_float("total_time", total_time, 0.0, None, where,
                                          low_open=True)
        else:
            self.total_time = None
            if n_trials is None:
                n_trials = 100
        trials = stage_time = None
        if n_trials is not None:
            n = check_int("n_trials", n_trials, 2, None, where)
            n1 = min(max(int(round(n * self.arch_fraction)), 1), n - 1)
            trials = [n1, n - n1]
        self.n_trials = None if n_trials is None else int(n_trials)
        if self.total_time is not None:
            stage_time = [self.total_time * self.arch_fraction,
                          self.total_time * (1 - self.arch_fraction)]
        mf = bool(getattr(_resolve(base), "multi_fidelity", False))
        fid = space.fidelities[0] if space.fidelities else None
        lo = float(kw.get("min_fidelity", fid.lower if fid is not None else 1.0))
        hi = float(kw.get("max_fidelity", fid.upper if fid is not None else 1.0))
        if arch_fidelity is None:
            arch_fidelity = "max" if mf else "min"
        if isinstance(arch_fidelity, str):
            check_choice("arch_fidelity", arch_fidelity, ["min", "max"], where)
            f_arch = lo if arch_fidelity == "min" else hi
        else:
            f_arch = check_float("arch_fidelity", arch_fidelity, lo, hi, where)
        if mf and f_arch != hi:
            raise InvalidValueError("arch_fidelity", arch_fidelity, "'max' for a "
                                    f"multi-fidelity base ({base!r} chooses its fidelities)",
                                    where)
        self.arch_fidelity = f_arch
        fid_name = fid.name if fid is not None and fid.in_config else None
        arch = list(groups[arch_group])
        train = [n for n in groups[train_group]
                 if self.search_fidelity or n != fid_name]
        self.arch_group, self.train_group = arch_group, train_group
        super().__init__(space, seed, stages=[arch, train], trials=trials,
                         stage_time=stage_time, stage_fidelity=None if mf else [f_arch, hi],
                         base=base, base_kwargs=base_kwargs, fixed=fixed, **kw)

    @property
    def best_architecture(self) -> dict | None:
        """The architecture chosen by the first step (``None`` while it runs)."""
        return dict(self.stage_best[0]) if self.stage_best else None
