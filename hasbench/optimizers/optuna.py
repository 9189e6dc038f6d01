"""Adapter: any Optuna sampler (and optionally an Optuna pruner) as a hasbench optimizer.

Optuna is imported lazily (``pip install -e '.[optuna]'`` in the hasbench clone).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from ..errors import MissingDependencyError, check_choice, check_int
from .base import Job, Optimizer, Result, _loss_of, fidelity_ladder

__all__ = ["OptunaSampler"]

_SAMPLERS = ["tpe", "random", "cmaes", "qmc", "gp"]
_PRUNERS = ["none", "median", "sha", "hyperband"]


def _import_optuna():
    try:
        import optuna
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingDependencyError("optuna", "the optuna optimizer", "optuna") from exc
    return optuna


class OptunaSampler(Optimizer):
    """Drive an Optuna study through hasbench's ask/tell interface.

    Parameters
    ----------
    sampler : str or optuna sampler
        ``"tpe"`` (default), ``"random"``, ``"cmaes"``, ``"qmc"``, ``"gp"`` (built with
        ``seed``), or an Optuna sampler instance (its own seed then applies).
    optuna_pruner : str or optuna pruner, optional
        ``"median"``, ``"sha"`` (SuccessiveHalvingPruner), ``"hyperband"``, or an instance.
        With a pruner, each trial is trained rung by rung (fidelities of
        :func:`~hasbench.optimizers.base.fidelity_ladder`, ``eta``, ``rung_mode``); after each
        rung the loss is reported at ``step = fidelity`` and the trial stops if the pruner
        says so. Without one, trials run at the maximum fidelity.
    eta : int
        Rung spacing when a pruner is used (default 3).
    rung_mode : {"geometric_up", "geometric_down"}
    resume : bool
        Continue a trial from its previous rung's checkpoint (default ``True``).
    quiet : bool
        Lower Optuna's (process-wide) log level to WARNING (default ``True``).
    Other parameters: see :class:`~hasbench.optimizers.base.Optimizer`.
    """

    name = "optuna"

    def __init__(self, space, seed: int = 0, *, sampler: Any = "tpe", optuna_pruner: Any = None,
                 eta: int = 3, rung_mode: str = "geometric_up", resume: bool = True,
                 quiet: bool = True, **kw: Any):
        super().__init__(space, seed, **kw)
        optuna = _import_optuna()
        if quiet:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        if isinstance(sampler, str):
            check_choice("sampler", sampler, _SAMPLERS, "OptunaSampler")
            s = optuna.samplers
            sampler = {"tpe": lambda: s.TPESampler(seed=self.seed),
                       "random": lambda: s.RandomSampler(seed=self.seed),
                       "cmaes": lambda: s.CmaEsSampler(seed=self.seed),
                       "qmc": lambda: s.QMCSampler(seed=self.seed),
                       "gp": lambda: s.GPSampler(seed=self.seed)}[sampler]()
        if isinstance(optuna_pruner, str):
            check_choice("optuna_pruner", optuna_pruner, _PRUNERS, "OptunaSampler")
            p = optuna.pruners
            optuna_pruner = {"none": lambda: None, "median": p.MedianPruner,
                             "sha": lambda: p.SuccessiveHalvingPruner(reduction_factor=eta),
                             "hyperband": lambda: p.HyperbandPruner(
                                 min_resource=int(self.min_fidelity),
                                 max_resource=int(self.max_fidelity), reduction_factor=eta)
                             }[optuna_pruner]()
        self.study = optuna.create_study(direction="minimize", sampler=sampler,
                                         pruner=optuna_pruner or optuna.pruners.NopPruner())
        self._use_pruner = optuna_pruner is not None
        self.multi_fidelity = self._use_pruner
        eta = check_int("eta", eta, 2, None, "OptunaSampler")
        integer = bool(self._fid is not None and self._fid.is_int)
        self.rungs = fidelity_ladder(self.min_fidelity, self.max_fidelity, eta, rung_mode,
                                     integer) if self._use_pruner else np.array(
                                         [self.max_fidelity])
        self.resume = bool(resume)
        self._dists = self._distributions()
        self._base_cfg = space.decode(self._x_base[None, :])[0]
        self._trials: dict[int, Any] = {}
        self._queue: deque = deque()

    def _distributions(self) -> dict[str, Any]:
        d = self._optuna.distributions
        out = {}
        for n in self.names:
            kind = self.space.kind(n)
            hp = self.space.configspace[n]
            if kind == "float":
                out[n] = d.FloatDistribution(float(hp.lower), float(hp.upper), log=bool(hp.log))
            elif kind == "int":
                out[n] = d.IntDistribution(int(hp.lower), int(hp.upper), log=bool(hp.log))
            else:
                out[n] = d.CategoricalDistribution(list(self.space.choices(n)))
        return out

    def _job(self, t: int, k: int) -> Job:
        trial, x = self._trials[t]
        prev = float(self.rungs[k - 1]) if k > 0 else 0.0
        fid = float(self.rungs[k]) if self._use_pruner else self._full_fidelity(x)
        return self._make_job(t, x, fid, continues=k > 0,
                              resume_from=prev if self.resume else 0.0, rung=k,
                              optuna_number=trial.number)

    def ask(self) -> Job | None:
        if self._queue:
            t, k = self._queue.popleft()
            return self._job(t, k)
        trial = self.study.ask(self._dists)
        cfg = dict(self._base_cfg)
        cfg.update(trial.params)
        x = self.space.encode([cfg])[0]
        t = self._new_trial_id()
        self._trials[t] = (trial, x)
        return self._job(t, 0)

    def tell(self, job: Job, result: Result) -> None:
        trial, _ = self._trials[job.trial_id]
        loss = _loss_of(result)
        k = int(job.info["rung"])
        TS = self._optuna.trial.TrialState
        if not np.isfinite(loss):
            self.study.tell(trial, state=TS.FAIL)
            del self._trials[job.trial_id]
            return
        if self._use_pruner and k < len(self.rungs) - 1:
            trial.report(loss, step=int(round(job.fidelity)))
            if trial.should_prune():
                self.study.tell(trial, state=TS.PRUNED)
                del self._trials[job.trial_id]
            else:
                self._queue.append((job.trial_id, k + 1))
            return
        self.study.tell(trial, loss)
        del self._trials[job.trial_id]

    @property
    def fidelity_levels(self):
        if not self._use_pruner:
            return super().fidelity_levels
        return self.rungs
