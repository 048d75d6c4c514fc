"""Lecture 6, over-parameterisation and learning-rate noise: networks with more parameters than
samples fit anything, random labels included (Zhang et al. 2017), yet generalise on real labels,
and generalise better the wider they are (Zagoruyko & Komodakis 2016); wide networks barely move
their weights (the lazy or kernel regime: Jacot, Gabriel & Hongler 2018; Chizat, Oyallon & Bach
2019); the noise of a large learning rate decides *which* patterns a network learns first (Li,
Wei & Ma 2019); and depth pays off on compositional targets (Poggio et al. 2017).

Experiments (quick profile: scikit-learn digits or generated data, CPU, one torch thread; the
times are on a shared 2-core machine; the numbers are for seeds 0-2):
- `overparam_random_labels`: a one-hidden-layer MLP (1024 units) on 600 digits with 0, 25, 50,
  75, 100% random labels, with shuffled pixels and with random pixels: every condition reaches
  100% training accuracy (true labels by epoch 9-12, random ones by epoch 69-78); test accuracy
  0.96-0.97, 0.79-0.83, 0.55-0.63, 0.35-0.38, 0.09-0.10 (chance 0.1); shuffled pixels change
  nothing for an MLP, random pixels give chance; about 25 s.
- `overparam_width`: one-hidden-layer MLPs of width 2 ... 4096 on digits: zero training error
  at 4096, test error 0.016-0.018 there (0.04-0.07 at width 8); the first layer's relative
  movement falls from about 4 (width 16) to 0.1 (width 4096); about 18 s. Full: WRN-40-k on
  CIFAR-10, k = 1, 2, 4, 8.
- `overparam_lazy`: two-layer networks in the NTK parametrisation, full-batch gradient descent
  on 128 digits to the same training loss: log-log slope of the hidden weights' relative
  movement against width -0.54 to -0.55 (theory -1/2), the gap to the linearised model falls
  from 0.2 (width 64) to 0.01 (width 4096); about 5 s.
- `overparam_lr_noise`: the two-pattern data set of Li, Wei & Ma (p = 50, N = 500, 20% P only,
  20% Q only); a 512-unit network whose halves read x1 and x2 apart, with leaky units; SGD
  with lr 1.5 decayed to 0.2 after 20% of 300 epochs against lr 0.2 throughout, three seeds
  trained together (`BatchedMLP`). The small rate first fits the Q-only examples at epoch
  7-20, when its P-only test accuracy is 0.59-0.86; the large rate at epoch 40-70, when it is
  0.88-0.93 (seeds 0-4). Both end below training loss 0.02, and the large-then-decay schedule
  is ahead on every seed 0-9: by 1.5-6.7 points on the P-only test examples, 0.2-1.3 on all.
  With one shared hidden layer the P-only gain shrinks to 0.5-3.0 points (P learned on examples
  with x2 = z carries over only partly to examples without it); with plain ReLUs the large
  rate kills every x2 unit and never fits Q (final loss 0.14). Five seeds took 37 s batched and 47 s
  one by one on one CPU thread (the GPU speed-up is not measured); about 25 s for three
  seeds. Full: also the slide's ResNet comparison and Li, Wei &
  Ma's CIFAR-10 patch experiment.
- `overparam_compositional`: a binary-tree compositional function of 8 variables, 1000
  training points, 500 full-batch Adam steps: the tree-shaped deep network reaches 10%
  relative test MSE with 90-140 parameters (best 0.06-0.09), the deep MLP's best is 0.19-0.24
  and the shallow network's 0.35-0.38, at up to 2500 parameters; about 15 s.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from . import data, models, plots
from .runtime import config_threads
from .train import TrainConfig, evaluate, progress_enabled, train

# ----------------------------------------------------------------------------------------------
# 1. Fitting random labels (Zhang, Bengio, Hardt, Recht & Vinyals 2017)
# ----------------------------------------------------------------------------------------------


def randomize_labels(labels: torch.Tensor, fraction: float, num_classes: int, generator=None):
    """Replace the labels of exactly round(fraction N) samples, chosen at random, by uniformly
    random classes, as Zhang et al. do (a new label may equal the old one, so about
    fraction (1 - 1/K) of the labels change). Returns (labels, mask of the randomised samples)."""
    n = len(labels)
    chosen = torch.randperm(n, generator=generator)[: round(fraction * n)]
    randomised = torch.zeros(n, dtype=torch.bool)
    randomised[chosen] = True
    new = labels.clone()
    new[chosen] = torch.randint(0, num_classes, (len(chosen),), generator=generator).to(
        labels.dtype
    )
    return new, randomised


def shuffle_pixels(x: torch.Tensor, generator=None, per_image: bool = False) -> torch.Tensor:
    """Permute pixel positions: one permutation for every image ('shuffled pixels': the images
    keep their information, only the spatial structure is gone) or a new one per image ('random
    pixels': nothing but the histogram is left). x is (N, C, H, W) images, the same permutation
    for every channel, or (N, D) features."""
    flat = x.reshape(len(x), x.shape[1], -1) if x.dim() == 4 else x.reshape(len(x), 1, -1)
    positions = flat.shape[-1]
    if per_image:
        perms = torch.argsort(torch.rand(len(x), positions, generator=generator), dim=1)
        out = torch.gather(flat, 2, perms[:, None, :].expand_as(flat))
    else:
        out = flat[..., torch.randperm(positions, generator=generator)]
    return out.reshape(x.shape)


def _network(kind: str, in_dim: int, num_classes: int, width: int, depth: int = 1) -> nn.Module:
    if kind == "mlp":
        return models.MLP(in_dim, num_classes, width=width, depth=depth)
    if kind == "resnet18":
        return models.ResNet18(num_classes)
    if kind == "wrn":
        return models.WideResNet(depth, width, num_classes)  # width = widen factor
    raise ValueError(f"unknown network {kind!r}: use 'mlp', 'resnet18' or 'wrn'")


def _train_accuracy(model, train_set) -> float:
    """Accuracy on the whole training set in eval mode (the loop's running accuracy averages
    over an epoch while the weights change)."""
    return evaluate(model, train_set)["acc"]


def _load(dataset: str):
    """(train, test): the digits shipped with scikit-learn, or a named data set."""
    return data.load_digits() if dataset == "digits" else data.load(dataset)


def _fit(
    model, train_set, test_set, schedule, *, seed, progress, checkpoint_dir, run_name, on_epoch=None
):
    """The course's training loop, one checkpoint folder per run (`checkpoint_dir/run_name`),
    resumed when it exists (a finished run is read back, not retrained)."""
    sub = None if checkpoint_dir is None else f"{checkpoint_dir}/{run_name}"
    return train(
        model,
        train_set,
        schedule,
        test_data=test_set,
        on_epoch=on_epoch,
        seed=seed,
        progress=progress,
        checkpoint_dir=sub,
        resume=sub is not None,
    )


@dataclass(frozen=True)
class RandomLabelsConfig:
    dataset: str = "digits"
    model: str = "mlp"
    width: int = 1024  # MLP hidden units (ResNet18 has its own widths)
    depth: int = 1
    train_samples: int | None = 600  # a random subset keeps the quick profile quick
    fractions: tuple = (0.0, 0.25, 0.5, 0.75, 1.0)  # fraction of randomised labels
    pixels: tuple = ("shuffled", "random")  # input corruptions, with the true labels
    train: TrainConfig = TrainConfig(
        epochs=120, batch_size=32, lr=0.1, weight_decay=0.0, schedule="constant"
    )
    threads: int = 1

    @classmethod
    def quick(cls) -> RandomLabelsConfig:
        return cls()

    @classmethod
    def full(cls) -> RandomLabelsConfig:
        # Zhang et al. train without weight decay, dropout or augmentation; ResNet18 here.
        return cls(
            dataset="cifar10",
            model="resnet18",
            train_samples=None,
            train=TrainConfig(
                epochs=150, batch_size=128, lr=0.01, weight_decay=0.0, checkpoint_every=10
            ),
            threads=0,
        )


def _conditions(config: RandomLabelsConfig):
    """(name, fraction of random labels, pixel corruption) for every run."""
    runs = [(f"{round(100 * f)}% random labels", f, "none") for f in config.fractions]
    runs += [(f"{p} pixels", 0.0, p) for p in config.pixels]
    return runs


@config_threads
def run_random_labels(
    config: RandomLabelsConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Train the same network on each label/pixel condition; training curves, final training
    accuracy on the (corrupted) training labels and test accuracy on the true test labels."""
    train_set, test_set = _load(config.dataset)
    if config.train_samples is not None:
        g = torch.Generator().manual_seed(seed)
        train_set = train_set.subset(
            torch.randperm(len(train_set), generator=g)[: config.train_samples]
        )
    runs = []
    for i, (name, fraction, pixels) in enumerate(_conditions(config)):
        g = torch.Generator().manual_seed(1000 * seed + i)
        labels, randomised = randomize_labels(train_set.y, fraction, train_set.num_classes, g)
        tr, te = replace(train_set, y=labels), test_set
        if pixels == "shuffled":
            # One permutation for train and test: the mapping from image to label is kept.
            perm_seed = int(torch.randint(0, 2**31, (1,), generator=g))
            tr = replace(tr, x=shuffle_pixels(tr.x, torch.Generator().manual_seed(perm_seed)))
            te = replace(te, x=shuffle_pixels(te.x, torch.Generator().manual_seed(perm_seed)))
        elif pixels == "random":
            tr = replace(tr, x=shuffle_pixels(tr.x, g, per_image=True))
            te = replace(te, x=shuffle_pixels(te.x, g, per_image=True))
        torch.manual_seed(seed)
        in_dim = int(np.prod(tr.x.shape[1:]))
        model = _network(config.model, in_dim, tr.num_classes, config.width, config.depth)
        model = model.to(device)
        history = _fit(
            model,
            tr,
            te,
            config.train,
            seed=seed,
            progress=progress,
            checkpoint_dir=checkpoint_dir,
            run_name=f"condition{i}",
        )
        train_acc = [h["train_acc"] for h in history]
        runs.append(
            {
                "name": name,
                "fraction": fraction,
                "pixels": pixels,
                "changed": float((labels != train_set.y)[randomised].float().sum() / len(labels)),
                "train_loss": [h["train_loss"] for h in history],
                "train_acc": train_acc,
                "test_acc": [h["test_acc"] for h in history],
                "final_train_acc": _train_accuracy(model, tr.to(device)),
                "final_test_acc": history[-1]["test_acc"],
                "epochs_to_fit": next(
                    (h["epoch"] for h in history if h["train_acc"] >= 0.999), None
                ),
            }
        )
    return {"chance": 1.0 / train_set.num_classes, "runs": runs, "data": train_set.name}


def plot_random_labels(result: dict):
    """Left: training loss per epoch for every condition; right: test accuracy against the
    fraction of random labels, the pixel conditions as separate markers."""
    fig, axes = plots.subplots(1, 2, width=5.6, height=3.9)
    label_runs = [r for r in result["runs"] if r["pixels"] == "none"]
    pixel_runs = [r for r in result["runs"] if r["pixels"] != "none"]
    for k, r in enumerate(result["runs"]):
        style = "-" if r["pixels"] == "none" else "--"
        epochs = np.arange(1, len(r["train_loss"]) + 1)
        axes[0].semilogy(epochs, r["train_loss"], style, label=r["name"], color=f"C{k % 8}")
    axes[0].set(xlabel="epoch", ylabel="training loss", title="Every condition is fitted")
    axes[0].legend(fontsize=8)
    fractions = [r["fraction"] for r in label_runs]
    axes[1].plot(fractions, [r["final_test_acc"] for r in label_runs], "o-", label="test")
    axes[1].plot(
        fractions, [r["final_train_acc"] for r in label_runs], "s:", label="train (given labels)"
    )
    for k, r in enumerate(pixel_runs):
        axes[1].plot(
            [0.0], [r["final_test_acc"]], "D", color=f"C{(k + 3) % 8}", label=f"test, {r['name']}"
        )
    axes[1].axhline(result["chance"], color="gray", ls="--", lw=1, label="chance")
    axes[1].set(
        xlabel="fraction of random training labels",
        ylabel="accuracy",
        ylim=(0, 1.05),
        title="Test accuracy falls to chance",
    )
    axes[1].legend(fontsize=8)
    return fig


# ----------------------------------------------------------------------------------------------
# 2. Width: generalisation and the lazy regime
# ----------------------------------------------------------------------------------------------

# Zagoruyko & Komodakis (2016), Table 4 as on the lecture slide: WRN-40-k on CIFAR-10 with
# standard augmentation, zero training error, test error in percent.
WRN_TABLE = {
    1: {"params_m": 0.6, "test_error": 6.85},
    2: {"params_m": 2.2, "test_error": 5.33},
    4: {"params_m": 8.9, "test_error": 4.97},
    8: {"params_m": 36.5, "test_error": 4.66},
}


def relative_movement(params, params_init) -> float:
    """||theta - theta_0|| / ||theta_0|| over the given tensors together (Frobenius norms)."""
    num = sum(float(((p - q) ** 2).sum()) for p, q in zip(params, params_init))
    den = sum(float((q**2).sum()) for q in params_init)
    return math.sqrt(num / den)


@dataclass(frozen=True)
class WidthConfig:
    dataset: str = "digits"
    model: str = "mlp"  # one hidden layer; 'wrn' in the full profile
    depth: int = 1  # hidden layers of the MLP, or the WRN depth
    widths: tuple = (2, 4, 8, 16, 64, 256, 1024, 4096)  # hidden units or widen factor
    train: TrainConfig = TrainConfig(
        epochs=60, batch_size=64, lr=0.05, weight_decay=0.0, schedule="cosine"
    )
    threads: int = 1

    @classmethod
    def quick(cls) -> WidthConfig:
        return cls()

    @classmethod
    def full(cls) -> WidthConfig:
        # The WRN paper's CIFAR-10 recipe: SGD, Nesterov momentum 0.9, weight decay 5e-4,
        # batch 128, lr 0.1 x 0.2 at epochs 60, 120, 160 of 200, crop + flip augmentation.
        return cls(
            dataset="cifar10",
            model="wrn",
            depth=40,
            widths=(1, 2, 4, 8),
            train=TrainConfig(
                epochs=200,
                batch_size=128,
                lr=0.1,
                nesterov=True,
                weight_decay=5e-4,
                schedule="step",
                milestones=(0.3, 0.6, 0.8),
                gamma=0.2,
                augment=True,
                checkpoint_every=10,
            ),
            threads=0,
        )


@config_threads
def run_width(config: WidthConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """Train one network per width: final training and test error, parameter count, curves, and
    how far the first layer and the classifier moved from initialisation."""
    train_set, test_set = _load(config.dataset)
    in_dim = int(np.prod(train_set.x.shape[1:]))
    runs = []
    for width in config.widths:
        torch.manual_seed(seed)
        model = _network(config.model, in_dim, train_set.num_classes, width, config.depth)
        model = model.to(device)
        first = next(p for p in model.parameters() if p.dim() > 1)  # the first weight matrix
        first_init = first.detach().clone()
        head_init = model.classifier.weight.detach().clone()
        history = _fit(
            model,
            train_set,
            test_set,
            config.train,
            seed=seed,
            progress=progress,
            checkpoint_dir=checkpoint_dir,
            run_name=f"width{width}",
        )
        runs.append(
            {
                "width": width,
                "params": models.count_parameters(model),
                "train_error": 1 - _train_accuracy(model, train_set.to(device)),
                "test_error": 1 - history[-1]["test_acc"],
                "train_error_curve": [1 - h["train_acc"] for h in history],
                "test_error_curve": [1 - h["test_acc"] for h in history],
                "movement_first": relative_movement([first.detach()], [first_init]),
                "movement_head": relative_movement([model.classifier.weight.detach()], [head_init]),
            }
        )
    n = len(train_set)
    return {"runs": runs, "train_size": n, "data": train_set.name, "model": config.model}


def plot_width(result: dict):
    """Left: train and test error against parameter count (the seed's WRN table beside a full
    run); right: relative movement of the first layer against width."""
    fig, axes = plots.subplots(1, 2, width=5.6, height=3.9)
    runs = result["runs"]
    params = [r["params"] for r in runs]
    axes[0].semilogx(params, [100 * r["train_error"] for r in runs], "s:", label="train")
    axes[0].semilogx(params, [100 * r["test_error"] for r in runs], "o-", label="test")
    if result.get("model") == "wrn":
        axes[0].semilogx(
            [1e6 * v["params_m"] for v in WRN_TABLE.values()],
            [v["test_error"] for v in WRN_TABLE.values()],
            "k^--",
            label="Zagoruyko & Komodakis",
        )
    axes[0].axvline(result["train_size"], color="gray", ls="--", lw=1, label="# training samples")
    axes[0].set(xlabel="parameters", ylabel="error (%)", title="Wider fits, and generalises")
    axes[0].legend()
    widths = [r["width"] for r in runs]
    axes[1].loglog(widths, [r["movement_first"] for r in runs], "o-", label="first layer")
    axes[1].loglog(widths, [r["movement_head"] for r in runs], "s--", label="classifier")
    axes[1].set(
        xlabel="width",
        ylabel=r"$\|W - W_0\|_F / \|W_0\|_F$",
        title="Wider networks move less",
    )
    axes[1].legend()
    return fig


class NTKNetwork(nn.Module):
    """f(x) = a^T relu(W x / sqrt(d)) / sqrt(m), every entry of W (m, d) and a (m, k) standard
    normal: the NTK parametrisation, in which the kernel has a limit as m -> infinity and one
    learning rate suits every width."""

    def __init__(self, in_dim: int, width: int, out_dim: int, generator=None):
        super().__init__()
        self.W = nn.Parameter(torch.randn(width, in_dim, generator=generator))
        self.a = nn.Parameter(torch.randn(width, out_dim, generator=generator))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d, m = self.W.shape[1], self.W.shape[0]
        return F.relu(x @ self.W.T / math.sqrt(d)) @ self.a / math.sqrt(m)


def linearized_output(model: NTKNetwork, params0: dict, x: torch.Tensor) -> torch.Tensor:
    """The first-order Taylor model at initialisation, f0(x) + J(theta_0)(theta - theta_0),
    written out for this network: with h = relu(x W0^T / sqrt d) and D = 1{x W0^T > 0},
        f_lin(x) = [h a0 + h (a - a0) + (D o (x (W - W0)^T / sqrt d)) a0] / sqrt m."""
    w0, a0 = params0["W"], params0["a"]
    m, d = w0.shape
    pre0 = x @ w0.T / math.sqrt(d)
    h0, active = F.relu(pre0), (pre0 > 0).to(x.dtype)
    with torch.no_grad():
        d_pre = x @ (model.W - w0).T / math.sqrt(d)  # the change of the pre-activations
        return (h0 @ model.a + (active * d_pre) @ a0) / math.sqrt(m)


@dataclass(frozen=True)
class LazyConfig:
    samples: int = 128  # digits, targets one-hot minus 1/K
    widths: tuple = (64, 128, 256, 512, 1024, 2048, 4096)
    lr: float = 2.0
    target_loss: float = 0.02  # stop every width at this mean squared error (relative)
    max_steps: int = 2000
    threads: int = 1

    @classmethod
    def quick(cls) -> LazyConfig:
        return cls()

    @classmethod
    def full(cls) -> LazyConfig:
        return cls(samples=1024, widths=(32, 64, 128, 256, 512, 1024, 2048, 4096, 16384, 65536))


def fit_slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


@config_threads
def run_lazy(config: LazyConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """Full-batch gradient descent on the squared loss, NTK parametrisation, each width stopped
    at the same relative training loss: movement of W, a and all weights, and the gap to the
    linearised model on held-out inputs."""
    train_set, test_set = data.load_digits()
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(train_set), generator=g)[: config.samples]
    mean, std = train_set.x.mean(0), train_set.x.std(0) + 1e-3
    x = ((train_set.x[idx] - mean) / std).to(device)
    x_test = ((test_set.x - mean) / std).to(device)
    k = train_set.num_classes
    y = (F.one_hot(train_set.y[idx], k).float() - 1.0 / k).to(device)
    scale = float((y**2).mean())
    runs = []
    for width in config.widths:
        gen = torch.Generator().manual_seed(seed + 1)
        model = NTKNetwork(x.shape[1], width, k, generator=gen).to(device)
        params0 = {n: p.detach().clone() for n, p in model.named_parameters()}
        f0 = model(x).detach()
        step = 0
        while True:
            # Train on the residual to the initial output, so that every width starts from
            # f = 0 (the random initial function would otherwise add width-dependent noise).
            loss_t = ((model(x) - f0 - y) ** 2).mean()
            loss = float(loss_t.detach()) / scale
            if loss <= config.target_loss or step == config.max_steps:
                break
            step += 1
            model.zero_grad()
            loss_t.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= config.lr * k * p.grad  # k: the mean runs over outputs too
        with torch.no_grad():
            out = model(x_test)
        lin = linearized_output(model, params0, x_test).detach()
        moved = out - model_at(params0, model, x_test)  # what training changed
        runs.append(
            {
                "width": width,
                "steps": step,
                "loss": loss,
                "movement_W": relative_movement([model.W.detach()], [params0["W"]]),
                "movement_a": relative_movement([model.a.detach()], [params0["a"]]),
                "movement_all": relative_movement(
                    [model.W.detach(), model.a.detach()], [params0["W"], params0["a"]]
                ),
                # Relative to how far the outputs moved: 0 means training was exactly linear.
                "linearization_gap": float((out - lin).norm() / moved.norm()),
            }
        )
    widths = [r["width"] for r in runs]
    return {
        "runs": runs,
        "slope_W": fit_slope(widths, [r["movement_W"] for r in runs]),
        "slope_all": fit_slope(widths, [r["movement_all"] for r in runs]),
        "slope_gap": fit_slope(widths, [r["linearization_gap"] for r in runs]),
    }


def model_at(params: dict, model: NTKNetwork, x: torch.Tensor) -> torch.Tensor:
    """The output of the network with weights params['W'], params['a']."""
    m, d = params["W"].shape
    with torch.no_grad():
        return F.relu(x @ params["W"].T / math.sqrt(d)) @ params["a"] / math.sqrt(m)


def plot_lazy(result: dict):
    """Relative movement of the weights and the distance to the linearised model, log-log
    against width, with the width^-1/2 reference."""
    fig, ax = plots.subplots(1, 1, width=6.4, height=4.2)
    runs = result["runs"]
    widths = np.array([r["width"] for r in runs], dtype=float)
    ax.loglog(widths, [r["movement_W"] for r in runs], "o-", label="hidden weights W")
    ax.loglog(widths, [r["movement_a"] for r in runs], "s-", label="output weights a")
    ax.loglog(
        widths, [r["linearization_gap"] for r in runs], "D--", label="gap to linearised model"
    )
    ref = runs[0]["movement_W"] * np.sqrt(widths[0] / widths)
    ax.loglog(widths, ref, "k:", lw=1, label=r"$\propto m^{-1/2}$")
    ax.set(
        xlabel="width m",
        ylabel="relative change",
        title=f"Lazy training: slope {result['slope_W']:.2f} for W",
    )
    ax.legend()
    return fig


# ----------------------------------------------------------------------------------------------
# 4. Deep vs shallow on compositional functions (Poggio, Mhaskar, Rosasco, Miranda & Liao 2017)
# ----------------------------------------------------------------------------------------------


def node_function(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The constituent function at every node of the tree: smooth, maps [-1, 1]^2 into (-1, 1)
    and is not a sum of one-variable functions (the a*b term)."""
    return torch.tanh(2.0 * a * b + a - b)


def compositional_target(x: torch.Tensor) -> torch.Tensor:
    """f(x_1, ..., x_d), d a power of two, on a binary tree: the leaves are the inputs, each
    node applies `node_function` to its two children, so
    f = h(h(h(x1, x2), h(x3, x4)), h(h(x5, x6), h(x7, x8))) for d = 8."""
    level = x
    if level.shape[1] & (level.shape[1] - 1):
        raise ValueError(f"the binary tree needs d a power of two, not {level.shape[1]}")
    while level.shape[1] > 1:
        level = node_function(level[:, 0::2], level[:, 1::2])
    return level[:, 0]


class TreeNetwork(nn.Module):
    """A deep network shaped like the target's tree: every internal node is its own small MLP
    (2 -> hidden -> 1, tanh) on its two children's outputs. log2(d) levels, d - 1 nodes,
    (d - 1)(4 hidden + 1) parameters. The nodes of a level run as one batched product."""

    def __init__(self, d: int, hidden: int):
        super().__init__()
        self.levels = nn.ParameterList()
        nodes = d // 2
        while nodes >= 1:
            self.levels.append(nn.Parameter(torch.randn(nodes, 2, hidden) / math.sqrt(2)))
            self.levels.append(nn.Parameter(torch.zeros(nodes, hidden)))
            self.levels.append(nn.Parameter(torch.randn(nodes, hidden) / math.sqrt(hidden)))
            self.levels.append(nn.Parameter(torch.zeros(nodes)))
            nodes //= 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level = x
        for i in range(0, len(self.levels), 4):
            w1, b1, w2, b2 = self.levels[i : i + 4]
            pairs = level.reshape(len(x), -1, 2)  # (B, nodes, 2): the two children
            hidden = torch.tanh(torch.einsum("bnc,nch->bnh", pairs, w1) + b1)
            level = (hidden * w2).sum(-1) + b2  # (B, nodes)
        return level[:, 0]


def shallow_network(d: int, width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(d, width), nn.Tanh(), nn.Linear(width, 1), nn.Flatten(0))


def deep_network(d: int, width: int, depth: int) -> nn.Module:
    layers, fan_in = [], d
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width), nn.Tanh()]
        fan_in = width
    return nn.Sequential(*layers, nn.Linear(width, 1), nn.Flatten(0))


@dataclass(frozen=True)
class CompositionalConfig:
    d: int = 8
    train_samples: int = 1000
    test_samples: int = 2000
    shallow_widths: tuple = (4, 16, 64, 256)
    deep_widths: tuple = (4, 8, 16, 32)  # deep MLP with log2(d) hidden layers
    tree_hidden: tuple = (1, 2, 4, 8)  # hidden units per tree node
    steps: int = 500  # full-batch Adam, cosine-decayed learning rate
    lr: float = 0.01
    target_error: float = 0.1  # relative test MSE at which "parameters needed" is read off
    threads: int = 1

    @classmethod
    def quick(cls) -> CompositionalConfig:
        return cls()

    @classmethod
    def full(cls) -> CompositionalConfig:
        return cls(
            d=16,
            train_samples=50000,
            test_samples=10000,
            shallow_widths=(4, 16, 64, 256, 1024, 4096),
            deep_widths=(4, 8, 16, 32, 64, 128),
            tree_hidden=(1, 2, 4, 8, 16, 32),
            steps=20000,
            threads=0,
        )


def fit_regression(model, x, y, x_test, y_test, steps: int, lr: float, progress=None) -> float:
    """Full-batch Adam on the squared loss; returns the relative test MSE, mean((f - y)^2) /
    var(y)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(steps):
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    with torch.no_grad():
        return float(F.mse_loss(model(x_test), y_test) / y_test.var())


def parameters_needed(params, errors, target: float) -> float | None:
    """The parameter count at which the error first reaches `target`, interpolated log-log
    between the two sweep points around it; None if no network in the sweep reaches it."""
    pairs = sorted(zip(params, errors))
    for (p0, e0), (p1, e1) in zip(pairs[:-1], pairs[1:]):
        if e0 <= target:
            return float(p0)
        if e1 <= target:
            t = (math.log(e0) - math.log(target)) / (math.log(e0) - math.log(e1))
            return float(math.exp(math.log(p0) + t * (math.log(p1) - math.log(p0))))
    return float(pairs[0][0]) if pairs and pairs[0][1] <= target else None


@config_threads
def run_compositional(
    config: CompositionalConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Test error against parameter count for the three families on the tree target."""
    g = torch.Generator().manual_seed(seed)
    x = (2 * torch.rand(config.train_samples, config.d, generator=g) - 1).to(device)
    x_test = (2 * torch.rand(config.test_samples, config.d, generator=g) - 1).to(device)
    y, y_test = compositional_target(x), compositional_target(x_test)
    depth = int(math.log2(config.d))
    families = {
        "shallow (1 hidden layer)": [
            (w, lambda w=w: shallow_network(config.d, w)) for w in config.shallow_widths
        ],
        f"deep MLP ({depth} hidden layers)": [
            (w, lambda w=w: deep_network(config.d, w, depth)) for w in config.deep_widths
        ],
        "deep, shaped like the tree": [
            (h, lambda h=h: TreeNetwork(config.d, h)) for h in config.tree_hidden
        ],
    }

    total = sum(len(v) for v in families.values())
    bar = tqdm(total=total, desc="networks", disable=not progress_enabled(progress))
    out = {}
    for name, makers in families.items():
        rows = []
        for size, make in makers:
            torch.manual_seed(seed)
            model = make().to(device)
            error = fit_regression(model, x, y, x_test, y_test, config.steps, config.lr)
            rows.append({"size": size, "params": models.count_parameters(model), "error": error})
            bar.update()
        out[name] = {
            "runs": rows,
            "needed": parameters_needed(
                [r["params"] for r in rows], [r["error"] for r in rows], config.target_error
            ),
        }
    bar.close()
    return {"families": out, "target_error": config.target_error, "d": config.d}


def plot_compositional(result: dict):
    """Relative test error against parameters, one curve per family, the target as a line."""
    fig, ax = plots.subplots(1, 1, width=6.4, height=4.2)
    for k, (name, fam) in enumerate(result["families"].items()):
        runs = fam["runs"]
        ax.loglog(
            [r["params"] for r in runs], [r["error"] for r in runs], "os^"[k % 3] + "-", label=name
        )
    ax.axhline(result["target_error"], color="gray", ls="--", lw=1, label="target error")
    ax.set(
        xlabel="parameters",
        ylabel="relative test MSE",
        title=f"A binary-tree function of {result['d']} variables",
    )
    ax.legend()
    return fig


# ----------------------------------------------------------------------------------------------
# 3. Learning-rate noise: which pattern is learned first (Li, Wei & Ma 2019)
# ----------------------------------------------------------------------------------------------

# Example types of the two-pattern data set.
BOTH, P_ONLY, Q_ONLY = 0, 1, 2
KIND_NAMES = {BOTH: "both patterns", P_ONLY: "P only", Q_ONLY: "Q only"}


@dataclass(frozen=True)
class TwoPatternSpec:
    """The data set of the lecture slide (after Li, Wei & Ma 2019), x = (x1, x2) in R^{2p}:
    - P, in x1: x1 ~ N(0, p_scale^2 I_p), y = 1{<w, x1> >= 0}: a linear rule in p dimensions,
      easy to fit, but it needs many examples to generalise;
    - Q, in x2: x2 = z if y = 0 and z +- delta e if y = 1 (random sign): three points, no noise,
      but not linearly separable, so a network must build a nonlinear feature at scale delta;
    - an example carries both (fraction 1 - frac_p - frac_q), P only (x2 = 0), or Q only
      (x1 = 0, y a fair coin)."""

    p: int = 50
    frac_p: float = 0.2
    frac_q: float = 0.2
    p_scale: float = 0.1
    z_norm: float = 2.0
    delta: float = 0.5


def two_pattern_data(spec: TwoPatternSpec, n: int, directions, generator=None):
    """n examples of the two-pattern distribution: (x (n, 2p) float32, y (n,), kind (n,)).
    `directions` = (w, z, e) from `pattern_directions`: shared by train and test sets. The
    numbers of each kind are exact: round(frac_p n) P-only, round(frac_q n) Q-only."""
    w, z, e = directions
    kind = torch.full((n,), BOTH, dtype=torch.long)
    order = torch.randperm(n, generator=generator)
    n_p, n_q = round(spec.frac_p * n), round(spec.frac_q * n)
    kind[order[:n_p]] = P_ONLY
    kind[order[n_p : n_p + n_q]] = Q_ONLY
    x1 = torch.randn(n, spec.p, generator=generator)
    y = (x1 @ w >= 0).long()
    coin = torch.randint(0, 2, (n,), generator=generator)
    y = torch.where(kind == Q_ONLY, coin, y)
    sign = (2 * torch.randint(0, 2, (n,), generator=generator) - 1).float()
    x2 = z + (y.float() * sign)[:, None] * spec.delta * e
    x1[kind == Q_ONLY] = 0
    x2[kind == P_ONLY] = 0
    return torch.cat([spec.p_scale * x1, x2], 1), y, kind


def pattern_directions(spec: TwoPatternSpec, generator=None):
    """(w, z, e): unit w, z of norm z_norm, unit e orthogonal to z."""
    w = torch.randn(spec.p, generator=generator)
    z = torch.randn(spec.p, generator=generator)
    e = torch.randn(spec.p, generator=generator)
    e = e - (e @ z) / (z @ z) * z
    return w / w.norm(), spec.z_norm * z / z.norm(), e / e.norm()


@dataclass(frozen=True)
class PatchSpec:
    """Li, Wei & Ma's patch experiment on CIFAR-10, with the defaults of their public code: a
    size x size patch in the centre of the image, written over the normalised pixels, equal to
    z + s v_c. z = z_scale N(0, I) is shared by every class (large, easy to see); v_c, uniform
    in [-separation, separation] per class c, is the class signal (small, easy to memorise,
    hard to pick up under noise); s = +-1 at random. A fraction `patched` of the images gets a
    patch; of those a fraction `patch_only` keeps only the patch (the rest of the image is set
    to 0), with v_c scaled by patch_only_scale U(0, 1). Image and patch play P and Q: a patched
    image carries both, a clean one P only, a patch alone Q only."""

    size: int = 7
    z_scale: float = 1.25
    separation: float = 0.1
    patched: float = 0.8
    patch_only: float = 0.2
    patch_only_scale: float = 1.75


def patch_patterns(spec: PatchSpec, channels: int, num_classes: int, generator=None):
    """(z (C, size, size), v (classes, C, size, size)) for `add_patches`."""
    shape = (channels, spec.size, spec.size)
    z = spec.z_scale * torch.randn(shape, generator=generator)
    v = spec.separation * (2 * torch.rand((num_classes, *shape), generator=generator) - 1)
    return z, v


def add_patches(x: torch.Tensor, y: torch.Tensor, spec: PatchSpec, patterns, generator=None):
    """Patched copies of the normalised float images x (N, C, H, W) with labels y: (x', kind),
    kind BOTH (image and patch), P_ONLY (the image untouched) or Q_ONLY (patch alone). The
    patch, sign and scale are drawn once here (their code redraws the sign and the patch-only
    scale every epoch)."""
    z, v = patterns
    n, size = len(y), spec.size
    has_patch = torch.rand(n, generator=generator) < spec.patched
    only = has_patch & (torch.rand(n, generator=generator) < spec.patch_only)
    kind = torch.full((n,), P_ONLY, dtype=torch.long)
    kind[has_patch] = BOTH
    kind[only] = Q_ONLY
    sign = 2 * torch.randint(0, 2, (n,), generator=generator).float() - 1
    scale = spec.patch_only_scale * torch.rand(n, generator=generator)
    factor = torch.where(only, sign * scale, sign)
    out = x.clone()
    out[only] = 0
    top, left = (x.shape[2] - size) // 2, (x.shape[3] - size) // 2
    patch = z + factor[:, None, None, None] * v[y]
    out[has_patch, :, top : top + size, left : left + size] = patch[has_patch]
    return out, kind


@dataclass(frozen=True)
class LRNoiseConfig:
    spec: TwoPatternSpec = TwoPatternSpec()
    train_samples: int = 500  # N = 2p / tau with p = 50, tau = 0.2 (the theorem's N ~ p / tau)
    test_samples: int = 2000
    width: int = 512
    # One half of the hidden units reads x1, the other x2, and the output adds them: what is
    # learned about P on examples that carry Q then holds on examples without Q. With one
    # shared layer it holds only partly (x2 = z switches on a different set of units), and the
    # P-only gain shrinks from 1.5-6.7 to 0.5-3.0 points (seeds 0-4).
    split: bool = True
    # Leaky units: with plain ReLUs the large rate kills every unit that reads x2 (0 of 256
    # still active on the Q points after 60 epochs at lr 1.5), and Q can never be learned
    # after the decay (final loss 0.14).
    negative_slope: float = 0.2
    large_lr: float = 1.5
    small_lr: float = 0.2  # also the large-rate run's rate after the decay
    epochs: int = 300
    decay_at: float = 0.2  # fraction of training at which the large rate drops to small_lr
    batch_size: int = 50
    seeds: int = 3  # independent draws of data and initialisation, trained together
    images: str | None = None  # also compare the schedules on real images ('cifar10', full)
    image_epochs: int = 164
    patch_images: str | None = None  # Li, Wei & Ma's patch experiment on these ('cifar10')
    patch: PatchSpec = PatchSpec()
    patch_epochs: int = 60
    patch_widen: int = 10  # WRN-16-10, the network of their code
    threads: int = 1

    @classmethod
    def quick(cls) -> LRNoiseConfig:
        return cls()

    @classmethod
    def full(cls) -> LRNoiseConfig:
        # The same N = 2p / tau at four times the dimension, a wider network and ten seeds.
        # Still generated data (no download); the real-image comparisons come on top.
        return cls(
            spec=TwoPatternSpec(p=200),
            train_samples=2000,
            test_samples=20000,
            width=2048,
            seeds=10,
            images="cifar10",
            patch_images="cifar10",
            threads=0,
        )

    @property
    def decay_epoch(self) -> int:
        return round(self.decay_at * self.epochs)

    def image_schedules(self) -> dict[str, TrainConfig]:
        """The slide's comparison on CIFAR-10 (ResNet-32 there, ResNet18 here): SGD with
        momentum 0.9, weight decay 1e-4, batch 128, augmentation; lr 0.1 divided by 10 at
        epochs 81 and 122 of 164 (He et al.'s CIFAR schedule), against lr 0.001 throughout.
        The slide's small-rate run lasted 5000 epochs; here both get the same epochs."""
        base = TrainConfig(
            epochs=self.image_epochs,
            batch_size=128,
            momentum=0.9,
            weight_decay=1e-4,
            augment=True,
            checkpoint_every=10,
        )
        return {
            "large lr, then decay": replace(
                base, lr=0.1, schedule="step", milestones=(81 / 164, 122 / 164), gamma=0.1
            ),
            "small lr": replace(base, lr=0.001, schedule="constant"),
        }

    def patch_schedules(self) -> dict[str, TrainConfig]:
        """Li, Wei & Ma's patch experiment (their public code): WRN-16-10, SGD with Nesterov
        momentum 0.9, weight decay 5e-4, batch 128, no augmentation, 60 epochs; lr 0.1
        multiplied by 0.04 from the 30th epoch on, against lr 0.004 throughout. In float32, as
        theirs: bf16 would round the patch's class signal (+-0.1 on values near 1.25)."""
        base = TrainConfig(
            epochs=self.patch_epochs,
            batch_size=128,
            momentum=0.9,
            nesterov=True,
            weight_decay=5e-4,
            augment=False,
            mixed_precision=False,
            checkpoint_every=5,
        )
        return {
            "large lr, then decay": replace(
                base, lr=0.1, schedule="step", milestones=(29 / 60,), gamma=0.04
            ),
            "small lr": replace(base, lr=0.004, schedule="constant"),
        }

    def schedules(self) -> dict[str, tuple[float, float]]:
        """name -> (learning rate before the decay epoch, after it); plain SGD for both."""
        return {
            "large lr, then decay": (self.large_lr, self.small_lr),
            "small lr": (self.small_lr, self.small_lr),
        }


class BatchedMLP(nn.Module):
    """S independent one-hidden-layer networks evaluated together by batched matrix products
    (torch.baddbmm), so that the S runs of a seed sweep take their SGD steps in one Python
    step. Built from S `models.MLP(depth=1)`, whose initial weights it copies.

    `split=k` cuts the hidden layer in two halves: the first reads only inputs [:k], the second
    only inputs [k:], and the output adds them, f(x) = g(x[:k]) + h(x[k:]). `negative_slope`
    makes the units leaky ReLUs (0 is the plain ReLU)."""

    def __init__(self, nets: list, split: int | None = None, negative_slope: float = 0.0):
        super().__init__()

        def stack(get):
            return nn.Parameter(torch.stack([get(net).detach().clone() for net in nets]))

        self.w1 = stack(lambda net: net.body[0].weight)  # (S, hidden, in)
        self.b1 = stack(lambda net: net.body[0].bias)  # (S, hidden)
        self.w2 = stack(lambda net: net.classifier.weight)  # (S, classes, hidden)
        self.b2 = stack(lambda net: net.classifier.bias)  # (S, classes)
        self.negative_slope = negative_slope
        hidden, inputs = self.w1.shape[1:]
        mask = torch.ones(hidden, inputs)
        if split is not None:
            mask[: hidden // 2, split:] = 0
            mask[hidden // 2 :, :split] = 0
        # Masked weights get no gradient: they never act. (The copied initial weights are
        # scaled for all inputs, so with a split each unit starts 1/sqrt(2) smaller.)
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (S, B, in) -> (S, B, classes)
        pre = torch.baddbmm(self.b1[:, None, :], x, (self.w1 * self.mask).transpose(1, 2))
        hidden = F.leaky_relu(pre, self.negative_slope)
        return torch.baddbmm(self.b2[:, None, :], hidden, self.w2.transpose(1, 2))


def _kind_accuracy(logits, y, kind) -> dict:
    correct = logits.argmax(1) == y
    return {name: float(correct[kind == k].float().mean()) for k, name in KIND_NAMES.items()}


def train_sweep(
    model: BatchedMLP, train_sets, test_sets, lrs, decay_epoch, config, generators, progress=None
) -> list[list[dict]]:
    """Plain SGD (no momentum, no weight decay) on S runs at once: run s sees its own data
    train_sets[s] = (x, y, kind) in its own batch order (generators[s]); the loss summed over
    runs keeps their gradients apart. Per epoch and run: training loss, accuracy on each kind of
    training example, and test accuracy overall and by kind."""
    x, y, kind = (torch.stack(t) for t in zip(*train_sets))  # (S, n, D), (S, n), (S, n)
    x_te, y_te, kind_te = (torch.stack(t) for t in zip(*test_sets))
    runs, n = x.shape[0], x.shape[1]
    bs = config.batch_size
    histories = [[] for _ in range(runs)]
    bar = tqdm(range(config.epochs), desc="sweep", disable=not progress_enabled(progress))
    for epoch in bar:
        lr = lrs[0] if epoch < decay_epoch else lrs[1]
        perms = torch.stack([torch.randperm(n, generator=g) for g in generators]).to(x.device)
        for i in range(n // bs):
            idx = perms[:, i * bs : (i + 1) * bs]  # (S, B)
            xb = torch.gather(x, 1, idx[..., None].expand(-1, -1, x.shape[2]))
            logits = model(xb)
            loss = (
                F.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]),
                    torch.gather(y, 1, idx).reshape(-1),
                    reduction="sum",
                )
                / bs
            )
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad
        with torch.no_grad():
            out, out_te = model(x), model(x_te)
        for s in range(runs):
            histories[s].append(
                {
                    "lr": lr,
                    "loss": float(F.cross_entropy(out[s], y[s])),
                    "train_by_kind": _kind_accuracy(out[s], y[s], kind[s]),
                    "test_acc": float((out_te[s].argmax(1) == y_te[s]).float().mean()),
                    "test_by_kind": _kind_accuracy(out_te[s], y_te[s], kind_te[s]),
                }
            )
    return histories


def _lr_noise_summary(seed: int, history: list[dict], decay: int) -> dict:
    """One run's epoch history and what the lecture reads from it: when Q was first fitted
    (the first epoch with Q-only training accuracy >= 0.9, 1-based; None if never) and how
    well P generalised at that moment, the Q-only training accuracy just before the
    decay, and the final loss and test accuracies (the rest is in `history`)."""
    q_fitted = next((e for e, r in enumerate(history) if r["train_by_kind"]["Q only"] >= 0.9), None)
    last = history[-1]
    return {
        "seed": seed,
        "history": history,
        "q_fitted_epoch": None if q_fitted is None else q_fitted + 1,
        "p_test_when_q_fitted": None
        if q_fitted is None
        else history[q_fitted]["test_by_kind"]["P only"],
        "q_before_decay": history[decay - 1]["train_by_kind"]["Q only"] if decay else None,
        "final_loss": last["loss"],
        "final_test_acc": last["test_acc"],
        "final_test_p_only": last["test_by_kind"]["P only"],
    }


@config_threads
def run_lr_noise(
    config: LRNoiseConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Both schedules on `config.seeds` draws of the data set (seeds seed, seed + 1, ...), each
    draw from the same initial weights for both schedules, all draws trained together. Per
    schedule and seed: the epoch history and its summary (`_lr_noise_summary`); per seed, the
    large-then-decay minus small margins on the P-only test examples and on all. With
    `config.images` / `config.patch_images` (full profile) also the slide's comparison
    (`lr_on_images`) and Li, Wei & Ma's patch experiment (`patch_experiment`)."""
    # Real images are loaded first, each data set once: a missing one fails before any
    # training, not after.
    loaded = {name: data.load(name) for name in {config.images, config.patch_images} - {None}}
    seeds = [seed + k for k in range(config.seeds)]
    train_sets, test_sets, nets = [], [], []
    for s in seeds:
        g = torch.Generator().manual_seed(s)
        directions = pattern_directions(config.spec, g)
        train_sets.append(
            tuple(
                t.to(device)
                for t in two_pattern_data(config.spec, config.train_samples, directions, g)
            )
        )
        test_sets.append(
            tuple(
                t.to(device)
                for t in two_pattern_data(config.spec, config.test_samples, directions, g)
            )
        )
        torch.manual_seed(s)
        nets.append(models.MLP(2 * config.spec.p, 2, width=config.width, depth=1))
    decay = config.decay_epoch
    split = config.spec.p if config.split else None
    runs, seconds = {}, {}
    for name, lrs in config.schedules().items():
        # the same initial weights for both schedules
        model = BatchedMLP(nets, split=split, negative_slope=config.negative_slope).to(device)
        generators = [torch.Generator().manual_seed(10_000 + s) for s in seeds]
        start = time.perf_counter()
        histories = train_sweep(
            model, train_sets, test_sets, lrs, decay, config, generators, progress
        )
        seconds[name] = time.perf_counter() - start
        runs[name] = [_lr_noise_summary(s, h, decay) for s, h in zip(seeds, histories)]
    large, small = runs.values()
    result = {
        "runs": runs,
        "seeds": seeds,
        "decay_epoch": decay,
        # large-then-decay minus small, per seed: on the P-only test examples and on all
        "margins_p_only": [
            a["final_test_p_only"] - b["final_test_p_only"] for a, b in zip(large, small)
        ],
        "margins_overall": [
            a["final_test_acc"] - b["final_test_acc"] for a, b in zip(large, small)
        ],
        "seconds": seconds,
    }
    if config.images:
        result["images"] = lr_on_images(
            config, loaded[config.images], device, seed, progress, checkpoint_dir
        )
        result["images_data"] = config.images
    if config.patch_images:
        result["patch"] = patch_experiment(
            config, loaded[config.patch_images], device, seed, progress, checkpoint_dir
        )
        result["patch_data"] = config.patch_images
    return result


def lr_on_images(config: LRNoiseConfig, datasets, device, seed, progress=None, checkpoint_dir=None):
    """Both image schedules (`LRNoiseConfig.image_schedules`) on `datasets`, the (train, test)
    pair of `config.images`, with ResNet18 from the same initial weights, checkpointed per
    run: per schedule the final training loss and the test accuracy per epoch."""
    train_set, test_set = datasets  # data.load(config.images)
    out = {}
    for i, (name, schedule) in enumerate(config.image_schedules().items()):
        torch.manual_seed(seed)
        model = models.ResNet18(train_set.num_classes).to(device)
        history = _fit(
            model,
            train_set,
            test_set,
            schedule,
            seed=seed,
            progress=progress,
            checkpoint_dir=checkpoint_dir,
            run_name=f"images{i}",
        )
        out[name] = {
            "train_loss": [h["train_loss"] for h in history],
            "test_acc": [h["test_acc"] for h in history],
            "final_train_loss": history[-1]["train_loss"],
            "final_test_acc": history[-1]["test_acc"],
        }
    return out


def patch_experiment(
    config: LRNoiseConfig, datasets, device, seed, progress=None, checkpoint_dir=None
):
    """Li, Wei & Ma's patch experiment: both `patch_schedules` on `datasets`, the (train, test)
    pair of `config.patch_images`, with a patch (`PatchSpec`) added to 80% of the training
    images, WRN-16-k from the same initial weights, checkpointed per run. Per schedule and
    epoch: the training loss, the accuracy on the clean test images (their headline number),
    on test images patched like the training set, and on patches alone (zero image plus
    patch, random labels)."""
    train_set, test_set = datasets  # data.load(config.patch_images)
    if not train_set.is_image:
        raise ValueError(f"the patch experiment needs images, not {config.patch_images!r}")
    spec, classes = config.patch, train_set.num_classes
    g = torch.Generator().manual_seed(seed)
    clean_train, clean_test = train_set.inputs(), test_set.inputs()  # normalised float
    patterns = patch_patterns(spec, clean_train.shape[1], classes, g)
    x, kind = add_patches(clean_train, train_set.y, spec, patterns, g)
    patched_train = data.ArrayData(x, train_set.y, classes, f"{train_set.name}+patch")
    clean = data.ArrayData(clean_test, test_set.y, classes, test_set.name)
    x, _ = add_patches(clean_test, test_set.y, spec, patterns, g)
    patched = data.ArrayData(x, test_set.y, classes, f"{test_set.name}+patch")
    # The patch alone, z +- v_c on a zero image (factor +-1, as on the patched training images).
    y_alone = torch.randint(0, classes, (min(1000, len(test_set)),), generator=g)
    every = replace(spec, patched=1.0, patch_only=0.0)
    zeros = torch.zeros(len(y_alone), *clean_test.shape[1:])
    patch_alone = data.ArrayData(
        add_patches(zeros, y_alone, every, patterns, g)[0], y_alone, classes, "patch alone"
    )

    def on_epoch(epoch, model):
        return {
            "patched_test_acc": evaluate(model, patched, mixed_precision=False)["acc"],
            "patch_alone_acc": evaluate(model, patch_alone, mixed_precision=False)["acc"],
        }

    out = {
        "kinds": {name: int((kind == k).sum()) for k, name in KIND_NAMES.items()},
        "widen": config.patch_widen,
        "runs": {},
    }
    for i, (name, schedule) in enumerate(config.patch_schedules().items()):
        torch.manual_seed(seed)
        model = models.WideResNet(16, config.patch_widen, classes, clean_train.shape[1])
        history = _fit(
            model.to(device),
            patched_train,
            clean,
            schedule,
            seed=seed,
            progress=progress,
            checkpoint_dir=checkpoint_dir,
            run_name=f"patch{i}",
            on_epoch=on_epoch,
        )
        run = {
            key: [h[key] for h in history]
            for key in ("train_loss", "test_acc", "patched_test_acc", "patch_alone_acc")
        }
        run["final_clean_test_acc"] = history[-1]["test_acc"]
        out["runs"][name] = run
    return out


def plot_lr_noise(result: dict):
    """Left: training accuracy on the Q-only examples and test accuracy on the P-only ones for
    both schedules, first seed (the order of learning: how far P had generalised when Q was
    memorised); middle: training loss; right: final test accuracy per seed, on the P-only
    examples and on all, the two schedules joined. With real-image runs (full profile), a
    second row shows the slide's comparison (test accuracy, training loss) and the patch
    experiment (clean test accuracy and accuracy on the patch alone)."""
    images, patch = result.get("images"), result.get("patch")
    rows = 2 if images or patch else 1
    fig, grid = plots.subplots(rows, 3, width=4.6, height=3.8, squeeze=False)
    axes = grid[0]
    names = list(result["runs"])
    for k, name in enumerate(names):
        history = result["runs"][name][0]["history"]
        epochs = np.arange(1, len(history) + 1)
        color = f"C{k}"
        axes[0].plot(
            epochs,
            [r["train_by_kind"]["Q only"] for r in history],
            "-",
            color=color,
            label=f"{name}: Q only, train",
        )
        axes[0].plot(
            epochs,
            [r["test_by_kind"]["P only"] for r in history],
            "--",
            color=color,
            label=f"{name}: P only, test",
        )
        axes[1].semilogy(epochs, [r["loss"] for r in history], color=color, label=name)
    for ax in axes[:2]:
        ax.axvline(result["decay_epoch"], color="gray", ls=":", lw=1)
    axes[0].set(
        xlabel="epoch",
        ylabel="accuracy",
        title=f"What is learned first (seed {result['seeds'][0]})",
    )
    axes[0].legend(fontsize=7)
    axes[1].set(xlabel="epoch", ylabel="training loss", title="Both fit the training set")
    axes[1].legend(fontsize=8)
    for key, marker, label in (
        ("final_test_p_only", "o-", "P-only examples"),
        ("final_test_acc", "s--", "all test examples"),
    ):
        finals = np.array([[r[key] for r in result["runs"][n]] for n in names])
        for s in range(finals.shape[1]):
            axes[2].plot(
                [0, 1],
                finals[:, s],
                marker,
                color="C2" if marker == "o-" else "C3",
                alpha=0.7,
                label=label if s == 0 else None,
            )
    axes[2].set_xticks([0, 1], [n.replace(", then", ",\nthen") for n in names])
    axes[2].set(
        xlim=(-0.4, 1.4),
        ylabel="final test accuracy",
        title=f"Generalisation, {len(result['seeds'])} seeds",
    )
    axes[2].legend(fontsize=8)
    if images:
        for k, (name, run) in enumerate(images.items()):
            epochs = np.arange(1, len(run["test_acc"]) + 1)
            grid[1][0].plot(epochs, run["test_acc"], color=f"C{k}", label=name)
            grid[1][1].semilogy(epochs, run["train_loss"], color=f"C{k}", label=name)
        title = f"{result.get('images_data', 'images')}, ResNet18"
        grid[1][0].set(xlabel="epoch", ylabel="test accuracy", title=title)
        grid[1][1].set(xlabel="epoch", ylabel="training loss", title=title)
        grid[1][0].legend(fontsize=8)
    if patch:
        ax = grid[1][2]
        for k, (name, run) in enumerate(patch["runs"].items()):
            epochs = np.arange(1, len(run["test_acc"]) + 1)
            ax.plot(epochs, run["test_acc"], color=f"C{k}", label=f"{name}: clean images")
            ax.plot(
                epochs, run["patch_alone_acc"], "--", color=f"C{k}", label=f"{name}: patch alone"
            )
        ax.set(
            xlabel="epoch",
            ylabel="test accuracy",
            title=f"Patches on {result.get('patch_data', 'images')}, WRN-16-{patch['widen']}",
        )
        ax.legend(fontsize=7)
    for ax, used in ((grid[-1][0], images), (grid[-1][1], images), (grid[-1][2], patch)):
        if (images or patch) and not used:
            ax.set_visible(False)
    return fig


RANDOM_LABELS_FIGURES = {"random_labels": plot_random_labels}
WIDTH_FIGURES = {"width": plot_width}
LAZY_FIGURES = {"lazy": plot_lazy}
LR_NOISE_FIGURES = {"lr_noise": plot_lr_noise}
COMPOSITIONAL_FIGURES = {"compositional": plot_compositional}

# name -> (run, config class, figures, one-line summary), for experiments.py to register.
EXPERIMENTS = {
    "overparam_random_labels": (
        run_random_labels,
        RandomLabelsConfig,
        RANDOM_LABELS_FIGURES,
        "one network fits true, partly and fully random labels and shuffled pixels",
    ),
    "overparam_width": (
        run_width,
        WidthConfig,
        WIDTH_FIGURES,
        "train/test error and weight movement against width (WRN-40-k in full)",
    ),
    "overparam_lazy": (
        run_lazy,
        LazyConfig,
        LAZY_FIGURES,
        "NTK parametrisation: relative weight movement falls like width^-1/2",
    ),
    "overparam_lr_noise": (
        run_lr_noise,
        LRNoiseConfig,
        LR_NOISE_FIGURES,
        "large lr + decay vs small lr on a two-pattern data set: order of learning",
    ),
    "overparam_compositional": (
        run_compositional,
        CompositionalConfig,
        COMPOSITIONAL_FIGURES,
        "deep vs shallow networks on a binary-tree compositional function",
    ),
}
