"""The unconstrained features model (UFM): the last-layer features treated as free variables,
optimised together with the classifier (Mixon et al. 2020, Zhu et al. 2021). Its global minima
are exactly the collapsed configurations (a simplex ETF when d >= K - 1), and gradient descent
finds them from random starts: the reason a network that can move its features freely ends
collapsed.
"""

from __future__ import annotations

import numpy as np
import torch

from .geometry import DTYPE, nc_metrics
from .losses import per_sample_loss


def log_steps(steps: int, points: int = 20) -> list[int]:
    """About `points` steps from 0 to `steps`, evenly spaced in log(1 + step)."""
    grid = np.unique(np.round(np.geomspace(1, steps + 1, points)).astype(int) - 1)
    return [int(s) for s in grid]


def ufm_objective(H, W, b, y, loss="ce", weight_decay=5e-3, *, gamma=2.0, alpha=0.1, index=None):
    """The UFM objective of each start: H (R, N, d), W (R, K, d), b (R, K), labels y (N,) -> (R,).

        1/N sum_i loss(W h_i + b, y_i) + lam/2 (||W||_F^2 + ||H||_F^2 + ||b||^2),
    lam = `weight_decay`.

    With `index` (a tensor of sample indices) the fit term averages over those samples only:
    an unbiased estimate of the objective for stochastic gradient descent.
    """
    logits = H @ W.transpose(1, 2) + b[:, None, :]  # (R, N, K)
    per_sample = per_sample_loss(logits, y, loss, gamma, alpha)  # (R, N)
    fit = per_sample.mean(-1) if index is None else per_sample[:, index].mean(-1)
    penalty = (W**2).sum((1, 2)) + (H**2).sum((1, 2)) + (b**2).sum(1)
    return fit + weight_decay / 2 * penalty


def train_ufm(
    K: int,
    d: int,
    n_per_class: int = 5,
    loss: str = "ce",
    *,
    inits: int = 1,
    steps: int = 600,
    lr: float = 1.0,
    momentum: float = 0.9,
    weight_decay: float = 5e-3,
    bias: bool = True,
    gamma: float = 2.0,
    alpha: float = 0.1,
    seed: int = 0,
    record: int = 20,
    device: torch.device | str = "cpu",
) -> dict:
    """Gradient descent on the unconstrained features model, from `inits` random starts at once.

    The features H (N, d), N = K n_per_class, are free variables, as are W (K, d) and b (K,):
        min  1/N sum_i loss(W h_i + b, y_i) + lam/2 (||W||_F^2 + ||H||_F^2 + ||b||^2),
    lam = `weight_decay` (Zhu et al. 2021 allow three different lam's; one suffices here).
    Full-batch gradient descent with heavy-ball momentum (`momentum=0` is plain GD) from
    standard Gaussian H and W and b = 0, in float64. The starts are independent problems
    solved in one batch: tensors carry a leading dimension R = `inits`. This is its own loop,
    not `train.train`: there is no network and no data set, the optimisation over free
    features is the object of study.

    Returns H (R, N, d), W (R, K, d), b (R, K), labels (N,), the final objective per start
    (R,), `final` (nc_metrics of each start) and `history`: at about `record` log-spaced
    steps, the objective and nc_metrics of every start.
    """
    g = torch.Generator().manual_seed(seed)
    R, N = inits, K * n_per_class
    y = torch.arange(K).repeat_interleave(n_per_class).to(device)  # (N,)
    H = torch.randn(R, N, d, generator=g, dtype=DTYPE).to(device).requires_grad_()
    W = torch.randn(R, K, d, generator=g, dtype=DTYPE).to(device).requires_grad_()
    b = torch.zeros(R, K, dtype=DTYPE, device=device).requires_grad_(bias)
    params = [H, W, b] if bias else [H, W]
    optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum)

    def objective():  # (R,)
        return ufm_objective(H, W, b, y, loss, weight_decay, gamma=gamma, alpha=alpha)

    def snapshot(step, value):
        per_start = [nc_metrics(H[r], y, W[r], b[r], K) for r in range(R)]
        record_ = {"step": step, "objective": value.tolist()}
        for key in per_start[0]:
            record_[key] = [m[key] for m in per_start]
        return record_

    history, marks = [], set(log_steps(steps, record) if record else [])
    for step in range(steps + 1):
        value = objective()
        if step in marks:
            with torch.no_grad():
                history.append(snapshot(step, value.detach()))
        if step == steps:
            break
        optimizer.zero_grad(set_to_none=True)
        value.sum().backward()  # the starts do not interact: each gets its own gradient
        optimizer.step()
    H, W, b = H.detach(), W.detach(), b.detach()
    return {
        "K": K,
        "d": d,
        "loss": loss,
        "H": H,
        "W": W,
        "b": b,
        "labels": y,
        "objective": value.detach(),
        "final": [nc_metrics(H[r], y, W[r], b[r], K) for r in range(R)],
        "history": history,
    }


def worst_start(run: dict, key: str) -> float:
    """The largest final value of the metric `key` over the starts of a `train_ufm` run."""
    return max(m[key] for m in run["final"])
