"""`collapse_transfer`: does collapse on the source classes help on held-out classes? Networks
trained with several weight decays, their NC1 on the downstream data against a few-shot linear
probe, with its `check_transfer(result, profile)`. Registered in experiments.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch
from scipy import stats

from .. import data as datasets
from ..claims import by_profile, claim
from ..runtime import config_threads
from ..train import TrainConfig, features
from .geometry import nc_metrics
from .networks import (
    FULL_TRAIN,
    build_model,
    checkpoint_subdir,
    train_network,
)
from .transfer import class_subset, few_shot_accuracy

# --- a fixed simplex-ETF classifier and d = K ----------------------------------------------


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
