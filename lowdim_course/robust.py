"""Lecture 5, robust training under label noise: over-parameterised networks memorise wrong
labels; label noise is a sparse corruption, and sparse over-parameterisation (SOP, Liu, Zhu, Qu &
You 2022) models it with per-sample terms u_i * u_i - v_i * v_i whose implicit bias is sparse
(Vaskevicius, Kanade & Rebeschini 2019; Zhao, Yang & He 2019).

The linear model first: y = J theta* + s*, s* sparse. Gradient descent on
    1/2 ||J theta + u o u - v o v - y||^2
from theta = 0, u = v = tau 1, with step eta for theta and alpha * eta for (u, v). Under gradient
flow, with R(t) the integrated residual, theta = -J^T R and s = u o u - v o v = -2 tau^2
sinh(4 alpha R): at convergence (theta, s) solves
    min 1/2 ||theta||^2 + sum_i H(s_i)  s.t.  y = J theta + s,  H'(s) = asinh(s/2tau^2) / (4 alpha),
and H(s) ~ lambda |s| with lambda = ln(1/tau^2) / (4 alpha) as tau -> 0 (up to a |s| ln|s| term):
the l1-regularised problem, which the slide writes with weight 1/alpha (alpha rescaled). We
solve that convex problem independently, through its dual (a box-constrained quadratic program,
by FISTA with projection), and compare.

SOP for networks (the variant implemented here, in logit space as on the seed slide): the loss
of sample i is CE(f(x_i) + s_i, y_i) with s_i = u_i^2 e_{y_i} - v_i o v_i o (1 - e_{y_i}): u_i
(a scalar) can only raise the logit of the given label, v_i (a K-vector) can only lower the
others, as in Liu et al. u, v start at N(0, init_std^2) entries and are trained by SGD without
momentum or weight decay at their own fixed learning rates, through the package's training loop
(`train(..., per_sample=SOP)`). The MSE consistency term of the paper is not included.

Experiments (quick profile, one torch thread; numbers measured on 2 CPU cores, seeds 0-4):
- `robust_linear`: n = 200 equations, p = 50 unknowns, 10% grossly corrupted: GD with the
  Hadamard product (alpha = 0.3, tau = 1e-6) recovers theta* to 6e-7 ... 4e-4 relative error and
  agrees with the convex l1 solution (exact to 1e-14) as closely; least squares is off by 3.3
  to 4.7; about 3 s.
- `robust_overfitting`: an MLP (2 x 256) on digits with 40% symmetric label noise, 100 epochs of
  SGD: test accuracy peaks at 0.90-0.92 by epoch 5-6, then falls to 0.65-0.72 as the network
  reproduces 100% of the corrupted labels; about 5 s.
- `robust_sop`: CE against SOP at 0, 20, 40% noise. Final test accuracy at 40%: CE 0.65-0.72,
  SOP 0.92-0.95 (SOP ahead by 21 to 29 points); at 20%: CE 0.84-0.87, SOP 0.95-0.98; without
  noise both 0.97-0.98. ROC AUC of ||s_i|| for the corrupted samples 0.985-0.997; SOP's network
  reproduces 5-13% of the corrupted labels; about 14 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import data, metrics, models, plots
from .runtime import torch_threads
from .train import TrainConfig, train

DTYPE = torch.float64

# ----------------------------------------------------------------------------------------------
# 1. Label noise
# ----------------------------------------------------------------------------------------------

# Asymmetric noise of Patrini et al. (2017) on CIFAR-10: truck -> automobile, bird -> airplane,
# deer -> horse, cat <-> dog. For digits, confusions that look plausible: 2->7, 3->8, 5->6, 7->1.
CIFAR10_FLIPS = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}
DIGITS_FLIPS = {2: 7, 3: 8, 5: 6, 7: 1, 6: 5}


def symmetric_noise(labels: torch.Tensor, rate: float, num_classes: int, generator=None):
    """Flip exactly round(rate N) labels, chosen at random, each to a uniformly random *other*
    class. Returns (noisy labels, mask of the corrupted samples)."""
    n = len(labels)
    corrupted = torch.zeros(n, dtype=torch.bool)
    chosen = torch.randperm(n, generator=generator)[: round(rate * n)]
    corrupted[chosen] = True
    noisy = labels.clone()
    shift = torch.randint(1, num_classes, (len(chosen),), generator=generator)
    noisy[chosen] = (labels[chosen] + shift) % num_classes  # shift >= 1: never the same class
    return noisy, corrupted


def asymmetric_noise(labels: torch.Tensor, rate: float, flips: dict, generator=None):
    """For each source class c in `flips`, relabel exactly round(rate n_c) of its samples as
    flips[c]. Returns (noisy labels, mask of the corrupted samples)."""
    noisy, corrupted = labels.clone(), torch.zeros(len(labels), dtype=torch.bool)
    for source, target in flips.items():
        members = torch.nonzero(labels == source).flatten()
        chosen = members[
            torch.randperm(len(members), generator=generator)[: round(rate * len(members))]
        ]
        noisy[chosen], corrupted[chosen] = target, True
    return noisy, corrupted


CIFAR10N_SETS = {
    "clean": "clean_label",
    "aggregate": "aggre_label",
    "random1": "random_label1",
    "random2": "random_label2",
    "random3": "random_label3",
    "worst": "worse_label",
}


# The seed's table (Liu et al. 2022, from Wei et al. 2022): test accuracy (%) of ResNet34 on
# CIFAR-10N, mean over runs; and each label set's noise rate (%).
CIFAR10N_NOISE_RATES = {
    "aggregate": 9.03,
    "random1": 17.23,
    "random2": 18.12,
    "random3": 17.64,
    "worst": 40.21,
}
CIFAR10N_PUBLISHED = {
    "CE": {
        "clean": 92.92,
        "aggregate": 87.77,
        "random1": 85.02,
        "random2": 86.46,
        "random3": 85.16,
        "worst": 77.69,
    },
    "SOP": {
        "aggregate": 95.61,
        "random1": 95.28,
        "random2": 95.31,
        "random3": 95.39,
        "worst": 93.24,
    },
}


def load_cifar10n(label_set: str = "worst", root=None):
    """CIFAR-10 with the training labels replaced by a CIFAR-10N human label set ('aggregate',
    'random1', 'random2', 'random3', 'worst' or 'clean'). Returns (train, test, corrupted mask).
    Both files must be downloaded (`lowdim-course download cifar10` and `... cifar10n`)."""
    if label_set not in CIFAR10N_SETS:
        choices = ", ".join(CIFAR10N_SETS)
        raise ValueError(f"unknown CIFAR-10N label set {label_set!r}: choose one of {choices}")
    root = root or data.data_root()
    path = Path(root) / data.CIFAR10N_FILE
    if not path.exists():
        raise data._missing("cifar10n", path)
    train_set, test_set = data.load_cifar10(root)
    labels = data.read_cifar10n(path)
    if not torch.equal(labels["clean_label"], train_set.y.cpu()):
        raise ValueError(f"{path}: its clean labels do not match CIFAR-10's training labels")
    noisy = labels[CIFAR10N_SETS[label_set]]
    return replace(train_set, y=noisy), test_set, noisy != train_set.y.cpu()


# ----------------------------------------------------------------------------------------------
# 2. The linear model
# ----------------------------------------------------------------------------------------------


def linear_problem(n: int, p: int, corrupted: int, generator=None):
    """J (n, p) with N(0, 1/n) entries (columns of about unit norm), theta* of unit norm, s*
    with `corrupted` non-zeros of size 1 to 2 and random signs, y = J theta* + s*.
    Returns (J, y, theta*, s*)."""
    j = torch.randn(n, p, generator=generator, dtype=DTYPE) / math.sqrt(n)
    theta = torch.randn(p, generator=generator, dtype=DTYPE)
    theta = theta / theta.norm()
    s = torch.zeros(n, dtype=DTYPE)
    where = torch.randperm(n, generator=generator)[:corrupted]
    size = 1 + torch.rand(corrupted, generator=generator, dtype=DTYPE)
    s[where] = size * (torch.randint(0, 2, (corrupted,), generator=generator) * 2 - 1)
    return j, j @ theta + s, theta, s


def hadamard_gd(j, y, alpha: float, tau: float, lr: float, steps: int, record_every: int = 0):
    """Gradient descent on 1/2 ||J theta + u o u - v o v - y||^2 from theta = 0, u = v = tau,
    step lr for theta and alpha * lr for (u, v). Returns (theta, s = u o u - v o v, history of
    (step, theta) every `record_every` steps)."""
    theta = torch.zeros(j.shape[1], dtype=DTYPE)
    u = torch.full((j.shape[0],), tau, dtype=DTYPE)
    v = torch.full((j.shape[0],), tau, dtype=DTYPE)
    history = []
    for step in range(steps + 1):
        if record_every and step % record_every == 0:
            history.append((step, theta.clone()))
        if step == steps:
            break
        r = j @ theta + u * u - v * v - y
        theta = theta - lr * (j.T @ r)
        u, v = u - alpha * lr * 2 * u * r, v + alpha * lr * 2 * v * r
    return theta, u * u - v * v, history


def effective_l1_weight(alpha: float, tau: float) -> float:
    """lambda = ln(1/tau^2) / (4 alpha): the l1 weight of the problem Hadamard GD solves."""
    return math.log(1 / tau**2) / (4 * alpha)


def l1_regularized(j, y, lam: float, iters: int = 20000):
    """min 1/2 ||theta||^2 + lam ||s||_1 s.t. y = J theta + s, through its dual
        max_mu  mu^T y - 1/2 ||J^T mu||^2   s.t.  ||mu||_inf <= lam,
    solved by FISTA with projection onto the box; then theta = J^T mu and s = y - J theta.
    (The Lagrangian's minimum over theta is at theta = J^T mu; over s it is finite only when
    |mu_i| <= lam.) Returns (theta, s)."""
    step = 1 / torch.linalg.matrix_norm(j, 2).item() ** 2
    mu = z = torch.zeros(len(y), dtype=DTYPE)
    t = 1.0
    for _ in range(iters):
        grad = y - j @ (j.T @ z)  # gradient of the (concave) dual objective
        mu_next = (z + step * grad).clamp(-lam, lam)
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        z = mu_next + (t - 1) / t_next * (mu_next - mu)
        mu, t = mu_next, t_next
    theta = j.T @ mu
    return theta, y - j @ theta


# ----------------------------------------------------------------------------------------------
# 3. Sparse over-parameterisation for networks
# ----------------------------------------------------------------------------------------------


class SOP(nn.Module):
    """Per-sample corrections s_i = u_i^2 e_{y_i} - v_i o v_i o (1 - e_{y_i}) added to the logits
    of sample i before the cross-entropy. Pass it as `train(..., per_sample=SOP(...))`."""

    def __init__(
        self,
        num_samples: int,
        num_classes: int,
        lr_u: float = 100.0,
        lr_v: float = 100.0,
        init_std: float = 1e-4,
        generator=None,
    ):
        super().__init__()
        self.u = nn.Parameter(init_std * torch.randn(num_samples, generator=generator))
        self.v = nn.Parameter(init_std * torch.randn(num_samples, num_classes, generator=generator))
        self.lr_u, self.lr_v = lr_u, lr_v

    def corrections(self, labels: torch.Tensor, idx: torch.Tensor | None = None) -> torch.Tensor:
        """s_i for the samples `idx` (all when None) with their (noisy) training labels."""
        u, v = (self.u, self.v) if idx is None else (self.u[idx], self.v[idx])
        onehot = F.one_hot(labels, self.v.shape[1]).to(v.dtype)
        return (u * u)[:, None] * onehot - v * v * (1 - onehot)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, idx: torch.Tensor):
        return F.cross_entropy(logits + self.corrections(labels, idx), labels)

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
    scores = torch.as_tensor(scores, dtype=DTYPE)
    positives = torch.as_tensor(positives, dtype=torch.bool)
    pos, neg = scores[positives], scores[~positives]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).to(DTYPE).mean()
    ties = (pos[:, None] == neg[None, :]).to(DTYPE).mean()
    return (greater + 0.5 * ties).item()


def standardized_digits():
    """Digits (train, test) with features standardised by the training set's statistics."""
    train_set, test_set = data.load_digits()
    mean, std = train_set.x.mean(0), train_set.x.std(0) + 1e-6
    return (
        replace(train_set, x=(train_set.x - mean) / std),
        replace(test_set, x=(test_set.x - mean) / std),
    )


