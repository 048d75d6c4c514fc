"""The lasso F(x) = 1/2 ||y - Ax||^2 + lam ||x||_1 and its proximal algorithms: soft
thresholding (the proximal map of lam ||.||_1), ISTA and FISTA (Beck & Teboulle 2009) with a
fixed step or backtracking, batched over right-hand sides, and the Beck-Teboulle rate bounds
the lecture plots the gaps against.
"""

from __future__ import annotations

import functools
import math

import torch

from .problems import DTYPE

# Backtracking starts from this fraction of ||A||_2^2 as its guess of L: a local estimate
# below the global constant allows longer steps than 1/||A||^2.
BACKTRACKING_INITIAL_FRACTION = 0.1
# At most this many increases L <- eta L per iteration: eta^60 (1e18 for eta = 2) lifts any
# sensible initial guess past ||A||_2^2, where the upper bound always holds.
BACKTRACKING_MAX_INCREASES = 60
# Slack in the upper-bound test, relative to f(z): rounding in f(x) near the bound must not
# count as a violation and trigger a needless step cut.
BACKTRACKING_RTOL = 1e-12


def soft_threshold(x: torch.Tensor, tau, nonnegative: bool = False) -> torch.Tensor:
    """S_tau(x) = sign(x) max(|x| - tau, 0), the proximal map of tau ||.||_1.

    Written with ReLUs, S_tau(z) = ReLU(z - tau) - ReLU(-z - tau); for codes constrained to be
    non-negative the prox of tau||x||_1 + 1{x >= 0} keeps only the first term, ReLU(z - tau):
    a ReLU with bias -tau.
    """
    if nonnegative:
        return torch.relu(x - tau)
    return torch.relu(x - tau) - torch.relu(-x - tau)


def lipschitz_constant(A: torch.Tensor) -> float:
    """L = ||A||_2^2, the Lipschitz constant of the gradient A^T(Ax - y) of 1/2||y - Ax||^2."""
    return torch.linalg.matrix_norm(torch.as_tensor(A, dtype=DTYPE), ord=2).item() ** 2


def lasso_objective(A: torch.Tensor, y: torch.Tensor, x: torch.Tensor, lam) -> torch.Tensor:
    """F(x) = 1/2 ||y - Ax||^2 + lam ||x||_1 for each row of x (B, n) and y (B, m): (B,)."""
    return 0.5 * ((x @ A.T - y) ** 2).sum(-1) + lam * x.abs().sum(-1)


def _batch(A, y, lam):
    """float64 A (m, n), y (B, m), lam (B, 1); and whether y came as a single vector."""
    A = torch.as_tensor(A, dtype=DTYPE)
    y = torch.as_tensor(y, dtype=DTYPE, device=A.device)
    single = y.ndim == 1
    y = y[None] if single else y
    lam = torch.as_tensor(lam, dtype=DTYPE, device=A.device).reshape(-1, 1).expand(len(y), 1)
    return A, y, lam, single


def _prox_step(z, grad, L, *, lam, nonnegative):
    """The proximal gradient step S_{lam/L}(z - grad / L) from z, with L (B, 1) per problem."""
    return soft_threshold(z - grad / L, lam / L, nonnegative)


def _backtrack(A, y, *, z, residual, grad, L, prox, eta):
    """Multiply L (B, 1) by eta, separately per problem, until the quadratic upper bound
    f(x) <= f(z) + <grad f(z), x - z> + L/2 ||x - z||^2 holds at x = prox(L), the proximal
    step from z with step 1/L; returns (x, L)."""
    f_z = 0.5 * (residual**2).sum(1, keepdim=True)
    x_new = prox(L)
    for _ in range(BACKTRACKING_MAX_INCREASES):
        d = x_new - z
        f_x = 0.5 * ((x_new @ A.T - y) ** 2).sum(1, keepdim=True)
        upper = f_z + (grad * d).sum(1, keepdim=True) + 0.5 * L * (d**2).sum(1, True)
        ok = f_x <= upper + BACKTRACKING_RTOL * f_z.abs()
        if ok.all():
            break
        L = torch.where(ok, L, L * eta)
        x_new = prox(L)
    return x_new, L


