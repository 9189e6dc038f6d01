"""Multi-fidelity optimizers beat random search at equal simulated time where the literature
says they should (Hyperband: Li et al. 2017; BOHB: Falkner et al. 2018; ASHA: Li et al.
2020 -- all at small budgets, when low fidelities rank configurations reasonably well)."""

from __future__ import annotations

import numpy as np
import pytest

from hasbench.benchmarks.synthetic import SyntheticBenchmark
from hasbench.cli.run_cmd import mean_full_cost
from hasbench.simulate import simulate

SEEDS = range(12)


def _final_incumbent(bench, name, seed, budget, workers):
    """Loss of the incumbent when the budget runs out: best at the largest fidelity
    evaluated so far (the BOHB paper's convention; a lower-fidelity loss is usually worse,
    so this never favours the multi-fidelity methods)."""
    f = simulate(bench, name, seed=seed, n_workers=workers, time_budget=budget).frame
    return float(f["incumbent"].iloc[-1])


def _compare(bench, n_full, workers=4, names=("hyperband", "bohb", "asha")):
    budget = n_full * mean_full_cost(bench) / workers
    res = {n: [_final_incumbent(bench, n, s, budget, workers) for s in SEEDS]
           for n in ("random", *names)}
    return {n: float(np.mean(v)) for n, v in res.items()}


@pytest.mark.parametrize("n_full", [10, 30])
def test_multi_fidelity_beats_random_search_synthetic(n_full):
    bench = SyntheticBenchmark("hia-cnn", seed=0)
    m = _compare(bench, n_full)
    for name in ("hyperband", "bohb", "asha"):
        assert m[name] < m["random"], m


def test_multi_fidelity_beats_random_search_shipped():
    """On the shipped surrogate, over 100 seeds (lock-step replay, a few seconds): random
    search has a heavy tail of unlucky seeds, so 12 seeds were not enough to tell the methods
    apart there (the first 12 happened to tie)."""
    from hasbench.benchmarks import load
    from hasbench.simulate import simulate_many

    try:
        bench = load("digits-hia-cnn")
    except Exception as exc:  # data not built/shipped in this checkout
        pytest.skip(f"shipped surrogate benchmark digits-hia-cnn not available: {exc}")
    budget = 10 * mean_full_cost(bench) / 4
    m = {n: float(np.mean([t.frame["incumbent"].iloc[-1] for t in
                           simulate_many(bench, n, range(100), n_workers=4,
                                         time_budget=budget)]))
         for n in ("random", "hyperband", "bohb")}
    for name in ("hyperband", "bohb"):
        assert m[name] < m["random"], m
