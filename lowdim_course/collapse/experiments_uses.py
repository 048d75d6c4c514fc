"""The lecture's experiments on what neural collapse is good for: a fixed simplex-ETF
classifier with d = K features (`collapse_fixed_etf`) and the choice of loss
(`collapse_losses`), each with its `check_*(result, profile)` of the lecture's claims beside
it; transfer to held-out classes is in experiments_transfer.py. Registered in experiments.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .. import data as datasets
from .. import models
from ..claims import by_profile, claim
from ..runtime import config_threads
from ..train import TrainConfig, evaluate
from .losses import LOSSES, loss_function
from .networks import (
    FULL_TRAIN,
    QUICK_TRAIN,
    NetworkConfig,
    checkpoint_subdir,
    nc_epochs,
    terminal_phase,
    train_network,
)
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
