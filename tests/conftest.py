"""Shared pytest fixtures and settings."""

from __future__ import annotations

import os
from pathlib import Path

# The suite must pass whatever thread count the machine offers (issue 20 item 12: the
# README's command, run without OMP_NUM_THREADS, failed where .ci/run's OMP_NUM_THREADS=1
# passed). hasbench's answers are row-wise and its replays do not depend on BLAS threads;
# what still does (XGBoost/BLAS reductions in fitting, torch CPU kernels) is pinned here,
# for this process (threadpoolctl; torch reads OMP_NUM_THREADS when first imported) and
# for the subprocesses tests start (the environment, unless the user set it). See README, "Design rules".
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
try:
    from threadpoolctl import threadpool_limits

    _LIMITS = threadpool_limits(1)
except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
    _LIMITS = None

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from hasbench.surrogates import CurveSurrogate  # noqa: E402
from hasbench.surrogates.testing import write_synthetic_table  # noqa: E402

settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """../shared/data (or $HASBENCH_SHARED_DATA) when present, else None."""
    env = os.environ.get("HASBENCH_SHARED_DATA")
    cand = Path(env) if env else REPO.parent / "shared" / "data"
    return cand if cand.is_dir() else None


@pytest.fixture
def shared_data() -> Path:
    d = shared_data_dir()
    if d is None:
        pytest.skip("shared data not available (set HASBENCH_SHARED_DATA or place ../shared/data)")
    return d


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(skip_gpu)


# A small synthetic hia-cnn run table and a small XGBoost surrogate on it, shared by the
# benchmark and surrogate tests (built once per session).
SMALL_XGB = {"n_estimators": 40, "max_depth": 5, "learning_rate": 0.15,
             "std": {"n_estimators": 20}, "time": {"n_estimators": 40, "learning_rate": 0.15},
             "static": {"n_estimators": 30}}


@pytest.fixture(scope="session")
def syn_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("tables") / "syn.h5"
    return write_synthetic_table(path, "hia-cnn", n_configs=60, seeds=(0, 1), rng=0)


@pytest.fixture(scope="session")
def syn_surrogate(syn_table, tmp_path_factory):
    sur = CurveSurrogate("xgb", params=SMALL_XGB, n_jobs=1).fit(syn_table)
    sur.save(tmp_path_factory.mktemp("sur") / "syn.surrogate")
    return sur


@pytest.fixture
def sigkill_when():
    """``sigkill_when(cmd, ready, cwd=, env=)``: start ``cmd`` (output discarded), poll
    ``ready()`` every ``poll`` s until it is true (an exception counts as not yet: a file
    may be mid-replace), the process exits or ``timeout`` s pass, then SIGKILL it and reap
    it. The kill-and-resume tests of collect and retime share it."""
    import signal
    import subprocess
    import time

    def run(cmd, ready, *, cwd, env, timeout: float = 120.0, poll: float = 0.01) -> None:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + timeout
            while time.time() < deadline and proc.poll() is None:
                try:
                    if ready():
                        break
                except Exception:  # noqa: BLE001 - not readable yet; retry
                    pass
                time.sleep(poll)
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()

    return run
