"""Anytime analysis on small hand-built trace frames whose answers are computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hasbench.analysis import (
    anytime_performance,
    average_rank,
    final_values,
    friedman_test,
    regret_ecdf,
    run_matrix,
    speedup,
    stability,
    time_to_target,
    time_to_target_summary,
)
from hasbench.analysis.anytime import _holm
from hasbench.errors import InvalidValueError
from hasbench.results import incumbent_on_grid


def frame(curves, benchmark="B"):
    """{(label, seed): [(time, regret), ...]} -> a load_traces-shaped frame."""
    parts = []
    for (lab, seed), pts in curves.items():
        t, r = zip(*pts, strict=True)
        parts.append(pd.DataFrame({"label": lab, "optimizer": lab, "seed": seed,
                                   "benchmark": benchmark, "time": t, "regret": r}))
    return pd.concat(parts, ignore_index=True)


def test_grid_is_forward_fill_and_matches_incumbent_on_grid():
    df = frame({("a", 0): [(1, 5.0), (3, 2.0)], ("a", 1): [(2, 4.0)]})
    runs, grid, v = run_matrix(df, grid=[0.5, 1, 2, 3, 4])
    assert runs["seed"].tolist() == [0, 1]
    np.testing.assert_array_equal(v[0], [np.nan, 5, 5, 2, 2])
    np.testing.assert_array_equal(v[1], [np.nan, np.nan, 4, 4, 4])
    # the vectorised grid agrees with results.incumbent_on_grid on a random frame
    rng = np.random.default_rng(3)
    curves = {(lab, s): list(zip(np.cumsum(rng.random(7)), rng.random(7), strict=True))
              for lab in "xyz" for s in range(4)}
    big = frame(curves)
    g = np.linspace(0, 6, 40)
    runs, _, v = run_matrix(big, grid=g)
    ref = incumbent_on_grid(big, g)
    for i, r in runs.iterrows():
        want = ref[(ref["label"] == r["label"]) & (ref["seed"] == r["seed"])]["regret"]
        np.testing.assert_array_equal(v[i], want.to_numpy())


def test_anytime_median_mean_and_missing_seeds():
    df = frame({("a", 0): [(1, 1.0)], ("a", 1): [(1, 3.0)], ("a", 2): [(2, 8.0)]})
    out = anytime_performance(df, grid=[1, 2], n_resamples=200)
    first, second = out.iloc[0], out.iloc[1]
    # at t=1 seed 2 has no result: it ranks worst, so the median is 3; the mean is undefined
    assert first["n"] == 2 and first["median"] == 3.0 and math.isnan(first["mean"])
    # the missing seed ranks worst: the lower bound is defined, the upper falls on it
    assert first["median_low"] == 1.0 and math.isnan(first["median_high"])
    assert math.isnan(first["mean_low"])  # no mean CI while a seed is missing
    assert second["median"] == 3.0 and second["mean"] == 4.0
    assert second["median_low"] <= 3.0 <= second["median_high"]
    # half or more missing: the median is not defined yet
    out = anytime_performance(df, grid=[0.5, 1])
    assert math.isnan(out.iloc[0]["median"]) and out.iloc[0]["n"] == 0


def test_bootstrap_ci_on_normal_sample_has_the_textbook_width():
    rng = np.random.default_rng(0)
    n = 400
    vals = rng.normal(size=n)
    df = frame({("a", s): [(1.0, float(v))] for s, v in enumerate(vals)})
    r = anytime_performance(df, grid=[1.0], n_resamples=2000).iloc[0]
    se = vals.std(ddof=1) / math.sqrt(n)
    assert r["mean_low"] < vals.mean() < r["mean_high"]
    assert (r["mean_high"] - r["mean_low"]) == pytest.approx(2 * 1.96 * se, rel=0.1)
    # median of a normal: standard error sqrt(pi/2) * sigma / sqrt(n)
    se_med = math.sqrt(math.pi / 2) / math.sqrt(n)
    assert r["median_low"] < np.median(vals) < r["median_high"]
    assert (r["median_high"] - r["median_low"]) == pytest.approx(2 * 1.96 * se_med, rel=0.3)
    # reproducible with the same seed, different with another
    again = anytime_performance(df, grid=[1.0], n_resamples=2000).iloc[0]
    assert again["mean_low"] == r["mean_low"]
    other = anytime_performance(df, grid=[1.0], n_resamples=2000, seed=1).iloc[0]
    assert other["mean_low"] != r["mean_low"]


def test_evaluations_axis_counts_rows():
    df = frame({("a", 0): [(5, 3.0), (6, 3.0), (9, 1.0)]})
    out = anytime_performance(df, x="evaluations", grid=[1, 2, 3])
    assert out["median"].tolist() == [3.0, 3.0, 1.0]
    assert time_to_target(df, 1.0, x="evaluations")["time_to_target"].tolist() == [3.0]


def test_average_rank_with_ties_and_missing():
    df = frame({("a", 0): [(1, 1.0)], ("b", 0): [(1, 1.0)], ("c", 0): [(1, 2.0)],
                ("a", 1): [(1, 3.0)], ("b", 1): [(1, 2.0)], ("c", 1): [(2, 1.0)]})
    r = average_rank(df, grid=[1, 2]).set_index(["label", "x"])["rank"]
    # t=1: seed 0 ranks a=b=1.5, c=3; seed 1: c has no result (last), b=1, a=2
    assert r[("a", 1)] == pytest.approx((1.5 + 2) / 2)
    assert r[("b", 1)] == pytest.approx((1.5 + 1) / 2)
    assert r[("c", 1)] == pytest.approx(3.0)
    # t=2: seed 1: c=1, b=2, a=3
    assert r[("a", 2)] == pytest.approx((1.5 + 3) / 2)
    assert r[("c", 2)] == pytest.approx((3 + 1) / 2)
    # ranks of the median curves: medians a=2, b=1.5, c=1.5 at t=2 -> 3, 1.5, 1.5
    m = average_rank(df, grid=[2], by="median").set_index("label")["rank"]
    assert m.tolist() == [3.0, 1.5, 1.5]


def test_average_rank_across_benchmarks_uses_relative_time():
    one = frame({("a", 0): [(10, 1.0)], ("b", 0): [(10, 2.0)]}, "B1")
    two = frame({("a", 0): [(100, 2.0)], ("b", 0): [(100, 1.0)]}, "B2")
    r = average_rank(pd.concat([one, two]), grid=[1.0])
    allr = r[r["benchmark"] == "all"].set_index("label")["rank"]
    assert allr.tolist() == [1.5, 1.5]
    assert set(r["benchmark"]) == {"B1", "B2", "all"}


def test_time_to_target_with_censored_seeds():
    curves = {("a", 0): [(1, 5.0), (2, 0.5)], ("a", 1): [(1, 3.0), (5, 0.1)],
              ("a", 2): [(1, 4.0), (10, 2.0)]}
    t = time_to_target(frame(curves), 1.0)
    assert t["time_to_target"].tolist() == [2.0, 5.0, math.inf]
    assert t["reached"].tolist() == [True, True, False]
    assert t["budget"].tolist() == [2.0, 5.0, 10.0]
    s = time_to_target_summary(frame(curves), 1.0, n_resamples=500).iloc[0]
    assert s["time_to_target"] == 5.0  # median of [2, 5, inf]
    assert s["fraction_reached"] == pytest.approx(2 / 3) and s["n_reached"] == 2
    assert s["low"] == 2.0 and s["high"] == math.inf  # resamples with 2 censored seeds
    mean = time_to_target_summary(frame(curves), 1.0, stat="mean").iloc[0]
    assert mean["time_to_target"] == math.inf
    # half censored: the median is infinite
    curves[("a", 3)] = [(1, 9.0)]
    assert time_to_target_summary(frame(curves), 1.0).iloc[0]["time_to_target"] == math.inf


def test_time_to_target_counts_the_first_hit_even_if_regret_rises_again():
    df = frame({("a", 0): [(1, 2.0), (2, 0.5), (3, 1.5)]})
    assert time_to_target(df, 1.0)["time_to_target"].tolist() == [2.0]
    assert time_to_target(df, {"B": 0.1})["reached"].tolist() == [False]


def test_speedup_known_ratio_and_censoring():
    curves = {("base", s): [(4.0, 0.0)] for s in range(3)}
    curves |= {("fast", s): [(2.0, 0.0)] for s in range(3)}
    curves |= {("never", s): [(1.0, 1.0)] for s in range(3)}
    sp = speedup(frame(curves), 0.5, "base").set_index("label")
    assert sp.loc["fast", "speedup"] == 2.0
    assert (sp.loc["fast", "low"], sp.loc["fast", "high"]) == (2.0, 2.0)
    assert sp.loc["never", "speedup"] == 0.0 and sp.loc["never", "fraction_reached"] == 0.0
    inv = speedup(frame(curves), 0.5, "never").set_index("label")
    assert inv.loc["fast", "speedup"] == math.inf
    with pytest.raises(InvalidValueError, match="baseline"):
        speedup(frame(curves), 0.5, "nope")


def test_stability_spread_and_fraction_reaching():
    df = frame({("a", s): [(1, 9.0), (2, float(v))] for s, v in enumerate([1, 2, 3, 4])})
    st = stability(df, target=2.5).iloc[0]
    assert st["iqr"] == pytest.approx(1.5) and st["q25"] == pytest.approx(1.75)
    assert st["std"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert st["range"] == 3.0 and st["median"] == 2.5
    assert st["fraction_reached"] == 0.5
    early = stability(df, at=1.5, target=2.5).iloc[0]
    assert early["median"] == 9.0 and early["fraction_reached"] == 0.0
    assert final_values(df, at=0.5)["value"].isna().all()


def test_ecdf_steps_once_per_distinct_value():
    df = frame({("a", s): [(1, float(v))] for s, v in enumerate([1, 1, 2])})
    e = regret_ecdf(df)
    assert e["value"].tolist() == [1.0, 2.0]
    assert e["probability"].tolist() == pytest.approx([2 / 3, 1.0])


def test_friedman_statistic_and_nemenyi_cd_by_hand():
    # 4 benchmarks, always a < b < c: mean ranks 1, 2, 3
    parts = [frame({("a", 0): [(1, 1.0 + i)], ("b", 0): [(1, 2.0 + i)],
                    ("c", 0): [(1, 3.0 + i)]}, f"B{i}") for i in range(4)]
    res = friedman_test(pd.concat(parts))
    # chi2_F = 12 N / (k (k+1)) * sum R^2 - 3 N (k+1) = 4 * 14 - 48 = 8
    assert res.statistic == pytest.approx(8.0)
    assert res.pvalue == pytest.approx(math.exp(-4.0))  # chi2 with 2 df: exp(-x/2)
    assert res.mean_ranks.tolist() == [1.0, 2.0, 3.0]
    # Demsar (2006) table: q_0.05 = 2.343 for k = 3; CD = 2.343 * sqrt(12 / 24)
    assert res.critical_difference == pytest.approx(2.343 * math.sqrt(0.5), abs=1e-3)
    sig = res.pairs.set_index(["a", "b"])["significant"]
    assert sig[("a", "c")] and not sig[("a", "b")]
    w = friedman_test(pd.concat(parts), posthoc="wilcoxon-holm")
    assert w.pairs["pvalue"].between(0, 1).all() and math.isnan(w.critical_difference)


def test_friedman_ties_and_seed_blocks():
    df = frame({("a", s): [(1, 1.0)] for s in range(3)}
               | {("b", s): [(1, 1.0)] for s in range(3)}
               | {("c", s): [(1, 2.0)] for s in range(3)})
    res = friedman_test(df, blocks="seed")
    assert res.mean_ranks.to_dict() == {"a": 1.5, "b": 1.5, "c": 3.0}
    with pytest.raises(InvalidValueError, match="blocks"):
        friedman_test(df)  # one benchmark = one block


def test_holm_adjustment_by_hand():
    np.testing.assert_allclose(_holm(np.array([0.01, 0.04, 0.03])), [0.03, 0.06, 0.06])


@pytest.mark.parametrize("call, param", [
    (lambda df: anytime_performance(df, x="epochs"), "x"),
    (lambda df: anytime_performance(df, column="nope"), "df"),
    (lambda df: anytime_performance(df, confidence=1.5), "confidence"),
    (lambda df: average_rank(df, by="best"), "by"),
    (lambda df: time_to_target(df, {"other": 1.0}), "target"),
    (lambda df: friedman_test(df, blocks="seed"), "df"),  # only 2 labels
    (lambda df: anytime_performance(df, grid=[3, 1]), "grid"),
    (lambda df: anytime_performance(df.iloc[:0]), "df"),
])
def test_bad_input_names_the_parameter(call, param):
    df = frame({("a", 0): [(1, 1.0)], ("b", 0): [(1, 2.0)]})
    with pytest.raises(InvalidValueError) as e:
        call(df)
    assert e.value.parameter == param


def test_median_ci_agrees_with_scipy_bootstrap():
    from scipy import stats

    from hasbench.analysis.anytime import _median_ci

    rng = np.random.default_rng(5)
    for n in (41, 60):  # odd and even number of seeds
        v = rng.exponential(size=(n, 3))
        lo, hi = _median_ci(v, 20000, 0.95, np.random.default_rng(0))
        ref = stats.bootstrap((v,), np.median, axis=0, n_resamples=20000,
                              method="percentile", rng=np.random.default_rng(1))
        width = ref.confidence_interval.high - ref.confidence_interval.low
        np.testing.assert_allclose(lo, ref.confidence_interval.low, atol=0.1 * width.max())
        np.testing.assert_allclose(hi, ref.confidence_interval.high, atol=0.1 * width.max())
    # a seed without a result ranks worst: 1 of 5 missing moves the upper bound, and with
    # 3 of 5 missing every resample median can fall there -> NaN
    v = np.array([[1.0], [2.0], [3.0], [4.0], [np.nan]])
    lo, hi = _median_ci(v, 4000, 0.95, np.random.default_rng(0))
    assert lo[0] == 1.0 and np.isnan(hi[0])


def test_on_replayed_traces(tmp_path):
    # real traces through load_traces: the summaries agree with per-seed computations
    from hasbench.benchmarks.synthetic import SyntheticBenchmark
    from hasbench.results import load_traces
    from hasbench.simulate import replay_many

    bench = SyntheticBenchmark("hia-cnn", seed=0)
    for opt in ("random", "hyperband", "bohb"):
        replay_many(bench, opt, "0-3", tmp_path / opt, n_workers=2, max_evaluations=20,
                    progress=False)
    df = load_traces([tmp_path / o for o in ("random", "hyperband", "bohb")], events=True)
    out = anytime_performance(df, x="evaluations", grid=[10], n_resamples=100)
    for lab, g in df.groupby("label"):
        after10 = g.sort_values("time", kind="stable").groupby("seed")["regret"].nth(9)
        assert out.set_index("label").loc[lab, "median"] == pytest.approx(after10.median())
    tt = time_to_target(df, 0.05)
    grid = np.sort(df["time"].unique())
    on = incumbent_on_grid(df, grid)
    for _, r in tt.iterrows():
        cur = on[(on["label"] == r["label"]) & (on["seed"] == r["seed"])]
        hit = cur.loc[cur["regret"] <= 0.05, "time"]
        assert r["time_to_target"] == (hit.min() if len(hit) else math.inf)
    assert friedman_test(df, blocks="seed").mean_ranks.sum() == pytest.approx(6.0)
