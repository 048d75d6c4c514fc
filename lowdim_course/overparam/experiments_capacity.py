"""The experiments of the lecture's first two sections, capacity and width: one network fits
true labels, random labels and corrupted pixels (`overparam_random_labels`); train and test error
and weight movement against width (`overparam_width`); and `check_*`, the lecture's claims on
each one's result. The lazy regime is `experiments_lazy`."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from .. import models
from ..claims import ClaimFailed, by_profile, claim
from ..runtime import config_threads
from ..train import TrainConfig, evaluate
from .lazy import relative_movement
from .random_labels import randomize_labels, shuffle_pixels
from .runs import build_network, fit, load_dataset

# ----------------------------------------------------------------------------------------------
# Fitting random labels (Zhang, Bengio, Hardt, Recht & Vinyals 2017)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RandomLabelsConfig:
    dataset: str = "digits"
    model: str = "mlp"
    width: int = 1024  # MLP hidden units (ResNet18 has its own widths)
    depth: int = 1
    train_samples: int | None = 600  # a random subset keeps the quick profile quick
    fractions: tuple = (0.0, 0.25, 0.5, 0.75, 1.0)  # fraction of randomised labels
    pixels: tuple = ("shuffled", "random")  # input corruptions, with the true labels
    train: TrainConfig = TrainConfig(
        epochs=120, batch_size=32, lr=0.1, weight_decay=0.0, schedule="constant"
    )
    threads: int = 1

    @classmethod
    def quick(cls) -> RandomLabelsConfig:
        return cls()

    @classmethod
    def full(cls) -> RandomLabelsConfig:
        # Zhang et al. train without weight decay, dropout or augmentation; ResNet18 here.
        return cls(
            dataset="cifar10",
            model="resnet18",
            train_samples=None,
            train=TrainConfig(
                epochs=150, batch_size=128, lr=0.01, weight_decay=0.0, checkpoint_every=10
            ),
            threads=0,
        )

    @classmethod
    def rehearsal(cls) -> RandomLabelsConfig:
        """The rehearsal on miniature data: true labels, all labels random and random pixels, 2
        epochs each."""
        full = cls.full()
        return replace(full, fractions=(0.0, 1.0), pixels=("random",), train=full.train.rehearsal())


def _conditions(config: RandomLabelsConfig):
    """(name, fraction of random labels, pixel corruption) for every run."""
    runs = [(f"{round(100 * f)}% random labels", f, "none") for f in config.fractions]
    runs += [(f"{p} pixels", 0.0, p) for p in config.pixels]
    return runs


def _corrupt(train_set, test_set, fraction: float, pixels: str, generator):
    """The condition's training and test sets: `fraction` of the training labels randomised,
    and the pixels of both sets shuffled ('shuffled'), randomised per image ('random') or kept
    ('none'). Returns (train, test, mask of the randomised training samples)."""
    g = generator
    labels, randomised = randomize_labels(train_set.y, fraction, train_set.num_classes, g)
    tr, te = replace(train_set, y=labels), test_set
    if pixels == "shuffled":
        # One permutation for train and test: the mapping from image to label is kept.
        perm_seed = int(torch.randint(0, 2**31, (1,), generator=g))
        tr = replace(tr, x=shuffle_pixels(tr.x, torch.Generator().manual_seed(perm_seed)))
        te = replace(te, x=shuffle_pixels(te.x, torch.Generator().manual_seed(perm_seed)))
    elif pixels == "random":
        tr = replace(tr, x=shuffle_pixels(tr.x, g, per_image=True))
        te = replace(te, x=shuffle_pixels(te.x, g, per_image=True))
    return tr, te, randomised


@config_threads
def run_random_labels(
    config: RandomLabelsConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Train the same network on each label/pixel condition; training curves, final training
    accuracy on the (corrupted) training labels and test accuracy on the true test labels."""
    train_set, test_set = load_dataset(config.dataset)
    if config.train_samples is not None:
        g = torch.Generator().manual_seed(seed)
        train_set = train_set.subset(
            torch.randperm(len(train_set), generator=g)[: config.train_samples]
        )
    runs = []
    for i, (name, fraction, pixels) in enumerate(_conditions(config)):
        g = torch.Generator().manual_seed(1000 * seed + i)
        tr, te, randomised = _corrupt(train_set, test_set, fraction, pixels, g)
        torch.manual_seed(seed)
        model = build_network(
            config.model,
            tuple(tr.x.shape[1:]),
            tr.num_classes,
            width=config.width,
            depth=config.depth,
        ).to(device)
        history = fit(
            model,
            tr,
            te,
            config.train,
            seed=seed,
            progress=progress,
            checkpoint_dir=checkpoint_dir,
            run_name=f"condition{i}",
        )
        runs.append(
            {
                "name": name,
                "fraction": fraction,
                "pixels": pixels,
                "changed": float((tr.y != train_set.y)[randomised].float().sum() / len(tr.y)),
                "train_loss": [h["train_loss"] for h in history],
                "train_acc": [h["train_acc"] for h in history],
                "test_acc": [h["test_acc"] for h in history],
                # On the whole training set after training: the loop's running accuracy
                # averages over an epoch while the weights change.
                "final_train_acc": evaluate(model, tr.to(device))["acc"],
                "final_test_acc": history[-1]["test_acc"],
                "epochs_to_fit": next(
                    (h["epoch"] for h in history if h["train_acc"] >= 0.999), None
                ),
            }
        )
    return {"chance": 1.0 / train_set.num_classes, "runs": runs, "data": train_set.name}


