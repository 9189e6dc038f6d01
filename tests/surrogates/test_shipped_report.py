"""The shipped validation report is what `hasbench validate` produces today."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"
SUR = DATA / "digits-hia-cnn.surrogate"
HELD = DATA / "digits-hia-cnn.heldout.h5"
REPORT = DATA / "digits-hia-cnn.validation.json"


@pytest.mark.slow
@pytest.mark.skipif(not (SUR.is_dir() and HELD.exists() and REPORT.exists()),
                    reason="shipped surrogate, held-out table or report not present")
def test_validate_reproduces_shipped_report(tmp_path):
    out = tmp_path / "rep"
    p = subprocess.run([sys.executable, "-m", "hasbench", "validate", str(SUR), "--table",
                        str(HELD), "--out", str(out)], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    new = json.loads(out.with_suffix(".json").read_text())
    old = json.loads(REPORT.read_text())
    for key in ("metrics", "coverage", "top_k", "optimizer_ranking", "targets",
                "training_table"):
        assert new[key] == old[key], key
    # same held-out file (by content hash), whatever path it was given by
    new["heldout"].pop("path")
    old["heldout"].pop("path")
    assert new["heldout"] == old["heldout"]
    assert (out.parent / "rep.md").exists()
