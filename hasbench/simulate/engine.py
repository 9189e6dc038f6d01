"""Discrete-event, asynchronous simulation of an optimizer on a benchmark.

The clock is moved only by a heap of job completions keyed ``(end time, start sequence)``
(ties: the job started first completes first). ``n_workers`` simulated workers run jobs;
whenever workers are free the optimizer is asked for jobs (``ask() -> None`` means "wait for
the next completion"). A job's duration is the benchmark's cost of training the trial from
``job.resume_from`` (0 = from scratch) to ``job.fidelity``: a continuation is charged only
the extra epochs. The optimizer's own decision time is not charged unless
``count_overhead=True`` (then the measured wall-clock seconds of every ``ask``/``tell`` are
added to the clock, which makes traces machine dependent).

Each trial gets one benchmark seed (drawn from the run's seed) used for all its jobs, so a
trial's curve is consistent across promotions. The simulator reads, in one batched
benchmark call, every fidelity the optimizer may ask (:attr:`Optimizer.fidelity_levels`)
for the trial being started and every trial the optimizer has already sampled
(:meth:`Optimizer.upcoming`).

Budgets: jobs start only while the clock is below ``time_budget``; results that would
arrive after it are never seen (dropped). ``max_evaluations`` caps the number of started
evaluations (pruned jobs not counted). At least one of the two is required.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..benchmarks.base import Benchmark
from ..errors import InvalidValueError, check_choice, check_float, check_int
from ..optimizers import Optimizer, Result, get_optimizer
from .trace import Trace

__all__ = ["simulate", "simulate_many", "make_optimizer"]


def make_optimizer(optimizer: Any, space: Any, seed: int,
                   optimizer_kwargs: dict | None = None) -> Optimizer:
    """An optimizer from a registry name, a factory ``f(space, seed, **kw)`` or an
    instance (used as is)."""
    kw = dict(optimizer_kwargs or {})
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        return get_optimizer(optimizer, space, seed=seed, **kw)
    if callable(optimizer):
        opt = optimizer(space, seed, **kw)
        if not isinstance(opt, Optimizer):
            raise InvalidValueError("optimizer", type(opt).__name__, "a factory returning a "
                                    "hasbench Optimizer", "simulate")
        return opt
    raise InvalidValueError("optimizer", optimizer, "a registry name, a factory "
                            "(space, seed) -> Optimizer, or an Optimizer", "simulate")


class _Evaluator:
    """Batched, cached benchmark answers per trial."""

    def __init__(self, bench: Benchmark, objective: str, levels: np.ndarray | None,
                 seed: int, noise: bool):
        self.bench = bench
        self.objective = objective
        self.cm = bench.cost_metric
        self.metrics = [objective, self.cm] if objective != self.cm else [objective]
        self.levels = None if levels is None else np.asarray(levels, dtype=float)
        self.index = {} if levels is None else {float(v): i for i, v in enumerate(self.levels)}
        self.noise = noise
        self._rng = np.random.default_rng(np.random.SeedSequence([seed, 0xBE]))
        self.seeds: dict[int, int] = {}
        self.cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def seed_of(self, trial: int) -> int:
        s = self.seeds.get(trial)
        if s is None:
            s = int(self._rng.integers(0, 2 ** 31 - 1)) if self.noise else -1
            self.seeds[trial] = s
        return s

    def _query(self, X: np.ndarray, f: np.ndarray, seeds: np.ndarray):
        """Generator: yields one query request, returns (value, loss, cum_time) arrays."""
        s = None if not self.noise else seeds.astype(np.int64)
        out = yield ("query", X, f.astype(float), s, tuple(self.metrics))
        val = np.asarray(out[self.objective], dtype=float)
        return val, self.bench.to_loss(self.objective, val), np.asarray(out[self.cm], float)

    def prefetch(self, trials: list[tuple[int, np.ndarray]]):
        todo = [(t, x) for t, x in trials if t not in self.cache]
        if not todo:
            return
        L = self.levels.size
        X = np.repeat(np.array([x for _, x in todo]), L, axis=0)
        f = np.tile(self.levels, len(todo))
        sd = np.repeat(np.array([self.seed_of(t) for t, _ in todo]), L)
        val, loss, cum = yield from self._query(X, f, sd)
        for i, (t, _) in enumerate(todo):
            sl = slice(i * L, (i + 1) * L)
            self.cache[t] = (val[sl], loss[sl], cum[sl])

    def evaluate(self, job, upcoming: Callable[[], list]):
        """Generator returning (value, loss, cost) of a job."""
        t = job.trial_id
        fi = self.index.get(job.fidelity)
        ri = self.index.get(job.resume_from) if job.resume_from > 0 else -1
        if fi is not None and ri is not None:
            if t not in self.cache:
                yield from self.prefetch([(t, job.x)] + upcoming())
            val, loss, cum = self.cache[t]
            c = cum[fi] - (cum[ri] if ri >= 0 else 0.0)
            return float(val[fi]), float(loss[fi]), max(float(c), 0.0)
        sd = np.array([self.seed_of(t)])
        f = [job.fidelity] + ([job.resume_from] if job.resume_from > 0 else [])
        val, loss, cum = yield from self._query(np.repeat(job.x[None, :], len(f), axis=0),
                                                np.array(f, dtype=float), np.repeat(sd, len(f)))
        c = cum[0] - (cum[1] if len(f) > 1 else 0.0)
        return float(val[0]), float(loss[0]), max(float(c), 0.0)

    def static(self, job, names):
        """Generator returning the static features ``{name: float}`` of a job."""
        names = [m for m in names if m in self.bench.metrics]
        if not names:
            return {}
        out = yield ("query", job.x[None, :], np.array([float(job.fidelity)]), None,
                     tuple(names))
        return {m: float(out[m][0]) for m in names}


def simulate(benchmark: Benchmark, optimizer: Any, seed: int = 0, n_workers: int = 1,
             time_budget: float | None = None, max_evaluations: int | None = None,
             objective: str | None = None, *, optimizer_kwargs: dict | None = None,
             count_overhead: bool = False, noise: bool = True,
             max_consecutive_prunes: int = 50) -> Trace:
    """Replay ``optimizer`` on ``benchmark`` in simulated time.

    Parameters
    ----------
    benchmark : Benchmark
        Any hasbench benchmark (tabular, surrogate, synthetic).
    optimizer : str, callable or Optimizer
        Registry name (see :func:`hasbench.optimizers.list_optimizers`), a factory
        ``f(space, seed, **optimizer_kwargs)``, or a fresh instance.
    seed : int
        Seeds the optimizer and the per-trial benchmark seeds: same seed, same trace.
    n_workers : int
        Simulated parallel workers.
    time_budget : float, optional
        Simulated seconds (wall clock of the simulated cluster).
    max_evaluations : int, optional
        Maximum number of started evaluations.
    objective : str, optional
        Benchmark metric to optimise (default ``benchmark.objective``), turned into a loss
        with ``benchmark.to_loss``.
    optimizer_kwargs : dict, optional
        Passed to the optimizer constructor.
    count_overhead : bool
        Add the optimizer's measured ask/tell time to the simulated clock (default off).
    noise : bool
        Use one benchmark seed per trial (default); ``False`` uses seed-averaged answers.
    max_consecutive_prunes : int
        After this many consecutive pruned proposals the next one is evaluated anyway.

    Returns
    -------
    Trace
    """
    _check_args(benchmark, seed, n_workers, time_budget, max_evaluations, objective,
                max_consecutive_prunes)
    gen = _simulation(benchmark, optimizer, seed, n_workers, time_budget, max_evaluations,
                      objective, optimizer_kwargs, count_overhead, noise,
                      max_consecutive_prunes)
    return _drive([gen], benchmark)[0]


def _check_args(benchmark, seed, n_workers, time_budget, max_evaluations, objective,
                max_consecutive_prunes):
    where = "simulate"
    if not isinstance(benchmark, Benchmark):
        raise InvalidValueError("benchmark", type(benchmark).__name__, "a hasbench Benchmark",
                                where)
    seed = check_int("seed", seed, 0, None, where)
    n_workers = check_int("n_workers", n_workers, 1, None, where)
    if time_budget is not None:
        time_budget = check_float("time_budget", time_budget, 0.0, None, where, low_open=True)
    if max_evaluations is not None:
        max_evaluations = check_int("max_evaluations", max_evaluations, 1, None, where)
    if time_budget is None and max_evaluations is None:
        raise InvalidValueError("time_budget", None, "a positive number of simulated seconds "
                                "(or set max_evaluations)", where,
                                hint="a replay needs a budget to stop")
    objective = objective or benchmark.objective
    check_choice("objective", objective, benchmark.metrics, where, unknown=True)
    max_consecutive_prunes = check_int("max_consecutive_prunes", max_consecutive_prunes, 0,
                                       None, where)
    return seed, n_workers, time_budget, max_evaluations, objective, max_consecutive_prunes


def simulate_many(benchmark: Benchmark, optimizer: Any, seeds: Any, n_workers: int = 1,
                  time_budget: float | None = None, max_evaluations: int | None = None,
                  objective: str | None = None, *, optimizer_kwargs: dict | None = None,
                  count_overhead: bool = False, noise: bool = True,
                  max_consecutive_prunes: int = 50, on_done: Callable | None = None
                  ) -> list[Trace]:
    """Run :func:`simulate` for many seeds in lock step, answering the benchmark queries
    of all runs in one call per round (vectorised across seeds). Results equal
    :func:`simulate` seed by seed (for benchmarks whose answers are row-wise, as all
    hasbench benchmarks are). ``on_done(trace)`` is called as each run finishes.

    ``optimizer`` must be a registry name or a factory (each seed needs a fresh optimizer).
    """
    if isinstance(optimizer, Optimizer):
        raise InvalidValueError("optimizer", type(optimizer).__name__, "a registry name or a "
                                "factory (one fresh optimizer per seed)", "simulate_many")
    gens = [_simulation(benchmark, optimizer, s, n_workers, time_budget, max_evaluations,
                        objective, optimizer_kwargs, count_overhead, noise,
                        max_consecutive_prunes) for s in seeds]
    return _drive(gens, benchmark, on_done)


def _drive(gens: list, bench: Benchmark, on_done: Callable | None = None) -> list[Trace]:
    """Advance simulation generators in lock step; merge their benchmark queries."""
    out: list = [None] * len(gens)
    pending: dict[int, tuple] = {}
    for i, g in enumerate(gens):
        try:
            pending[i] = next(g)
        except StopIteration as e:
            out[i] = e.value
            if on_done:
                on_done(out[i])
    while pending:
        groups: dict[tuple, list[int]] = {}
        for i, req in pending.items():
            groups.setdefault((req[4], req[3] is None), []).append(i)
        answers: dict[int, dict] = {}
        for (metrics, noseed), idx in groups.items():
            reqs = [pending[i] for i in idx]
            if len(reqs) == 1:
                r = reqs[0]
                answers[idx[0]] = bench._query_arrays(r[1], r[2], r[3], list(metrics))
                continue
            X = np.concatenate([r[1] for r in reqs])
            f = np.concatenate([r[2] for r in reqs])
            sd = None if noseed else np.concatenate([r[3] for r in reqs])
            res = bench._query_arrays(X, f, sd, list(metrics))
            pos = 0
            for i, r in zip(idx, reqs, strict=True):
                n = r[1].shape[0]
                answers[i] = {m: v[pos:pos + n] for m, v in res.items()}
                pos += n
        for i, ans in answers.items():
            try:
                pending[i] = gens[i].send(ans)
            except StopIteration as e:
                del pending[i]
                out[i] = e.value
                if on_done:
                    on_done(out[i])
    return out


def _simulation(benchmark, optimizer, seed, n_workers, time_budget, max_evaluations,
                objective, optimizer_kwargs, count_overhead, noise, max_consecutive_prunes):
    """Generator: the simulation of one run; yields benchmark query requests
    ``("query", X, fidelity, seeds | None, metrics)`` and returns the :class:`Trace`."""
    (seed, n_workers, time_budget, max_evaluations, objective,
     max_consecutive_prunes) = _check_args(benchmark, seed, n_workers, time_budget,
                                           max_evaluations, objective, max_consecutive_prunes)
    opt = make_optimizer(optimizer, benchmark.space, seed, optimizer_kwargs)
    ev = _Evaluator(benchmark, objective, opt.fidelity_levels, seed, bool(noise))
    pruner = getattr(opt, "pruner", None)
    upcoming = opt.upcoming

    now = 0.0
    heap: list = []
    free = list(range(n_workers))
    seq = 0
    started = 0
    consecutive = 0
    overhead = 0.0
    running: dict[int, tuple] = {}
    rec: list[tuple] = []  # (job, trial, worker, start, end, fid, resume, cont, status, bseed,
    #                        value, loss, cost, x)
    stop_asking = False
    curves: dict[int, dict[float, float]] = {}  # trial -> {fidelity: loss}, for pruners
    perf = time.perf_counter
    while True:
        while free and not stop_asking:
            if max_evaluations is not None and started >= max_evaluations:
                stop_asking = True
                break
            if time_budget is not None and now >= time_budget:
                stop_asking = True
                break
            if count_overhead:
                t0 = perf()
                job = opt.ask()
                dt = perf() - t0
                now += dt
                overhead += dt
            else:
                job = opt.ask()
            if job is None:
                break
            if pruner is not None and consecutive < max_consecutive_prunes:
                feats = yield from ev.static(job, pruner.static_metrics)
                feats["curve"] = dict(curves.get(job.trial_id, {}))
                if pruner.prune(job, feats):
                    consecutive += 1
                    rec.append((job.job_id, job.trial_id, -1, now, now, job.fidelity,
                                job.resume_from, job.continues, "pruned", ev.seed_of(
                                    job.trial_id), math.nan, math.nan, 0.0, job.x,
                                job.info.get("iteration", -1), job.info.get("rung", -1)))
                    opt.tell_pruned(job, feats)
                    continue
            consecutive = 0
            value, loss, cost = yield from ev.evaluate(job, upcoming)
            w = heapq.heappop(free)
            running[seq] = (job, w, now, value, loss, cost)
            heapq.heappush(heap, (now + cost, seq))
            seq += 1
            started += 1
        if not heap:
            break
        end, s = heapq.heappop(heap)
        if time_budget is not None and end > time_budget:
            break
        now = max(now, end)
        job, w, start, value, loss, cost = running.pop(s)
        heapq.heappush(free, w)
        status = "ok" if math.isfinite(loss) else "crashed"
        result = Result(loss if math.isfinite(loss) else math.inf, cost, status,
                        {objective: value})
        if count_overhead:
            t0 = perf()
            opt.tell(job, result)
            dt = perf() - t0
            now += dt
            overhead += dt
        else:
            opt.tell(job, result)
        if pruner is not None:
            pruner.observe(job, result)
            if status == "ok":
                curves.setdefault(job.trial_id, {})[job.fidelity] = result.loss
        rec.append((job.job_id, job.trial_id, w, start, end, job.fidelity, job.resume_from,
                    job.continues, status, ev.seed_of(job.trial_id), value, result.loss, cost,
                    job.x, job.info.get("iteration", -1), job.info.get("rung", -1)))

    frame = _frame(rec, benchmark.space.names)
    meta = {
        "optimizer": getattr(opt, "name", type(opt).__name__),
        "optimizer_class": type(opt).__name__,
        "optimizer_kwargs": _jsonable(optimizer_kwargs or {}),
        "seed": seed, "benchmark": getattr(benchmark, "name", type(benchmark).__name__),
        "objective": objective, "n_workers": n_workers, "time_budget": time_budget,
        "max_evaluations": max_evaluations, "count_overhead": bool(count_overhead),
        "overhead_seconds": overhead if count_overhead else 0.0, "noise": bool(noise),
        "fidelity": benchmark.fidelity.name,
        "max_fidelity": float(getattr(opt, "max_fidelity", benchmark.fidelity.upper)),
        "optimum_loss": _optimum(benchmark, objective),
        "space": benchmark.space.to_json(), "hasbench_version": __version__,
    }
    return Trace(frame, meta)


def _optimum(bench: Benchmark, objective: str) -> float | None:
    f = getattr(bench, "optimum_loss", None)
    if f is None:
        return None
    try:
        v = float(f(objective))
    except Exception:  # a benchmark that cannot answer for this metric
        return None
    return v if math.isfinite(v) else None


def _jsonable(d: dict) -> dict:
    import json

    out = {}
    for k, v in d.items():
        try:
            json.dumps(v)
            out[k] = v
        except TypeError:
            out[k] = repr(v)
    return out


def _frame(rec: list[tuple], names: list[str]) -> pd.DataFrame:
    n = len(rec)
    cols = ["job", "trial", "worker", "start", "end", "fidelity", "resume_from", "continues",
            "status", "bench_seed", "value", "loss", "cost", "bracket", "rung"]
    if n == 0:
        df = pd.DataFrame({c: [] for c in cols})
        df["incumbent"] = []
        df["incumbent_any"] = []
        for nm in names:
            df[nm] = np.zeros(0)
        return df
    z = list(zip(*rec, strict=True))
    df = pd.DataFrame({
        "job": np.array(z[0], dtype=np.int64), "trial": np.array(z[1], dtype=np.int64),
        "worker": np.array(z[2], dtype=np.int64), "start": np.array(z[3], dtype=float),
        "end": np.array(z[4], dtype=float), "fidelity": np.array(z[5], dtype=float),
        "resume_from": np.array(z[6], dtype=float), "continues": np.array(z[7], dtype=bool),
        "status": np.array(z[8], dtype=object), "bench_seed": np.array(z[9], dtype=np.int64),
        "value": np.array(z[10], dtype=float), "loss": np.array(z[11], dtype=float),
        "cost": np.array(z[12], dtype=float),
        "bracket": np.array(z[14], dtype=np.int64), "rung": np.array(z[15], dtype=np.int64),
    })
    ok = df["status"].to_numpy() != "pruned"
    loss = np.where(ok, df["loss"].to_numpy(), np.inf)
    fid = np.where(ok, df["fidelity"].to_numpy(), -np.inf)
    top = np.maximum.accumulate(fid)
    masked = np.where(fid == top, loss, np.inf)
    inc = np.empty(n)
    # segments of constant largest-fidelity-so-far are contiguous (top only increases)
    starts = np.flatnonzero(np.r_[True, top[1:] != top[:-1]])
    bounds = np.r_[starts, n]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        inc[a:b] = np.minimum.accumulate(masked[a:b])
    inc[~np.isfinite(top)] = np.inf
    df["incumbent"] = inc
    df["incumbent_any"] = np.minimum.accumulate(loss)
    X = np.array(z[13], dtype=float)
    xf = pd.DataFrame(X, columns=list(names))
    return pd.concat([df, xf], axis=1)
