"""Sparse over-parameterisation (SOP, Liu, Zhu, Qu & You 2022): label noise as a sparse
correction to the logits, learned per training sample beside the network.

The variant implemented here works in logit space, as on the seed slide: the loss of sample i
is CE(f(x_i) + s_i, y_i) with s_i = u_i^2 e_{y_i} - v_i o v_i o (1 - e_{y_i}). u_i (a scalar)
can only raise the logit of the given label, v_i (a K-vector) can only lower the others, as in
Liu et al. u, v start at N(0, init_std^2) entries and are trained by SGD without momentum or
weight decay at their own fixed learning rates, through the package's training loop
(`train(..., per_sample=SOP)`). The MSE consistency term of the paper is not included.
Like u o u - v o v in the linear model (hadamard.py), the products have a sparse implicit bias:
s_i stays near 0 where the network fits the label by itself, so ||s_i|| flags the corrupted
samples (scored by `roc_auc`).
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn
from torch.nn import functional as F

from .. import models
from ..train import train


class SOP(nn.Module):
    """Per-sample corrections s_i = u_i^2 e_{y_i} - v_i o v_i o (1 - e_{y_i}) added to the logits
    of sample i before the cross-entropy. Pass it as `train(..., per_sample=SOP(...))`."""

    def __init__(
        self,
        num_samples: int,
        num_classes: int,
        *,
        lr_u: float = 100.0,
        lr_v: float = 100.0,
        init_std: float = 1e-4,
        generator=None,
    ):
        super().__init__()
        self.u = nn.Parameter(init_std * torch.randn(num_samples, generator=generator))
        self.v = nn.Parameter(init_std * torch.randn(num_samples, num_classes, generator=generator))
        self.lr_u, self.lr_v, self.init_std = lr_u, lr_v, init_std

    def corrections(self, labels: torch.Tensor, idx: torch.Tensor | None = None) -> torch.Tensor:
        """s_i for the samples `idx` (all when None) with their (noisy) training labels."""
        u, v = (self.u, self.v) if idx is None else (self.u[idx], self.v[idx])
        onehot = F.one_hot(labels, self.v.shape[1]).to(v.dtype)
        return (u * u)[:, None] * onehot - v * v * (1 - onehot)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, idx: torch.Tensor):
        return F.cross_entropy(logits + self.corrections(labels, idx), labels)

    def settings(self) -> dict:
        """What defines these parameters beyond their values: `train.train` saves it in each
        checkpoint and refuses to resume a run whose settings differ."""
        return {"lr_u": self.lr_u, "lr_v": self.lr_v, "init_std": self.init_std}

    def param_groups(self) -> list[dict]:
        """SGD groups with their own learning rates, no momentum, no weight decay."""
        return [
            {"params": [self.u], "lr": self.lr_u, "momentum": 0.0, "weight_decay": 0.0},
            {"params": [self.v], "lr": self.lr_v, "momentum": 0.0, "weight_decay": 0.0},
        ]

    @torch.no_grad()
    def scores(self, labels: torch.Tensor) -> torch.Tensor:
        """||s_i||: large for the samples whose label the network could not fit by itself."""
        return self.corrections(labels.to(self.u.device)).norm(dim=1).cpu()


def roc_auc(scores, positives) -> float:
    """Area under the ROC curve: the probability that a random positive (corrupted) sample
    scores above a random negative one, ties counted half (the Mann-Whitney statistic)."""
    scores = torch.as_tensor(scores, dtype=torch.float64)
    positives = torch.as_tensor(positives, dtype=torch.bool)
    pos, neg = scores[positives], scores[~positives]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).double().mean()
    ties = (pos[:, None] == neg[None, :]).double().mean()
    return (greater + 0.5 * ties).item()


def build_network(config, train_set) -> nn.Module:
    """The lecture's network from the course's factory: an MLP of `config.depth` hidden layers
    of `config.width`, or `config.model` 'resnet18' at its own widths."""
    sizes = {"width": config.width, "depth": config.depth} if config.model == "mlp" else {}
    in_shape = tuple(train_set.x.shape[1:])
    return models.build(config.model, in_shape, train_set.num_classes, **sizes)


def memorisation_probe(train_set, noisy, corrupted, device):
    """An `on_epoch` for `train.train`: with the network's own predictions (without s), the
    fraction of corrupted labels it reproduces ('memorised'), of all noisy labels it agrees with
    ('fits_noisy'), and of the clean samples it classifies right ('clean_train_acc')."""
    x_train = replace(train_set, y=noisy).to(device)
    clean_labels, corrupted = train_set.y.to(device), corrupted.to(device)

    @torch.no_grad()
    def on_epoch(epoch, net):
        net.eval()
        predictions = torch.cat(
            [
                net(x_train.inputs(x_train.x[i : i + 1024])).argmax(1)
                for i in range(0, len(x_train), 1024)
            ]
        )
        net.train()
        agrees = predictions == x_train.y
        memorised = agrees[corrupted].float().mean().item() if corrupted.any() else 0.0
        return {
            "memorised": memorised,
            "fits_noisy": agrees.float().mean().item(),
            "clean_train_acc": (predictions == clean_labels)[~corrupted].float().mean().item(),
        }

    return on_epoch


def train_with_noise(
    train_set,
    test_set,
    noisy,
    corrupted,
    *,
    method: str,
    config,
    seed: int = 0,
    device="cpu",
    progress=None,
    checkpoint_dir=None,
):
    """Train the lecture's network (`build_network(config, ...)`) on `train_set` with labels
    `noisy` by plain cross-entropy (method 'ce') or with SOP ('sop', at the config's
    `sop_lr_u`, `sop_lr_v`, `sop_init_std`); per epoch, record test accuracy and the
    `memorisation_probe`. With `checkpoint_dir`, the run writes checkpoints there and resumes
    from them (a finished run is read back, not retrained). Returns (history, model, sop or
    None)."""
    torch.manual_seed(seed)
    model = build_network(config, train_set).to(device)
    sop = None
    if method == "sop":
        sop = SOP(
            len(train_set),
            train_set.num_classes,
            lr_u=config.sop_lr_u,
            lr_v=config.sop_lr_v,
            init_std=config.sop_init_std,
            generator=torch.Generator().manual_seed(seed + 1),
        )
    history = train(
        model,
        replace(train_set, y=noisy),
        config.train,
        test_data=test_set,
        per_sample=sop,
        on_epoch=memorisation_probe(train_set, noisy, corrupted, device),
        seed=seed,
        progress=progress,
        checkpoint_dir=checkpoint_dir,
        resume=checkpoint_dir is not None,
    )
    return history, model, sop
