"""Random search: uniform configurations at the maximum fidelity."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import check_int
from .base import Job, Optimizer, Result

__all__ = ["RandomSearch"]


class RandomSearch(Optimizer):
    """Uniform random search (log-uniform on log-scaled hyperparameters), full fidelity.

    Parameters
    ----------
    max_trials : int, optional
        Stop proposing after this many configurations (``None``: never). Pruned
        configurations do not count (the rule of :mod:`hasbench.optimizers.base`): each one
        told pruned allows one more proposal; failed ones count (they ran).
    batch : int
        Configurations drawn ahead at once (a speed knob; the sequence does not depend on it).
    Other parameters: see :class:`~hasbench.optimizers.base.Optimizer`.
    """

    name = "random"

    def __init__(self, space, seed: int = 0, *, max_trials: int | None = None, batch: int = 64,
                 **kw: Any):
        super().__init__(space, seed, **kw)
        self.max_trials = None if max_trials is None else check_int(
            "max_trials", max_trials, 1, None, "RandomSearch")
        self._batch = check_int("batch", batch, 1, None, "RandomSearch")
        self._buf = np.zeros((0, space.dim))
        self._buf_ids: list[int] = []
        self._pos = 0
        self._n_pruned = 0

    @property
    def _limit(self) -> int | None:
        return None if self.max_trials is None else self.max_trials + self._n_pruned

    def _refill(self) -> None:
        n = self._batch
        if self.max_trials is not None:
            n = min(n, self._limit - self._next_trial)
        self._buf = self._sample(n)
        self._buf_ids = [self._new_trial_id() for _ in range(n)]
        self._pos = 0

    def ask(self) -> Job | None:
        if self._pos >= len(self._buf_ids):
            if self.max_trials is not None and self._next_trial >= self._limit:
                return None
            self._refill()
        x = self._buf[self._pos]
        t = self._buf_ids[self._pos]
        self._pos += 1
        return self._make_job(t, x, self._full_fidelity(x))

    def tell(self, job: Job, result: Result) -> None:
        if self._note_failure(job, result) and result.status == "pruned":
            self._n_pruned += 1

    def upcoming(self) -> list[tuple[int, np.ndarray]]:
        return [(self._buf_ids[i], self._buf[i]) for i in range(self._pos, len(self._buf_ids))]

    @property
    def finished(self) -> bool:
        return (self.max_trials is not None and self._next_trial >= self._limit
                and self._pos >= len(self._buf_ids))
