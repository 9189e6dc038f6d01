"""``hasbench results``: summarise replayed traces."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "results", help="summarise traces written by 'hasbench run'",
        description="Load traces (directories or files) and print, per optimizer, the "
                    "number of seeds and the mean/median final regret; optionally the "
                    "regret at given simulated times, write the tidy table to CSV, or plot "
                    "anytime curves.")
    p.add_argument("paths", nargs="+", help="trace directories or files")
    p.add_argument("--at", default=None, help="comma-separated simulated times (seconds) "
                   "at which to report the mean regret")
    p.add_argument("--csv", default=None, help="write the tidy incumbent table here")
    p.add_argument("--plot", default=None, help="write an anytime plot (median regret vs "
                   "simulated time, 25-75%% band over seeds) to this PNG/PDF/SVG file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --plot or "
                   "--csv file")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from ..errors import InvalidValueError, check_path
    from ..results import incumbent_on_grid, load_traces

    df = load_traces(args.paths)
    final = df.sort_values("time").groupby(["optimizer", "seed"]).tail(1)
    summ = final.groupby("optimizer")["regret"].agg(["count", "mean", "median"])
    summ = summ.rename(columns={"count": "seeds"})
    print(f"optimum: {df.attrs['optimum']:.6g} ({df.attrs['optimum_source']})")
    print(summ.to_string(float_format=lambda v: f"{v:.5g}"))
    if args.at:
        try:
            times = [float(t) for t in args.at.split(",")]
        except ValueError:
            raise InvalidValueError("--at", args.at, "comma-separated numbers") from None
        g = incumbent_on_grid(df, times)

        def cell(v):  # mean over the seeds with a result by then; say when some have none
            v = v.to_numpy(dtype=float)
            k = int(np.isfinite(v).sum())
            if k == 0:
                return f"- (0/{v.size} seeds)"
            m = f"{np.nanmean(v):.5g}"
            return m if k == v.size else f"{m} ({k}/{v.size} seeds)"

        tab = g.groupby(["optimizer", "time"])["regret"].agg(cell)
        print("mean regret of the incumbent at simulated time (s):")
        print(tab.unstack("time").to_string())
    if args.csv:
        path = check_path("--csv", args.csv)
        if path.exists() and not args.overwrite:
            raise InvalidValueError("--csv", str(path), "a path that does not exist yet",
                                    hint="hasbench never overwrites your files")
        df.to_csv(path, index=False)
        print(f"wrote {path}")
    if args.plot:
        from ..results import plot_anytime

        print(f"wrote {plot_anytime(df, args.plot, overwrite=args.overwrite)}")
    return 0
