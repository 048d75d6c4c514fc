"""The lecture's experiments: configs (`quick()`, `full()`), `run_*` and the `EXPERIMENTS` dict
the registry reads.

- `robust_linear`: a linear system with grossly corrupted equations: Hadamard GD against least
  squares and the convex l1 problem, then its error over (alpha, tau).
- `robust_lambda`: which lambda gradient descent solves for: the noiseless model cannot tell
  (every lambda above a threshold recovers theta*), dense noise can, through the exact implicit
  regulariser H, not the l1 problem (its config, run and check in `experiments_lambda`).
- `robust_overfitting`: an MLP on digits with symmetric label noise, trained by cross-entropy:
  test accuracy peaks early, then falls as the network reproduces the corrupted labels.
- `robust_sop`: cross-entropy against SOP at several noise rates, and the ROC AUC of ||s_i||
  for flagging the corrupted samples.
Each has its `check_*(result, profile)`, the lecture's claims about it (`CHECKS`).
The quick profile runs on one torch thread on the CPU; the full profile trains ResNet18 on
CIFAR-10 (and CIFAR-10N's human label sets).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from .. import metrics
from ..claims import claim
from ..runtime import config_threads
from ..train import TrainConfig
from .experiments_lambda import LambdaConfig, check_lambda, run_lambda
from .hadamard import effective_l1_weight, hadamard_gd, l1_regularized, linear_problem
from .noise import load_cifar10n, noisy_data
from .plots import plot_lambda, plot_linear, plot_overfitting, plot_sop
from .sop import roc_auc, train_with_noise


@dataclass(frozen=True)
class LinearConfig:
    n: int = 200  # equations (samples)
    p: int = 50  # unknowns
    corrupted: int = 20  # non-zeros of s*
    alpha: float = 0.3  # discrepant learning rate of (u, v)
    tau: float = 1e-6  # initial u = v
    lr: float = 0.3  # GD step for theta
    steps: int = 10000  # GD steps of the main run
    alphas: tuple = (0.1, 0.3, 1.0, 3.0)  # the sweep's discrepant rates
    taus: tuple = (1e-2, 1e-4, 1e-6)  # the sweep's initial scales
    sweep_steps: int = 5000  # GD steps of each sweep run
    threads: int = 1  # torch CPU threads (0: leave the setting)

    @classmethod
    def quick(cls) -> LinearConfig:
        return cls()

    @classmethod
    def full(cls) -> LinearConfig:
        return cls(n=2000, p=500, corrupted=200, steps=50000, sweep_steps=30000, threads=0)


@config_threads
def run_linear(config: LinearConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """Hadamard GD, least squares and the convex l1 problem on one corrupted linear system;
    then the error of Hadamard GD over (alpha, tau). No checkpoints."""
    g = torch.Generator().manual_seed(seed)
    j, y, theta_star, s_star = linear_problem(config.n, config.p, config.corrupted, g)

    def error(theta):
        return ((theta - theta_star).norm() / theta_star.norm()).item()

    theta, s, history = hadamard_gd(
        j, y, config.alpha, config.tau, config.lr, config.steps, record_every=config.steps // 100
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


def check_linear(result: dict, profile: str) -> list[str]:
    """Hadamard GD recovers theta*, least squares does not, and GD agrees with the convex l1
    problem. The same thresholds in both profiles."""
    theta, least_squares = float(result["theta_error"]), float(result["least_squares_error"])
    gd_vs_convex = float(result["gd_vs_convex"])
    return [
        claim(
            theta < 1e-3,
            "Hadamard GD recovers theta* to a relative error below 1e-3",
            f"relative error {theta:.1e}",
        ),
        claim(
            least_squares > 0.1,
            "least squares misses theta* by a relative error above 0.1",
            f"relative error {least_squares:.3f}",
        ),
        claim(
            gd_vs_convex < 1e-3,
            "Hadamard GD agrees with the convex l1 solution to a relative distance below 1e-3",
            f"relative distance {gd_vs_convex:.1e}",
        ),
    ]


@dataclass(frozen=True)
class NoisyTrainingConfig:
    dataset: str = "digits"  # 'digits' (standardised features) | 'cifar10'
    model: str = "mlp"  # 'mlp' | 'resnet18' (models.build)
    width: int = 256  # MLP hidden width (ResNet18 keeps its own widths)
    depth: int = 2  # MLP hidden layers
    noise: str = "symmetric"  # 'symmetric' | 'asymmetric' (class pairs, noise.py)
    rates: tuple = (0.4,)  # fractions of corrupted training labels
    train: TrainConfig = TrainConfig(epochs=100, batch_size=128, lr=0.1, weight_decay=5e-4)
    # SOP's u and v (also the logit comparison's): SGD rates (fixed, no momentum or decay) and
    # the std of their initial N(0, std^2) entries. The paper's CIFAR settings (full()) start
    # at 1e-8; 100 epochs of the digits' 12 batches are too few for u, v to grow from there.
    sop_lr_u: float = 100.0
    sop_lr_v: float = 100.0
    sop_init_std: float = 1e-4
    threads: int = 1  # torch CPU threads (0: leave the setting)

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

    @classmethod
    def rehearsal(cls) -> NoisyTrainingConfig:
        """The rehearsal on miniature data: full() for 2 epochs of batches of 16."""
        full = cls.full()
        return replace(full, train=full.train.rehearsal())


@dataclass(frozen=True)
class OverfittingConfig(NoisyTrainingConfig):
    """Cross-entropy at the last of `rates`; quick() and full() are NoisyTrainingConfig's."""


