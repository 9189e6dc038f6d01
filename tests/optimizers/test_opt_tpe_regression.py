"""hasbench's TPE proposes the same configurations as it did before its speed-ups.

``data/tpe_proposals.json`` holds the first 50 proposals (encoded rows) of seeded TPE runs on a
small conditional space with categorical, ordinal, log-float, float, int and log-int
hyperparameters, recorded on the code before the vectorised proposal path (commit noted in
the file). Each run tells a deterministic loss of the config (some configs crash, some are
pruned, one run asks two jobs at a time so constant-liar pending rows enter the bad group), so
the whole model path is exercised: startup, good/bad split, weights, failure records,
conditional columns, independent and multivariate sampling and scoring.

Regenerate only deliberately (a change that is meant to alter proposals):
``python tests/optimizers/test_opt_tpe_regression.py``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import ConfigSpace as CS
import numpy as np
import pytest

from hasbench.optimizers import Result
from hasbench.optimizers.tpe import TPE
from hasbench.spaces import Space

FIXTURE = Path(__file__).parent / "data" / "tpe_proposals.json"
N_PROPOSALS = 50

# name -> (TPE keyword arguments, seed, jobs asked per round)
CASES = {
    "independent": ({}, 3, 1),
    "multivariate": ({"multivariate": True}, 4, 1),
    "independent_two_workers": ({}, 5, 2),
    "multivariate_ordinal_int": ({"multivariate": True, "ordinal": "int"}, 6, 1),
    # without constant liar, tell reads job.x: masked inactive columns reach the model as
    # NaN, so the conditional columns get their own estimators
    "independent_conditional": ({"constant_liar": False, "mask_inactive": True}, 7, 1),
    "multivariate_conditional": ({"multivariate": True, "constant_liar": False,
                                  "mask_inactive": True}, 8, 1),
}


def _space() -> Space:
    cs = CS.ConfigurationSpace(name="tpe-regression")
    opt = CS.CategoricalHyperparameter("optimizer", ["sgd", "adam", "rmsprop"])
    mom = CS.UniformFloatHyperparameter("momentum", 0.0, 0.99)
    lr = CS.UniformFloatHyperparameter("lr", 1e-5, 1.0, log=True)
    layers = CS.UniformIntegerHyperparameter("layers", 1, 6)
    width = CS.UniformIntegerHyperparameter("width", 8, 512, log=True)
    drop = CS.UniformFloatHyperparameter("dropout", 0.0, 0.8)
    act = CS.OrdinalHyperparameter("size", ["s", "m", "l", "xl"])
    beta = CS.UniformFloatHyperparameter("beta2", 0.9, 0.9999, log=True)
    cs.add([opt, mom, lr, layers, width, drop, act, beta])
    cs.add(CS.EqualsCondition(mom, opt, "sgd"))
    cs.add(CS.InCondition(beta, opt, ["adam", "rmsprop"]))
    return Space("tpe-regression", "1", cs)


def _result(space: Space, x: np.ndarray, k: int) -> Result:
    """A deterministic loss of the encoded row ``x`` (k: the job's index, for pruning)."""
    c = dict(zip(space.names, x, strict=True))  # encoded: log of log-scaled, choice index
    lr, width, beta2 = math.exp(c["lr"]), math.exp(c["width"]), math.exp(c["beta2"])
    if c["layers"] == 6 and lr > 0.3:
        return Result(math.inf, 1.0, "crashed")
    if k % 11 == 7:
        return Result(math.inf, 0.0, "pruned")
    loss = (math.log10(lr) + 2.5) ** 2 + 0.1 * (c["layers"] - 3) ** 2 \
        + 0.3 * (math.log2(width) - 6) ** 2 + (c["dropout"] - 0.3) ** 2 \
        + (0.3, 0.0, 0.1, 0.4)[int(c["size"])]
    if c["optimizer"] == 0:  # sgd
        loss += 2 * (c["momentum"] - 0.9) ** 2
    else:
        loss += 0.2 + 100 * (beta2 - 0.999) ** 2 * (c["optimizer"] == 1)
    return Result(loss, 1.0)


def _mask_inactive(space: Space, x: np.ndarray) -> None:
    """Set the inactive columns of ``x`` to NaN in place (as an encoded conditional row)."""
    i = space.names.index
    if x[i("optimizer")] != 0:
        x[i("momentum")] = np.nan
    else:
        x[i("beta2")] = np.nan


def _proposals(kw: dict, seed: int, per_round: int) -> np.ndarray:
    space = _space()
    kw = dict(kw)
    mask = kw.pop("mask_inactive", False)
    opt = TPE(space, seed, **kw)
    rows, k = [], 0
    while len(rows) < N_PROPOSALS:
        jobs = [opt.ask() for _ in range(per_round)]
        for job in jobs:
            rows.append(np.array(job.x, dtype=float))
            if mask:
                _mask_inactive(space, job.x)  # told rows carry NaN for inactive columns
            opt.tell(job, _result(space, job.x, k))
            k += 1
    return np.array(rows[:N_PROPOSALS])


def _record() -> None:
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip()
    out = {"commit": commit, "names": _space().names, "cases": {}}
    for name, (kw, seed, per) in CASES.items():
        X = _proposals(kw, seed, per)
        out["cases"][name] = [[None if np.isnan(v) else float(v) for v in r] for r in X]
    # one row per line; json writes floats as their shortest repr, which round-trips exactly
    cases = ",\n".join(f'"{k}": [\n' + ",\n".join(json.dumps(r) for r in v) + "\n]"
                       for k, v in out["cases"].items())
    FIXTURE.write_text(f'{{"commit": "{commit}",\n"names": {json.dumps(out["names"])},\n'
                       f'"cases": {{\n{cases}\n}}}}\n')


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_seed_same_proposals_as_before(case):
    ref = json.loads(FIXTURE.read_text())
    assert ref["names"] == _space().names
    want = np.array([[np.nan if v is None else v for v in r] for r in ref["cases"][case]])
    kw, seed, per = CASES[case]
    got = _proposals(kw, seed, per)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, equal_nan=True)


def test_fixture_exercises_the_model():
    """The recorded runs have every proposal, and the conditional ones model both branches."""
    ref = json.loads(FIXTURE.read_text())
    names = ref["names"]
    for name, rows in ref["cases"].items():
        X = np.array([[np.nan if v is None else v for v in r] for r in rows])
        assert X.shape == (N_PROPOSALS, len(names))
        assert not np.isnan(X).any(), name  # proposals are full rows
        opt = X[:, names.index("optimizer")]
        assert (opt == 0).any() and (opt != 0).any(), name


if __name__ == "__main__":
    _record()
