"""Progressive separation: how the classes separate from layer to layer.

D_l = tr(Sigma_W^l) / tr(Sigma_B^l), the within- over the between-class scatter of the features
of layer l: the trace ratio of the seed slides and of Wang et al. (2023). He & Su (2023)
measure separation with tr(Sigma_W Sigma_B^+) instead ("separation fuzziness") and observe that
its log falls linearly in l in trained networks. For a DLN trained from the eps-orthogonal
initialisation on orthogonal data the law of parsimony predicts the trace ratio's decay:
D_{l+1}/D_l lies between eps^2 (1 - K/(d - K)) and eps^2 (`separation_ratio_range`). The seed
slides quote the looser bound D_{l+1}/D_l <= 2 (sqrt(K) + 1) eps^2 (`separation_bound`) from a
preprint of Wang et al.; the published paper states its compression result differently. This
module measures D_l in a DLN and in a ReLU MLP, fits the log-linear law, and states both.
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
    """The bound D_{l+1}/D_l <= 2 (sqrt(K) + 1) eps^2 as the seed slides state it (Wang et al.
    2023, preprint); at K = 3 it exceeds 1 from eps = 0.43 on."""
    return 2 * (math.sqrt(classes) + 1) * eps**2


def separation_ratio_range(eps: float, dim: int, classes: int) -> tuple[float, float]:
    """The per-layer ratio D_{l+1}/D_l that the law of parsimony predicts for a balanced DLN at
    a global minimum, trained from the eps-orthogonal start on d = N orthogonal samples of K
    classes: between eps^2 (1 - K / (d - K)) and eps^2.

    The within-class scatter of layer l is sum_i s_i^(2l) a_i and the between-class scatter
    sum_i s_i^(2l) b_i, over the singular values s_i of W_1 (balancedness makes W_{l:1}^T W_{l:1}
    = (W_1^T W_1)^l) with a_i, b_i the within- and between-class energy of the data along the
    i-th right singular vector. The d - 2K resting directions have s = eps, a = 1, b = 0; the K
    learned directions carry the class means with s = 1; the other K learning directions hold
    within-class energy only, with s <= eps. So every layer multiplies the within-class scatter
    by eps^2 on d - 2K of its d - K directions and by at most eps^2 on the rest, and leaves the
    between-class scatter alone (the notebook derives it)."""
    return eps**2 * (1 - classes / (dim - classes)), eps**2


def input_dim(d0: float, classes: int) -> int:
    """d, read off D_0 = (d - K) / (K - 1), the trace ratio of d = N orthogonal samples of K
    balanced classes (the input of the separation experiment), so that a stored result gives
    the predicted range of `separation_ratio_range` without a separate record of d."""
    return round(d0 * (classes - 1)) + classes


def layer_ratios(separation) -> np.ndarray:
    """D_{l+1}/D_l for l = 0 ... L-2, from D_0 ... D_{L-1}."""
    d_l = np.asarray(separation, dtype=float)
    return d_l[1:] / d_l[:-1]


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
