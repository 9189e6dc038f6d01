"""``hasbench spaces``: list and describe the registered search spaces."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("spaces", help="list or describe search spaces",
                       description="List the registered search spaces, or describe one.")
    sp = p.add_subparsers(dest="action", metavar="ACTION")
    sp.required = True
    lp = sp.add_parser("list", help="list registered spaces", description="List spaces.")
    lp.set_defaults(func=_list)
    dp = sp.add_parser("describe", help="describe one space",
                       description="Print a space's hyperparameters, fidelities and metadata.")
    dp.add_argument("name", help="space name, e.g. hia-cnn")
    dp.add_argument("--json", action="store_true", help="print the full space as JSON")
    dp.set_defaults(func=_describe)


def _list(args) -> int:
    from ..spaces import get_space, list_spaces

    for name in list_spaces():
        s = get_space(name)
        fid = ", ".join(f"{f.name} {f.lower:g}-{f.upper:g}" for f in s.fidelities)
        print(f"{name:<14} v{s.version:<5} d={s.dim:<3} fidelity: {fid:<16} {s.description}")
    return 0


def _describe(args) -> int:
    from ..spaces import get_space

    s = get_space(args.name)
    if args.json:
        print(json.dumps(s.to_dict(), indent=2, sort_keys=True))
        return 0
    print(f"{s.name} v{s.version}: {s.description}\n")
    print(f"{'hyperparameter':<22} {'type':<12} {'range / choices':<36} {'default'}")
    default = s.default()
    for n in s.names:
        k = s.kind(n)
        hp = s.configspace[n]
        if k in ("float", "int"):
            rng = f"[{hp.lower:g}, {hp.upper:g}]" + (" log" if hp.log else "")
        else:
            rng = ", ".join(str(c) for c in s.choices(n))
        print(f"{n:<22} {k:<12} {rng:<36} {default.get(n)}")
    print()
    for f in s.fidelities:
        extra = " (a hyperparameter of the space)" if f.in_config else ""
        print(f"fidelity {f.name}: {f.lower:g}..{f.upper:g}{' int' if f.is_int else ''}{extra}")
    if s.metadata:
        print("\nmetadata:")
        for k, v in s.metadata.items():
            print(f"  {k}: {json.dumps(v)}")
    return 0
