"""Lecture 3, neural collapse: the geometry of last-layer features and classifiers at the end
of training, the unconstrained features model (UFM) that explains it, and what it is good for
(a fixed simplex-ETF classifier, d = K features, the choice of loss, transfer).

Experiments (quick profile: scikit-learn digits or free features, CPU, one torch thread; the
times are on a shared 2-core machine; every claim below holds for seeds 0-4):
- `collapse_tpt`: an MLP (3 x 256, BatchNorm) trained 100 epochs past zero training error;
  NC1 falls 17-31x between the first epoch at 100% training accuracy and the end; about 6 s.
  Full: ResNet18 on CIFAR-10, SGD lr 0.05, momentum 0.9, weight decay 5e-4, batch 128,
  200 epochs, lr x 0.2 every 40 epochs, no augmentation (the settings of Zhu et al. 2021).
- `collapse_ufm`: gradient descent (heavy-ball momentum) on the UFM from 16 random starts for
  K = 4 and 10 classes and several feature dimensions d: every start reaches the same
  objective and, when d >= K - 1, a simplex ETF (cosines within 1e-7 of -1/(K-1)); when
  d < K - 1 the features still collapse but cannot be equiangular; about 5 s.
- `collapse_fixed_etf`: a learned classifier on 256-d features vs a fixed simplex ETF on
  256-d and on d = K = 10 features: test accuracy within 0.7 points, 44% fewer trained
  parameters with d = K; about 4 s.
- `collapse_losses`: cross-entropy, focal, label smoothing and MSE: all reach a simplex ETF
  in the UFM (to 1e-13), and MLPs trained with them reach test accuracies within 0.7 points
  while NC1 falls 5-19x; about 9 s.
- `collapse_random_labels`: 300 digits with random labels: 100% training accuracy, chance test
  accuracy (10-11%), and NC1 still falls by about 100x; about 3 s.
- `collapse_transfer`: MLPs pretrained (five variants, two checkpoints each) on digits 0-4; on
  the held-out digits 5-9, lower NC1 of the features goes with higher 5-shot linear-probe
  accuracy (Pearson correlation of log NC1 and accuracy -0.92 to -0.98); about 4 s.

The definitions of every metric are in `nc_metrics`. Computations on features run in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy import stats
from torch import nn
from torch.nn import functional as F

from . import data as datasets
from . import metrics, models, plots
from .runtime import config_threads, torch_threads  # noqa: F401 (collapse.torch_threads, used by the tests)
from .train import TrainConfig, evaluate, features, train

DTYPE = torch.float64

# ----------------------------------------------------------------------------------------------
# 1. Measuring neural collapse
# ----------------------------------------------------------------------------------------------


def _frame_stats(V: torch.Tensor, name: str) -> dict:
    """Equinorm and equiangularity of the K rows of V (K, d), as in Papyan et al. (2020)."""
    K = V.shape[0]
    norms = V.norm(dim=1)  # (K,)
    unit = V / norms.clamp_min(1e-300)[:, None]
    cosines = unit @ unit.T  # (K, K)
    off = cosines[~torch.eye(K, dtype=torch.bool, device=V.device)]  # (K(K-1),)
    error = (off + 1 / (K - 1)).abs()
    return {
        f"{name}_equinorm": (norms.std(correction=0) / norms.mean()).item(),
        f"{name}_equiangularity": off.std(correction=0).item(),
        f"{name}_angle_error": error.mean().item(),
        f"{name}_angle_error_max": error.max().item(),
    }


def _nc1(sigma_w: torch.Tensor, centred: torch.Tensor) -> float:
    """trace(Sigma_W Sigma_B^+) / K with Sigma_B = C^T C / K, C the centred means (K, d).

    With C = U S V^T, Sigma_B^+ = K sum_j v_j v_j^T / s_j^2 over the nonzero s_j, so the
    statistic is sum_j v_j^T Sigma_W v_j / s_j^2: a K x d SVD instead of a d x d
    pseudo-inverse, and the rank (at most K - 1) is decided on the small matrix.
    """
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)  # s (r,), vh (r, d)
    keep = s > s.max() * max(centred.shape) * torch.finfo(s.dtype).eps
    v = vh[keep]  # (rank, d)
    return (((v @ sigma_w) * v).sum(1) / s[keep] ** 2).sum().item()


def nc_metrics(
    features: torch.Tensor,
    labels: torch.Tensor,
    classifier_weight: torch.Tensor | None = None,
    classifier_bias: torch.Tensor | None = None,
    num_classes: int | None = None,
) -> dict:
    """The neural-collapse statistics of features h_i (N, d) with labels y_i, in float64.

    With class means mu_k, mu_G the mean of the class means, M (K, d) the centred means
    mu_k - mu_G, Sigma_W and Sigma_B the within- and between-class scatter (metrics.py):
    - `nc1` = trace(Sigma_W Sigma_B^+) / K  (NC1, variability collapse). Some code and the
      transfer papers omit the /K; multiply by K to compare with them.
    - `within_between` = trace(Sigma_W) / trace(Sigma_B).
    - `means_equinorm` = std_k ||M_k|| / mean_k ||M_k||  (NC2, equal lengths; std over k with
      denominator K).
    - `means_equiangularity` = std over k != k' of cos(M_k, M_k')  (NC2, equal angles).
    - `means_angle_error` = mean over k != k' of |cos(M_k, M_k') + 1/(K-1)|, and
      `means_angle_error_max` its maximum: the distance to the simplex angle.
    With the classifier weight W (K, d) (and bias b (K,)):
    - the same four statistics of the rows of W (`classifier_*`);
    - `nc3` = || W/||W||_F - M/||M||_F ||_F^2  (NC3, self-duality);
    - `nc4` = fraction of samples where argmax_k (W h + b)_k differs from the nearest class mean
      (NC4, the network behaves like the nearest-class-mean classifier);
    - `accuracy` = fraction where argmax_k (W h + b)_k = y.
    All are 0 for a collapsed configuration, scale-invariant, and invariant to relabelling the
    classes (permuting the rows of W and b along with the labels).
    """
    h = features.detach().to(DTYPE)
    y = labels.to(h.device).long()
    if not torch.isfinite(h).all():
        raise ValueError("the features contain NaN or inf: did training diverge?")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if classifier_weight is None else classifier_weight.shape[0]
    K = num_classes
    if K < 2:
        raise ValueError("neural collapse needs at least two classes")
    means = metrics.class_means(h, y, K)  # (K, d)
    sigma_w, sigma_b = metrics.scatter_matrices(h, y, K)  # (d, d) each
    centred = means - means.mean(0)  # (K, d)
    out = {
        "nc1": _nc1(sigma_w, centred),
        "within_between": (torch.trace(sigma_w) / torch.trace(sigma_b)).item(),
    }
    out.update(_frame_stats(centred, "means"))
    if classifier_weight is None:
        return out
    W = classifier_weight.detach().to(DTYPE).to(h.device)  # (K, d)
    out.update(_frame_stats(W, "classifier"))
    out["nc3"] = ((W / W.norm() - centred / centred.norm()) ** 2).sum().item()
    logits = h @ W.T  # (N, K)
    if classifier_bias is not None:
        logits = logits + classifier_bias.detach().to(DTYPE).to(h.device)
    predicted = logits.argmax(1)
    nearest_mean = metrics.nearest_class_mean_predict(means, h)
    out["nc4"] = (predicted != nearest_mean).double().mean().item()
    out["accuracy"] = (predicted == y).double().mean().item()
    return out


def etf_gram(K: int) -> torch.Tensor:
    """The Gram matrix of a simplex ETF: K/(K-1) (I - 11^T/K), ones on the diagonal and
    -1/(K-1) off it; (K, K) float64, rank K - 1."""
    return K / (K - 1) * (torch.eye(K, dtype=DTYPE) - 1 / K)


def simplex_etf(K: int, d: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A d x K simplex equiangular tight frame: K unit columns with pairwise cosine -1/(K-1).

    M = sqrt(K/(K-1)) Q P^T, where the columns of P (K, K-1) are an orthonormal basis of the
    vectors orthogonal to 1 (so P P^T = I - 11^T/K) and Q (d, K-1) has orthonormal columns;
    then M^T M = `etf_gram(K)`. Without a generator and with d >= K, the frame is the centring
    matrix sqrt(K/(K-1)) (I - 11^T/K) in the first K coordinates: its columns are orthogonal
    to (1, ..., 1, 0, ...), so a common offset of non-negative (ReLU) features does not change
    the logits. With a generator, Q is a random orthonormal frame.
    """
    if K < 2:
        raise ValueError(f"a simplex ETF needs K >= 2 vectors, got K={K}")
    if d < K - 1:
        raise ValueError(
            f"a simplex ETF of K={K} vectors needs d >= K-1 = {K - 1} dimensions, got d={d}: "
            "its Gram matrix K/(K-1)(I - 11^T/K) has rank K-1"
        )
    scale = math.sqrt(K / (K - 1))
    centring = torch.eye(K, dtype=DTYPE) - 1 / K  # (K, K)
    if generator is None and d >= K:
        M = torch.zeros(d, K, dtype=DTYPE)
        M[:K] = scale * centring
        return M
    P, _ = torch.linalg.qr(centring[:, : K - 1])  # (K, K-1), orthonormal basis of 1-perp
    if generator is None:
        Q = torch.eye(d, K - 1, dtype=DTYPE)
    else:
        Q, _ = torch.linalg.qr(torch.randn(d, K - 1, generator=generator, dtype=DTYPE))
    return scale * Q @ P.T  # (d, K)


