"""The landscape of the unconstrained features model, in the two steps of Zhu et al. (2021):
the UFM and its convex relaxation in Z = H W^T share their global solutions, and at every other
critical point the gradient of the fit in Z has operator norm above lam, which yields a
direction of negative curvature (when d > K). Tools for the lecture's exercise: a non-global
critical point, the gradient in the logits and the curvature of the UFM along a direction.

Layout as in ufm.py: one problem, H (N, d) features as rows, W (K, d), b (K,), Z = H W^T (N, K)
the logits without the bias; everything in float64.
"""

from __future__ import annotations

import torch

from ..runtime import torch_threads
from .geometry import DTYPE
from .ufm import train_ufm, ufm_objective


def embedded_critical_point(K: int, r: int, d: int, *, n_per_class: int = 4, seed: int = 0,
                            steps: int = 600, weight_decay: float = 5e-3):  # fmt: skip
    """A critical point of the UFM in d dimensions that is not a global minimiser (r < K - 1).

    Gradient descent solves the UFM in r dimensions; its features and classifier, padded with
    d - r zero columns, are a critical point in d dimensions: the gradient in a zero column j
    is G^T H[:, j] + lam W[:, j] = 0 and H[:, j] = 0. Its rank is at most r < K - 1, so it is
    no simplex ETF, hence not a global minimiser. r = 0 gives the origin (H, W, b all zero,
    critical because the classes are balanced). Returns H (N, d), W (K, d), b (K,), y (N,).
    """
    N = K * n_per_class
    y = torch.arange(K).repeat_interleave(n_per_class)
    H, W = torch.zeros(N, d, dtype=DTYPE), torch.zeros(K, d, dtype=DTYPE)
    b = torch.zeros(K, dtype=DTYPE)
    if r > 0:
        with torch_threads(1):  # tiny tensors: one thread is faster, and immune to load
            run = train_ufm(K, r, n_per_class, inits=1, steps=steps, weight_decay=weight_decay,
                            seed=seed, record=0)  # fmt: skip
        H[:, :r], W[:, :r], b = run["H"][0], run["W"][0], run["b"][0]
    return H, W, b, y


def logit_gradient(H, W, b, y, loss: str = "ce") -> torch.Tensor:
    """G = d/dZ of the fit 1/N sum_i loss(z_i + b, y_i) at Z = H W^T: (N, K).

    For cross-entropy G = (softmax(Z + b) - Y) / N, Y the one-hot labels."""
    Z = (H @ W.T).detach().requires_grad_()
    fit = ufm_objective(
        Z[None], torch.eye(W.shape[0], dtype=DTYPE)[None], b[None], y, loss, weight_decay=0.0
    )
    (grad,) = torch.autograd.grad(fit.sum(), Z)
    return grad


def ufm_gradient_norm(H, W, b, y, weight_decay: float = 5e-3, loss: str = "ce") -> float:
    """The norm of the full gradient of the UFM objective at (H, W, b): 0 at a critical point."""
    params = [t.detach().clone()[None].requires_grad_() for t in (H, W, b)]
    grads = torch.autograd.grad(ufm_objective(*params, y, loss, weight_decay).sum(), params)
    return torch.sqrt(sum((g**2).sum() for g in grads)).item()


def ufm_curvature(H, W, b, y, dH, dW, weight_decay: float = 5e-3, loss: str = "ce") -> float:
    """The Hessian's Rayleigh quotient along (dH, dW) (b fixed): the second derivative of
    t -> objective(H + t dH, W + t dW, b) at t = 0, divided by ||dH||_F^2 + ||dW||_F^2.
    Negative: the objective curves down along that direction."""
    t = torch.zeros((), dtype=DTYPE, requires_grad=True)
    value = ufm_objective((H + t * dH)[None], (W + t * dW)[None], b[None], y, loss, weight_decay)
    (first,) = torch.autograd.grad(value.sum(), t, create_graph=True)
    (second,) = torch.autograd.grad(first, t)
    return (second / ((dH**2).sum() + (dW**2).sum())).item()
