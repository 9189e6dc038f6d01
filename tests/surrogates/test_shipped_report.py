"""The shipped validation report is what `hasbench validate` produces today."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"
HELD = DATA / "digits-hia-cnn.heldout.h5"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["digits-hia-cnn", "digits-hia-cnn-mlp"])
def test_validate_reproduces_shipped_report(name, tmp_path):
    SUR = DATA / f"{name}.surrogate"
    REPORT = DATA / f"{name}.validation.json"
    if not (SUR.is_dir() and HELD.exists() and REPORT.exists()):
        pytest.skip(f"shipped surrogate {name}, held-out table or report not present")
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
