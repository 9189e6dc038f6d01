"""``hasbench data``: list shipped benchmarks, import tidy runs, export to Syne Tune, split."""

from __future__ import annotations

import argparse

from ._flags import deprecated_flag


def _csv(s: str | None) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()] if s else []


def register(sub) -> None:
    p = sub.add_parser("data", help="list, import, export and split benchmark data",
                       description="Shipped benchmarks, tidy CSV/parquet import, Syne Tune "
                                   "blackbox-repository export, config splits.")
    sp = p.add_subparsers(dest="action", metavar="ACTION")
    sp.required = True
    lp = sp.add_parser("list", help="list shipped benchmarks",
                       description="Benchmarks in $HASBENCH_DATA or <repo>/data.")
    lp.set_defaults(func=_list)

    ip = sp.add_parser(
        "import", help="tidy CSV/parquet -> run table",
        description="Import one row per (config, seed, fidelity step) into a new run table. "
                    "The space is built from the config columns unless --space is given "
                    "(numeric -> float/int, log when positive and spanning > 2 decades; text "
                    "-> categorical). Unequal curve lengths and NaN/inf values are kept "
                    "(NaN/inf marks a run diverged).")
    ip.add_argument("source", help=".csv, .csv.gz or .parquet file")
    ip.add_argument("--out", required=True, help="new run table (.h5)")
    ip.add_argument("--metrics", required=True, help="comma-separated metric columns")
    ip.add_argument("--fidelity", default="epoch", help="fidelity column (default 'epoch')")
    ip.add_argument("--seed-column", default=None,
                    help="column holding the run's seed (default: one run per config)")
    deprecated_flag(ip, "--seed", "--seed-column", "seed_column", "data import")
    ip.add_argument("--config", default=None, help="comma-separated config columns "
                                                   "(default: all other columns)")
    ip.add_argument("--ignore", default=None, help="comma-separated columns to drop")
    ip.add_argument("--space", default=None, help="registered space name to use")
    ip.add_argument("--time", default=None, help="per-step seconds column")
    ip.add_argument("--cum-time", default=None, help="cumulative seconds column")
    ip.add_argument("--static", default=None, help="comma-separated static metric columns")
    ip.add_argument("--where", action="append", default=[], metavar="COL=VALUE",
                    help="keep rows with COL == VALUE (repeatable)")
    ip.add_argument("--run-id", default=None, help="column identifying runs")
    ip.add_argument("--duplicates", default="error", choices=["error", "seed", "first"],
                    help="several runs of one (config, seed): error, number as seeds, first")
    ip.add_argument("--space-name", default=None, help="name of the built space")
    ip.add_argument("--overwrite", action="store_true", help="replace an existing --out table")
    ip.set_defaults(func=_import)

    ep = sp.add_parser("export-synetune", help="run table -> Syne Tune blackbox layout",
                       description="Write hyperparameters.parquet, objectives_evaluations.npy "
                                   "(float32), fidelities_values.npy, configspace.json, "
                                   "fidelityspace.json and metadata.json (Syne Tune's "
                                   "blackbox_tabular.serialize layout) into a new folder.")
    ep.add_argument("table", help="run table (.h5)")
    ep.add_argument("--out", default=None, help="new folder (must not exist or be empty, "
                    "unless --overwrite)")
    ep.add_argument("out_positional", nargs="?", default=None, help=argparse.SUPPRESS)
    ep.add_argument("--task", default=None, help="task name (default: table file stem)")
    ep.add_argument("--overwrite", action="store_true",
                    help="replace an existing export folder (one with metadata.json)")
    ep.set_defaults(func=_export)

    xp = sp.add_parser("split", help="split a table's configs into two new tables",
                       description="Seeded split of configs (all seeds of a config together) "
                                   "into --first (1 - fraction) and --second (fraction).")
    xp.add_argument("table", help="run table (.h5)")
    xp.add_argument("--first", required=True, help="new table with the remaining configs")
    xp.add_argument("--second", required=True, help="new table with the held-out configs")
    xp.add_argument("--fraction", type=float, default=0.2,
                    help="share of the configs for --second (default 0.2)")
    xp.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    xp.add_argument("--overwrite", action="store_true",
                    help="replace existing --first/--second tables")
    xp.set_defaults(func=_split)


def _list(args) -> int:
    from ..benchmarks import data_dir, list_benchmarks

    d = data_dir()
    found = list_benchmarks(d)
    print(f"data folder: {d}")
    for name, kinds in found.items():
        print(f"  {name:<32} {', '.join(kinds)}")
    if not found:
        print("  (none)")
    return 0


#: import_tidy's parameters -> the flags of ``hasbench data import``
_IMPORT_FLAGS = {"metrics": "--metrics", "config": "--config", "out": "--out",
                 "source": "SOURCE", "seed": "--seed-column", "fidelity": "--fidelity",
                 "space": "--space", "duplicates": "--duplicates", "column": "column"}


def _import(args) -> int:
    from ..errors import InvalidValueError
    from ..tables.importers import import_tidy
    from ._flags import check_new_output, cli_names, replacing

    where = {}
    for w in args.where:
        if "=" not in w:
            raise InvalidValueError("--where", w, "COL=VALUE", "hasbench data import")
        k, v = w.split("=", 1)
        where[k] = v
    out = check_new_output("--out", args.out, "data import", args.overwrite)
    with cli_names("data import", _IMPORT_FLAGS, (None, "import_tidy")), \
            replacing(out) as tmp:
        t = import_tidy(args.source, tmp, metrics=_csv(args.metrics),
                        fidelity=args.fidelity, seed=args.seed_column,
                        config=_csv(args.config) or None, ignore=_csv(args.ignore),
                        space=args.space, time=args.time, cum_time=args.cum_time,
                        static=_csv(args.static), where=where or None, run_id=args.run_id,
                        duplicates=args.duplicates, space_name=args.space_name)
    print(f"wrote {out}: {t.n_configs} configs, {t.n_runs} runs, {t.max_epochs} steps, "
          f"space {t.space.name} ({t.space.dim} hyperparameters)")
    return 0


def _export(args) -> int:
    from ..tables.importers import export_synetune
    from ._flags import check_new_output, cli_names, positional_or_flag, replacing

    cmd = "data export-synetune"
    out = positional_or_flag(args, "out_positional", "out", cmd, "--out")
    out = check_new_output("--out", out, cmd, args.overwrite, ours="metadata.json")
    with cli_names(cmd, {"table": "TABLE", "task": "--task", "out": "--out"},
                   (None, "export_synetune")), replacing(out) as tmp:
        export_synetune(args.table, tmp, task=args.task)
    print(f"wrote Syne Tune blackbox to {out}")
    return 0


def _split(args) -> int:
    from ..tables.importers import split_table
    from ._flags import check_new_output, cli_names, replacing

    cmd = "data split"
    first = check_new_output("--first", args.first, cmd, args.overwrite)
    second = check_new_output("--second", args.second, cmd, args.overwrite)
    if first == second:
        from ..errors import InvalidValueError

        raise InvalidValueError("--second", str(second), "a path other than --first",
                                f"hasbench {cmd}")
    with cli_names(cmd, {"fraction": "--fraction", "seed": "--seed", "table": "TABLE"},
                   (None, "split_table")), replacing(first) as t1, replacing(second) as t2:
        a, b = split_table(args.table, t1, t2, args.fraction, args.seed)
    print(f"wrote {first} ({a.n_configs} configs) and {second} ({b.n_configs} configs)")
    return 0
