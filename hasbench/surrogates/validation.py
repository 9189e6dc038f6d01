"""Validation report of a surrogate against a held-out run table.

What is measured (``hasbench validate SURROGATE --table HELDOUT``):

- **Accuracy of the mean**, per metric and per fidelity: R², Kendall tau, Spearman rho and
  RMSE between the surrogate's seed-mean prediction and the held-out seed mean. Diverged
  losses in the held-out table (NaN) are counted at the surrogate's loss cap, as in
  training; ``cum_time`` is also scored on ``log`` seconds.
- **Top-k overlap** of the objective at the maximum fidelity: share of the true top-k
  configs among the predicted top-k (k = 10 and k = 10% of the configs).
- **Interval coverage**: share of held-out *per-seed* values inside the surrogate's 80%
  interval, for the seed interval (seed-to-seed spread only) and the predictive interval
  (seed spread plus calibrated model error).
- **Optimizer-ranking agreement**: each optimizer is replayed (sequentially, simulated time,
  same seeds) on the held-out table and on the surrogate, both restricted to the held-out
  configs (a proposed config is snapped to its nearest held-out config in the unit cube,
  so both benchmarks answer the same candidate set); optimizers are ranked by their mean
  final incumbent loss, and Kendall tau between the two rankings is reported.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidValueError, check_int, check_path
from .model import Z80, CurveSurrogate, _jsonable, file_sha256, metric_kind

__all__ = ["validate", "write_report", "TARGETS", "DEFAULT_OPTIMIZERS"]

log = logging.getLogger(__name__)

DEFAULT_OPTIMIZERS = ("random", "hyperband", "bohb", "tpe", "re", "asha")

#: validation targets (set from YAHPO Gym's nb301 surrogate; see docs/surrogates.md)
TARGETS = {
    "final valid_acc R2": (">=", 0.95),
    "final valid_acc Kendall tau": (">=", 0.85),
    "runtime R2 (cum_time, final fidelity)": (">=", 0.95),
    "80% seed interval coverage (valid_acc)": ("in", (0.75, 0.85)),
}


def _scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from scipy.stats import kendalltau, spearmanr

    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok], p[ok]
    out = {"n": int(ok.sum())}
    if y.size < 3:
        return {**out, "r2": math.nan, "kendall_tau": math.nan, "spearman_rho": math.nan,
                "rmse": math.nan}
    ss = float(np.sum((y - y.mean()) ** 2))
    out["r2"] = 1.0 - float(np.sum((y - p) ** 2)) / ss if ss > 0 else math.nan
    out["kendall_tau"] = float(kendalltau(y, p)[0]) if np.ptp(y) > 0 and np.ptp(p) > 0 \
        else math.nan
    out["spearman_rho"] = float(spearmanr(y, p)[0]) if np.ptp(y) > 0 and np.ptp(p) > 0 \
        else math.nan
    out["rmse"] = float(np.sqrt(np.mean((y - p) ** 2)))
    return out


def _tau_ceiling(a: np.ndarray, b: np.ndarray, nsim: int, k: int = 15) -> float:
    """Simulated Kendall tau of the seed expectation against a two-seed mean (see _ceiling)."""
    from scipy.stats import kendalltau

    m = (a + b) / 2
    s2 = (a - b) ** 2 / 2
    var = float(m.var())
    share = max(0.0, 1.0 - float(np.mean(s2 / 2)) / var)
    mu = m.mean() + math.sqrt(share) * (m - m.mean())
    order = np.argsort(mu, kind="stable")
    c = np.concatenate([[0.0], np.cumsum(s2[order])])
    j = np.arange(order.size)
    lo, hi = np.maximum(j - k, 0), np.minimum(j + k + 1, order.size)
    sm = np.empty_like(s2)
    sm[order] = (c[hi] - c[lo]) / (hi - lo)
    rng = np.random.default_rng(0)
    taus = [kendalltau(mu, mu + rng.normal(size=mu.size) * np.sqrt(sm / 2))[0]
            for _ in range(nsim)]
    return float(np.mean(taus))


def _ceiling(V: np.ndarray, log: bool = False, nsim: int = 200) -> dict[str, Any]:
    """What a perfect model of the seed *expectation* would score against a seed mean, from
    configs with two seeds ``V (n, >=2)``: ``r2 = 1 - E[(a - b)^2] / 4 / Var(mean)``; the
    Kendall tau between seed 0 and seed 1 (how well one seed ranks the other, a lower bound);
    and ``kendall_tau``, the tau of the expectation against the two-seed mean, simulated:
    the expectations are the seed means shrunk towards their average by the signal share
    ``1 - E[noise var of the mean] / Var(mean)``, each config's seed variance is
    ``(a - b)^2 / 2`` averaged over its 31 neighbours in expectation order (the spread
    depends on the level: configs at chance barely vary), and the mean of two fresh seeds is
    drawn ``nsim`` times (fixed random stream, so reports are reproducible)."""
    from scipy.stats import kendalltau

    if V.shape[1] < 2:
        return {"n": 0}
    a, b = V[:, 0], V[:, 1]
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            a, b = np.log(a), np.log(b)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    out: dict[str, Any] = {"n": int(ok.sum()), "scale": "log" if log else "raw"}
    if a.size < 3:
        return out
    mean = (a + b) / 2
    var = float(mean.var())
    out["r2"] = 1.0 - float(np.mean((a - b) ** 2)) / 4 / var if var > 0 else math.nan
    out["seed_vs_seed_kendall_tau"] = float(kendalltau(a, b)[0]) \
        if np.ptp(a) > 0 and np.ptp(b) > 0 else math.nan
    out["kendall_tau"] = _tau_ceiling(a, b, nsim) if var > 0 else math.nan
    if log:  # also on raw seconds
        ea, eb = np.exp(a), np.exp(b)
        em = (ea + eb) / 2
        out["r2_raw"] = 1.0 - float(np.mean((ea - eb) ** 2)) / 4 / float(em.var()) \
            if em.var() > 0 else math.nan
    return out


class _Snapped:
    """Benchmark view restricted to a pool of configs: every query row is replaced by its
    nearest pool config (unit-cube distance over the search hyperparameters)."""

    def __init__(self, inner, pool: np.ndarray, cols: np.ndarray):
        from ..benchmarks.base import Benchmark

        self.inner: Benchmark = inner
        self.pool = pool
        self.cols = cols
        U = inner.space.to_unit(pool)[:, cols]
        self.U = np.where(np.isnan(U), -1.0, U)

    def snap(self, X: np.ndarray) -> np.ndarray:
        u = self.inner.space.to_unit(X)[:, self.cols]
        u = np.where(np.isnan(u), -1.0, u)
        d = ((u[:, None, :] - self.U[None, :, :]) ** 2).sum(axis=2)
        return self.pool[np.argmin(d, axis=1)]


def _replay(view: _Snapped, name: str, seed: int, budget: float, objective: str,
            max_jobs: int, space=None) -> float:
    """Sequential replay of optimizer ``name`` over ``space`` (default: the view's; the
    ranking passes the held-out table's, so both replays use its fidelity range); returns
    the best objective loss seen."""
    from ..benchmarks.base import to_loss
    from ..optimizers import Result, get_optimizer

    b = view.inner
    opt = get_optimizer(name, b.space if space is None else space, seed=seed)
    clock, best = 0.0, math.inf
    seed_arr = np.array([seed], dtype=np.int64)
    for _ in range(max_jobs):
        job = opt.ask()
        if job is None:
            break
        x = view.snap(np.asarray(job.x, float)[None, :])
        f = np.array([float(job.fidelity)])
        v = b._query_arrays(x, f, seed_arr, [objective, "cum_time"])
        c_to = float(v["cum_time"][0])
        c_from = 0.0
        if job.resume_from and job.resume_from > 0:
            c_from = float(b._query_arrays(x, np.array([float(job.resume_from)]), seed_arr,
                                           ["cum_time"])["cum_time"][0])
        cost = max(c_to - c_from, 0.0)
        loss = float(to_loss(objective, v[objective])[0])
        opt.tell(job, Result(loss=loss, cost=cost))
        clock += cost
        best = min(best, loss)
        if clock >= budget:
            break
    return best


def _optimizer_ranking(table_bench, sur_bench, optimizers: Sequence[str], repeats: int,
                       budget_runs: float, objective: str, max_jobs: int) -> dict[str, Any]:
    from scipy.stats import kendalltau, spearmanr

    try:
        from ..optimizers import list_optimizers
    except ImportError:  # pragma: no cover - optimizers are part of the package
        return {"skipped": "hasbench.optimizers not available"}
    from ..errors import InvalidValueError as _IVE
    from ..optimizers import get_optimizer

    avail = set(list_optimizers())
    opts = [o for o in optimizers if o in avail]
    skipped = {}
    fid = table_bench.space.fidelity
    if fid.upper <= fid.lower:  # one fidelity: multi-fidelity optimizers cannot run
        for o in list(opts):
            try:
                get_optimizer(o, table_bench.space, seed=0)
            except _IVE as exc:
                skipped[o] = (f"needs a fidelity range; the held-out table has one fidelity "
                              f"({exc.parameter} = {exc.value!r})")
                opts.remove(o)
    pool = table_bench.table.X
    cols = table_bench._cols
    tv, sv = _Snapped(table_bench, pool, cols), _Snapped(sur_bench, pool, cols)
    full = table_bench._mean["cum_time"][:, -1]
    budget = float(budget_runs * np.nanmedian(full))
    res: dict[str, Any] = {"optimizers": opts, "repeats": repeats,
                           "budget_seconds": budget, "budget_full_runs": budget_runs,
                           "table": {}, "surrogate": {}}
    if skipped:
        res["skipped"] = skipped
    for o in opts:
        for key, view in (("table", tv), ("surrogate", sv)):
            vals = [_replay(view, o, s, budget, objective, max_jobs, table_bench.space)
                    for s in range(repeats)]
            res[key][o] = {"mean_best_loss": float(np.mean(vals)),
                           "best_losses": [float(v) for v in vals]}
    a = np.array([res["table"][o]["mean_best_loss"] for o in opts])
    b = np.array([res["surrogate"][o]["mean_best_loss"] for o in opts])
    res["rank_table"] = [opts[i] for i in np.argsort(a, kind="stable")]
    res["rank_surrogate"] = [opts[i] for i in np.argsort(b, kind="stable")]
    if len(opts) >= 3 and np.ptp(a) > 0 and np.ptp(b) > 0:
        res["kendall_tau"] = float(kendalltau(a, b)[0])
        res["spearman_rho"] = float(spearmanr(a, b)[0])
    else:
        res["kendall_tau"] = res["spearman_rho"] = math.nan
    return res


def validate(surrogate: Any, heldout: Any, fidelities: Sequence[int] | None = None,
             optimizers: Sequence[str] | None = DEFAULT_OPTIMIZERS, repeats: int = 10,
             budget_runs: float = 10.0, max_jobs: int = 2000,
             objective: str = "valid_acc") -> dict[str, Any]:
    """Score ``surrogate`` on the held-out run table ``heldout``.

    Parameters
    ----------
    surrogate : CurveSurrogate or path to a surrogate folder
    heldout : RunTable or path
        Configs the surrogate was not fitted on.
    fidelities : sequence of int, optional
        Fidelities scored individually (default: every epoch of the table).
    optimizers : sequence of str or None
        Optimizers for the ranking agreement (``None`` or empty skips it).
    repeats : int
        Seeds per optimizer.
    budget_runs : float
        Simulated time budget per replay, in multiples of the median full-run time.
    max_jobs : int
        Cap on jobs per replay.
    objective : str

    Returns
    -------
    dict
        JSON-serialisable report (see module docstring).
    """
    from ..benchmarks import SurrogateBenchmark, TabularBenchmark
    from ..tables import RunTable

    if not isinstance(surrogate, CurveSurrogate):
        surrogate = CurveSurrogate.load(check_path("surrogate", surrogate, must_exist=True))
    if not isinstance(heldout, RunTable):
        heldout = RunTable.read(check_path("heldout", heldout, must_exist=True))
    repeats = check_int("repeats", repeats, 1, 100, "validate")
    if heldout.space.to_dict()["configspace"] != surrogate.space.to_dict()["configspace"]:
        from ..tables.importers import space_difference

        diff = space_difference(heldout.space, surrogate.space, ("held-out table",
                                                                 "surrogate"))
        raise InvalidValueError("heldout", str(heldout.path), f"a run table of space "
                                f"{surrogate.space.name!r}", "validate",
                                hint=f"its space {heldout.space.name!r} differs: "
                                     + "; ".join(diff[:6]) + (" ..." if len(diff) > 6 else "")
                                     + ". Import a held-out file with --space-from "
                                       "TRAINING_TABLE to share the space")
    tb = TabularBenchmark(heldout)
    sb = SurrogateBenchmark(surrogate)
    E = tb.max_epochs
    if E > surrogate.max_epochs:
        raise InvalidValueError("heldout", str(heldout.path), f"a run table with at most "
                                f"{surrogate.max_epochs} epochs (the surrogate's range)",
                                "validate", hint=f"its curves have {E} epochs; the "
                                "surrogate's training table had "
                                f"{surrogate.max_epochs}, and it does not extrapolate")
    fids = list(range(1, E + 1)) if fidelities is None else [int(f) for f in fidelities]
    has = tb._has_runs
    X = heldout.X[has]
    C = X.shape[0]
    ms = [m for m in surrogate.metrics if m in heldout.metrics] + ["cum_time"]
    Xr = np.repeat(X, E, axis=0)
    fr = np.tile(np.arange(1, E + 1, dtype=float), C)
    pred = surrogate.predict(Xr, fr, ms)
    std_seed = surrogate.predict_std(Xr, fr, ms, kind="seed")
    std_pred = surrogate.predict_std(Xr, fr, ms, kind="predictive")
    report: dict[str, Any] = {
        "surrogate": str(surrogate.path) if surrogate.path else None,
        "surrogate_model": surrogate.model,
        "training_table": surrogate.table_info,
        "heldout": {"path": str(heldout.path), "name": Path(heldout.path).name,
                    "sha256": file_sha256(heldout.path), "n_configs": int(C),
                    "n_runs": int(heldout.n_runs), "seeds": [int(s) for s in heldout.seeds]},
        "metrics": {}, "coverage": {}, "top_k": {},
    }
    rows = np.nonzero(has)[0]
    for m in ms:
        P = pred[m].reshape(C, E)
        if m == "cum_time":
            D = tb._dense["cum_time"][rows]
        else:
            D = tb._dense[m][rows].copy()
            if metric_kind(m) == "loss":
                cap = surrogate.fill[m]
                D = np.where(~np.isfinite(D) | (D > cap), cap, D)
            elif metric_kind(m) == "acc":
                D = np.where(np.isfinite(D), D, surrogate.fill[m])
        avail = np.zeros(D.shape[:2], bool)
        k = tb._n_avail[rows]
        for j in range(D.shape[1]):
            avail[:, j] = j < k
        slot = tb._avail_idx[rows]
        Ds = np.take_along_axis(D, slot[:, :, None], axis=1)  # available seeds first
        Ds = np.where(avail[:, :, None], Ds, np.nan)
        with np.errstate(invalid="ignore"):
            Y = np.nanmean(Ds, axis=1)  # (C, E)
        per_f = {}
        for f in fids:
            per_f[str(f)] = _scores(Y[:, f - 1], P[:, f - 1])
            if m == "cum_time":
                per_f[str(f)]["log"] = _scores(np.log(Y[:, f - 1]), np.log(P[:, f - 1]))
        entry = {"per_fidelity": per_f, "all_fidelities": _scores(Y.ravel(), P.ravel()),
                 "noise_ceiling": _ceiling(Ds[:, :, -1], log=m == "cum_time")}
        if m == "cum_time":
            entry["all_fidelities"]["log"] = _scores(np.log(Y.ravel()), np.log(P.ravel()))
        report["metrics"][m] = entry
        # interval coverage of per-seed values
        cov = {}
        for kind, SD in (("seed", std_seed), ("predictive", std_pred)):
            S_ = SD[m].reshape(C, E)[:, None, :]
            if m == "cum_time":
                r = np.abs(np.log(Ds) - np.log(P)[:, None, :])
            else:
                r = np.abs(Ds - P[:, None, :])
            inside = r <= Z80 * S_
            ok = np.isfinite(r)
            cov[kind] = {"all_fidelities": float(inside[ok].mean()) if ok.any() else math.nan,
                         "final_fidelity": float(inside[:, :, -1][ok[:, :, -1]].mean())
                         if ok[:, :, -1].any() else math.nan,
                         "n": int(ok.sum())}
        report["coverage"][m] = cov
        if m == objective:
            yt, pt = Y[:, -1], P[:, -1]
            sign = -1.0 if metric_kind(m) == "acc" else 1.0
            for kk in sorted({10, max(10, C // 10)}):
                kk = min(kk, C)
                top_t = set(np.argsort(sign * yt, kind="stable")[:kk])
                top_p = set(np.argsort(sign * pt, kind="stable")[:kk])
                report["top_k"][str(kk)] = len(top_t & top_p) / kk
    notes = []
    if surrogate.seed_information["seed_spread"] != "modelled":
        notes.append("no seed information in the training table for "
                     + ", ".join(m for m in surrogate.metrics
                                 if m not in surrogate.seed_information["metrics_with_spread"])
                     + ": the seed spread is unknown (not zero); the seed interval has zero "
                       "width and the predictive interval is calibrated from out-of-fold "
                       "model error alone")
    if len(heldout.seeds) < 2:
        notes.append("the held-out table has one seed per config: no seed-to-seed "
                     "differences to score the seed interval or a noise ceiling against")
    report["seed_information"] = {**surrogate.seed_information,
                                  "heldout_seeds": int(len(heldout.seeds))}
    if notes:
        report["notes"] = notes
    if optimizers:
        report["optimizer_ranking"] = _optimizer_ranking(tb, sb, list(optimizers), repeats,
                                                         budget_runs, objective, max_jobs)
    fin = str(E)
    va = report["metrics"].get(objective, {}).get("per_fidelity", {}).get(fin, {})
    rt = report["metrics"]["cum_time"]["per_fidelity"][fin]
    cv = report["coverage"].get(objective, {})
    measured = {
        "final valid_acc R2": va.get("r2"),
        "final valid_acc Kendall tau": va.get("kendall_tau"),
        "runtime R2 (cum_time, final fidelity)": rt.get("r2"),
        "80% seed interval coverage (valid_acc)": cv.get("predictive", {}).get("all_fidelities"),
    }
    report["targets"] = {}
    for k, (op, thr) in TARGETS.items():
        v = measured[k]
        if v is None or not np.isfinite(v):
            met = None
        elif op == ">=":
            met = bool(v >= thr)
        else:
            met = bool(thr[0] <= v <= thr[1])
        report["targets"][k] = {"target": f"{op} {thr}", "measured": v, "met": met}
    report["targets_note"] = ("interval coverage: the predictive 80% interval (seed spread plus "
                              "calibrated model error) over held-out per-seed values, all "
                              "fidelities; the seed-only interval is in 'coverage'")
    return _jsonable(report)


def _fmt(v: Any, nd: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return "n/a" if not math.isfinite(v) else f"{v:.{nd}f}"
    return str(v)


def _markdown(rep: dict[str, Any], plots: list[str], command: str | None) -> str:
    L = []
    L.append("# Surrogate validation report\n")
    L.append(f"- surrogate: `{rep['surrogate']}` (model `{rep['surrogate_model']}`)")
    tt = rep["training_table"]
    L.append(f"- training table: `{tt.get('name')}` ({tt.get('n_configs')} configs, "
             f"{tt.get('n_runs')} runs, sha256 `{str(tt.get('sha256'))[:16]}...`)")
    h = rep["heldout"]
    L.append(f"- held-out table: `{h['name']}` ({h['n_configs']} configs, {h['n_runs']} runs, "
             f"seeds {h['seeds']}, sha256 `{h['sha256'][:16]}...`)")
    if command:
        L.append(f"- regenerate: `{command}`")
    L.append("")
    L.append("## Targets\n")
    L.append("| target | required | measured | met |")
    L.append("|---|---|---|---|")
    for k, t in rep["targets"].items():
        met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
        L.append(f"| {k} | {t['target']} | {_fmt(t['measured'])} | {met} |")
    L.append(f"\n{rep['targets_note']}.\n")
    for n in rep.get("notes", []):
        L.append(f"**Note:** {n}.\n")
    L.append("## Per metric at the maximum fidelity, and pooled over all fidelities\n")
    L.append("| metric | R² (final) | Kendall τ | Spearman ρ | RMSE | R² (all) | τ (all) | "
             "noise ceiling R² | noise ceiling τ | seed-vs-seed τ |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for m, e in rep["metrics"].items():
        fin = e["per_fidelity"][max(e["per_fidelity"], key=int)]
        a = e["all_fidelities"]
        nc = e.get("noise_ceiling", {})
        ncr = nc.get("r2_raw", nc.get("r2"))
        L.append(f"| {m} | {_fmt(fin['r2'])} | {_fmt(fin['kendall_tau'])} | "
                 f"{_fmt(fin['spearman_rho'])} | {_fmt(fin['rmse'], 4)} | {_fmt(a['r2'])} | "
                 f"{_fmt(a['kendall_tau'])} | {_fmt(ncr)} | {_fmt(nc.get('kendall_tau'))} | "
                 f"{_fmt(nc.get('seed_vs_seed_kendall_tau'))} |")
    L.append("\nNoise ceiling: what a perfect model of each config's expected value would "
             "score against the held-out two-seed mean at the maximum fidelity: R² "
             "`1 - E[(a-b)^2]/4 / Var(mean)`, and Kendall τ simulated from the seed spread "
             "(fresh two-seed means drawn around the shrunk seed means); no surrogate can "
             "expect to beat them on this held-out data. Seed-vs-seed τ: Kendall τ between "
             "the two held-out seeds (one noisy run ranking another; lower than the ceiling).")
    if "cum_time" in rep["metrics"]:
        ct = rep["metrics"]["cum_time"]
        fin = ct["per_fidelity"][max(ct["per_fidelity"], key=int)]
        L.append(f"\n`cum_time` on log seconds: R² {_fmt(fin['log']['r2'])} (final), "
                 f"{_fmt(ct['all_fidelities']['log']['r2'])} (all fidelities).")
    obj = "valid_acc" if "valid_acc" in rep["metrics"] else next(iter(rep["metrics"]))
    L.append(f"\n## `{obj}` per fidelity\n")
    L.append("| fidelity | n | R² | Kendall τ | Spearman ρ | RMSE |")
    L.append("|---|---|---|---|---|---|")
    for f, s in rep["metrics"][obj]["per_fidelity"].items():
        L.append(f"| {f} | {s['n']} | {_fmt(s['r2'])} | {_fmt(s['kendall_tau'])} | "
                 f"{_fmt(s['spearman_rho'])} | {_fmt(s['rmse'], 4)} |")
    L.append("\n## Top-k overlap (objective, maximum fidelity)\n")
    for k, v in rep["top_k"].items():
        L.append(f"- top-{k}: {_fmt(v, 2)}")
    L.append("\n## Coverage of 80% intervals (held-out per-seed values)\n")
    L.append("| metric | seed interval (all) | seed interval (final) | predictive (all) | "
             "predictive (final) |")
    L.append("|---|---|---|---|---|")
    for m, c in rep["coverage"].items():
        L.append(f"| {m} | {_fmt(c['seed']['all_fidelities'])} | "
                 f"{_fmt(c['seed']['final_fidelity'])} | "
                 f"{_fmt(c['predictive']['all_fidelities'])} | "
                 f"{_fmt(c['predictive']['final_fidelity'])} |")
    L.append("\n`cum_time` intervals are on log seconds.")
    orank = rep.get("optimizer_ranking")
    if orank and "optimizers" in orank:
        L.append("\n## Optimizer-ranking agreement\n")
        L.append(f"Each optimizer replayed {orank['repeats']} times (seeds 0..), sequentially, "
                 f"budget {orank['budget_full_runs']:g} median full runs "
                 f"({orank['budget_seconds']:.1f} simulated s), on the held-out table and on "
                 "the surrogate, both restricted to the held-out configs. Mean best loss "
                 "(1 - valid_acc):\n")
        L.append("| optimizer | table | surrogate |")
        L.append("|---|---|---|")
        for o in orank["optimizers"]:
            L.append(f"| {o} | {_fmt(orank['table'][o]['mean_best_loss'], 4)} | "
                     f"{_fmt(orank['surrogate'][o]['mean_best_loss'], 4)} |")
        for o, why in orank.get("skipped", {}).items():
            L.append(f"\n{o}: skipped, {why}.")
        L.append(f"\nRanking on the table: {', '.join(orank['rank_table'])}; on the surrogate: "
                 f"{', '.join(orank['rank_surrogate'])}. Kendall τ = "
                 f"{_fmt(orank['kendall_tau'])}, Spearman ρ = {_fmt(orank['spearman_rho'])}.")
    if plots:
        L.append("\n## Plots\n")
        for p in plots:
            L.append(f"![{Path(p).stem}]({p})")
    L.append("")
    return "\n".join(L)


def _plots(surrogate: CurveSurrogate, heldout, rep: dict[str, Any], folder: Path,
           objective: str = "valid_acc") -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..benchmarks import SurrogateBenchmark, TabularBenchmark

    tb = TabularBenchmark(heldout)
    sb = SurrogateBenchmark(surrogate)
    X = heldout.X[tb._has_runs]
    E = tb.max_epochs
    out = []
    folder.mkdir(parents=True, exist_ok=True)
    yt = tb.query(X, fidelity=E, metrics=[objective, "cum_time"], as_arrays=True)
    yp = sb.query(X, fidelity=E, metrics=[objective, "cum_time"], as_arrays=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    ax = axes[0]
    ax.scatter(yt[objective], yp[objective], s=8, alpha=0.6)
    lo = float(np.nanmin([yt[objective].min(), yp[objective].min()]))
    ax.plot([lo, 1], [lo, 1], "k--", lw=0.8)
    s = rep["metrics"][objective]["per_fidelity"][str(E)]
    ax.set_title(f"{objective} at epoch {E}: R² {_fmt(s['r2'])}, τ {_fmt(s['kendall_tau'])}")
    ax.set_xlabel("held-out (seed mean)")
    ax.set_ylabel("surrogate")
    ax = axes[1]
    ax.loglog(yt["cum_time"], yp["cum_time"], ".", ms=3, alpha=0.6)
    a, b = float(np.nanmin(yt["cum_time"])), float(np.nanmax(yt["cum_time"]))
    ax.plot([a, b], [a, b], "k--", lw=0.8)
    s = rep["metrics"]["cum_time"]["per_fidelity"][str(E)]
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_title(f"cum_time at epoch {E}: R² {_fmt(s['r2'])}")
    ax.set_xlabel("held-out seconds")
    ax.set_ylabel("surrogate seconds")
    fig.tight_layout()
    p = folder / "predicted_vs_true.png"
    fig.savefig(p, dpi=90)
    plt.close(fig)
    out.append(p)
    # curves of a few held-out configs spanning the range
    order = np.argsort(yt[objective], kind="stable")
    pick = order[np.linspace(0, len(order) - 1, 6).astype(int)]
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), sharex=True)
    ep = np.arange(1, E + 1)
    rows = np.nonzero(tb._has_runs)[0]
    for ax, i in zip(axes.ravel(), pick, strict=True):
        x = X[i:i + 1]
        for j in range(tb._dense[objective].shape[1]):
            c = tb._dense[objective][rows[i], j]
            if np.isfinite(c).any():
                ax.plot(ep, c, color="k", lw=1, alpha=0.7,
                        label="held-out seeds" if j == 0 else None)
        xr = np.repeat(x, E, axis=0)  # the held-out table's epochs (<= the surrogate's)
        mu = sb.query(xr, fidelity=ep, metrics=[objective], as_arrays=True)[objective]
        iv = sb.interval(xr, fidelity=ep, metrics=[objective])[objective]
        ax.fill_between(ep, iv[0], iv[1], color="C0", alpha=0.2, label="80% predictive")
        ax.plot(ep, mu, color="C0", lw=2, label="surrogate mean")
        for s_ in (0, 1):
            ax.plot(ep, sb.query(xr, fidelity=ep, seed=s_, metrics=[objective],
                                 as_arrays=True)[objective], color="C1",
                    lw=0.8, ls="--", label="surrogate seeds 0, 1" if s_ == 0 else None)
        ax.set_title(f"held-out config {i}", fontsize=9)
    axes[0, 0].legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel(objective)
    fig.tight_layout()
    p = folder / "curves.png"
    fig.savefig(p, dpi=80)
    plt.close(fig)
    out.append(p)
    # scores vs fidelity
    fig, ax = plt.subplots(figsize=(6, 4))
    pf = rep["metrics"][objective]["per_fidelity"]
    fs = [int(k) for k in pf]
    def _v(key):
        return [np.nan if pf[str(f)][key] is None else pf[str(f)][key] for f in fs]

    ax.plot(fs, _v("r2"), "o-", label="R²")
    ax.plot(fs, _v("kendall_tau"), "s-", label="Kendall τ")
    ax.plot(fs, _v("spearman_rho"), "^-", label="Spearman ρ")
    ax.set_xlabel("fidelity (epochs)")
    ax.set_ylim(0, 1.01)
    ax.set_title(f"{objective}: held-out scores per fidelity")
    ax.legend()
    fig.tight_layout()
    p = folder / "scores_per_fidelity.png"
    fig.savefig(p, dpi=80)
    plt.close(fig)
    out.append(p)
    orank = rep.get("optimizer_ranking")
    if orank and orank.get("optimizers"):
        fig, ax = plt.subplots(figsize=(5, 4.5))
        for o in orank["optimizers"]:
            a = orank["table"][o]["mean_best_loss"]
            b = orank["surrogate"][o]["mean_best_loss"]
            ax.plot(a, b, "o")
            ax.annotate(o, (a, b), fontsize=8)
        v = [orank[k][o]["mean_best_loss"] for k in ("table", "surrogate")
             for o in orank["optimizers"]]
        ax.plot([min(v), max(v)], [min(v), max(v)], "k--", lw=0.8)
        ax.set_xlabel("mean best loss on held-out table")
        ax.set_ylabel("mean best loss on surrogate")
        ax.set_title(f"optimizer ranking: Kendall τ {_fmt(orank['kendall_tau'], 2)}")
        fig.tight_layout()
        p = folder / "optimizer_ranking.png"
        fig.savefig(p, dpi=80)
        plt.close(fig)
        out.append(p)
    return out


def write_report(surrogate: Any, heldout: Any, prefix: str | os.PathLike,
                 plots: bool = True, overwrite: bool = False, command: str | None = None,
                 **kwargs: Any) -> dict[str, Any]:
    """Run :func:`validate` and write ``<prefix>.md``, ``<prefix>.json`` and (with
    ``plots``) PNGs into ``<prefix>.plots/``. Refuses to replace existing files unless
    ``overwrite=True``. The plots are drawn into a temporary folder that replaces
    ``<prefix>.plots`` only when all of them are done (a failure leaves no half-written
    folder). Returns the report dict."""
    from ..tables import RunTable

    prefix = check_path("prefix", prefix, where="write_report")
    md, js, pl = (prefix.with_name(prefix.name + ".md"), prefix.with_name(prefix.name + ".json"),
                  prefix.with_name(prefix.name + ".plots"))
    if not overwrite:
        for p in (md, js, pl):
            if p.exists():
                raise InvalidValueError("prefix", str(prefix), "a prefix whose .md/.json do not "
                                        "exist yet", "write_report",
                                        hint=f"{p} exists; pass overwrite=True (--overwrite)")
    if pl.exists() and not (pl.is_dir() and all(p.suffix == ".png" for p in pl.iterdir())):
        raise InvalidValueError("prefix", str(prefix), "a prefix whose .plots is a folder of "
                                "hasbench's PNGs (or does not exist)", "write_report",
                                hint=f"{pl} holds other files; it is not replaced")
    if not prefix.parent.is_dir():
        raise InvalidValueError("prefix", str(prefix), "a path in an existing folder",
                                "write_report")
    if not isinstance(surrogate, CurveSurrogate):
        surrogate = CurveSurrogate.load(check_path("surrogate", surrogate, must_exist=True))
    if not isinstance(heldout, RunTable):
        heldout = RunTable.read(check_path("heldout", heldout, must_exist=True))
    rep = validate(surrogate, heldout, **kwargs)
    rep["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    rel = []
    if plots:
        tmp = pl.with_name(f".{pl.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            files = _plots(surrogate, heldout, rep, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if pl.exists():  # overwrite=True, checked above: a folder of our PNGs
            shutil.rmtree(pl)
        os.replace(tmp, pl)
        rel = [f"{pl.name}/{p.name}" for p in files]
    rep["plots"] = rel
    js.write_text(json.dumps(rep, indent=1, sort_keys=False))
    md.write_text(_markdown(rep, rel, command))
    return rep
