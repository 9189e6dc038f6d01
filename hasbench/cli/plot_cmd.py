"""``hasbench plot``: figures of replayed traces (hasbench.analysis.plots)."""

from __future__ import annotations

KINDS = ("anytime", "rank", "ecdf", "speedup", "cd")

#: which flags each figure kind uses (anything else given with it is refused)
_USES = {"--x": {"anytime", "rank", "speedup"},
         "--stat": {"anytime", "speedup", "cd"},
         "--target": {"speedup"}, "--baseline": {"speedup"},
         "--blocks": {"cd"}, "--posthoc": {"cd"}}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plot", help="figures of traces written by 'hasbench run' (anytime, rank, ECDF, "
                     "speed-up, critical difference)",
        description="Load traces (directories or files, as 'hasbench results') and write one "
                    "figure, PNG or PDF by the --out extension: anytime (median or mean "
                    "regret over seeds with a bootstrap 95% CI band, vs simulated time or "
                    "evaluations), rank (average rank over time), ecdf (final regret over "
                    "seeds), speedup (time-to-target ratio over a baseline with bootstrap "
                    "CIs), cd (critical-difference diagram of a Friedman test). One panel "
                    "per benchmark. See docs/analysis.md, 'Figures'.")
    p.add_argument("paths", nargs="+", metavar="RESULTS",
                   help="trace directories or files, each optionally DIR:LABEL (e.g. "
                        "runs/bohb-eta2:'bohb eta=2')")
    p.add_argument("--kind", default=None, metavar="{" + ",".join(KINDS) + "}",
                   help="the figure (required)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="the figure file, .png or .pdf (required)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--label", action="append", default=None, metavar="LABEL",
                   help="name of the run in the same position among RESULTS (repeatable; "
                        "DIR:LABEL does the same)")
    p.add_argument("--regret", default="true", metavar="{true,observed}",
                   help="true (default): expected loss of the incumbent at the maximum "
                        "fidelity minus the optimum; observed: its observed loss minus the "
                        "optimum")
    p.add_argument("--x", default=None, metavar="{time,evaluations}",
                   help="x axis of anytime / rank, and what speedup counts: simulated time "
                        "(default) or evaluations finished")
    p.add_argument("--incumbent", default="incumbent", metavar="{incumbent,incumbent_any}",
                   help="incumbent (default): best at the largest fidelity evaluated so far; "
                        "incumbent_any: best at any fidelity ('hasbench results --kind')")
    p.add_argument("--optimum", type=float, default=None,
                   help="loss to measure regret from instead of the benchmark's recorded "
                        "optimum")
    p.add_argument("--stat", default=None, metavar="{median,mean}",
                   help="statistic over seeds (anytime, speedup, cd; default median)")
    p.add_argument("--baseline", default=None, metavar="LABEL",
                   help="speedup: the label the others are compared with (default random "
                        "when present, else the first label)")
    p.add_argument("--target", type=float, default=None,
                   help="speedup: regret to reach (default: the baseline's median final "
                        "regret on each benchmark)")
    p.add_argument("--blocks", default=None, metavar="{benchmark,seed}",
                   help="cd: Friedman blocks (default: benchmark with 5 or more benchmarks, "
                        "else (benchmark, seed) pairs)")
    p.add_argument("--posthoc", default=None, metavar="{nemenyi,wilcoxon-holm}",
                   help="cd: post-hoc test (default nemenyi)")
    p.add_argument("--title", default=None, help="figure title (default: benchmark, "
                   "workers, budget and what is shown)")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from ..analysis.plots import check_figure_path, plot
    from ..errors import InvalidValueError, check_choice
    from ..results import load_traces, parse_labelled
    from ._flags import cli_names

    where = "hasbench plot"
    # every check before any trace loads (loading can take a while)
    if args.kind is None:
        raise InvalidValueError("--kind", None, list(KINDS), where, hint="--kind is required")
    check_choice("--kind", args.kind, list(KINDS), where)
    if args.out is None:
        raise InvalidValueError("--out", None, "a file name ending in .png or .pdf", where,
                                hint="--out is required")
    check_choice("--regret", args.regret, ["true", "observed"], where)
    check_choice("--incumbent", args.incumbent, ["incumbent", "incumbent_any"], where)
    for flag, choices in (("--x", ["time", "evaluations"]), ("--stat", ["median", "mean"]),
                          ("--blocks", ["benchmark", "seed"]),
                          ("--posthoc", ["nemenyi", "wilcoxon-holm"])):
        val = getattr(args, flag.lstrip("-"))
        if val is not None:
            check_choice(flag, val, choices, where)
    for flag, kinds in _USES.items():
        val = getattr(args, flag.lstrip("-"))
        if val is not None and args.kind not in kinds:
            raise InvalidValueError(flag, val, f"nothing with --kind {args.kind}", where,
                                    hint=f"{flag} applies to --kind "
                                         f"{' / '.join(k for k in KINDS if k in kinds)}")
    out = check_figure_path(args.out, args.overwrite, parameter="--out", where=where)
    for item in args.paths:
        p, _ = parse_labelled(item)
        if not p.expanduser().exists():
            raise InvalidValueError("RESULTS", str(item), "trace folders or files "
                                    "(DIR or DIR:LABEL)", where, hint="no such file or folder")
    labels = list(args.label or [])
    if len(labels) > len(args.paths):
        raise InvalidValueError("--label", labels, f"at most one label per path "
                                f"({len(args.paths)} paths)", where)
    labels += [None] * (len(args.paths) - len(labels))
    x = args.x or "time"
    with cli_names("plot", {"path": "RESULTS", "paths": "RESULTS", "labels": "--label",
                            "optimum": "--optimum", "regret": "--regret"},
                   (None, "load_traces")):
        # one row per job for an evaluation axis (the position of a row counts jobs)
        df = load_traces(args.paths, labels=labels, regret=args.regret, kind=args.incumbent,
                         optimum=args.optimum, events=x == "evaluations",
                         progress=sys.stderr.isatty())
    kw: dict = {"title": args.title, "overwrite": args.overwrite}
    if args.kind in _USES["--x"]:
        kw["x"] = x
    if args.stat is not None:
        kw["stat"] = args.stat
    if args.kind == "speedup":
        kw.update(target=args.target, baseline=args.baseline)
    if args.kind == "cd":
        kw["blocks"] = args.blocks
        if args.posthoc is not None:
            kw["posthoc"] = args.posthoc
    sources = ("plot_anytime", "plot_rank", "plot_ecdf", "plot_speedup", "plot_cd",
               "save_figure", "anytime_performance", "average_rank", "regret_ecdf",
               "speedup", "time_to_target", "friedman_test")
    with cli_names("plot", {"df": "RESULTS", "path": "--out", "baseline": "--baseline",
                            "target": "--target", "blocks": "--blocks"}, sources):
        plot(df, args.kind, out, **kw)
    print(f"wrote {out}")
    return 0
