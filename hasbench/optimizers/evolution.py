"""Regularized (aging) evolution, Real et al. 2019, asynchronous."""

from __future__ import annotations

from collections import deque
from typing import Any

from ..errors import InvalidValueError, check_int
from .base import Job, Optimizer, Result, _loss_of

__all__ = ["RegularizedEvolution"]


class RegularizedEvolution(Optimizer):
    """Aging evolution at the maximum fidelity.

    The first ``population_size`` proposals are uniform; afterwards each proposal mutates the
    best of ``sample_size`` members drawn uniformly *with replacement* from the current
    population (Real et al. 2019, Algorithm 1: "randomly select candidate from population"
    ``S`` times; ties: the older member); every measured result joins the population and the
    oldest member leaves once it is full.
    Failed and pruned results (the rule of :mod:`hasbench.optimizers.base`) never join the
    population; an initial (uniform) proposal that fails or is pruned is replaced by another
    uniform one, so the population is still seeded by ``population_size`` measured members.
    Mutation resamples one searched hyperparameter uniformly (a categorical one to a
    different choice). The paper used population 100 / sample 25 for NAS with thousands of
    evaluations; hasbench's defaults (20 / 5) suit budgets of a few hundred evaluations.
    """

    name = "re"

    def __init__(self, space, seed: int = 0, *, population_size: int = 20,
                 sample_size: int = 5, **kw: Any):
        super().__init__(space, seed, **kw)
        self.population_size = check_int("population_size", population_size, 2, None, "RE")
        self.sample_size = check_int("sample_size", sample_size, 1, None, "RE")
        if self.sample_size > self.population_size:
            raise InvalidValueError("sample_size", sample_size,
                                    f"an int <= population_size={population_size}", "RE")
        self._pop: deque = deque()
        self._asked = 0  # initial proposals asked, minus those that failed or were pruned

    def ask(self) -> Job | None:
        init = self._asked < self.population_size or len(self._pop) < self.sample_size
        if init:
            x = self._sample(1)[0]
        else:
            idx = self._rng.integers(0, len(self._pop), self.sample_size)
            best = min(idx, key=lambda i: (self._pop[i][1], i))
            parent = self._pop[best][0]
            v = self._to_model(parent)[0]
            j = int(self._rng.integers(len(self.names)))
            k = self._vartypes[j]
            if k > 1:
                v[j] = (v[j] + 1 + self._rng.integers(k - 1)) % k
            else:
                v[j] = self._rng.random()
            x = self._from_model(v[None, :])[0]
        if init:
            self._asked += 1
            return self._make_job(self._new_trial_id(), x, self._full_fidelity(x), init=True)
        return self._make_job(self._new_trial_id(), x, self._full_fidelity(x))

    def tell(self, job: Job, result: Result) -> None:
        if self._note_failure(job, result):
            if job.info.get("init"):
                self._asked -= 1
            return
        self._pop.append((job.x, _loss_of(result)))
        while len(self._pop) > self.population_size:
            self._pop.popleft()
