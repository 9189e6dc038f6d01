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
        description="Import one row per (config, seed, fidelity step) into a new run table "
                    "and print what each column was taken as (hyperparameters, metrics, "
                    "static metrics, seeds, fidelity, runtime, columns not used). "
                    "Hyperparameters: --hyperparameters, or the columns of --space / "
                    "--space-from / --configspace, or else inferred: every column without "
                    "another role except id-like names and columns that change along a curve "
                    "or between the seeds of a config. The space is built from them unless "
                    "given (numeric -> float/int, log when positive and spanning > 2 decades; "
                    "text -> categorical; --hp declares type, bounds and log scale). Without "
                    "a fidelity column the data has one fidelity (final values). Unequal "
                    "curve lengths and NaN/inf values are kept (NaN/inf marks a run "
                    "diverged). See docs/importing.md.")
    ip.add_argument("source", help=".csv, .csv.gz or .parquet file")
    ip.add_argument("--out", required=True, help="new run table (.h5)")
    ip.add_argument("--metrics", required=True, help="comma-separated metric columns")
    ip.add_argument("--hyperparameters", default=None,
                    help="comma-separated hyperparameter columns (default: inferred, see the "
                         "printed summary)")
    deprecated_flag(ip, "--config", "--hyperparameters", "hyperparameters", "data import")
    ip.add_argument("--fidelity", default=None,
                    help="fidelity column; 'none': one fidelity (default: 'epoch' when the "
                         "file has it, else none)")
    ip.add_argument("--seed-column", default=None,
                    help="column holding the run's seed (default: one run per config)")
    deprecated_flag(ip, "--seed", "--seed-column", "seed_column", "data import")
    ip.add_argument("--static", default=None, help="comma-separated static metric columns "
                    "(one value per config: params, flops ...)")
    ip.add_argument("--ignore", default=None, help="comma-separated columns to drop")
    ip.add_argument("--hp", action="append", default=[], metavar="NAME=SPEC",
                    help="declare a hyperparameter (repeatable): float|int[:LOW:HIGH][:log], "
                         "categorical[:A|B|C], ordinal[:1|2|4]; e.g. lr=float:1e-5:0.1:log")
    ip.add_argument("--configspace", default=None, metavar="JSON",
                    help="the hyperparameters as a ConfigSpace JSON file "
                         "(ConfigurationSpace.to_json)")
    ip.add_argument("--space", default=None, help="registered space name to use")
    ip.add_argument("--space-from", default=None, metavar="TABLE",
                    help="use the space (and fidelity values) of this run table, e.g. the "
                         "training table when importing a held-out file")
    ip.add_argument("--metric-spec", action="append", default=[], metavar="NAME=SPEC",
                    help="a metric's kind/goal and fit transform (repeatable): acc|loss|min|"
                         "max[:log|logit|none]; e.g. valid_mse=min:log, val_acc_final=acc")
    ip.add_argument("--scale", action="append", default=[], metavar="NAME=FACTOR",
                    help="multiply a metric on import (repeatable); valid_acc=0.01 (or "
                         "=percent) for accuracies in percent")
    ip.add_argument("--time", default=None, help="per-step seconds column")
    ip.add_argument("--cum-time", default=None, help="cumulative seconds column")
    ip.add_argument("--where", action="append", default=[], metavar="COL=VALUE",
                    help="keep rows with COL == VALUE (repeatable)")
    ip.add_argument("--run-id", default=None, help="column identifying runs")
    ip.add_argument("--duplicates", default="error", choices=["error", "seed", "first"],
                    help="several runs of one (config, seed): error, number as seeds, first")
    ip.add_argument("--space-name", default=None, help="name of the built space")
    ip.add_argument("--dry-run", action="store_true",
                    help="print the summary of what the columns would be taken as; write "
                         "nothing")
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
    from ..benchmarks import data_dir
    from ..benchmarks.registry import describe_benchmarks

    d = data_dir()
    found = describe_benchmarks(d)
    print(f"data folder: {d}")
    for name, info in found.items():
        line = f"  {name:<24} {', '.join(info['kinds']):<18}"
        t = info.get("table")
        if t:
            line += (f" {t['configs']:>5} configs x {t['seeds']} seeds x {t['epochs']} epochs"
                     f" = {t['runs']:>5} runs, {t['mb']:5.1f} MB")
            if "partial" in t:
                line += f"  PARTIAL: {t['runs']} of {t['partial']} runs (collection not done)"
        elif "table_error" in info:
            line += f" table unreadable: {info['table_error'][:80]}"
        print(line)
        for k, (measured, target, met) in (info.get("validation") or {}).items():
            if isinstance(measured, (int, float)):
                mark = "met" if met else "not met"
                print(f"      {k:<44} {measured:7.3f}  (target {target}: {mark})")
    if not found:
        print("  (none)")
    else:
        print("validation figures: the held-out report of each surrogate "
              "(data/<name>.validation.md); what to trust: data/README.md")
    return 0