@config_threads
def run_overfitting(
    config: OverfittingConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Cross-entropy on noisy labels (at the last of `config.rates`): accuracies per epoch, the
    fraction of corrupted labels the network reproduces, and where the corrupted samples'
    features end up."""
    rate = config.rates[-1]
    train_set, test_set, noisy, corrupted = noisy_data(config, rate, seed)
    folder = Path(checkpoint_dir) / "ce" if checkpoint_dir else None
    settings = {"config": config, "seed": seed, "device": device, "progress": progress}
    history, model, _ = train_with_noise(
        train_set, test_set, noisy, corrupted, method="ce", checkpoint_dir=folder, **settings
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
        "within_between_noisy": metrics.within_between_ratio(feats, noisy, train_set.num_classes),
    }


def check_overfitting(result: dict, profile: str) -> list[str]:
    """Cross-entropy memorises the corrupted labels, and test accuracy falls from its peak.
    The same thresholds in both profiles."""
    memorised = float(np.asarray(result["memorised"], dtype=float)[-1])
    peak, final = float(result["peak_test_acc"]), float(result["final_test_acc"])
    return [
        claim(
            memorised > 0.95,
            "cross-entropy fits more than 95% of the corrupted labels by the end",
            f"{memorised:.3f} of them",
        ),
        claim(
            final < peak - 0.05,
            "test accuracy falls more than 5 points below its peak",
            f"peak {peak:.3f} at epoch {int(result['peak_epoch'])}, final {final:.3f}",
        ),
    ]


@dataclass(frozen=True)
class SOPConfig(NoisyTrainingConfig):
    rates: tuple = (0.0, 0.2, 0.4)
    cifar10n_sets: tuple = ()  # CIFAR-10N human label sets to train on (full profile)
    compare_logit: bool = True  # also LogitSOP at the highest rate (quick profile only)

    @classmethod
    def full(cls) -> SOPConfig:
        sets = ("aggregate", "random1", "random2", "random3", "worst")
        return replace(
            super().full(), rates=(0.0, 0.2, 0.4, 0.6), cifar10n_sets=sets, compare_logit=False
        )

    @classmethod
    def rehearsal(cls) -> SOPConfig:
        """NoisyTrainingConfig.rehearsal() at the rates 0 and 0.4 and CIFAR-10N's worst
        label set: six runs of 2 epochs."""
        return replace(super().rehearsal(), rates=(0.0, 0.4), cifar10n_sets=("worst",))


def _sop_record(history, sop, noisy, corrupted, rate, clean) -> dict:
    """One run's summary; for SOP under noise also ||s_i|| and its ROC AUC for the corrupted,
    the mean number of entries of s_i above 0.1 in size (clean and corrupted samples), and the
    fraction of corrupted samples whose most negative entry of s_i sits at their true class
    (`clean` labels): y_i - s_i then points at the truth."""
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
        s = sop.corrections(noisy.to(sop.u.device)).detach().cpu()
        entries = (s.abs() > 0.1).sum(1).double()
        record["entries_corrupted"] = entries[corrupted].mean().item()
        record["entries_clean"] = entries[~corrupted].mean().item()
        record["true_class_found"] = (s.argmin(1) == clean.cpu())[corrupted].double().mean().item()
    return record


@config_threads
def run_sop(config: SOPConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """CE and SOP at each noise rate (and, with `compare_logit`, LogitSOP at the highest):
    final and best test accuracy, memorised corrupted labels, and (SOP) the ROC AUC of ||s_i||
    for flagging the corrupted samples, the size of s_i's support and whether it points at the
    true class."""
    settings = {"config": config, "seed": seed, "device": device, "progress": progress}
    runs = {}
    problems = [(f"{rate:g}", *noisy_data(config, rate, seed)) for rate in config.rates]
    problems += [(name, *load_cifar10n(name)) for name in config.cifar10n_sets]
    top = f"{max(config.rates):g}"
    for key, train_set, test_set, noisy, corrupted in problems:
        rate = corrupted.float().mean().item()
        methods = (
            ("ce", "sop", "sop_logit") if config.compare_logit and key == top else ("ce", "sop")
        )
        for method in methods:
            folder = Path(checkpoint_dir) / f"{method}_{key}" if checkpoint_dir else None
            history, _, sop = train_with_noise(
                train_set,
                test_set,
                noisy,
                corrupted,
                method=method,
                checkpoint_dir=folder,
                **settings,
            )
            runs[f"{method} {key}"] = _sop_record(history, sop, noisy, corrupted, rate, train_set.y)
    return {"rates": list(config.rates), "cifar10n_sets": list(config.cifar10n_sets), "runs": runs}


def check_sop(result: dict, profile: str) -> list[str]:
    """At the highest synthetic noise rate SOP beats cross-entropy, its ||s_i|| flags the
    corrupted samples, and each corrupted sample's s_i is a two-entry correction pointing at
    its true class; without noise the two agree. Only the synthetic rates' runs are read
    (the CIFAR-10N label sets' runs, where present, are not claims of this check). The same
    thresholds in both profiles."""
    runs = result["runs"]
    rate = max(float(r) for r in result["rates"])
    top = f"{rate:g}"  # the runs' key of the rate, as run_sop writes it

    def accuracy(key):
        return float(runs[key]["final_test_acc"])

    sop_top, ce_top = accuracy(f"sop {top}"), accuracy(f"ce {top}")
    auc = float(runs[f"sop {top}"]["auc"])
    sop_clean, ce_clean = accuracy("sop 0"), accuracy("ce 0")
    entries = float(runs[f"sop {top}"]["entries_corrupted"])
    found = float(runs[f"sop {top}"]["true_class_found"])
    return [
        claim(
            sop_top - ce_top >= 0.05,
            f"SOP beats cross-entropy by at least 5 points of test accuracy at {rate:.0%} noise",
            f"SOP {sop_top:.3f}, CE {ce_top:.3f}: {sop_top - ce_top:+.3f}",
        ),
        claim(
            auc > 0.9,
            f"the ROC AUC of ||s_i|| for the corrupted samples above 0.9 at {rate:.0%} noise",
            f"ROC AUC {auc:.3f}",
        ),
        claim(
            1.5 < entries < 2.5 and found > 0.7,
            f"at {rate:.0%} noise a corrupted sample's s_i has about two entries above 0.1 "
            "(between 1.5 and 2.5 on average: a flipped label differs from the truth in two), "
            "its most negative one at the true class for more than 70% of them",
            f"{entries:.2f} entries on average; true class found for {found:.1%}",
        ),
        claim(
            abs(sop_clean - ce_clean) < 0.02,
            "without noise SOP and cross-entropy within 2 points of test accuracy",
            f"SOP {sop_clean:.3f}, CE {ce_clean:.3f}: {sop_clean - ce_clean:+.3f}",
        ),
    ]


LINEAR_FIGURES = {"linear_model": plot_linear}
LAMBDA_FIGURES = {"lambda": plot_lambda}
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
    "robust_lambda": (
        run_lambda,
        LambdaConfig,
        LAMBDA_FIGURES,
        "which lambda GD solves for: invisible without noise, identified under dense noise",
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

# name -> check(result, profile), for experiments.py to attach to each experiment.
CHECKS = {
    "robust_linear": check_linear,
    "robust_lambda": check_lambda,
    "robust_overfitting": check_overfitting,
    "robust_sop": check_sop,
}
