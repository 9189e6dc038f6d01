"""``hasbench table``: inspect run tables."""

from __future__ import annotations

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
    ep.add_argument("out", help="CSV file to write (must not exist)")
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
    from ..errors import InvalidValueError, check_path
    from ..tables import RunTable

    out = check_path("out", args.out)
    if out.exists():
        raise InvalidValueError("out", str(out), "a path that does not exist yet",
                                "table export-csv", hint="hasbench never overwrites files")
    RunTable.read(args.file).to_frame().to_csv(out, index=False)
    print(f"wrote {out}")
    return 0
