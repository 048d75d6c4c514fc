"""The lecture's experiments on what neural collapse is good for: a fixed simplex-ETF
classifier with d = K features (`collapse_fixed_etf`), the choice of loss (`collapse_losses`),
and transfer to held-out classes (`collapse_transfer`), each with its `check_*(result,
profile)` of the lecture's claims beside it. Registered in experiments.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch
from scipy import stats

from .. import data as datasets
from .. import models
from ..claims import by_profile, claim
from ..runtime import config_threads
from ..train import TrainConfig, evaluate, features
from .geometry import nc_metrics
from .losses import LOSSES, loss_function
from .networks import (
    FULL_TRAIN,
    QUICK_TRAIN,
    NetworkConfig,
    build_model,
    checkpoint_subdir,
    nc_epochs,
    train_network,
)
from .transfer import class_subset, few_shot_accuracy
from .ufm import train_ufm, worst_start

# --- a fixed simplex-ETF classifier and d = K ----------------------------------------------


@dataclass(frozen=True)
class FixedETFConfig(NetworkConfig):
    # (classifier, feature dimension): 'learned' | 'fixed'; 0 means the model's own width.
    variants: tuple[tuple[str, int], ...] = (("learned", 0), ("fixed", 0), ("fixed", 10))
    train: TrainConfig = field(default_factory=lambda: replace(QUICK_TRAIN, epochs=40))
    metrics_every: int = 10

    @classmethod
    def full(cls) -> FixedETFConfig:
        return cls(
            "cifar10",
            "resnet18",
            variants=(("learned", 0), ("fixed", 0), ("learned", 10), ("fixed", 10)),
            train=FULL_TRAIN,
            threads=0,
        )

    @classmethod
    def rehearsal(cls) -> FixedETFConfig:
        """The rehearsal on miniature data: the learned classifier and the fixed ETF with d = K, 2
        epochs each."""
        variants = (("learned", 0), ("fixed", 10))
        return replace(cls.full(), variants=variants, train=FULL_TRAIN.rehearsal())


@config_threads
def run_fixed_etf(
    config: FixedETFConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Train each variant; trained parameter count, final accuracies and NC metrics."""
    train_data, test_data = datasets.load(config.dataset)
    rows = []
    for classifier, d in config.variants:
        name = f"{classifier}-d{d or 'default'}"
        net, history = train_network(
            config,
            train_data,
            test_data=test_data,
            feature_dim=d or None,
            fixed=classifier == "fixed",
            device=device,
            seed=seed,
            progress=progress,
            checkpoint_dir=checkpoint_subdir(checkpoint_dir, name),
        )
        last = nc_epochs(history)[-1]
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


def check_fixed_etf(result: dict, profile: str) -> list[str]:
    """collapse_fixed_etf: every variant's test accuracy is within 2 points of the (first)
    learned classifier's, and the fixed ETF with d = K has the fewest trained parameters. Same
    thresholds in both profiles."""
    gap_max = by_profile(profile, 2, 2)
    variants = result["variants"]
    learned = next(r for r in variants if r["classifier"] == "learned")
    lines = []
    for row in variants:
        if row is learned:
            continue
        gap = 100 * (float(learned["test_acc"]) - float(row["test_acc"]))
        lines.append(
            claim(
                gap <= gap_max,
                f"the {row['classifier']} classifier with d = {int(row['feature_dim'])} reaches "
                f"a test accuracy at most {gap_max} points below the learned classifier's",
                f"{float(row['test_acc']):.1%} vs {float(learned['test_acc']):.1%} "
                f"(d = {int(learned['feature_dim'])}): {gap:.1f} points below",
            )
        )
    smallest = min(variants, key=lambda r: int(r["trained_parameters"]))
    saved = 1 - int(smallest["trained_parameters"]) / int(learned["trained_parameters"])
    counts = ", ".join(f"{r['name']} {int(r['trained_parameters']):,d}" for r in variants)
    lines.append(
        claim(
            smallest["classifier"] == "fixed"
            and int(smallest["feature_dim"]) < int(learned["feature_dim"]),
            "the fixed-ETF network with d = K has the fewest trained parameters",
            f"trained parameters: {counts}; {smallest['name']} has {saved:.0%} fewer than "
            f"{learned['name']}",
        )
    )
    return lines


# --- losses --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LossesConfig(NetworkConfig):
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
    train: TrainConfig = field(default_factory=lambda: replace(QUICK_TRAIN, epochs=40))
    metrics_every: int = 5

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

    @classmethod
    def rehearsal(cls) -> LossesConfig:
        """The rehearsal on miniature data: cross-entropy and MSE (the loss with its own step size),
        2 epochs each, measured every epoch; a UFM of 2 starts and 50 steps."""
        full = cls.full()
        return replace(
            full,
            losses=("ce", "mse"),
            ufm_inits=2,
            ufm_steps=50,
            train=full.train.rehearsal(),
            metrics_every=1,
        )


