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
from ..errors import MAX_SEED, InvalidValueError, check_choice, check_float, check_int
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
        self.cm = bench.clock_metric
        self.metrics = [objective, self.cm] if objective != self.cm else [objective]
        self.levels = None if levels is None else np.asarray(levels, dtype=float)
        self.index = {} if levels is None else {float(v): i for i, v in enumerate(self.levels)}
        self.noise = noise
        self.run_seed = int(seed)
        sp = bench.space
        fid = sp.fidelity
        # the in-config fidelity column (hia-cnn's ``epochs``) is not part of a config's
        # identity: the same architecture and training settings at another budget share
        # their noise draw, as one training run read at two epochs would
        self._fid_col = sp.names.index(fid.name) if fid.in_config and fid.name in sp.names \
            else None
        self.seeds: dict[int, int] = {}
        self._occurrences: dict[bytes, int] = {}
        self.cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def seed_of(self, trial: int, x: np.ndarray) -> int:
        """The benchmark seed of ``trial`` (config ``x``): a hash of (run seed, config,
        how many earlier trials of this run had the same config). Two optimizers replayed
        with the same run seed therefore see the same draw for the same config (common
        random numbers), whatever order they visit configs in and however many proposals
        a pruner rejected; a config sampled twice in one run gets two independent draws."""
        s = self.seeds.get(trial)
        if s is None:
            if not self.noise:
                s = -1
            else:
                key = _config_key(x, self._fid_col)
                k = self._occurrences.get(key, 0)
                self._occurrences[key] = k + 1
                s = _derive_seed(self.run_seed, key, k)
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
        sd = np.repeat(np.array([self.seed_of(t, x) for t, x in todo]), L)
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
        sd = np.array([self.seed_of(t, job.x)])
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
             max_consecutive_prunes: int = 50, expected: bool = True) -> Trace:
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
        After this many consecutive pruned proposals the next one is evaluated anyway
        (marked ``forced`` in the trace).
    expected : bool
        Record the noise-free expected losses (``expected_loss``, ``expected_loss_max``,
        ``incumbent_true`` ...) that true regret needs (default). ``False`` leaves them NaN
        (one benchmark query less per run; only for speed measurements).

    Returns
    -------
    Trace
    """
    _check_args(benchmark, seed, n_workers, time_budget, max_evaluations, objective,
                max_consecutive_prunes)
    gen = _simulation(benchmark, optimizer, seed, n_workers, time_budget, max_evaluations,
                      objective, optimizer_kwargs, count_overhead, noise,
                      max_consecutive_prunes, expected)
    return _drive([gen], benchmark)[0]


#: Most simulated workers one replay may have (``n_workers``).
MAX_WORKERS = 100_000


def _check_args(benchmark, seed, n_workers, time_budget, max_evaluations, objective,
                max_consecutive_prunes):
    where = "simulate"
    if not isinstance(benchmark, Benchmark):
        raise InvalidValueError("benchmark", type(benchmark).__name__, "a hasbench Benchmark",
                                where)
    seed = check_int("seed", seed, 0, MAX_SEED, where)
    # every free worker gets a job at once: 10^6 workers with a time budget meant 10^6
    # evaluations before the clock first moved (minutes), so the bound is a named error
    n_workers = check_int("n_workers", n_workers, 1, MAX_WORKERS, where)
    if time_budget is not None:
        time_budget = check_float("time_budget", time_budget, 0.0, None, where, low_open=True)
    if max_evaluations is not None:
        max_evaluations = check_int("max_evaluations", max_evaluations, 1, None, where)
    if time_budget is None and max_evaluations is None:
        raise InvalidValueError("time_budget", None, "a positive number of simulated seconds "
                                "(or set max_evaluations)", where,
                                hint="a replay needs a budget to stop")
    objective = benchmark.objective if objective is None else objective  # '' is no default
    check_choice("objective", objective, benchmark.metrics, where, unknown=True)
    max_consecutive_prunes = check_int("max_consecutive_prunes", max_consecutive_prunes, 0,
                                       None, where)
    return seed, n_workers, time_budget, max_evaluations, objective, max_consecutive_prunes


def simulate_many(benchmark: Benchmark, optimizer: Any, seeds: Any, n_workers: int = 1,
                  time_budget: float | None = None, max_evaluations: int | None = None,
                  objective: str | None = None, *, optimizer_kwargs: dict | None = None,
                  count_overhead: bool = False, noise: bool = True,
                  max_consecutive_prunes: int = 50, on_done: Callable | None = None,
                  expected: bool = True) -> list[Trace]:
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
                        max_consecutive_prunes, expected) for s in seeds]
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
                objective, optimizer_kwargs, count_overhead, noise, max_consecutive_prunes,
                expected=True):
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
    #                        value, loss, cost, x, bracket, rung, forced, stage)
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
                                    job.trial_id, job.x), math.nan, math.nan, 0.0, job.x,
                                job.info.get("iteration", -1), job.info.get("rung", -1),
                                False, job.info.get("stage", -1)))
                    opt.tell_pruned(job, feats)
                    continue
            forced = pruner is not None and consecutive >= max_consecutive_prunes
            consecutive = 0
            value, loss, cost = yield from ev.evaluate(job, upcoming)
            w = heapq.heappop(free)
            running[seq] = (job, w, now, value, loss, cost, forced)
            heapq.heappush(heap, (now + cost, seq))
            seq += 1
            started += 1
        if not heap:
            break
        end = heap[0][0]
        if time_budget is not None and end > time_budget:
            break
        now = max(now, end)
        # every job finishing at this instant is told before the optimizer is asked again
        # (ties in start order): a synchronous optimizer sees a whole batch complete at once
        while heap and heap[0][0] == end:
            _, s = heapq.heappop(heap)
            job, w, start, value, loss, cost, forced = running.pop(s)
            heapq.heappush(free, w)
            status = "ok" if math.isfinite(loss) else "crashed"
            result = Result(loss if math.isfinite(loss) else math.inf, cost, status,
                            {objective: value}, time=end)
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
            rec.append((job.job_id, job.trial_id, w, start, end, job.fidelity,
                        job.resume_from, job.continues, status, ev.seed_of(job.trial_id, job.x),
                        value, result.loss, cost, job.x, job.info.get("iteration", -1),
                        job.info.get("rung", -1), forced, job.info.get("stage", -1)))

    top_fid = float(benchmark.fidelity.upper)
    exp = (yield from _expected_losses(rec, ev, objective, top_fid, bool(noise))) \
        if expected else None
    frame = _frame(rec, benchmark.space.names, exp)
    meta = {
        "optimizer": getattr(opt, "name", type(opt).__name__),
        "optimizer_class": type(opt).__name__,
        "optimizer_kwargs": _jsonable(optimizer_kwargs or {}),
        "seed": seed, "benchmark": getattr(benchmark, "name", type(benchmark).__name__),
        "objective": objective, "n_workers": n_workers, "time_budget": time_budget,
        "max_evaluations": max_evaluations, "count_overhead": bool(count_overhead),
        "overhead_seconds": overhead if count_overhead else 0.0, "noise": bool(noise),
        "fidelity": benchmark.fidelity.name,
        "cost_metric": str(getattr(benchmark, "cost_metric", "model")),
        "max_fidelity": float(getattr(opt, "max_fidelity", benchmark.fidelity.upper)),
        "optimum_loss": _optimum(benchmark, objective),
        "optimum_source": _optimum_source(benchmark, objective),
        "regret_fidelity": top_fid, "expected_values": bool(expected),
        "space": benchmark.space.to_json(), "hasbench_version": __version__,
    }
    return Trace(frame, meta)


def _config_key(x: np.ndarray, fid_col: int | None) -> bytes:
    """Canonical bytes of an encoded config (the in-config fidelity zeroed, ``-0.0`` and
    NaN payloads normalised) for :meth:`_Evaluator.seed_of`."""
    v = np.array(x, dtype=np.float64, copy=True).ravel()
    if fid_col is not None:
        v[fid_col] = 0.0
    v[v == 0.0] = 0.0
    v[np.isnan(v)] = np.nan
    return v.tobytes()


def _derive_seed(run_seed: int, key: bytes, occurrence: int) -> int:
    import hashlib

    h = np.frombuffer(hashlib.blake2b(key, digest_size=16).digest(), dtype="<u4")
    ss = np.random.SeedSequence([int(run_seed), 0xBE, *map(int, h), int(occurrence)])
    return int(ss.generate_state(1, np.uint32)[0] & 0x7FFFFFFF)


def _expected_losses(rec: list[tuple], ev: _Evaluator, objective: str, top: float,
                     noise: bool):
    """Generator: the noise-free (``seed=None``) loss of every recorded job at its own
    fidelity and of its config at the benchmark's maximum fidelity, in one batched query;
    returns ``(expected, expected_max)`` arrays aligned with ``rec`` (NaN for pruned)."""
    n = len(rec)
    exp_f = np.full(n, np.nan)
    exp_top = np.full(n, np.nan)
    rows = [i for i, r in enumerate(rec) if r[8] != "pruned"]
    if not rows:
        return exp_f, exp_top
    first: dict[int, int] = {}
    for i in rows:
        first.setdefault(rec[i][1], i)
    trials = list(first.values())
    Xt = np.array([rec[i][13] for i in trials], dtype=float)
    if ev._fid_col is not None:
        Xt[:, ev._fid_col] = top
    parts_X = [Xt]
    parts_f = [np.full(len(trials), top)]
    if noise:
        parts_X.insert(0, np.array([rec[i][13] for i in rows], dtype=float))
        parts_f.insert(0, np.array([rec[i][5] for i in rows], dtype=float))
    out = yield ("query", np.concatenate(parts_X), np.concatenate(parts_f), None,
                 (objective,))
    loss = ev.bench.to_loss(objective, np.asarray(out[objective], dtype=float))
    k = len(rows) if noise else 0
    if noise:
        exp_f[rows] = loss[:k]
    else:  # seed-averaged answers: the observed loss is the expected one
        exp_f[rows] = [rec[i][11] for i in rows]
    top_of = dict(zip([rec[i][1] for i in trials], loss[k:], strict=True))
    exp_top[rows] = [top_of[rec[i][1]] for i in rows]
    return exp_f, exp_top


def _optimum_source(bench: Benchmark, objective: str) -> str | None:
    f = getattr(bench, "optimum_source", None)
    if f is None:
        return None
    try:
        return str(f(objective)) if callable(f) else str(f)
    except Exception:  # noqa: BLE001 - a benchmark that cannot say
        return None


def _optimum(bench: Benchmark, objective: str) -> float | None:
    f = getattr(bench, "optimum_loss", None)
    if f is None:
        return None
    try:
        v = float(f(objective))
    except Exception:  # a benchmark that cannot answer for this metric
        return None
    return v if math.isfinite(v) else None


def _running_argmin(v: np.ndarray) -> np.ndarray:
    """Index of the first minimum of ``v[:i + 1]`` for every ``i`` (ties: the earliest
    result stays the incumbent)."""
    n = v.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    run = np.minimum.accumulate(v)
    new = np.r_[True, v[1:] < run[:-1]]
    idx = np.where(new, np.arange(n), 0)
    return np.maximum.accumulate(idx).astype(np.int64)


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


def _frame(rec: list[tuple], names: list[str],
           expected: tuple[np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    n = len(rec)
    cols = ["job", "trial", "worker", "start", "end", "fidelity", "resume_from", "continues",
            "status", "bench_seed", "value", "loss", "cost", "bracket", "rung", "stage",
            "forced", "expected_loss", "expected_loss_max"]
    if n == 0:
        df = pd.DataFrame({c: [] for c in cols})
        for c in ("incumbent", "incumbent_any", "incumbent_true", "incumbent_any_true"):
            df[c] = []
        for nm in names:
            df[nm] = np.zeros(0)
        return df
    if expected is None:
        expected = (np.full(n, np.nan), np.full(n, np.nan))
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
        "stage": np.array(z[17], dtype=np.int64),
        "forced": np.array(z[16], dtype=bool),
        "expected_loss": np.asarray(expected[0], dtype=float),
        "expected_loss_max": np.asarray(expected[1], dtype=float),
    })
    ok = df["status"].to_numpy() != "pruned"
    loss = np.where(ok, df["loss"].to_numpy(), np.inf)
    fid = np.where(ok, df["fidelity"].to_numpy(), -np.inf)
    top = np.maximum.accumulate(fid)
    masked = np.where(fid == top, loss, np.inf)
    inc = np.empty(n)
    arg = np.full(n, -1, dtype=np.int64)
    # segments of constant largest-fidelity-so-far are contiguous (top only increases)
    starts = np.flatnonzero(np.r_[True, top[1:] != top[:-1]])
    bounds = np.r_[starts, n]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        inc[a:b] = np.minimum.accumulate(masked[a:b])
        arg[a:b] = _running_argmin(masked[a:b]) + a
    inc[~np.isfinite(top)] = np.inf
    df["incumbent"] = inc
    df["incumbent_any"] = np.minimum.accumulate(loss)
    # the incumbent is chosen by its observed loss (what the optimizer knows); its
    # ``_true`` twin is that config's expected loss at the maximum fidelity (what the user
    # gets), the quantity regret is reported from
    emax = df["expected_loss_max"].to_numpy()
    arg[~np.isfinite(inc)] = -1
    df["incumbent_true"] = np.where(arg >= 0, emax[np.clip(arg, 0, None)], np.inf)
    arg_any = _running_argmin(loss)
    arg_any[~np.isfinite(df["incumbent_any"].to_numpy())] = -1
    df["incumbent_any_true"] = np.where(arg_any >= 0, emax[np.clip(arg_any, 0, None)],
                                        np.inf)
    X = np.array(z[13], dtype=float)
    xf = pd.DataFrame(X, columns=list(names))
    return pd.concat([df, xf], axis=1)
