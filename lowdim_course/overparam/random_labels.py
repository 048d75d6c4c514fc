"""Fitting random labels (Zhang, Bengio, Hardt, Recht & Vinyals 2017): the corruptions of a
training set that a network fits all the same. Random labels destroy the link from image to
label; shuffled pixels keep it but remove the spatial structure; random pixels leave nothing but
each image's histogram."""

from __future__ import annotations

import torch


def randomize_labels(labels: torch.Tensor, fraction: float, num_classes: int, generator=None):
    """Replace the labels of exactly round(fraction N) samples, chosen at random, by uniformly
    random classes, as Zhang et al. do (a new label may equal the old one, so about
    fraction (1 - 1/K) of the labels change). Returns (labels, mask of the randomised samples)."""
    n = len(labels)
    chosen = torch.randperm(n, generator=generator)[: round(fraction * n)]
    randomised = torch.zeros(n, dtype=torch.bool)
    randomised[chosen] = True
    new = labels.clone()
    new[chosen] = torch.randint(0, num_classes, (len(chosen),), generator=generator).to(
        labels.dtype
    )
    return new, randomised


def shuffle_pixels(x: torch.Tensor, generator=None, per_image: bool = False) -> torch.Tensor:
    """Permute pixel positions: one permutation for every image ('shuffled pixels': the images
    keep their information, only the spatial structure is gone) or a new one per image ('random
    pixels': nothing but the histogram is left). x is (N, C, H, W) images, the same permutation
    for every channel, or (N, D) features."""
    flat = x.reshape(len(x), x.shape[1], -1) if x.dim() == 4 else x.reshape(len(x), 1, -1)
    positions = flat.shape[-1]
    if per_image:
        perms = torch.argsort(torch.rand(len(x), positions, generator=generator), dim=1)
        out = torch.gather(flat, 2, perms[:, None, :].expand_as(flat))
    else:
        out = flat[..., torch.randperm(positions, generator=generator)]
    return out.reshape(x.shape)
