"""`hasbench reproduce`: the claim scripts run from one command and report a verdict."""

from __future__ import annotations

import os
import subprocess
import sys

from hasbench.cli import main


def test_list_names_every_claim_script(capsys):
    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    names = [line.split(":", 1)[0] for line in out.splitlines()]
    assert names == ["dyesp_speed_stability", "hia_grouped_sequential",
                     "zela2018_bohb_joint", "zela2018_budget_correlation"]
    assert "zela2018_budget_correlation: Zela et al. 2018" in out
    # helpers (_common.py) and tools (claims_table.py) are not claims
    assert "_common" not in out and "claims_table" not in out


def test_unknown_claim_is_refused_with_the_names(capsys):
    assert main(["reproduce", "zela2018"]) == 2
    err = capsys.readouterr().err
    assert "zela2018_budget_correlation" in err and "Traceback" not in err


def test_budget_correlation_quick_writes_a_verdict_per_benchmark(tmp_path):
    out = tmp_path / "zela"
    p = subprocess.run([sys.executable, "-m", "hasbench", "reproduce",
                        "zela2018_budget_correlation", "--quick", "--out", str(out)],
                       capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert p.returncode == 0, p.stderr
    md = (out / "results.md").read_text()
    rows = [r for r in md.splitlines() if r.startswith("| digits-")]
    assert len(rows) == 2
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        assert cells[-1] in ("**yes**", "**no**")
        # rho(1, 27) lies inside its own interval
        rho, ci = cells[1].split(" [")
        lo, hi = (float(x) for x in ci.rstrip("]").split(","))
        assert lo <= float(rho) <= hi
        assert (out / f"{cells[0]}.png").stat().st_size > 10_000
    assert "does not hold" in p.stdout or "holds" in p.stdout
