"""Sparse over-parameterisation (SOP, Liu, Zhu, Qu & You 2022): label noise as a sparse
correction s_i, learned per training sample beside the network, with s_i = u_i^2 y_i -
v_i o v_i o (1 - y_i) (y_i the one-hot noisy label, u_i a scalar, v_i a K-vector).

`SOP` is the paper's formulation, as its authors' code implements it (github.com/shengliu66/SOP,
`overparametrization_loss`; written here from their description, not copied). The correction
acts on the *probabilities*: with p_i = softmax(f(x_i)) and U = min(u_i^2, 1) y_i,
V = min(v_i o v_i, 1) o (1 - y_i) (both clamped to [0, 1]),

    p~_i = normalise_1(max(p_i + U - V, eps)),
    loss_i = CE(p~_i, y_i) + ||onehot(argmax f(x_i)) + U - V - y_i||^2.

The two terms train different variables. The cross-entropy, with V held fixed (detached),
trains the network and u; the squared error, with the network's hard prediction and U held
fixed, trains v only. So v_ik (k != y_i) grows only where the network predicts class k instead
of the given label: its target is v_ik^2 -> 1 there and 0 elsewhere, a sparse correction by
construction. (The authors' released code leaves U attached in the squared error, so there u
also feels that term; we follow the split as described, u by the cross-entropy alone, and have
not measured the difference.) u, v
start at N(0, init_std^2) entries and are trained by SGD without momentum or weight decay at
their own fixed learning rates, through the package's training loop
(`train(..., per_sample=SOP)`). The published CIFAR results (SOP+) add a consistency term
between two augmented views and a class-balance term; neither is included.

`LogitSOP` is the slide's simpler reading, kept as a named comparison: s_i added to the logits,
CE(f(x_i) + s_i, y_i), u and v both trained by that cross-entropy alone. There the gradient on
v_ik is 2 v_ik p~_ik: every v_ik grows, at a rate set by the probability the network gives
class k, so sparsity is no longer built in and ||s_i|| measures the cross-entropy a sample has
accumulated over training. It still flags the corrupted samples (their loss stays high), for a
different reason than the Hadamard implicit bias.

Like u o u - v o v in the linear model (hadamard.py), the products start tiny and grow
multiplicatively only where a residual persists, so ||s_i|| flags the corrupted samples
(scored by `roc_auc`).
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn
from torch.nn import functional as F

from .. import models
from ..train import train


class _PerSample(nn.Module):
    """u (N,) and v (N, K) with their own SGD learning rates, no momentum, no weight decay."""

    def __init__(
        self,
        num_samples: int,
        num_classes: int,
        *,
        lr_u: float,
        lr_v: float,
        init_std: float,
        generator=None,
    ):
        super().__init__()
        self.u = nn.Parameter(init_std * torch.randn(num_samples, generator=generator))
        self.v = nn.Parameter(init_std * torch.randn(num_samples, num_classes, generator=generator))
        self.lr_u, self.lr_v, self.init_std = lr_u, lr_v, init_std

    def _uv(self, idx):
        return (self.u, self.v) if idx is None else (self.u[idx], self.v[idx])

    def settings(self) -> dict:
        """What defines these parameters beyond their values: `train.train` saves it in each
        checkpoint and refuses to resume a run whose settings differ."""
        return {"kind": type(self).__name__, "lr_u": self.lr_u, "lr_v": self.lr_v,
                "init_std": self.init_std}  # fmt: skip

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


class SOP(_PerSample):
    """The paper's SOP: s_i = min(u_i^2, 1) y_i - min(v_i o v_i, 1) o (1 - y_i) added to the
    softmax probabilities, renormalised, under the cross-entropy (which trains the network and
    u, v held fixed), plus the squared error between onehot(argmax f) + s_i and y_i (which
    trains v only). Pass it as `train(..., per_sample=SOP(...))`."""

    eps = 1e-4  # floor of the corrected probabilities, as in the authors' code

    def __init__(self, num_samples, num_classes, *, lr_u=1.0, lr_v=10.0, init_std=1e-8,
                 generator=None):  # fmt: skip
        super().__init__(num_samples, num_classes, lr_u=lr_u, lr_v=lr_v, init_std=init_std,
                         generator=generator)  # fmt: skip

    def parts(self, labels: torch.Tensor, idx: torch.Tensor | None = None):
        """(U, V): min(u^2, 1) on the label's entry and min(v^2, 1) on the others."""
        u, v = self._uv(idx)
        onehot = F.one_hot(labels, self.v.shape[1]).to(v.dtype)
        return (u * u).clamp(max=1.0)[:, None] * onehot, (v * v).clamp(max=1.0) * (1 - onehot)

    def corrections(self, labels: torch.Tensor, idx: torch.Tensor | None = None) -> torch.Tensor:
        """s_i = U - V for the samples `idx` (all when None) with their (noisy) labels."""
        big_u, big_v = self.parts(labels, idx)
        return big_u - big_v

    def corrected_probabilities(self, logits, labels, idx):
        """p~ = normalise_1(max(softmax(logits) + U - V, eps)), V detached (not trained by the
        cross-entropy)."""
        big_u, big_v = self.parts(labels, idx)
        p = torch.softmax(logits, dim=1) + big_u - big_v.detach()
        p = p.clamp(min=self.eps)
        return (p / p.sum(1, keepdim=True)).clamp(min=self.eps, max=1.0)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, idx: torch.Tensor):
        p = self.corrected_probabilities(logits, labels, idx)
        cross_entropy = -p.gather(1, labels[:, None]).log().mean()
        big_u, big_v = self.parts(labels, idx)
        onehot = F.one_hot(labels, self.v.shape[1]).to(big_v.dtype)
        hard = F.one_hot(logits.detach().argmax(1), self.v.shape[1]).to(big_v.dtype)
        squared = ((hard + big_u.detach() - big_v - onehot) ** 2).sum(1).mean()
        return cross_entropy + squared