def proximal_gradient(
    A,
    y,
    lam,
    iters,
    *,
    accelerated=False,
    step=None,
    backtracking=False,
    nonnegative=False,
    eta=2.0,
    callback=None,
):
    """ISTA (accelerated=False) or FISTA for the lasso, from x_0 = 0, batched over the rows of y.

    A (m, n); y (B, m) or (m,); lam a float or one per problem (B,). The step is 1/L with
    L = ||A||_2^2 (or 1/step), or with `backtracking` the L found per problem by L <- eta L
    until f(x_{k+1}) <= f(z_k) + <grad f(z_k), x_{k+1} - z_k> + L/2 ||x_{k+1} - z_k||^2
    (Beck & Teboulle 2009), starting from BACKTRACKING_INITIAL_FRACTION ||A||_2^2.
    `nonnegative=True` solves the lasso with x >= 0 (soft threshold -> ReLU(z - lam/L)).
    `callback(x_k)` (B, n), if given, sees every iterate.
    Returns x_K (B, n) and the objectives F(x_1), ..., F(x_K) as (B, K) (unbatched for y (m,)).
    """
    A, y, lam, single = _batch(A, y, lam)
    B, n = len(y), A.shape[1]
    if step:
        L0 = 1.0 / step
    else:
        L0 = lipschitz_constant(A) * (BACKTRACKING_INITIAL_FRACTION if backtracking else 1.0)
    L = torch.full((B, 1), L0, dtype=DTYPE, device=A.device)
    x = z = torch.zeros(B, n, dtype=DTYPE, device=A.device)
    t = 1.0
    objectives = torch.empty(B, iters, dtype=DTYPE, device=A.device)
    for k in range(iters):
        residual = z @ A.T - y  # (B, m)
        grad = residual @ A  # (B, n)
        prox = functools.partial(_prox_step, z, grad, lam=lam, nonnegative=nonnegative)
        if backtracking:
            x_new, L = _backtrack(A, y, z=z, residual=residual, grad=grad, L=L, prox=prox, eta=eta)
        else:
            x_new = prox(L)
        if accelerated:
            t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
            z = x_new + (t - 1) / t_new * (x_new - x)  # momentum: the FISTA extrapolation
            t = t_new
        else:
            z = x_new
        x = x_new
        objectives[:, k] = lasso_objective(A, y, x, lam[:, 0])
        if callback is not None:
            callback(x)
    return (x[0], objectives[0]) if single else (x, objectives)


def ista(A, y, lam, iters, **options):
    """ISTA for the lasso F(x) = 1/2||y - Ax||^2 + lam||x||_1: from x_0 = 0,
    x_{k+1} = S_{lam/L}(x_k - (1/L) A^T(A x_k - y)); F(x_k) decreases, its bound is O(1/k).
    Keyword options (step, backtracking, nonnegative, eta, callback) and returns as in
    `proximal_gradient`."""
    return proximal_gradient(A, y, lam, iters, accelerated=False, **options)


def fista(A, y, lam, iters, **options):
    """FISTA (Beck & Teboulle 2009): ISTA's step taken at the extrapolated point
    z_k = x_k + (t_{k-1} - 1)/t_k (x_k - x_{k-1}), t_{k+1} = (1 + sqrt(1 + 4 t_k^2))/2.
    Same options and returns as `ista`; F(x_k) is not monotone, its bound is O(1/k^2)."""
    return proximal_gradient(A, y, lam, iters, accelerated=True, **options)


def lasso_optimum(A, y, lam, iters=5000, nonnegative=False):
    """(x*, F*) by a long FISTA run; F* is the smallest objective seen (FISTA is not monotone)."""
    x, objectives = fista(A, y, lam, iters, nonnegative=nonnegative)
    return x, objectives.min(-1).values


def ista_bound(k, L: float, dist2):
    """Beck-Teboulle Thm 3.1: F(x_k) - F* <= L ||x0 - x*||^2 / (2k) (k >= 1)."""
    dist2 = torch.as_tensor(dist2, dtype=DTYPE)
    k = torch.as_tensor(k, dtype=DTYPE, device=dist2.device)
    return L * dist2[..., None] / (2 * k)


def fista_bound(k, L: float, dist2):
    """Beck-Teboulle Thm 4.4: F(x_k) - F* <= 2L ||x0 - x*||^2 / (k+1)^2 (k >= 1)."""
    dist2 = torch.as_tensor(dist2, dtype=DTYPE)
    k = torch.as_tensor(k, dtype=DTYPE, device=dist2.device)
    return 2 * L * dist2[..., None] / (k + 1) ** 2
