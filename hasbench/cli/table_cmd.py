"""``hasbench table``: inspect run tables."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser("table", help="inspect and re-time run tables",
                       description="Inspect HDF5 run tables (docs/run-table-format.md) and "
                                   "give old ones a load-independent clock (retime).")
    sp = p.add_subparsers(dest="action", metavar="ACTION")
    sp.required = True
    ip = sp.add_parser("info", help="summarise a run table",
                       description="Print a run table's space, size, metrics, status counts, "
                                   "accuracy spread and provenance.")
    ip.add_argument("file", help="run table (.h5)")
    ip.add_argument("--json", action="store_true", help="print as JSON")
    ip.set_defaults(func=_info)
    ep = sp.add_parser("export-csv", help="write a run table as tidy CSV",
                       description="One row per (config, seed, epoch).")
    ep.add_argument("file", help="run table (.h5)")
    ep.add_argument("--out", default=None, help="CSV file to write (must not exist, unless "
                    "--overwrite)")
    ep.add_argument("out_positional", nargs="?", default=None, help=argparse.SUPPRESS)
    ep.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    ep.set_defaults(func=_export_csv)
    rp = sp.add_parser(
        "retime", help="measure the CPU time of runs that only have wall time",
        description="Train each run that lacks a CPU time again for its first --epochs "
                    "epochs (same trainer, dataset options and seed as its collection, one "
                    "torch thread), store those epochs' CPU seconds and give every later "
                    "epoch the mean of measured epochs 2..K. The table's cost clock becomes "
                    "cpu_time once every run has one. Changes only /runs/cpu_time and the "
                    "provenance; resumable (runs with a CPU time are skipped). Needs torch.")
    rp.add_argument("file", help="run table (.h5) collected by hasbench collect on the CPU")
    rp.add_argument("--epochs", type=int, default=4,
                    help="epochs retrained per run, K (default 4)")
    rp.add_argument("--processes", type=int, default=1,
                    help="parallel training processes (default 1)")
    rp.add_argument("--data-dir", default=None,
                    help="folder with the raw dataset files (default: as for collect)")
    rp.add_argument("--commit-every", type=int, default=10,
                    help="runs per atomic commit (default 10)")
    rp.add_argument("--allow-stale-surrogates", action="store_true",
                    help="retime even when a surrogate was fitted on the table (refit it "
                         "afterwards); refused by default")
    rp.add_argument("--no-progress", action="store_true", help="no progress bar")
    rp.add_argument("--json", action="store_true", help="print the summary as JSON")
    rp.set_defaults(func=_retime)


def _info(args) -> int:
    from ..tables import RunTable

    t = RunTable.read(args.file)
    s = t.summary()
    if args.json:
        print(json.dumps(s, indent=2, default=str))
        return 0
    prov = s.pop("provenance")
    for k, v in s.items():
        print(f"{k:<42} {v}")
    print("provenance:")
    for k, v in prov.items():
        print(f"  {k:<40} {v}")
    return 0


def _export_csv(args) -> int:
    from ..tables import RunTable
    from ._flags import check_new_output, positional_or_flag, replacing

    cmd = "table export-csv"
    out = positional_or_flag(args, "out_positional", "out", cmd, "--out")
    out = check_new_output("--out", out, cmd, args.overwrite)
    frame = RunTable.read(args.file).to_frame()
    with replacing(out) as tmp:
        frame.to_csv(tmp, index=False)
    print(f"wrote {out}")
    return 0


def _retime(args) -> int:
    import sys

    try:
        from ..train.retime import retime
    except ImportError as exc:  # pragma: no cover - depends on the install
        print("hasbench table retime: needs torch (pip install -e '.[train]' in the "
              f"hasbench clone): {exc}", file=sys.stderr)
        return 1
    from ._flags import cli_names, command_line

    command = command_line()
    names = {"table": "FILE", "epochs": "--epochs", "workers": "--processes",
             "data_dir": "--data-dir", "commit_every": "--commit-every"}
    with cli_names("table retime", names, (None, "retime")):
        s = retime(args.file, epochs=args.epochs, workers=args.processes,
                   data_dir=args.data_dir, commit_every=args.commit_every,
                   progress=not args.no_progress, command=command,
                   allow_stale_surrogates=args.allow_stale_surrogates)
    if args.json:
        print(json.dumps(s, indent=2, default=str))
    else:
        print(f"{s['table']}: retimed {s['retimed']} runs ({s['identical_curves']} with "
              f"curves identical to the stored ones), skipped {s['skipped']} that had a CPU "
              f"time, {s['failed']} failed, in {s['seconds']:.1f} s; cost clock now "
              f"{s['cost_metric']}")
    return 1 if s["failed"] else 0