#: import_tidy's parameters -> the flags of ``hasbench data import``
_IMPORT_FLAGS = {"metrics": "--metrics", "config": "--hyperparameters",
                 "hyperparameters": "--hyperparameters", "out": "--out",
                 "source": "SOURCE", "seed": "--seed-column", "fidelity": "--fidelity",
                 "space": "--space", "space_from": "--space-from",
                 "configspace": "--configspace", "hp_types": "--hp",
                 "metric_specs": "--metric-spec", "scale": "--scale",
                 "duplicates": "--duplicates", "column": "column"}


def _pairs(flag: str, items: list[str]) -> dict[str, str]:
    from ..errors import InvalidValueError

    out = {}
    for w in items:
        k, sep, v = w.partition("=")
        if not sep or not k.strip() or not v.strip():
            raise InvalidValueError(flag, w, "NAME=VALUE", "hasbench data import")
        if k.strip() in out:
            raise InvalidValueError(flag, w, "each NAME once", "hasbench data import")
        out[k.strip()] = v.strip()
    return out


def _columns(source: str) -> list[str] | None:
    """Column names of a CSV/parquet file without reading it all (None when unknown)."""
    import pandas as pd

    name = str(source).lower()
    try:
        if name.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            return list(pq.read_schema(source).names)
        if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
            return list(pd.read_csv(source, nrows=0, sep="\t" if ".tsv" in name
                                    else ",").columns)
    except Exception:  # noqa: BLE001 - import_tidy reports an unreadable file by name
        return None
    return None


def _import(args) -> int:
    import tempfile
    from pathlib import Path

    from ..tables.importers import format_import_summary, import_tidy
    from ._flags import check_new_output, cli_names, replacing

    where = _pairs("--where", args.where)
    fidelity = args.fidelity
    fid_note = ""
    if fidelity is None:
        cols = _columns(args.source)
        fidelity = "epoch" if cols is None or "epoch" in cols else None
        if fidelity is None:
            fid_note = " (no --fidelity and no 'epoch' column)"
    elif fidelity.strip().lower() == "none":
        fidelity = None
    kw = dict(metrics=_csv(args.metrics), fidelity=fidelity, seed=args.seed_column,
              hyperparameters=_csv(args.hyperparameters) or None, ignore=_csv(args.ignore),
              space=args.space, space_from=args.space_from, configspace=args.configspace,
              hp_types=_pairs("--hp", args.hp) or None,
              metric_specs=_pairs("--metric-spec", args.metric_spec) or None,
              scale=_pairs("--scale", args.scale) or None, time=args.time,
              cum_time=args.cum_time, static=_csv(args.static), where=where or None,
              run_id=args.run_id, duplicates=args.duplicates, space_name=args.space_name)
    if args.dry_run:
        with tempfile.TemporaryDirectory() as d, \
                cli_names("data import", _IMPORT_FLAGS, (None, "import_tidy")):
            t = import_tidy(args.source, Path(d) / "dry-run.h5", **kw)
            print(format_import_summary(t.provenance["import"]).replace(
                "fidelity: none", "fidelity: none" + fid_note, 1))
            print(f"dry run: would write {t.n_configs} configs, {t.n_runs} runs, "
                  f"{t.max_epochs} steps; nothing written")
        return 0
    out = check_new_output("--out", args.out, "data import", args.overwrite)
    with cli_names("data import", _IMPORT_FLAGS, (None, "import_tidy")), \
            replacing(out) as tmp:
        t = import_tidy(args.source, tmp, **kw)
    print(format_import_summary(t.provenance["import"]).replace(
        "fidelity: none", "fidelity: none" + fid_note, 1))
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
