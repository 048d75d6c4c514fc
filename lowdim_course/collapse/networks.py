"""The networks of the lecture: how they are built (`models.build`, with the feature dimension d
as a parameter), how their classifier is fixed to a simplex ETF, how they are trained
(`train.train`, with the settings of Zhu et al. 2021 for the full profile), and how neural
collapse is measured on them while they train (the per-epoch NC hook, the start of the terminal
phase of training).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .. import data as datasets
from .. import models
from ..train import TrainConfig, features, train
from .geometry import class_mean_cosines, nc_metrics, simplex_etf

MODELS = ("mlp", "resnet18")

QUICK_TRAIN = TrainConfig(
    epochs=100,
    batch_size=128,
    lr=0.1,
    momentum=0.9,
    weight_decay=5e-3,  # stronger than the papers' 5e-4: the quick run has 100 epochs to collapse
    schedule="step",
    milestones=(0.4, 0.7),
)
# Zhu et al. (2021), as in their code's arguments: SGD lr 0.05, momentum 0.9, weight decay
# 5e-4, batch 128, 200 epochs, lr x 0.2 every 40 epochs, no data augmentation.
FULL_TRAIN = TrainConfig(
    epochs=200,
    batch_size=128,
    lr=0.05,
    momentum=0.9,
    weight_decay=5e-4,
    schedule="step",
    milestones=(0.2, 0.4, 0.6, 0.8),
    gamma=0.2,
    checkpoint_every=10,
)


@dataclass(frozen=True)
class NetworkConfig:
    """What `train_network` reads, shared by the configs of the network experiments."""

    dataset: str = "digits"  # 'digits' (quick) | 'cifar10' | 'mnist'
    model: str = "mlp"  # 'mlp' | 'resnet18'
    width: int = 256  # MLP hidden width
    depth: int = 3  # MLP hidden layers
    train: TrainConfig = field(default_factory=lambda: QUICK_TRAIN)
    metrics_every: int = 2  # epochs between NC measurements once the training error is 0
    metrics_samples: int = 10000  # training samples the NC metrics use (digits: all 1347)
    threads: int = 1  # torch CPU threads during the run (0: unchanged)

    @classmethod
    def quick(cls):
        return cls()


def build_model(
    model: str,
    train_data: datasets.ArrayData,
    *,
    width: int = 256,
    depth: int = 3,
    feature_dim: int | None = None,
) -> nn.Module:
    """An MLP (`depth` hidden layers of `width`, BatchNorm) or a ResNet18 (its own widths) for
    `train_data`, whose features have `feature_dim` dimensions (None: the model's own, `width`
    or 512).

    MLP: the last hidden layer gets `feature_dim` units. ResNet18: the second 3x3 convolution
    of the last basic block maps 512 channels to `feature_dim` (with a 1x1 projection on the
    shortcut), as in Zhu et al. 2021 (see `models.build`).
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    # width and depth size the MLP; ResNet18 keeps its own widths (the configs' width is 256).
    sizes = {"width": width, "depth": depth} if model == "mlp" else {}
    return models.build(
        model,
        tuple(train_data.x.shape[1:]),
        train_data.num_classes,
        **sizes,
        batchnorm=True,
        feature_dim=feature_dim or None,
    )


