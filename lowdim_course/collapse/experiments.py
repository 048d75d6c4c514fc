"""The lecture's experiments on neural collapse itself: training past zero error
(`collapse_tpt`), the unconstrained features model (`collapse_ufm`) and random labels
(`collapse_random_labels`); the experiments on what collapse is good for are in
`experiments_uses.py` and `experiments_transfer.py`, the UFM under other optimisers in
`experiments_optimizers.py`, width and training length in `experiments_width.py`, fine-tuning
in `experiments_finetune.py`. `EXPERIMENTS` registers all nine for lowdim_course.experiments.

Each `run_*(config, *, device, seed, progress, checkpoint_dir)` returns a dict of numbers
that the `plot_*` functions of plots.py draw. Quick profile: scikit-learn digits or free
features on the CPU, one torch thread; full profile: CIFAR-10 and ResNet18 with the settings of
Zhu et al. (2021) (`networks.FULL_TRAIN`).

Beside each run function, `check_*(result, profile)` checks the lecture's claims on its result
(the live dict or its JSON form): one line per claim that held, `claims.ClaimFailed` at the
first that does not. `CHECKS` registers them for lowdim_course.experiments.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from .. import data as datasets
from .. import models
from ..claims import by_profile, claim
from ..runtime import config_threads
from ..train import TrainConfig
from . import experiments_finetune as finetune_experiment
from . import experiments_optimizers as optimizers_experiment
from . import experiments_transfer as transfer_experiment
from . import experiments_uses as uses
from . import experiments_width as width_experiment
from . import plots
from .networks import (
    FULL_TRAIN,
    QUICK_TRAIN,
    NetworkConfig,
    nc_epochs,
    nc_hook,
    nc_probe,
    network_cosines,
    terminal_phase,
    train_network,
)
from .ufm import train_ufm, worst_start

# --- the terminal phase of training --------------------------------------------------------


@dataclass(frozen=True)
class TPTConfig(NetworkConfig):
    """An MLP on digits (quick) or ResNet18 on CIFAR-10 (full), trained past zero error."""

    @classmethod
    def full(cls) -> TPTConfig:
        return cls("cifar10", "resnet18", train=FULL_TRAIN, metrics_every=1, threads=0)

    @classmethod
    def rehearsal(cls) -> TPTConfig:
        """The rehearsal on miniature data: full() for 2 epochs of batches of 16."""
        return replace(cls.full(), train=FULL_TRAIN.rehearsal())


@config_threads
def run_tpt(config: TPTConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """Train past zero training error; NC1-NC4 and accuracies per measured epoch, the NC1 drop
    over the terminal phase, and the class-mean cosines at the first and the last epoch."""
    train_data, test_data = datasets.load(config.dataset)
    probe = nc_probe(config, train_data)
    measure_nc = nc_hook(probe, config.metrics_every, config.train.epochs)
    snapshots = {}

    def on_epoch(epoch, net):
        if epoch == 1:
            snapshots["first"] = network_cosines(net, probe)
        return measure_nc(epoch, net)

    net, history = train_network(
        config,
        train_data,
        test_data=test_data,
        on_epoch=on_epoch,
        device=device,
        seed=seed,
        progress=progress,
        checkpoint_dir=checkpoint_dir,
    )
    phase = terminal_phase(history)
    final = nc_epochs(history)[-1]
    return {
        "data": {"name": config.dataset, "n_train": len(train_data), "n_test": len(test_data)},
        "parameters": models.count_parameters(net),
        "history": history,
        **phase,
        "nc1_drop": phase["nc1_at_tpt"] / phase["nc1_final"] if phase["tpt_epoch"] else None,
        "final": {k: v for k, v in final.items() if k != "seconds"},
        "cosines_first": snapshots.get("first"),
        "cosines_final": network_cosines(net, probe),
    }


def _record_at(history: list[dict], epoch) -> dict:
    """The measured record of `epoch` in a training history."""
    return next(r for r in history if r["epoch"] == epoch and "nc1" in r)


# (statistic, its name in the claims) for NC2 of the class means and of the classifier rows
NC2_STATISTICS = {
    "means": (("means_angle_error", "mean |cos + 1/(K-1)|"), ("means_equinorm", "norm spread")),
    "classifier": (
        ("classifier_angle_error", "mean |cos + 1/(K-1)|"),
        ("classifier_equinorm", "norm spread"),
    ),
}


def check_tpt(result: dict, profile: str) -> list[str]:
    """collapse_tpt: the network reaches 100% training accuracy; over the terminal phase (from
    the first epoch at 100% training accuracy to the end) NC1 falls at least 10x, the class
    means and the classifier rows approach equal norms and the simplex angle (NC2: their mean
    |cos + 1/(K-1)| and their norm spread each fall at least 2x) and the classifier aligns with
    the means (NC3 falls at least 5x). Sanity check, not a phenomenon: at the end the network
    and the nearest-class-mean rule disagree on at most 1% of the training samples (NC4; nearly
    automatic once every training sample is classified correctly and the features cluster).
    Same thresholds in both profiles."""
    drop_min, nc4_max = by_profile(profile, 10, 10), by_profile(profile, 0.01, 0.01)
    nc2_drop, nc3_drop = by_profile(profile, 2, 2), by_profile(profile, 5, 5)
    tpt_epoch = result["tpt_epoch"]
    lines = [
        claim(
            tpt_epoch is not None,
            "the network reaches 100% training accuracy",
            f"first measured epoch at 100%: {tpt_epoch}",
        )
    ]
    nc1_at_tpt, nc1_final = float(result["nc1_at_tpt"]), float(result["nc1_final"])
    drop = nc1_at_tpt / nc1_final
    lines.append(
        claim(
            drop >= drop_min,
            f"NC1 falls at least {drop_min}x from the first epoch at 100% training accuracy "
            "to the end",
            f"NC1 {nc1_at_tpt:.3g} at epoch {tpt_epoch} -> {nc1_final:.3g} ({drop:.1f}x)",
        )
    )
    start, final = _record_at(result["history"], tpt_epoch), result["final"]
    for frame, statistics in NC2_STATISTICS.items():
        drops = {key: float(start[key]) / float(final[key]) for key, _ in statistics}
        lines.append(
            claim(
                all(d >= nc2_drop for d in drops.values()),
                f"NC2 of the {'class means' if frame == 'means' else 'classifier rows'}: their "
                f"mean |cos + 1/(K-1)| and their norm spread each fall at least {nc2_drop}x "
                "over the terminal phase",
                "; ".join(
                    f"{words} {float(start[key]):.3g} -> {float(final[key]):.3g} "
                    f"({drops[key]:.1f}x)"
                    for key, words in statistics
                ),
            )
        )
    nc3_start, nc3_final = float(start["nc3"]), float(final["nc3"])
    lines.append(
        claim(
            nc3_start / nc3_final >= nc3_drop,
            f"NC3: the classifier aligns with the class means, NC3 falls at least {nc3_drop}x "
            "over the terminal phase",
            f"NC3 {nc3_start:.3g} at epoch {tpt_epoch} -> {nc3_final:.3g} "
            f"({nc3_start / nc3_final:.1f}x)",
        )
    )
    nc4 = float(final["nc4"])
    lines.append(
        claim(
            nc4 <= nc4_max,
            "sanity check (nearly automatic at 100% training accuracy): the network and the "
            f"nearest-class-mean rule disagree on at most {nc4_max:.0%} of the training samples "
            "at the end (NC4)",
            f"NC4 {nc4:.2%}",
        )
    )
    return lines


# --- the unconstrained features model ------------------------------------------------------


@dataclass(frozen=True)
class UFMConfig:
    classes: tuple[int, ...] = (4, 10)  # K
    dims: tuple[tuple[int, ...], ...] = ((2, 3, 4, 8), (5, 9, 10, 20))  # d for each K
    n_per_class: int = 5  # free feature vectors per class
    inits: int = 16  # random starts per (K, d)
    steps: int = 800  # gradient steps (d = K - 1 converges slowest)
    lr: float = 1.0
    momentum: float = 0.9  # heavy ball; 0 is plain gradient descent (needs more steps)
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


def _ufm_case(run: dict) -> dict:
    """What run_ufm reports of one (K, d): the worst start's metrics, the objectives' spread."""
    objective = run["objective"]
    return {
        "K": run["K"],
        "d": run["d"],
        "angle_error_max": worst_start(run, "means_angle_error_max"),
        "classifier_angle_error_max": worst_start(run, "classifier_angle_error_max"),
        "nc1_max": worst_start(run, "nc1"),
        "nc3_max": worst_start(run, "nc3"),
        "objective_min": objective.min().item(),
        "objective_spread": (objective.max() - objective.min()).item(),
    }


@config_threads
def run_ufm(config: UFMConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """For each (K, d): GD from `inits` random starts; the worst start's distance to the
    simplex angle, NC1, NC3, and the spread of the final objective over the starts."""
    cases, trajectory = [], None
    for K, dims in zip(config.classes, config.dims):
        for d in dims:
            plotted = (K, d) == tuple(config.trajectory)
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
                record=20 if plotted else 0,
                device=device,
            )
            cases.append(_ufm_case(run))
            if plotted:
                trajectory = {"K": K, "d": d, "history": run["history"]}
    return {"cases": cases, "trajectory": trajectory, "inits": config.inits}


def _worst_case(cases: list[dict], key: str, largest: bool = True) -> str:
    """'VALUE at K=.., d=..' for the case with the largest (or smallest) `key`."""
    pick = max if largest else min
    case = pick(cases, key=lambda c: float(c[key]))
    return f"{float(case[key]):.1e} at K={int(case['K'])}, d={int(case['d'])}"


def check_ufm(result: dict, profile: str) -> list[str]:
    """collapse_ufm: in every (K, d) every start collapses (NC1 < 1e-8); for d >= K - 1 every
    start ends at the simplex angle (angle error < 1e-3) and at the same objective (spread
    < 1e-6); for d < K - 1 the means cannot be equiangular (angle error > 0.1). Same thresholds
    in both profiles."""
    nc1_max = by_profile(profile, 1e-8, 1e-8)
    angle_max, spread_max = by_profile(profile, 1e-3, 1e-3), by_profile(profile, 1e-6, 1e-6)
    angle_min_low = by_profile(profile, 0.1, 0.1)
    cases = result["cases"]
    high = [c for c in cases if int(c["d"]) >= int(c["K"]) - 1]
    low = [c for c in cases if int(c["d"]) < int(c["K"]) - 1]
    lines = [
        claim(
            all(float(c["nc1_max"]) < nc1_max for c in cases),
            f"every start collapses, for every (K, d): the worst start's NC1 < {nc1_max:.0e}",
            f"largest NC1 {_worst_case(cases, 'nc1_max')}, over {len(cases)} (K, d) pairs",
        )
    ]
    if high:
        lines.append(
            claim(
                all(float(c["angle_error_max"]) < angle_max for c in high),
                "d >= K - 1: every start ends at a simplex ETF, |cos + 1/(K-1)| < "
                f"{angle_max:.0e} for the worst start",
                f"largest angle error {_worst_case(high, 'angle_error_max')}",
            )
        )
        lines.append(
            claim(
                all(float(c["objective_spread"]) < spread_max for c in high),
                "d >= K - 1: every start reaches the same objective value (spread over the "
                f"starts < {spread_max:.0e}; no spurious minimum)",
                f"largest spread {_worst_case(high, 'objective_spread')}",
            )
        )
    if low:
        lines.append(
            claim(
                all(float(c["angle_error_max"]) > angle_min_low for c in low),
                "d < K - 1: the class means cannot be equiangular, the worst start's "
                f"|cos + 1/(K-1)| > {angle_min_low}",
                f"smallest angle error {_worst_case(low, 'angle_error_max', largest=False)}",
            )
        )
    return lines


# --- random labels -------------------------------------------------------------------------


@dataclass(frozen=True)
class RandomLabelsConfig(NetworkConfig):
    n_train: int = 300  # training samples, relabelled at random (memorising takes time)
    train: TrainConfig = field(
        default_factory=lambda: replace(
            QUICK_TRAIN, epochs=150, batch_size=50, milestones=(0.5, 0.75)
        )
    )
    metrics_every: int = 5

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

    @classmethod
    def rehearsal(cls) -> RandomLabelsConfig:
        """The rehearsal on miniature data: full() on 40 relabelled images for 2 epochs, measured
        every epoch."""
        full = cls.full()
        return replace(full, n_train=40, train=full.train.rehearsal(), metrics_every=1)


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
    _, history = train_network(
        config,
        shuffled,
        test_data=test_data,
        device=device,
        seed=seed,
        progress=progress,
        checkpoint_dir=checkpoint_dir,
    )
    measured = nc_epochs(history)
    return {
        "data": config.dataset,
        "n_train": len(shuffled),
        "chance": 1 / K,
        "history": history,
        **terminal_phase(history),
        "train_acc": measured[-1]["accuracy"],
        "test_acc": history[-1]["test_acc"],
        "nc1_first": measured[0]["nc1"],
        "means_angle_error_final": measured[-1]["means_angle_error"],
        "nc3_final": measured[-1]["nc3"],
    }


def check_random_labels(result: dict, profile: str) -> list[str]:
    """collapse_random_labels: the random labels are memorised (100% training accuracy), the
    test accuracy stays within 0.1 of chance, NC1 falls at least 10x from the first measured
    epoch and still falls after the training error reaches zero. Same thresholds in both
    profiles."""
    chance_gap, drop_min = by_profile(profile, 0.1, 0.1), by_profile(profile, 10, 10)
    train_acc, test_acc = float(result["train_acc"]), float(result["test_acc"])
    chance = float(result["chance"])
    nc1_first, nc1_final = float(result["nc1_first"]), float(result["nc1_final"])
    nc1_at_tpt = None if result["nc1_at_tpt"] is None else float(result["nc1_at_tpt"])
    at_tpt = "never reached" if nc1_at_tpt is None else f"{nc1_at_tpt:.3g}"
    return [
        claim(
            train_acc == 1.0,
            "the network memorises the random labels: 100% training accuracy at the end",
            f"training accuracy {train_acc:.1%}",
        ),
        claim(
            abs(test_acc - chance) < chance_gap,
            f"the test accuracy stays within {chance_gap} of chance",
            f"test accuracy {test_acc:.1%}, chance {chance:.0%}",
        ),
        claim(
            nc1_final < nc1_first / drop_min,
            f"NC1 falls more than {drop_min}x over training",
            f"NC1 {nc1_first:.3g} at the first measured epoch -> {nc1_final:.3g} "
            f"({nc1_first / nc1_final:.1f}x)",
        ),
        claim(
            nc1_at_tpt is not None and nc1_final < nc1_at_tpt,
            "NC1 still falls after the training error reaches zero",
            f"NC1 {at_tpt} at the first epoch at 100% training accuracy "
            f"({result['tpt_epoch']}) -> {nc1_final:.3g} at the end",
        ),
    ]


# --- registry ------------------------------------------------------------------------------

# name -> (run, config class, figures, one-line summary), for lowdim_course.experiments.
EXPERIMENTS = {
    "collapse_tpt": (
        run_tpt,
        TPTConfig,
        {"tpt_metrics": plots.plot_tpt, "tpt_cosines": plots.plot_tpt_cosines},
        "train past zero training error and track NC1-NC4 per epoch",
    ),
    "collapse_ufm": (
        run_ufm,
        UFMConfig,
        {"ufm_landscape": plots.plot_ufm},
        "gradient descent on the unconstrained features model from random starts, d vs K-1",
    ),
    "collapse_fixed_etf": (
        uses.run_fixed_etf,
        uses.FixedETFConfig,
        {"fixed_etf": plots.plot_fixed_etf},
        "a fixed simplex-ETF classifier and d = K features vs a learned classifier",
    ),
    "collapse_losses": (
        uses.run_losses,
        uses.LossesConfig,
        {"losses": plots.plot_losses},
        "cross-entropy, focal, label smoothing and MSE: collapse and test accuracy",
    ),
    "collapse_random_labels": (
        run_random_labels,
        RandomLabelsConfig,
        {"random_labels": plots.plot_random_labels},
        "random training labels: memorised, chance test accuracy, features still collapse",
    ),
    "collapse_transfer": (
        transfer_experiment.run_transfer,
        transfer_experiment.TransferConfig,
        {"transfer": plots.plot_transfer},
        "NC1 on held-out classes vs few-shot linear-probe accuracy after pretraining",
    ),
    "collapse_optimizers": (
        optimizers_experiment.run_optimizers,
        optimizers_experiment.OptimizersConfig,
        {"optimizers": plots.plot_optimizers},
        "the UFM solved by gradient descent, SGD, Adam and L-BFGS: the same collapse",
    ),
    "collapse_width": (
        width_experiment.run_width,
        width_experiment.WidthConfig,
        {"width": plots.plot_width},
        "random labels across MLP widths; the losses' test accuracies over width and length",
    ),
    "collapse_finetune": (
        finetune_experiment.run_finetune,
        finetune_experiment.FineTuneConfig,
        {"finetune": plots.plot_finetune},
        "linear probe, layer FT, SCL-FT and full FT: accuracy, NC1, parameters, layer-wise NC1",
    ),
}

# name -> check(result, profile), for lowdim_course.experiments.
CHECKS = {
    "collapse_tpt": check_tpt,
    "collapse_ufm": check_ufm,
    "collapse_fixed_etf": uses.check_fixed_etf,
    "collapse_losses": uses.check_losses,
    "collapse_random_labels": check_random_labels,
    "collapse_transfer": transfer_experiment.check_transfer,
    "collapse_optimizers": optimizers_experiment.check_optimizers,
    "collapse_width": width_experiment.check_width,
    "collapse_finetune": finetune_experiment.check_finetune,
}
