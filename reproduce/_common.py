"""Shared helpers of the claim scripts (not a claim: ``hasbench reproduce`` skips names that
start with ``_``): replaying optimizers into a tidy frame, the run header (date, machine,
load), the claim summary (``claim.json``, read by ``claims_table.py``), verdict lines and one
plot style (Okabe-Ito colour-blind-safe palette)."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

#: Okabe & Ito (2008) colour-blind-safe palette (black last: used for the method under test
#: only when it is not given a colour).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000", "#999999"]
LINESTYLES = ["-", "--", "-.", ":"]


def shipped(suffix: str = "", kind: str = "surrogate") -> list[str]:
    """Shipped benchmark names (``hasbench data list``) ending in ``suffix`` that have
    ``kind`` (surrogate: the collection is finished and a model was fitted on it) and are
    named ``<dataset>-<space>`` (so ``digits-hia-cnn-mlp``, another model of the
    ``digits-hia-cnn`` table, and ``.heldout`` splits are left out)."""
    from hasbench.benchmarks.registry import list_benchmarks
    from hasbench.spaces import list_spaces

    spaces = list_spaces()
    return [n for n, kinds in list_benchmarks().items()
            if n.endswith(suffix) and kind in kinds and "." not in n
            and any(n.endswith("-" + sp) for sp in spaces)]


def budget_seconds(bench, fe: float, workers: int) -> float:
    """``fe`` full-fidelity evaluations of compute over ``workers`` (``hasbench run
    --budget Nfe``) in simulated seconds."""
    from hasbench.cli.run_cmd import parse_budget

    return float(parse_budget(f"{fe}fe", bench, workers))


def replay(bench, runs: dict, seeds, *, workers: int, time_budget: float | None = None,
           max_evaluations: int | None = None, log=print):
    """Replay every ``label: (optimizer, kwargs)`` of ``runs`` for ``seeds`` on ``bench``
    (``simulate_many``: all seeds in lock step, one process). Returns ``(frame, traces,
    wall)``: the tidy frame of :func:`hasbench.results.load_traces` (true regret of the
    incumbent at the largest fidelity so far), ``{label: [Trace]}`` and ``{label: wall s}``.
    The traces pass through a temporary folder of parquet files, as ``hasbench run`` writes
    them, so the frame is exactly what ``hasbench results`` would read."""
    from hasbench.results import load_traces
    from hasbench.simulate import simulate_many

    traces, wall, paths = {}, {}, []
    with tempfile.TemporaryDirectory(prefix="hasbench-reproduce-") as tmp:
        for i, (label, (opt, kw)) in enumerate(runs.items()):
            t0 = time.perf_counter()
            trs = simulate_many(bench, opt, list(seeds), n_workers=workers,
                                time_budget=time_budget, max_evaluations=max_evaluations,
                                optimizer_kwargs=dict(kw or {}))
            wall[label] = time.perf_counter() - t0
            d = Path(tmp) / f"run{i:02d}"
            d.mkdir()
            for tr in trs:
                tr.save(d / f"seed-{int(tr.meta['seed']):06d}.parquet")
            traces[label] = trs
            paths.append(f"{d}:{label}")
            log(f"  {bench.name} {label}: {len(trs)} seeds in {wall[label]:.1f} s")
        df = load_traces(paths)
    return df, traces, wall


def machine() -> str:
    """One line: CPUs, platform and the 1/5/15-min load average at the time of the call."""
    try:
        la = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - no load average on this platform
        la = "n/a"
    return (f"{os.cpu_count()} CPUs ({platform.machine()}, {platform.system()} "
            f"{platform.release()}), Python {platform.python_version()}, load average {la}")


def revision() -> str:
    """The clone's commit, and ``+ local changes to hasbench/`` when the package differs
    from it (so an output says which code made it); ``unknown`` outside a git clone."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                             capture_output=True, text=True, timeout=10, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "hasbench"],
                               cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev.stdout.strip() + (" + local changes to hasbench/" if dirty.stdout.strip()
                                 else "")


def header(title: str, quick: bool) -> list[str]:
    import hasbench

    return [f"# {title}", "",
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
            f"{'quick' if quick else 'full'} run; hasbench {hasbench.__version__} "
            f"(commit {revision()}); machine: "
            f"{machine()} (the project's machine is a 2-core shared VM; a data collection "
            "used one core during the run)", ""]


def verdict(name: str, detail: str, holds: bool) -> str:
    """The printed verdict line: ``NAME: details -> claim holds|does not hold``."""
    return f"{name}: {detail} -> claim {'holds' if holds else 'does not hold'}"


