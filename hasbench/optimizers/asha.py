"""ASHA (Li et al. 2020): asynchronous successive halving, promotion and stopping variants.

``asha_mode="promotion"`` (the paper): whenever a worker is free, promote the best config of
the highest rung ``k < K`` that is in the top ``floor(|rung_k| / eta)`` and not yet promoted;
otherwise start a new config at rung 0. ``asha_mode="stopping"`` (Syne Tune's ``asha.py``):
every trial continues rung by rung unless, at a rung, its loss is above the ``1/eta``
quantile (linear interpolation, ``numpy.quantile``) of all losses recorded at that rung
including its own; the first trial at a rung always continues.

Rungs: :func:`~hasbench.optimizers.base.fidelity_ladder` (default ``rung_mode="geometric_up"``,
``r * eta**k`` from the minimum fidelity, then the maximum), with ``early_stopping_rate`` s
dropping the s lowest rungs. Promoted trials resume from their checkpoint by default
(``resume=True``; the simulator charges only the extra epochs). Ties: the earlier result wins.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from ..errors import InvalidValueError, check_choice, check_int
from .base import Job, Optimizer, Result, _loss_of, fidelity_ladder

__all__ = ["ASHA"]


class ASHA(Optimizer):
    """Asynchronous successive halving.

    Parameters
    ----------
    eta : int
        Reduction factor (default 3).
    asha_mode : {"promotion", "stopping"}
    rung_mode : {"geometric_up", "geometric_down"}
    early_stopping_rate : int
        ``s``: the lowest rung is ``ladder[s]`` (default 0).
    resume : bool
        Continue promoted trials from their checkpoint (default ``True``).
    max_trials : int, optional
        Stop starting new configurations after this many (promotions continue).
    Other parameters: see :class:`~hasbench.optimizers.base.Optimizer`.
    """

    name = "asha"
    multi_fidelity = True

    def __init__(self, space, seed: int = 0, *, eta: int = 3, asha_mode: str = "promotion",
                 rung_mode: str = "geometric_up", early_stopping_rate: int = 0,
                 resume: bool = True, max_trials: int | None = None, **kw: Any):
        super().__init__(space, seed, **kw)
        where = "ASHA"
        self.eta = check_int("eta", eta, 2, None, where)
        self.asha_mode = check_choice("asha_mode", asha_mode, ["promotion", "stopping"], where)
        self.rung_mode = check_choice("rung_mode", rung_mode, ["geometric_up",
                                                               "geometric_down"], where)
        if self.max_fidelity <= self.min_fidelity:
            raise InvalidValueError("max_fidelity", self.max_fidelity,
                                    f"a value > min_fidelity={self.min_fidelity}", where)
        integer = bool(self._fid is not None and self._fid.is_int)
        lad = fidelity_ladder(self.min_fidelity, self.max_fidelity, self.eta, self.rung_mode,
                              integer)
        s = check_int("early_stopping_rate", early_stopping_rate, 0, len(lad) - 1, where)
        self.rungs = lad[s:]
        self.resume = bool(resume)
        self.max_trials = None if max_trials is None else check_int(
            "max_trials", max_trials, 1, None, where)
        K = len(self.rungs)
        self._rec: list[list[tuple[int, float]]] = [[] for _ in range(K)]
        self._promoted: list[set[int]] = [set() for _ in range(K)]
        self._x: dict[int, np.ndarray] = {}
        self._queue: deque = deque()  # stopping mode: (trial, rung) to continue
        #: promotions made, in order: (trial_id, from_rung)
        self.promotions: list[tuple[int, int]] = []

    def _job(self, t: int, k: int) -> Job:
        prev = float(self.rungs[k - 1]) if k > 0 else 0.0
        return self._make_job(t, self._x[t], float(self.rungs[k]), continues=k > 0,
                              resume_from=prev if self.resume else 0.0, rung=k)

    def _new(self) -> Job | None:
        if self.max_trials is not None and self._next_trial >= self.max_trials:
            return None
        t = self._new_trial_id()
        self._x[t] = self._sample(1)[0]
        return self._job(t, 0)

    def ask(self) -> Job | None:
        K = len(self.rungs)
        if self.asha_mode == "stopping":
            if self._queue:
                t, k = self._queue.popleft()
                return self._job(t, k)
            return self._new()
        for k in range(K - 2, -1, -1):
            rec = self._rec[k]
            n_top = len(rec) // self.eta
            if n_top == 0:
                continue
            losses = np.fromiter((v for _, v in rec), float, len(rec))
            order = np.argsort(losses, kind="stable")[:n_top]
            for i in order:
                t = rec[i][0]
                if t not in self._promoted[k]:
                    self._promoted[k].add(t)
                    self.promotions.append((t, k))
                    return self._job(t, k + 1)
        return self._new()

    def tell(self, job: Job, result: Result) -> None:
        k = int(job.info["rung"])
        loss = _loss_of(result)
        self._rec[k].append((job.trial_id, loss))
        if self.asha_mode == "stopping" and k < len(self.rungs) - 1:
            vals = np.fromiter((v for _, v in self._rec[k]), float, len(self._rec[k]))
            fin = vals[np.isfinite(vals)]
            cutoff = np.quantile(fin, 1.0 / self.eta) if fin.size else np.inf
            if np.isfinite(loss) and loss <= cutoff:
                self._promoted[k].add(job.trial_id)
                self.promotions.append((job.trial_id, k))
                self._queue.append((job.trial_id, k + 1))

    @property
    def fidelity_levels(self) -> np.ndarray:
        return self.rungs

    @property
    def finished(self) -> bool:
        return False
