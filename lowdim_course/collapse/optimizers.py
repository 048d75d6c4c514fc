"""The unconstrained features model solved by different optimisers: full-batch gradient
descent with momentum, minibatch SGD, Adam and L-BFGS (torch.optim), on the same objective
(`ufm.ufm_objective`) from the same random starts. Collapse is a property of the objective's
minimisers, so every optimiser that reaches a minimiser should end collapsed.
"""

from __future__ import annotations

import math

import torch

from .geometry import DTYPE, nc_metrics
from .ufm import ufm_objective

OPTIMIZERS = ("gd", "sgd", "adam", "lbfgs")
OPTIMIZER_NAMES = {
    "gd": "gradient descent",
    "sgd": "minibatch SGD",
    "adam": "Adam",
    "lbfgs": "L-BFGS",
}


def make_optimizer(name: str, params, lr: float):
    """The torch optimiser `name` on `params` ('gd' and 'sgd' both use heavy-ball momentum 0.9;
    they differ in the batch the objective is evaluated on)."""
    if name in ("gd", "sgd"):
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "lbfgs":
        return torch.optim.LBFGS(params, lr=lr, max_iter=20, history_size=20,
                                 line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                                 tolerance_change=1e-15)  # fmt: skip
    raise ValueError(f"unknown optimiser {name!r}: choose one of {', '.join(OPTIMIZERS)}")


def solve_ufm(
    name: str,
    K: int,
    d: int,
    n_per_class: int = 5,
    *,
    inits: int = 4,
    steps: int = 1000,
    lr: float = 1.0,
    batch: int = 10,
    weight_decay: float = 5e-3,
    seed: int = 0,
) -> dict:
    """Minimise the UFM (cross-entropy) with optimiser `name` from `inits` random starts.

    The starts are those of `ufm.train_ufm` with the same seed (standard Gaussian H and W,
    b = 0). 'sgd' evaluates the fit on `batch` random samples per step; its step size, and
    Adam's, decays as a cosine to zero, the usual schedule that lets a stochastic or adaptive
    method settle. 'lbfgs' takes `steps` outer iterations of up to 20 inner ones each.
    Returns H, W, b, labels, the final objective per start and nc_metrics of each start.
    """
    g = torch.Generator().manual_seed(seed)
    R, N = inits, K * n_per_class
    y = torch.arange(K).repeat_interleave(n_per_class)
    H = torch.randn(R, N, d, generator=g, dtype=DTYPE).requires_grad_()
    W = torch.randn(R, K, d, generator=g, dtype=DTYPE).requires_grad_()
    b = torch.zeros(R, K, dtype=DTYPE).requires_grad_()
    optimizer = make_optimizer(name, [H, W, b], lr)
    batches = torch.Generator().manual_seed(seed + 1)

    def closure():
        index = torch.randperm(N, generator=batches)[:batch] if name == "sgd" else None
        optimizer.zero_grad(set_to_none=True)
        value = ufm_objective(H, W, b, y, "ce", weight_decay, index=index).sum()
        value.backward()  # the starts do not interact: each gets its own gradient
        return value

    for step in range(steps):
        if name in ("sgd", "adam"):  # cosine decay of the step size
            for group in optimizer.param_groups:
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        optimizer.step(closure)
    H, W, b = H.detach(), W.detach(), b.detach()
    return {
        "H": H,
        "W": W,
        "b": b,
        "labels": y,
        "objective": ufm_objective(H, W, b, y, "ce", weight_decay),
        "final": [nc_metrics(H[r], y, W[r], b[r], K) for r in range(R)],
    }
