"""Budget correlation on synthetic run tables where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hasbench.analysis import (
    budget_correlation,
    correlation_matrix,
    default_fidelities,
    plot_budget_correlation,
)
from hasbench.analysis.fidelity import bootstrap_spearman
from hasbench.errors import FidelityError, InvalidValueError, UnknownNameError
from hasbench.spaces import get_space
from hasbench.tables import DEFAULT_METRICS, Run, write_table

E = 9


def _table(path, curve_fn, n=150, seeds=(0, 1), status=None):
    """hia-cnn table whose valid_acc curve of (config index c, seed s) is curve_fn(c, s)."""
    space = get_space("hia-cnn")
    cfgs = space.sample(n, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    runs = []
    for c, cfg in enumerate(cfgs):
        for s in seeds:
            m = {k: rng.random(E) for k in DEFAULT_METRICS}
            m["valid_acc"] = curve_fn(c, s)
            runs.append(Run(cfg, s, m, np.ones(E), {"params": 1, "flops": 1, "model_bytes": 1},
                            status=(status or {}).get((c, s), "ok")))
    return write_table(path, space, runs, max_epochs=E)


def test_identical_rankings_give_one(tmp_path):
    # each config's curve is its own quality times a common increasing shape: the ranking
    # is the same at every epoch and for every seed
    q = np.random.default_rng(2).random(150)
    t = _table(tmp_path / "same.h5", lambda c, s: q[c] * (1 - np.exp(-np.arange(1, E + 1) / 4)))
    df = budget_correlation(t, n_bootstrap=200)
    assert df.attrs["fidelities"] == [1.0, 3.0, 9.0]
    assert sorted(set(df["seed"]), key=str) == [0, 1, "mean"]
    assert len(df) == 3 * 3                               # 3 groups x 3 pairs
    assert np.allclose(df["rho"], 1.0) and np.allclose(df[["low", "high"]], 1.0)
    assert (df["n"] == 150).all()
    M = correlation_matrix(df)
    assert np.allclose(M.to_numpy(), 1.0) and list(M.index) == [1.0, 3.0, 9.0]


def test_independent_values_give_about_zero(tmp_path):
    rng = np.random.default_rng(3)
    vals = rng.random((300, 2, E))
    t = _table(tmp_path / "indep.h5", lambda c, s: vals[c, s], n=300)
    df = budget_correlation(t, n_bootstrap=300, seed=1)
    # null sd of rho is 1/sqrt(n-1) ~ 0.058
    assert (df["rho"].abs() < 0.2).all()
    inside = (df["low"] < 0) & (df["high"] > 0)
    assert inside.mean() >= 0.75
    assert (df["p_value"] > 0.001).all()


def test_noise_shrinking_with_budget_matches_the_spec_pattern(tmp_path):
    # spec test: error(b) = f(x) + noise / sqrt(b) with independent noise per budget: the
    # adjacent pair (3, 9) correlates more than the extremes (1, 9); the matrix is
    # symmetric with unit diagonal
    rng = np.random.default_rng(4)
    f = rng.random(400)
    noise = rng.normal(size=(400, 2, E))
    b = np.arange(1, E + 1)
    v = f[:, None, None] + 0.5 * noise / np.sqrt(b)
    v = (v - v.min()) / (v.max() - v.min())  # an accuracy in [0, 1]; affine keeps every rank
    t = _table(tmp_path / "noisy.h5", lambda c, s: v[c, s], n=400)
    df = budget_correlation(t, fidelities=[1, 3, 9], n_bootstrap=100)
    for s in ("mean", 0, 1):
        M = correlation_matrix(df, s)
        A = M.to_numpy()
        assert np.allclose(A, A.T) and np.allclose(np.diag(A), 1.0)
        assert M.loc[3.0, 9.0] > M.loc[1.0, 9.0]
    # averaging two seeds' noise raises every correlation
    assert (correlation_matrix(df, "mean").to_numpy() >= correlation_matrix(df, 0).to_numpy()
            - 1e-12).all()


def test_seed_average_and_missing_runs(tmp_path):
    rng = np.random.default_rng(5)
    vals = rng.random((60, 2, E))
    fail = {(0, 1): "failed", (1, 0): "failed"}
    t = _table(tmp_path / "miss.h5", lambda c, s: vals[c, s], n=60, status=fail)
    df = budget_correlation(t, fidelities=[2, 7], n_bootstrap=0)
    row = df.set_index("seed").loc["mean"]
    mean = vals.mean(axis=1)
    mean[0] = vals[0, 0]                                    # only seed 0 ran
    mean[1] = vals[1, 1]
    assert row["rho"] == pytest.approx(stats.spearmanr(mean[:, 1], mean[:, 6]).statistic)
    per0 = df.set_index("seed").loc[0]
    assert per0["n"] == 59 and np.isnan(per0["low"])      # config 1 seed 0 failed


def test_bootstrap_is_spearman_of_the_resamples():
    rng = np.random.default_rng(6)
    x = np.round(rng.random(200) * 10)                      # many ties
    y = np.round(x + rng.normal(0, 3, 200))
    got = bootstrap_spearman(x, y, 5, np.random.default_rng(7), batch=2)
    idx = np.random.default_rng(7)
    want = []
    for b in (2, 2, 1):
        for row in idx.integers(0, 200, size=(b, 200)):
            want.append(stats.spearmanr(x[row], y[row]).statistic)
    assert np.allclose(got, want)


def test_benchmark_source_and_errors(tmp_path):
    from hasbench.benchmarks.synthetic import SyntheticBenchmark

    bench = SyntheticBenchmark("zela2018", noise=0.05)
    df = budget_correlation(bench, fidelities=[1, 9, 27], n_samples=200, n_bootstrap=50,
                            seeds=[0])
    assert set(df["seed"]) == {"mean", 0} and (df["n"] == 200).all()
    assert df.attrs["source"].startswith("benchmark")
    fig = plot_budget_correlation(df, tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 1000 and len(fig.axes) == 3  # 2 + colorbar
    assert default_fidelities(1, 27) == [1.0, 3.0, 9.0, 27.0]
    assert default_fidelities(1, 200) == [2.0, 7.0, 22.0, 67.0, 200.0]
    with pytest.raises(FidelityError, match=r"'fidelities'.*\[1, 27\]"):
        budget_correlation(bench, fidelities=[1, 99])
    with pytest.raises(InvalidValueError, match="at least two"):
        budget_correlation(bench, fidelities=[3, 3.0])
    with pytest.raises(UnknownNameError, match="objective"):
        budget_correlation(bench, objective="nope")
    with pytest.raises(InvalidValueError, match="source"):
        budget_correlation((np.zeros((3, 2)), np.zeros(3)))
    with pytest.raises(InvalidValueError, match="seed"):
        correlation_matrix(df, seed=5)
