"""Worker processes that die with their parent (issue 19 item 5).

``hasbench run --processes N`` and ``hasbench collect --workers N`` start spawn-context
process pools. A pool worker does not notice on its own that its parent is gone: after a
SIGKILL of the parent, workers (and the ``multiprocessing`` resource tracker, which waits for
them) kept running and writing traces. Two mechanisms, both set up by :func:`child_init`, the
pool initializer:

- **Linux**: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (through ``ctypes``): the kernel kills the
  worker the moment the parent thread that started it ends, however the parent ends.
- **Everywhere**: a daemon thread polls ``os.getppid()`` every ``poll_s`` seconds and ends
  the worker with ``os._exit`` once the parent pid changed (the worker was re-parented).

The parent itself, interrupted (SIGINT -> ``KeyboardInterrupt``, or any exception), kills its
workers with :func:`kill_pool` instead of waiting for their running tasks to finish.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["child_init", "die_with_parent", "kill_pool", "killing_pool_on_error",
           "worker_initargs"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _set_pdeathsig(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent_pid: int, poll_s: float = 0.5) -> None:
    """Make this process end when ``parent_pid`` (its parent) ends (module docstring)."""
    _set_pdeathsig(signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)

    def watch():
        import time

        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="hasbench-parent-watch", daemon=True).start()


def child_init(parent_pid: int, payload: bytes) -> None:
    """Pool initializer: :func:`die_with_parent`, then the real initializer. Pass
    ``initializer=child_init, initargs=worker_initargs(real_init, *real_args)``.

    The real initializer and its arguments travel pickled (``payload``) and are unpickled
    only after the parent watch is armed: unpickling them imports torch or a benchmark,
    seconds during which a worker of a killed parent would otherwise live on."""
    die_with_parent(parent_pid)
    import pickle

    init, args = pickle.loads(payload)
    if init is not None:
        init(*args)


def worker_initargs(init: Callable[..., Any] | None, *args: Any) -> tuple[int, bytes]:
    """``initargs`` for :func:`child_init`: this process's pid and ``(init, args)``
    pickled."""
    import pickle

    return os.getpid(), pickle.dumps((init, args), protocol=pickle.HIGHEST_PROTOCOL)


def kill_pool(pool: Any) -> None:
    """End a ``ProcessPoolExecutor`` now: SIGKILL its workers, cancel pending work, do not
    wait for running tasks (their results are dropped, as they would be in a crash)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        with contextlib.suppress(Exception):
            p.kill()
    with contextlib.suppress(Exception):
        pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(5)


@contextlib.contextmanager
def killing_pool_on_error(pool: Any):
    """``with`` block that :func:`kill_pool`\\ s ``pool`` when the block raises (a
    ``KeyboardInterrupt`` included) instead of letting its shutdown wait for running tasks."""
    try:
        yield pool
    except BaseException:
        kill_pool(pool)
        raise
