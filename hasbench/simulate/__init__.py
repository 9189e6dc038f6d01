"""Simulated-time replay of optimizers on benchmarks (discrete-event, asynchronous).

>>> from hasbench.benchmarks.synthetic import SyntheticBenchmark
>>> from hasbench.simulate import simulate
>>> trace = simulate(SyntheticBenchmark("hia-cnn"), "hyperband", seed=0, n_workers=4,
...                  time_budget=3600.0)
>>> trace.frame[["end", "fidelity", "loss", "incumbent"]].tail(1)  # doctest: +SKIP
"""

from .engine import make_optimizer, simulate, simulate_many
from .replay import replay_many, resolve_benchmark
from .trace import Trace

__all__ = ["simulate", "simulate_many", "make_optimizer", "replay_many", "resolve_benchmark", "Trace"]
