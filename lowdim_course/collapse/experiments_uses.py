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
    terminal_phase,
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
    learned classifier's, and the fixed ETF with the smallest d (d = K) ends with lower NC1
    than the learned classifier. Sanity check, true by construction: that network has the
    fewest trained parameters. Same thresholds in both profiles."""
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
    small = [r for r in variants if r["classifier"] == "fixed" and r is not learned]
    small = min(small, key=lambda r: int(r["feature_dim"]))
    lines.append(
        claim(
            float(small["nc1"]) < float(learned["nc1"]),
            f"the fixed ETF with d = {int(small['feature_dim'])} ends with lower NC1 than the "
            "learned classifier",
            f"NC1 {float(small['nc1']):.2e} vs {float(learned['nc1']):.2e}",
        )
    )
    smallest = min(variants, key=lambda r: int(r["trained_parameters"]))
    saved = 1 - int(smallest["trained_parameters"]) / int(learned["trained_parameters"])
    counts = ", ".join(f"{r['name']} {int(r['trained_parameters']):,d}" for r in variants)
    lines.append(
        claim(
            smallest["classifier"] == "fixed"
            and int(smallest["feature_dim"]) < int(learned["feature_dim"]),
            "sanity check (true by construction): the fixed-ETF network with d = K has the "
            "fewest trained parameters",
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
        **terminal_phase(history),
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
    return {
        "ufm": ufm,
        "network": network,
        "n_test": len(test_data),
        "test_acc_range": max(accs) - min(accs),
    }


def check_losses(result: dict, profile: str) -> list[str]:
    """collapse_losses: in the UFM every loss ends at a simplex ETF (worst angle error < 1e-3);
    every network reaches 100% training accuracy and its NC1 falls at least 1.5x from that
    epoch to the end (collapse in the terminal phase, not the fitting before it); no loss's
    test accuracy is more than 3 points below another's.

    What the accuracy claim can show: with n test samples a difference of two accuracies near
    p has a binomial standard error of about sqrt(2 p (1 - p) / n) (0.66 points for the 450
    digits at 99%), so 3 points rules out a loss that is clearly worse, and nothing finer: it
    cannot rank the losses or show them equal. Same thresholds in both profiles."""
    angle_max = by_profile(profile, 1e-3, 1e-3)
    spread_max, drop_min = by_profile(profile, 3, 3), by_profile(profile, 1.5, 1.5)
    ufm = {u["loss"]: float(u["angle_error_max"]) for u in result["ufm"]}
    accs = {r["loss"]: float(r["test_acc"]) for r in result["network"]}
    spread = 100 * (max(accs.values()) - min(accs.values()))
    p, n_test = float(np.mean(list(accs.values()))), int(result["n_test"])
    se_diff = 100 * float(np.sqrt(2 * p * (1 - p) / n_test))
    tpt = {r["loss"]: r["tpt_epoch"] for r in result["network"]}
    lines = [
        claim(
            all(e < angle_max for e in ufm.values()),
            f"in the UFM every loss ends at a simplex ETF: worst angle error < {angle_max:.0e}",
            ", ".join(f"{loss} {e:.1e}" for loss, e in ufm.items()),
        ),
        claim(
            all(epoch is not None for epoch in tpt.values()),
            "every network reaches 100% training accuracy",
            "first measured epoch at 100%: "
            + ", ".join(f"{loss} {epoch}" for loss, epoch in tpt.items()),
        ),
    ]
    drops = {r["loss"]: float(r["nc1_at_tpt"]) / float(r["nc1_final"]) for r in result["network"]}
    lines += [
        claim(
            all(drop >= drop_min for drop in drops.values()),
            f"every loss collapses in the terminal phase: the network's NC1 falls at least "
            f"{drop_min}x from the first epoch at 100% training accuracy to the end",
            "NC1 there / at the end: "
            + ", ".join(f"{loss} {drop:.1f}x" for loss, drop in drops.items()),
        ),
        claim(
            spread <= spread_max,
            f"no loss is clearly worse: the networks' test accuracies differ by at most "
            f"{spread_max} points (a coarse test: it cannot rank the losses or show them equal)",
            ", ".join(f"{loss} {a:.1%}" for loss, a in accs.items())
            + f": {spread:.2f} points apart; over {n_test} test samples the standard error of "
            f"a difference is about {se_diff:.1f} points",
        ),
    ]
    return lines


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


def split_halves(data: datasets.ArrayData, seed: int):
    """Two disjoint halves of `data`, each holding about half of every class (a seeded random
    split): NC1 is measured on the first, the few-shot probe draws its samples from the second."""
    g = torch.Generator().manual_seed(seed)
    first, second = [], []
    for k in range(data.num_classes):
        members = torch.nonzero(data.y.cpu() == k)[:, 0]
        members = members[torch.randperm(len(members), generator=g)]
        first.append(members[: len(members) // 2])
        second.append(members[len(members) // 2 :])
    return data.subset(torch.cat(first).sort().values), data.subset(torch.cat(second).sort().values)


def _measure_transfer(
    net, config: TransferConfig, *, source, down_nc1, down_probe, down_test, seed
):
    """NC1 of the features of the held-out classes (on `down_nc1`), the few-shot probe accuracy
    on their test set (shots drawn from `down_probe`, disjoint from `down_nc1`), and NC1 of the
    source classes."""
    h_probe, h_test = features(net, down_probe), features(net, down_test)
    probe_acc = few_shot_accuracy(
        h_probe,
        down_probe.y.cpu(),
        h_test,
        down_test.y.cpu(),
        down_probe.num_classes,
        shots=config.shots,
        draws=config.draws,
        generator=torch.Generator().manual_seed(seed),  # the same draws for every model
        reg=config.probe_reg,
    )
    h_nc1, h_source = features(net, down_nc1), features(net, source)
    return {
        "down_nc1": nc_metrics(h_nc1, down_nc1.y.cpu(), num_classes=down_nc1.num_classes)["nc1"],
        "probe_acc": probe_acc,
        "source_nc1": nc_metrics(h_source, source.y.cpu(), num_classes=source.num_classes)["nc1"],
    }


@config_threads
def run_transfer(
    config: TransferConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Pretrain each variant on the source classes; at each checkpoint measure, on the held-out
    classes, NC1 of the features (on one half of their training samples) and the few-shot
    linear-probe accuracy on their test set (shots drawn from the other half); correlate the
    two."""
    train_data, test_data = datasets.load(config.dataset)
    source_classes = list(range(config.source_classes))
    target_classes = list(range(config.source_classes, train_data.num_classes))
    source = class_subset(train_data, source_classes)
    down_nc1, down_probe = split_halves(class_subset(train_data, target_classes), seed)
    downstream = {
        "down_nc1": down_nc1,
        "down_probe": down_probe,
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
        "n_down_nc1": len(down_nc1),
        "n_down_probe": len(down_probe),
        "points": points,
        "pearson_log_nc1": float(stats.pearsonr(log_nc1, accs).statistic),
        "spearman": float(stats.spearmanr(log_nc1, accs).statistic),
        "untrained": measure(untrained.to(device).eval()),
    }