def train_with_noise(
    train_set,
    test_set,
    noisy,
    corrupted,
    method: str,
    config,
    seed: int,
    device="cpu",
    progress=None,
    sop_kwargs=None,
    checkpoint_dir=None,
):
    """Train the lecture's network on `train_set` with labels `noisy` by plain cross-entropy
    (method 'ce') or with SOP ('sop'); per epoch, record test accuracy and how many corrupted
    labels the network itself (without s) reproduces. With `checkpoint_dir`, the run writes
    checkpoints there and resumes from them (a finished run is read back, not retrained).
    Returns (history, model, sop or None)."""
    torch.manual_seed(seed)
    noisy_set = replace(train_set, y=noisy)
    if config.model == "mlp":
        model = models.MLP(
            train_set.x.shape[1], train_set.num_classes, width=config.width, depth=config.depth
        )
    else:
        model = models.ResNet18(train_set.num_classes)
    model = model.to(device)
    sop = None
    if method == "sop":
        g = torch.Generator().manual_seed(seed + 1)
        sop = SOP(len(train_set), train_set.num_classes, generator=g, **(sop_kwargs or {}))
    x_train = noisy_set.to(device)
    corrupted_dev = corrupted.to(device)

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
        memorised = (
            (predictions == x_train.y)[corrupted_dev].float().mean().item()
            if corrupted.any()
            else 0.0
        )
        fits_noisy = (predictions == x_train.y).float().mean().item()
        clean = (predictions == train_set.y.to(device))[~corrupted_dev].float().mean().item()
        return {"memorised": memorised, "fits_noisy": fits_noisy, "clean_train_acc": clean}

    history = train(
        model,
        noisy_set,
        config.train,
        test_data=test_set,
        per_sample=sop,
        on_epoch=on_epoch,
        seed=seed,
        progress=progress,
        checkpoint_dir=checkpoint_dir,
        resume=checkpoint_dir is not None,
    )
    return history, model, sop


