"""The experiment `overparam_lr_noise_images`: the large-learning-rate-then-decay schedule
against a small rate on real images, in two parts, each run by its own function:
- `ImagesConfig`, `lr_on_images`: the slide's comparison (ResNet-32 on CIFAR-10 there, ResNet18
  here in the full profile);
- `PatchConfig`, `patch_experiment`: Li, Wei & Ma's patch experiment (WRN-16-10 on CIFAR-10 in
  the full profile).

The full profile needs CIFAR-10 (`lowdim-course download cifar10`) and a GPU. The quick profile
runs both parts on scikit-learn's digits as 8x8 one-channel images (`load_images('digits')`),
with a one-hidden-layer MLP, in seconds on a CPU: the same code path, the same schedules and
the same patch construction (a 3x3 patch), at a scale that shows the schedules' difference in
test accuracy but not the patch mechanism (neither schedule learns the patch there;
`check_lr_noise_images` says so). `LRNoiseImagesConfig` holds both parts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from .. import data
from ..claims import by_profile, claim
from ..runtime import config_threads
from ..train import TrainConfig, evaluate, lr_factor
from .lr_noise import KIND_NAMES, PatchSpec, add_patches, patch_patterns
from .runs import build_network, fit

LARGE, SMALL = "large lr, then decay", "small lr"


def load_images(name: str) -> tuple[data.ArrayData, data.ArrayData]:
    """(train, test) images of a data set: 'digits' as (N, 1, 8, 8) uint8 images (the 17 grey
    levels of scikit-learn's digits, scaled to 0 ... 255, normalised by the training set's
    mean and standard deviation), any other name through `data.load`."""
    if name != "digits":
        return data.load(name)
    train, test = data.load_digits()  # float features in [0, 1], (N, 64)
    mean, std = float(train.x.mean()), float(train.x.std())

    def images(part: data.ArrayData) -> data.ArrayData:
        x = (255 * part.x).round().to(torch.uint8).reshape(-1, 1, 8, 8)
        return data.ArrayData(x, part.y, part.num_classes, part.name, mean=(mean,), std=(std,))

    return images(train), images(test)


@dataclass(frozen=True)
class ImagesConfig:
    """The slide's comparison on real images (CIFAR-10 there, with ResNet-32)."""

    dataset: str = "cifar10"
    epochs: int = 164
    model: str = "resnet18"  # or 'mlp' (quick profile: digits)
    width: int = 512  # the MLP's hidden units (ResNet18 keeps its own widths)
    depth: int = 1  # the MLP's hidden layers
    augment: bool = True  # random crop and flip (32x32 images; off for the 8x8 digits)
    batch_size: int = 128
    checkpoint_every: int = 10  # epochs

    def schedules(self) -> dict[str, TrainConfig]:
        """SGD with momentum 0.9, weight decay 1e-4, batch 128; lr 0.1 divided by 10 after 81
        and 122 of 164 epochs (He et al.'s CIFAR schedule, as fractions of `epochs`), against
        lr 0.001 throughout. The slide's small-rate run lasted 5000 epochs; here both get the
        same epochs."""
        base = TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            momentum=0.9,
            weight_decay=1e-4,
            augment=self.augment,
            checkpoint_every=self.checkpoint_every,
        )
        return {
            LARGE: replace(
                base, lr=0.1, schedule="step", milestones=(81 / 164, 122 / 164), gamma=0.1
            ),
            SMALL: replace(base, lr=0.001, schedule="constant"),
        }


