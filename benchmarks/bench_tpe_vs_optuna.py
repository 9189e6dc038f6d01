"""hasbench's TPE against Optuna's TPESampler (through hasbench's Optuna adapter).

For each benchmark and each TPE variant (independent: ``tpe`` vs
``TPESampler(multivariate=False)``; multivariate: ``tpe multivariate=True`` vs
``TPESampler()``, Optuna 5's default), both optimizers are replayed over the same seeds with
the same number of full-fidelity evaluations on one worker (``simulate_many``: the seeds run in
lock step and share batched benchmark queries, the same machinery for both). Per seed, the
final TRUE regret is the expected (noise-free, ``seed=None``) maximum-fidelity loss of the
incumbent (the trial with the lowest observed loss) minus a fixed reference loss:

* ``bench.optimum_loss()`` when the benchmark has one (synthetic benchmarks: exact);
* otherwise the best expected max-fidelity loss over a fixed uniform sample of
  ``--ref-samples`` configurations (seeded 0), stated in the output. A regret below 0 means
  the optimizer found a config better than every sampled one.

A two-sided Mann-Whitney U test (scipy) compares the two regret samples per benchmark and
variant; evaluations per second are measured for each replay in the same run.

Usage::

    nice -n 10 python benchmarks/bench_tpe_vs_optuna.py --seeds 100 --evals 80
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import datetime, timezone

import numpy as np
from scipy.stats import mannwhitneyu

from hasbench.simulate import simulate_many
from hasbench.simulate.replay import resolve_benchmark


def optuna_factory(multivariate: bool):
    import optuna

    from hasbench.optimizers.optuna import OptunaSampler

    def make(space, seed, **kw):
        s = optuna.samplers.TPESampler(seed=seed, multivariate=multivariate)
        return OptunaSampler(space, seed, sampler=s, **kw)

    return make


def reference_loss(bench, n: int) -> tuple[float, str]:
    f = getattr(bench, "optimum_loss", None)
    if callable(f):
        try:
            return float(f(bench.objective)), "bench.optimum_loss()"
        except Exception:  # noqa: BLE001 - fall back to a sample
            pass
    X = bench.space.sample_array(n, 0)
    fid = bench.fidelity.upper
    fi = bench.space.names.index(bench.fidelity.name) if bench.fidelity.in_config else None
    if fi is not None:
        X[:, fi] = fid
    v = bench.query(X, fidelity=fid, metrics=[bench.objective], seed=None,
                    as_arrays=True)[bench.objective]
    return float(np.min(bench.to_loss(bench.objective, v))), \
        f"best expected loss of {n} uniform configs (seed 0)"


def true_regret(bench, trace, ref: float) -> float:
    f = trace.frame
    ok = f[f["status"] == "ok"]
    i = int(np.argmin(ok["loss"].to_numpy()))
    x = ok[bench.space.names].to_numpy()[i:i + 1]
    fid = bench.fidelity.upper
    v = bench.query(x, fidelity=fid, metrics=[bench.objective], seed=None,
                    as_arrays=True)[bench.objective]
    return float(bench.to_loss(bench.objective, v)[0]) - ref


def replay(bench, opt, kw, seeds, evals):
    t0 = time.perf_counter()
    trs = simulate_many(bench, opt, seeds, max_evaluations=evals, optimizer_kwargs=kw)
    dt = time.perf_counter() - t0
    n = sum(int((tr.frame["status"] != "pruned").sum()) for tr in trs)
    return trs, n / dt


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--benchmarks", nargs="+", default=["synthetic:hia-cnn", "digits-hia-cnn"])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--evals", type=int, default=80)
    ap.add_argument("--ref-samples", type=int, default=50_000)
    ap.add_argument("--variants", nargs="+", default=["independent", "multivariate"],
                    choices=["independent", "multivariate"])
    a = ap.parse_args(argv)
    import optuna

    seeds = list(range(a.seeds))
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"optuna {optuna.__version__}; {a.seeds} seeds x {a.evals} full-fidelity "
          "evaluations, 1 worker")
    for spec in a.benchmarks:
        bench = resolve_benchmark(spec)
        ref, how = reference_loss(bench, a.ref_samples)
        print(f"\n## {spec}: reference loss {ref:.5f} ({how})")
        replay(bench, "tpe", {}, [0], a.evals)  # warm-up (lazy loads, caches)
        replay(bench, optuna_factory(False), {}, [0], a.evals)
        for var in a.variants:
            mv = var == "multivariate"
            hb, hb_rate = replay(bench, "tpe", {"multivariate": mv}, seeds, a.evals)
            op, op_rate = replay(bench, optuna_factory(mv), {}, seeds, a.evals)
            rh = np.array([true_regret(bench, t, ref) for t in hb])
            ro = np.array([true_regret(bench, t, ref) for t in op])
            p = mannwhitneyu(rh, ro, alternative="two-sided").pvalue
            print(f"{var:12s} median true regret hasbench {np.median(rh):.5f} "
                  f"(IQR {np.percentile(rh, 25):.5f}-{np.percentile(rh, 75):.5f}) | optuna "
                  f"{np.median(ro):.5f} (IQR {np.percentile(ro, 25):.5f}-"
                  f"{np.percentile(ro, 75):.5f}) | Mann-Whitney p = {p:.3f} "
                  f"({'differ' if p < 0.05 else 'no significant difference'} at 0.05)")
            print(f"{'':12s} evals/s hasbench {hb_rate:.0f}, optuna {op_rate:.0f}, "
                  f"ratio {hb_rate / op_rate:.1f}x")


if __name__ == "__main__":
    main()