def write_claim(out: Path, *, claim: str, paper: str, ours: str, holds: str, quick: bool,
                wall: float, extra: dict | None = None) -> None:
    """``claim.json``: the row of README's "Reproduced claims" table (``claims_table.py``)."""
    d = {"claim": claim, "paper": paper, "ours": ours, "holds": holds,
         "run": "quick" if quick else "full",
         "date": time.strftime("%Y-%m-%d", time.gmtime()), "wall_s": round(wall, 1),
         "machine": machine()}
    d.update(extra or {})
    (out / "claim.json").write_text(json.dumps(d, indent=1) + "\n")


def fmt_time(s: float) -> str:
    """Simulated seconds, compactly (``inf`` for never)."""
    import math

    if not math.isfinite(s):
        return "never"
    return f"{s:.3g} s"


def suptitle(fig, text: str, fontsize: int = 11) -> None:
    """Figure title wrapped to the figure's width (nothing clipped on one-panel figures)."""
    import textwrap

    width = max(30, int(fig.get_figwidth() * 72 / (0.6 * fontsize)))
    fig.suptitle(textwrap.fill(text, width), fontsize=fontsize)


def style_regret_axis(ax, values) -> None:
    """Log y axis, or symlog when regret reaches 0 (the benchmark's optimum was found)."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size and np.all(v > 0):
        ax.set_yscale("log")
        ax.set_ylim(float(v.min()) / 1.6, float(v.max()) * 1.6)
    elif v.size and np.any(v > 0):
        floor = max(float(v[v > 0].min()), 1e-3 * float(v.max()))
        ax.set_yscale("symlog", linthresh=floor)
        ax.set_ylim(0, float(v.max()) * 1.6)  # points at the top stay inside the axes


def boxes(ax, data, labels, colors=None) -> None:
    """Box plot (median line black, no separate fliers) with every seed drawn as a point."""
    import numpy as np

    colors = colors or [PALETTE[i % len(PALETTE)] for i in range(len(data))]
    bp = ax.boxplot(data, patch_artist=True, widths=0.6, showfliers=False,
                    medianprops={"color": "black", "lw": 1.5})
    for i, (patch, d) in enumerate(zip(bp["boxes"], data, strict=True)):
        patch.set_facecolor(colors[i])
        patch.set_alpha(0.45)
        ax.scatter(i + 1 + np.linspace(-0.15, 0.15, len(d)), d, s=9, color=colors[i],
                   zorder=3)
    ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=8)


def plot_anytime_panels(perf, path: Path, labels: list[str], *, title: str,
                        ylabel: str = "true regret (validation error above the optimum)",
                        xlabel: str = "simulated wall-clock time (s)", ncols: int = 3,
                        highlight: tuple = (), band: str = "median") -> None:
    """One panel per benchmark of :func:`hasbench.analysis.anytime_performance` output:
    median per label with its bootstrap 95% CI as a band; log time axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benches = sorted(perf["benchmark"].unique())
    nc = min(ncols, len(benches))
    nr = -(-len(benches) // nc)
    fig, axes = plt.subplots(nr, nc, figsize=(5.2 * nc, 4.0 * nr + 0.9), squeeze=False)
    for ax, b in zip(axes.ravel(), benches, strict=False):
        pb = perf[perf["benchmark"] == b]
        for i, lab in enumerate(labels):
            g = pb[pb["label"] == lab]
            if g.empty:
                continue
            lw = 2.4 if lab in highlight else 1.4
            line, = ax.plot(g["x"], g["median"], color=PALETTE[i % len(PALETTE)],
                            ls=LINESTYLES[(i // len(PALETTE)) % 4] if lab not in highlight
                            else "-", lw=lw, label=lab, drawstyle="steps-post")
            ax.fill_between(g["x"], g[f"{band}_low"], g[f"{band}_high"], step="post",
                            color=line.get_color(), alpha=0.15, linewidth=0)
        ax.set_xscale("log")
        style_regret_axis(ax, pb[["median"]].to_numpy())
        ax.set_title(b, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.25)
    for ax in axes.ravel()[len(benches):]:
        ax.set_visible(False)
    h, lab = axes.ravel()[0].get_legend_handles_labels()
    w_in, h_in = fig.get_size_inches()
    ncol = max(1, min(len(lab), int(w_in / 1.45)))
    rows = -(-len(lab) // ncol)
    fig.legend(h, lab, loc="lower center", ncol=ncol, fontsize=9, frameon=False)
    suptitle(fig, title)
    fig.tight_layout(rect=(0, min(0.4, (0.2 + 0.24 * rows) / h_in), 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
