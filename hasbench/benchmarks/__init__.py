"""Benchmarks: one query API over run tables and surrogates.

>>> import hasbench
>>> bench = hasbench.load("digits-hia-cnn")               # doctest: +SKIP
>>> bench.query(configs, fidelity=9, seed=0)              # doctest: +SKIP
"""

from .base import Benchmark, maximize, to_loss
from .registry import KINDS, data_dir, list_benchmarks, load
from .surrogate import SurrogateBenchmark
from .tabular import ConfigNotInTableError, TabularBenchmark

__all__ = ["Benchmark", "maximize", "to_loss", "KINDS", "data_dir", "list_benchmarks", "load",
           "SurrogateBenchmark", "TabularBenchmark", "ConfigNotInTableError"]
