"""`collapse_finetune`: fine-tuning through the lens of collapse (Li et al. 2022). A network
pretrained on some classes is adapted to the others by linear probing, full fine-tuning,
fine-tuning one intermediate layer, and SCL-FT; for each, downstream test accuracy, NC1 of the
features the head reads (on the downstream training data), the percentage of parameters tuned,
and NC1 layer by layer. With its `check_finetune(result, profile)`. Registered in
experiments.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from .. import data as datasets
from ..claims import by_profile, claim
from ..runtime import config_threads
from ..train import TrainConfig, evaluate, features, train
from .finetune import METHOD_NAMES, METHODS, FineTuned, tuned_fraction
from .geometry import nc_metrics
from .networks import FULL_TRAIN, NetworkConfig, checkpoint_subdir, train_network
from .transfer import class_subset


@dataclass(frozen=True)
class FineTuneConfig:
    dataset: str = "digits"
    source_classes: int = 5  # pretrain on classes 0..4, fine-tune on the rest
    model: str = "mlp"
    width: int = 256
    depth: int = 3
    train: TrainConfig = field(  # the pretraining
        default_factory=lambda: TrainConfig(
            epochs=20, batch_size=64, lr=0.1, schedule="step", milestones=(0.5, 0.75)
        )
    )
    methods: tuple[str, ...] = METHODS
    layer: int = 1  # the layer that layer FT and SCL-FT tune (MLP: the second of three)
    finetune: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=10, batch_size=64, lr=0.05, schedule="cosine")
    )
    threads: int = 1

    @classmethod
    def quick(cls) -> FineTuneConfig:
        return cls()

    @classmethod
    def full(cls) -> FineTuneConfig:
        return cls(
            "cifar10",
            model="resnet18",
            train=replace(FULL_TRAIN, epochs=100, milestones=(0.5, 0.75), gamma=0.1),
            layer=6,  # ResNet18's layers: stem, then 8 blocks; 6 is stage 3's second block
            finetune=TrainConfig(
                epochs=30, batch_size=128, lr=0.01, schedule="cosine", checkpoint_every=10
            ),  # fmt: skip
            threads=0,
        )

    @classmethod
    def rehearsal(cls) -> FineTuneConfig:
        """The rehearsal on miniature data: full() with 2 epochs of pretraining and of each
        fine-tuning, batches of 16."""
        full = cls.full()
        return replace(full, train=full.train.rehearsal(), finetune=full.finetune.rehearsal())


def _nc1(net, data) -> float:
    return nc_metrics(features(net, data), data.y.cpu(), num_classes=data.num_classes)["nc1"]


def layer_nc1(net: FineTuned, data) -> list[float]:
    """NC1 of the (pooled) output of every layer of `net` on `data`."""
    values = []
    for i in range(len(net.layers)):
        net.tap = i
        values.append(_nc1(net, data))
    net.tap = None
    return values


@config_threads
def run_finetune(
    config: FineTuneConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Pretrain on the source classes, then fine-tune a copy by each method on the held-out
    classes; accuracy on their test set, NC1 (on their training set) of the head's input and
    of every layer, and the percentage of parameters each method trains."""
    train_data, test_data = datasets.load(config.dataset)
    source_classes = list(range(config.source_classes))
    targets = list(range(config.source_classes, train_data.num_classes))
    source = class_subset(train_data, source_classes)
    down, down_test = class_subset(train_data, targets), class_subset(test_data, targets)
    network = NetworkConfig(config.dataset, config.model, config.width, config.depth,
                            train=config.train, threads=0)  # fmt: skip
    pretrained, _ = train_network(
        network,
        source,
        on_epoch=lambda epoch, net: None,
        device=device,
        seed=seed,
        progress=progress,
        checkpoint_dir=checkpoint_subdir(checkpoint_dir, "pretrain"),
    )
    example = down.inputs(down.x[:2])
    rows = []
    for method in config.methods:
        torch.manual_seed(seed)  # the new head's initial weights
        net = FineTuned(pretrained, method, config.layer, down.num_classes, example).to(device)
        if method == "linear":  # the layers before tuning: the pretrained network's NC1
            pretrained_layers = layer_nc1(net, down)
        history = train(
            net,
            down.to(device),
            config.finetune,
            test_data=down_test.to(device),
            seed=seed,
            checkpoint_dir=checkpoint_subdir(checkpoint_dir, method),
            resume=checkpoint_dir is not None,
            progress=progress,
        )
        rows.append(
            {
                "method": method,
                "test_acc": evaluate(net, down_test.to(device))["acc"],
                "train_acc": history[-1]["train_acc"],
                "nc1": _nc1(net, down),
                "tuned_percent": 100 * tuned_fraction(net),
                "layer_nc1": layer_nc1(net, down),
            }
        )
    return {
        "data": config.dataset,
        "model": config.model,
        "source_classes": source_classes,
        "target_classes": targets,
        "n_down": len(down),
        "n_down_test": len(down_test),
        "layer": config.layer,
        "pretrained_layer_nc1": pretrained_layers if "linear" in config.methods else None,
        "methods": rows,
    }


def check_finetune(result: dict, profile: str) -> list[str]:
    """collapse_finetune: every method that tunes more than the head ends with lower NC1 on
    the downstream training data than the linear probe, and reaches a higher downstream test
    accuracy; layer FT and SCL-FT tune under half the parameters. Sanity check (true by
    construction): the linear probe tunes the fewest parameters, full fine-tuning all of them.
    Same thresholds in both profiles."""
    share_max = by_profile(profile, 50, 50)
    rows = {r["method"]: r for r in result["methods"]}
    probe = rows["linear"]
    tuned = [r for m, r in rows.items() if m != "linear"]

    def listing(key, fmt):
        return ", ".join(f"{METHOD_NAMES[m]} {fmt(float(r[key]))}" for m, r in rows.items())

    return [
        claim(
            all(float(r["nc1"]) < float(probe["nc1"]) for r in tuned),
            "tuning more than the head collapses the downstream features more: every other "
            "method ends with lower NC1 than the linear probe",
            "NC1 on the downstream training data: " + listing("nc1", lambda v: f"{v:.3g}"),
        ),
        claim(
            all(float(r["test_acc"]) > float(probe["test_acc"]) for r in tuned),
            "and transfers better: every other method reaches a higher downstream test "
            "accuracy than the linear probe",
            "test accuracy: " + listing("test_acc", lambda v: f"{v:.1%}"),
        ),
        claim(
            all(float(rows[m]["tuned_percent"]) < share_max for m in ("layer", "scl") if m in rows),
            f"layer FT and SCL-FT tune under {share_max}% of the parameters",
            "parameters tuned: " + listing("tuned_percent", lambda v: f"{v:.2f}%"),
        ),
        claim(
            min(rows.values(), key=lambda r: float(r["tuned_percent"])) is probe
            and float(rows["full"]["tuned_percent"]) == 100,
            "sanity check (true by construction): the linear probe tunes the fewest parameters, "
            "full fine-tuning all of them",
            "parameters tuned: " + listing("tuned_percent", lambda v: f"{v:.2f}%"),
        ),
    ]
