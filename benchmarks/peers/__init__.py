"""Adapters running peer libraries (Syne Tune 0.16, HpBandSter 0.7.4, Optuna) on hasbench
benchmarks, for benchmarks/bench_replay.py only. Never imported by the hasbench package."""
