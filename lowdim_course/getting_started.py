"""Lecture 0, getting started: train a classifier with the course's loop and look at what its
penultimate layer learned.

Experiment `getting_started`:
- quick: a 3-layer ReLU MLP with BatchNorm on scikit-learn's 8x8 digits, 40 epochs of SGD,
  about 3 s on 2 CPU cores; test accuracy about 98%.
- full: ResNet18 on CIFAR-10 with random crops and flips, 30 epochs of SGD with a cosine
  schedule, batch 512; a few minutes on one modern GPU (expected test accuracy about 94%).

Besides accuracy, every epoch records the ratio trace(Sigma_W)/trace(Sigma_B) of the training
features (within-class spread over between-class spread, see metrics.py): a first look at the
low-dimensional structure that lectures 3 and 4 study, where it is called NC1 and D.
"""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from . import data as datasets
from . import metrics, models, plots
from . import train as training
from .claims import by_profile, claim
from .source import Source, where
from .train import TrainConfig, evaluate, features, train

LOOP_START, LOOP_END = "for epoch in bar:", "bar.close()"  # the epoch loop inside train.train


@dataclass(frozen=True)
class Config:
    dataset: str = "digits"  # 'digits' (quick) | 'cifar10' | 'mnist'
    model: str = "mlp"  # 'mlp' (digits, mnist) | 'resnet18' (cifar10)
    width: int = 256  # MLP hidden width
    depth: int = 3  # MLP hidden layers
    train: TrainConfig = field(default_factory=TrainConfig)
    expected_test_acc: float = 0.95  # the lecture asserts at least this test accuracy

    @classmethod
    def quick(cls) -> Config:
        return cls(
            dataset="digits",
            model="mlp",
            train=TrainConfig(
                epochs=40, batch_size=64, lr=0.05, weight_decay=5e-4, schedule="cosine"
            ),
            expected_test_acc=0.95,
        )

    @classmethod
    def full(cls) -> Config:
        return cls(
            dataset="cifar10",
            model="resnet18",
            train=TrainConfig(
                epochs=30,
                batch_size=512,
                lr=0.2,
                momentum=0.9,
                nesterov=True,
                weight_decay=5e-4,
                schedule="cosine",
                warmup_epochs=1,
                label_smoothing=0.1,
                augment=True,
                checkpoint_every=5,
            ),
            expected_test_acc=0.90,
        )

    @classmethod
    def rehearsal(cls) -> Config:
        """The rehearsal on miniature data: full() for 2 epochs of batches of 16, a checkpoint each
        epoch."""
        full = cls.full()
        return replace(full, train=full.train.rehearsal())


def training_loop() -> Source:
    """The epoch loop of `train.train` (from `for epoch in bar:` to the checkpoint), shown
    like `source.show_source` shows a function, headed by its file and lines: the part of the
    function a reader needs, without the argument checks, optimizer set-up and resumption
    that come before it. Read from the package at run time, so it cannot drift from the code."""
    lines, first = inspect.getsourcelines(training.train)
    start = next(i for i, line in enumerate(lines) if line.strip() == LOOP_START)
    end = next(i for i, line in enumerate(lines) if line.strip() == LOOP_END)
    code = textwrap.dedent("".join(lines[start:end])).rstrip()
    path = where(training.train).split(",")[0]
    return Source(code, f"{path}, lines {first + start}-{first + end - 1} (the loop of train)")


def build_model(config: Config, train_data: datasets.ArrayData) -> torch.nn.Module:
    """The lecture's network from the course's factory: a BatchNorm MLP or ResNet18."""
    mlp = {"width": config.width, "depth": config.depth, "batchnorm": True}
    sizes = mlp if config.model == "mlp" else {}  # ResNet18 keeps its own widths
    return models.build(
        config.model, tuple(train_data.x.shape[1:]), train_data.num_classes, **sizes
    )


def pca_2d(h: torch.Tensor) -> torch.Tensor:
    """Project rows of h onto their first two principal components: (N, 2)."""
    h = h.double() - h.double().mean(0)
    _, _, v = torch.linalg.svd(h, full_matrices=False)
    return (h @ v[:2].T).float()


def train_model(
    config: Config,
    *,
    device: torch.device | str = "cpu",
    seed: int = 0,
    progress: bool | None = None,
    checkpoint_dir=None,
):
    """Load the data, build and train the model; return (model, history, train_data, test_data).

    Every epoch also records `within_between`, trace(Sigma_W)/trace(Sigma_B) of the training
    features (on at most 5000 samples, so it stays cheap on CIFAR-10).
    """
    torch.manual_seed(seed)
    train_data, test_data = datasets.load(config.dataset)
    train_data, test_data = train_data.to(device), test_data.to(device)
    model = build_model(config, train_data).to(device)
    probe = train_data.subset(slice(0, 5000))

    def on_epoch(epoch, net):
        h = features(net, probe)
        return {"within_between": metrics.within_between_ratio(h, probe.y.cpu(), probe.num_classes)}

    history = train(
        model,
        train_data,
        config.train,
        test_data=test_data,
        on_epoch=on_epoch,
        seed=seed,
        checkpoint_dir=checkpoint_dir,
        resume=checkpoint_dir is not None,
        progress=progress,
    )
    return model, history, train_data, test_data


