"""Figures of hasbench.analysis.plots on real traces (a tiny replay on synthetic
benchmarks): each kind writes a PNG and a PDF, and what each figure draws is what the
analysis function computes, read back from the matplotlib artists."""

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
    plots,
    speedup,
)
from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.errors import InvalidValueError
from hasbench.results import load_traces
from hasbench.simulate import replay_many

OPTS = ("random", "hyperband", "bohb")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two synthetic benchmarks x 3 optimizers x 6 seeds, 2 workers, 600 s (a few s)."""
    root = tmp_path_factory.mktemp("plot-runs")
    for i, name in enumerate(("synthetic:a", "synthetic:b")):
        bench = SyntheticBenchmark("hia-cnn", seed=i, name=name)
        for opt in OPTS:
            replay_many(bench, opt, range(6), root / f"b{i}" / opt, n_workers=2,
                        time_budget=600.0, progress=False)
    return root


@pytest.fixture(scope="module")
def one(runs):
    return load_traces([runs / "b0" / o for o in OPTS])


@pytest.fixture(scope="module")
def two(runs):
    return load_traces([runs / b / o for b in ("b0", "b1") for o in OPTS])


def by_gid(fig, prefix):
    out = {}
    for ax in fig.axes:
        for ln in ax.get_lines():
            g = ln.get_gid()
            if g and g.startswith(prefix):
                out[g[len(prefix):]] = ln
    return out


def assert_png(path):
    import matplotlib.image as mpimg

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(path)
    assert img.shape[0] > 300 and img.shape[1] > 500
    assert img[..., :3].std() > 0.05  # not a blank canvas


@pytest.mark.parametrize("kind", plots.KINDS)
def test_each_kind_writes_png_and_pdf(two, kind, tmp_path):
    for ext in ("png", "PDF"):
        out = tmp_path / f"{kind}.{ext}"
        fig = plots.plot(two, kind, out)
        assert fig.axes and out.stat().st_size > 5_000
        if ext == "png":
            assert_png(out)
        else:
            assert out.read_bytes()[:5] == b"%PDF-"
        # every visible axis has a label with a unit (or is the CD diagram's rank scale)
        for ax in fig.axes:
            if ax.axison and ax.get_visible():
                assert ax.get_xlabel() and ax.get_ylabel() or kind == "speedup"
        assert "2 simulated workers" in fig._suptitle.get_text()
        assert "600 s" in fig._suptitle.get_text()


def test_anytime_lines_are_anytime_performance(one):
    fig = plots.plot_anytime(one, n_resamples=200)
    perf = anytime_performance(one, n_resamples=200)
    lines = by_gid(fig, "anytime:synthetic:a:")
    assert sorted(lines) == sorted(OPTS)
    for lab, ln in lines.items():
        p = perf[perf["label"] == lab]
        np.testing.assert_array_equal(ln.get_xdata(), p["x"].to_numpy())
        np.testing.assert_array_equal(ln.get_ydata(), p["median"].to_numpy())
        assert ln.get_drawstyle() == "steps-post"
        assert ln.get_label() == f"{lab} (6 seeds)"
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() in ("log", "symlog")
    assert "(s)" in ax.get_xlabel() and "loss = 1 - valid_acc" in ax.get_ylabel()
    assert len(ax.collections) == len(OPTS)  # one CI band per optimizer
    assert len(set(ln.get_color() for ln in lines.values())) == len(OPTS)


def test_anytime_mean_vs_evaluations(runs):
    ev = load_traces([runs / "b0" / o for o in OPTS], events=True)
    fig = plots.plot_anytime(ev, x="evaluations", stat="mean", n_resamples=200)
    perf = anytime_performance(ev, x="evaluations", n_resamples=200)
    for lab, ln in by_gid(fig, "anytime:synthetic:a:").items():
        p = perf[perf["label"] == lab]
        np.testing.assert_array_equal(ln.get_xdata(), p["x"].to_numpy())
        np.testing.assert_array_equal(ln.get_ydata(), p["mean"].to_numpy())
    assert "evaluations" in fig.axes[0].get_xlabel() and "count" in fig.axes[0].get_xlabel()
    assert fig.axes[0].get_ylabel().startswith("mean true regret")


def test_rank_panels_and_lines(two):
    fig = plots.plot_rank(two)
    r = average_rank(two)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["synthetic:a", "synthetic:b",
                                               "mean over benchmarks"]
    lines = by_gid(fig, "rank:")
    assert len(lines) == 3 * len(OPTS)
    for key, ln in lines.items():
        bench, lab = key.rsplit(":", 1)
        g = r[(r["benchmark"] == bench) & (r["label"] == lab)]
        np.testing.assert_array_equal(ln.get_ydata(), g["rank"].to_numpy())
    lo, hi = axes[0].get_ylim()
    assert lo < 1 and hi > len(OPTS)
    assert "fraction of each benchmark's longest run" in axes[0].get_xlabel()


def test_ecdf_steps_through_every_seeds_final_regret(two):
    fig = plots.plot_ecdf(two)
    # final regret of each seed, computed here from the frame itself
    last = two.sort_values("time", kind="stable").groupby(
        ["benchmark", "label", "seed"]).tail(1)
    for key, ln in by_gid(fig, "ecdf:").items():
        bench, lab = key.rsplit(":", 1)
        want = np.sort(last[(last["benchmark"] == bench) & (last["label"] == lab)]
                       ["regret"].to_numpy())
        xs, ys = np.asarray(ln.get_xdata()), np.asarray(ln.get_ydata())
        np.testing.assert_allclose(np.unique(xs), np.unique(want))
        assert ys[0] == 0 and ys[-1] == pytest.approx(1.0)
        assert np.all(np.diff(ys) >= 0)
        # the height at the k-th smallest distinct value is the fraction of seeds at or below
        for v, p in zip(xs[1:], ys[1:], strict=True):
            assert p == pytest.approx(np.mean(want <= v))
    assert fig.axes[0].get_ylabel() == "fraction of seeds (ECDF)"


def test_speedup_default_target_is_the_baselines_median_final(one):
    fv = final_values(one)
    rnd = np.sort(fv[fv["label"] == "random"]["value"].to_numpy())
    target = plots.default_target(one, "random")["synthetic:a"]
    assert target == rnd[3]  # 6 seeds: the upper of the two middle values
    assert plots.default_baseline(one) == "random"
    fig = plots.plot_speedup(one, n_resamples=300)
    s = speedup(one, target, "random", n_resamples=300)
    marks = by_gid(fig, "speedup:synthetic:a:")
    assert sorted(marks) == ["bohb", "hyperband"]  # the baseline is not compared with itself
    for lab, m in marks.items():
        v = float(s.loc[s["label"] == lab, "speedup"].iloc[0])
        if 0 < v < math.inf:
            assert m.get_xdata()[0] == pytest.approx(v)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert any(np.allclose(ln.get_xdata(), 1.0) for ln in ax.get_lines())  # the line at 1
    assert "speed-up over random" in ax.get_xlabel()
    # a target nobody reaches: the ratio is undefined, and the figure says so
    fig = plots.plot_speedup(one, target=-1.0, n_resamples=50)
    assert sum("n/a" in t.get_text() for t in fig.axes[0].texts) == 2


def test_cd_orders_optimizers_by_mean_rank(runs, tmp_path):
    bench = SyntheticBenchmark("hia-cnn", seed=0, name="synthetic:a")
    replay_many(bench, "asha", range(6), tmp_path / "asha", n_workers=2, time_budget=600.0,
                progress=False)
    df = load_traces([runs / "b0" / o for o in OPTS] + [tmp_path / "asha"])  # 4 labels
    fig = plots.plot_cd(df)
    res = friedman_test(df, blocks="seed")  # one benchmark: blocks are seeds by default
    conn = by_gid(fig, "cd-rank:")
    assert sorted(conn) == sorted(res.mean_ranks.index)
    for lab, ln in conn.items():
        assert ln.get_xdata()[0] == pytest.approx(res.mean_ranks[lab])
    texts = {t.get_gid()[len("cd-label:"):]: t for t in fig.axes[0].texts
             if (t.get_gid() or "").startswith("cd-label:")}
    for lab, t in texts.items():
        assert t.get_text() == f"{lab} ({res.mean_ranks[lab]:.2f})"
    # best half named on the left, top to bottom in rank order; the rest on the right
    left = sorted((t for t in texts.values() if t.get_ha() == "right"),
                  key=lambda t: t.get_position()[1])
    right = sorted((t for t in texts.values() if t.get_ha() == "left"),
                   key=lambda t: -t.get_position()[1])
    order = [t.get_gid()[len("cd-label:"):] for t in left + right]
    assert order == list(res.mean_ranks.index)
    assert f"CD = {res.critical_difference:.2f}" in " ".join(t.get_text()
                                                            for t in fig.axes[0].texts)


def test_cd_groups_hand_computed():
    mr = pd.Series([1.0, 1.5, 3.0, 3.2], index=list("abcd"))
    cd = 1.0
    rows = [(x, y, mr[x] - mr[y], math.nan, abs(mr[x] - mr[y]) > cd)
            for i, x in enumerate(mr.index) for y in mr.index[i + 1:]]
    pairs = pd.DataFrame(rows, columns=["a", "b", "rank_diff", "pvalue", "significant"])
    assert plots.cd_groups(mr, pairs) == [(0, 1), (2, 3)]
    # a chain: a~b, b~c, but a and c differ: two overlapping groups, not one
    mr = pd.Series([1.0, 1.8, 2.6], index=list("abc"))
    pairs = pd.DataFrame([("a", "b", 0, 1, False), ("b", "c", 0, 1, False),
                          ("a", "c", 0, 0, True)],
                         columns=["a", "b", "rank_diff", "pvalue", "significant"])
    assert plots.cd_groups(mr, pairs) == [(0, 1), (1, 2)]
    pairs["significant"] = True
    assert plots.cd_groups(mr, pairs) == []


def test_bad_paths_and_kinds_fail_naming_the_parameter(one, tmp_path):
    with pytest.raises(InvalidValueError, match="'path'.*png or .pdf"):
        plots.plot_anytime(one, tmp_path / "a.svg")
    assert not (tmp_path / "a.svg").exists()
    (tmp_path / "a.png").write_bytes(b"mine")
    with pytest.raises(InvalidValueError, match="does not exist yet"):
        plots.plot_ecdf(one, tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes() == b"mine"
    plots.plot_ecdf(one, tmp_path / "a.png", overwrite=True)
    assert_png(tmp_path / "a.png")
    with pytest.raises(InvalidValueError, match="'kind'"):
        plots.plot(one, "bars")
    with pytest.raises(InvalidValueError, match="'stat'"):
        plots.plot_anytime(one, stat="mode")
    with pytest.raises(InvalidValueError, match="'baseline'"):
        plots.plot_speedup(one, baseline="nope")
    with pytest.raises(InvalidValueError, match="'df'"):
        plots.plot_rank(pd.DataFrame())
    # a folder that does not exist yet is created
    plots.plot_cd(one, tmp_path / "new" / "cd.pdf")
    assert (tmp_path / "new" / "cd.pdf").stat().st_size > 5_000