def _lr_scale(config: LossesConfig, loss: str) -> float:
    return config.mse_lr_scale if loss == "mse" else 1.0


def _loss_in_ufm(config: LossesConfig, loss: str, *, seed: int, device) -> dict:
    """The UFM under `loss`: the worst start's NC1, angle error and NC3."""
    run = train_ufm(
        config.ufm_classes,
        config.ufm_dim,
        loss=loss,
        inits=config.ufm_inits,
        steps=config.ufm_steps,
        lr=config.ufm_lr * _lr_scale(config, loss),
        record=0,
        gamma=config.focal_gamma,
        alpha=config.smoothing,
        seed=seed,
        device=device,
    )
    return {
        "loss": loss,
        "nc1_max": worst_start(run, "nc1"),
        "angle_error_max": worst_start(run, "means_angle_error_max"),
        "nc3_max": worst_start(run, "nc3"),
    }


def _loss_in_network(config: LossesConfig, loss: str, train_data, test_data, **run) -> dict:
    """A network trained with `loss`: final accuracies and NC metrics, NC1 per measured epoch.
    `run` holds device, seed, progress and checkpoint_dir."""
    lr = config.train.lr * _lr_scale(config, loss)
    _, history = train_network(
        replace(config, train=replace(config.train, lr=lr)),
        train_data,
        test_data=test_data,
        loss_fn=loss_function(loss, config.focal_gamma, config.smoothing),
        **run,
    )
    measured = nc_epochs(history)
    return {
        "loss": loss,
        "test_acc": history[-1]["test_acc"],
        "train_acc": measured[-1]["accuracy"],
        "nc1": measured[-1]["nc1"],
        "means_angle_error": measured[-1]["means_angle_error"],
        "nc3": measured[-1]["nc3"],
        "epochs": [r["epoch"] for r in measured],
        "nc1_curve": [r["nc1"] for r in measured],
    }