def summarize(model, history, train_data, test_data, config: Config) -> dict:
    """The numbers the lecture reports: accuracies, nearest-class-mean accuracy, 2-D features."""
    K = train_data.num_classes
    h_train, h_test = features(model, train_data), features(model, test_data)
    means = metrics.class_means(h_train, train_data.y.cpu(), K)
    ncm = metrics.nearest_class_mean_predict(means, h_test)
    shown = slice(0, 2000)  # points in the scatter plot
    final_train, final_test = evaluate(model, train_data), evaluate(model, test_data)
    return {
        "data": {"name": config.dataset, "n_train": len(train_data), "n_test": len(test_data)},
        "parameters": models.count_parameters(model),
        "history": history,
        "final": {
            "train_acc": final_train["acc"],
            "test_acc": final_test["acc"],
            "train_loss": final_train["loss"],
            "test_loss": final_test["loss"],
            "ncm_test_acc": (ncm == test_data.y.cpu()).double().mean().item(),
            "within_between": history[-1]["within_between"],
        },
        "test_features_2d": pca_2d(h_test[shown]),
        "test_labels": test_data.y[shown].cpu(),
    }


def run(
    config: Config,
    *,
    device: torch.device | str = "cpu",
    seed: int = 0,
    progress: bool | None = None,
    checkpoint_dir=None,
) -> dict:
    """The experiment: train, then measure accuracy and the geometry of the features."""
    trained = train_model(
        config, device=device, seed=seed, progress=progress, checkpoint_dir=checkpoint_dir
    )
    return summarize(*trained, config)


def plot_learning_curves(result: dict):
    """Loss and accuracy per epoch (train and test), and the within/between ratio."""
    h = result["history"]
    epoch = [r["epoch"] for r in h]
    fig, (ax_loss, ax_acc, ax_sep) = plots.subplots(1, 3, width=4.2, height=3.4)
    ax_loss.semilogy(epoch, [r["train_loss"] for r in h], label="train")
    ax_loss.semilogy(epoch, [r["test_loss"] for r in h], label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    ax_acc.plot(epoch, [100 * r["train_acc"] for r in h], label="train")
    ax_acc.plot(epoch, [100 * r["test_acc"] for r in h], label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    ax_sep.plot(epoch, [r["within_between"] for r in h], color=plots.OKABE_ITO[2])
    ax_sep.set(
        xlabel="epoch",
        ylabel=r"tr$(\Sigma_W)$ / tr$(\Sigma_B)$",
        title="Class spread / class separation",
    )
    for ax in (ax_loss, ax_acc):
        ax.legend()
    fig.suptitle(f"Training on {result['data']['name']}")
    return fig


def plot_features(result: dict):
    """The test set's penultimate features projected on their two leading principal components."""
    xy = np.asarray(result["test_features_2d"])
    labels = np.asarray(result["test_labels"])
    fig, ax = plots.subplots(width=5.2, height=4.4)
    points = ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap=plots.CLASS_CMAP, s=10, alpha=0.8)
    fig.colorbar(points, ax=ax, label="class", ticks=range(int(labels.max()) + 1))
    ax.set(
        xlabel="principal component 1",
        ylabel="principal component 2",
        title=f"Penultimate features of the {result['data']['name']} test set",
    )
    return fig


def check(result: dict, profile: str) -> list[str]:
    """The lecture's claims: the network fits its training set, generalises, its classes
    separate during training, and the nearest class mean of its features classifies as well as
    the network itself. Full: ResNet18 on augmented CIFAR-10 need not reach exactly zero
    training error; below 1% is the claim there."""
    final, first = result["final"], result["history"][0]
    train_floor = by_profile(profile, 1.0, 0.99)
    test_floor = by_profile(profile, Config.quick(), Config.full()).expected_test_acc
    return [
        claim(
            final["train_acc"] >= train_floor,
            f"training accuracy at least {train_floor:.0%}",
            f"{final['train_acc']:.3f}",
        ),
        claim(
            final["test_acc"] >= test_floor,
            f"test accuracy at least {test_floor:.0%}",
            f"{final['test_acc']:.3f}",
        ),
        claim(
            final["within_between"] < 0.8 * first["within_between"],
            "the within/between-class ratio falls by at least 20% during training",
            f"{first['within_between']:.3f} -> {final['within_between']:.3f}",
        ),
        claim(
            abs(final["ncm_test_acc"] - final["test_acc"]) < 0.03,
            "the nearest-class-mean rule within 3 points of the network",
            f"{final['ncm_test_acc']:.3f} vs {final['test_acc']:.3f}",
        ),
    ]


FIGURES = {"learning_curves": plot_learning_curves, "features": plot_features}
