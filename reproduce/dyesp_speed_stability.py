"""DyESP (Liu et al. 2025): faster and more stable than random search, TPE, BO, Hyperband,
BOHB, ASHA and DEHB on almost all benchmarks; and its three components each help.

Claim (docs/specs/dyesp.md, section 1; only the abstract could be read, so the paper gives
no numbers here): DyESP beats existing methods in **speed** and **stability** "on almost all"
of various benchmarks. The spec's metrics (section 4, [we choose]): speed = simulated time
until the true regret is at most a target; stability = spread of the final regret over
seeds and the fraction of seeds reaching the target. Ablations (spec section 3):
``no_pruner``, ``fixed_eps``, ``no_feedback``.

What this script does, on every shipped benchmark (``<dataset>-<space>`` surrogates):
replays DyESP, its three ablations and the seven baselines, ``SEEDS`` seeds each,
``WORKERS`` simulated workers (spec: 4), ``BUDGET_FE`` full-fidelity evaluations of compute
(``hasbench run --budget Nfe``). Metric: true regret of the incumbent
(``hasbench.results.load_traces``); time to target, spread and fraction reached from
``hasbench.analysis`` (``time_to_target_summary``, ``stability``; censored seeds count as
never reaching it).

Verdicts (our operationalisation; the paper gives no threshold):

* **speed**: DyESP's median time to ``TARGET`` (true regret <= 0.01, one point of validation
  error above the optimum, our choice; the spec's example "within 0.5%" is tabulated as
  ``STRICT_TARGET`` but rarely reached within our budget) is at most every baseline's;
* **stability**: the standard deviation of DyESP's final true regret over seeds is at most
  every baseline's (IQR and fraction reached printed beside it);
* the claim holds on a benchmark when both do, and overall when it holds on all but at most
  ``ALLOWED_MISSES`` benchmark ("almost all", our reading);
* **ablation** ``X``: the component helps when full DyESP's median time to target is lower
  than DyESP with ``X`` (ties: not lower).

Usage: ``python reproduce/dyesp_speed_stability.py [--quick] [--out DIR]`` or ``hasbench
reproduce dyesp_speed_stability [--quick]``. Output: ``results.md``, ``anytime.png``,
``ablations.png``, ``final_regret.png`` (values: ``final_regret.csv``),
``time_to_target.csv``, ``stability.csv``, ``claim.json`` in ``reproduce/out/dyesp_speed_stability/``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# ---------------------------------------------------------------- configuration
BENCHMARKS = None          # None: every shipped <dataset>-<space> surrogate
QUICK_BENCHMARKS = ["digits-hia-cnn"]
SEEDS = 10                 # per optimizer and benchmark [our choice: CPU time; spec: 20]
QUICK_SEEDS = 3
WORKERS = 4                # simulated workers (spec: 4)
BUDGET_FE = 50             # full-fidelity evaluations of compute per replay [our choice]
QUICK_BUDGET_FE = 20
TARGET = 0.01              # true regret target of "speed" [our choice]
STRICT_TARGET = 0.005      # the spec's example ("within 0.5%"), tabulated only
ALLOWED_MISSES = 1         # "almost all": all benchmarks but this many [our choice]
BASELINES = ["random", "tpe", "bo", "hyperband", "bohb", "asha", "dehb"]
ABLATIONS = ["no_pruner", "fixed_eps", "no_feedback"]
N_BOOTSTRAP = 1000
OUT = Path(__file__).resolve().parent / "out" / "dyesp_speed_stability"


def runs() -> dict:
    r = {"dyesp": ("dyesp", {})}
    r.update({b: (b, {}) for b in BASELINES})
    r.update({f"dyesp ({x})": ("dyesp", {x: True}) for x in ABLATIONS})
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="one benchmark, 3 seeds, 20fe (CI)")
    ap.add_argument("--out", default=str(OUT), help="output folder (default %(default)s)")
    a = ap.parse_args(argv)

    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from _common import (
        boxes,
        budget_seconds,
        fmt_time,
        header,
        plot_anytime_panels,
        replay,
        shipped,
        style_regret_axis,
        suptitle,
        verdict,
        write_claim,
    )

    import hasbench
    from hasbench.analysis import (
        anytime_performance,
        final_values,
        stability,
        time_to_target_summary,
    )

    out = Path(a.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    benches = QUICK_BENCHMARKS if a.quick else (BENCHMARKS or shipped())
    n_seeds = QUICK_SEEDS if a.quick else SEEDS
    fe = QUICK_BUDGET_FE if a.quick else BUDGET_FE
    nb = 200 if a.quick else N_BOOTSTRAP
    t0 = time.perf_counter()
    frames, budgets, walls = [], {}, {}
    for name in benches:
        bench = hasbench.load(name)
        T = budget_seconds(bench, fe, WORKERS)
        budgets[name] = T
        print(f"{name}: replaying {n_seeds} seeds x {len(runs())} optimizers, {WORKERS} "
              f"workers, {fe}fe = {T:.4g} simulated s", flush=True)
        df, _, wall = replay(bench, runs(), range(n_seeds), workers=WORKERS, time_budget=T)
        frames.append(df)
        walls[name] = wall
    df = pd.concat(frames, ignore_index=True)
    ttt = time_to_target_summary(df, TARGET, n_resamples=nb)
    ttt_s = time_to_target_summary(df, STRICT_TARGET, n_resamples=nb)
    st = stability(df, target=TARGET)
    ttt.to_csv(out / "time_to_target.csv", index=False)
    st.to_csv(out / "stability.csv", index=False)

    # ---- figures
    perfs = [anytime_performance(df[df["benchmark"] == b],
                                 np.geomspace(0.01 * budgets[b], budgets[b], 60),
                                 n_resamples=nb) for b in benches]
    perf = pd.concat(perfs, ignore_index=True)
    main_labels = ["dyesp", *BASELINES]
    plot_anytime_panels(perf, out / "anytime.png", main_labels, highlight=("dyesp",),
                        title=f"DyESP vs baselines: median true regret over {n_seeds} seeds "
                              f"(band: bootstrap 95% CI), {WORKERS} workers, {fe} "
                              "full-fidelity evaluations of compute")
    plot_anytime_panels(perf, out / "ablations.png",
                        ["dyesp", *[f"dyesp ({x})" for x in ABLATIONS]], highlight=("dyesp",),
                        title=f"DyESP ablations: median true regret over {n_seeds} seeds "
                              "(band: bootstrap 95% CI)")
    fv = final_values(df)
    fv.to_csv(out / "final_regret.csv", index=False)
    labels_all = main_labels + [f"dyesp ({x})" for x in ABLATIONS]
    fig, axes = plt.subplots(len(benches), 1, figsize=(10, 3.3 * len(benches) + 0.6),
                             squeeze=False)
    for ax, name in zip(axes[:, 0], benches, strict=True):
        f = fv[fv["benchmark"] == name]
        data = [f.loc[f["label"] == lb, "value"].to_numpy() for lb in labels_all]
        boxes(ax, data, [lb.replace(" (", "\n(") for lb in labels_all])
        ax.axhline(TARGET, color="k", ls="--", lw=0.9, label=f"target {TARGET:g}")
        style_regret_axis(ax, np.concatenate(data + [[TARGET]]))
        ax.set_ylabel("final true regret\n(validation error)")
        ax.set_title(name, fontsize=10)
        ax.grid(True, axis="y", which="both", alpha=0.25)
        ax.legend(fontsize=8, loc="upper right")
    suptitle(fig, f"Final true regret per seed ({n_seeds} seeds, {fe} full-fidelity "
                  "evaluations of compute): spread = stability")
    # keep the top 0.6 in for the title (tight_layout alone let it overlap the first panel)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.6 / fig.get_figheight()))
    fig.savefig(out / "final_regret.png", dpi=120)
    plt.close(fig)

    # ---- tables and verdicts
    lines = header("DyESP: speed and stability vs seven optimizers, and ablations", a.quick)
    lines += [f"Replays: {n_seeds} seeds per optimizer, {WORKERS} simulated workers, budget "
              f"{fe} full-fidelity evaluations of compute (per benchmark: "
              + ", ".join(f"{b} {t:.4g} s" for b, t in budgets.items()) + "). Speed: median "
              f"simulated time until true regret <= {TARGET:g} [bootstrap 95% CI; 'never' "
              "when half the seeds or more do not reach it]; stability: std / IQR of the "
              f"final true regret over seeds, fraction of seeds reaching {TARGET:g} (and the "
              f"spec's example {STRICT_TARGET:g}). Paper: DyESP faster and more stable on "
              "almost all benchmarks (qualitative; numbers not retrieved).", ""]
    n_hold, abl_rows = 0, []
    for name in benches:
        tb = ttt[ttt["benchmark"] == name].set_index("label")
        tbs = ttt_s[ttt_s["benchmark"] == name].set_index("label")
        sb = st[st["benchmark"] == name].set_index("label")
        lines += [f"## {name}", "", "| optimizer | median time to target [95% CI] | reached "
                  f"{TARGET:g} | reached {STRICT_TARGET:g} | final regret median | std | IQR "
                  "| replay wall s |", "|---|---|---|---|---|---|---|---|"]
        for lb in labels_all:
            t, s = tb.loc[lb], sb.loc[lb]
            lines.append(f"| {lb} | {fmt_time(t['time_to_target'])} [{fmt_time(t['low'])}, "
                         f"{fmt_time(t['high'])}] | {t['fraction_reached']:.0%} | "
                         f"{tbs.loc[lb, 'fraction_reached']:.0%} | {s['median']:.4f} | "
                         f"{s['std']:.4f} | {s['iqr']:.4f} | {walls[name][lb]:.1f} |")
        d_t = float(tb.loc["dyesp", "time_to_target"])
        best_t = min(float(tb.loc[b, "time_to_target"]) for b in BASELINES)
        fastest_b = min(BASELINES, key=lambda b: float(tb.loc[b, "time_to_target"]))
        speed = math.isfinite(d_t) and d_t <= best_t
        d_s = float(sb.loc["dyesp", "std"])
        best_s = min(float(sb.loc[b, "std"]) for b in BASELINES)
        stablest = min(BASELINES, key=lambda b: float(sb.loc[b, "std"]))
        stab = d_s <= best_s
        holds = speed and stab
        n_hold += holds
        lines += ["", f"Speed: DyESP {fmt_time(d_t)} vs fastest baseline {fastest_b} "
                  f"{fmt_time(best_t)} -> {'yes' if speed else 'no'}. Stability: std DyESP "
                  f"{d_s:.4f} vs lowest baseline {stablest} {best_s:.4f} -> "
                  f"{'yes' if stab else 'no'}. **Claim {'holds' if holds else 'does not hold'}"
                  f"** on {name}.", ""]
        print(verdict(name, f"median time to regret <= {TARGET:g}: DyESP {fmt_time(d_t)} "
                      f"vs fastest baseline {fastest_b} {fmt_time(best_t)} (speed "
                      f"{'yes' if speed else 'no'}); std of final regret DyESP {d_s:.4f} vs "
                      f"lowest {stablest} {best_s:.4f} (stability {'yes' if stab else 'no'}); "
                      f"DyESP reached the target in {tb.loc['dyesp', 'fraction_reached']:.0%} "
                      "of seeds; paper: faster and more stable (qualitative)", holds),
              flush=True)
        for x in ABLATIONS:
            lb = f"dyesp ({x})"
            a_t = float(tb.loc[lb, "time_to_target"])
            helps = math.isfinite(d_t) and d_t < a_t
            abl_rows.append(f"| {name} | {x} | {fmt_time(d_t)} | {fmt_time(a_t)} | "
                            f"{sb.loc['dyesp', 'median']:.4f} / {sb.loc[lb, 'median']:.4f} | "
                            f"{d_s:.4f} / {float(sb.loc[lb, 'std']):.4f} | "
                            f"{'**yes**' if helps else '**no**'} |")
            print(verdict(f"{name} (ablation {x})", f"median time to target full DyESP "
                          f"{fmt_time(d_t)} vs {x} {fmt_time(a_t)}; final regret median "
                          f"{sb.loc['dyesp', 'median']:.4f} vs {sb.loc[lb, 'median']:.4f}; "
                          "claim: the component helps", helps), flush=True)
    lines += ["## Ablations", "", "The component helps when full DyESP's median time to "
              "target is lower than without it.", "", "| benchmark | ablation | DyESP time "
              "to target | ablated | final regret median (DyESP / ablated) | std (DyESP / "
              "ablated) | helps |", "|---|---|---|---|---|---|---|", *abl_rows]
    wall = time.perf_counter() - t0
    lines += ["", "Figures: `anytime.png` (DyESP and the seven baselines), `ablations.png`, "
              "`final_regret.png` (per-seed final true regret); tables: "
              "`time_to_target.csv`, `stability.csv`.", f"Wall time {wall:.0f} s."]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    nbn = len(benches)
    holds_all = n_hold >= nbn - (ALLOWED_MISSES if nbn > 1 else 0)
    n_help = sum("**yes**" in r for r in abl_rows)
    summary = (f"faster and more stable than all seven on {n_hold} of {nbn} benchmarks; "
               f"components help in {n_help} of {len(abl_rows)} ablations")
    write_claim(out, claim="Liu et al. 2025 (DyESP): faster and more stable than RS, TPE, "
                "BO, HB, BOHB, ASHA, DEHB on almost all benchmarks",
                paper="qualitative (numbers not retrieved)", ours=summary,
                holds="yes" if holds_all else ("partly" if n_hold else "no"),
                quick=a.quick, wall=wall)
    print(verdict("overall", summary, holds_all))
    print(f"wrote {out / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
