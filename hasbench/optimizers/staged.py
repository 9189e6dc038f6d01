"""Staged (grouped sequential) search: optimise groups of hyperparameters one after another.

The interface for two-step search (architecture first, then training hyperparameters, from
``space.metadata['groups']``) and for grouped sequential HIA (Wang et al. 2025): stage ``k``
runs a fresh base optimizer over the hyperparameters of group ``k`` with every other
hyperparameter fixed -- to the best values found in earlier stages, else to the user's
``fixed`` values, else to the space default. A stage ends when its trials have all reported;
the best of its configs (lowest loss, ties: earliest) fixes that group for later stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidValueError, check_int
from .base import Job, Optimizer, Result, _loss_of

__all__ = ["StagedSearch"]


class StagedSearch(Optimizer):
    """Sequential search over groups of hyperparameters.

    Parameters
    ----------
    stages : sequence of (str or sequence of str), optional
        Groups in search order: group names of ``space.metadata['groups']`` or lists of
        hyperparameter names. Default: the space's groups in their stored order (``hia-cnn``:
        architecture, then training).
    trials : int or sequence of int
        Trials per stage (default 50 each).
    base : str
        Registry name of the per-stage optimizer (default ``"tpe"``); must be a full-budget
        optimizer.
    base_kwargs : dict, optional
        Extra keyword arguments of the base optimizer.
    Other parameters: see :class:`~hasbench.optimizers.base.Optimizer`; ``names`` is not
    accepted (the stages say what is searched).

    Attributes
    ----------
    stage_best : list of dict
        Best values of each finished stage's hyperparameters.
    """

    name = "staged"

    def __init__(self, space, seed: int = 0, *, stages: Sequence[Any] | None = None,
                 trials: int | Sequence[int] = 50, base: str = "tpe",
                 base_kwargs: dict | None = None, fixed: dict | None = None, **kw: Any):
        if "names" in kw:
            raise InvalidValueError("names", kw["names"], "not set (use 'stages')",
                                    "StagedSearch")
        super().__init__(space, seed, fixed=fixed, names=list(space.names)
                         if not fixed else [n for n in space.names if n not in fixed], **kw)
        groups = space.metadata.get("groups", {}) if isinstance(space.metadata, dict) else {}
        if stages is None:
            if not groups:
                raise InvalidValueError("stages", None, "a list of groups (the space has no "
                                        "metadata['groups'])", "StagedSearch")
            stages = list(groups)
        self.stages: list[list[str]] = []
        for st in stages:
            names = groups[st] if isinstance(st, str) and st in groups else (
                [st] if isinstance(st, str) else list(st))
            for n in names:
                if n not in space.names:
                    raise InvalidValueError("stages", n, list(space.names) + sorted(groups),
                                            "StagedSearch")
            self.stages.append([n for n in names if n not in (fixed or {})])
        if isinstance(trials, (int, np.integer)):
            trials = [int(trials)] * len(self.stages)
        trials = list(trials)
        if len(trials) != len(self.stages):
            raise InvalidValueError("trials", trials, f"an int or {len(self.stages)} ints",
                                    "StagedSearch")
        self.trials = [check_int("trials", t, 1, None, "StagedSearch") for t in trials]
        from . import get_optimizer

        self._factory = get_optimizer
        self.base = base
        self.base_kwargs = dict(base_kwargs or {})
        self._seeds = np.random.SeedSequence([self.seed, 7]).generate_state(len(self.stages))
        self._fixed_now: dict[str, Any] = dict(fixed or {})
        self.stage_best: list[dict] = []
        self._stage = -1
        self._child: Optimizer | None = None
        self._asked = 0
        self._told: list[tuple[float, int, np.ndarray]] = []
        self._jobs: dict[int, Job] = {}
        self._next_stage()

    def _next_stage(self) -> None:
        if self._told:
            loss, _, x = min(self._told, key=lambda r: (r[0], r[1]))
            cfg = self.space.decode(x[None, :])[0]
            best = {n: cfg[n] for n in self.stages[self._stage] if n in cfg}
            self.stage_best.append(best)
            self._fixed_now.update(best)
        self._stage += 1
        self._asked = 0
        self._told = []
        if self._stage >= len(self.stages):
            self._child = None
            return
        names = self.stages[self._stage]
        fixed = {k: v for k, v in self._fixed_now.items() if k not in names}
        self._child = self._factory(self.base, self.space, int(self._seeds[self._stage]),
                                    names=names, fixed=fixed, min_fidelity=self.min_fidelity,
                                    max_fidelity=self.max_fidelity, **self.base_kwargs)

    @property
    def stage(self) -> int:
        """Index of the running stage (``len(stages)`` when done)."""
        return self._stage

    def ask(self) -> Job | None:
        if self._child is None or self._asked >= self.trials[self._stage]:
            return None
        cj = self._child.ask()
        if cj is None:
            return None
        self._asked += 1
        job = self._make_job(self._new_trial_id(), cj.x, cj.fidelity, stage=self._stage)
        self._jobs[job.job_id] = cj
        return job

    def tell(self, job: Job, result: Result) -> None:
        cj = self._jobs.pop(job.job_id)
        self._child.tell(cj, result)
        self._told.append((_loss_of(result), job.job_id, job.x))
        if len(self._told) >= self.trials[self._stage]:
            self._next_stage()

    @property
    def fidelity_levels(self):
        fid = self._fid
        if fid is not None and fid.in_config and any(fid.name in s for s in self.stages):
            return None
        return np.array([self.max_fidelity])

    @property
    def finished(self) -> bool:
        return self._child is None