# ----------------------------------------------------------------------------------------------
# 2. Losses: per-sample values on logits (..., N, K), so that a batch of UFM problems and a
#    network share one implementation
# ----------------------------------------------------------------------------------------------

LOSSES = ("ce", "focal", "ls", "mse")
LOSS_NAMES = {
    "ce": "cross-entropy",
    "focal": "focal",
    "ls": "label smoothing",
    "mse": "mean squared error",
}
LOSS_SHORT = {"ce": "CE", "focal": "focal", "ls": "LS", "mse": "MSE"}


def per_sample_loss(
    logits: torch.Tensor, y: torch.Tensor, loss: str, gamma: float = 2.0, alpha: float = 0.1
) -> torch.Tensor:
    """Loss of each sample: logits (..., N, K), labels (N,) -> (..., N).

    ce:    -log p_y                                   (p = softmax(logits))
    focal: -(1 - p_y)^gamma log p_y                   (Lin et al. 2017)
    ls:    -(1 - alpha) log p_y - alpha/K sum_k log p_k  (target (1-alpha) e_y + alpha/K 1)
    mse:   1/2 ||logits - e_y||^2                      (e_y the one-hot label)
    """
    K = logits.shape[-1]
    index = y.expand(logits.shape[:-1])[..., None]  # (..., N, 1)
    if loss == "mse":
        return 0.5 * ((logits - F.one_hot(y, K).to(logits.dtype)) ** 2).sum(-1)
    log_p = logits.log_softmax(-1)  # (..., N, K)
    log_py = log_p.gather(-1, index)[..., 0]  # (..., N)
    if loss == "ce":
        return -log_py
    if loss == "focal":
        return -((1 - log_py.exp()) ** gamma) * log_py
    if loss == "ls":
        return -(1 - alpha) * log_py - alpha / K * log_p.sum(-1)
    raise ValueError(f"unknown loss {loss!r}: choose one of {', '.join(LOSSES)}")


def loss_function(loss: str, gamma: float = 2.0, alpha: float = 0.1):
    """loss_fn(logits (B, K), labels (B,)) -> the mean loss, for `train`."""
    per_sample_loss(torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), loss)  # fail early

    def loss_fn(logits, y):
        return per_sample_loss(logits, y, loss, gamma, alpha).mean()

    return loss_fn


# ----------------------------------------------------------------------------------------------
# 3. The unconstrained features model
# ----------------------------------------------------------------------------------------------


def log_steps(steps: int, points: int = 20) -> list[int]:
    """About `points` steps from 0 to `steps`, evenly spaced in log(1 + step)."""
    grid = np.unique(np.round(np.geomspace(1, steps + 1, points)).astype(int) - 1)
    return [int(s) for s in grid]


def train_ufm(
    K: int,
    d: int,
    n_per_class: int = 5,
    loss: str = "ce",
    *,
    inits: int = 1,
    steps: int = 600,
    lr: float = 1.0,
    momentum: float = 0.9,
    weight_decay: float = 5e-3,
    bias: bool = True,
    gamma: float = 2.0,
    alpha: float = 0.1,
    seed: int = 0,
    record: int = 20,
    device: torch.device | str = "cpu",
) -> dict:
    """Gradient descent on the unconstrained features model, from `inits` random starts at once.

    The features H (N, d), N = K n_per_class, are free variables, as are W (K, d) and b (K,):
        min  1/N sum_i loss(W h_i + b, y_i) + lam/2 (||W||_F^2 + ||H||_F^2 + ||b||^2),
    lam = `weight_decay` (Zhu et al. 2021 allow three different lam's; one suffices here).
    Full-batch gradient descent with heavy-ball momentum (`momentum=0` is plain GD) from
    standard Gaussian H and W and b = 0, in float64. The starts are independent problems
    solved in one batch: tensors carry a leading dimension R = `inits`.

    Returns H (R, N, d), W (R, K, d), b (R, K), labels (N,), the final objective per start
    (R,), `final` (nc_metrics of each start) and `history`: at about `record` log-spaced
    steps, the objective and nc_metrics of every start.
    """
    g = torch.Generator().manual_seed(seed)
    R, N = inits, K * n_per_class
    y = torch.arange(K).repeat_interleave(n_per_class).to(device)  # (N,)
    H = torch.randn(R, N, d, generator=g, dtype=DTYPE).to(device).requires_grad_()
    W = torch.randn(R, K, d, generator=g, dtype=DTYPE).to(device).requires_grad_()
    b = torch.zeros(R, K, dtype=DTYPE, device=device).requires_grad_(bias)
    params = [H, W, b] if bias else [H, W]
    optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum)

    def objective():  # (R,)
        logits = H @ W.transpose(1, 2) + b[:, None, :]  # (R, N, K)
        fit = per_sample_loss(logits, y, loss, gamma, alpha).mean(-1)
        penalty = (W**2).sum((1, 2)) + (H**2).sum((1, 2)) + (b**2).sum(1)
        return fit + weight_decay / 2 * penalty

    def snapshot(step, value):
        per_start = [nc_metrics(H[r], y, W[r], b[r], K) for r in range(R)]
        record_ = {"step": step, "objective": value.tolist()}
        for key in per_start[0]:
            record_[key] = [m[key] for m in per_start]
        return record_

    history, marks = [], set(log_steps(steps, record) if record else [])
    for step in range(steps + 1):
        value = objective()
        if step in marks:
            with torch.no_grad():
                history.append(snapshot(step, value.detach()))
        if step == steps:
            break
        optimizer.zero_grad(set_to_none=True)
        value.sum().backward()  # the starts do not interact: each gets its own gradient
        optimizer.step()
    H, W, b = H.detach(), W.detach(), b.detach()
    return {
        "K": K,
        "d": d,
        "loss": loss,
        "H": H,
        "W": W,
        "b": b,
        "labels": y,
        "objective": value.detach(),
        "final": [nc_metrics(H[r], y, W[r], b[r], K) for r in range(R)],
        "history": history,
    }


