"""Fixtures: a small synthetic hia-cnn run table and a small XGBoost surrogate on it."""

from __future__ import annotations

import pytest

from hasbench.surrogates import CurveSurrogate
from hasbench.surrogates.testing import write_synthetic_table

SMALL_XGB = {"n_estimators": 40, "max_depth": 5, "learning_rate": 0.15, "std": {"n_estimators": 20},
             "time": {"n_estimators": 40, "learning_rate": 0.15},
             "static": {"n_estimators": 30}}


@pytest.fixture(scope="session")
def syn_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("tables") / "syn.h5"
    return write_synthetic_table(path, "hia-cnn", n_configs=60, seeds=(0, 1), rng=0)


@pytest.fixture(scope="session")
def syn_surrogate(syn_table, tmp_path_factory):
    sur = CurveSurrogate("xgb", params=SMALL_XGB, n_jobs=1).fit(syn_table)
    sur.save(tmp_path_factory.mktemp("sur") / "syn.surrogate")
    return sur
