"""collect never appends to a table that a surrogate beside it was fitted on (a resume on
another machine appended 182 configs to data/digits-hia-cnn.h5 and broke hasbench.load)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from hasbench.errors import InvalidValueError  # noqa: E402
from hasbench.surrogates import CurveSurrogate, fit_surrogate  # noqa: E402
from hasbench.surrogates.model import SurrogateHashError  # noqa: E402
from hasbench.tables import RunTable  # noqa: E402
from hasbench.train.collect import collect, dependent_surrogates  # noqa: E402

SMALL = dict(max_train=60, max_valid=30, max_test=30, epochs=2, seeds=1, progress=False)


def test_collect_refuses_to_append_to_a_table_a_surrogate_depends_on(tmp_path):
    t = tmp_path / "t.h5"
    collect("hia-cnn", t, n_configs=4, **SMALL)
    sur = fit_surrogate(RunTable.read(t), model="knn")
    sur.save(tmp_path / "t.surrogate")
    assert dependent_surrogates(t) == [tmp_path / "t.surrogate"]
    before = t.read_bytes()

    # resuming the complete table trains nothing and is fine
    s = collect("hia-cnn", t, n_configs=4, **SMALL)
    assert s["trained"] == 0 and s["skipped"] == 4
    # extending it is refused, naming the surrogate, and leaves the file untouched
    with pytest.raises(InvalidValueError, match="t.surrogate"):
        collect("hia-cnn", t, n_configs=6, **SMALL)
    assert t.read_bytes() == before
    CurveSurrogate.load(tmp_path / "t.surrogate")  # still loads

    # explicitly allowed: appends, and the surrogate is now stale (as the error said)
    s = collect("hia-cnn", t, n_configs=6, allow_stale_surrogates=True, **SMALL)
    assert s["trained"] == 2
    assert dependent_surrogates(t) == []
    with pytest.raises(SurrogateHashError):
        CurveSurrogate.load(tmp_path / "t.surrogate")


def test_shipped_tables_are_protected():
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "data"
    for name in ("digits-hia-cnn.h5", "fmnist-hia-cnn.h5", "digits-zela2018.h5", "mnist-hia-cnn.h5",
                 "usps-hia-cnn.h5", "kmnist-hia-cnn.h5", "kannada-hia-cnn.h5"):
        assert dependent_surrogates(data / name), name
