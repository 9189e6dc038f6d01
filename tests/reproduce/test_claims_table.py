"""README's "Reproduced claims" table is the output of reproduce/claims_table.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "reproduce" / "claims_table.py"


def test_readme_table_equals_the_script_output():
    p = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                       timeout=60, check=True)
    text = (ROOT / "README.md").read_text()
    start, end = "<!-- claims-table:start -->", "<!-- claims-table:end -->"
    assert start in text and end in text
    assert text.split(start, 1)[1].split(end, 1)[0].strip("\n") + "\n" == p.stdout


def test_every_committed_claim_has_a_row_and_its_results(tmp_path):
    docs = ROOT / "docs" / "reproduce"
    claims = sorted(docs.glob("*/claim.json"))
    assert {c.parent.name for c in claims} >= {"zela2018_budget_correlation"}
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert len(out) == 2 + len(claims)
    for c, row in zip(claims, out[2:], strict=True):
        d = json.loads(c.read_text())
        assert (c.parent / "results.md").is_file()
        assert row.startswith(f"| {d['claim']} |") and f"**{d['holds']}**" in row


def test_table_of_a_folder_without_claims_is_the_header(tmp_path):
    p = subprocess.run([sys.executable, str(SCRIPT), "--docs", str(tmp_path)],
                       capture_output=True, text=True, timeout=60, check=True)
    assert p.stdout.splitlines() == ["| claim | paper | ours | holds? | output |",
                                     "|---|---|---|---|---|"]
