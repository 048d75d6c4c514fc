"""Deep against shallow networks on compositional functions (Poggio, Mhaskar, Rosasco, Miranda &
Liao 2017): a target built on a binary tree of two-variable functions, a deep network shaped
like that tree, generic shallow and deep MLPs to compare it with, their fit by full-batch Adam,
and the parameter count each family needs to reach a given error."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .descent import full_batch_descent


def node_function(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The constituent function at every node of the tree: smooth, maps [-1, 1]^2 into (-1, 1)
    and is not a sum of one-variable functions (the a*b term)."""
    return torch.tanh(2.0 * a * b + a - b)


def compositional_target(x: torch.Tensor) -> torch.Tensor:
    """f(x_1, ..., x_d), d a power of two, on a binary tree: the leaves are the inputs, each
    node applies `node_function` to its two children, so
    f = h(h(h(x1, x2), h(x3, x4)), h(h(x5, x6), h(x7, x8))) for d = 8."""
    level = x
    if level.shape[1] & (level.shape[1] - 1):
        raise ValueError(f"the binary tree needs d a power of two, not {level.shape[1]}")
    while level.shape[1] > 1:
        level = node_function(level[:, 0::2], level[:, 1::2])
    return level[:, 0]


class TreeNetwork(nn.Module):
    """A deep network shaped like the target's tree: every internal node is its own small MLP
    (2 -> hidden -> 1, tanh) on its two children's outputs. log2(d) levels, d - 1 nodes,
    (d - 1)(4 hidden + 1) parameters. The nodes of a level run as one batched product."""

    def __init__(self, d: int, hidden: int):
        super().__init__()
        self.levels = nn.ParameterList()
        nodes = d // 2
        while nodes >= 1:
            self.levels.append(nn.Parameter(torch.randn(nodes, 2, hidden) / math.sqrt(2)))
            self.levels.append(nn.Parameter(torch.zeros(nodes, hidden)))
            self.levels.append(nn.Parameter(torch.randn(nodes, hidden) / math.sqrt(hidden)))
            self.levels.append(nn.Parameter(torch.zeros(nodes)))
            nodes //= 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level = x
        for i in range(0, len(self.levels), 4):
            w1, b1, w2, b2 = self.levels[i : i + 4]
            pairs = level.reshape(len(x), -1, 2)  # (B, nodes, 2): the two children
            hidden = torch.tanh(torch.einsum("bnc,nch->bnh", pairs, w1) + b1)
            level = (hidden * w2).sum(-1) + b2  # (B, nodes)
        return level[:, 0]


def shallow_network(d: int, width: int) -> nn.Module:
    """One tanh hidden layer of `width` units, a scalar output: (B, d) -> (B,)."""
    return nn.Sequential(nn.Linear(d, width), nn.Tanh(), nn.Linear(width, 1), nn.Flatten(0))


def deep_network(d: int, width: int, depth: int) -> nn.Module:
    """`depth` tanh hidden layers of `width` units, a scalar output: (B, d) -> (B,)."""
    layers, fan_in = [], d
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width), nn.Tanh()]
        fan_in = width
    return nn.Sequential(*layers, nn.Linear(width, 1), nn.Flatten(0))


def fit_regression(model, x, y, x_test, y_test, *, steps: int, lr: float) -> float:
    """Full-batch Adam on the squared loss, learning rate cosine-decayed over `steps` (through
    `full_batch_descent`: a regression by Adam, which `train.train` does not run); returns the
    relative test MSE, mean((f - y)^2) / var(y)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    full_batch_descent(
        lambda: F.mse_loss(model(x), y), optimizer, max_steps=steps, scheduler=scheduler
    )
    with torch.no_grad():
        return float(F.mse_loss(model(x_test), y_test) / y_test.var())


def parameters_needed(params, errors, target: float) -> float | None:
    """The parameter count at which the error first reaches `target`, interpolated log-log
    between the two sweep points around it; None if no network in the sweep reaches it."""
    pairs = sorted(zip(params, errors))
    for (p0, e0), (p1, e1) in zip(pairs[:-1], pairs[1:]):
        if e0 <= target:
            return float(p0)
        if e1 <= target:
            t = (math.log(e0) - math.log(target)) / (math.log(e0) - math.log(e1))
            return float(math.exp(math.log(p0) + t * (math.log(p1) - math.log(p0))))
    return float(pairs[0][0]) if pairs and pairs[0][1] <= target else None
