"""zela2018 training with ``memory_format="channels_last"`` on the CPU (issue 21 item 2).

torch 2.13's oneDNN kernel for the weight gradient of a strided 1x1 convolution on an NHWC CPU
tensor with fewer than 7 input channels (AVX2 code path) writes past its output buffer: under
one thread the process aborted ("corrupted size vs. prev_size"), under two the same seed gave
a different loss each run. The training runs in subprocesses here, so an abort fails the test
instead of killing pytest. ``ONEDNN_MAX_CPU_ISA=AVX2`` selects the AVX2 kernels on AVX-512
machines too (the AVX2 machine of the report picks them by default; the variable is an upper
bound, so on a CPU without AVX2 it changes nothing and the determinism checks still run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from hasbench.spaces import get_space  # noqa: E402
from hasbench.train.models import build_model  # noqa: E402

# stage 1 width round(8 * 0.75) = 6 -> stage 2 (16 wide) starts with a stride-2 1x1 shortcut
# from 6 channels on 8x8 digits: the shape that hit the faulty kernel
CFG = dict(get_space("zela2018").default(), initial_filters=8, widen_factor_1=0.75,
           batch_size=65)

SCRIPT = """
import json, sys
from hasbench.spaces import get_space
from hasbench.train import load_dataset, train_config
ds = load_dataset("digits", max_train=130, max_valid=40, max_test=40)
cfg = json.loads(sys.argv[1])
sp = get_space("zela2018")
r = train_config(cfg, sp, ds, seed=3, epochs=2, device="cpu", memory_format=sys.argv[2])
print(json.dumps([float(v) for v in r.metrics["train_loss"]] +
                 [float(v) for v in r.metrics["valid_loss"]]))
"""


def _train(threads: int, memory_format: str = "channels_last") -> list[float]:
    # passive OpenMP waits: two spinning threads on a busy 2-core machine take minutes
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), ONEDNN_MAX_CPU_ISA="AVX2",
               OMP_WAIT_POLICY="PASSIVE")
    p = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(CFG), memory_format],
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, (f"training subprocess ({threads} thread(s)) exited "
                               f"{p.returncode}: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_config_has_the_strided_pointwise_shortcut():
    m = build_model("zela2018", CFG, (1, 8, 8), 10)
    convs = [c for c in m.modules() if isinstance(c, torch.nn.Conv2d) and c.kernel_size == (1, 1)
             and c.stride == (2, 2) and c.in_channels < 7]
    assert convs, "the test config no longer exercises a strided 1x1 conv with < 7 channels"


_FIRST: dict[int, list[float]] = {}


@pytest.mark.parametrize("threads", [1, 2])
def test_channels_last_zela_runs_and_is_deterministic(threads):
    a = _FIRST[threads] = _train(threads)
    b = _train(threads)
    assert a == b  # exactly: same seed, same thread count, same machine


def test_channels_last_matches_nchw_curves():
    # the layout is a speed choice only: same initialisation, data order, dropout and
    # augmentation; the summation order differs (3.7e-4 after two epochs was seen)
    from hasbench.train import load_dataset, train_config

    cl = _FIRST.get(1) or _train(1)
    ds = load_dataset("digits", max_train=130, max_valid=40, max_test=40)
    r = train_config(CFG, "zela2018", ds, seed=3, epochs=2, device="cpu", num_threads=1,
                     memory_format="contiguous")  # NCHW never takes the faulty kernel
    nchw = [float(v) for m in ("train_loss", "valid_loss") for v in r.metrics[m]]
    assert cl == pytest.approx(nchw, rel=1e-3, abs=1e-3)


@pytest.mark.parametrize("cin", [2, 6, 9])
def test_pointwise_conv_is_the_strided_conv(cin):
    from hasbench.train.models import _PointwiseConv

    torch.manual_seed(0)
    conv = _PointwiseConv(cin, 5, 2)
    ref = torch.nn.Conv2d(cin, 5, 1, 2, 0, bias=False)
    ref.weight.data.copy_(conv.weight.data)
    assert conv.state_dict().keys() == ref.state_dict().keys()
    x0 = torch.randn(4, cin, 7, 8)
    # NCHW input: exactly the plain strided convolution
    assert torch.equal(conv(x0), ref(x0))
    # channels_last input (subsampled path) against the NCHW reference, values and gradients
    x = x0.clone(memory_format=torch.channels_last).requires_grad_()
    xr = x0.clone().requires_grad_()
    y, yr = conv(x), ref(xr)
    assert y.shape == yr.shape == (4, 5, 4, 4)
    torch.testing.assert_close(y, yr)
    g = torch.randn(yr.shape)
    y.backward(g)
    yr.backward(g)
    torch.testing.assert_close(x.grad, xr.grad)
    torch.testing.assert_close(conv.weight.grad, ref.weight.grad)
