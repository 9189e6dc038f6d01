"""``hasbench importance``: hyperparameter importance (fANOVA or N-RReliefF) of a run table
or a benchmark, printed as a table and optionally drawn as a bar chart."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser(
        "importance", help="hyperparameter importance (fANOVA or N-RReliefF)",
        description="Importance of every hyperparameter (and, for fANOVA with --pairwise, "
                    "every pair) of a run table or a benchmark. SOURCE is a run table (.h5), "
                    "a shipped benchmark name (its surrogate: configs are sampled from the "
                    "space and their expected objective queried), 'table:NAME' for a shipped "
                    "table, or a surrogate folder. Error bars: the spread over the forest's "
                    "trees (fANOVA) or over bootstrap resamples (N-RReliefF). See "
                    "docs/analysis.md.")
    p.add_argument("source", metavar="BENCHMARK_OR_TABLE", help="run table or benchmark")
    p.add_argument("--method", default="fanova",
                   help="fanova (default) or n-relieff")
    p.add_argument("--fidelity", type=float, default=None,
                   help="fidelity to read the objective at (default: the benchmark "
                        "convention: a config's own epochs for hia-cnn, else the largest)")
    p.add_argument("--objective", default=None, help="metric (default valid_acc)")
    p.add_argument("--pairwise", action="store_true",
                   help="fANOVA: also the pairwise interaction importances")
    p.add_argument("--top", type=int, default=10,
                   help="pairs to print and plot with --pairwise (default 10)")
    p.add_argument("--quantile", default=None, metavar="LO,HI",
                   help="fANOVA: only the part of the space predicted between these "
                        "quantiles of the objective, e.g. 0.75,1 for the best quarter")
    p.add_argument("--n-trees", type=int, default=64,
                   help="fANOVA: trees in the forest (default 64)")
    p.add_argument("--measure", default=None, metavar="{prior,linear}",
                   help="fANOVA: integrate over the space's sampling prior (default: log "
                        "scale for log hyperparameters) or the linear scale of their values "
                        "(as Optuna's fANOVA does)")
    p.add_argument("--n-bootstrap", type=int, default=200,
                   help="N-RReliefF: bootstrap resamples for the error bars (default 200)")
    p.add_argument("--k", type=int, default=10,
                   help="N-RReliefF: nearest neighbours (default 10)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the forest / bootstrap / config sample (default 0)")
    p.add_argument("--n-samples", type=int, default=2048,
                   help="benchmark sources: configs sampled from the space (default 2048)")
    p.add_argument("--training-seed", type=int, default=None,
                   help="only this training seed's results (default: the seed average)")
    p.add_argument("--plot", default=None, metavar="PNG", help="write a bar chart here")
    p.add_argument("--csv", default=None, metavar="CSV", help="write the table here")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_importance)


def _importance(args) -> int:
    from ..analysis import METHODS, importance, plot_importance
    from ..errors import InvalidValueError, check_choice, check_int

    where = "hasbench importance"
    method = check_choice("--method", args.method, METHODS, where)
    top = check_int("--top", args.top, 1, None, where)
    kw: dict = dict(fidelity=args.fidelity, objective=args.objective, seed=args.seed,
                    training_seed=args.training_seed, n_samples=args.n_samples)
    if method == "fanova":
        kw.update(n_trees=args.n_trees, pairwise=args.pairwise,
                  measure=check_choice("--measure", args.measure or "prior",
                                       ["prior", "linear"], where))
        if args.quantile is not None:
            try:
                lo, hi = (float(v) for v in args.quantile.split(","))
            except ValueError:
                raise InvalidValueError("--quantile", args.quantile, "two numbers LO,HI in "
                                        "[0, 1], e.g. 0.75,1", where) from None
            kw["quantile"] = (lo, hi)
    else:
        if args.pairwise:
            raise InvalidValueError("--pairwise", True, "only with --method fanova", where,
                                    hint="N-RReliefF gives one weight per hyperparameter")
        if args.quantile is not None:
            raise InvalidValueError("--quantile", args.quantile, "only with --method fanova",
                                    where)
        if args.measure is not None:
            raise InvalidValueError("--measure", args.measure, "only with --method fanova",
                                    where)
        kw.update(n_bootstrap=args.n_bootstrap, k=args.k)
    df = importance(args.source, method, **kw)
    shown = df[(df["order"] == 1) | (df["rank"] <= top)]
    if args.csv:
        from ..errors import check_path

        path = check_path("--csv", args.csv, where=where)
        if path.exists():
            raise InvalidValueError("--csv", str(path), "a path that does not exist yet", where,
                                    hint="hasbench never overwrites a file")
        df.to_csv(path, index=False)
    if args.plot:
        plot_importance(df, args.plot, top=top)
    if args.json:
        out = {"attrs": _jsonable(df.attrs), "rows": shown.to_dict(orient="records")}
        print(json.dumps(out, indent=1, default=_plain))
    else:
        a = df.attrs
        fid = "default" if a.get("fidelity") is None else f"{a['fidelity']:g}"
        print(f"{a['method']} importance of {a['objective']} ({a['source']}, fidelity {fid}, "
              f"{a['n']} configs" + (f", {a['dropped']} without a value dropped"
                                     if a.get("dropped") else "") + ")")
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


def _plain(v):
    try:
        return v.item()
    except AttributeError:
        return str(v)


def _jsonable(d):
    import math

    def fix(v):
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [fix(x) for x in v]
        return v

    return fix(dict(d))
