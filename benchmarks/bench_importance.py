"""hasbench's fANOVA against Optuna's ``FanovaImportanceEvaluator``: agreement and speed.

Three problems, each analysed by both implementations with the same forest settings
(scikit-learn ``RandomForestRegressor``, ``--n-trees`` trees, max depth 64, seed 0; Optuna's
evaluator fixes the other settings to scikit-learn's defaults, which are hasbench's):

1. the shipped ``digits-hia-cnn`` run table at its largest fidelity (27 epochs; the seed
   mean of ``valid_acc`` of 4096 configs; ``epochs`` itself is left out, it no longer matters
   there). Agreement: Kendall tau between the two importance vectors over the 9
   hyperparameters (target >= 0.7). The two differ on purpose in their measure: hasbench
   integrates over the space's prior (log scale for the log hyperparameters), Optuna over
   the linear scale of the values with categoricals one-hot encoded. A third column runs
   hasbench with ``measure="linear"`` (log hyperparameters by value, Optuna's measure) to
   separate that choice from the algorithm, and hasbench with the next forest seed shows how much of the ranking the
   forest's own randomness moves (the ceiling for any agreement figure).
2. ``f = a x0 + b x1 + c x0 x1`` on U[0,1]^5 (x2..x4 irrelevant), whose variance fractions
   are known in closed form, and
3. the Ishigami function ``sin x0 + 7 sin^2 x1 + 0.1 x2^4 sin x0`` on U[-pi,pi]^3 (S1 =
   0.3139, S2 = 0.4424, S3 = 0), each from ``--analytic-n`` uniform samples: maximum
   absolute error of the first-order fractions against the truth, for both.

Wall time: each implementation's whole importance call (forest fit included) in the same
run; the ratio Optuna / hasbench is the speed-up (target >= 10x).

Usage::

    nice -n 10 python benchmarks/bench_importance.py --n-trees 16
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import ConfigSpace as CS
import numpy as np
from scipy.stats import kendalltau

from hasbench.analysis import fanova_importance, load_importance_data
from hasbench.spaces import Fidelity, Space
from hasbench.tables import RunTable

REPO = Path(__file__).resolve().parents[1]


def optuna_importance(params: list[dict], y: np.ndarray, dists: dict, n_trees: int,
                      seed: int) -> tuple[dict, float]:
    """Optuna's evaluator on a study holding the given trials; (importances, seconds of
    ``evaluate``). Building the study is not timed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    study.add_trials([optuna.trial.create_trial(params=p, distributions=dists, value=float(v))
                      for p, v in zip(params, y, strict=True)])
    ev = optuna.importance.FanovaImportanceEvaluator(n_trees=n_trees, seed=seed)
    t0 = time.perf_counter()
    imp = ev.evaluate(study)
    return {k: float(v) for k, v in imp.items()}, time.perf_counter() - t0


def optuna_dists(space: Space, names: list[str]) -> dict:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out = {}
    for n in names:
        d = space._dims[space.names.index(n)]
        if d.kind == "float":
            out[n] = FloatDistribution(d.lower, d.upper, log=d.log)
        elif d.kind == "int":
            out[n] = IntDistribution(int(d.lower), int(d.upper), log=d.log)
        else:
            out[n] = CategoricalDistribution(list(d.choices))
    return out


def hasbench_importance(source, n_trees: int, seed: int, **kw) -> tuple[dict, float]:
    t0 = time.perf_counter()
    df = fanova_importance(source, n_trees=n_trees, seed=seed, pairwise=False, **kw)
    dt = time.perf_counter() - t0
    return dict(zip(df["hyperparameter"], df["importance"], strict=True)), dt


def tau(a: dict, b: dict, names: list[str]) -> float:
    return float(kendalltau([a[n] for n in names], [b[n] for n in names]).statistic)


def digits(n_trees: int, seed: int) -> dict:
    table = RunTable.read(REPO / "data" / "digits-hia-cnn.h5")
    data = load_importance_data(table, fidelity=27)
    assert data.dropped == 0
    names = data.names
    cfgs = table.space.decode(table.X)
    params = [{n: c[n] for n in names} for c in cfgs]
    ours, t_ours = hasbench_importance(table, n_trees, seed, fidelity=27)
    # hasbench with measure="linear": log hyperparameters on the linear scale of their
    # values, the measure Optuna integrates over (choices stay coded by index)
    linear, _ = hasbench_importance(table, n_trees, seed, fidelity=27, measure="linear")
    other, _ = hasbench_importance(table, n_trees, seed + 1, fidelity=27)
    theirs, t_theirs = optuna_importance(params, data.y, optuna_dists(table.space, names),
                                         n_trees, seed)
    return {"names": names, "hasbench": ours, "hasbench_linear": linear, "optuna": theirs,
            "t_hasbench": t_ours, "t_optuna": t_theirs,
            "tau": tau(ours, theirs, names), "tau_linear": tau(linear, theirs, names),
            "tau_self": tau(ours, other, names)}


