"""Shared pieces of the peer adapters: the benchmark and a result record."""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def make_bench(spec: str):
    from hasbench.simulate import resolve_benchmark

    return resolve_benchmark(spec)


def curve_of(bench, cfg: dict, seed: int | None):
    """Full learning curve (loss, cum_time) over all integer fidelities of one config."""
    sp = bench.space
    fid = sp.fidelity
    full = dict(cfg)
    for n, v in full.items():  # Syne Tune's KDE can step just outside integer bounds
        if sp.kind(n) in ("int", "float"):
            hp = sp.configspace[n]
            v = min(max(v, hp.lower), hp.upper)
            full[n] = int(round(v)) if sp.kind(n) == "int" else float(v)
    if fid.in_config and fid.name in sp.names:
        full[fid.name] = int(fid.upper)
    X = sp.encode([full], validate=False)
    c = bench.curve(X, seed=seed, metrics=[bench.objective, bench.clock_metric])
    loss = bench.to_loss(bench.objective, c[bench.objective][0])
    return loss, c[bench.clock_metric][0]


def emit(record: dict) -> None:
    """Print one JSON line (what bench_replay.py parses)."""
    print("RESULT " + json.dumps(record), flush=True)
    sys.stdout.flush()


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0


__all__ = ["make_bench", "curve_of", "emit", "Timer", "np"]
