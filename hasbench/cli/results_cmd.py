"""``hasbench results``: summarise replayed traces."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "results", help="summarise traces written by 'hasbench run'",
        description="Load traces (directories or files) and print, per run, the number of "
                    "seeds and the mean/median final regret; optionally the regret at given "
                    "simulated times, write the tidy table to CSV, or plot anytime curves. "
                    "Regret is the expected loss of the incumbent at the maximum fidelity "
                    "minus the benchmark's fixed optimum (--regret observed: the "
                    "incumbent's observed loss instead). Runs are named by their optimizer, "
                    "or by DIR:LABEL / --label; runs with different settings under one name "
                    "are refused, never merged.")
    p.add_argument("paths", nargs="+", help="trace directories or files, each optionally "
                   "DIR:LABEL (e.g. runs/bohb-eta2:'bohb eta=2')")
    p.add_argument("--label", action="append", default=None, metavar="LABEL",
                   help="name of the run in the same position among PATHS (repeatable; "
                        "DIR:LABEL does the same)")
    p.add_argument("--regret", choices=["true", "observed"], default="true",
                   help="true (default): expected loss of the incumbent at the maximum "
                        "fidelity minus the optimum; observed: its observed loss (one "
                        "seed's draw) minus the optimum")
    p.add_argument("--kind", choices=["incumbent", "incumbent_any"], default="incumbent",
                   help="incumbent (default): best at the largest fidelity evaluated so "
                        "far (BOHB/HpBandSter); incumbent_any: best at any fidelity")
    p.add_argument("--optimum", type=float, default=None,
                   help="loss to measure regret from instead of the benchmark's recorded "
                        "optimum (needed only for benchmarks that record none)")
    p.add_argument("--at", default=None, help="comma-separated simulated times (seconds) "
                   "at which to report the mean regret; times past the runs' --budget are "
                   "refused")
    p.add_argument("--csv", default=None, help="write the tidy incumbent table here")
    p.add_argument("--plot", default=None, help="write an anytime plot (median regret vs "
                   "simulated time, bootstrap 95%% CI band over seeds; 'hasbench plot --kind "
                   "anytime') to this .png or .pdf file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --plot or "
                   "--csv file")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    import numpy as np

    from ..errors import InvalidValueError, check_path
    from ..results import incumbent_on_grid, load_traces
    from ._flags import cli_names

    times = None
    if args.at:
        try:
            times = [float(t) for t in args.at.split(",")]
        except ValueError:
            raise InvalidValueError("--at", args.at, "comma-separated numbers") from None
        if not all(np.isfinite(t) and t >= 0 for t in times):
            raise InvalidValueError("--at", args.at, "comma-separated simulated times in "
                                    "seconds, each >= 0")
    # outputs are checked before the traces load (which can take a while)
    from ._flags import check_new_output

    if args.csv:
        check_new_output("--csv", args.csv, "results", args.overwrite)
    if args.plot:
        from ..analysis.plots import check_figure_path

        check_figure_path(args.plot, args.overwrite, parameter="--plot",
                          where="hasbench results")
    labels = list(args.label or [])
    if len(labels) > len(args.paths):
        raise InvalidValueError("--label", labels, f"at most one label per path "
                                f"({len(args.paths)} paths)")
    labels += [None] * (len(args.paths) - len(labels))
    with cli_names("results", {"path": "paths", "paths": "paths", "labels": "--label",
                               "optimum": "--optimum", "regret": "--regret"},
                   (None, "load_traces")):
        if times is not None:  # before the traces load (which can take a while)
            _check_at(times, _budgets(args.paths))
        df = load_traces(args.paths, labels=labels, regret=args.regret, kind=args.kind,
                         optimum=args.optimum, progress=sys.stderr.isatty())
    keys = ["benchmark", "label"] if df["benchmark"].nunique() > 1 else ["label"]
    final = df.sort_values("time").groupby(keys + ["seed"]).tail(1)
    summ = final.groupby(keys)["regret"].agg(["count", "mean", "median"])
    summ = summ.rename(columns={"count": "seeds"})
    opt, src = df.attrs["optimum"], df.attrs["optimum_source"]
    if isinstance(opt, dict):
        for b in sorted(opt):
            print(f"optimum of {b}: {opt[b]:.6g} ({src[b]})")
    else:
        print(f"optimum: {opt:.6g} ({src})")
    what = ("expected loss of the incumbent at the maximum fidelity" if args.regret == "true"
            else "observed loss of the incumbent")
    print(f"final regret = {what} - optimum")
    print(summ.to_string(float_format=lambda v: f"{v:.5g}"))
    if times is not None:
        g = incumbent_on_grid(df, times)

        def cell(v):  # mean over the seeds with a result by then; say when some have none
            v = v.to_numpy(dtype=float)
            k = int(np.isfinite(v).sum())
            if k == 0:
                return f"- (0/{v.size} seeds)"
            m = f"{np.nanmean(v):.5g}"
            return m if k == v.size else f"{m} ({k}/{v.size} seeds)"

        tab = g.groupby(keys + ["time"])["regret"].agg(cell)
        print("mean regret of the incumbent at simulated time (s):")
        print(tab.unstack("time").to_string())
    if args.csv:
        path = check_path("--csv", args.csv)
        if path.exists() and not args.overwrite:
            raise InvalidValueError("--csv", str(path), "a path that does not exist yet",
                                    hint="hasbench never overwrites your files")
        df.to_csv(path, index=False)
        print(f"wrote {path}")
    if args.plot:  # the one anytime figure (hasbench.analysis.plots), as 'hasbench plot'
        from ..analysis.plots import plot_anytime

        with cli_names("results", {"path": "--plot"}, ("plot_anytime",)):
            plot_anytime(df, args.plot, overwrite=args.overwrite)
        print(f"wrote {args.plot}")
    return 0


def _budgets(paths) -> dict[str, float | None]:
    """Simulated time budget of each run folder holding the traces (``manifest.json``'s
    ``time_budget``, written by ``hasbench run``); ``None`` where it is not known (a run
    stopped by --max-evaluations only, or traces without a manifest)."""
    import json

    from ..results import parse_labelled, trace_files

    out: dict[str, float | None] = {}
    for item in paths:
        p, _ = parse_labelled(item)
        for f in trace_files(p):
            d = f.parent
            if str(d) in out:
                continue
            try:
                b = json.loads((d / "manifest.json").read_text()).get("time_budget")
            except (OSError, ValueError, AttributeError):
                b = None
            out[str(d)] = float(b) if isinstance(b, (int, float)) else None
    return out


def _check_at(times: list[float], budgets: dict[str, float | None]) -> None:
    """Refuse ``--at`` times past the budget of every run (the table would repeat the final
    values as if the runs had gone on); warn on stderr when a time is past some runs'
    budget only."""
    import sys

    from ..errors import InvalidValueError

    known = {d: b for d, b in budgets.items() if b is not None}
    if not known or len(known) < len(budgets):
        return  # some run has no recorded budget: it may have gone on
    top = max(known.values())
    beyond = [t for t in times if t > top]
    if beyond:
        raise InvalidValueError("--at", ",".join(f"{t:g}" for t in beyond),
                                f"simulated times up to the runs' budget ({top:g} s)",
                                hint="the runs stopped there; later times would repeat their "
                                     "final values")
    for t in times:
        short = sorted(d for d, b in known.items() if b < t)
        if short:
            print(f"hasbench results: warning: --at {t:g} is past the budget of "
                  f"{len(short)} of {len(known)} run folders ({', '.join(short[:3])}"
                  f"{', ...' if len(short) > 3 else ''}: {min(known[d] for d in short):g} s); "
                  "their values there are their final ones", file=sys.stderr)