def check_transfer(result: dict, profile: str) -> list[str]:
    """collapse_transfer: over the pretrained models, lower downstream NC1 (measured on samples
    the probe never sees) goes with better few-shot transfer: Pearson correlation of log NC1
    and probe accuracy <= -0.7, Spearman <= -0.5; and at the last checkpoint the strongest
    weight decay (among the variants without label smoothing) collapses the source classes
    most (smallest source NC1) and transfers worst (lowest probe accuracy of all variants).
    Same thresholds in both profiles."""
    pearson_max, spearman_max = by_profile(profile, -0.7, -0.7), by_profile(profile, -0.5, -0.5)
    pearson, spearman = float(result["pearson_log_nc1"]), float(result["spearman"])
    points = result["points"]
    lines = [
        claim(
            pearson <= pearson_max,
            "lower downstream NC1 goes with better transfer: Pearson correlation of log NC1 "
            f"and the few-shot probe accuracy <= {pearson_max}",
            f"Pearson {pearson:.2f} over {len(points)} pretrained checkpoints",
        ),
        claim(
            spearman <= spearman_max,
            f"the Spearman correlation of NC1 and probe accuracy <= {spearman_max}",
            f"Spearman {spearman:.2f} over {len(points)} pretrained checkpoints",
        ),
    ]
    last = max(int(p["epoch"]) for p in points)
    final = [p for p in points if int(p["epoch"]) == last]
    strongest = max(
        (p for p in final if float(p["smoothing"]) == 0),
        key=lambda p: float(p["weight_decay"]),
    )
    name = f"weight decay {float(strongest['weight_decay']):g}"
    lines.append(
        claim(
            all(float(strongest["source_nc1"]) <= float(p["source_nc1"]) for p in final)
            and all(float(strongest["probe_acc"]) <= float(p["probe_acc"]) for p in final),
            "the strongest weight decay collapses the source classes most and transfers worst "
            f"(smallest source NC1 and lowest probe accuracy at the last checkpoint, epoch "
            f"{last})",
            f"{name}: source NC1 {float(strongest['source_nc1']):.3g}, probe "
            f"{float(strongest['probe_acc']):.1%}; the others: "
            + ", ".join(
                f"wd {float(p['weight_decay']):g} ls {float(p['smoothing']):g} "
                f"{float(p['source_nc1']):.3g} / {float(p['probe_acc']):.1%}"
                for p in final
                if p is not strongest
            ),
        )
    )
    return lines
