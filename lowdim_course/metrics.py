"""Statistics of learned features that several lectures share: class means, within- and
between-class scatter, and the nearest-class-mean classifier.

For features h_i with labels y_i in {0..K-1}, class means mu_k and mu_G the mean of the class
means (the global mean when the classes are balanced, as in every experiment here):
    Sigma_W = 1/N sum_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T       (within-class scatter)
    Sigma_B = 1/K sum_k (mu_k - mu_G)(mu_k - mu_G)^T             (between-class scatter)
Computed in float64: the ratios below become tiny late in training, where float32 loses them.
"""

from __future__ import annotations

import torch


def class_means(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(K, d) matrix whose row k is the mean of the features of class k (float64)."""
    h = features.double()
    counts = torch.bincount(labels, minlength=num_classes).clamp(min=1).double()  # (K,)
    sums = torch.zeros(num_classes, h.shape[1], dtype=h.dtype, device=h.device)
    sums.index_add_(0, labels, h)
    return sums / counts[:, None]


def scatter_matrices(
    features: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Sigma_W, Sigma_B), each (d, d) float64, as defined in the module docstring."""
    h = features.double()
    means = class_means(h, labels, num_classes)  # (K, d)
    within = h - means[labels]  # (N, d)
    centred = means - means.mean(0)  # (K, d); global mean of balanced class means
    return within.T @ within / len(h), centred.T @ centred / num_classes


def within_between_ratio(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> float:
    """trace(Sigma_W) / trace(Sigma_B): how spread the classes are relative to their separation.

    Large at initialisation, falling as a network separates the classes; lecture 4 calls it the
    separation measure D and lecture 3 studies its relative NC1 = trace(Sigma_W Sigma_B^+)/K.
    """
    sw, sb = scatter_matrices(features, labels, num_classes)
    return (torch.trace(sw) / torch.trace(sb)).item()


def nearest_class_mean_predict(means: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """Label of the closest class mean (Euclidean) for each row of `query`: (N,) int64."""
    return torch.cdist(query.double(), means.double()).argmin(dim=1)
