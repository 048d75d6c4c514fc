"""Deep matrix completion, full and compressed (Kwon et al. 2024; Arora et al. 2019).

Gradient descent on 1/2 ||Omega o (W_{L:1} - Phi)||_F^2 from a small initialisation is biased
towards low rank, more strongly with depth. The full network has L d^2 parameters; the law of
parsimony says only a 2r-dimensional part of each layer learns, so the compressed network
W = U W~_L ... W~_1 V^T (U, V of width 2 r_hat, inner blocks 2 r_hat x 2 r_hat) trains that
part alone, its outer factors at their own, discrepant, learning rate. This module holds both
networks' gradient descent (the algorithm is the object of study, so it does not go through
`train.train`), the narrow network (the full one of small width) and the parameter counts.
"""

from __future__ import annotations

import time

import torch

from .deep_linear import (
    DTYPE,
    dln_backward,
    dln_forward,
    end_to_end,
    gradient_descent,
    orthogonal_init,
)


def relative_error(estimate: torch.Tensor, target: torch.Tensor) -> float:
    return (torch.linalg.matrix_norm(estimate - target) / torch.linalg.matrix_norm(target)).item()


def error_history(iterates, target, *, steps: int, record_every: int) -> list:
    """[(step, seconds, relative error)] every `record_every` steps and at the last one, from
    `iterates`, which yields (step, end-to-end matrix) while gradient descent runs."""
    history, start = [], time.perf_counter()
    for step, estimate in iterates:
        if step % record_every == 0 or step == steps:
            history.append((step, time.perf_counter() - start, relative_error(estimate, target)))
    return history


def complete_full(phi, mask, *, depth, width, eps, lr, steps, generator, record_every=50):
    """GD on 1/2 ||Omega o (W_{L:1} - Phi)||^2 for a DLN of `depth` layers d -> width -> ... -> d
    from the eps-orthogonal initialisation (width < d: the narrow network). Returns
    [(step, seconds, relative error)]."""
    d = phi.shape[0]
    weights = orthogonal_init([d] + [width] * (depth - 1) + [d], eps, generator, phi.device)
    # X = I (None): saves the product W_1 I
    descent = gradient_descent(weights, None, lambda z: mask * (z - phi), steps=steps, lr=lr)
    iterates = ((step, z) for step, _, z, _ in descent)
    return error_history(iterates, phi, steps=steps, record_every=record_every)


def completion_fit(phi, mask, *, depth, eps, lr, steps, generator) -> dict:
    """Run the full network of `complete_full` (width d) and describe where it ends: the
    relative error, the relative residual on the observed entries ||Omega o (W - Phi)||_F /
    ||Omega o Phi||_F (does it interpolate?) and the nuclear norm ||W||_* over ||Phi||_* (is it
    the minimum-nuclear-norm interpolant, which has a ratio of at most 1?)."""
    d = phi.shape[0]
    weights = orthogonal_init([d] * (depth + 1), eps, generator, phi.device)
    descent = gradient_descent(weights, None, lambda z: mask * (z - phi), steps=steps, lr=lr)
    w = None
    for _, _, z, _ in descent:
        w = z  # the end-to-end matrix after the last step
    return {
        "error": relative_error(w, phi),
        "observed_residual": (
            torch.linalg.matrix_norm(mask * (w - phi)) / torch.linalg.matrix_norm(mask * phi)
        ).item(),
        "nuclear_ratio": (torch.linalg.svdvals(w).sum() / torch.linalg.svdvals(phi).sum()).item(),
    }


def spectral_factors(phi, mask, width):
    """The outer factors of the compressed network: the top `width` left and right singular
    vectors of the rescaled observations Omega o Phi / p, an unbiased surrogate of Phi."""
    u, _, vh = torch.linalg.svd(mask * phi / mask.mean())
    return u[:, :width].clone(), vh[:width].T.clone()


def compressed_step(u, v, inner, phi, mask, lr, gamma):
    """One GD step of the compressed network W = U W~_L ... W~_1 V^T on
    1/2 ||Omega o (W - Phi)||^2: the inner blocks with step lr, the outer factors with gamma lr.
    Returns (u, v, inner, current end-to-end matrix before the step)."""
    # The inner blocks are a DLN on the input V^T (width x d) whose output U Z is compared with
    # Phi on the observed entries: dl/dZ = U^T G with G = Omega o (U Z - Phi).
    forward = dln_forward(inner, v.T)
    w = u @ forward[-1]
    g = mask * (w - phi)
    grads = dln_backward(inner, forward, u.T @ g)
    m = end_to_end(inner)
    grad_u, grad_v = g @ v @ m.T, g.T @ u @ m
    inner = [w_l - lr * dw for w_l, dw in zip(inner, grads)]
    return u - gamma * lr * grad_u, v - gamma * lr * grad_v, inner, w


def compressed_descent(u, v, inner, phi, mask, *, lr, gamma, steps):
    """Yields (step, W) for step = 0 ... steps, W the compressed network's end-to-end matrix
    at that step, before its update (see `compressed_step`)."""
    for step in range(steps + 1):
        u_next, v_next, inner_next, w = compressed_step(u, v, inner, phi, mask, lr, gamma)
        yield step, w
        u, v, inner = u_next, v_next, inner_next


def complete_compressed(phi, mask, *, depth, width, eps, lr, gamma, steps, record_every=50):
    """The compressed network W = U W~_L ... W~_1 V^T: inner blocks W~_l = eps I (width x width)
    trained with step eta, outer factors U, V (d x width, spectral initialisation) trained with
    the discrepant step gamma * eta, as the law of parsimony suggests (Kwon et al. 2024). With
    gamma = 0 the subspaces stay where the initialisation put them. Returns
    [(step, seconds, relative error)]."""
    u, v = spectral_factors(phi, mask, width)
    inner = [eps * torch.eye(width, dtype=DTYPE, device=phi.device) for _ in range(depth)]
    iterates = compressed_descent(u, v, inner, phi, mask, lr=lr, gamma=gamma, steps=steps)
    return error_history(iterates, phi, steps=steps, record_every=record_every)


def parameter_counts(d: int, depth: int, width: int) -> dict:
    """Numbers of trained entries: full network L d^2; compressed 2 d w + L w^2 (outer factors
    and inner blocks); narrow network of width w: 2 d w + (L - 2) w^2."""
    return {
        "full": depth * d * d,
        "compressed": 2 * d * width + depth * width * width,
        "narrow": 2 * d * width + (depth - 2) * width * width,
    }
