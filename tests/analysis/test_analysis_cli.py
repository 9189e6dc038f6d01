"""``hasbench importance`` and ``hasbench budget-correlation`` as a user runs them on the
shipped digits-hia-cnn table: real subprocesses, exit codes, messages, PNG files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TABLE = Path(__file__).resolve().parents[2] / "data" / "digits-hia-cnn.h5"
pytestmark = pytest.mark.skipif(not TABLE.is_file(), reason="shipped table not present")


def hb(*args, rc=None):
    proc = subprocess.run([sys.executable, "-m", "hasbench", *args], capture_output=True,
                          text=True, timeout=300)
    if rc is not None:
        assert proc.returncode == rc, proc.stdout + proc.stderr
    return proc


def _png(path: Path) -> np.ndarray:
    import matplotlib.image as mpimg

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 300
    assert img[..., :3].std() > 0.05                      # not a blank canvas
    return img


def test_importance_fanova_pairwise_with_plot(tmp_path):
    png = tmp_path / "imp.png"
    out = hb("importance", str(TABLE), "--pairwise", "--n-trees", "8", "--top", "3",
             "--plot", str(png), rc=0).stdout
    assert "fanova importance of valid_acc" in out and "4096 configs" in out
    lines = out.splitlines()
    for name in ("n_conv_layers", "learning_rate", "optimizer", "kernel_size"):
        assert any(ln.strip().startswith(name) for ln in lines)
    assert sum(":" in ln.split()[0] for ln in lines[2:] if ln.split()) == 3  # top-3 pairs
    _png(png)


def test_importance_relieff_and_budget_correlation(tmp_path):
    out = hb("importance", str(TABLE), "--method", "n-relieff", "--n-bootstrap", "20",
             "--fidelity", "27", rc=0).stdout
    assert "n-relieff importance" in out and "fidelity 27" in out
    assert "epochs" not in out                     # the in-config fidelity is left out
    png = tmp_path / "bc.png"
    out = hb("budget-correlation", str(TABLE), "--n-bootstrap", "50", "--plot", str(png),
             rc=0).stdout
    assert "seed-averaged" in out and "seed 0" in out and "seed 1" in out
    assert out.splitlines()[3].split() == ["1", "3", "9", "27"]  # matrix header
    _png(png)


def test_bad_method_and_fidelity_fail_clearly(tmp_path):
    p = hb("importance", str(TABLE), "--method", "fanva", rc=2)
    assert "invalid value for '--method': 'fanva'" in p.stderr
    assert "'fanova', 'n-relieff'" in p.stderr and "did you mean 'fanova'" in p.stderr
    p = hb("importance", str(TABLE), "--fidelity", "99", rc=2)
    assert "invalid value for 'fidelity': 99" in p.stderr and "[1, 27]" in p.stderr
    p = hb("budget-correlation", str(TABLE), "--fidelities", "1,99", rc=2)
    assert "'fidelities': 99" in p.stderr and "[1, 27]" in p.stderr


def test_more_usage_errors_in_process(tmp_path, capsys):
    from hasbench.cli import main

    assert main(["importance", str(TABLE), "--method", "n-relieff", "--pairwise"]) == 2
    err = capsys.readouterr().err
    assert "'--pairwise'" in err and "only with --method fanova" in err
    assert main(["importance", str(TABLE), "--quantile", "0.5"]) == 2
    assert "'--quantile'" in capsys.readouterr().err
    assert main(["importance", str(tmp_path / "nope.h5")]) == 2
    assert "nope.h5" in capsys.readouterr().err
    assert main(["budget-correlation", str(TABLE), "--fidelities", "3"]) == 2
    assert "at least two" in capsys.readouterr().err