# ----------------------------------------------------------------------------------------------
# Width: generalisation and weight movement
# ----------------------------------------------------------------------------------------------

# Zagoruyko & Komodakis (2016), Table 4 as on the lecture slide: WRN-40-k on CIFAR-10 with
# standard augmentation, zero training error, test error in percent.
WRN_TABLE = {
    1: {"params_m": 0.6, "test_error": 6.85},
    2: {"params_m": 2.2, "test_error": 5.33},
    4: {"params_m": 8.9, "test_error": 4.97},
    8: {"params_m": 36.5, "test_error": 4.66},
}


@dataclass(frozen=True)
class WidthConfig:
    dataset: str = "digits"
    model: str = "mlp"  # one hidden layer; 'wrn' in the full profile
    depth: int = 1  # hidden layers of the MLP, or the WRN depth
    widths: tuple = (2, 4, 8, 16, 64, 256, 1024, 4096)  # hidden units or widen factor
    train: TrainConfig = TrainConfig(
        epochs=60, batch_size=64, lr=0.05, weight_decay=0.0, schedule="cosine"
    )
    threads: int = 1

    @classmethod
    def quick(cls) -> WidthConfig:
        return cls()

    @classmethod
    def full(cls) -> WidthConfig:
        # The WRN paper's CIFAR-10 recipe: SGD, Nesterov momentum 0.9, weight decay 5e-4,
        # batch 128, lr 0.1 x 0.2 at epochs 60, 120, 160 of 200, crop + flip augmentation.
        return cls(
            dataset="cifar10",
            model="wrn",
            depth=40,
            widths=(1, 2, 4, 8),
            train=TrainConfig(
                epochs=200,
                batch_size=128,
                lr=0.1,
                nesterov=True,
                weight_decay=5e-4,
                schedule="step",
                milestones=(0.3, 0.6, 0.8),
                gamma=0.2,
                augment=True,
                checkpoint_every=10,
            ),
            threads=0,
        )

    @classmethod
    def rehearsal(cls) -> WidthConfig:
        """The rehearsal on miniature data: WideResNets of depth 10 (one block a group, the same
        WideResNet) at widen factors 1-4 (the check compares four widths), 2 epochs each."""
        full = cls.full()
        return replace(full, depth=10, widths=(1, 2, 3, 4), train=full.train.rehearsal())


def first_widened_weight(model: torch.nn.Module) -> torch.Tensor:
    """The first weight whose size grows with the network's width, whose movement the width
    experiment measures: an MLP's first layer; a WideResNet's first convolution of its first
    group (16 -> 16k channels; the stem has 16 channels for every widen factor k); otherwise the
    first weight matrix."""
    if isinstance(model, models.WideResNet):
        return model.groups[0].conv1.weight
    return next(p for p in model.parameters() if p.dim() > 1)


