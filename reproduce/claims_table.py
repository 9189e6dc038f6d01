"""Print README's "Reproduced claims" table (Markdown) from the committed claim outputs.

Reads ``docs/reproduce/<claim>/claim.json`` (written by each claim script next to its
``results.md``) and prints one row per claim: the claim, the paper's number, ours, whether
it holds, and a link to the full output. README.md holds this output between the markers
``<!-- claims-table:start -->`` and ``<!-- claims-table:end -->``; a test checks that they
agree. Not a claim script (``hasbench reproduce --list`` leaves it out).

Usage: ``python reproduce/claims_table.py [--docs DIR] [--write-readme]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "reproduce"
START, END = "<!-- claims-table:start -->", "<!-- claims-table:end -->"


def table(docs: Path = DOCS) -> str:
    """The Markdown table (ends with a newline); rows in claim-name order."""
    rows = ["| claim | paper | ours | holds? | output |", "|---|---|---|---|---|"]
    for f in sorted(Path(docs).glob("*/claim.json")):
        c = json.loads(f.read_text())
        link = f"[{f.parent.name}](docs/reproduce/{f.parent.name}/results.md)"
        run = "" if c.get("run") == "full" else f" ({c.get('run')} run)"
        cells = [c["claim"], c["paper"], c["ours"], f"**{c['holds']}**{run}",
                 f"{link}, {c['date']}"]
        rows.append("| " + " | ".join(str(x).replace("|", "/") for x in cells) + " |")
    return "\n".join(rows) + "\n"


def readme_table(readme: Path = ROOT / "README.md") -> str | None:
    """The table currently between the markers in README.md (None without markers)."""
    text = Path(readme).read_text()
    if START not in text or END not in text:
        return None
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", default=str(DOCS), help="folder of claim outputs")
    ap.add_argument("--write-readme", action="store_true",
                    help="replace the table between README.md's markers")
    a = ap.parse_args(argv)
    t = table(Path(a.docs))
    if a.write_readme:
        p = ROOT / "README.md"
        text = p.read_text()
        if START not in text or END not in text:
            raise SystemExit(f"README.md has no {START} ... {END} markers")
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        p.write_text(f"{head}{START}\n{t}{END}{tail}")
    print(t, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
