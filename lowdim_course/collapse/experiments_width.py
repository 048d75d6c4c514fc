"""`collapse_width`: "if the network is large enough and trained long enough", tested. MLPs of
several widths fit random labels (does a wider network memorise and collapse them?), and are
trained with each loss for a short and a long schedule (do the losses' test accuracies agree
once the network is wide and trained long?). With its `check_width(result, profile)`.
Registered in experiments.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .. import data as datasets
from ..claims import by_profile, claim
from ..runtime import config_threads
from ..train import TrainConfig
from .experiments_uses import LossesConfig, _loss_in_network
from .losses import LOSSES
from .networks import QUICK_TRAIN, NetworkConfig, checkpoint_subdir, nc_epochs


@dataclass(frozen=True)
class WidthConfig(NetworkConfig):
    widths: tuple[int, ...] = (8, 32, 256)  # MLP widths for the random labels
    n_random: int = 100  # training samples relabelled at random
    random_train: TrainConfig = field(
        default_factory=lambda: replace(
            QUICK_TRAIN, epochs=60, batch_size=50, milestones=(0.5, 0.75)
        )
    )
    loss_widths: tuple[int, ...] = (8, 128)  # MLP widths for the loss comparison
    # quick: the two losses furthest apart (MSE is not even a loss on probabilities); full: all
    losses: tuple[str, ...] = ("ce", "mse")
    lengths: tuple[int, ...] = (3, 15)  # training lengths (epochs) of the loss comparison
    train: TrainConfig = field(default_factory=lambda: replace(QUICK_TRAIN, epochs=15))
    metrics_every: int = 5

    @classmethod
    def full(cls) -> WidthConfig:
        return cls(
            widths=(8, 16, 32, 64, 128, 256, 512),
            n_random=300,
            random_train=replace(QUICK_TRAIN, epochs=150, batch_size=50, milestones=(0.5, 0.75)),
            loss_widths=(8, 32, 128),  # MSE at the same step size does not train at 512
            losses=LOSSES,
            lengths=(3, 10, 40),
            threads=0,
        )


@config_threads
def run_width(config: WidthConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """Random labels at each width (final training accuracy, NC1 at the first measured epoch
    and at the end, the NC1 curve); each loss at each (width, length): test accuracy and final
    NC1, and the spread of the test accuracies over the losses."""
    from .experiments import RandomLabelsConfig, run_random_labels  # (experiments.py imports us)

    run = {"device": device, "seed": seed, "progress": progress}
    random_rows = []
    for width in config.widths:
        random_config = replace(
            RandomLabelsConfig.quick(),
            dataset=config.dataset,
            width=width,
            depth=config.depth,
            n_train=config.n_random,
            train=config.random_train,
            metrics_every=config.metrics_every,
            threads=0,
        )
        result = run_random_labels(
            random_config,
            checkpoint_dir=checkpoint_subdir(checkpoint_dir, f"random-w{width}"),
            **run,
        )
        measured = nc_epochs(result["history"])
        random_rows.append(
            {
                "width": width,
                "train_acc": result["train_acc"],
                "test_acc": result["test_acc"],
                "tpt_epoch": result["tpt_epoch"],
                "nc1_first": result["nc1_first"],
                "nc1_final": result["nc1_final"],
                "epochs": [r["epoch"] for r in measured],
                "nc1_curve": [r["nc1"] for r in measured],
            }
        )
    train_data, test_data = datasets.load(config.dataset)
    loss_rows = []
    for width in config.loss_widths:
        for length in config.lengths:
            losses_config = replace(
                LossesConfig.quick(),
                dataset=config.dataset,
                width=width,
                depth=config.depth,
                train=replace(config.train, epochs=length),
                metrics_every=config.metrics_every,
                threads=0,
            )
            for loss in config.losses:
                row = _loss_in_network(
                    losses_config,
                    loss,
                    train_data,
                    test_data,
                    checkpoint_dir=checkpoint_subdir(checkpoint_dir, f"{loss}-w{width}-e{length}"),
                    **run,
                )
                loss_rows.append(
                    {
                        "width": width,
                        "epochs": length,
                        "loss": loss,
                        "test_acc": row["test_acc"],
                        "train_acc": row["train_acc"],
                        "nc1": row["nc1"],
                    }  # fmt: skip
                )
    spread = {}
    for width in config.loss_widths:
        for length in config.lengths:
            accs = [
                r["test_acc"] for r in loss_rows if r["width"] == width and r["epochs"] == length
            ]
            spread[f"{width}-{length}"] = 100 * (max(accs) - min(accs))
    return {
        "data": config.dataset,
        "n_random": config.n_random,
        "n_test": len(test_data),
        "random": random_rows,
        "losses": loss_rows,
        "spread": spread,
    }


def check_width(result: dict, profile: str) -> list[str]:
    """collapse_width: the widest network memorises the random labels (100% training accuracy)
    and the narrowest does not reach 100%; the widest ends with NC1 at least 10x below the
    narrowest's; and the losses' test accuracies spread over at most 3 points for the widest
    network trained longest, and over fewer points there than for the narrowest network trained
    as long and for the widest trained shortest (each condition, width and length, matters).
    Same thresholds in both profiles."""
    ratio_min, spread_max = by_profile(profile, 10, 10), by_profile(profile, 3, 3)
    rows = sorted(result["random"], key=lambda r: int(r["width"]))
    narrow, wide = rows[0], rows[-1]
    spread = {key: float(v) for key, v in result["spread"].items()}
    widths = sorted({int(r["width"]) for r in result["losses"]})
    lengths = sorted({int(r["epochs"]) for r in result["losses"]})
    big_long = spread[f"{widths[-1]}-{lengths[-1]}"]
    small_long, big_short = (
        spread[f"{widths[0]}-{lengths[-1]}"],
        spread[f"{widths[-1]}-{lengths[0]}"],
    )
    ratio = float(narrow["nc1_final"]) / float(wide["nc1_final"])
    return [
        claim(
            float(wide["train_acc"]) == 1.0 and float(narrow["train_acc"]) < 1.0,
            f"the widest MLP (width {int(wide['width'])}) memorises the random labels, the "
            f"narrowest (width {int(narrow['width'])}) does not",
            "training accuracy by width: "
            + ", ".join(f"{int(r['width'])}: {float(r['train_acc']):.1%}" for r in rows),
        ),
        claim(
            ratio >= ratio_min,
            f"on random labels the widest MLP collapses more: its final NC1 is at least "
            f"{ratio_min}x below the narrowest's",
            "final NC1 by width: "
            + ", ".join(f"{int(r['width'])}: {float(r['nc1_final']):.3g}" for r in rows)
            + f" ({ratio:.0f}x)",
        ),
        claim(
            big_long <= spread_max and big_long < small_long and big_long < big_short,
            f"large enough and trained long enough, the losses agree: their test accuracies "
            f"spread over at most {spread_max} points at width {widths[-1]} after "
            f"{lengths[-1]} epochs, and over fewer points there than at width {widths[0]} "
            f"after {lengths[-1]} epochs and at width {widths[-1]} after {lengths[0]}",
            "spread over the losses (points), width-epochs: "
            + ", ".join(f"{key} {v:.1f}" for key, v in spread.items()),
        ),
    ]