@config_threads
def run_width(config: WidthConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """Train one network per width: final training and test error, parameter count, curves, and
    how far the first layer and the classifier moved from initialisation."""
    train_set, test_set = load_dataset(config.dataset)
    in_shape = tuple(train_set.x.shape[1:])
    runs = []
    for width in config.widths:
        torch.manual_seed(seed)
        model = build_network(
            config.model, in_shape, train_set.num_classes, width=width, depth=config.depth
        ).to(device)
        first = first_widened_weight(model)
        first_init = first.detach().clone()
        head_init = model.classifier.weight.detach().clone()
        history = fit(
            model,
            train_set,
            test_set,
            config.train,
            seed=seed,
            progress=progress,
            checkpoint_dir=checkpoint_dir,
            run_name=f"width{width}",
        )
        runs.append(
            {
                "width": width,
                "params": models.count_parameters(model),
                "train_error": 1 - evaluate(model, train_set.to(device))["acc"],
                "test_error": 1 - history[-1]["test_acc"],
                "train_error_curve": [1 - h["train_acc"] for h in history],
                "test_error_curve": [1 - h["test_acc"] for h in history],
                "movement_first": relative_movement([first.detach()], [first_init]),
                "movement_head": relative_movement([model.classifier.weight.detach()], [head_init]),
            }
        )
    n = len(train_set)
    return {"runs": runs, "train_size": n, "data": train_set.name, "model": config.model}


# ----------------------------------------------------------------------------------------------
# The claims of the two experiments, checked on their results
# ----------------------------------------------------------------------------------------------


def check_random_labels(result: dict, profile: str) -> list[str]:
    """overparam_random_labels: every condition is fitted, test accuracy falls with the fraction
    of random labels and is at chance when all are random. Same thresholds in both profiles."""
    by_profile(profile, None, None)  # refuses an unknown profile
    train = {r["name"]: float(r["final_train_acc"]) for r in result["runs"]}
    worst = min(train, key=train.get)
    by_fraction = sorted(
        (r for r in result["runs"] if r["pixels"] == "none"), key=lambda r: float(r["fraction"])
    )
    fractions = [float(r["fraction"]) for r in by_fraction]
    tests = [float(r["final_test_acc"]) for r in by_fraction]
    chance = float(result["chance"])
    return [
        claim(
            all(acc == 1.0 for acc in train.values()),
            "every condition, random labels and corrupted pixels included, reaches training "
            "accuracy 1.0",
            f"lowest {train[worst]:.4f} ({worst}) of {len(train)} conditions",
        ),
        claim(
            all(a > b for a, b in zip(tests, tests[1:])),
            "test accuracy falls at every step up in the fraction of random labels",
            f"fractions {fractions}: test accuracy {[round(t, 3) for t in tests]}",
        ),
        claim(
            abs(tests[-1] - chance) < 0.08,
            "with all labels random, test accuracy is within 0.08 of chance",
            f"{tests[-1]:.3f} at fraction {fractions[-1]}, chance {chance:.3f}",
        ),
    ]


def check_width(result: dict, profile: str) -> list[str]:
    """overparam_width, the shape of the curve the lecture describes. The widest network fits
    every training sample. Past the interpolation threshold (the widths with at least as many
    parameters as training samples: all four WideResNets in the full profile) the test error
    does not rise beyond the test set's noise: no network there has a test error more than
    `tol` above that of the narrowest one past the threshold, nor above that of the next
    narrower one (`tol` is 0.01, about four of the digits' 450 test images, in the quick
    profile, where one standard error at 2% error is 0.007; 0.004, 40 of CIFAR-10's 10,000, in
    the full one), and the widest network's is below that of the narrowest one past it. In
    the quick profile, where the sweep starts below the threshold, the narrowest network also
    fails to fit (training error above 0.05). And the widest network's first layer moves less
    than a fifth as far as a narrower network's: the fourth-narrowest in the quick profile (the
    notebook's comparison), the narrowest in the full profile, whose four widen factors make
    the fourth-narrowest the widest itself."""
    runs = sorted(result["runs"], key=lambda r: int(r["width"]))
    if len(runs) < 4:
        raise ClaimFailed(f"the width claims compare at least 4 widths, not {len(runs)}")
    tol = by_profile(profile, 0.01, 0.004)
    n = int(result["train_size"])
    widest, narrowest = runs[-1], runs[0]
    reference = runs[by_profile(profile, 3, 0)]
    moves = {int(r["width"]): float(r["movement_first"]) for r in runs}
    w, wr = int(widest["width"]), int(reference["width"])
    past = [r for r in runs if int(r["params"]) >= n]  # past the interpolation threshold
    if len(past) < 2:
        raise ClaimFailed(
            f"the shape claims need 2 widths with at least {n} parameters, not {len(past)}"
        )
    tests = [float(r["test_error"]) for r in past]
    rises = [b - a for a, b in zip(tests, tests[1:])]  # from each width to the next
    above = [t - tests[0] for t in tests[1:]]  # above the first network past the threshold
    curve = ", ".join(f"{int(r['width'])}: {t:.4f}" for r, t in zip(past, tests))
    held = [
        claim(
            float(widest["train_error"]) == 0.0,
            "the widest network fits every training sample (training error 0)",
            f"width {w}: training error {float(widest['train_error']):.4f}",
        ),
        claim(
            max(rises) <= tol and max(above) <= tol,
            f"past the interpolation threshold ({n} parameters) the test error does not rise: "
            f"no network there is more than {tol} above the narrowest one past it, nor above "
            "the next narrower one",
            f"largest rise from one width to the next {max(rises):+.4f}, above the first "
            f"{max(above):+.4f}; test error by width {curve}",
        ),
        claim(
            tests[-1] < tests[0],
            f"the widest network's test error is below that of width {int(past[0]['width'])}, "
            "the narrowest past the threshold",
            f"width {w}: {tests[-1]:.4f}, width {int(past[0]['width'])}: {tests[0]:.4f}",
        ),
        claim(
            moves[w] < moves[wr] / 5,
            f"the widest network's first layer moves less than a fifth as far as width {wr}'s "
            "(relative movement)",
            f"width {wr}: {moves[wr]:.4f}, width {w}: {moves[w]:.4f}; all widths "
            f"{ {k: round(v, 3) for k, v in moves.items()} }",
        ),
    ]
    if profile == "full":
        return held
    return held + [
        claim(
            float(narrowest["train_error"]) > 0.05,
            "below the threshold the narrowest network does not fit the training set "
            "(training error above 0.05)",
            f"width {int(narrowest['width'])} ({int(narrowest['params'])} parameters): "
            f"training error {float(narrowest['train_error']):.4f}",
        ),
    ]
