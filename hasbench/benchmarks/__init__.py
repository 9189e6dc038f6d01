"""Benchmarks: one query API over run tables and surrogates."""

from .base import Benchmark, maximize, to_loss

__all__ = ["Benchmark", "maximize", "to_loss"]
