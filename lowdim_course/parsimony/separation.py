"""Progressive separation: how the classes separate from layer to layer.

D_l = tr(Sigma_W^l) / tr(Sigma_B^l), the within- over the between-class scatter of the features
of layer l. He & Su (2022) observed that log D_l falls linearly in l in trained networks; Wang
et al. (2023) prove D_{l+1}/D_l <= 2 (sqrt(K) + 1) eps^2 for a DLN trained from the
eps-orthogonal initialisation on orthogonal data, a consequence of the law of parsimony. This
module measures D_l in a DLN and in a ReLU MLP, fits the log-linear law, and states the bound.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from .. import data, metrics, models
from ..train import TrainConfig, train
from .deep_linear import DTYPE, orthogonal_matrix


def separation_by_layer(weights: list, x: torch.Tensor, labels: torch.Tensor, classes: int):
    """D_l = tr(Sigma_W^l) / tr(Sigma_B^l) of the features z^l = W_{l:1} x for l = 0 (the input)
    ... L-1 (the last hidden layer); x has one sample per column."""
    features, separation = x, [metrics.within_between_ratio(x.T, labels, classes)]
    for w in weights[:-1]:
        features = w @ features
        separation.append(metrics.within_between_ratio(features.T, labels, classes))
    return separation


def log_linear_fit(values) -> dict:
    """Fit log D_l = a + b l over the layers given; returns the slope b, the ratio e^b per layer
    and the R^2 of the fit."""
    y = np.log(np.asarray(values, dtype=float))
    layers = np.arange(len(y))
    slope, intercept = np.polyfit(layers, y, 1)
    residual = y - (intercept + slope * layers)
    r2 = 1 - (residual**2).sum() / ((y - y.mean()) ** 2).sum()
    return {"slope": float(slope), "ratio": float(np.exp(slope)), "r2": float(r2)}


def separation_bound(eps: float, classes: int) -> float:
    """The bound D_{l+1}/D_l <= 2 (sqrt(K) + 1) eps^2 of Wang et al. (2023) for a trained DLN."""
    return 2 * (math.sqrt(classes) + 1) * eps**2


def orthogonal_classification_data(dim: int, classes: int, generator=None):
    """The setting of the separation theorem: N = dim samples forming an orthogonal matrix X
    (columns are samples), balanced labels, and targets Y = one-hot / sqrt(N/K), scaled so that
    Y X^T has singular values 1 (then GD with step ~0.1 is stable at any depth used here)."""
    x = orthogonal_matrix(dim, dim, 1.0, generator)
    labels = torch.arange(dim) % classes
    y = nn.functional.one_hot(labels, classes).T.to(DTYPE) / math.sqrt(dim / classes)
    return x, labels, y


def standardised(train_set: data.ArrayData) -> data.ArrayData:
    """Feature data sets (digits) standardised per feature; image sets unchanged."""
    if train_set.is_image:
        return train_set
    mean, std = train_set.x.mean(0), train_set.x.std(0) + 1e-6
    return replace(train_set, x=(train_set.x - mean) / std)


def mlp_separation(
    dataset: str,
    *,
    depth: int,
    width: int,
    config: TrainConfig,
    seed: int,
    device="cpu",
    progress=None,
    max_samples: int = 10000,
    checkpoint_dir=None,
) -> dict:
    """Train a ReLU MLP (`models.build("mlp", ...)`) on `dataset` ('digits': features
    standardised; or an image set such as 'cifar10', flattened) with `train.train`, then
    measure D_l after every hidden layer's ReLU on (up to `max_samples` of) the training set;
    l = 0 is the input. With `checkpoint_dir` the training checkpoints there and resumes."""
    train_set = standardised(data.load(dataset)[0])
    classes = train_set.num_classes
    in_shape = tuple(train_set.inputs(train_set.x[:1]).shape[1:])
    torch.manual_seed(seed)
    model = models.build("mlp", in_shape, classes, width=width, depth=depth).to(device)
    train(
        model,
        train_set,
        config,
        seed=seed,
        progress=progress,
        checkpoint_dir=checkpoint_dir,
        resume=checkpoint_dir is not None,
    )
    subset = train_set.subset(slice(0, max_samples)).to(device)
    with torch.no_grad():
        h = subset.inputs().flatten(1).float()
        separation = [metrics.within_between_ratio(h, subset.y, classes)]
        for layer in model.body:
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                separation.append(metrics.within_between_ratio(h, subset.y, classes))
        accuracy = (model.classifier(h).argmax(1) == subset.y).double().mean().item()
    return {"separation": separation, "train_accuracy": accuracy, "dataset": dataset}
