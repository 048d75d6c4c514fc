"""The losses whose solutions collapse: cross-entropy, focal, label smoothing and mean squared
error, as per-sample values on logits (..., N, K), so that a batch of unconstrained-features
problems (`ufm.train_ufm`) and a network trained by `train.train` share one implementation.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

LOSSES = ("ce", "focal", "ls", "mse")
LOSS_NAMES = {
    "ce": "cross-entropy",
    "focal": "focal",
    "ls": "label smoothing",
    "mse": "mean squared error",
}
LOSS_SHORT = {"ce": "CE", "focal": "focal", "ls": "LS", "mse": "MSE"}


def per_sample_loss(
    logits: torch.Tensor, y: torch.Tensor, loss: str, gamma: float = 2.0, alpha: float = 0.1
) -> torch.Tensor:
    """Loss of each sample: logits (..., N, K), labels (N,) -> (..., N).

    ce:    -log p_y                                   (p = softmax(logits))
    focal: -(1 - p_y)^gamma log p_y                   (Lin et al. 2017)
    ls:    -(1 - alpha) log p_y - alpha/K sum_k log p_k  (target (1-alpha) e_y + alpha/K 1)
    mse:   1/2 ||logits - e_y||^2                      (e_y the one-hot label)
    """
    K = logits.shape[-1]
    index = y.expand(logits.shape[:-1])[..., None]  # (..., N, 1)
    if loss == "mse":
        return 0.5 * ((logits - F.one_hot(y, K).to(logits.dtype)) ** 2).sum(-1)
    log_p = logits.log_softmax(-1)  # (..., N, K)
    log_py = log_p.gather(-1, index)[..., 0]  # (..., N)
    if loss == "ce":
        return -log_py
    if loss == "focal":
        return -((1 - log_py.exp()) ** gamma) * log_py
    if loss == "ls":
        return -(1 - alpha) * log_py - alpha / K * log_p.sum(-1)
    raise ValueError(f"unknown loss {loss!r}: choose one of {', '.join(LOSSES)}")


def loss_function(loss: str, gamma: float = 2.0, alpha: float = 0.1):
    """loss_fn(logits (B, K), labels (B,)) -> the mean loss, for `train`."""
    per_sample_loss(torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), loss)  # fail early

    def loss_fn(logits, y):
        return per_sample_loss(logits, y, loss, gamma, alpha).mean()

    return loss_fn
