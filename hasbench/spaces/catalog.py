"""The search spaces hasbench ships, and the registry that names them."""

from __future__ import annotations

from collections.abc import Callable

import ConfigSpace as CS

from .base import Fidelity, Space

__all__ = ["get_space", "list_spaces", "register_space", "hia_cnn", "zela2018", "nb201_joint"]

_F = CS.UniformFloatHyperparameter
_I = CS.UniformIntegerHyperparameter
_C = CS.CategoricalHyperparameter
_O = CS.OrdinalHyperparameter


def _cs(name: str, hps: list) -> CS.ConfigurationSpace:
    cs = CS.ConfigurationSpace(name=name)
    cs.add(hps)
    return cs


def hia_cnn() -> Space:
    """``hia-cnn``: the 10 CNN hyperparameters of the grouped-sequential HIA paper.

    Wang, Nabney, Golbabaee, "Efficient Hyperparameter Importance Assessment for CNNs"
    (arXiv 2410.08920) and the grouped sequential optimisation paper (arXiv 2503.05106).
    The top five names and their ranking (n_conv_layers > learning_rate > dropout_rate >
    optimizer > epochs) are the paper's. The papers' tables of ranges were not available, so
    every range and hyperparameters 6-10 are hasbench's choice, scaled so the nets train in
    about a second on 8x8 ``digits`` images on one CPU core:

    - ``n_conv_layers`` 1-5; conv layers keep the spatial size (``same`` padding), a 2x2
      max-pool follows conv layers 1 and 2 only (8x8 -> 2x2 at most).
    - ``n_filters`` 4-64 (log; the paper-like 16-128 would cost ~10x more), the same for all
      conv layers; ``n_dense_units`` 16-256 (log).
    - ``epochs`` 1-27: doubles as the training-length fidelity (``in_config=True``): a
      config's result is its curve read at its own ``epochs``. The learning rate is constant
      (no schedule tied to the total), so one 27-epoch curve answers every shorter value.
    - Ranks 6-10 (batch_size, n_filters, kernel_size, activation, n_dense_units) are not
      from the paper; their order in ``metadata['importance_rank']`` is a placeholder.

    ``metadata['importance_weights']`` is ``None``: the paper's weights were not published in
    what we could read; compute them with :mod:`hasbench.analysis` on a run table.
    """
    order = ["n_conv_layers", "learning_rate", "dropout_rate", "optimizer", "epochs",
             "batch_size", "n_filters", "kernel_size", "activation", "n_dense_units"]
    cs = _cs("hia-cnn", [
        _I("n_conv_layers", 1, 5, default_value=2, meta={"help": "number of conv layers"}),
        _F("learning_rate", 1e-4, 1e-1, log=True, default_value=1e-2,
           meta={"help": "constant learning rate"}),
        _F("dropout_rate", 0.0, 0.5, default_value=0.1, meta={"help": "dropout before the "
                                                                "dense layers"}),
        _C("optimizer", ["sgd", "adam", "rmsprop"], default_value="adam",
           meta={"help": "SGD uses momentum 0.9"}),
        _I("epochs", 1, 27, default_value=27, meta={"help": "training epochs (also the "
                                                     "fidelity)"}),
        _I("batch_size", 16, 256, log=True, default_value=64),
        _I("n_filters", 4, 64, log=True, default_value=16, meta={"help": "channels of every "
                                                                  "conv layer"}),
        _O("kernel_size", [3, 5], default_value=3),
        _C("activation", ["relu", "tanh", "elu"], default_value="relu"),
        _I("n_dense_units", 16, 256, log=True, default_value=64),
    ])
    meta = {
        "source": "Wang, Nabney, Golbabaee 2024/2025 (arXiv 2410.08920, 2503.05106)",
        "importance_rank": list(order),
        "importance_rank_verified": order[:5],
        "importance_weights": None,
        "groups": {
            "architecture": ["n_conv_layers", "n_filters", "kernel_size", "activation",
                             "n_dense_units"],
            "training": ["learning_rate", "dropout_rate", "optimizer", "epochs", "batch_size"],
        },
        "schedule": "constant learning rate; no schedule depends on the number of epochs",
    }
    return Space("hia-cnn", "1.0", cs, [Fidelity("epochs", 1, 27, True, False, in_config=True)],
                 order=order, metadata=meta,
                 description="10 CNN hyperparameters of the HIA papers, importance-ranked; "
                             "'epochs' doubles as the fidelity.")