# ----------------------------------------------------------------------------------------------
# 4. Networks and a per-epoch measurement hook
# ----------------------------------------------------------------------------------------------


def build_model(
    model: str, train_data: datasets.ArrayData, width: int = 256, depth: int = 3, feature_dim=None
) -> nn.Module:
    """An MLP (width x depth, BatchNorm) or a ResNet18 whose features have `feature_dim`
    dimensions (None: the model's own, `width` or 512).

    MLP: the last hidden layer gets `feature_dim` units. ResNet18: the last basic block maps
    512 channels to `feature_dim` (its two 3x3 convolutions shrink with it, as in Zhu et al.
    2021, where d = K removes about a fifth of the parameters).
    """
    K = train_data.num_classes
    if model == "mlp":
        in_dim = int(np.prod(train_data.x.shape[1:]))
        net = models.MLP(in_dim, K, width, depth, batchnorm=True)
        if feature_dim and feature_dim != width:
            # body = [Linear, BatchNorm1d, ReLU] * depth: replace the last triple's first two.
            net.body[-3] = nn.Linear(width if depth > 1 else in_dim, feature_dim, bias=False)
            net.body[-2] = nn.BatchNorm1d(feature_dim)
            net.classifier = nn.Linear(feature_dim, K)
        return net
    if model == "resnet18":
        net = models.ResNet18(K, in_channels=train_data.x.shape[1])
        if feature_dim and feature_dim != 512:
            net.stages[-1] = models.BasicBlock(512, feature_dim, 1)
            net.classifier = nn.Linear(feature_dim, K)
        return net
    raise ValueError(f"unknown model {model!r}: choose 'mlp' or 'resnet18'")


def fix_classifier(net: nn.Module) -> nn.Module:
    """Replace the learned classifier by a fixed simplex ETF (no bias, not trained)."""
    d, K = net.classifier.in_features, net.classifier.out_features
    weight = simplex_etf(K, d).T.float()  # (K, d), unit rows
    net.classifier = nn.Linear(d, K, bias=False).to(net.classifier.weight.device)
    with torch.no_grad():
        net.classifier.weight.copy_(weight)
    net.classifier.weight.requires_grad_(False)  # SGD skips parameters without gradients
    return net


def network_nc(net: nn.Module, data: datasets.ArrayData) -> dict:
    """nc_metrics of the network's penultimate features of `data` and its classifier."""
    h = features(net, data)
    return nc_metrics(h, data.y.cpu(), net.classifier.weight.cpu(), _bias(net), data.num_classes)


def _bias(net: nn.Module):
    b = net.classifier.bias
    return None if b is None else b.detach().cpu()


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


def first_interpolating_epoch(history: list[dict]) -> int | None:
    """The first measured epoch whose (eval-mode) training accuracy is 100%."""
    return next((r["epoch"] for r in history if r.get("accuracy") == 1.0), None)


def _class_subset(data: datasets.ArrayData, classes, n: int | None = None):
    """The samples of `classes` (relabelled 0..len-1), at most n of them."""
    classes = torch.as_tensor(classes)
    keep = torch.isin(data.y, classes)
    index = torch.nonzero(keep)[:, 0][:n]
    remap = torch.full((int(data.y.max()) + 1,), -1, dtype=torch.long)
    remap[classes] = torch.arange(len(classes))
    return replace(data.subset(index), y=remap[data.y[index]], num_classes=len(classes))


def _checkpoints(checkpoint_dir, name):
    return None if checkpoint_dir is None else Path(checkpoint_dir) / name


# ----------------------------------------------------------------------------------------------
# Experiments
# ----------------------------------------------------------------------------------------------


def _train_network(config, train_data, test_data, *, feature_dim=None, loss_fn=None, **kwargs):
    """Build config.model, train it with config.train and the NC hook; (model, history)."""
    device = kwargs.pop("device")
    torch.manual_seed(kwargs["seed"])
    net = build_model(config.model, train_data, config.width, config.depth, feature_dim)
    if kwargs.pop("fixed", False):
        fix_classifier(net)
    net = net.to(device)
    probe = train_data.subset(slice(0, config.metrics_samples))
    history = train(
        net,
        train_data.to(device),
        config.train,
        test_data=test_data.to(device),
        loss_fn=loss_fn,
        on_epoch=nc_hook(probe, config.metrics_every, config.train.epochs),
        resume=kwargs.get("checkpoint_dir") is not None,
        **kwargs,
    )
    return net, history


def _nc_epochs(history: list[dict]) -> list[dict]:
    return [r for r in history if "nc1" in r]


# --- 1. the terminal phase of training ---------------------------------------------------------

