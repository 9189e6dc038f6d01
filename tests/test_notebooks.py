"""Every notebook's code cells run top to bottom without error (headless)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
DATA = Path(__file__).resolve().parents[1] / "data" / "digits-hia-cnn.surrogate"


@pytest.mark.slow
@pytest.mark.skipif(not DATA.is_dir(), reason="shipped surrogate not present")
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(nb, monkeypatch):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    cells = json.loads(nb.read_text())["cells"]
    code = [("".join(c["source"])) for c in cells if c["cell_type"] == "code"]
    assert code, f"{nb.name} has no code cells"
    ns: dict = {}
    for i, src in enumerate(code):
        exec(compile(src, f"{nb.name}[cell {i}]", "exec"), ns)
    # the notebook's replay produced an anytime summary for both optimizers
    assert set(ns["summ"]["optimizer"]) == {"bohb", "random"}
    plt.close("all")


def test_notebooks_exist():
    assert NOTEBOOKS, "notebooks/ should hold at least the quick start"
