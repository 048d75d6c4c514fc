"""What the lecture's experiments share: the data set a config names, the network of a config's
sizes (from `models.build`), and one `train.train` run per condition, each checkpointed in its
own folder."""

from __future__ import annotations

from torch import nn

from .. import data, models
from ..train import train


def load_dataset(name: str):
    """(train, test): the digits shipped with scikit-learn, or a named data set."""
    return data.load_digits() if name == "digits" else data.load(name)


def build_network(kind: str, in_shape, num_classes: int, *, width: int, depth: int) -> nn.Module:
    """`models.build(kind, ...)` with a config's sizes: for 'mlp' the hidden units and layers,
    for 'wrn' the widen factor and the depth 6n + 4; 'resnet18' keeps its own widths (the
    configs' width counts MLP units)."""
    if kind == "resnet18":
        return models.build(kind, in_shape, num_classes)
    return models.build(kind, in_shape, num_classes, width=width, depth=depth)


def fit(
    model, train_set, test_set, schedule, *, seed, progress, checkpoint_dir, run_name, on_epoch=None
) -> list[dict]:
    """`train.train` with one checkpoint folder per run (`checkpoint_dir/run_name`), resumed
    when it exists (a finished run is read back, not retrained)."""
    folder = None if checkpoint_dir is None else f"{checkpoint_dir}/{run_name}"
    return train(
        model,
        train_set,
        schedule,
        test_data=test_set,
        on_epoch=on_epoch,
        seed=seed,
        progress=progress,
        checkpoint_dir=folder,
        resume=folder is not None,
    )