class LogitSOP(_PerSample):
    """The logit-space comparison: s_i = u_i^2 e_{y_i} - v_i o v_i o (1 - e_{y_i}) added to the
    logits, CE(f(x_i) + s_i, y_i) training the network, u and v; no clamp, no squared-error
    term."""

    def __init__(self, num_samples, num_classes, *, lr_u=100.0, lr_v=100.0, init_std=1e-4,
                 generator=None):  # fmt: skip
        super().__init__(num_samples, num_classes, lr_u=lr_u, lr_v=lr_v, init_std=init_std,
                         generator=generator)  # fmt: skip

    def corrections(self, labels: torch.Tensor, idx: torch.Tensor | None = None) -> torch.Tensor:
        """s_i for the samples `idx` (all when None) with their (noisy) training labels."""
        u, v = self._uv(idx)
        onehot = F.one_hot(labels, self.v.shape[1]).to(v.dtype)
        return (u * u)[:, None] * onehot - v * v * (1 - onehot)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, idx: torch.Tensor):
        return F.cross_entropy(logits + self.corrections(labels, idx), labels)


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
    `noisy` by plain cross-entropy (method 'ce'), with the paper's SOP ('sop') or with the
    logit-space comparison ('sop_logit', `LogitSOP`), both at the config's `sop_lr_u`,
    `sop_lr_v`, `sop_init_std`; per epoch, record test accuracy and the
    `memorisation_probe`. With `checkpoint_dir`, the run writes checkpoints there and resumes
    from them (a finished run is read back, not retrained). Returns (history, model, sop or
    None)."""
    torch.manual_seed(seed)
    model = build_network(config, train_set).to(device)
    if method not in ("ce", "sop", "sop_logit"):
        raise ValueError(f"unknown method {method!r}: choose 'ce', 'sop' or 'sop_logit'")
    sop = None
    if method != "ce":
        sop = (SOP if method == "sop" else LogitSOP)(
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
