"""Soft thresholding -> ReLU: ISTA unrolled into a network (LISTA, Gregor & LeCun 2010), its
training on (y, x*) pairs, and the error measure the lecture compares it with ISTA by.
"""

from __future__ import annotations

import torch
from torch import nn

from .proximal import lipschitz_constant, soft_threshold


class UnrolledISTA(nn.Module):
    """K layers x_{k+1} = S_{tau_k}(W_e y + S_m x_k) from x_0 = 0 (rows: y (B, m), x (B, n)).

    One ISTA step x <- S_{lam/L}(x + (1/L) A^T(y - A x)) is exactly this layer with
    W_e = A^T / L, S_m = I - A^T A / L, tau = lam / L: a linear map, a bias and a ReLU pair
    (S_tau(z) = ReLU(z - tau) - ReLU(-z - tau); only ReLU(z - tau) for non-negative codes).
    Initialised there, K layers compute ISTA's K-th iterate. Training W_e, S_m, tau (Gregor &
    LeCun 2010, LISTA) on (y, x*) pairs makes each layer worth many ISTA steps. `tied=True`
    shares one (W_e, S_m, tau) across layers, as a recurrent network.
    """

    def __init__(self, A, lam, layers, tied=False, nonnegative=False, step=None):
        super().__init__()
        A = torch.as_tensor(A)
        L = 1.0 / step if step else lipschitz_constant(A)
        n = A.shape[1]
        copies = 1 if tied else layers
        eye = torch.eye(n, dtype=A.dtype, device=A.device)
        self.W_e = nn.Parameter((A.T / L).repeat(copies, 1, 1))  # (copies, n, m)
        self.S_m = nn.Parameter((eye - A.T @ A / L).repeat(copies, 1, 1))  # (copies, n, n)
        self.tau = nn.Parameter(torch.full((copies, n), lam / L, dtype=A.dtype, device=A.device))
        self.layers, self.tied, self.nonnegative = layers, tied, nonnegative

    def forward(self, y: torch.Tensor, return_all: bool = False):
        """x_K (B, n), or the list [x_1, ..., x_K] with return_all."""
        x = torch.zeros(y.shape[0], self.S_m.shape[-1], dtype=y.dtype, device=y.device)
        iterates = []
        for k in range(self.layers):
            i = 0 if self.tied else k
            z = y @ self.W_e[i].T + x @ self.S_m[i].T  # (B, n) linear part of the layer
            x = soft_threshold(z, self.tau[i], self.nonnegative)
            iterates.append(x)
        return iterates if return_all else x


def train_unrolled(net, y, x_star, steps, batch_size=128, lr=3e-3, generator=None):
    """Adam on the mean squared error ||net(y) - x*||^2 with a cosine learning-rate decay, on
    batches drawn with replacement; returns the loss per step.

    Its own loop rather than `train.train`, which trains classifiers with SGD (cross-entropy by
    default, an argmax accuracy per batch, an epoch of permuted batches), while LISTA regresses
    codes (no labels, no accuracy) and is trained here with Adam.
    """
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    losses = []
    for _ in range(steps):
        idx = torch.randint(0, len(y), (batch_size,), generator=generator).to(y.device)
        loss = ((net(y[idx]) - x_star[idx]) ** 2).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        losses.append(loss.item())
    return losses


def nmse(x: torch.Tensor, x_star: torch.Tensor) -> float:
    """sum ||x - x*||^2 / sum ||x*||^2 over a batch."""
    return (((x - x_star) ** 2).sum() / (x_star**2).sum()).item()