@config_threads
def run_losses(config: LossesConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """Each loss in the UFM (worst start's metrics) and training a network (NC1 per epoch,
    final test accuracy and NC metrics)."""
    ufm = [_loss_in_ufm(config, loss, seed=seed, device=device) for loss in config.losses]
    train_data, test_data = datasets.load(config.dataset)
    network = [
        _loss_in_network(
            config,
            loss,
            train_data,
            test_data,
            device=device,
            seed=seed,
            progress=progress,
            checkpoint_dir=checkpoint_subdir(checkpoint_dir, loss),
        )
        for loss in config.losses
    ]
    accs = [r["test_acc"] for r in network]
    return {"ufm": ufm, "network": network, "test_acc_range": max(accs) - min(accs)}


def check_losses(result: dict, profile: str) -> list[str]:
    """collapse_losses: in the UFM every loss ends at a simplex ETF (worst angle error < 1e-3);
    the networks' test accuracies lie within 3 points of each other; every network's NC1 falls
    at least 2x over training. Same thresholds in both profiles."""
    angle_max = by_profile(profile, 1e-3, 1e-3)
    spread_max, drop_min = by_profile(profile, 3, 3), by_profile(profile, 2, 2)
    ufm = {u["loss"]: float(u["angle_error_max"]) for u in result["ufm"]}
    accs = {r["loss"]: float(r["test_acc"]) for r in result["network"]}
    spread = 100 * (max(accs.values()) - min(accs.values()))
    drops = {
        r["loss"]: float(np.asarray(r["nc1_curve"], dtype=float)[0]) / float(r["nc1"])
        for r in result["network"]
    }
    return [
        claim(
            all(e < angle_max for e in ufm.values()),
            f"in the UFM every loss ends at a simplex ETF: worst angle error < {angle_max:.0e}",
            ", ".join(f"{loss} {e:.1e}" for loss, e in ufm.items()),
        ),
        claim(
            spread <= spread_max,
            f"the networks' test accuracies differ by at most {spread_max} points across losses",
            ", ".join(f"{loss} {a:.1%}" for loss, a in accs.items())
            + f": {spread:.2f} points apart",
        ),
        claim(
            all(drop >= drop_min for drop in drops.values()),
            f"every loss collapses: the network's NC1 falls at least {drop_min}x over training",
            "NC1 first measured / final: "
            + ", ".join(f"{loss} {drop:.1f}x" for loss, drop in drops.items()),
        ),
    ]


# --- transfer to held-out classes ------------------------------------------------------------


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

    @classmethod
    def rehearsal(cls) -> TransferConfig:
        """The rehearsal on miniature data: two pretraining variants of 2 epochs, measured after
        each, 2-shot probes drawn twice."""
        full = cls.full()
        return replace(
            full,
            variants=((0.0, 0.0), (5e-3, 0.0)),
            checkpoints=(1, 2),
            train=full.train.rehearsal(),
            shots=2,
            draws=2,
        )


TRANSFER_METRICS = ("down_nc1", "probe_acc", "source_nc1")


def _measure_transfer(net, config: TransferConfig, *, source, down_train, down_test, seed):
    """NC1 of the features of the held-out classes (all their training samples), few-shot
    probe accuracy on their test set, and NC1 of the source classes."""
    h_train, h_test = features(net, down_train), features(net, down_test)
    y_train, y_test = down_train.y.cpu(), down_test.y.cpu()
    probe_acc = few_shot_accuracy(
        h_train,
        y_train,
        h_test,
        y_test,
        down_train.num_classes,
        shots=config.shots,
        draws=config.draws,
        generator=torch.Generator().manual_seed(seed),  # the same draws for every model
        reg=config.probe_reg,
    )
    h_source = features(net, source)
    return {
        "down_nc1": nc_metrics(h_train, y_train, num_classes=down_train.num_classes)["nc1"],
        "probe_acc": probe_acc,
        "source_nc1": nc_metrics(h_source, source.y.cpu(), num_classes=source.num_classes)["nc1"],
    }


@config_threads
def run_transfer(
    config: TransferConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Pretrain each variant on the source classes; at each checkpoint measure, on the held-out
    classes, NC1 of the features (all downstream training samples) and the few-shot
    linear-probe accuracy on the downstream test set; correlate the two."""
    train_data, test_data = datasets.load(config.dataset)
    source_classes = list(range(config.source_classes))
    target_classes = list(range(config.source_classes, train_data.num_classes))
    source = class_subset(train_data, source_classes)
    downstream = {
        "down_train": class_subset(train_data, target_classes),
        "down_test": class_subset(test_data, target_classes),
    }

    def measure(net):
        return _measure_transfer(net, config, source=source, seed=seed, **downstream)

    points = []
    for weight_decay, smoothing in config.variants:
        pretraining = replace(config.train, weight_decay=weight_decay, label_smoothing=smoothing)
        _, history = train_network(
            replace(config, train=pretraining),
            source,
            on_epoch=lambda epoch, net: measure(net) if epoch in config.checkpoints else None,
            device=device,
            seed=seed,
            progress=progress,
            checkpoint_dir=checkpoint_subdir(checkpoint_dir, f"wd{weight_decay:g}-ls{smoothing:g}"),
        )
        variant = {"weight_decay": weight_decay, "smoothing": smoothing}
        points += [
            {**variant, "epoch": r["epoch"], **{k: r[k] for k in TRANSFER_METRICS}}
            for r in history
            if "down_nc1" in r
        ]
    log_nc1 = np.log([p["down_nc1"] for p in points])
    accs = np.array([p["probe_acc"] for p in points])
    torch.manual_seed(seed)  # the initial weights of every pretrained variant
    untrained = build_model(config.model, source, width=config.width, depth=config.depth)
    return {
        "data": config.dataset,
        "source_classes": source_classes,
        "target_classes": target_classes,
        "shots": config.shots,
        "points": points,
        "pearson_log_nc1": float(stats.pearsonr(log_nc1, accs).statistic),
        "spearman": float(stats.spearmanr(log_nc1, accs).statistic),
        "untrained": measure(untrained.to(device).eval()),
    }


def check_transfer(result: dict, profile: str) -> list[str]:
    """collapse_transfer: over the pretrained models, lower downstream NC1 goes with better
    few-shot transfer: Pearson correlation of log NC1 and probe accuracy <= -0.7, Spearman
    <= -0.5. Same thresholds in both profiles."""
    pearson_max, spearman_max = by_profile(profile, -0.7, -0.7), by_profile(profile, -0.5, -0.5)
    pearson, spearman = float(result["pearson_log_nc1"]), float(result["spearman"])
    points = len(result["points"])
    return [
        claim(
            pearson <= pearson_max,
            "lower downstream NC1 goes with better transfer: Pearson correlation of log NC1 "
            f"and the few-shot probe accuracy <= {pearson_max}",
            f"Pearson {pearson:.2f} over {points} pretrained checkpoints",
        ),
        claim(
            spearman <= spearman_max,
            f"the Spearman correlation of NC1 and probe accuracy <= {spearman_max}",
            f"Spearman {spearman:.2f} over {points} pretrained checkpoints",
        ),
    ]
