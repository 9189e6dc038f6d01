"""Issue 21 item 5: hasbench's errors survive a trip through pickle (worker processes send
exceptions back to the parent that way), and optimizer options are checked in the parent
before any process starts."""

from __future__ import annotations

import importlib
import pickle
import subprocess
import sys

import pytest

import hasbench.errors as errors


def _all_error_classes() -> list[type]:
    # modules that define further subclasses (imported so __subclasses__ sees them)
    for mod in ("hasbench.surrogates.model", "hasbench.benchmarks.tabular",
                "hasbench.train.datasets"):
        try:
            importlib.import_module(mod)
        except ImportError:  # pragma: no cover - optional extra missing
            pass
    seen, todo = [], [errors.HasbenchError]
    while todo:
        c = todo.pop()
        if c not in seen:
            seen.append(c)
            todo.extend(c.__subclasses__())
    return seen


def _instance(cls: type) -> Exception:
    if cls is errors.HasbenchError:
        return cls("plain message")
    return cls("learning_rate", 7.5, "a float in [0.0001, 0.1]", "somewhere",
               hint="a hint")


def test_every_error_class_is_covered():
    names = {c.__name__ for c in _all_error_classes()}
    # every class named in errors.__all__ is one of them
    assert {n for n in errors.__all__ if n[0].isupper()} <= names
    assert {"SurrogateHashError", "ConfigNotInTableError"} <= names


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__name__)
def test_error_pickle_round_trip(cls):
    exc = _instance(cls)
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is cls
    assert str(back) == str(exc)
    assert back.args == exc.args
    for attr in ("parameter", "value", "allowed", "where", "hint"):
        assert getattr(back, attr, None) == getattr(exc, attr, None)
    assert isinstance(back, errors.HasbenchError)


def test_unpicklable_value_still_round_trips():
    exc = errors.InvalidValueError("callback", lambda x: x, "a picklable thing")
    back = pickle.loads(pickle.dumps(exc))
    assert str(back) == str(exc) and back.parameter == "callback"
    assert isinstance(back.value, str)  # replaced by its repr


def test_error_crosses_a_process_pool():
    """The exception a worker raises reaches the parent as itself, not BrokenProcessPool."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        fut = pool.submit(errors.check_float, "random_fraction", "abc", 0.0, 1.0, "BOHB")
        with pytest.raises(errors.InvalidValueError, match="random_fraction") as ei:
            fut.result(timeout=120)
    assert ei.value.parameter == "random_fraction" and ei.value.value == "abc"


def hb(*args):
    return subprocess.run([sys.executable, "-m", "hasbench", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("opt, words", [
    ("random_fraction=abc", ["--opt random_fraction", "'abc'"]),
    ("etaa=3", ["--opt", "'etaa'", "random_fraction", "eta"]),
])
def test_run_checks_options_in_the_parent(tmp_path, opt, words):
    out = tmp_path / "r"
    p = hb("run", "--benchmark", "synthetic:hia-cnn", "--optimizer", "bohb", "--seeds", "0-1",
           "--budget", "100s", "--processes", "2", "--out", str(out), "--opt", opt,
           "--no-progress")
    assert p.returncode == 2, p.stderr
    assert "BrokenProcessPool" not in p.stderr and "terminated abruptly" not in p.stderr
    assert "Traceback" not in p.stderr
    for w in words:
        assert w in p.stderr, p.stderr
    assert not out.exists()  # nothing written before the check