def analytic(kind: str, n: int, n_trees: int, seed: int) -> dict:
    from optuna.distributions import FloatDistribution

    rng = np.random.default_rng(seed)
    if kind == "interaction":
        a, b, c = 1.0, 2.0, 3.0
        lo, hi, d = 0.0, 1.0, 5
        X = rng.uniform(lo, hi, (n, d))
        y = a * X[:, 0] + b * X[:, 1] + c * X[:, 0] * X[:, 1]
        v = np.array([(a + c / 2) ** 2 / 12, (b + c / 2) ** 2 / 12, 0, 0, 0])
        truth = v / (v.sum() + c ** 2 / 144)
    else:  # Ishigami, a = 7, b = 0.1
        A, B = 7.0, 0.1
        lo, hi, d = -math.pi, math.pi, 3
        X = rng.uniform(lo, hi, (n, d))
        y = np.sin(X[:, 0]) + A * np.sin(X[:, 1]) ** 2 + B * X[:, 2] ** 4 * np.sin(X[:, 0])
        V = A ** 2 / 8 + B * math.pi ** 4 / 5 + B ** 2 * math.pi ** 8 / 18 + 0.5
        truth = np.array([(B * math.pi ** 4 / 5 + B ** 2 * math.pi ** 8 / 50 + 0.5) / V,
                          A ** 2 / 8 / V, 0.0])
    names = [f"x{j}" for j in range(d)]
    cs = CS.ConfigurationSpace()
    cs.add([CS.UniformFloatHyperparameter(nm, lo, hi) for nm in names])
    space = Space(f"bench-{kind}", "1", cs, [Fidelity("epochs", 1, 9)])
    ours, t_ours = hasbench_importance((X, y, space), n_trees, seed)
    params = [{nm: float(X[i, j]) for j, nm in enumerate(names)} for i in range(n)]
    theirs, t_theirs = optuna_importance(params, y, {nm: FloatDistribution(lo, hi)
                                                     for nm in names}, n_trees, seed)
    err = lambda imp: float(np.max(np.abs([imp[nm] for nm in names] - truth)))  # noqa: E731
    return {"kind": kind, "truth": dict(zip(names, truth.tolist(), strict=True)),
            "hasbench": ours, "optuna": theirs, "err_hasbench": err(ours),
            "err_optuna": err(theirs), "t_hasbench": t_ours, "t_optuna": t_theirs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-trees", type=int, default=16)
    ap.add_argument("--analytic-n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import optuna
    import sklearn.ensemble  # noqa: F401 - imported before any timing, for both sides

    print(f"# bench_importance {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{platform.machine()}, Python {platform.python_version()}, Optuna "
          f"{optuna.__version__}, {args.n_trees} trees, seed {args.seed}")
    r = digits(args.n_trees, args.seed)
    print("\n## digits-hia-cnn, fidelity 27, valid_acc (seed mean), 4096 configs")
    print("| hyperparameter | hasbench (measure prior) | hasbench (measure linear) | Optuna |")
    print("|---|---|---|---|")
    for n in sorted(r["names"], key=lambda n: -r["optuna"][n]):
        print(f"| {n} | {r['hasbench'][n]:.4f} | {r['hasbench_linear'][n]:.4f} | "
              f"{r['optuna'][n]:.4f} |")
    print(f"\nKendall tau vs Optuna (target >= 0.7): hasbench measure='prior' (default) "
          f"{r['tau']:.3f} ({'met' if r['tau'] >= 0.7 else 'NOT met'}), measure='linear' "
          f"(Optuna's measure) {r['tau_linear']:.3f} "
          f"({'met' if r['tau_linear'] >= 0.7 else 'NOT met'}); hasbench seed {args.seed} vs "
          f"seed {args.seed + 1} (the forests' own noise): {r['tau_self']:.3f}")
    print(f"wall time hasbench {r['t_hasbench']:.2f} s, Optuna {r['t_optuna']:.1f} s: "
          f"{r['t_optuna'] / r['t_hasbench']:.0f}x (target >= 10x: "
          f"{'met' if r['t_optuna'] >= 10 * r['t_hasbench'] else 'NOT met'})")
    for kind in ("interaction", "ishigami"):
        a = analytic(kind, args.analytic_n, args.n_trees, args.seed)
        print(f"\n## {kind}, {args.analytic_n} uniform samples")
        print("| x | truth | hasbench | Optuna |")
        print("|---|---|---|---|")
        for n, t in a["truth"].items():
            print(f"| {n} | {t:.4f} | {a['hasbench'][n]:.4f} | {a['optuna'][n]:.4f} |")
        print(f"max |error| hasbench {a['err_hasbench']:.4f}, Optuna {a['err_optuna']:.4f}; "
              f"wall time hasbench {a['t_hasbench']:.2f} s, Optuna {a['t_optuna']:.1f} s: "
              f"{a['t_optuna'] / a['t_hasbench']:.0f}x")


if __name__ == "__main__":
    main()
