"""Label noise: the corruptions the lecture trains under, and the data sets that carry them.

Synthetic noise flips an exact fraction of the labels, either to a uniformly random other class
(symmetric) or along fixed class pairs that look alike (asymmetric, Patrini et al. 2017).
CIFAR-10N (Wei et al. 2022) replaces CIFAR-10's training labels by human annotations, whose
errors follow the images; its label sets sit here with its loader (the seed's published table of
methods on them is `published.py`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from .. import data

# Asymmetric noise of Patrini et al. (2017) on CIFAR-10: truck -> automobile, bird -> airplane,
# deer -> horse, cat <-> dog. For digits, confusions that look plausible: 2->7, 3->8, 5->6, 7->1.
CIFAR10_FLIPS = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}
DIGITS_FLIPS = {2: 7, 3: 8, 5: 6, 7: 1, 6: 5}


def symmetric_noise(labels: torch.Tensor, rate: float, num_classes: int, generator=None):
    """Flip exactly round(rate N) labels, chosen at random, each to a uniformly random *other*
    class. Returns (noisy labels, mask of the corrupted samples)."""
    n = len(labels)
    corrupted = torch.zeros(n, dtype=torch.bool)
    chosen = torch.randperm(n, generator=generator)[: round(rate * n)]
    corrupted[chosen] = True
    noisy = labels.clone()
    shift = torch.randint(1, num_classes, (len(chosen),), generator=generator)
    noisy[chosen] = (labels[chosen] + shift) % num_classes  # shift >= 1: never the same class
    return noisy, corrupted


def asymmetric_noise(labels: torch.Tensor, rate: float, flips: dict, generator=None):
    """For each source class c in `flips`, relabel exactly round(rate n_c) of its samples as
    flips[c]. Returns (noisy labels, mask of the corrupted samples)."""
    noisy, corrupted = labels.clone(), torch.zeros(len(labels), dtype=torch.bool)
    for source, target in flips.items():
        members = torch.nonzero(labels == source).flatten()
        chosen = members[
            torch.randperm(len(members), generator=generator)[: round(rate * len(members))]
        ]
        noisy[chosen], corrupted[chosen] = target, True
    return noisy, corrupted


def standardized_digits():
    """Digits (train, test) with features standardised by the training set's statistics."""
    train_set, test_set = data.load_digits()
    mean, std = train_set.x.mean(0), train_set.x.std(0) + 1e-6
    return (
        replace(train_set, x=(train_set.x - mean) / std),
        replace(test_set, x=(test_set.x - mean) / std),
    )


def noisy_data(config, rate: float, seed: int):
    """(train, test, noisy train labels, corrupted mask): `config.dataset` with `config.noise`
    ('symmetric' or asymmetric) label noise at `rate`, drawn from `seed`."""
    train_set, test_set = (
        standardized_digits() if config.dataset == "digits" else data.load(config.dataset)
    )
    g = torch.Generator().manual_seed(seed)
    if config.noise == "symmetric":
        noisy, corrupted = symmetric_noise(train_set.y.cpu(), rate, train_set.num_classes, g)
    else:
        flips = DIGITS_FLIPS if config.dataset == "digits" else CIFAR10_FLIPS
        noisy, corrupted = asymmetric_noise(train_set.y.cpu(), rate, flips, g)
    return train_set, test_set, noisy, corrupted


# CIFAR-10N's label sets: the names used here -> the keys of the authors' file.
CIFAR10N_SETS = {
    "clean": "clean_label",
    "aggregate": "aggre_label",
    "random1": "random_label1",
    "random2": "random_label2",
    "random3": "random_label3",
    "worst": "worse_label",
}


def load_cifar10n(label_set: str = "worst", root=None):
    """CIFAR-10 with the training labels replaced by a CIFAR-10N human label set ('aggregate',
    'random1', 'random2', 'random3', 'worst' or 'clean'). Returns (train, test, noisy train
    labels, corrupted mask), as `noisy_data` does: `train` keeps CIFAR-10's clean labels, against
    which the memorisation probe measures. Both files must be downloaded (`lowdim-course
    download cifar10` and `... cifar10n`)."""
    if label_set not in CIFAR10N_SETS:
        choices = ", ".join(CIFAR10N_SETS)
        raise ValueError(f"unknown CIFAR-10N label set {label_set!r}: choose one of {choices}")
    root = root or data.data_root()
    path = Path(root) / data.CIFAR10N_FILE
    if not path.exists():
        raise data._missing("cifar10n", path)
    train_set, test_set = data.load_cifar10(root)
    labels = data.read_cifar10n(path, num_train=len(train_set))
    if not torch.equal(labels["clean_label"], train_set.y.cpu()):
        raise ValueError(f"{path}: its clean labels do not match CIFAR-10's training labels")
    noisy = labels[CIFAR10N_SETS[label_set]]
    return train_set, test_set, noisy, noisy != train_set.y.cpu()
