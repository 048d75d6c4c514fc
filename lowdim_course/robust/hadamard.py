"""The linear model of sparse corruption, and why a Hadamard product finds it.

y = J theta* + s*, s* sparse. Gradient descent on
    1/2 ||J theta + u o u - v o v - y||^2
from theta = 0, u = v = tau 1, with step eta for theta and alpha * eta for (u, v). Under gradient
flow, with R(t) the integrated residual, theta = -J^T R and s = u o u - v o v = -2 tau^2
sinh(4 alpha R): at convergence (theta, s) solves
    min 1/2 ||theta||^2 + sum_i H(s_i)  s.t.  y = J theta + s,  H'(s) = asinh(s/2tau^2) / (4 alpha),
and H(s) ~ lambda |s| with lambda = ln(1/tau^2) / (4 alpha) as tau -> 0 (up to a |s| ln|s| term):
the l1-regularised problem, which the slide writes with weight 1/alpha (alpha rescaled)
(Vaskevicius, Kanade & Rebeschini 2019; Zhao, Yang & He 2019). `l1_regularized` solves that
convex problem independently, through its dual (a box-constrained quadratic program, by FISTA
with projection), so the two can be compared. `hadamard_regularized` solves the problem with the
exact H (no tau -> 0 limit), whose solution gradient flow reaches for any tau: where the s_i are
small but not zero (dense noise), the two differ, H(s) = lambda |s| + |s|(ln|s| - 1)/(4 alpha)
+ O(tau^2) being far from lambda |s| at |s| ~ 1e-2.
"""

from __future__ import annotations

import math

import torch

DTYPE = torch.float64


def linear_problem(n: int, p: int, corrupted: int, generator=None):
    """J (n, p) with N(0, 1/n) entries (columns of about unit norm), theta* of unit norm, s*
    with `corrupted` non-zeros of size 1 to 2 and random signs, y = J theta* + s*.
    Returns (J, y, theta*, s*)."""
    j = torch.randn(n, p, generator=generator, dtype=DTYPE) / math.sqrt(n)
    theta = torch.randn(p, generator=generator, dtype=DTYPE)
    theta = theta / theta.norm()
    s = torch.zeros(n, dtype=DTYPE)
    where = torch.randperm(n, generator=generator)[:corrupted]
    size = 1 + torch.rand(corrupted, generator=generator, dtype=DTYPE)
    s[where] = size * (torch.randint(0, 2, (corrupted,), generator=generator) * 2 - 1)
    return j, j @ theta + s, theta, s


def hadamard_gd(j, y, alpha: float, tau: float, lr: float, steps: int, record_every: int = 0):
    """Gradient descent on 1/2 ||J theta + u o u - v o v - y||^2 from theta = 0, u = v = tau,
    step lr for theta and alpha * lr for (u, v). Returns (theta, s = u o u - v o v, history of
    (step, theta) every `record_every` steps).

    Full-batch gradient descent written out rather than `train.train`: its step, its
    initialisation and the discrepant rate alpha are the object of study (they set the implicit
    l1 weight), not a means to fit a network."""
    theta = torch.zeros(j.shape[1], dtype=DTYPE)
    u = torch.full((j.shape[0],), tau, dtype=DTYPE)
    v = torch.full((j.shape[0],), tau, dtype=DTYPE)
    history = []
    for step in range(steps + 1):
        if record_every and step % record_every == 0:
            history.append((step, theta.clone()))
        if step == steps:
            break
        r = j @ theta + u * u - v * v - y
        theta = theta - lr * (j.T @ r)
        u, v = u - alpha * lr * 2 * u * r, v + alpha * lr * 2 * v * r
    return theta, u * u - v * v, history


def effective_l1_weight(alpha: float, tau: float) -> float:
    """lambda = ln(1/tau^2) / (4 alpha): the l1 weight of the problem Hadamard GD solves."""
    return math.log(1 / tau**2) / (4 * alpha)


def l1_regularized(j, y, lam: float, iters: int = 20000, return_dual: bool = False):
    """min 1/2 ||theta||^2 + lam ||s||_1 s.t. y = J theta + s, through its dual
        max_mu  mu^T y - 1/2 ||J^T mu||^2   s.t.  ||mu||_inf <= lam,
    solved by FISTA with projection onto the box; then theta = J^T mu and s = y - J theta.
    (The Lagrangian's minimum over theta is at theta = J^T mu; over s it is finite only when
    |mu_i| <= lam.) Returns (theta, s), or (theta, s, mu) with `return_dual`."""
    step = 1 / torch.linalg.matrix_norm(j, 2).item() ** 2
    mu = z = torch.zeros(len(y), dtype=DTYPE)
    t = 1.0
    for _ in range(iters):
        grad = y - j @ (j.T @ z)  # gradient of the (concave) dual objective
        mu_next = (z + step * grad).clamp(-lam, lam)
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        z = mu_next + (t - 1) / t_next * (mu_next - mu)
        mu, t = mu_next, t_next
    theta = j.T @ mu
    return (theta, y - j @ theta, mu) if return_dual else (theta, y - j @ theta)


def hadamard_regularized(j, y, alpha: float, tau: float, iters: int = 200, tol: float = 1e-12):
    """min 1/2 ||theta||^2 + sum_i H(s_i) s.t. y = J theta + s, with the H of gradient flow on
    the Hadamard model, H'(s) = asinh(s / 2 tau^2) / (4 alpha), through its dual
        max_mu  mu^T y - 1/2 ||J^T mu||^2 - sum_i tau^2 (cosh(4 alpha mu_i) - 1) / (2 alpha),
    a smooth strictly concave problem, by Newton's method with backtracking. At the optimum
    theta = J^T mu and s = 2 tau^2 sinh(4 alpha mu): exactly the form of gradient flow's limit
    (theta = -J^T R, s = -2 tau^2 sinh(4 alpha R), mu = -R). Returns (theta, s)."""
    gram = j @ j.T
    c = tau**2 / (2 * alpha)

    def dual(mu):
        return mu @ y - 0.5 * mu @ (gram @ mu) - c * (torch.cosh(4 * alpha * mu) - 1).sum()

    mu = torch.zeros(len(y), dtype=DTYPE)
    for _ in range(iters):
        s = 2 * tau**2 * torch.sinh(4 * alpha * mu)
        grad = y - gram @ mu - s
        if grad.norm() < tol * (1 + y.norm()):
            break
        hess = gram + torch.diag(8 * alpha * tau**2 * torch.cosh(4 * alpha * mu))
        step = torch.linalg.solve(hess, grad)
        t, value = 1.0, dual(mu)
        while dual(mu + t * step) < value + 0.25 * t * (grad @ step) and t > 1e-12:
            t /= 2
        mu = mu + t * step
    theta = j.T @ mu
    return theta, 2 * tau**2 * torch.sinh(4 * alpha * mu)
