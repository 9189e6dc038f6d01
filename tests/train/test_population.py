"""Batched population training gives the one-at-a-time trainer's results."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hasbench.errors import InvalidValueError  # noqa: E402
from hasbench.spaces import get_space  # noqa: E402
from hasbench.tables import DEFAULT_METRICS  # noqa: E402
from hasbench.train import load_dataset, train_config  # noqa: E402
from hasbench.train.population import group_key, train_population  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    return load_dataset("digits", max_train=160, max_valid=80, max_test=80)


@pytest.mark.parametrize("min_shared", [1, 100])  # seeds split (shared minibatches) / mixed
def test_population_matches_one_at_a_time(tiny, min_shared):
    sp = get_space("hia-cnn")
    var = sp.sample(4, np.random.default_rng(2))
    arch_a = dict(sp.default(), n_conv_layers=2, n_filters=6, kernel_size=3, batch_size=32)
    arch_b = dict(sp.default(), n_conv_layers=3, n_filters=4, kernel_size=5,
                  activation="tanh", n_dense_units=20, batch_size=48)
    cfgs, seeds = [], []
    for arch in (arch_a, arch_b):
        for k, opt in enumerate(["rmsprop", "sgd", "adam"]):
            c = dict(arch, optimizer=opt, dropout_rate=0.0,
                     learning_rate=float(var[k]["learning_rate"]) ** 0.5 * 0.03)
            for s in (0, 1):
                cfgs.append(c)
                seeds.append(s)
    pop = train_population(cfgs, seeds, sp, tiny, epochs=2, device="cpu",
                           min_shared=min_shared)
    assert len({group_key(c) for c in cfgs}) == 2
    for c, s, r in zip(cfgs, seeds, pop, strict=True):
        ref = train_config(c, sp, tiny, seed=s, epochs=2, device="cpu")
        assert r.config == ref.config and r.seed == s and r.status == ref.status
        assert r.static == ref.static
        for m in DEFAULT_METRICS:
            tol = 1e-3 if m.endswith("loss") else 2.0 / 80 + 1e-9  # 2 examples
            np.testing.assert_allclose(r.metrics[m], ref.metrics[m], atol=tol, rtol=1e-3,
                                       err_msg=f"{c['optimizer']} seed {s} {m}")
        assert r.epoch_time.shape == (2,) and (r.epoch_time > 0).all()


def test_population_with_dropout_is_deterministic_and_learns(tiny):
    sp = get_space("hia-cnn")
    c = dict(sp.default(), optimizer="adam", learning_rate=3e-3, batch_size=32,
             dropout_rate=0.3)
    a = train_population([c, c], [0, 1], sp, tiny, epochs=4)
    b = train_population([c, c], [0, 1], sp, tiny, epochs=4)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.metrics["valid_acc"], y.metrics["valid_acc"])
    assert np.mean([r.metrics["valid_acc"][-1] for r in a]) > 0.3  # chance is 0.1
    no_drop = train_population([dict(c, dropout_rate=0.0)] * 2, [0, 1], sp, tiny, epochs=4)
    assert not np.array_equal(no_drop[0].metrics["train_loss"], a[0].metrics["train_loss"])


def test_population_other_space_falls_back(tiny):
    sp = get_space("nb201-joint")
    c = sp.sample(1, 0)[0]
    (r,) = train_population([c], [3], sp, tiny, epochs=1)
    ref = train_config(c, sp, tiny, seed=3, epochs=1)
    np.testing.assert_array_equal(r.metrics["valid_acc"], ref.metrics["valid_acc"])


def test_population_rejects_bad_input(tiny):
    sp = get_space("hia-cnn")
    with pytest.raises(InvalidValueError, match="seeds"):
        train_population([sp.default()], [0, 1], sp, tiny, epochs=1)
    with pytest.raises(InvalidValueError, match="max_group"):
        train_population([sp.default()], [0], sp, tiny, epochs=1, max_group=0)


@pytest.mark.gpu
def test_population_on_gpu_matches_cpu_roughly(tiny):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    sp = get_space("hia-cnn")
    c = dict(sp.default(), optimizer="adam", learning_rate=3e-3, batch_size=32,
             dropout_rate=0.0)
    g = train_population([c, c], [0, 1], sp, tiny, epochs=3, device="cuda")
    cpu = train_population([c, c], [0, 1], sp, tiny, epochs=3, device="cpu")
    for a, b in zip(g, cpu, strict=True):
        assert abs(a.metrics["valid_acc"][-1] - b.metrics["valid_acc"][-1]) < 0.1
