"""``hasbench validate``: score a surrogate on a held-out run table."""

from __future__ import annotations

import json
import shlex
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "validate", help="validate a surrogate against a held-out run table",
        description="Per metric and fidelity R2, Kendall tau, Spearman rho, RMSE, with the "
                    "expected noise ceiling from every held-out seed; runtime fidelity raw "
                    "and up to a global speed factor; top-k overlap; the seed-noise model "
                    "checked on held-out seed pairs and the 80% predictive interval's "
                    "coverage overall and per decile; optimizer-ranking agreement "
                    "(optimizers replayed on the held-out table and on the surrogate; tau "
                    "with a bootstrap CI, identical traces as ties, the surrogate's "
                    "optimism). Writes PREFIX.md, PREFIX.json and PREFIX.plots/*.png.")
    p.add_argument("surrogate", help="surrogate folder (with manifest.json)")
    p.add_argument("--table", required=True, help="held-out run table (.h5)")
    p.add_argument("--out", default=None,
                   help="output prefix (default: print the targets as JSON, write nothing)")
    p.add_argument("--optimizers", default=",".join(
        ["random", "hyperband", "bohb", "tpe", "re", "asha"]),
        help="comma-separated optimizers for the ranking agreement (default: %(default)s; "
             "'' to skip)")
    p.add_argument("--repeats", type=int, default=20,
                   help="seeds per optimizer (default 20, at most 100)")
    p.add_argument("--budget-runs", type=float, default=40.0,
                   help="replay budget in median full-run times of each benchmark (default "
                        "40: long enough for TPE's and RE's models to act)")
    p.add_argument("--objective", default=None, metavar="METRIC",
                   help="metric of the target rows, top-k overlap and replays (default: "
                        "the benchmark's objective valid_acc, else the surrogate's first "
                        "metric)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--overwrite", action="store_true",
                   help="replace PREFIX.md/.json/.plots if they exist")
    p.set_defaults(func=_validate)


def _validate(args) -> int:
    from ..errors import check_choice
    from ..optimizers import list_optimizers
    from ..surrogates.validation import validate, write_report
    from ._flags import cli_names

    opts = [o.strip() for o in args.optimizers.split(",") if o.strip()]
    for o in opts:  # an unknown name was dropped silently before
        check_choice("--optimizers", o, list_optimizers(), "hasbench validate", unknown=True)
    kw = dict(optimizers=opts, repeats=args.repeats, budget_runs=args.budget_runs,
              objective=args.objective)
    names = {"surrogate": "SURROGATE", "heldout": "--table", "repeats": "--repeats",
             "budget_runs": "--budget-runs", "prefix": "--out", "objective": "--objective"}
    with cli_names("validate", names, (None, "validate", "write_report")):
        if args.out is None:
            rep = validate(args.surrogate, args.table, **kw)
        else:
            cmd = "hasbench validate " + " ".join(shlex.quote(a) for a in sys.argv[2:]) \
                if len(sys.argv) > 2 and sys.argv[1] == "validate" else None
            rep = write_report(args.surrogate, args.table, args.out, plots=not args.no_plots,
                               overwrite=args.overwrite, command=cmd, **kw)
        print(f"wrote {args.out}.md, {args.out}.json" +
              ("" if args.no_plots else f", {args.out}.plots/"))
    print(json.dumps(rep["targets"], indent=1))
    return 0
