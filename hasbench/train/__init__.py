"""Real training (needs the ``train`` extra, i.e. torch): datasets, models, the one-config
trainer, batched population training and resumable collection of run tables.

Importing this package imports torch."""

from .datasets import Dataset, download, list_datasets, load_dataset, read_idx
from .models import build_model, count_flops, static_metrics
from .trainer import SUPPORTED_SPACES, resolve_device, train_config


def collect(*args, **kwargs):
    """See :func:`hasbench.train.collect.collect`."""
    from .collect import collect as _collect

    return _collect(*args, **kwargs)


__all__ = ["Dataset", "download", "list_datasets", "load_dataset", "read_idx", "build_model",
           "count_flops", "static_metrics", "SUPPORTED_SPACES", "resolve_device",
           "train_config", "collect"]
