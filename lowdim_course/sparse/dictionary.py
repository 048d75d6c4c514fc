"""Orthogonal dictionary learning on the sphere: the problem Y = A_o X_o, the smooth
objective f(q) = 1/p sum_i h_mu(q^T y_i) with h_mu = mu log cosh(./mu), Riemannian gradient
descent on the sphere from many random starts, which columns ±a_j the starts find, and the
landscape of f on S^2 for the picture.
"""

from __future__ import annotations

import math

import torch

from .problems import DTYPE


def orthogonal_dictionary_problem(n, p, theta, generator=None, device="cpu"):
    """Y = A_o X_o: A_o a random orthogonal (n, n) (QR of a Gaussian), X_o (n, p) Bernoulli(theta)
    times N(0, 1). Returns (A_o, X_o, Y)."""
    kw = {"generator": generator, "dtype": DTYPE}
    A, R = torch.linalg.qr(torch.randn(n, n, **kw))
    A = A * torch.sign(torch.diagonal(R))  # sign fix: Haar distributed
    X = torch.randn(n, p, **kw) * (torch.rand(n, p, **kw) < theta)
    return A.to(device), X.to(device), (A @ X).to(device)


def logcosh(z: torch.Tensor, mu: float) -> torch.Tensor:
    """h_mu(z) = mu log cosh(z / mu), a smooth |z| (error < mu log 2), computed without overflow
    as |z| + mu log(1 + exp(-2|z|/mu)) - mu log 2. Its derivative is tanh(z / mu)."""
    a = z.abs()
    return a + mu * torch.log1p(torch.exp(-2 * a / mu)) - mu * math.log(2)


def sphere_objective(Q: torch.Tensor, Y: torch.Tensor, mu: float) -> torch.Tensor:
    """f(q) = 1/p sum_i h_mu(q^T y_i) for each row q of Q (S, n), Y (n, p): (S,)."""
    return logcosh(Q @ Y, mu).mean(-1)


def riemannian_gradient_descent(
    Y, starts, mu=0.05, iters=300, step=0.3, generator=None, keep_path=False
):
    """Minimise f(q) = 1/p sum_i h_mu(q^T y_i) over ||q|| = 1 from `starts` uniform random
    points at once: grad f = 1/p Y tanh(Y^T q / mu), projected on the tangent space,
    (I - q q^T) grad f, then a step and the retraction q <- q / ||q||.
    For Y = A_o X_o with A_o orthogonal, f(A_o b) depends on b only through X_o^T b, whose l1
    norm is smallest at b = ±e_j: the minimisers are the columns ±a_j, and the other critical
    points are saddles that gradient descent from random starts escapes (Sun, Qu & Wright 2017).
    Returns Q (starts, n), and with keep_path every iterate (iters + 1, starts, n).
    """
    Q = torch.randn(starts, Y.shape[0], generator=generator, dtype=DTYPE).to(Y.device)
    Q = Q / Q.norm(dim=1, keepdim=True)
    path = [Q]
    for _ in range(iters):
        G = torch.tanh(Q @ Y / mu) @ Y.T / Y.shape[1]  # (S, n) Euclidean gradient
        G = G - (G * Q).sum(1, keepdim=True) * Q  # tangent projection
        Q = Q - step * G
        Q = Q / Q.norm(dim=1, keepdim=True)  # retraction
        if keep_path:
            path.append(Q)
    return (Q, torch.stack(path)) if keep_path else Q


def match_columns(Q: torch.Tensor, A: torch.Tensor, threshold: float = 0.99) -> dict:
    """For each start q, max_j |<q, a_j>| and its column j; the columns found (some start with
    |<q, a_j>| > threshold; sign does not matter) and, per column, the best start's overlap."""
    overlap = (Q @ A).abs()  # (S, n): |<q_s, a_j>|
    best, column = overlap.max(1)
    found = torch.zeros(A.shape[1], dtype=torch.bool)
    found[column[best > threshold].cpu()] = True
    return {
        "best_overlap": best.cpu(),
        "column": column.cpu(),
        "found": found,
        "n_found": int(found.sum()),
        "column_overlap": overlap.max(0).values.cpu(),
    }


def sphere_landscape(Y, mu=0.05, resolution=90) -> dict:
    """f on a longitude-latitude grid of S^2 (Y has n = 3 rows): azimuth (2r,), elevation (r,)
    in radians and values (r, 2r)."""
    if Y.shape[0] != 3:
        raise ValueError("the landscape is drawn on S^2: Y must have 3 rows")
    azimuth = torch.linspace(-math.pi, math.pi, 2 * resolution, dtype=DTYPE)
    elevation = torch.linspace(-math.pi / 2, math.pi / 2, resolution, dtype=DTYPE)
    el, az = torch.meshgrid(elevation, azimuth, indexing="ij")
    Q = torch.stack([el.cos() * az.cos(), el.cos() * az.sin(), el.sin()], -1)  # (r, 2r, 3)
    values = sphere_objective(Q.reshape(-1, 3).to(Y.device), Y, mu).reshape(el.shape)
    return {"azimuth": azimuth, "elevation": elevation, "values": values.cpu()}


def to_azimuth_elevation(Q: torch.Tensor) -> torch.Tensor:
    """Unit vectors in R^3 (..., 3) -> (..., 2) (azimuth, elevation) in radians."""
    Q = Q / Q.norm(dim=-1, keepdim=True)
    return torch.stack([torch.atan2(Q[..., 1], Q[..., 0]), torch.asin(Q[..., 2].clamp(-1, 1))], -1)
