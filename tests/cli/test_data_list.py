"""`hasbench data list` shows each benchmark's size and validation figures, and says when a
table is partial (issue 17 item 4)."""

from __future__ import annotations

import json

from hasbench.cli import main
from hasbench.spaces import get_space
from hasbench.tables import Run, RunTableWriter


def _table(path, n_configs, planned):
    sp = get_space("hia-cnn")
    prov = {"n_configs": planned, "seeds": [0, 1], "command": "hasbench collect ..."}
    with RunTableWriter(path, space=sp, metrics=["valid_acc"], max_epochs=3,
                        provenance=prov) as w:
        for c in sp.sample(n_configs, 0):
            for s in (0, 1):
                w.append(Run(config=c, seed=s, metrics={"valid_acc": [0.1, 0.2, 0.3]},
                             epoch_time=[1.0, 1.0, 1.0],
                             static={"params": 1.0, "flops": 1.0, "model_bytes": 4.0}))


def test_sizes_partial_tables_and_validation_figures(tmp_path, monkeypatch, capsys):
    _table(tmp_path / "full.h5", 4, 4)
    _table(tmp_path / "growing.h5", 3, 10)
    (tmp_path / "full.surrogate").mkdir()
    (tmp_path / "full.surrogate" / "manifest.json").write_text("{}")
    (tmp_path / "full.validation.json").write_text(json.dumps({"targets": {
        "final valid_acc R2": {"target": ">= 0.9", "measured": 0.912, "met": True},
        "runtime R2": {"target": ">= 0.95", "measured": 0.5, "met": False}}}))
    (tmp_path / "broken.h5").write_bytes(b"not hdf5")
    monkeypatch.setenv("HASBENCH_DATA", str(tmp_path))
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    row = {ln.split()[0]: ln for ln in out if ln.startswith("  ") and not ln.startswith("    ")}
    assert "4 configs x 2 seeds x 3 epochs =     8 runs" in row["full"]
    assert "PARTIAL" not in row["full"] and "table, surrogate" in row["full"]
    assert "PARTIAL: 6 of 20 runs" in row["growing"]
    assert "unreadable" in row["broken"]  # listed, not a traceback
    figs = [ln for ln in out if ln.startswith("      ")]
    assert any("final valid_acc R2" in ln and "0.912" in ln and ": met)" in ln for ln in figs)
    assert any("runtime R2" in ln and "not met" in ln for ln in figs)
