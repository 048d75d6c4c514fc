"""Full-batch gradient descent, the one training loop of this lecture that is not `train.train`.

Two experiments study the optimiser itself on the whole training set at every step, which
`train.train` (mini-batch SGD, a fixed number of epochs, cross-entropy on class labels) does not
express: the lazy-training sweep runs plain gradient descent on a squared loss until a target
loss, to compare the trained network with its linearisation; the compositional sweep runs
full-batch Adam on a regression loss. Both go through `full_batch_descent`; `GradientDescent` is
the plain update theta <- theta - lr grad as an optimizer, also used by the seed sweep of the
learning-rate experiment (`lr_noise.train_sweep`)."""

from __future__ import annotations

from collections.abc import Callable

import torch


class GradientDescent(torch.optim.Optimizer):
    """theta <- theta - lr * grad, nothing else (no momentum, no weight decay), written out as
    the analysis states it. `lr` is a number, or, for a stack of runs whose every parameter
    holds the runs along its first dimension (`lr_noise.BatchedMLP`), a tensor of one rate per
    run: then runs with different learning rates take their steps together."""

    def __init__(self, params, lr):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr = group["lr"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if torch.is_tensor(lr):  # one rate per run: (S,) against (S, ...)
                    p -= lr.reshape(-1, *[1] * (p.dim() - 1)) * p.grad
                else:
                    p -= lr * p.grad


def full_batch_descent(
    loss_fn: Callable[[], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    max_steps: int,
    stop: Callable[[torch.Tensor], bool] | None = None,
    scheduler=None,
) -> tuple[int, float]:
    """Minimise `loss_fn()`, the loss on the whole training set, one `optimizer` step per
    evaluation (then one `scheduler` step, if given), for `max_steps` steps or until
    `stop(loss)` holds. Returns (steps taken, the loss at the final weights)."""
    step = 0
    while True:
        loss = loss_fn()
        if step == max_steps or (stop is not None and stop(loss)):
            return step, float(loss.detach())
        step += 1
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
