"""Collection: CLI end to end, resume after SIGKILL, held-out exclusion, CSV, Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from hasbench.errors import InvalidValueError  # noqa: E402
from hasbench.spaces import get_space  # noqa: E402
from hasbench.tables import RunTable  # noqa: E402
from hasbench.train.collect import collect, make_configs, search_id  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--max-train-examples", "120", "--max-valid-examples", "60", "--max-test-examples",
         "60"]
SMALL_KW = dict(max_train=120, max_valid=60, max_test=60)


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    return env


def _cli(*args, check=True, **kw):
    p = subprocess.run([sys.executable, "-m", "hasbench", *args], cwd=REPO, env=_env(),
                       capture_output=True, text=True, timeout=300, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def _runs(path):
    t = RunTable.read(path)
    out = {}
    for r in range(t.n_runs):
        key = (t.config_ids[t.run_config[r]], int(t.run_seed[r]))
        out[key] = {m: t.curve(m)[r] for m in t.metrics} | {"status": t.run_status[r]}
    return t, out


def _same_runs(a, b):
    assert set(a) == set(b)
    for k in a:
        for m, v in a[k].items():
            if m == "status":
                assert v == b[k][m]
            else:
                np.testing.assert_array_equal(v, b[k][m], err_msg=f"{k} {m}")


def test_cli_collect_end_to_end_and_table_info(tmp_path, capsys):
    from hasbench.cli import main

    out = tmp_path / "t.h5"
    p = _cli("collect", "--space", "hia-cnn", "--dataset", "digits", "--n-configs", "3",
             "--seeds", "2", "--epochs", "3", "--out", str(out), *SMALL)
    assert "trained 6 runs" in p.stdout
    assert "run" in p.stderr  # tqdm progress on stderr
    assert main(["table", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["runs"] == 6 and info["configs"] == 3 and info["max_epochs"] == 3
    t = RunTable.read(out)
    assert all(c["epochs"] == 3 for c in t.configs)  # in-config fidelity = trained length
    assert "hasbench collect" in t.provenance["command"]
    # rerun (in-process this time): nothing retrained
    assert main(["collect", "--space", "hia-cnn", "--dataset", "digits", "--n-configs", "3",
                 "--seeds", "2", "--epochs", "3", "--out", str(out), "--no-progress",
                 *SMALL]) == 0
    assert "trained 0 runs, skipped 6" in capsys.readouterr().out
    # bad input: exit code 2 with the parameter named
    assert main(["collect", "--space", "hia-cnn", "--epochs", "99", "--out", str(out)]) == 2
    assert "epochs" in capsys.readouterr().err


def test_kill_and_resume_equals_uninterrupted(tmp_path, sigkill_when):
    args = dict(n_configs=5, seeds=2, epochs=3, sample_seed=3, **SMALL_KW)
    ref = tmp_path / "ref.h5"
    collect("hia-cnn", ref, progress=False, **args)
    out = tmp_path / "killed.h5"
    cmd = [sys.executable, "-m", "hasbench", "collect", "--space", "hia-cnn", "--n-configs",
           "5", "--seeds", "2", "--epochs", "3", "--sample-seed", "3", "--out", str(out),
           "--no-progress", *SMALL]
    sigkill_when(cmd, lambda: out.exists() and RunTable.read(out).n_runs >= 2, cwd=REPO,
                 env=_env(), poll=0.02)
    n_after = RunTable.read(out).n_runs
    assert 2 <= n_after < 10, "the kill must land midway"
    p = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert f"skipped {n_after}" in p.stdout
    _, a = _runs(ref)
    _, b = _runs(out)
    _same_runs(a, b)


def test_exclude_makes_heldout_disjoint(tmp_path):
    main = tmp_path / "main.h5"
    collect("hia-cnn", main, n_configs=3, seeds=1, epochs=1, progress=False, **SMALL_KW)
    sp = get_space("hia-cnn")
    main_ids = {search_id(sp, c) for c in RunTable.read(main).configs}
    # the same sampler and seed would repeat the main configs; --exclude replaces them
    held = make_configs(sp, 4, "sobol", 0, epochs=1, exclude=main)
    assert len(held) == 4 and not {search_id(sp, c) for c in held} & main_ids
    same = make_configs(sp, 4, "sobol", 0, epochs=1)
    assert {search_id(sp, c) for c in same[:3]} == main_ids
    assert make_configs(sp, 4, "sobol", 0, epochs=1, exclude=main) == held  # deterministic
    with pytest.raises(InvalidValueError, match="exclude"):
        make_configs(get_space("zela2018"), 2, exclude=main)


def test_csv_sampler_and_random(tmp_path):
    import pandas as pd

    sp = get_space("zela2018")
    cfgs = sp.sample(2, 5)
    pd.DataFrame(cfgs).to_csv(tmp_path / "c.csv", index=False)
    got = make_configs(sp, 5, f"csv:{tmp_path / 'c.csv'}")
    assert [sp.canonicalize(c) for c in cfgs] == got
    r1 = make_configs("hia-cnn", 3, "random", 1)
    assert r1 == make_configs("hia-cnn", 3, "random", 1) != make_configs("hia-cnn", 3,
                                                                         "random", 2)
    with pytest.raises(InvalidValueError, match="sampler"):
        make_configs("hia-cnn", 3, "grid")


@pytest.mark.slow
def test_two_worker_processes_match_one(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    kw = dict(n_configs=2, seeds=2, epochs=2, sample_seed=4, progress=False, **SMALL_KW)
    collect("hia-cnn", a, workers=1, **kw)
    s = collect("hia-cnn", b, workers=2, **kw)
    assert s["trained"] == 4 and s["failed"] == 0
    _same_runs(_runs(a)[1], _runs(b)[1])


@pytest.mark.ray
def test_ray_executor_local_instance(tmp_path):
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        a, b = tmp_path / "ray.h5", tmp_path / "local.h5"
        kw = dict(n_configs=2, seeds=2, epochs=2, sample_seed=5, progress=False, **SMALL_KW)
        s = collect("hia-cnn", a, executor="ray", workers=1, **kw)
        assert s["trained"] == 4 and s["failed"] == 0
        assert ray.is_initialized()  # an instance the caller started is left running
    finally:
        ray.shutdown()
    collect("hia-cnn", b, **kw)
    _same_runs(_runs(a)[1], _runs(b)[1])


@pytest.mark.gpu
def test_collect_on_gpu(tmp_path):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    s = collect("hia-cnn", tmp_path / "g.h5", n_configs=2, seeds=1, epochs=2, device="cuda",
                progress=False, **SMALL_KW)
    assert s["trained"] == 2 and RunTable.read(tmp_path / "g.h5").provenance["device"] == "cuda"


def test_batched_collection_matches_one_at_a_time(tmp_path, capsys):
    from hasbench.cli import main

    a, b = tmp_path / "single.h5", tmp_path / "batched.h5"
    sp = get_space("hia-cnn")
    base = dict(sp.default(), dropout_rate=0.0, batch_size=32, n_filters=6)
    cfgs = [dict(base, learning_rate=lr, optimizer=o)
            for lr, o in ((1e-3, "adam"), (0.05, "sgd"), (3e-3, "rmsprop"))]
    import pandas as pd

    pd.DataFrame(cfgs).to_csv(tmp_path / "c.csv", index=False)
    common = ["collect", "--space", "hia-cnn", "--sampler", f"csv:{tmp_path / 'c.csv'}",
              "--n-configs", "3", "--seeds", "2", "--epochs", "2", "--no-progress", *SMALL]
    assert main([*common, "--out", str(a)]) == 0
    assert main([*common, "--out", str(b), "--batched", "--max-group", "4"]) == 0
    assert "trained 6 runs" in capsys.readouterr().out
    ta, ra = _runs(a)
    tb, rb = _runs(b)
    assert set(ra) == set(rb)
    for k in ra:
        np.testing.assert_allclose(ra[k]["valid_acc"], rb[k]["valid_acc"], atol=2 / 60 + 1e-9)
        np.testing.assert_allclose(ra[k]["train_loss"], rb[k]["train_loss"], rtol=1e-3,
                                   atol=1e-3)
    assert "batched" in tb.provenance["trainer"]


def test_lock_refuses_a_second_writer_and_takes_over_stale_locks(tmp_path):
    import socket

    out = tmp_path / "t.h5"
    lock = tmp_path / "t.h5.lock"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(f"{sleeper.pid} {socket.gethostname()}")
        with pytest.raises(InvalidValueError, match="lock"):
            collect("hia-cnn", out, n_configs=1, seeds=1, epochs=1, progress=False, **SMALL_KW)
        assert not out.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    # the holder is gone: the stale lock is taken over and released at the end
    s = collect("hia-cnn", out, n_configs=1, seeds=1, epochs=1, progress=False, **SMALL_KW)
    assert s["trained"] == 1 and not lock.exists()
