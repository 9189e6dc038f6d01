"""``hasbench data``: list shipped benchmarks, import tidy runs, export to Syne Tune, split."""

from __future__ import annotations


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
    ip.add_argument("--seed", default=None, help="seed column (default: one run per config)")
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
    ip.set_defaults(func=_import)

    ep = sp.add_parser("export-synetune", help="run table -> Syne Tune blackbox layout",
                       description="Write hyperparameters.parquet, objectives_evaluations.npy "
                                   "(float32), fidelities_values.npy, configspace.json, "
                                   "fidelityspace.json and metadata.json (Syne Tune's "
                                   "blackbox_tabular.serialize layout) into a new folder.")
    ep.add_argument("table", help="run table (.h5)")
    ep.add_argument("out", help="new folder")
    ep.add_argument("--task", default=None, help="task name (default: table file stem)")
    ep.set_defaults(func=_export)

    xp = sp.add_parser("split", help="split a table's configs into two new tables",
                       description="Seeded split of configs (all seeds of a config together) "
                                   "into --first (1 - fraction) and --second (fraction).")
    xp.add_argument("table", help="run table (.h5)")
    xp.add_argument("--first", required=True, help="new table with the remaining configs")
    xp.add_argument("--second", required=True, help="new table with the held-out configs")
    xp.add_argument("--fraction", type=float, default=0.2, help="share for --second")
    xp.add_argument("--seed", type=int, default=0, help="seed of the split")
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


def _import(args) -> int:
    from ..errors import InvalidValueError
    from ..tables.importers import import_tidy

    where = {}
    for w in args.where:
        if "=" not in w:
            raise InvalidValueError("--where", w, "COL=VALUE", "hasbench data import")
        k, v = w.split("=", 1)
        where[k] = v
    t = import_tidy(args.source, args.out, metrics=_csv(args.metrics), fidelity=args.fidelity,
                    seed=args.seed, config=_csv(args.config) or None,
                    ignore=_csv(args.ignore), space=args.space, time=args.time,
                    cum_time=args.cum_time, static=_csv(args.static), where=where or None,
                    run_id=args.run_id, duplicates=args.duplicates,
                    space_name=args.space_name)
    print(f"wrote {t.path}: {t.n_configs} configs, {t.n_runs} runs, {t.max_epochs} steps, "
          f"space {t.space.name} ({t.space.dim} hyperparameters)")
    return 0


def _export(args) -> int:
    from ..tables.importers import export_synetune

    d = export_synetune(args.table, args.out, task=args.task)
    print(f"wrote Syne Tune blackbox to {d}")
    return 0


def _split(args) -> int:
    from ..tables.importers import split_table

    a, b = split_table(args.table, args.first, args.second, args.fraction, args.seed)
    print(f"wrote {a.path} ({a.n_configs} configs) and {b.path} ({b.n_configs} configs)")
    return 0
