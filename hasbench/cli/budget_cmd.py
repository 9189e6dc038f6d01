"""``hasbench budget-correlation``: Spearman rank correlation of the objective between
every pair of fidelities (Zela et al. 2018), per training seed and seed-averaged."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser(
        "budget-correlation", help="rank correlation of the objective across fidelities",
        description="Spearman rank correlation of the objective between every pair of "
                    "fidelities (budgets), over the configurations with a value at both, "
                    "with bootstrap intervals over configurations; for a run table per "
                    "training seed and seed-averaged. SOURCE is a run table (.h5), a "
                    "shipped benchmark name (its surrogate), 'table:NAME' or a surrogate "
                    "folder. See docs/analysis.md.")
    p.add_argument("source", metavar="BENCHMARK_OR_TABLE", help="run table or benchmark")
    p.add_argument("--fidelities", default=None, metavar="F1,F2,...",
                   help="fidelities to compare (default: the eta=3 ladder down from the "
                        "largest, e.g. 1,3,9,27)")
    p.add_argument("--objective", default=None, help="metric (default valid_acc)")
    p.add_argument("--no-per-seed", action="store_true",
                   help="only the seed-averaged objective")
    p.add_argument("--n-bootstrap", type=int, default=1000,
                   help="bootstrap resamples for the intervals (default 1000; 0: none)")
    p.add_argument("--confidence", type=float, default=0.95,
                   help="interval level (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap / sample seed (default 0)")
    p.add_argument("--n-samples", type=int, default=2048,
                   help="benchmark sources: configs sampled from the space (default 2048)")
    p.add_argument("--plot", default=None, metavar="PNG", help="write heatmaps here")
    p.add_argument("--csv", default=None, metavar="CSV", help="write the long table here")
    p.add_argument("--json", action="store_true", help="print JSON instead of matrices")
    p.set_defaults(func=_budget)


def _budget(args) -> int:
    from ..analysis import budget_correlation, correlation_matrix, plot_budget_correlation
    from ..errors import InvalidValueError, check_path

    where = "hasbench budget-correlation"
    fids = None
    if args.fidelities is not None:
        try:
            fids = [float(v) for v in args.fidelities.split(",") if v.strip()]
        except ValueError:
            raise InvalidValueError("--fidelities", args.fidelities, "comma-separated numbers, "
                                    "e.g. 1,3,9,27", where) from None
    df = budget_correlation(args.source, fids, args.objective, per_seed=not args.no_per_seed,
                            n_bootstrap=args.n_bootstrap, confidence=args.confidence,
                            seed=args.seed, n_samples=args.n_samples)
    if args.csv:
        path = check_path("--csv", args.csv, where=where)
        if path.exists():
            raise InvalidValueError("--csv", str(path), "a path that does not exist yet", where,
                                    hint="hasbench never overwrites a file")
        df.to_csv(path, index=False)
    if args.plot:
        plot_budget_correlation(df, args.plot)
    if args.json:
        print(json.dumps({"attrs": df.attrs, "rows": df.to_dict(orient="records")}, indent=1,
                         default=lambda v: v.item() if hasattr(v, "item") else str(v)))
    else:
        a = df.attrs
        print(f"Spearman rank correlation of {a['objective']} across {a['fidelity']} "
              f"({a['source']}; {100 * a['confidence']:g}% bootstrap intervals over configs)")
        for s in dict.fromkeys(df["seed"].tolist()):
            M = correlation_matrix(df, s)
            L, H = correlation_matrix(df, s, "low"), correlation_matrix(df, s, "high")
            N = correlation_matrix(df, s, "n")
            cells = M.copy().astype(object)
            for i in range(len(M)):
                for j in range(len(M)):
                    v = M.iat[i, j]
                    cells.iat[i, j] = "1" if i == j else (
                        "nan" if v != v else f"{v:.3f}" + (
                            "" if L.iat[i, j] != L.iat[i, j]
                            else f" [{L.iat[i, j]:.3f},{H.iat[i, j]:.3f}]"))
            cells.index = [f"{f:g}" for f in M.index]
            cells.columns = [f"{f:g}" for f in M.columns]
            n = N.to_numpy()
            n = n[n == n]
            label = "seed-averaged" if s == "mean" else f"seed {s}"
            print(f"\n{label} (configs per pair: {int(n.min()) if n.size else 0}"
                  f"-{int(n.max()) if n.size else 0})")
            print(cells.to_string())
    if args.plot:
        print(f"wrote {args.plot}")
    return 0
