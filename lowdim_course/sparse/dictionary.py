"""Orthogonal dictionary learning on the sphere: the problem Y = A_o X_o, the smooth
objective f(q) = 1/p sum_i h_mu(q^T y_i) with h_mu = mu log cosh(./mu), Riemannian gradient
descent on the sphere from many random starts, which columns ±a_j the starts find, the linear
program that rounds an approximate column to an exact one (Sun, Qu & Wright 2017), and the
landscape of f on S^2 for the picture.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import optimize

from ..claims import by_profile, claim
from ..runtime import torch_threads
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
    For Y = A_o X_o with A_o orthogonal, f(A_o b) depends on b only through X_o^T b. In
    expectation over X_o the minimisers are exactly the columns ±a_j (by symmetry) and the
    other critical points are saddles (Sun, Qu & Wright 2017, who analyse a Riemannian
    trust-region method; Gilboa, Buchanan & Wright 2019 show that randomly initialised gradient
    descent escapes the saddles efficiently). At finite p the minimisers of f sit near ±a_j but
    not on them (see `smoothing_bias`); `lp_rounding` removes the bias.
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


def smoothing_bias(n: int, p: int, theta: float, mu: float) -> float:
    """The predicted distance ||q - a_j|| from a column to the minimiser of f next to it:
    mu sqrt((n - 1) / p) / (1 - theta).

    Derivation (to leading order, mu small against the nonzero code entries): in the basis of
    A_o, the gradient of f at a_j has tangent coordinates g_k = 1/p sum_i tanh(x_ji / mu) x_ki,
    k != j, sums of p independent terms of mean 0 and variance about theta^2 (tanh^2 is about 1
    where x_ji != 0, probability theta, and E x_k^2 = theta): g_k ~ theta / sqrt(p). The
    Riemannian Hessian there is about (1 - theta) theta / mu times the identity (samples with
    x_ji = 0 contribute sech^2(0) / mu x_ki^2; the curvature term of the sphere, of order
    theta, is smaller by a factor mu). One Newton step, delta = -g / H, has coordinates of
    size mu / ((1 - theta) sqrt(p)), and n - 1 of them.
    """
    return mu * math.sqrt((n - 1) / p) / (1 - theta)


def lp_rounding(Y, r) -> torch.Tensor:
    """Sun, Qu & Wright's rounding of an approximate column r (n,): the linear program

        min_q ||Y^T q||_1  s.t.  <r, q> = 1,

    whose solution, when r is close enough to a column a_j and p is large enough, is exactly
    a_j / <r, a_j>: unlike f, the l1 norm itself has a sharp minimum at a_j on the sphere, so no
    smoothing bias is left. Solved through its dual, max s s.t. Y w = s r, ||w||_inf <= 1
    (p + 1 bounded variables, only n equality rows, which HiGHS solves fast); q is the dual's
    multiplier of Y w = s r, rescaled so that <r, q> = 1. Returns q / ||q|| (n,), float64.
    """
    Y = np.asarray(torch.as_tensor(Y, dtype=DTYPE).cpu())
    r = np.asarray(torch.as_tensor(r, dtype=DTYPE).cpu())
    n, p = Y.shape
    cost = np.zeros(p + 1)
    cost[-1] = -1.0  # maximise s
    res = optimize.linprog(
        cost,
        A_eq=np.hstack([Y, -r[:, None]]),
        b_eq=np.zeros(n),
        bounds=[(-1.0, 1.0)] * p + [(None, None)],
        method="highs",
    )
    if res.status != 0:
        raise RuntimeError(f"rounding LP failed: {res.message}")
    q = np.asarray(res.eqlin.marginals, dtype=float)
    q = q / (r @ q)  # the primal constraint <r, q> = 1 fixes the scale and the sign
    return torch.as_tensor(q / np.linalg.norm(q), dtype=DTYPE)


def preconditioner(Y: torch.Tensor, theta: float) -> torch.Tensor:
    """P = (Y Y^T / (p theta))^{-1/2}, which makes a complete dictionary near-orthogonal (Sun,
    Qu & Wright 2017): for Y = A_o X_o, P Y = (P A_o) X_o and (P A_o)^T (P A_o) =
    (X_o X_o^T / (p theta))^{-1}, whatever A_o is, since E[X X^T] = p theta I. The defect from
    orthogonality is that of the codes' sample covariance, of order sqrt(n / p)."""
    evals, evecs = torch.linalg.eigh(Y @ Y.T / (Y.shape[1] * theta))
    return (evecs * evals.rsqrt()) @ evecs.T


def orthogonality_defect(n, samples, theta, condition, generator=None) -> dict:
    """For a random A_o (n, n) with singular values from 1 to `condition`, and each p in
    `samples`: ||(P A_o)^T (P A_o) - I||_2 with P = `preconditioner(Y)` (P A_o is the dictionary
    of the preconditioned data P Y), against ||A_o^T A_o - I||_2 before. Returns samples, defect
    (per p) and raw."""
    with torch_threads(1):  # small matrices: one thread (see runtime.torch_threads)
        return _orthogonality_defect(n, samples, theta, condition, generator)


def _orthogonality_defect(n, samples, theta, condition, generator) -> dict:
    kw = {"generator": generator, "dtype": DTYPE}
    U, _ = torch.linalg.qr(torch.randn(n, n, **kw))
    V, _ = torch.linalg.qr(torch.randn(n, n, **kw))
    A = U @ torch.diag(torch.linspace(1.0, condition, n, dtype=DTYPE)) @ V.T
    eye = torch.eye(n, dtype=DTYPE)
    defect = []
    for p in samples:
        X = torch.randn(n, p, **kw) * (torch.rand(n, p, **kw) < theta)
        effective = preconditioner(A @ X, theta) @ A  # P A_o: the dictionary of P Y
        defect.append(torch.linalg.matrix_norm(effective.T @ effective - eye, ord=2).item())
    raw = torch.linalg.matrix_norm(A.T @ A - eye, ord=2).item()
    return {"samples": list(samples), "defect": defect, "raw": raw, "n": n, "theta": theta}


def check_preconditioning(result: dict, profile: str) -> list[str]:
    """Preconditioning turns a far-from-orthogonal dictionary into a near-orthogonal one whose
    defect shrinks like 1/sqrt(p): a log-log slope within 0.25 of -1/2, and below 0.1 at the
    largest p while the raw ||A_o^T A_o - I|| is above 1."""
    p, defect = np.asarray(result["samples"], float), np.asarray(result["defect"], float)
    slope = float(np.polyfit(np.log(p), np.log(defect), 1)[0])
    tol = by_profile(profile, 0.25, 0.25)
    return [
        claim(
            abs(slope + 0.5) < tol and defect[-1] < 0.1 < 1 < result["raw"],
            "after preconditioning ||(P A_o)^T (P A_o) - I|| falls like p^(-1/2) (slope within "
            f"{tol} of -1/2) to below 0.1, from ||A_o^T A_o - I|| above 1",
            f"defect {', '.join(f'{d:.3f}' for d in defect)} at p = "
            f"{', '.join(str(int(v)) for v in p)} (slope {slope:.2f}); raw {result['raw']:.2f}",
        )
    ]


def column_distance(q: torch.Tensor, a: torch.Tensor) -> float:
    """min(||q - a||, ||q + a||): the distance to a column up to its sign."""
    return min((q - a).norm().item(), (q + a).norm().item())


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
