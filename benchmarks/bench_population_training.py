"""Batched population training vs one-at-a-time training of the same configs.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_population_training.py \
        [--groups 4] [--members 8] [--seeds 2] [--epochs 3] [--arch sampled|default] \
        [--threads 1] [--json OUT]

Workload (the use case population training serves): ``--groups`` architectures of the
``hia-cnn`` space (Sobol sample, seed 0) x ``--members`` training-hyperparameter variants
(learning rate, dropout rate, optimizer resampled; architecture and batch size kept) x
``--seeds`` seeds, each trained for ``--epochs`` epochs on ``digits`` (800 training
examples, the shipped tables' setting). Both trainers run the same (config, seed) list in
this process after a warm-up of each; the ratio is (configs/s batched) / (configs/s one at
a time), against the default one-at-a-time trainer (NCHW on the CPU, as the shipped tables
were collected) and against one at a time with ``memory_format="channels_last"`` (target
>= 3 on a 2-core CPU, >= 10 on a GPU). The agreement of the two (max absolute difference of
final valid accuracy) is printed too.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--groups", type=int, default=4)
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--arch", choices=["sampled", "default"], default="sampled",
                    help="sampled: --groups random architectures; default: every member "
                         "uses the space's default architecture and batch size (one group "
                         "per --groups, e.g. a search over training HPs with a fixed net)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--no-baseline-cl", dest="baseline_cl", action="store_false",
                    help="skip the second baseline (one at a time with channels_last)")
    a = ap.parse_args()

    import torch

    from hasbench.spaces import get_space
    from hasbench.train import load_dataset, train_config
    from hasbench.train.population import HIA_ARCH, train_population

    torch.set_num_threads(a.threads)
    sp = get_space("hia-cnn")
    ds = load_dataset("digits", max_train=800)
    archs = (sp.sample(a.groups, np.random.default_rng(0)) if a.arch == "sampled"
             else [sp.default()] * a.groups)
    var = sp.sample(a.groups * a.members, np.random.default_rng(1))
    cfgs, seeds = [], []
    for g, arch in enumerate(archs):
        for m in range(a.members):
            c = dict(var[g * a.members + m])
            c.update({h: arch[h] for h in HIA_ARCH}, batch_size=arch["batch_size"])
            for s in range(a.seeds):
                cfgs.append(c)
                seeds.append(s)
    n = len(cfgs)
    # warm-up both paths (allocator, oneDNN primitive caches)
    train_config(cfgs[0], sp, ds, seeds[0], 1, a.device)
    train_population(cfgs[:2], seeds[:2], sp, ds, 1, a.device)

    t0 = time.perf_counter()
    single = [train_config(c, sp, ds, s, a.epochs, a.device) for c, s in zip(cfgs, seeds,
                                                                             strict=True)]
    t_single = time.perf_counter() - t0
    # the stronger one-at-a-time baseline: channels_last on the CPU too (the population
    # trainer's layout; the shipped tables were collected with the default layout)
    t_cl = float("nan")
    if a.baseline_cl:
        train_config(cfgs[0], sp, ds, seeds[0], 1, a.device, memory_format="channels_last")
        t0 = time.perf_counter()
        for c, s in zip(cfgs, seeds, strict=True):
            train_config(c, sp, ds, s, a.epochs, a.device, memory_format="channels_last")
        t_cl = time.perf_counter() - t0
    t0 = time.perf_counter()
    pop = train_population(cfgs, seeds, sp, ds, a.epochs, a.device)
    t_pop = time.perf_counter() - t0
    diff = max(abs(x.metrics["valid_acc"][-1] - y.metrics["valid_acc"][-1])
               for x, y in zip(single, pop, strict=True))
    nodrop = [i for i, c in enumerate(cfgs) if c["dropout_rate"] == 0.0]
    res = {
        "runs": n, "arch": a.arch, "groups": a.groups, "members_per_group": a.members * a.seeds,
        "epochs": a.epochs, "threads": a.threads, "device": a.device,
        "one_at_a_time_s": round(t_single, 2), "population_s": round(t_pop, 2),
        "one_at_a_time_configs_per_s": round(n / t_single, 3),
        "population_configs_per_s": round(n / t_pop, 3),
        "ratio": round(t_single / t_pop, 2),
        "one_at_a_time_channels_last_s": round(t_cl, 2),
        "ratio_vs_channels_last": round(t_cl / t_pop, 2),
        "max_abs_diff_final_valid_acc": round(float(diff), 4),
        "n_without_dropout": len(nodrop),
        "machine": f"{platform.machine()} {platform.processor() or ''} "
                   f"{torch.get_num_threads()} torch threads, torch {torch.__version__}",
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    for k, v in res.items():
        print(f"{k:<32} {v}")
    print(f"population speed-up: {res['ratio']:.2f}x vs the default one-at-a-time trainer, "
          f"{res['ratio_vs_channels_last']:.2f}x vs one at a time with channels_last "
          "(target >= 3x on CPU)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=2)


if __name__ == "__main__":
    main()