def fix_classifier(net: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """Replace the learned classifier by a fixed simplex ETF (no bias, not trained).

    For d > K features the ETF is a random orthogonal embedding (`simplex_etf` with
    `generator`) in all d coordinates, so every feature channel feeds the logits and gets a
    gradient, as with the fixed classifiers of Hoffer et al. (2018) and Zhu et al. (2021); in
    the first K coordinates, the other d - K channels would be read by nothing. For d = K the
    canonical frame already uses every coordinate, and its columns e_k - 1/K suit non-negative
    (ReLU) features: class k reads its own channel. Without a generator, always canonical."""
    d, K = net.classifier.in_features, net.classifier.out_features
    weight = simplex_etf(K, d, generator if d > K else None).T.float()  # (K, d), unit rows
    net.classifier = nn.Linear(d, K, bias=False).to(net.classifier.weight.device)
    with torch.no_grad():
        net.classifier.weight.copy_(weight)
    net.classifier.weight.requires_grad_(False)  # SGD skips parameters without gradients
    return net


def network_nc(net: nn.Module, data: datasets.ArrayData) -> dict:
    """nc_metrics of the network's penultimate features of `data` and its classifier."""
    h = features(net, data)
    bias = net.classifier.bias
    bias = None if bias is None else bias.detach().cpu()
    return nc_metrics(h, data.y.cpu(), net.classifier.weight.cpu(), bias, data.num_classes)


def network_cosines(net: nn.Module, data: datasets.ArrayData) -> torch.Tensor:
    """Cosines between the centred class means of the network's features of `data`: (K, K)."""
    return class_mean_cosines(features(net, data), data.y.cpu(), data.num_classes)


def nc_probe(config: NetworkConfig, train_data: datasets.ArrayData) -> datasets.ArrayData:
    """The training samples the NC metrics use: the first `config.metrics_samples`."""
    return train_data.subset(slice(0, config.metrics_samples))


def nc_hook(probe: datasets.ArrayData, every: int, last: int):
    """on_epoch hook for `train`: nc_metrics on `probe` every epoch until the training accuracy
    (eval mode, on `probe`) first reaches 100%, so that the start of the terminal phase is
    found exactly; after that every `every` epochs and at epoch `last`."""
    interpolated = False

    def on_epoch(epoch, net):
        nonlocal interpolated
        if interpolated and epoch % every and epoch != last:
            return None
        measured = network_nc(net, probe)
        interpolated = interpolated or measured["accuracy"] == 1.0
        return measured

    return on_epoch


def nc_epochs(history: list[dict]) -> list[dict]:
    """The records of a training history on which `nc_hook` measured the NC metrics."""
    return [r for r in history if "nc1" in r]


def terminal_phase(history: list[dict]) -> dict:
    """Where the terminal phase of training starts and what NC1 does over it.

    `tpt_epoch`: the first measured epoch whose (eval-mode) training accuracy is 100%, None if
    training never got there; `nc1_at_tpt`: NC1 at that epoch (None likewise); `nc1_final`: NC1
    at the last measured epoch.
    """
    measured = nc_epochs(history)
    start = next((r for r in measured if r.get("accuracy") == 1.0), None)
    return {
        "tpt_epoch": None if start is None else start["epoch"],
        "nc1_at_tpt": None if start is None else start["nc1"],
        "nc1_final": measured[-1]["nc1"],
    }


def checkpoint_subdir(checkpoint_dir: Path | str | None, name: str) -> Path | None:
    """The checkpoint folder of one of an experiment's trainings (None: no checkpoints)."""
    return None if checkpoint_dir is None else Path(checkpoint_dir) / name


def train_network(
    config: NetworkConfig,
    train_data: datasets.ArrayData,
    *,
    test_data: datasets.ArrayData | None = None,
    on_epoch=None,
    feature_dim: int | None = None,
    fixed: bool = False,
    loss_fn=None,
    device="cpu",
    seed: int = 0,
    progress: bool | None = None,
    checkpoint_dir: Path | str | None = None,
) -> tuple[nn.Module, list[dict]]:
    """Build `config.model` (`config.width`, `config.depth`, `feature_dim`) from `seed`, fix
    its classifier to a simplex ETF if `fixed`, and train it with `train.train` on
    `config.train`; returns (model, history).

    `on_epoch` defaults to `nc_hook` on the config's `metrics_samples` and `metrics_every`; a
    config without them (any with `model`, `width`, `depth` and `train`) needs an `on_epoch`.
    With `checkpoint_dir`, training resumes from the checkpoint there.
    """
    torch.manual_seed(seed)  # the initial weights
    net = build_model(
        config.model, train_data, width=config.width, depth=config.depth, feature_dim=feature_dim
    )
    if fixed:
        fix_classifier(net, torch.Generator().manual_seed(seed))
    net = net.to(device)
    if on_epoch is None:
        on_epoch = nc_hook(nc_probe(config, train_data), config.metrics_every, config.train.epochs)
    history = train(
        net,
        train_data.to(device),
        config.train,
        test_data=None if test_data is None else test_data.to(device),
        loss_fn=loss_fn,
        on_epoch=on_epoch,
        seed=seed,
        checkpoint_dir=checkpoint_dir,
        resume=checkpoint_dir is not None,
        progress=progress,
    )
    return net, history