@dataclass(frozen=True)
class PatchConfig:
    """Li, Wei & Ma's patch experiment: a class patch (`PatchSpec`) on the images of
    `dataset`, WRN-16-`width` (WRN-16-10 is the network of their code) or an MLP."""

    dataset: str = "cifar10"
    spec: PatchSpec = PatchSpec()
    epochs: int = 60
    model: str = "wrn"  # or 'mlp' (quick profile: digits)
    width: int = 10  # the WRN's widen factor k, or the MLP's hidden units
    depth: int = 16  # the WRN's depth 6n + 4, or the MLP's hidden layers
    batch_size: int = 128
    checkpoint_every: int = 5  # epochs

    @property
    def network(self) -> str:
        """The network's name, for figures."""
        if self.model == "wrn":
            return f"WRN-{self.depth}-{self.width}"
        return f"{self.model.upper()} {self.depth}x{self.width}"

    def schedules(self) -> dict[str, TrainConfig]:
        """Their public code's settings: SGD with Nesterov momentum 0.9, weight decay 5e-4,
        batch 128, no augmentation, 60 epochs; lr 0.1 multiplied by 0.04 from the 30th epoch
        on (29/60 of `epochs`), against lr 0.004 throughout. In float32, as theirs: bf16 would
        round the patch's class signal (+-0.1 on values near 1.25)."""
        base = TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            momentum=0.9,
            nesterov=True,
            weight_decay=5e-4,
            augment=False,
            mixed_precision=False,
            checkpoint_every=self.checkpoint_every,
        )
        return {
            LARGE: replace(base, lr=0.1, schedule="step", milestones=(29 / 60,), gamma=0.04),
            SMALL: replace(base, lr=0.004, schedule="constant"),
        }


@dataclass(frozen=True)
class LRNoiseImagesConfig:
    images: ImagesConfig = ImagesConfig(
        "digits", epochs=60, model="mlp", width=512, depth=1, augment=False
    )
    # A 3x3 patch: the 7x7 of the CIFAR experiment would cover the whole 8x8 digit.
    patch: PatchConfig = PatchConfig(
        "digits", spec=PatchSpec(size=3), epochs=40, model="mlp", width=512, depth=1
    )
    threads: int = 1

    @classmethod
    def quick(cls) -> LRNoiseImagesConfig:
        return cls()

    @classmethod
    def full(cls) -> LRNoiseImagesConfig:
        return cls(images=ImagesConfig("cifar10"), patch=PatchConfig("cifar10"), threads=0)

    @classmethod
    def rehearsal(cls) -> LRNoiseImagesConfig:
        """The full config on miniature data: 2 epochs of batches of 16 for both parts, a
        checkpoint every epoch, and WRN-16-1 (the same WideResNet) for the patch experiment."""
        full, small = cls.full(), {"epochs": 2, "batch_size": 16, "checkpoint_every": 1}
        return replace(
            full, images=replace(full.images, **small), patch=replace(full.patch, **small, width=1)
        )


def lr_on_images(
    config: ImagesConfig, datasets, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
) -> dict:
    """Both image schedules (`ImagesConfig.schedules`) on `datasets`, the (train, test) pair of
    `config.dataset`, with the config's network from the same initial weights, checkpointed
    per run: per schedule the training loss and the test accuracy per epoch."""
    train_set, test_set = datasets
    out = {}
    for i, (name, schedule) in enumerate(config.schedules().items()):
        torch.manual_seed(seed)
        shape, classes = tuple(train_set.x.shape[1:]), train_set.num_classes
        model = build_network(config.model, shape, classes, width=config.width, depth=config.depth)
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


