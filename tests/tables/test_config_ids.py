"""Config identity is machine-independent (issue: 182 of 4,096 Sobol configs got other ids on
an AVX2 machine, so a resume retrained them into the shipped table).

"Another CPU" is simulated by what differs there: numpy's exp/log give results one unit in
the last place (ulp) away. Stored values and encoded arrays are moved by one ulp, as such a
machine would have written them.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from hasbench.spaces import get_space
from hasbench.tables import RunTable, RunTableWriter, config_id
from hasbench.tables.runtable import Run

SPACE = get_space("hia-cnn")


def _log_float_cols(sp):
    return [j for j, n in enumerate(sp.names)
            if sp.kind(n) == "float" and sp.configspace[n].log]


def test_config_id_ignores_last_bit_differences():
    a = {"learning_rate": 0.003773713386115795, "n_filters": 16, "optimizer": "adam"}
    b = dict(a, learning_rate=0.0037737133861157953)  # the AVX2 machine's value
    assert a["learning_rate"] != b["learning_rate"]
    assert config_id(a) == config_id(b)
    # but a real difference is a different config
    assert config_id(a) != config_id(dict(a, learning_rate=0.0037737134))
    assert config_id(a) != config_id(dict(a, n_filters=32))


@pytest.mark.parametrize("direction", [np.inf, -np.inf])
def test_sampled_configs_decode_identically_from_one_ulp_off_arrays(direction):
    """The Sobol config list of the shipped table decodes to the same dicts when the encoded
    log values are one ulp off (another CPU's log)."""
    X = SPACE.sample_array(4096, rng=0, method="sobol")
    X2 = X.copy()
    for j in _log_float_cols(SPACE):
        X2[:, j] = np.nextafter(X[:, j], direction)
    assert not np.array_equal(X, X2)
    assert SPACE.decode(X) == SPACE.decode(X2)


def test_decoded_values_do_not_depend_on_the_last_bit_of_exp():
    """decode(z) is exp(z) rounded: the neighbours of exp(z) (another CPU's exp) give the same
    value, and so the same id."""
    X = SPACE.sample_array(2000, rng=3)
    j = _log_float_cols(SPACE)[0]
    name = SPACE.names[j]
    vals = np.array([c[name] for c in SPACE.decode(X)])
    from hasbench.spaces.base import _round_sig

    for d in (np.inf, -np.inf):
        np.testing.assert_array_equal(_round_sig(np.nextafter(np.exp(X[:, j]), d)), vals)


def _write_small_table(path, configs, seeds=(0,)):
    w = RunTableWriter(path, SPACE, max_epochs=2, metrics=["valid_acc"],
                       static_names=["params"])
    runs = [Run(config=c, seed=s, metrics={"valid_acc": [0.5, 0.6]},
                epoch_time=[1.0, 1.0], static={"params": 10.0}) for c in configs
            for s in seeds]
    w.append(runs)
    return w


def _as_if_written_on_another_cpu(path):
    """Rewrite the stored configs as another machine (and hasbench 0.1) wrote them: log floats
    one ulp off, encoded values one ulp off, ids hashed from the unrounded JSON."""
    import hashlib

    with h5py.File(path, "r+") as f:
        js = [json.loads(s) for s in f["configs/json"].asstr()[()]]
        X = f["configs/X"][()]
        for c in js:
            for k, v in c.items():
                if isinstance(v, float) and SPACE.configspace[k].log:
                    c[k] = float(np.nextafter(v, np.inf))
        for j in _log_float_cols(SPACE):
            X[:, j] = np.nextafter(X[:, j], np.inf)
        old_ids = [hashlib.sha256(json.dumps(c, sort_keys=True, separators=(",", ":"))
                                  .encode()).hexdigest()[:16] for c in js]
        f["configs/X"][...] = X
        del f["configs/json"], f["configs/id"]
        f["configs"].create_dataset("json", data=[json.dumps(c, sort_keys=True) for c in js],
                                    dtype=h5py.string_dtype())
        f["configs"].create_dataset("id", data=old_ids, dtype=h5py.string_dtype())
    return js


def test_a_table_from_another_cpu_has_the_same_ids_and_configs(tmp_path):
    cfgs = SPACE.sample(20, rng=1)
    p = tmp_path / "t.h5"
    _write_small_table(p, cfgs)
    ids_here = RunTable.read(p).config_ids
    foreign = _as_if_written_on_another_cpu(p)
    assert foreign != cfgs
    t = RunTable.read(p)
    assert t.config_ids == ids_here == [config_id(c) for c in cfgs]
    assert t.configs == cfgs
    # encoded configs are this machine's canonical codec values: exact lookups match
    np.testing.assert_array_equal(t.X, SPACE.encode(cfgs))
    w = RunTableWriter(p)
    assert all(w.has(c, 0) for c in cfgs)
    with pytest.raises(Exception, match="already recorded"):
        w.append(Run(config=cfgs[0], seed=0, metrics={"valid_acc": [0.5, 0.6]},
                     epoch_time=[1.0, 1.0], static={"params": 10.0}))


def test_shipped_table_ids_match_its_sampled_config_list():
    """A resume of data/digits-hia-cnn.h5 with its own command finds nothing to train."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "data" / "digits-hia-cnn.h5"
    t = RunTable.read(path)
    X = SPACE.sample_array(4096, rng=0, method="sobol")
    want = {config_id(SPACE.canonicalize(dict(c, epochs=27))) for c in SPACE.decode(X)}
    assert want <= set(t.config_ids)
