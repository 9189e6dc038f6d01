"""The README's 30-second example runs as written and its output is labelled (issue 21
item 9: it printed a truncated frame and two unlabelled numbers)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_thirty_second_example_runs_and_labels_its_output():
    text = README.read_text()
    sec = text[text.index("## 30-second example"):]
    code = re.search(r"```python\n(.*?)```", sec, re.S).group(1)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300, cwd=README.parent, env=dict(os.environ))
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "valid_acc" in out and "..." not in out.splitlines()[0]
    assert "best valid_acc of 10,000 configs:" in out
    assert "mean training time at 27 epochs (s):" in out
    assert "(5, 27)" in out
