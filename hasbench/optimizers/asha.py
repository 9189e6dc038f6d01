"""ASHA (Li et al. 2020): asynchronous successive halving, promotion and stopping variants.

``asha_mode="promotion"`` (the paper's Algorithm 2): whenever a worker is free, promote the
best config of the highest rung ``k < K`` that is in the top ``floor(|rung_k| / eta)`` and
not yet promoted; otherwise start a new config at rung 0.

``asha_mode="stopping"`` (ASHA's rank rule, the stopping form of its promotion criterion):
a trial that reports at rung ``k`` continues to rung ``k + 1`` iff it is in the top
``1/eta`` of the results recorded at rung ``k`` so far, itself included: with ``n`` results
recorded there and ``p`` of them ranking before it (lower loss; ties: the earlier result
first), it continues iff ``p <= n / eta`` (so the first trial at a rung always continues).
For arrivals ``[0.5, 0.9, 0.6, 0.55, 0.8, 0.52]`` with ``eta=3`` trials 0, 2, 3 and 5
continue.

``asha_mode="stopping_quantile"`` (Syne Tune's ``StoppingRungSystem``, hasbench's
``"stopping"`` before issue 15): a trial continues iff its loss is at most the ``1/eta``
quantile (linear interpolation, ``numpy.quantile``) of all losses recorded at that rung
including its own; the first trial at a rung always continues. For the arrivals above,
trials 0, 3 and 5 continue.

Failed and pruned results (the rule of :mod:`hasbench.optimizers.base`) are never counted
in a rung (``|rung_k|``, ``n``) and never promoted or continued. A pruned continuation
ends its trial: the promotion it used is spent (otherwise the same trial would be promoted
and pruned again); a pruned rung-0 job simply makes room for the next new config.

Rungs: :func:`~hasbench.optimizers.base.fidelity_ladder` (default ``rung_mode="geometric_up"``,
``r * eta**k`` from the minimum fidelity, then the maximum), with ``early_stopping_rate`` s
dropping the s lowest rungs. Promoted trials resume from their checkpoint by default
(``resume=True``; the simulator charges only the extra epochs). Ties: the earlier result wins.
"""

from __future__ import annotations

import bisect
from collections import deque
from typing import Any

import numpy as np

from ..errors import InvalidValueError, check_choice, check_int
from .base import Job, Optimizer, Result, fidelity_ladder

__all__ = ["ASHA", "ASHA_MODES"]

#: stopping/promotion variants of :class:`ASHA`
ASHA_MODES = ("promotion", "stopping", "stopping_quantile")


class ASHA(Optimizer):
    """Asynchronous successive halving.

    Parameters
    ----------
    eta : int
        Reduction factor (default 3).
    asha_mode : {"promotion", "stopping", "stopping_quantile"}
        See the module docstring (default ``"promotion"``).
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
        self.asha_mode = check_choice("asha_mode", asha_mode, ASHA_MODES, where)
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
        # per rung, keys (loss, arrival number, trial) kept sorted: not yet promoted /
        # promoted, plus the number recorded and the sorted finite losses (stopping mode)
        self._unprom: list[list[tuple]] = [[] for _ in range(K)]
        self._prom: list[list[tuple]] = [[] for _ in range(K)]
        self._count = [0] * K
        self._fin: list[list[float]] = [[] for _ in range(K)]
        self._arrival = 0
        self._x: dict[int, np.ndarray] = {}
        self._buf: deque = deque()  # configs sampled ahead (same stream, in order)
        self._queue: deque = deque()  # stopping mode: (trial, rung) to continue
        #: promotions made, in order: (trial_id, from_rung)
        self.promotions: list[tuple[int, int]] = []

    def _job(self, t: int, k: int) -> Job:
        prev = float(self.rungs[k - 1]) if k > 0 else 0.0
        return self._make_job(t, self._x[t], float(self.rungs[k]), continues=k > 0,
                              resume_from=prev if self.resume else 0.0, rung=k)

    def _new(self) -> Job | None:
        if not self._buf and self.max_trials is not None and \
                self._next_trial >= self.max_trials:
            return None
        if not self._buf:
            n = 64 if self.max_trials is None else min(64, self.max_trials - self._next_trial)
            X = self._sample(n)
            for x in X:
                self._buf.append((self._new_trial_id(), x))
        t, x = self._buf.popleft()
        self._x[t] = x
        return self._job(t, 0)

    def upcoming(self) -> list[tuple[int, np.ndarray]]:
        return list(self._buf)

    def ask(self) -> Job | None:
        K = len(self.rungs)
        if self.asha_mode != "promotion":
            if self._queue:
                t, k = self._queue.popleft()
                return self._job(t, k)
            return self._new()
        for k in range(K - 2, -1, -1):
            unprom = self._unprom[k]
            if not unprom:
                continue
            # the best unpromoted config is in the top floor(n / eta) iff fewer than that
            # many promoted configs rank before it (ties: earlier arrival first)
            u = unprom[0]
            if bisect.bisect_left(self._prom[k], u) < self._count[k] // self.eta:
                unprom.pop(0)
                bisect.insort(self._prom[k], u)
                self.promotions.append((u[2], k))
                return self._job(u[2], k + 1)
        return self._new()

    def tell(self, job: Job, result: Result) -> None:
        k = int(job.info["rung"])
        if self._note_failure(job, result):
            return  # never counted in a rung, never promoted (module docstring)
        loss = float(result.loss)
        key = (loss, self._arrival, job.trial_id)
        self._arrival += 1
        self._count[k] += 1
        if self.asha_mode == "promotion":
            if k < len(self.rungs) - 1:
                bisect.insort(self._unprom[k], key)
            return
        if k >= len(self.rungs) - 1:
            return
        fin = self._fin[k]
        if self.asha_mode == "stopping":
            # p = results ranking before this one (lower loss, or equal and earlier)
            p = bisect.bisect_right(fin, loss)
            bisect.insort(fin, loss)
            go = p * self.eta <= len(fin)
        else:
            bisect.insort(fin, loss)
            # numpy.quantile(fin, 1/eta) with linear interpolation
            pos = (len(fin) - 1) / self.eta
            lo = int(pos)
            hi = min(lo + 1, len(fin) - 1)
            cutoff = fin[lo] + (fin[hi] - fin[lo]) * (pos - lo)
            go = loss <= cutoff
        if go:
            bisect.insort(self._prom[k], key)
            self.promotions.append((job.trial_id, k))
            self._queue.append((job.trial_id, k + 1))

    @property
    def fidelity_levels(self) -> np.ndarray:
        return self.rungs

    @property
    def finished(self) -> bool:
        return False
