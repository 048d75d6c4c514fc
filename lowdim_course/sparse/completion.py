"""Low-rank matrix completion, convex and factored: the nuclear-norm problem
min ||X||_* s.t. X = M on the observed entries, solved by ADMM whose step is singular value
thresholding, and Burer-Monteiro gradient descent on X = U V^T with the rank known.
"""

from __future__ import annotations

import math

import torch

from .problems import DTYPE


def singular_value_threshold(Z: torch.Tensor, tau: float) -> tuple[torch.Tensor, int]:
    """D_tau(Z) = U S_tau(Sigma) V^T, the proximal map of tau ||.||_*; returns it and its rank."""
    U, s, Vh = torch.linalg.svd(Z, full_matrices=False)
    s = (s - tau).clamp(min=0)
    return (U * s) @ Vh, int((s > 0).sum())


def relative_error(X: torch.Tensor, M: torch.Tensor) -> float:
    """||X - M||_F / ||M||_F."""
    return (torch.linalg.matrix_norm(X - M) / torch.linalg.matrix_norm(M)).item()


def nuclear_norm_complete(M_obs, mask, iters=300, *, rho=None, tol=1e-13, reference=None):
    """Nuclear-norm completion min ||X||_* s.t. X_ij = M_ij on the observed mask, solved by
    ADMM whose Z-step is singular value thresholding.

    Split as min ||Z||_* + 1{P_Omega X = P_Omega M} s.t. X = Z (scaled dual W):
        Z <- D_{1/rho}(X + W)                 (singular value soft-thresholding)
        X <- Z - W with the observed entries reset to M   (projection on the constraint)
        W <- W + X - Z
    Why ADMM: proximal gradient on lam||X||_* + 1/2||P_Omega(X - M)||^2 needs lam -> 0 to reach
    the constrained solution and then stalls (the unobserved entries move by ~lam per step);
    the SVT algorithm (Cai, Candes & Shen 2010) solves a proxy, min tau||X||_* + 1/2||X||_F^2
    under the same constraint, and converges slowly at low sampling rates. ADMM solves the
    constrained problem itself, and converges linearly where recovery is exact.
    rho, the ADMM penalty, defaults to 3 / ||P_Omega M||_2 (scaled with the data); iterations
    stop early once ||X - Z|| / ||P_Omega M|| < tol.
    Returns Z and a history dict: 'change' ||X - Z||/||P_Omega M|| and 'rank' of Z per step,
    and with `reference` (the true M) 'error' ||Z - M||_F / ||M||_F.
    """
    M_obs = torch.as_tensor(M_obs, dtype=DTYPE) * mask
    scale = torch.linalg.matrix_norm(M_obs, ord=2).item()
    rho = rho or 3.0 / scale
    X, W = M_obs.clone(), torch.zeros_like(M_obs)
    history = {"change": [], "error": [], "rank": []}
    for _ in range(iters):
        Z, rank = singular_value_threshold(X + W, 1.0 / rho)
        X = torch.where(mask, M_obs, Z - W)
        W = W + X - Z
        change = (torch.linalg.matrix_norm(X - Z) / torch.linalg.matrix_norm(M_obs)).item()
        history["change"].append(change)
        history["rank"].append(rank)
        if reference is not None:
            history["error"].append(relative_error(Z, reference))
        if change < tol:
            break
    return Z, history


def burer_monteiro_complete(
    M_obs, mask, rank, iters=1000, *, lr=0.5, init_scale=1e-3, generator=None, reference=None
):
    """Gradient descent on f(U, V) = 1/(2p) ||P_Omega(U V^T - M)||_F^2 (p the sampling rate),
    U (n1, r), V (n2, r), from a small random initialisation (scale init_scale sqrt(sigma_1)).

    Nonconvex, but with the rank known and a few times r(n1 + n2) samples its landscape has no
    spurious local minima (Ge, Lee & Ma 2016, with regularisers this demo does without), and a
    small initialisation keeps U and V balanced without a balancing term.
    Step lr / sigma_1(P_Omega(M)/p). Returns U V^T and a history dict ('loss' per step, and
    'error' with `reference`).
    """
    M_obs = torch.as_tensor(M_obs, dtype=DTYPE) * mask
    p = mask.double().mean().item()
    sigma1 = torch.linalg.matrix_norm(M_obs / p, ord=2).item()
    kw = {"generator": generator, "dtype": DTYPE}
    U = init_scale * math.sqrt(sigma1) * torch.randn(M_obs.shape[0], rank, **kw).to(M_obs.device)
    V = init_scale * math.sqrt(sigma1) * torch.randn(M_obs.shape[1], rank, **kw).to(M_obs.device)
    step = lr / sigma1
    history = {"loss": [], "error": []}
    for _ in range(iters):
        R = mask * (U @ V.T - M_obs) / p  # (n1, n2) rescaled residual on Omega
        U, V = U - step * R @ V, V - step * R.T @ U  # simultaneous step on both factors
        history["loss"].append(0.5 * p * (R**2).sum().item())
        if reference is not None:
            history["error"].append(relative_error(U @ V.T, reference))
    return U @ V.T, history
