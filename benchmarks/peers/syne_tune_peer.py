"""Syne Tune 0.16 simulator backend (UserBlackboxBackend + SimulatorCallback) on a hasbench
benchmark. Run: python -m benchmarks.peers.syne_tune_peer --scheduler asha|bohb|random ...

Prints one ``RESULT {json}`` line: wall seconds, results received (one per epoch reported,
as Syne Tune reports every epoch), trials, simulated seconds reached.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile

import numpy as np

from benchmarks.peers.common import Timer, curve_of, emit, make_bench


def st_config_space(space):
    from syne_tune.config_space import choice, lograndint, loguniform, randint, uniform

    cs = {}
    fid = space.fidelity
    for n in space.names:
        if fid.in_config and n == fid.name:
            continue
        hp = space.configspace[n]
        kind = space.kind(n)
        if kind == "float":
            cs[n] = (loguniform if hp.log else uniform)(float(hp.lower), float(hp.upper))
        elif kind == "int":
            cs[n] = (lograndint if hp.log else randint)(int(hp.lower), int(hp.upper))
        else:
            cs[n] = choice(list(space.choices(n)))
    return cs


def make_blackbox(bench, seed_fixed: int | None):
    from syne_tune.blackbox_repository.blackbox import Blackbox

    space = bench.space
    fv = space.fidelity.values().astype(float)

    class HasbenchBlackbox(Blackbox):
        def __init__(self):
            super().__init__(configuration_space=st_config_space(space),
                             fidelity_space={"epoch": None},
                             objectives_names=["loss", "cum_time"])

        @property
        def fidelity_values(self):
            return fv

        def _objective_function(self, configuration, fidelity=None, seed=None):
            loss, cum = curve_of(bench, configuration, seed if seed is not None else seed_fixed)
            arr = np.column_stack([loss, cum])
            if fidelity is None:
                return arr
            f = int(fidelity["epoch"]) - 1
            return {"loss": arr[f, 0], "cum_time": arr[f, 1]}

    return HasbenchBlackbox()


def run(bench_spec: str, scheduler: str, seed: int, n_workers: int, time_budget: float):
    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.optimizer.baselines import ASHA, BOHB, RandomSearch

    bench = make_bench(bench_spec)
    bb = make_blackbox(bench, seed)
    backend = UserBlackboxBackend(blackbox=bb, elapsed_time_attr="cum_time", seed=seed)
    cs = dict(bb.configuration_space)
    max_t = int(bench.space.fidelity.upper)
    if scheduler == "asha":
        sch = ASHA(cs, metric="loss", time_attr="epoch", max_t=max_t, random_seed=seed,
                   do_minimize=True)
    elif scheduler == "bohb":
        sch = BOHB(cs, metric="loss", time_attr="epoch", max_t=max_t, random_seed=seed,
                   do_minimize=True)
    else:
        cs["epochs_max"] = max_t
        sch = RandomSearch(cs, metrics=["loss"], random_seed=seed, do_minimize=True)
    os.environ.setdefault("SYNETUNE_FOLDER", tempfile.mkdtemp(prefix="st-"))
    tuner = Tuner(trial_backend=backend, scheduler=sch,
                  stop_criterion=StoppingCriterion(max_wallclock_time=time_budget),
                  n_workers=n_workers, sleep_time=0, results_update_interval=1e9,
                  print_update_interval=1e9, callbacks=[SimulatorCallback()],
                  tuner_name=f"hasbench-{scheduler}-{seed}", save_tuner=False)
    with Timer() as t:
        tuner.run()
    df = tuner.tuning_status.get_dataframe() if hasattr(tuner.tuning_status,
                                                         "get_dataframe") else None
    n_results = int(tuner.tuning_status.overall_metric_statistics.count) \
        if hasattr(tuner.tuning_status, "overall_metric_statistics") else -1
    n_trials = int(tuner.tuning_status.num_trials_started)
    emit({"peer": f"syne-tune-0.16-{scheduler}", "seed": seed, "wall": t.seconds,
          "results": n_results, "trials": n_trials,
          "best": float(df["loss"].min()) if df is not None and "loss" in df else None})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--benchmark", default="synthetic:hia-cnn")
    ap.add_argument("--scheduler", choices=["asha", "bohb", "random"], required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--time-budget", type=float, required=True)
    a = ap.parse_args()
    run(a.benchmark, a.scheduler, a.seed, a.workers, a.time_budget)


if __name__ == "__main__":
    main()