def zela2018() -> Space:
    """``zela2018``: the 17-dimensional joint space of Zela et al. 2018 (ICML AutoML WS).

    Names, types and log flags are those of the official EfficientNAS code (3 stages of
    Shake-Shake residual blocks, ShakeDrop, cutout, mixup, SGD with momentum). Ranges of the
    architecture and cutout are scaled down so nets train on 8x8-28x28 images on a CPU
    (hasbench's choice; the paper's CIFAR-10 ranges are in ``metadata['paper_ranges']``):

    - ``nr_residual_blocks_{1,2,3}`` 1-4 (paper 1-16), log;
    - ``initial_filters`` 4-16 (paper 8-32), log;
    - ``res_branches_{1,2,3}`` 1-3 (paper 1-5);
    - ``length`` (cutout side, px) 0-5 (paper 0-20 on 32 px images, scaled by 8/32);
    - everything else as in the paper.

    The fidelity is training ``epochs`` 1-27 (the paper budgets wall-clock seconds; run
    tables store cumulative runtime, so a time fidelity can be derived). The paper's
    cosine-with-restarts schedule driven by wall-clock time is replaced by a constant learning
    rate so one curve answers every shorter budget.
    """
    arch = [
        _I("nr_residual_blocks_1", 1, 4, log=True, default_value=2),
        _I("nr_residual_blocks_2", 1, 4, log=True, default_value=2),
        _I("nr_residual_blocks_3", 1, 4, log=True, default_value=2),
        _I("initial_filters", 4, 16, log=True, default_value=8),
        _F("widen_factor_1", 0.5, 8.0, log=True, default_value=2.0),
        _F("widen_factor_2", 0.5, 4.0, log=True, default_value=1.0),
        _F("widen_factor_3", 0.5, 4.0, log=True, default_value=1.0),
        _I("res_branches_1", 1, 3, default_value=2),
        _I("res_branches_2", 1, 3, default_value=2),
        _I("res_branches_3", 1, 3, default_value=2),
    ]
    train = [
        _F("learning_rate", 1e-3, 1.0, log=True, default_value=0.05),
        _I("batch_size", 32, 128, log=True, default_value=64),
        _F("weight_decay", 1e-5, 1e-3, log=True, default_value=1e-4),
        _F("momentum", 1e-3, 0.99, default_value=0.9),
        _F("alpha", 0.0, 1.0, default_value=0.2, meta={"help": "mixup alpha"}),
        _I("length", 0, 5, default_value=2, meta={"help": "cutout patch side in pixels"}),
        _F("death_rate", 0.0, 1.0, default_value=0.2, meta={"help": "ShakeDrop death rate"}),
    ]
    order = [h.name for h in arch + train]
    meta = {
        "source": "Zela, Klein, Falkner, Hutter 2018, arXiv 1807.06906; EfficientNAS code",
        "groups": {"architecture": [h.name for h in arch], "training": [h.name for h in train]},
        "paper_ranges": {"nr_residual_blocks_*": [1, 16], "initial_filters": [8, 32],
                         "res_branches_*": [1, 5], "length": [0, 20]},
        "paper_budgets_seconds": [400, 1200, 3600, 10800],
    }
    return Space("zela2018", "1.0", _cs("zela2018", arch + train),
                 [Fidelity("epochs", 1, 27, True, False)], order=order, metadata=meta,
                 description="17-D joint ResNet (Shake-Shake) + training space of Zela et al. "
                             "2018, scaled for small images.")


NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def nb201_joint() -> Space:
    """``nb201-joint``: the JAHS-Bench-201 joint space (Bansal et al. 2022).

    Six NAS-Bench-201 cell edges ``Op1``..``Op6`` (index into
    ``metadata['ops'] = none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3``;
    JAHS encodes the same five operations as integers), cell repeats ``N`` in {1, 3, 5},
    width ``W`` in {4, 8, 16}, input ``Resolution`` in {0.25, 0.5, 1.0}, ``LearningRate``
    [1e-3, 1] log, ``WeightDecay`` [1e-5, 1e-2] log, ``Activation`` in {ReLU, Hardswish,
    Mish}, ``TrivialAugment`` on/off, ``Optimizer`` fixed to SGD. Names follow JAHS so
    configs can be exchanged. Fidelity: ``epochs`` 1-200 (JAHS also uses N, W and Resolution
    as fidelities; here they are ordinary hyperparameters).
    """
    ops = [_C(f"Op{i}", list(range(5)), default_value=3) for i in range(1, 7)]
    rest = [
        _O("N", [1, 3, 5], default_value=5),
        _O("W", [4, 8, 16], default_value=16),
        _O("Resolution", [0.25, 0.5, 1.0], default_value=1.0),
        _F("LearningRate", 1e-3, 1.0, log=True, default_value=0.1),
        _F("WeightDecay", 1e-5, 1e-2, log=True, default_value=5e-4),
        _C("Activation", ["ReLU", "Hardswish", "Mish"], default_value="ReLU"),
        _C("TrivialAugment", [True, False], default_value=False),
        CS.Constant("Optimizer", "SGD"),
    ]
    order = [h.name for h in ops + rest]
    meta = {
        "source": "Bansal, Stoll, Janowski, Zela, Hutter 2022 (JAHS-Bench-201)",
        "ops": NB201_OPS,
        "groups": {"architecture": [f"Op{i}" for i in range(1, 7)] + ["N", "W"],
                   "training": ["Resolution", "LearningRate", "WeightDecay", "Activation",
                                "TrivialAugment", "Optimizer"]},
    }
    return Space("nb201-joint", "1.0", _cs("nb201-joint", ops + rest),
                 [Fidelity("epochs", 1, 200, True, False)], order=order, metadata=meta,
                 description="JAHS-Bench-201 joint NAS-Bench-201 cell + training space.")


_REGISTRY: dict[str, Callable[[], Space]] = {
    "hia-cnn": hia_cnn,
    "zela2018": zela2018,
    "nb201-joint": nb201_joint,
}
_CACHE: dict[str, Space] = {}


def register_space(name: str, factory: Callable[[], Space]) -> None:
    """Register a user space under ``name`` (a zero-argument factory returning a Space)."""
    _REGISTRY[name] = factory
    _CACHE.pop(name, None)


def list_spaces() -> list[str]:
    """Names of all registered spaces."""
    return sorted(_REGISTRY)


def get_space(name: str) -> Space:
    """The registered space called ``name`` (``hia-cnn``, ``zela2018``, ``nb201-joint``)."""
    if isinstance(name, Space):
        return name
    if name not in _REGISTRY:
        # accept underscores for hyphens, as in 'hia_cnn'
        alt = str(name).replace("_", "-")
        if alt in _REGISTRY:
            name = alt
        else:
            from ..errors import check_choice

            check_choice("space", name, list_spaces(), "get_space", unknown=True)
    if name not in _CACHE:
        _CACHE[name] = _REGISTRY[name]()
    return _CACHE[name]