def _epochs_before_decay(schedule: TrainConfig) -> int:
    """How many epochs a step schedule runs at its full rate (`train.lr_factor` per epoch)."""
    factors = [lr_factor(e / schedule.epochs, schedule) for e in range(schedule.epochs)]
    return next((e for e, f in enumerate(factors) if f < 1), schedule.epochs)


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
    images, the config's network from the same initial weights, checkpointed per run. Per
    schedule and epoch: the training loss, the accuracy on the clean test images (their
    headline number), on test images patched like the training set, and on patches alone
    (zero image plus patch, random labels)."""
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
        "network": config.network,
        "decay_epoch": _epochs_before_decay(config.schedules()[LARGE]),
        "chance": 1 / train_set.num_classes,
        "runs": {},
    }
    in_shape = tuple(patched_train.x.shape[1:])
    for i, (name, schedule) in enumerate(config.schedules().items()):
        torch.manual_seed(seed)
        model = build_network(
            config.model, in_shape, train_set.num_classes, width=config.width, depth=config.depth
        )
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
def run_lr_noise_images(
    config: LRNoiseImagesConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
) -> dict:
    """The slide's comparison on real images (`lr_on_images`) and Li, Wei & Ma's patch
    experiment (`patch_experiment`), each data set loaded once and before any training (a
    missing one fails at once, with the command that downloads it)."""
    loaded = {name: load_images(name) for name in {config.images.dataset, config.patch.dataset}}
    run = {"device": device, "seed": seed, "progress": progress, "checkpoint_dir": checkpoint_dir}
    return {
        "images": lr_on_images(config.images, loaded[config.images.dataset], **run),
        "images_data": config.images.dataset,
        "images_network": config.images.model,
        "patch": patch_experiment(config.patch, loaded[config.patch.dataset], **run),
        "patch_data": config.patch.dataset,
    }


def check_lr_noise_images(result: dict, profile: str) -> list[str]:
    """overparam_lr_noise_images. In both profiles: on the real images the large-then-decay
    schedule fits the training set and ends with the higher test accuracy, and in the patch
    experiment it ends with the higher clean test accuracy. Quick profile (digits, 8x8, MLP),
    what that scale shows and cannot: the small rate has not fitted the training set in the
    same epochs, and neither schedule learns the patch, so the patch mechanism is not seen.
    Full profile (CIFAR-10): the slide's premise, that the small rate too reaches a low
    training loss (below 0.05, as the large-then-decay schedule), in 164 epochs where the
    slide's run had 5000; and Li, Wei & Ma's mechanism: before the decay the small rate is
    ahead on the patch alone, and the large-then-decay schedule picks the patch up after it."""
    by_profile(profile, None, None)  # refuses an unknown profile
    images, patch = result["images"], result["patch"]
    chance, decay = float(patch["chance"]), int(patch["decay_epoch"])
    large, small = patch["runs"][LARGE], patch["runs"][SMALL]
    loss_large = float(images[LARGE]["final_train_loss"])
    loss_small = float(images[SMALL]["final_train_loss"])
    test = {name: float(run["final_test_acc"]) for name, run in images.items()}
    clean = {name: float(run["final_clean_test_acc"]) for name, run in patch["runs"].items()}
    alone_large = [float(a) for a in large["patch_alone_acc"]]
    alone_small = [float(a) for a in small["patch_alone_acc"]]
    data_name = result["images_data"]
    held = [
        claim(
            loss_large < 0.05,
            f"on {data_name} the large-then-decay schedule ends below training loss 0.05",
            f"{loss_large:.4f}",
        ),
        claim(
            test[LARGE] >= test[SMALL] + 0.01,
            f"on {data_name} it ends at least 0.01 above the small rate in test accuracy",
            f"{test[LARGE]:.4f} against {test[SMALL]:.4f}",
        ),
        claim(
            clean[LARGE] > clean[SMALL],
            "with the patch, it ends with the higher test accuracy on clean images",
            f"{clean[LARGE]:.4f} against {clean[SMALL]:.4f}",
        ),
    ]
    if profile == "quick":
        finals = (alone_large[-1], alone_small[-1])
        return held + [
            claim(
                loss_small > 0.1,
                "at this scale the small rate has not fitted the training set in the same "
                "epochs (training loss above 0.1)",
                f"{loss_small:.4f}",
            ),
            claim(
                all(abs(a - chance) <= 0.1 for a in finals),
                f"at this scale neither schedule learns the patch: final accuracy on the patch "
                f"alone within 0.1 of chance ({chance:.2f})",
                f"large then decay {finals[0]:.3f}, small {finals[1]:.3f}",
            ),
        ]
    return held + [
        claim(
            loss_small < 0.05,
            f"on {data_name} the small rate too ends below training loss 0.05 (both fit, the "
            "slide's premise, here in the same epochs as the large-then-decay schedule)",
            f"small {loss_small:.4f}, large then decay {loss_large:.4f}",
        ),
        claim(
            alone_small[decay - 1] > alone_large[decay - 1],
            f"before the decay (epoch {decay}) the small rate is ahead on the patch alone",
            f"small {alone_small[decay - 1]:.3f} against {alone_large[decay - 1]:.3f}",
        ),
        claim(
            alone_large[-1] > alone_large[decay - 1],
            "after the decay the large-then-decay schedule learns the patch (its accuracy on "
            "the patch alone rises)",
            f"{alone_large[decay - 1]:.3f} at epoch {decay}, {alone_large[-1]:.3f} at the end",
        ),
    ]
