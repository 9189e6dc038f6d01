"""``hasbench table``: inspect run tables."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser("table", help="inspect run tables",
                       description="Inspect HDF5 run tables (docs/run-table-format.md).")
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