# ----------------------------------------------------------------------------------------------
# Experiments
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearConfig:
    n: int = 200  # equations (samples)
    p: int = 50  # unknowns
    corrupted: int = 20  # non-zeros of s*
    alpha: float = 0.3  # discrepant learning rate of (u, v)
    tau: float = 1e-6  # initial u = v
    lr: float = 0.3
    steps: int = 10000
    alphas: tuple = (0.1, 0.3, 1.0, 3.0)
    taus: tuple = (1e-2, 1e-4, 1e-6)
    sweep_steps: int = 5000
    threads: int = 1

    @classmethod
    def quick(cls) -> LinearConfig:
        return cls()

    @classmethod
    def full(cls) -> LinearConfig:
        return cls(n=2000, p=500, corrupted=200, steps=50000, sweep_steps=30000, threads=0)


def run_linear(config: LinearConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """Hadamard GD, least squares and the convex l1 problem on one corrupted linear system;
    then the error of Hadamard GD over (alpha, tau). Seconds: no checkpoints."""
    with torch_threads(config.threads):
        g = torch.Generator().manual_seed(seed)
        j, y, theta_star, s_star = linear_problem(config.n, config.p, config.corrupted, g)

        def error(theta):
            return ((theta - theta_star).norm() / theta_star.norm()).item()

        theta, s, history = hadamard_gd(
            j,
            y,
            config.alpha,
            config.tau,
            config.lr,
            config.steps,
            record_every=config.steps // 100,
        )
        lam = effective_l1_weight(config.alpha, config.tau)
        theta_cvx, s_cvx = l1_regularized(j, y, lam)
        theta_ls = torch.linalg.lstsq(j, y[:, None]).solution[:, 0]
        sweep = np.zeros((len(config.alphas), len(config.taus)))
        for a, alpha in enumerate(config.alphas):
            for b, tau in enumerate(config.taus):
                # The (u, v) step alpha * lr times their curvature ~4|s| must stay below 2.
                lr = min(config.lr, 0.1 / alpha)
                sweep[a, b] = error(hadamard_gd(j, y, alpha, tau, lr, config.sweep_steps)[0])
        return {
            "steps": [step for step, _ in history],
            "error_path": [error(t) for _, t in history],
            "theta_error": error(theta),
            "s_error": ((s - s_star).norm() / s_star.norm()).item(),
            "least_squares_error": error(theta_ls),
            "convex_error": error(theta_cvx),
            "gd_vs_convex": ((theta - theta_cvx).norm() / theta_cvx.norm()).item(),
            "lambda": lam,
            "s_true": s_star,
            "s_recovered": s,
            "s_least_squares": y - j @ theta_ls,
            "alphas": list(config.alphas),
            "taus": list(config.taus),
            "sweep_error": sweep,
        }


def plot_linear(result: dict):
    """Left: recovered s against the true s; middle: theta error during GD; right: the sweep."""
    fig, axes = plots.subplots(1, 3, width=4.4, height=3.8)
    index = np.arange(len(result["s_true"]))
    axes[0].stem(
        index,
        np.asarray(result["s_true"]),
        linefmt="C1-",
        markerfmt="C1o",
        basefmt=" ",
        label="true $s^*$",
    )
    axes[0].plot(index, np.asarray(result["s_recovered"]), "C0x", ms=4, label="Hadamard GD")
    axes[0].plot(
        index,
        np.asarray(result["s_least_squares"]),
        ".",
        color="0.6",
        ms=3,
        label="least-squares residual",
    )
    axes[0].set(xlabel="sample i", ylabel="$s_i$", title="Sparse corruption recovered")
    axes[0].legend(fontsize=7)
    axes[1].semilogy(
        result["steps"], result["error_path"], color=plots.OKABE_ITO[0], label="Hadamard GD"
    )
    axes[1].axhline(result["least_squares_error"], color="0.5", ls="--", label="least squares")
    axes[1].set(
        xlabel="GD step",
        ylabel=r"$\|\theta - \theta^*\| / \|\theta^*\|$",
        title="Error of theta during training",
    )
    axes[1].legend(fontsize=8)
    sweep = np.asarray(result["sweep_error"])
    image = axes[2].imshow(np.log10(sweep), cmap="viridis_r", aspect="auto")
    for (a, b), e in np.ndenumerate(sweep):
        axes[2].text(b, a, f"{e:.0e}", ha="center", va="center", fontsize=7, color="white")
    axes[2].set_xticks(range(len(result["taus"])), [f"{t:g}" for t in result["taus"]])
    axes[2].set_yticks(range(len(result["alphas"])), [f"{a:g}" for a in result["alphas"]])
    axes[2].set(
        xlabel=r"initial scale $\tau$",
        ylabel=r"discrepant rate $\alpha$",
        title="Error of theta over (alpha, tau)",
    )
    fig.colorbar(image, ax=axes[2], fraction=0.046, label="log10 error")
    return fig


@dataclass(frozen=True)
class NoisyTrainingConfig:
    dataset: str = "digits"
    model: str = "mlp"
    width: int = 256
    depth: int = 2
    noise: str = "symmetric"
    rates: tuple = (0.4,)
    train: TrainConfig = TrainConfig(epochs=100, batch_size=128, lr=0.1, weight_decay=5e-4)
    sop_lr_u: float = 100.0
    sop_lr_v: float = 100.0
    sop_init_std: float = 1e-4
    threads: int = 1

    @classmethod
    def quick(cls) -> NoisyTrainingConfig:
        return cls()

    @classmethod
    def full(cls) -> NoisyTrainingConfig:
        # ResNet18 on CIFAR-10 (the paper uses ResNet34; same schedule family), 300 epochs.
        return cls(
            dataset="cifar10",
            model="resnet18",
            train=TrainConfig(
                epochs=300, lr=0.02, weight_decay=5e-4, augment=True, checkpoint_every=10
            ),
            sop_lr_u=10.0,
            sop_lr_v=10.0,
            sop_init_std=1e-8,
            threads=0,
        )


def _noisy_data(config, rate, seed):
    """(train, test, noisy train labels, corrupted mask) with synthetic noise at `rate`."""
    train_set, test_set = (
        standardized_digits() if config.dataset == "digits" else data.load(config.dataset)
    )
    g = torch.Generator().manual_seed(seed)
    if config.noise == "symmetric":
        noisy, corrupted = symmetric_noise(train_set.y.cpu(), rate, train_set.num_classes, g)
    else:
        flips = DIGITS_FLIPS if config.dataset == "digits" else CIFAR10_FLIPS
        noisy, corrupted = asymmetric_noise(train_set.y.cpu(), rate, flips, g)
    return train_set, test_set, noisy, corrupted


@dataclass(frozen=True)
class OverfittingConfig(NoisyTrainingConfig):
    @classmethod
    def quick(cls) -> OverfittingConfig:
        return cls()

    @classmethod
    def full(cls) -> OverfittingConfig:
        base = NoisyTrainingConfig.full()
        return cls(**{f: getattr(base, f) for f in base.__dataclass_fields__})


def run_overfitting(
    config: OverfittingConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Cross-entropy on noisy labels: accuracies per epoch, the fraction of corrupted labels the
    network reproduces, and where the corrupted samples' features end up."""
    with torch_threads(config.threads):
        rate = config.rates[-1]
        train_set, test_set, noisy, corrupted = _noisy_data(config, rate, seed)
        folder = Path(checkpoint_dir) / "ce" if checkpoint_dir else None
        history, model, _ = train_with_noise(
            train_set,
            test_set,
            noisy,
            corrupted,
            "ce",
            config,
            seed,
            device,
            progress,
            checkpoint_dir=folder,
        )
        with torch.no_grad():
            feats = model.features(train_set.inputs().to(device)).cpu()
        means = metrics.class_means(feats, noisy, train_set.num_classes)
        nearest = metrics.nearest_class_mean_predict(means, feats)
        test = [h["test_acc"] for h in history]
        return {
            "rate": rate,
            "epochs": [h["epoch"] for h in history],
            "test_acc": test,
            "fits_noisy": [h["fits_noisy"] for h in history],
            "memorised": [h["memorised"] for h in history],
            "clean_train_acc": [h["clean_train_acc"] for h in history],
            "peak_test_acc": max(test),
            "peak_epoch": int(np.argmax(test)) + 1,
            "final_test_acc": test[-1],
            # Of the corrupted samples, the fraction whose feature is nearest to the mean of its
            # *wrong* label's class: the features collapsed onto the wrong classes.
            "collapsed_to_wrong": (nearest == noisy)[corrupted].double().mean().item(),
            "within_between_noisy": metrics.within_between_ratio(
                feats, noisy, train_set.num_classes
            ),
        }


def plot_overfitting(result: dict):
    fig, ax = plots.subplots(width=6.4, height=4.0)
    epochs = result["epochs"]
    ax.plot(
        epochs, result["test_acc"], color=plots.OKABE_ITO[0], label="test accuracy (clean labels)"
    )
    ax.plot(
        epochs,
        result["fits_noisy"],
        color=plots.OKABE_ITO[1],
        label="train: agrees with the noisy labels",
    )
    ax.plot(
        epochs, result["memorised"], color=plots.OKABE_ITO[5], label="corrupted labels memorised"
    )
    ax.axvline(result["peak_epoch"], color="0.6", ls=":", lw=1)
    ax.set(
        xlabel="epoch",
        ylabel="fraction",
        title=f"Cross-entropy with {result['rate']:.0%} symmetric label noise",
    )
    ax.legend(fontsize=8)
    return fig


@dataclass(frozen=True)
class SOPConfig(NoisyTrainingConfig):
    rates: tuple = (0.0, 0.2, 0.4)
    cifar10n_sets: tuple = ()  # CIFAR-10N human label sets to train on (full profile)

    @classmethod
    def quick(cls) -> SOPConfig:
        return cls()

    @classmethod
    def full(cls) -> SOPConfig:
        base = NoisyTrainingConfig.full()
        fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
        sets = ("aggregate", "random1", "random2", "random3", "worst")
        return cls(**{**fields, "rates": (0.0, 0.2, 0.4, 0.6), "cifar10n_sets": sets})


def run_sop(config: SOPConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """CE and SOP at each noise rate: final and best test accuracy, memorised corrupted labels,
    and (SOP) the ROC AUC of ||s_i|| for flagging the corrupted samples."""
    with torch_threads(config.threads):
        sop_kwargs = {
            "lr_u": config.sop_lr_u,
            "lr_v": config.sop_lr_v,
            "init_std": config.sop_init_std,
        }
        runs = {}
        problems = [(f"{rate:g}", *_noisy_data(config, rate, seed)) for rate in config.rates]
        problems += [(name, *load_cifar10n(name)) for name in config.cifar10n_sets]
        for key, train_set, test_set, noisy, corrupted in problems:
            rate = corrupted.float().mean().item()
            for method in ("ce", "sop"):
                history, _, sop = train_with_noise(
                    train_set,
                    test_set,
                    noisy,
                    corrupted,
                    method,
                    config,
                    seed,
                    device,
                    progress,
                    sop_kwargs,
                    Path(checkpoint_dir) / f"{method}_{key}" if checkpoint_dir else None,
                )
                record = {
                    "test_acc": [h["test_acc"] for h in history],
                    "final_test_acc": history[-1]["test_acc"],
                    "best_test_acc": max(h["test_acc"] for h in history),
                    "memorised": history[-1]["memorised"],
                }
                if sop is not None and rate > 0:
                    scores = sop.scores(noisy)
                    record["auc"] = roc_auc(scores, corrupted)
                    record["scores_clean"] = scores[~corrupted]
                    record["scores_corrupted"] = scores[corrupted]
                runs[f"{method} {key}"] = record
        return {
            "rates": list(config.rates),
            "cifar10n_sets": list(config.cifar10n_sets),
            "runs": runs,
        }


def plot_sop(result: dict):
    """Left: test accuracy over epochs, CE vs SOP at the largest rate; middle: final accuracy
    against the rate; right: ||s_i|| of clean and corrupted samples."""
    fig, axes = plots.subplots(1, 3, width=4.4, height=3.8)
    runs, top = result["runs"], max(result["rates"])
    for color, method in [(plots.OKABE_ITO[1], "ce"), (plots.OKABE_ITO[0], "sop")]:
        acc = runs[f"{method} {top:g}"]["test_acc"]
        axes[0].plot(range(1, len(acc) + 1), acc, color=color, label=method.upper())
        finals = [runs[f"{method} {r:g}"]["final_test_acc"] for r in result["rates"]]
        axes[1].plot(result["rates"], finals, "o-", color=color, label=method.upper())
    axes[0].set(xlabel="epoch", ylabel="test accuracy", title=f"{top:.0%} symmetric noise")
    axes[0].legend()
    axes[1].set(
        xlabel="fraction of corrupted labels",
        ylabel="final test accuracy",
        title="Robustness to the noise rate",
    )
    axes[1].legend()
    sop_top = runs[f"sop {top:g}"]
    if "scores_clean" in sop_top:
        bins = np.logspace(-5, 2, 50)
        axes[2].hist(
            np.asarray(sop_top["scores_clean"]) + 1e-5,
            bins=bins,
            alpha=0.7,
            color=plots.OKABE_ITO[2],
            label="clean",
        )
        axes[2].hist(
            np.asarray(sop_top["scores_corrupted"]) + 1e-5,
            bins=bins,
            alpha=0.7,
            color=plots.OKABE_ITO[5],
            label="corrupted",
        )
        axes[2].set_xscale("log")
        axes[2].legend()
    axes[2].set(
        xlabel=r"$\|s_i\|$",
        ylabel="samples",
        title=f"SOP flags the corrupted labels (AUC {sop_top.get('auc', float('nan')):.3f})",
    )
    return fig


LINEAR_FIGURES = {"linear_model": plot_linear}
OVERFITTING_FIGURES = {"overfitting": plot_overfitting}
SOP_FIGURES = {"sop": plot_sop}

# name -> (run, config class, figures, one-line summary), for experiments.py to register.
EXPERIMENTS = {
    "robust_linear": (
        run_linear,
        LinearConfig,
        LINEAR_FIGURES,
        "y = J theta + s: Hadamard GD recovers theta and sparse s, least squares does not",
    ),
    "robust_overfitting": (
        run_overfitting,
        OverfittingConfig,
        OVERFITTING_FIGURES,
        "cross-entropy memorises noisy labels; test accuracy peaks then falls",
    ),
    "robust_sop": (
        run_sop,
        SOPConfig,
        SOP_FIGURES,
        "CE vs sparse over-parameterisation (SOP) at 0/20/40% label noise",
    ),
}
