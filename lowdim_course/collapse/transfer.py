"""Transfer to held-out classes: how well features learned on some classes serve others,
measured by a few-shot linear probe (a ridge regression on one-hot targets, cheap enough to
average over many random draws of the few labelled samples).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from torch.nn import functional as F

from .. import data as datasets
from .geometry import DTYPE


def class_subset(data: datasets.ArrayData, classes, n: int | None = None) -> datasets.ArrayData:
    """The samples of `classes` (relabelled 0..len-1), at most n of them."""
    classes = torch.as_tensor(classes)
    keep = torch.isin(data.y, classes)
    index = torch.nonzero(keep)[:, 0][:n]
    remap = torch.full((int(data.y.max()) + 1,), -1, dtype=torch.long)
    remap[classes] = torch.arange(len(classes))
    return replace(data.subset(index), y=remap[data.y[index]], num_classes=len(classes))


def ridge_probe(h_train, y_train, h_test, y_test, num_classes: int, reg: float = 0.1) -> float:
    """Test accuracy of a linear classifier fitted by ridge regression on one-hot targets.

    Features are standardised with the training statistics and get a constant column;
    weights = argmin ||A w - Y||^2 + reg N ||w||^2, solved in whichever of the primal (d + 1)
    or dual (N) form is smaller. A least-squares probe has a closed form, so many probes
    (few-shot draws) cost little.
    """
    h_train, h_test = h_train.to(DTYPE), h_test.to(DTYPE)
    mean, std = h_train.mean(0), h_train.std(0, correction=0) + 1e-8

    def design(h):
        return torch.cat([(h - mean) / std, torch.ones(len(h), 1, dtype=DTYPE)], 1)

    A, B = design(h_train), design(h_test)  # (N, d+1), (M, d+1)
    Y = F.one_hot(y_train, num_classes).to(DTYPE)  # (N, K)
    N, p = A.shape
    if N < p:
        weights = A.T @ torch.linalg.solve(A @ A.T + reg * N * torch.eye(N, dtype=DTYPE), Y)
    else:
        weights = torch.linalg.solve(A.T @ A + reg * N * torch.eye(p, dtype=DTYPE), A.T @ Y)
    return ((B @ weights).argmax(1) == y_test).double().mean().item()


def few_shot_accuracy(
    h_train,
    y_train,
    h_test,
    y_test,
    num_classes: int,
    *,
    shots: int,
    draws: int,
    generator: torch.Generator,
    reg: float = 0.1,
) -> float:
    """Mean ridge-probe accuracy over `draws` random training sets of `shots` per class."""
    accs = []
    for _ in range(draws):
        index = []
        for k in range(num_classes):
            members = torch.nonzero(y_train == k)[:, 0]
            pick = torch.randperm(len(members), generator=generator)[:shots]
            index.append(members[pick])
        index = torch.cat(index)
        accs.append(ridge_probe(h_train[index], y_train[index], h_test, y_test, num_classes, reg))
    return float(np.mean(accs))
