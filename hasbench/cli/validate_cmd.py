"""``hasbench validate``: score a surrogate on a held-out run table."""

from __future__ import annotations

import json
import shlex
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "validate", help="validate a surrogate against a held-out run table",
        description="Per metric and fidelity R2, Kendall tau, Spearman rho, RMSE; top-k "
                    "overlap; 80% interval coverage of held-out seeds; optimizer-ranking "
                    "agreement (optimizers replayed on the held-out table and on the "
                    "surrogate). Writes PREFIX.md, PREFIX.json and PREFIX.plots/*.png.")
    p.add_argument("surrogate", help="surrogate folder (with manifest.json)")
    p.add_argument("--table", required=True, help="held-out run table (.h5)")
    p.add_argument("--out", default=None,
                   help="output prefix (default: print the targets as JSON, write nothing)")
    p.add_argument("--optimizers", default=",".join(
        ["random", "hyperband", "bohb", "tpe", "re", "asha"]),
        help="comma-separated optimizers for the ranking agreement (default: %(default)s; "
             "'' to skip)")
    p.add_argument("--repeats", type=int, default=10,
                   help="seeds per optimizer (default 10, at most 100)")
    p.add_argument("--budget-runs", type=float, default=10.0,
                   help="replay budget in median full-run times (default 10)")
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
    kw = dict(optimizers=opts, repeats=args.repeats, budget_runs=args.budget_runs)
    names = {"surrogate": "SURROGATE", "heldout": "--table", "repeats": "--repeats",
             "budget_runs": "--budget-runs", "prefix": "--out"}
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
