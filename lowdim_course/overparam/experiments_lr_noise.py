"""The experiment of the lecture's third section, `overparam_lr_noise`: a large learning rate
then decayed against a small one throughout, and what each learns first (Li, Wei & Ma 2019).

Its config holds one sub-config per part, each run by its own function:
- `TwoPatternConfig`, `run_two_patterns`: the two-pattern data set, both schedules on several
  seeds trained together (quick and full profile);
- `ImagesConfig`, `lr_on_images`: the slide's comparison on real images with ResNet18 (full);
- `PatchConfig`, `patch_experiment`: Li, Wei & Ma's patch experiment with a WRN-16-k (full).

`check_lr_noise` checks the lecture's claims on the two-pattern part of a result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from .. import data, models
from ..claims import by_profile, claim
from ..runtime import config_threads
from ..train import TrainConfig, evaluate
from .lr_noise import (
    KIND_NAMES,
    BatchedMLP,
    PatchSpec,
    TwoPatternSpec,
    add_patches,
    patch_patterns,
    pattern_directions,
    train_sweep,
    two_pattern_data,
)
from .runs import fit


@dataclass(frozen=True)
class TwoPatternConfig:
    """The two-pattern comparison: plain SGD at `large_lr`, decayed to `small_lr`, against
    `small_lr` throughout, on `seeds` draws of data and initialisation trained together."""

    spec: TwoPatternSpec = TwoPatternSpec()
    train_samples: int = 500  # N = 2p / tau with p = 50, tau = 0.2 (the theorem's N ~ p / tau)
    test_samples: int = 2000
    width: int = 512  # hidden units
    # One half of the hidden units reads x1, the other x2, and the output adds them: what is
    # learned about P on examples that carry Q then holds on examples without Q. With one
    # shared layer it holds only partly (x2 = z switches on a different set of units), and the
    # P-only gain shrinks.
    split: bool = True
    # Leaky units: with plain ReLUs the large rate kills every unit that reads x2, and Q can
    # never be learned after the decay.
    negative_slope: float = 0.2
    large_lr: float = 1.5
    small_lr: float = 0.2  # also the large-rate run's rate after the decay
    epochs: int = 300
    decay_at: float = 0.2  # fraction of training at which the large rate drops to small_lr
    batch_size: int = 50
    seeds: int = 3  # independent draws of data and initialisation, trained together

    @property
    def decay_epoch(self) -> int:
        return round(self.decay_at * self.epochs)

    def schedules(self) -> dict[str, tuple[float, float]]:
        """name -> (learning rate before the decay epoch, after it); plain SGD for both."""
        return {
            "large lr, then decay": (self.large_lr, self.small_lr),
            "small lr": (self.small_lr, self.small_lr),
        }


@dataclass(frozen=True)
class ImagesConfig:
    """The slide's comparison on real images (CIFAR-10 there, with ResNet-32; ResNet18 here)."""

    dataset: str = "cifar10"
    epochs: int = 164

    def schedules(self) -> dict[str, TrainConfig]:
        """SGD with momentum 0.9, weight decay 1e-4, batch 128, augmentation; lr 0.1 divided by
        10 at epochs 81 and 122 of 164 (He et al.'s CIFAR schedule), against lr 0.001
        throughout. The slide's small-rate run lasted 5000 epochs; here both get the same
        epochs."""
        base = TrainConfig(
            epochs=self.epochs,
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


@dataclass(frozen=True)
class PatchConfig:
    """Li, Wei & Ma's patch experiment: a class patch (`PatchSpec`) on the images of
    `dataset`, WRN-16-`widen` (WRN-16-10 is the network of their code)."""

    dataset: str = "cifar10"
    spec: PatchSpec = PatchSpec()
    epochs: int = 60
    widen: int = 10

    def schedules(self) -> dict[str, TrainConfig]:
        """Their public code's settings: SGD with Nesterov momentum 0.9, weight decay 5e-4,
        batch 128, no augmentation, 60 epochs; lr 0.1 multiplied by 0.04 from the 30th epoch
        on, against lr 0.004 throughout. In float32, as theirs: bf16 would round the patch's
        class signal (+-0.1 on values near 1.25)."""
        base = TrainConfig(
            epochs=self.epochs,
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


@dataclass(frozen=True)
class LRNoiseConfig:
    two_patterns: TwoPatternConfig = TwoPatternConfig()
    images: ImagesConfig | None = None  # also compare the schedules on real images (full)
    patch: PatchConfig | None = None  # also Li, Wei & Ma's patch experiment (full)
    threads: int = 1

    @classmethod
    def quick(cls) -> LRNoiseConfig:
        return cls()

    @classmethod
    def full(cls) -> LRNoiseConfig:
        # The same N = 2p / tau at four times the dimension, a wider network and ten seeds.
        # Still generated data (no download); the real-image comparisons come on top.
        return cls(
            two_patterns=TwoPatternConfig(
                spec=TwoPatternSpec(p=200),
                train_samples=2000,
                test_samples=20000,
                width=2048,
                seeds=10,
            ),
            images=ImagesConfig("cifar10"),
            patch=PatchConfig("cifar10"),
            threads=0,
        )


def _two_pattern_sets(config: TwoPatternConfig, seed: int, device):
    """Seed `seed`'s draw: (training set, test set), each (x, y, kind) on `device`, and its
    initial network (`models.build('mlp', ..., depth=1)`)."""
    g = torch.Generator().manual_seed(seed)
    directions = pattern_directions(config.spec, g)
    train_set, test_set = (
        tuple(t.to(device) for t in two_pattern_data(config.spec, n, directions, g))
        for n in (config.train_samples, config.test_samples)
    )
    torch.manual_seed(seed)
    net = models.build("mlp", (2 * config.spec.p,), 2, width=config.width, depth=1)
    return train_set, test_set, net


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


def run_two_patterns(config: TwoPatternConfig, *, device="cpu", seed=0, progress=None) -> dict:
    """Both schedules on `config.seeds` draws of the data set (seeds seed, seed + 1, ...), each
    draw from the same initial weights for both schedules, all draws trained together
    (`train_sweep`). Per schedule and seed: the epoch history and its summary; per seed, the
    large-then-decay minus small margins on the P-only test examples and on all."""
    seeds = [seed + k for k in range(config.seeds)]
    train_sets, test_sets, nets = zip(*(_two_pattern_sets(config, s, device) for s in seeds))
    decay = config.decay_epoch
    split = config.spec.p if config.split else None
    runs, seconds = {}, {}
    for name, lrs in config.schedules().items():
        # the same initial weights for both schedules
        model = BatchedMLP(nets, split=split, negative_slope=config.negative_slope).to(device)
        generators = [torch.Generator().manual_seed(10_000 + s) for s in seeds]
        start = time.perf_counter()
        histories = train_sweep(
            model,
            train_sets,
            test_sets,
            lrs=lrs,
            decay_epoch=decay,
            epochs=config.epochs,
            batch_size=config.batch_size,
            generators=generators,
            progress=progress,
        )
        seconds[name] = time.perf_counter() - start
        runs[name] = [_lr_noise_summary(s, h, decay) for s, h in zip(seeds, histories)]
    large, small = runs.values()
    return {
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


def lr_on_images(
    config: ImagesConfig, datasets, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
) -> dict:
    """Both image schedules (`ImagesConfig.schedules`) on `datasets`, the (train, test) pair of
    `config.dataset`, with ResNet18 from the same initial weights, checkpointed per run: per
    schedule the final training loss and the test accuracy per epoch."""
    train_set, test_set = datasets
    out = {}
    for i, (name, schedule) in enumerate(config.schedules().items()):
        torch.manual_seed(seed)
        model = models.build("resnet18", tuple(train_set.x.shape[1:]), train_set.num_classes)
        history = fit(
            model.to(device),
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


def _patched_sets(config: PatchConfig, train_set, test_set, generator):
    """The patch experiment's data: (patched training set, clean test set, test set patched like
    the training set, patches alone on a zero image with random labels, the kind of each
    training example)."""
    g, spec, classes = generator, config.spec, train_set.num_classes
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
    return patched_train, clean, patched, patch_alone, kind


def patch_experiment(
    config: PatchConfig, datasets, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
) -> dict:
    """Li, Wei & Ma's patch experiment: both `PatchConfig.schedules` on `datasets`, the (train,
    test) pair of `config.dataset`, with a patch (`PatchSpec`) added to 80% of the training
    images, WRN-16-k from the same initial weights, checkpointed per run. Per schedule and
    epoch: the training loss, the accuracy on the clean test images (their headline number),
    on test images patched like the training set, and on patches alone (zero image plus
    patch, random labels)."""
    train_set, test_set = datasets
    if not train_set.is_image:
        raise ValueError(f"the patch experiment needs images, not {config.dataset!r}")
    g = torch.Generator().manual_seed(seed)
    patched_train, clean, patched, patch_alone, kind = _patched_sets(config, train_set, test_set, g)

    def on_epoch(epoch, model):
        return {
            "patched_test_acc": evaluate(model, patched, mixed_precision=False)["acc"],
            "patch_alone_acc": evaluate(model, patch_alone, mixed_precision=False)["acc"],
        }

    out = {
        "kinds": {name: int((kind == k).sum()) for k, name in KIND_NAMES.items()},
        "widen": config.widen,
        "runs": {},
    }
    in_shape = tuple(patched_train.x.shape[1:])
    for i, (name, schedule) in enumerate(config.schedules().items()):
        torch.manual_seed(seed)
        model = models.build("wrn", in_shape, train_set.num_classes, width=config.widen, depth=16)
        history = fit(
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


@config_threads
def run_lr_noise(
    config: LRNoiseConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """The two-pattern comparison (`run_two_patterns`) and, where the config asks for them
    (full profile), the slide's comparison on real images (`lr_on_images`) and Li, Wei & Ma's
    patch experiment (`patch_experiment`)."""
    # Real images are loaded first, each data set once: a missing one fails before any
    # training, not after.
    parts = [part for part in (config.images, config.patch) if part is not None]
    loaded = {name: data.load(name) for name in {part.dataset for part in parts}}
    run = {"device": device, "seed": seed, "progress": progress}
    result = run_two_patterns(config.two_patterns, **run)
    if config.images is not None:
        result["images"] = lr_on_images(
            config.images, loaded[config.images.dataset], **run, checkpoint_dir=checkpoint_dir
        )
        result["images_data"] = config.images.dataset
    if config.patch is not None:
        result["patch"] = patch_experiment(
            config.patch, loaded[config.patch.dataset], **run, checkpoint_dir=checkpoint_dir
        )
        result["patch_data"] = config.patch.dataset
    return result


def check_lr_noise(result: dict, profile: str) -> list[str]:
    """overparam_lr_noise, the two-pattern claims: both schedules fit the training set; the
    small rate fits the Q-only examples early, the large-then-decay schedule later and with P
    generalised further by then; at the end the large-then-decay schedule tests better on the
    P-only examples on every seed, and on the whole test set on average. The optional real-image
    and patch parts (`images`, `patch`) are not read. Same thresholds in both profiles."""
    by_profile(profile, None, None)  # refuses an unknown profile
    runs = result["runs"]
    large, small = runs["large lr, then decay"], runs["small lr"]

    def optional(value, kind=float):  # None where Q was never fitted
        return None if value is None else kind(value)

    seeds = [int(r["seed"]) for r in large]
    q_large = [optional(r["q_fitted_epoch"], int) for r in large]
    q_small = [optional(r["q_fitted_epoch"], int) for r in small]
    p_large = [optional(r["p_test_when_q_fitted"]) for r in large]
    p_small = [optional(r["p_test_when_q_fitted"]) for r in small]
    losses = {name: [float(r["final_loss"]) for r in rs] for name, rs in runs.items()}
    margins = [float(m) for m in np.asarray(result["margins_p_only"], dtype=float)]
    overall = [float(m) for m in np.asarray(result["margins_overall"], dtype=float)]

    def later(a, b):
        return a is not None and b is not None and a > b

    def rounded(values, digits=3):
        return [None if v is None else round(v, digits) for v in values]

    return [
        claim(
            all(loss < 0.02 for values in losses.values() for loss in values),
            "both schedules end below training loss 0.02 on every seed",
            "; ".join(f"{name}: {rounded(values, 4)}" for name, values in losses.items()),
        ),
        claim(
            all(e is not None and e <= 30 for e in q_small),
            "the small rate fits the Q-only examples (training accuracy >= 0.9) by epoch 30 on "
            "every seed",
            f"seeds {seeds}: first epochs {q_small}",
        ),
        claim(
            all(later(a, b) for a, b in zip(q_large, q_small)),
            "the large-then-decay schedule fits the Q-only examples, later than the small rate, "
            "on every seed",
            f"seeds {seeds}: epochs {q_large} against {q_small}",
        ),
        claim(
            all(later(a, b) for a, b in zip(p_large, p_small)),
            "when Q is first fitted, P-only test accuracy is higher under the large-then-decay "
            "schedule than under the small rate, on every seed",
            f"seeds {seeds}: {rounded(p_large)} against {rounded(p_small)}",
        ),
        claim(
            min(margins) > 0,
            "the large-then-decay schedule ends with the higher P-only test accuracy on every seed",
            f"large minus small, seeds {seeds}: {rounded(margins)}",
        ),
        claim(
            np.mean(margins) >= 0.02,
            "its mean lead on the P-only test examples is at least 0.02",
            f"mean {np.mean(margins):+.4f}",
        ),
        claim(
            np.mean(overall) > 0,
            "it is ahead on the whole test set on average",
            f"mean {np.mean(overall):+.4f}, per seed {rounded(overall)}",
        ),
    ]
