"""DEHB (Awad, Mallik, Hutter 2021): differential evolution inside Hyperband brackets.

hasbench's implementation of the algorithm as described in the paper and in the reference
code's structure (automl/DEHB), written for the ask/tell interface:

- Brackets: HpBandSter's formula (:func:`~hasbench.optimizers.hyperband.hyperband_brackets`
  with ``hb_variant="bohb"``, exact arithmetic, by default; ``"hpbandster"`` gives the
  reference code's float rounding, which DEHB's reference shares), scheduled synchronously like :class:`Hyperband` (a rung's
  jobs start after the previous rung of the bracket has finished; other brackets start
  while one waits).
- One DE subpopulation per budget, of size the largest number of configs any bracket runs
  at that budget, initialised uniformly in the unit cube of the searched hyperparameters
  (categorical values: ``floor(u * k)``).
- Each job targets the next member of its budget's subpopulation (a cycling parent counter).
  During the first ``s_max + 1`` brackets, a rung above the bracket's first takes the best
  evaluated individuals of the lower budget that are not already in its subpopulation
  (successive-halving promotion, a continuation of the same trial, retrained from scratch).
  Otherwise a new individual is evolved, as the reference's ``_acquire_config``: ``rand/1``
  mutation ``a + F (b - c)`` with ``a, b, c`` drawn without replacement from the mutation
  pool -- the best ``n_i`` of the lower budget's subpopulation (the same budget for a
  bracket's first rung). A pool smaller than 3 is padded with ``3 - size + 1`` *mutants*
  (``rand/1`` of three distinct members of all subpopulations, target excluded), never
  with raw members; the target is then removed from the pool and, if fewer than 3 remain,
  uniform random vectors fill it (``AsyncDE._sample_population``). Binomial crossover with
  the target (rate ``CR``; one random coordinate is forced only when no coordinate crossed,
  ``DE.crossover_bin``); out-of-range coordinates redrawn uniformly.
- Selection: a measured result replaces its target when its loss is lower or equal.
- Failed and pruned results (the rule of :mod:`hasbench.optimizers.base`) never enter a
  subpopulation and are never promoted. A failed job counts as one of its rung's jobs; a
  pruned job does not: its rung asks for another job (the next promotion candidate, or a
  new evolved individual once the candidates are spent).

Defaults follow the reference: ``mutation_factor=0.5``, ``crossover_prob=0.5``, eta 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidValueError, check_choice, check_float, check_int
from .base import Job, Optimizer, Result, _loss_of
from .hyperband import HB_VARIANTS, hyperband_brackets

__all__ = ["DEHB"]


@dataclass
class _DEBracket:
    iteration: int
    n: tuple
    budgets: tuple
    rung: int = 0
    issued: int = 0
    done: int = 0
    promoted: list = field(default_factory=list)
    pruned: set = field(default_factory=set)   # trials pruned at the current rung


class DEHB(Optimizer):
    """Differential-evolution Hyperband.

    Parameters
    ----------
    eta : int
    mutation_factor : float
        ``F`` (default 0.5).
    crossover_prob : float
        ``CR`` (default 0.5).
    n_iterations : int, optional
        Number of brackets (``None``: until the simulator's budget ends).
    hb_variant : {"bohb", "paper", "hpbandster"}
        Bracket schedule (default ``"bohb"``: HpBandSter's formula, exact arithmetic).
    Other parameters: see :class:`~hasbench.optimizers.base.Optimizer`.
    """

    name = "dehb"
    multi_fidelity = True

    def __init__(self, space, seed: int = 0, *, eta: int = 3, mutation_factor: float = 0.5,
                 crossover_prob: float = 0.5, n_iterations: int | None = None,
                 hb_variant: str = "bohb", **kw: Any):
        super().__init__(space, seed, **kw)
        where = "DEHB"
        self.eta = check_int("eta", eta, 2, None, where)
        self.F = check_float("mutation_factor", mutation_factor, 0.0, 2.0, where,
                             low_open=True)
        self.CR = check_float("crossover_prob", crossover_prob, 0.0, 1.0, where)
        self.n_iterations = None if n_iterations is None else check_int(
            "n_iterations", n_iterations, 1, None, where)
        if self.max_fidelity <= self.min_fidelity:
            raise InvalidValueError("max_fidelity", self.max_fidelity,
                                    f"a value > min_fidelity={self.min_fidelity}", where)
        integer = bool(self._fid is not None and self._fid.is_int)
        self.hb_variant = check_choice("hb_variant", hb_variant, HB_VARIANTS, where)
        self.brackets = hyperband_brackets(self.min_fidelity, self.max_fidelity, self.eta,
                                           self.hb_variant, "geometric_down", integer)
        self._K = len(self.brackets)
        sizes: dict[float, int] = {}
        for br in self.brackets:
            for n, b in zip(br.n, br.budgets, strict=True):
                sizes[b] = max(sizes.get(b, 0), n)
        self._budgets = sorted(sizes)
        d = len(self.names)
        self.pop = {b: self._rng_cfg.random((sizes[b], d)) for b in self._budgets}
        self.fit = {b: np.full(sizes[b], np.inf) for b in self._budgets}
        self.trial_of = {b: np.full(sizes[b], -1, dtype=np.int64) for b in self._budgets}
        self._parent = dict.fromkeys(self._budgets, 0)
        self._active: list[_DEBracket] = []
        self._started = 0
        self._levels = np.array(self._budgets)

    # ------------------------------------------------------------ DE operators
    def _x_of(self, u: np.ndarray) -> np.ndarray:
        return self._from_unit_cols(np.clip(u, 0.0, 1.0 - 1e-12)[None, :])[0]

    def _without(self, pool: np.ndarray, target: np.ndarray) -> np.ndarray:
        """``pool`` without its first row equal to ``target`` (DEHB's AsyncDE removes the
        target from the mutation candidates)."""
        if pool.shape[0] > 1:
            hit = np.flatnonzero(np.all(pool == target, axis=1))
            if hit.size:
                return np.delete(pool, hit[0], axis=0)
        return pool

    def _rand1(self, pool: np.ndarray, target: np.ndarray) -> np.ndarray:
        """``a + F (b - c)`` from three distinct rows of ``pool`` minus the target, padded
        with uniform vectors when fewer than 3 remain."""
        rng = self._rng
        pool = self._without(pool, target)
        if pool.shape[0] < 3:
            pool = np.vstack([pool, rng.random((3 - pool.shape[0], pool.shape[1]))])
        a, b, c = pool[rng.choice(pool.shape[0], 3, replace=False)]
        return a + self.F * (b - c)

    def _evolve(self, budget: float, lower: float, n_pool: int, target: np.ndarray):
        rng = self._rng
        order = np.argsort(self.fit[lower], kind="stable")[:max(n_pool, 1)]
        pool = self.pop[lower][order]
        if pool.shape[0] < 3:
            allpop = np.vstack([self.pop[b] for b in self._budgets])
            filler = np.array([self._rand1(allpop, target)
                               for _ in range(3 - pool.shape[0] + 1)])
            pool = np.vstack([pool, filler])
        mutant = self._rand1(pool, target)
        cross = rng.random(mutant.size) < self.CR
        if not cross.any():
            cross[rng.integers(mutant.size)] = True
        trial = np.where(cross, mutant, target)
        bad = (trial < 0) | (trial > 1)
        if bad.any():
            trial[bad] = rng.random(int(bad.sum()))
        return trial

    # ------------------------------------------------------------ scheduling
    def _start(self) -> _DEBracket:
        br = self.brackets[self._started % self._K]
        b = _DEBracket(self._started, br.n, br.budgets)
        self._started += 1
        self._active.append(b)
        return b

    def _job_of(self, br: _DEBracket) -> Job | None:
        if br.rung >= len(br.n) or br.issued >= br.n[br.rung]:
            return None
        budget = br.budgets[br.rung]
        pid = self._parent[budget]
        self._parent[budget] = (pid + 1) % self.pop[budget].shape[0]
        target = self.pop[budget][pid]
        lower = br.budgets[br.rung - 1] if br.rung > 0 else budget
        n_pool = br.n[br.rung]
        trial = None
        if br.iteration < self._K and br.rung > 0:
            if not br.promoted:
                ev = np.flatnonzero(np.isfinite(self.fit[lower]))
                ev = ev[np.argsort(self.fit[lower][ev], kind="stable")]
                cand = []
                for i in ev:
                    u = self.pop[lower][i]
                    if int(self.trial_of[lower][i]) in br.pruned:
                        continue
                    if not np.any(np.all(self.pop[budget] == u, axis=1)):
                        cand.append((u.copy(), int(self.trial_of[lower][i])))
                br.promoted = cand[:br.n[br.rung]]
            if br.promoted:
                u, trial = br.promoted.pop(0)
            else:  # the reference re-promotes the best of the lower budget
                i = int(np.argmin(self.fit[lower]))
                u, trial = self.pop[lower][i].copy(), int(self.trial_of[lower][i])
                if trial in br.pruned:  # ... unless it was just pruned here: evolve
                    u, trial = self._evolve(budget, lower, n_pool, target), None
        else:
            u = self._evolve(budget, lower, n_pool, target)
        br.issued += 1
        cont = trial is not None and trial >= 0
        if not cont:
            trial = self._new_trial_id()
        return self._make_job(trial, self._x_of(u), budget, continues=cont,
                              iteration=br.iteration, rung=br.rung, parent=pid,
                              u=u.tolist())

    def ask(self) -> Job | None:
        for br in self._active:
            job = self._job_of(br)
            if job is not None:
                return job
        if self.n_iterations is not None and self._started >= self.n_iterations:
            return None
        return self._job_of(self._start())

    def tell(self, job: Job, result: Result) -> None:
        b = job.fidelity
        pid = int(job.info["parent"])
        pruned = False
        if self._note_failure(job, result):  # never a subpopulation member
            pruned = result.status == "pruned"
        else:
            loss = _loss_of(result)
            if loss <= self.fit[b][pid]:
                self.pop[b][pid] = np.asarray(job.info["u"], dtype=float)
                self.fit[b][pid] = loss
                self.trial_of[b][pid] = job.trial_id
        for br in self._active:
            if br.iteration == job.info["iteration"]:
                if pruned:  # not counted in the rung: it asks for another job
                    br.issued -= 1
                    br.pruned.add(job.trial_id)
                    break
                br.done += 1
                if br.done >= br.n[br.rung]:
                    br.rung += 1
                    br.issued = br.done = 0
                    br.promoted = []
                    br.pruned = set()
                    if br.rung >= len(br.n):
                        self._active.remove(br)
                break

    @property
    def fidelity_levels(self) -> np.ndarray:
        return self._levels

    @property
    def finished(self) -> bool:
        return (self.n_iterations is not None and self._started >= self.n_iterations
                and not self._active)