QUICK_TRAIN = TrainConfig(
    epochs=100,
    batch_size=128,
    lr=0.1,
    momentum=0.9,
    weight_decay=5e-3,  # 1e-3 needs 300 epochs for the same collapse (see NOTES.md)
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
class TPTConfig:
    dataset: str = "digits"  # 'digits' (quick) | 'cifar10' | 'mnist'
    model: str = "mlp"  # 'mlp' | 'resnet18'
    width: int = 256  # MLP hidden width
    depth: int = 3  # MLP hidden layers
    train: TrainConfig = field(default_factory=lambda: QUICK_TRAIN)
    metrics_every: int = 2  # epochs between NC measurements once the training error is 0
    metrics_samples: int = 10000  # training samples the NC metrics use (digits: all 1347)
    threads: int = 1  # torch CPU threads during the run (0: unchanged)

    @classmethod
    def quick(cls) -> TPTConfig:
        return cls()

    @classmethod
    def full(cls) -> TPTConfig:
        return cls("cifar10", "resnet18", train=FULL_TRAIN, metrics_every=1, threads=0)


def _cosines(net, data):
    h = features(net, data).to(DTYPE)
    M = metrics.class_means(h, data.y.cpu(), data.num_classes)
    M = M - M.mean(0)
    M = M / M.norm(dim=1, keepdim=True)
    return M @ M.T  # (K, K)


@config_threads
def run_tpt(config: TPTConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """Train past zero training error; NC1-NC4 and accuracies per measured epoch, the NC1 drop
    over the terminal phase, and the class-mean cosines at the first and the last epoch."""
    train_data, test_data = datasets.load(config.dataset)
    snapshots = {}
    probe = train_data.subset(slice(0, config.metrics_samples))
    hook = nc_hook(probe, config.metrics_every, config.train.epochs)

    def on_epoch(epoch, net):
        if epoch == 1:
            snapshots["first"] = _cosines(net, probe)
        return hook(epoch, net)

    torch.manual_seed(seed)
    net = build_model(config.model, train_data, config.width, config.depth).to(device)
    history = train(
        net,
        train_data.to(device),
        config.train,
        test_data=test_data.to(device),
        on_epoch=on_epoch,
        seed=seed,
        checkpoint_dir=checkpoint_dir,
        resume=checkpoint_dir is not None,
        progress=progress,
    )
    measured = _nc_epochs(history)
    start = first_interpolating_epoch(measured)
    at_start = next((r for r in measured if r["epoch"] == start), None)
    final = measured[-1]
    return {
        "data": {"name": config.dataset, "n_train": len(train_data), "n_test": len(test_data)},
        "parameters": models.count_parameters(net),
        "history": history,
        "tpt_epoch": start,
        "nc1_at_tpt": at_start["nc1"] if at_start else None,
        "nc1_final": final["nc1"],
        "nc1_drop": at_start["nc1"] / final["nc1"] if at_start else None,
        "final": {k: v for k, v in final.items() if k != "seconds"},
        "cosines_first": snapshots.get("first"),
        "cosines_final": _cosines(net, probe),
    }


def _mark_tpt(ax, result):
    if result.get("tpt_epoch"):
        ax.axvline(result["tpt_epoch"], color="0.5", linestyle=":", linewidth=1.2)


def plot_tpt(result: dict):
    """Accuracy and the four NC statistics per epoch; dotted: the first epoch at 100% train."""
    h = _nc_epochs(result["history"])
    epoch = [r["epoch"] for r in h]
    fig, axes = plots.subplots(2, 3, width=4.0, height=3.2)
    ax = axes[0, 0]
    ax.plot(epoch, [100 * r["accuracy"] for r in h], label="train (eval mode)")
    ax.plot(epoch, [100 * r["test_acc"] for r in h], label="test")
    ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    ax.legend()
    ax = axes[0, 1]
    ax.semilogy(epoch, [r["nc1"] for r in h], color=plots.OKABE_ITO[2])
    ax.set(xlabel="epoch", ylabel=r"tr$(\Sigma_W\Sigma_B^+)/K$", title="NC1: variability")
    ax = axes[0, 2]
    ax.semilogy(epoch, [r["means_equinorm"] for r in h], label="class means")
    ax.semilogy(epoch, [r["classifier_equinorm"] for r in h], label="classifier rows")
    ax.set(xlabel="epoch", ylabel="std / mean of norms", title="NC2: equal norms")
    ax.legend()
    ax = axes[1, 0]
    ax.semilogy(epoch, [r["means_angle_error"] for r in h], label="class means")
    ax.semilogy(epoch, [r["classifier_angle_error"] for r in h], label="classifier rows")
    ax.set(xlabel="epoch", ylabel=r"mean $|\cos + 1/(K-1)|$", title="NC2: simplex angles")
    ax.legend()
    ax = axes[1, 1]
    ax.semilogy(epoch, [r["nc3"] for r in h], color=plots.OKABE_ITO[3])
    ax.set(xlabel="epoch", ylabel=r"$\|W/\|W\| - M/\|M\|\|_F^2$", title="NC3: self-duality")
    ax = axes[1, 2]
    ax.plot(epoch, [100 * r["nc4"] for r in h], color=plots.OKABE_ITO[4])
    ax.set(xlabel="epoch", ylabel="disagreement (%)", title="NC4: network vs nearest mean")
    for ax in axes.flat:
        _mark_tpt(ax, result)
    fig.suptitle(f"Neural collapse during training on {result['data']['name']}")
    return fig


def plot_tpt_cosines(result: dict):
    """Cosines between centred class means: after one epoch, at the end, and a simplex ETF."""
    final = np.asarray(result["cosines_final"])
    # A run resumed from a checkpoint after epoch 1 has no first snapshot: leave that panel blank.
    first = result.get("cosines_first")
    first = np.full_like(final, np.nan) if first is None else np.asarray(first)
    ideal = etf_gram(len(final)).numpy()
    fig, axes = plots.subplots(1, 3, width=3.6, height=3.4)
    for ax, matrix, title in zip(
        axes, [first, final, ideal], ["after epoch 1", "end of training", "simplex ETF"]
    ):
        norm = mpl.colors.TwoSlopeNorm(vmin=-0.5, vcenter=0, vmax=1)
        image = ax.imshow(matrix, norm=norm, cmap="RdBu_r")
        ax.set(xlabel="class", ylabel="class", title=title)
        ax.grid(False)
    fig.colorbar(image, ax=axes, label="cosine of centred class means", shrink=0.8)
    return fig


# --- 2. the unconstrained features model ------------------------------------------------------


@dataclass(frozen=True)
class UFMConfig:
    classes: tuple[int, ...] = (4, 10)  # K
    dims: tuple[tuple[int, ...], ...] = ((2, 3, 4, 8), (5, 9, 10, 20))  # d for each K
    n_per_class: int = 5  # free feature vectors per class
    inits: int = 16  # random starts per (K, d)
    steps: int = 800  # gradient steps (d = K - 1 converges slowest: 600 left 4e-4 once)
    lr: float = 1.0
    momentum: float = 0.9  # heavy ball; 0 is plain gradient descent (about 5x more steps)
    weight_decay: float = 5e-3  # lam on W, H and b
    loss: str = "ce"
    trajectory: tuple[int, int] = (10, 10)  # the (K, d) whose metrics per step are plotted
    threads: int = 1

    @classmethod
    def quick(cls) -> UFMConfig:
        return cls()

    @classmethod
    def full(cls) -> UFMConfig:
        return cls(
            classes=(4, 10, 20),
            dims=((2, 3, 4, 8), (5, 9, 10, 20), (10, 19, 20, 40)),
            n_per_class=50,
            inits=100,
            steps=3000,
            threads=0,
        )


def _worst(run: dict, key: str) -> float:
    return max(m[key] for m in run["final"])


@config_threads
def run_ufm(config: UFMConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """For each (K, d): GD from `inits` random starts; the worst start's distance to the
    simplex angle, NC1, NC3, and the spread of the final objective over the starts."""
    cases, trajectory = [], None
    for K, dims in zip(config.classes, config.dims):
        for d in dims:
            run = train_ufm(
                K,
                d,
                config.n_per_class,
                config.loss,
                inits=config.inits,
                steps=config.steps,
                lr=config.lr,
                momentum=config.momentum,
                weight_decay=config.weight_decay,
                seed=seed,
                record=20 if (K, d) == tuple(config.trajectory) else 0,
                device=device,
            )
            objective = run["objective"]
            cases.append(
                {
                    "K": K,
                    "d": d,
                    "angle_error_max": _worst(run, "means_angle_error_max"),
                    "classifier_angle_error_max": _worst(run, "classifier_angle_error_max"),
                    "nc1_max": _worst(run, "nc1"),
                    "nc3_max": _worst(run, "nc3"),
                    "objective_min": objective.min().item(),
                    "objective_spread": (objective.max() - objective.min()).item(),
                }
            )
            if (K, d) == tuple(config.trajectory):
                trajectory = {"K": K, "d": d, "history": run["history"]}
    return {"cases": cases, "trajectory": trajectory, "inits": config.inits}


def plot_ufm(result: dict):
    """Left: worst distance to the simplex angle against d, per K (dotted: d = K - 1).
    Right: the metrics along gradient descent for one (K, d), median and range over starts."""
    fig, (ax, ax_t) = plots.subplots(1, 2, width=5.4, height=4.0)
    Ks = sorted({c["K"] for c in result["cases"]})
    for color, K in zip(plots.OKABE_ITO, Ks):
        rows = [c for c in result["cases"] if c["K"] == K]
        d = [c["d"] for c in rows]
        ax.semilogy(d, [max(c["angle_error_max"], 1e-16) for c in rows], "o-", color=color,
                    label=f"K = {K}")  # fmt: skip
        ax.axvline(K - 1, color=color, linestyle=":", linewidth=1.2)
    ax.set(
        xlabel="feature dimension d",
        ylabel=r"max $|\cos(\bar h_k, \bar h_{k'}) + 1/(K-1)|$",
        title=f"UFM from {result['inits']} random starts",
    )
    ax.legend()
    trajectory = result["trajectory"]
    if trajectory:
        steps = np.array([r["step"] for r in trajectory["history"]]) + 1
        for color, key, label in [
            (plots.OKABE_ITO[2], "nc1", "NC1"),
            (plots.OKABE_ITO[0], "means_angle_error_max", "angle error, means"),
            (plots.OKABE_ITO[3], "nc3", "NC3"),
        ]:
            values = np.maximum([r[key] for r in trajectory["history"]], 1e-17)  # (T, R)
            ax_t.loglog(steps, np.median(values, 1), color=color, label=label)
            ax_t.fill_between(steps, values.min(1), values.max(1), color=color, alpha=0.2)
        ax_t.set(
            xlabel="gradient step + 1",
            ylabel="metric (median, range over starts)",
            title=f"Collapse along GD, K = {trajectory['K']}, d = {trajectory['d']}",
        )
        ax_t.legend()
    return fig


def _principal_axes(M: torch.Tensor, k: int) -> torch.Tensor:
    """The top-k right singular vectors of M (K, d) as columns (d, k)."""
    _, _, v = torch.linalg.svd(M, full_matrices=False)
    return v[:k].T


def plot_ufm_geometry(run: dict, start: int = 0):
    """Class means (dots), features (crosses) and classifier rows (arrows) of one UFM solution:
    in 3-D (when the centred means span three or more dimensions) in the span of the first
    three centred means, otherwise in their top principal directions."""
    H, W, y = run["H"][start], run["W"][start], run["labels"]
    K = run["K"]
    means = metrics.class_means(H, y, K)
    centre = means.mean(0)
    M = means - centre
    dims = max(1, min(3, int(torch.linalg.matrix_rank(M)), H.shape[1]))
    if dims == 3:
        # Stand the picture on class 0: its mean along direction 3, classes 1 and 2 spanning
        # the rest (principal axes of an ETF are arbitrary, and may hide a vertex).
        Q, R = torch.linalg.qr(M[:3].T)  # (d, 3); column j of Q spans mean j minus earlier
        P = Q[:, [1, 2, 0]] * torch.sign(torch.diagonal(R)[[1, 2, 0]])  # signs: means point up
    else:
        P = _principal_axes(M, dims)  # (d, dims)
    scale = M.norm(dim=1).mean() / W.norm(dim=1).mean()  # draw W on the means' scale
    pts, mus, ws = (H - centre) @ P, M @ P, scale * W @ P
    if dims == 1:
        pts, mus, ws = (torch.cat([t, torch.zeros_like(t)], 1) for t in (pts, mus, ws))
    fig = plt.figure(figsize=(5.2, 4.6), layout="constrained")
    three = dims == 3
    ax = fig.add_subplot(projection="3d" if three else None)
    colors = plt.get_cmap(plots.CLASS_CMAP)
    for k in range(K):
        c = colors(k % 10)
        ax.scatter(*pts[y == k].T.numpy(), color=c, marker="x", s=20, alpha=0.5)
        ax.scatter(*mus[k].numpy(), color=c, s=70, edgecolor="k", label=f"class {k}")
        origin = [0.0] * (3 if three else 2)
        if three:
            ax.quiver(*origin, *ws[k].numpy(), color=c, arrow_length_ratio=0.1)
        else:
            ax.annotate("", ws[k].numpy(), (0, 0),
                        arrowprops={"arrowstyle": "->", "color": c, "lw": 2})  # fmt: skip
    final = run["final"][start]
    ax.set(
        xlabel="direction 1",
        ylabel="direction 2",
        title=f"UFM, {LOSS_NAMES[run['loss']]}, K = {K}, d = {run['d']}\n"
        f"NC1 {final['nc1']:.1e}, angle error {final['means_angle_error_max']:.1e}",
    )
    if three:
        ax.set_zlabel("direction 3")
        ax.view_init(elev=15, azim=-20)  # class 1 in front, class 2 to the side: none hidden
    else:
        ax.set_aspect("equal", adjustable="datalim")
    if K <= 10:
        ax.legend(fontsize=8, loc="best")
    return fig


# --- 3. a fixed simplex-ETF classifier and d = K -------------------------------------------------


@dataclass(frozen=True)
class FixedETFConfig:
    dataset: str = "digits"
    model: str = "mlp"
    width: int = 256
    depth: int = 3
    # (classifier, feature dimension): 'learned' | 'fixed'; 0 means the model's own width.
    variants: tuple[tuple[str, int], ...] = (("learned", 0), ("fixed", 0), ("fixed", 10))
    train: TrainConfig = field(default_factory=lambda: replace(QUICK_TRAIN, epochs=40))
    metrics_every: int = 10
    metrics_samples: int = 10000
    threads: int = 1

    @classmethod
    def quick(cls) -> FixedETFConfig:
        return cls()

    @classmethod
    def full(cls) -> FixedETFConfig:
        return cls(
            "cifar10",
            "resnet18",
            variants=(("learned", 0), ("fixed", 0), ("learned", 10), ("fixed", 10)),
            train=FULL_TRAIN,
            threads=0,
        )


@config_threads
def run_fixed_etf(
    config: FixedETFConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Train each variant; trained parameter count, final accuracies and NC metrics."""
    train_data, test_data = datasets.load(config.dataset)
    rows = []
    for classifier, d in config.variants:
        name = f"{classifier}-d{d or 'default'}"
        net, history = _train_network(
            config,
            train_data,
            test_data,
            feature_dim=d or None,
            fixed=classifier == "fixed",
            device=device,
            seed=seed,
            progress=progress,
            checkpoint_dir=_checkpoints(checkpoint_dir, name),
        )
        last = _nc_epochs(history)[-1]
        rows.append(
            {
                "name": name,
                "classifier": classifier,
                "feature_dim": net.classifier.in_features,
                "trained_parameters": models.count_parameters(net),
                "test_acc": evaluate(net, test_data.to(device))["acc"],
                "train_acc": last["accuracy"],
                "nc1": last["nc1"],
                "means_angle_error": last["means_angle_error"],
                "nc3": last["nc3"],
                "test_curve": [r["test_acc"] for r in history],
            }
        )
    return {"data": config.dataset, "variants": rows}


def _variant_label(row):
    return f"{row['classifier']}, d = {row['feature_dim']}"


def plot_fixed_etf(result: dict):
    """Test accuracy per epoch, and trained parameters against final test accuracy."""
    fig, (ax, ax_p) = plots.subplots(1, 2, width=5.0, height=3.8)
    for color, row in zip(plots.OKABE_ITO, result["variants"]):
        curve = 100 * np.asarray(row["test_curve"])
        ax.plot(np.arange(1, len(curve) + 1), curve, color=color, label=_variant_label(row))
        ax_p.scatter(row["trained_parameters"] / 1e3, 100 * row["test_acc"], color=color, s=80,
                     label=_variant_label(row))  # fmt: skip
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", title="Learned vs fixed ETF classifier")
    ax.set_ylim(max(0, ax.get_ylim()[0]), 100)
    ax.legend()
    ax_p.set(
        xlabel="trained parameters (thousands)",
        ylabel="final test accuracy (%)",
        title="Same accuracy, fewer parameters",
    )
    ax_p.legend()
    return fig


# --- 4. losses ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LossesConfig:
    losses: tuple[str, ...] = LOSSES
    focal_gamma: float = 2.0  # focal loss exponent
    smoothing: float = 0.1  # label smoothing alpha
    ufm_classes: int = 10  # K of the UFM
    ufm_dim: int = 10  # d of the UFM
    ufm_inits: int = 4
    ufm_steps: int = 800
    ufm_lr: float = 1.0
    # The Hessian of 1/2||z - e_y||^2 in the logits is I, that of cross-entropy at most I/2:
    # MSE takes steps this much smaller (in the UFM and the network), or it diverges.
    mse_lr_scale: float = 0.5
    dataset: str = "digits"
    model: str = "mlp"
    width: int = 256
    depth: int = 3
    train: TrainConfig = field(default_factory=lambda: replace(QUICK_TRAIN, epochs=40))
    metrics_every: int = 5
    metrics_samples: int = 10000
    threads: int = 1

    @classmethod
    def quick(cls) -> LossesConfig:
        return cls()

    @classmethod
    def full(cls) -> LossesConfig:
        return cls(
            ufm_inits=16,
            ufm_steps=3000,
            dataset="cifar10",
            model="resnet18",
            train=FULL_TRAIN,
            metrics_every=5,
            threads=0,
        )


@config_threads
def run_losses(config: LossesConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """Each loss in the UFM (worst start's metrics) and training a network (NC1 per epoch,
    final test accuracy and NC metrics)."""
    train_data, test_data = datasets.load(config.dataset)
    mse_config = replace(
        config, train=replace(config.train, lr=config.train.lr * config.mse_lr_scale)
    )
    ufm, network = [], []
    for loss in config.losses:
        run = train_ufm(
            config.ufm_classes,
            config.ufm_dim,
            loss=loss,
            inits=config.ufm_inits,
            steps=config.ufm_steps,
            lr=config.ufm_lr * (config.mse_lr_scale if loss == "mse" else 1.0),
            record=0,
            gamma=config.focal_gamma,
            alpha=config.smoothing,
            seed=seed,
            device=device,
        )
        ufm.append(
            {
                "loss": loss,
                "nc1_max": _worst(run, "nc1"),
                "angle_error_max": _worst(run, "means_angle_error_max"),
                "nc3_max": _worst(run, "nc3"),
            }
        )
        net, history = _train_network(
            mse_config if loss == "mse" else config,
            train_data,
            test_data,
            loss_fn=loss_function(loss, config.focal_gamma, config.smoothing),
            device=device,
            seed=seed,
            progress=progress,
            checkpoint_dir=_checkpoints(checkpoint_dir, loss),
        )
        measured = _nc_epochs(history)
        network.append(
            {
                "loss": loss,
                "test_acc": history[-1]["test_acc"],
                "train_acc": measured[-1]["accuracy"],
                "nc1": measured[-1]["nc1"],
                "means_angle_error": measured[-1]["means_angle_error"],
                "nc3": measured[-1]["nc3"],
                "epochs": [r["epoch"] for r in measured],
                "nc1_curve": [r["nc1"] for r in measured],
            }
        )
    accs = [r["test_acc"] for r in network]
    return {"ufm": ufm, "network": network, "test_acc_range": max(accs) - min(accs)}


def plot_losses(result: dict):
    """UFM metrics per loss; NC1 of the network per epoch; final test accuracy per loss."""
    fig, (ax_u, ax_n, ax_a) = plots.subplots(1, 3, width=4.2, height=3.6)
    names = [LOSS_SHORT[r["loss"]] for r in result["ufm"]]
    x = np.arange(len(names))
    for i, (key, label) in enumerate(
        [("nc1_max", "NC1"), ("angle_error_max", "angle error"), ("nc3_max", "NC3")]
    ):
        values = np.maximum([r[key] for r in result["ufm"]], 1e-33)
        ax_u.bar(x + (i - 1) * 0.27, values, width=0.27, label=label)
    ax_u.set_yscale("log")
    ax_u.set_xticks(x, names)
    ax_u.set(xlabel="loss", ylabel="worst over starts", title="UFM: every loss collapses")
    ax_u.legend(fontsize=8)
    for color, row in zip(plots.OKABE_ITO, result["network"]):
        ax_n.semilogy(row["epochs"], row["nc1_curve"], color=color, label=LOSS_NAMES[row["loss"]])
    ax_n.set(xlabel="epoch", ylabel="NC1 (training features)", title="Network: NC1")
    ax_n.legend(fontsize=8)
    accs = [100 * r["test_acc"] for r in result["network"]]
    ax_a.bar(x, accs, color=plots.OKABE_ITO[: len(accs)])
    ax_a.set_xticks(x, names)
    ax_a.set_ylim(min(accs) - 5, 100)
    ax_a.set(xlabel="loss", ylabel="test accuracy (%)", title="Network: test accuracy")
    return fig


# --- 5. random labels ------------------------------------------------------------------------


@dataclass(frozen=True)
class RandomLabelsConfig:
    dataset: str = "digits"
    n_train: int = 300  # training samples, relabelled at random (memorising takes time)
    model: str = "mlp"
    width: int = 256
    depth: int = 3
    train: TrainConfig = field(
        default_factory=lambda: replace(
            QUICK_TRAIN, epochs=150, batch_size=50, milestones=(0.5, 0.75)
        )
    )
    metrics_every: int = 5
    metrics_samples: int = 10000
    threads: int = 1

    @classmethod
    def quick(cls) -> RandomLabelsConfig:
        return cls()

    @classmethod
    def full(cls) -> RandomLabelsConfig:
        return cls(
            "cifar10",
            n_train=50000,
            model="resnet18",
            train=replace(FULL_TRAIN, epochs=300, milestones=(0.5, 0.75), gamma=0.1),
            metrics_every=5,
            threads=0,
        )


@config_threads
def run_random_labels(
    config: RandomLabelsConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Train on `n_train` samples whose labels are drawn uniformly at random; test on the true
    test labels. NC metrics are measured against the random labels the network fits."""
    train_data, test_data = datasets.load(config.dataset)
    g = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(train_data), generator=g)[: config.n_train]
    K = train_data.num_classes
    shuffled = replace(train_data.subset(index), y=torch.randint(0, K, (len(index),), generator=g))
    net, history = _train_network(
        config,
        shuffled,
        test_data,
        device=device,
        seed=seed,
        progress=progress,
        checkpoint_dir=checkpoint_dir,
    )
    measured = _nc_epochs(history)
    start = first_interpolating_epoch(measured)
    at_start = next((r for r in measured if r["epoch"] == start), None)
    return {
        "data": config.dataset,
        "n_train": len(shuffled),
        "chance": 1 / K,
        "history": history,
        "tpt_epoch": start,
        "train_acc": measured[-1]["accuracy"],
        "test_acc": history[-1]["test_acc"],
        "nc1_first": measured[0]["nc1"],
        "nc1_at_tpt": at_start["nc1"] if at_start else None,
        "nc1_final": measured[-1]["nc1"],
        "means_angle_error_final": measured[-1]["means_angle_error"],
        "nc3_final": measured[-1]["nc3"],
    }


def plot_random_labels(result: dict):
    """Accuracies and NC1 per epoch when the training labels are random."""
    h = _nc_epochs(result["history"])
    epoch = [r["epoch"] for r in h]
    fig, (ax, ax_nc) = plots.subplots(1, 2, width=5.0, height=3.8)
    ax.plot(epoch, [100 * r["accuracy"] for r in h], label="train (random labels)")
    ax.plot(epoch, [100 * r["test_acc"] for r in h], label="test (true labels)")
    ax.axhline(100 * result["chance"], color="0.5", linestyle="--", linewidth=1, label="chance")
    ax.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{result['n_train']} random labels")
    ax.legend()
    ax_nc.semilogy(epoch, [r["nc1"] for r in h], color=plots.OKABE_ITO[2], label="NC1")
    ax_nc.semilogy(epoch, [r["means_angle_error"] for r in h], color=plots.OKABE_ITO[0],
                   label="angle error, means")  # fmt: skip
    ax_nc.semilogy(epoch, [r["nc3"] for r in h], color=plots.OKABE_ITO[3], label="NC3")
    ax_nc.set(xlabel="epoch", ylabel="metric", title="Collapse without meaning")
    ax_nc.legend()
    for a in (ax, ax_nc):
        _mark_tpt(a, result)
    return fig


# --- 6. transfer to held-out classes -----------------------------------------------------------


def ridge_probe(h_train, y_train, h_test, y_test, num_classes: int, reg: float = 0.1) -> float:
    """Test accuracy of a linear classifier fitted by ridge regression on one-hot targets.

    Features are standardised with the training statistics and get a constant column;
    weights = argmin ||A w - Y||^2 + reg N ||w||^2, solved in whichever of the primal (d + 1)
    or dual (N) form is smaller. A least-squares probe has a closed form, so many probes
    (few-shot draws) cost little.
    """
    h_train, h_test = h_train.to(DTYPE), h_test.to(DTYPE)
    mean, std = h_train.mean(0), h_train.std(0, correction=0) + 1e-8

    def design(h):
        return torch.cat([(h - mean) / std, torch.ones(len(h), 1, dtype=DTYPE)], 1)

    A, B = design(h_train), design(h_test)  # (N, d+1), (M, d+1)
    Y = F.one_hot(y_train, num_classes).to(DTYPE)  # (N, K)
    N, p = A.shape
    if N < p:
        weights = A.T @ torch.linalg.solve(A @ A.T + reg * N * torch.eye(N, dtype=DTYPE), Y)
    else:
        weights = torch.linalg.solve(A.T @ A + reg * N * torch.eye(p, dtype=DTYPE), A.T @ Y)
    return ((B @ weights).argmax(1) == y_test).double().mean().item()


def few_shot_accuracy(h_train, y_train, h_test, y_test, K, shots, draws, generator, reg=0.1):
    """Mean ridge-probe accuracy over `draws` random training sets of `shots` per class."""
    accs = []
    for _ in range(draws):
        index = []
        for k in range(K):
            members = torch.nonzero(y_train == k)[:, 0]
            pick = torch.randperm(len(members), generator=generator)[:shots]
            index.append(members[pick])
        index = torch.cat(index)
        accs.append(ridge_probe(h_train[index], y_train[index], h_test, y_test, K, reg))
    return float(np.mean(accs))


@dataclass(frozen=True)
class TransferConfig:
    dataset: str = "digits"
    source_classes: int = 5  # pretrain on classes 0..source_classes-1, transfer to the rest
    model: str = "mlp"
    width: int = 256
    depth: int = 3
    # Pretraining variants (weight decay, label smoothing): they collapse the source classes
    # to different degrees.
    variants: tuple[tuple[float, float], ...] = (
        (0.0, 0.0),
        (5e-4, 0.0),
        (5e-3, 0.0),
        (2e-2, 0.0),
        (5e-4, 0.3),
    )
    checkpoints: tuple[int, ...] = (3, 30)  # epochs at which each variant is measured
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            epochs=30, batch_size=64, lr=0.1, schedule="step", milestones=(0.5, 0.75)
        )
    )
    shots: int = 5  # labelled downstream samples per class for the linear probe
    draws: int = 20  # random draws of those samples, averaged
    probe_reg: float = 0.1  # ridge penalty of the probe
    threads: int = 1

    @classmethod
    def quick(cls) -> TransferConfig:
        return cls()

    @classmethod
    def full(cls) -> TransferConfig:
        return cls(
            "cifar10",
            model="resnet18",
            variants=((0.0, 0.0), (5e-4, 0.0), (5e-3, 0.0), (5e-4, 0.3)),
            checkpoints=(10, 50, 100),
            train=replace(FULL_TRAIN, epochs=100, milestones=(0.5, 0.75), gamma=0.1),
            shots=50,
            threads=0,
        )


@config_threads
def run_transfer(
    config: TransferConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Pretrain each variant on the source classes; at each checkpoint measure, on the held-out
    classes, NC1 of the features (all downstream training samples) and the few-shot
    linear-probe accuracy on the downstream test set; correlate the two."""
    train_data, test_data = datasets.load(config.dataset)
    K = train_data.num_classes
    source = list(range(config.source_classes))
    target = list(range(config.source_classes, K))
    src = _class_subset(train_data, source)
    down_train, down_test = _class_subset(train_data, target), _class_subset(test_data, target)

    def measure(net):
        h_train, h_test = features(net, down_train), features(net, down_test)
        g = torch.Generator().manual_seed(seed)  # the same few-shot draws for every model
        y_tr, y_te = down_train.y.cpu(), down_test.y.cpu()
        return {
            "down_nc1": nc_metrics(h_train, y_tr, num_classes=len(target))["nc1"],
            "probe_acc": few_shot_accuracy(
                h_train, y_tr, h_test, y_te, len(target), config.shots, config.draws, g,
                config.probe_reg,
            ),
            "source_nc1": nc_metrics(features(net, src), src.y.cpu(), num_classes=len(source))[
                "nc1"
            ],
        }  # fmt: skip

    points = []
    for weight_decay, smoothing in config.variants:
        train_config = replace(config.train, weight_decay=weight_decay, label_smoothing=smoothing)
        torch.manual_seed(seed)
        net = build_model(config.model, src, config.width, config.depth).to(device)
        name = f"wd{weight_decay:g}-ls{smoothing:g}"
        history = train(
            net,
            src.to(device),
            train_config,
            on_epoch=lambda epoch, model: measure(model) if epoch in config.checkpoints else None,
            seed=seed,
            checkpoint_dir=_checkpoints(checkpoint_dir, name),
            resume=checkpoint_dir is not None,
            progress=progress,
        )
        for r in history:
            if "down_nc1" in r:
                points.append({"weight_decay": weight_decay, "smoothing": smoothing,
                               "epoch": r["epoch"], **{k: r[k] for k in
                               ("down_nc1", "probe_acc", "source_nc1")}})  # fmt: skip
    log_nc1 = np.log([p["down_nc1"] for p in points])
    accs = np.array([p["probe_acc"] for p in points])
    torch.manual_seed(seed)
    untrained = build_model(config.model, src, config.width, config.depth).to(device).eval()
    return {
        "data": config.dataset,
        "source_classes": source,
        "target_classes": target,
        "shots": config.shots,
        "points": points,
        "pearson_log_nc1": float(stats.pearsonr(log_nc1, accs).statistic),
        "spearman": float(stats.spearmanr(log_nc1, accs).statistic),
        "untrained": measure(untrained),
    }


def plot_transfer(result: dict):
    """Few-shot probe accuracy on held-out classes against NC1 of their features, one point per
    (pretraining variant, checkpoint); the star is the untrained network (not correlated)."""
    fig, ax = plots.subplots(width=6.4, height=4.4)
    variants = sorted({(p["weight_decay"], p["smoothing"]) for p in result["points"]})
    epochs = sorted({p["epoch"] for p in result["points"]})
    markers = dict(zip(epochs, "os^Dv"))
    for color, (wd, ls) in zip(plots.OKABE_ITO, variants):
        rows = [p for p in result["points"] if (p["weight_decay"], p["smoothing"]) == (wd, ls)]
        ax.plot([p["down_nc1"] for p in rows], [100 * p["probe_acc"] for p in rows], ":",
                color=color, linewidth=1)  # fmt: skip
        for p in rows:
            ax.scatter(p["down_nc1"], 100 * p["probe_acc"], color=color, s=60,
                       marker=markers[p["epoch"]])  # fmt: skip
        ax.scatter([], [], color=color, label=f"weight decay {wd:g}, smoothing {ls:g}")
    for epoch, marker in markers.items():
        ax.scatter([], [], color="0.4", marker=marker, label=f"epoch {epoch}")
    untrained = result.get("untrained")
    if untrained:  # shown for reference, not part of the correlation
        ax.scatter(untrained["down_nc1"], 100 * untrained["probe_acc"], marker="*", s=160,
                   color="0.2", label="untrained network")  # fmt: skip
    ax.set_xscale("log")
    ax.set(
        xlabel="NC1 of the features on the held-out classes",
        ylabel=f"{result['shots']}-shot linear probe accuracy (%)",
        title=f"Transfer to held-out classes (Pearson r of log NC1: "
        f"{result['pearson_log_nc1']:.2f})",
    )
    ax.legend(fontsize=8)
    return fig


# ----------------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------------

TPT_FIGURES = {"tpt_metrics": plot_tpt, "tpt_cosines": plot_tpt_cosines}
UFM_FIGURES = {"ufm_landscape": plot_ufm}
FIXED_ETF_FIGURES = {"fixed_etf": plot_fixed_etf}
LOSSES_FIGURES = {"losses": plot_losses}
RANDOM_LABELS_FIGURES = {"random_labels": plot_random_labels}
TRANSFER_FIGURES = {"transfer": plot_transfer}

# name -> (run, config class, figures, one-line summary), for experiments.py to register.
EXPERIMENTS = {
    "collapse_tpt": (
        run_tpt,
        TPTConfig,
        TPT_FIGURES,
        "train past zero training error and track NC1-NC4 per epoch",
    ),
    "collapse_ufm": (
        run_ufm,
        UFMConfig,
        UFM_FIGURES,
        "gradient descent on the unconstrained features model from random starts, d vs K-1",
    ),
    "collapse_fixed_etf": (
        run_fixed_etf,
        FixedETFConfig,
        FIXED_ETF_FIGURES,
        "a fixed simplex-ETF classifier and d = K features vs a learned classifier",
    ),
    "collapse_losses": (
        run_losses,
        LossesConfig,
        LOSSES_FIGURES,
        "cross-entropy, focal, label smoothing and MSE: collapse and test accuracy",
    ),
    "collapse_random_labels": (
        run_random_labels,
        RandomLabelsConfig,
        RANDOM_LABELS_FIGURES,
        "random training labels: memorised, chance test accuracy, features still collapse",
    ),
    "collapse_transfer": (
        run_transfer,
        TransferConfig,
        TRANSFER_FIGURES,
        "NC1 on held-out classes vs few-shot linear-probe accuracy after pretraining",
    ),
}
