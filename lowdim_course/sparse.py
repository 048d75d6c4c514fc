"""Lecture 1, sparse recovery and nonconvex optimisation: the lasso and its proximal algorithms,
basis pursuit and its phase transition, low-rank matrix completion (convex and factored),
dictionary learning on the sphere, and ISTA unrolled into a network with ReLU activations.

Experiments (quick profile, one torch thread, a shared 2-core machine; seeds 0-4):
- `sparse_rates`: ISTA, FISTA and FISTA with backtracking on 8 lassos at once; every gap
  F(x_k) - F* stays below the Beck-Teboulle bounds L||x0 - x*||^2 / (2k) and
  2L||x0 - x*||^2 / (k+1)^2 (at most 0.35 of them); about 4 s.
- `sparse_phase_transition`: basis pursuit (a linear program, HiGHS) on a 5 x 19 grid of
  (delta = m/n, rho = k/m), n = 100, 8 trials per point; its 50% contour lies within 0.06 of the
  weak threshold computed from the statistical dimension of the l1 descent cone; about 7 s.
  Full: n = 400, a 19 x 39 grid, 20 trials (CPU-bound: linear programs, 16 threads).
- `sparse_matrix_completion`: nuclear-norm minimisation (ADMM with singular value
  thresholding) and Burer-Monteiro gradient descent on a rank-5 100 x 100 matrix: both exact
  (error ~1e-13) from 40% of the entries; at 30% the nuclear norm fails on some matrices (error
  up to 4e-2, a genuine failure: it finds a feasible matrix of smaller nuclear norm) while
  Burer-Monteiro with the rank known is exact from 30% and near-exact at 20%; about 6 s.
- `sparse_dictionary_learning`: Riemannian gradient descent on a log-cosh surrogate of
  ||Y^T a||_1 over the sphere from 96 random starts finds all 8 columns of an orthogonal
  dictionary, every start within 1e-5 of some ±a_j; plus the landscape on S^2; about 3 s.
- `sparse_unrolled`: one ISTA step is a linear map followed by soft thresholding (a ReLU for
  non-negative codes); unrolled ISTA equals ISTA to 1e-14, and 8 trained layers (LISTA) reach
  the error ISTA needs about 140 iterations (FISTA about 30) for; about 8 s.

Conventions: a batch of B problems sharing one matrix A (m, n) stores vectors as rows, so
A x for every problem is `x @ A.T` (B, m) and A^T r is `r @ A` (B, n). Optimisation runs in
float64: gaps F(x_k) - F* go down to 1e-14, where float32 is noise.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from scipy import optimize, stats
from torch import nn

from . import plots
from .data import completion_problem
from .runtime import config_threads, torch_threads  # noqa: F401 (sparse.torch_threads, used by the tests)

DTYPE = torch.float64

# ----------------------------------------------------------------------------------------------
# 1. The lasso: ISTA and FISTA
# ----------------------------------------------------------------------------------------------


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


def _proximal_gradient(
    A, y, lam, iters, step, backtracking, nonnegative, accelerated, eta, callback=None
):
    """ISTA (accelerated=False) or FISTA from x0 = 0; returns x_K (B, n) and F(x_k) (B, K)."""
    A, y, lam, single = _batch(A, y, lam)
    B, n = len(y), A.shape[1]
    # Backtracking starts from a guess of L (a tenth of ||A||^2 unless a step is given) and
    # multiplies it by eta until the quadratic upper bound holds, separately per problem.
    L0 = 1.0 / step if step else lipschitz_constant(A) * (0.1 if backtracking else 1.0)
    L = torch.full((B, 1), L0, dtype=DTYPE, device=A.device)
    x = z = torch.zeros(B, n, dtype=DTYPE, device=A.device)
    t = 1.0
    objectives = torch.empty(B, iters, dtype=DTYPE, device=A.device)
    for k in range(iters):
        residual = z @ A.T - y  # (B, m)
        grad = residual @ A  # (B, n)
        x_new = soft_threshold(z - grad / L, lam / L, nonnegative)
        if backtracking:
            f_z = 0.5 * (residual**2).sum(1, keepdim=True)
            for _ in range(60):  # eta^60 covers any sensible initial guess
                d = x_new - z
                f_x = 0.5 * ((x_new @ A.T - y) ** 2).sum(1, keepdim=True)
                upper = f_z + (grad * d).sum(1, keepdim=True) + 0.5 * L * (d**2).sum(1, True)
                ok = f_x <= upper + 1e-12 * f_z.abs()  # rounding must not trigger a step cut
                if ok.all():
                    break
                L = torch.where(ok, L, L * eta)
                x_new = soft_threshold(z - grad / L, lam / L, nonnegative)
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


def ista(
    A, y, lam, iters, step=None, backtracking=False, nonnegative=False, eta=2.0, callback=None
):
    """ISTA for the lasso F(x) = 1/2||y - Ax||^2 + lam||x||_1, batched over the rows of y.

    x_{k+1} = S_{lam/L}(x_k - (1/L) A^T(A x_k - y)), from x_0 = 0, with L = ||A||_2^2 (or
    1/step), or found by backtracking (Beck & Teboulle 2009): L <- eta L until
    f(x_{k+1}) <= f(x_k) + <grad f(x_k), x_{k+1} - x_k> + L/2 ||x_{k+1} - x_k||^2.
    A (m, n); y (B, m) or (m,); lam a float or one per problem (B,).
    Returns x_K (B, n) and the objectives F(x_1), ..., F(x_K) as (B, K) (unbatched for y (m,)).
    `nonnegative=True` solves the lasso with x >= 0 (soft threshold -> ReLU(z - lam/L)).
    `callback(x_k)` (B, n), if given, sees every iterate.
    """
    return _proximal_gradient(
        A, y, lam, iters, step, backtracking, nonnegative, False, eta, callback
    )


def fista(
    A, y, lam, iters, step=None, backtracking=False, nonnegative=False, eta=2.0, callback=None
):
    """FISTA (Beck & Teboulle 2009): ISTA's step taken at the extrapolated point
    z_k = x_k + (t_{k-1} - 1)/t_k (x_k - x_{k-1}), t_{k+1} = (1 + sqrt(1 + 4 t_k^2))/2.
    Same arguments and returns as `ista`; F(x_k) is not monotone, its bound is O(1/k^2)."""
    return _proximal_gradient(
        A, y, lam, iters, step, backtracking, nonnegative, True, eta, callback
    )


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


# ----------------------------------------------------------------------------------------------
# 2. Basis pursuit and its phase transition
# ----------------------------------------------------------------------------------------------


def basis_pursuit(A, y) -> np.ndarray:
    """min ||x||_1 s.t. Ax = y, as the linear program min 1^T(u + v) s.t. A(u - v) = y, u, v >= 0.

    At the optimum u and v have disjoint supports (else subtract min(u, v) from both and lower the
    cost), so 1^T(u + v) = ||u - v||_1. Solved by HiGHS; returns x = u - v (n,).
    """
    A, y = np.asarray(A, dtype=float), np.asarray(y, dtype=float)
    n = A.shape[1]
    res = optimize.linprog(
        np.ones(2 * n), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None), method="highs"
    )
    if res.status != 0:
        raise RuntimeError(f"basis pursuit LP failed: {res.message}")
    return res.x[:n] - res.x[n:]


def _gaussian_tail_square(tau):
    """E[(|g| - tau)_+^2] = 2[(1 + tau^2) Q(tau) - tau phi(tau)] for g ~ N(0, 1).

    Derivation: the integral over g > tau, doubled by symmetry, of (g - tau)^2 phi(g), with
    int_tau^inf phi = Q(tau), int_tau^inf g phi = phi(tau), int_tau^inf g^2 phi = tau phi(tau) +
    Q(tau) (integrate by parts, phi' = -g phi).
    """
    return 2 * ((1 + tau**2) * stats.norm.sf(tau) - tau * stats.norm.pdf(tau))


def l1_statistical_dimension(s: float) -> float:
    """psi(s) = delta(D(||.||_1, x))/n for x with a fraction s = k/n of nonzeros (n -> inf):

        psi(s) = inf_{tau >= 0} s(1 + tau^2) + (1 - s) E[(|g| - tau)_+^2]

    (Amelunxen, Lotz, McCoy & Tropp 2014, Prop. 4.5): the expected squared distance of a
    Gaussian vector to tau times the subdifferential, per coordinate. The objective is convex in
    tau (second derivative 2s + 4(1 - s)Q(tau) > 0), so the infimum is at the root of
    s tau - 2(1 - s)(phi(tau) - tau Q(tau)) = 0 (its derivative over 2), found by brentq.
    """
    if s <= 0:
        return 0.0  # tau -> inf drives the tail term to 0
    if s >= 1:
        return 1.0  # tau = 0: the descent cone of a dense vector is a half-space of R^n
    tau = optimize.brentq(
        lambda t: s * t - 2 * (1 - s) * (stats.norm.pdf(t) - t * stats.norm.sf(t)), 0.0, 40.0
    )
    return s * (1 + tau**2) + (1 - s) * _gaussian_tail_square(tau)


def weak_threshold(delta):
    """The l1 phase transition rho(delta) = k/m: basis pursuit recovers a k-sparse vector from
    m = delta n Gaussian measurements with high probability iff delta > psi(k/n). For each delta
    solve psi(s) = delta for s (psi increases from 0 to 1) and return rho = s / delta."""
    deltas = np.atleast_1d(np.asarray(delta, dtype=float))
    rho = np.empty_like(deltas)
    for i, d in enumerate(deltas):
        if not 0 < d < 1:
            raise ValueError(f"delta = m/n must lie in (0, 1), got {d}")
        s = optimize.brentq(lambda s, d=d: l1_statistical_dimension(s) - d, 1e-14, 1 - 1e-14)
        rho[i] = s / d
    return rho if np.ndim(delta) else float(rho[0])


def _bp_trial(n, m, k, signs, tol, rng) -> bool:
    A = rng.standard_normal((m, n)) / math.sqrt(m)  # N(0, 1/m) entries
    x0 = np.zeros(n)
    support = rng.choice(n, size=k, replace=False)
    x0[support] = rng.choice([-1.0, 1.0], k) if signs == "rademacher" else rng.standard_normal(k)
    x = basis_pursuit(A, A @ x0)
    return np.linalg.norm(x - x0) / np.linalg.norm(x0) < tol


def l1_phase_transition(
    n, deltas, rhos, trials, seed=0, signs="rademacher", tol=1e-5, workers=1, progress=False
) -> np.ndarray:
    """Empirical probability that basis pursuit recovers x0 exactly (relative error < tol).

    For each delta = m/n and rho = k/m: A (m, n) with N(0, 1/m) entries, x0 with k nonzeros,
    ±1 (`signs='rademacher'`) or N(0, 1) ('gaussian'). Returns (len(rhos), len(deltas)): rows
    are rho, columns delta. Each cell has its own random stream (seed, i, j), so the grid does
    not depend on `workers` (threads; HiGHS releases the GIL).
    """
    cells = []
    for i, rho in enumerate(rhos):
        for j, delta in enumerate(deltas):
            m = max(1, round(delta * n))
            k = min(m, max(1, round(rho * m)))
            cells.append((i, j, m, k))

    def cell(c):
        i, j, m, k = c
        rng = np.random.default_rng([seed, i, j])
        return sum(_bp_trial(n, m, k, signs, tol, rng) for _ in range(trials)) / trials

    with ThreadPoolExecutor(max(1, workers)) as pool:
        results = pool.map(cell, cells)
        if progress:
            from tqdm.auto import tqdm

            results = tqdm(results, total=len(cells), desc="phase transition")
        probability = np.zeros((len(rhos), len(deltas)))
        for (i, j, _, _), p in zip(cells, results):
            probability[i, j] = p
    return probability


def fifty_percent_rho(probability, rhos) -> np.ndarray:
    """For each delta column, the rho where success first falls below 1/2 (linear interpolation
    between the last grid point at >= 1/2 and the first below); the grid edge if it never
    crosses. `probability` is (len(rhos), len(deltas)) as from `l1_phase_transition`."""
    probability, rhos = np.asarray(probability), np.asarray(rhos, dtype=float)
    out = np.empty(probability.shape[1])
    for j, p in enumerate(probability.T):
        below = np.flatnonzero(p < 0.5)
        if len(below) == 0:
            out[j] = rhos[-1]
        elif below[0] == 0:
            out[j] = rhos[0]
        else:
            i = below[0]
            out[j] = rhos[i - 1] + (p[i - 1] - 0.5) / (p[i - 1] - p[i]) * (rhos[i] - rhos[i - 1])
    return out


# ----------------------------------------------------------------------------------------------
# 3. Low-rank matrix completion
# ----------------------------------------------------------------------------------------------


def singular_value_threshold(Z: torch.Tensor, tau: float) -> tuple[torch.Tensor, int]:
    """D_tau(Z) = U S_tau(Sigma) V^T, the proximal map of tau ||.||_*; returns it and its rank."""
    U, s, Vh = torch.linalg.svd(Z, full_matrices=False)
    s = (s - tau).clamp(min=0)
    return (U * s) @ Vh, int((s > 0).sum())


def _relative_error(X, M) -> float:
    return (torch.linalg.matrix_norm(X - M) / torch.linalg.matrix_norm(M)).item()


def svt_complete(M_obs, mask, iters=300, rho=None, tol=1e-13, reference=None):
    """Nuclear-norm completion min ||X||_* s.t. X_ij = M_ij on the observed mask, by ADMM.

    Split as min ||Z||_* + 1{P_Omega X = P_Omega M} s.t. X = Z (scaled dual W):
        Z <- D_{1/rho}(X + W)                 (singular value soft-thresholding)
        X <- Z - W with the observed entries reset to M   (projection on the constraint)
        W <- W + X - Z
    Why ADMM: proximal gradient on lam||X||_* + 1/2||P_Omega(X - M)||^2 needs lam -> 0 to reach
    the constrained solution and then stalls (the unobserved entries move by ~lam per step);
    SVT (Cai, Candes & Shen 2010) solves a proxy and converges slowly at low sampling rates.
    ADMM converges linearly where recovery is exact: 1e-12 in ~200 steps at 100 x 100.
    rho defaults to 3 / ||P_Omega M||_2 (measured: 1 / ... to 10 / ... work alike).
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
            history["error"].append(_relative_error(Z, reference))
        if change < tol:
            break
    return Z, history


def burer_monteiro_complete(
    M_obs, mask, rank, iters=1000, lr=0.5, init_scale=1e-3, generator=None, reference=None
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
            history["error"].append(_relative_error(U @ V.T, reference))
    return U @ V.T, history


# ----------------------------------------------------------------------------------------------
# 4. Dictionary learning on the sphere
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# 5. Soft thresholding -> ReLU: ISTA unrolled into a network (LISTA)
# ----------------------------------------------------------------------------------------------


class UnrolledISTA(nn.Module):
    """K layers x_{k+1} = S_{theta_k}(W_e y + S_m x_k) from x_0 = 0 (rows: y (B, m), x (B, n)).

    One ISTA step x <- S_{lam/L}(x + (1/L) A^T(y - A x)) is exactly this layer with
    W_e = A^T / L, S_m = I - A^T A / L, theta = lam / L: a linear map, a bias and a ReLU pair
    (S_tau(z) = ReLU(z - tau) - ReLU(-z - tau); only ReLU(z - tau) for non-negative codes).
    Initialised there, K layers compute ISTA's K-th iterate. Training W_e, S_m, theta (Gregor &
    LeCun 2010, LISTA) on (y, x*) pairs makes each layer worth many ISTA steps. `tied=True`
    shares one (W_e, S_m, theta) across layers, as a recurrent network.
    """

    def __init__(self, A, lam, layers, tied=False, nonnegative=False, step=None):
        super().__init__()
        A = torch.as_tensor(A)
        L = 1.0 / step if step else lipschitz_constant(A)
        n = A.shape[1]
        copies = 1 if tied else layers
        eye = torch.eye(n, dtype=A.dtype, device=A.device)
        self.W_e = nn.Parameter((A.T / L).repeat(copies, 1, 1))  # (copies, n, m)
        self.S_m = nn.Parameter((eye - A.T @ A / L).repeat(copies, 1, 1))  # (copies, n, n)
        self.theta = nn.Parameter(torch.full((copies, n), lam / L, dtype=A.dtype, device=A.device))
        self.layers, self.tied, self.nonnegative = layers, tied, nonnegative

    def forward(self, y: torch.Tensor, return_all: bool = False):
        """x_K (B, n), or the list [x_1, ..., x_K] with return_all."""
        x = torch.zeros(y.shape[0], self.S_m.shape[-1], dtype=y.dtype, device=y.device)
        iterates = []
        for k in range(self.layers):
            i = 0 if self.tied else k
            z = y @ self.W_e[i].T + x @ self.S_m[i].T  # (B, n) linear part of the layer
            x = soft_threshold(z, self.theta[i], self.nonnegative)
            iterates.append(x)
        return iterates if return_all else x


def sparse_codes(N, n, theta, generator=None, nonnegative=False) -> torch.Tensor:
    """(N, n) Bernoulli(theta) times N(0, 1) codes (absolute values when nonnegative)."""
    x = torch.randn(N, n, generator=generator, dtype=DTYPE)
    x = x.abs() if nonnegative else x
    return x * (torch.rand(N, n, generator=generator, dtype=DTYPE) < theta)


def train_unrolled(net, y, x_star, steps, batch_size=128, lr=3e-3, generator=None):
    """Adam on the mean squared error ||net(y) - x*||^2 with a cosine learning-rate decay;
    returns the loss per step. A plain regression loop: the course's `train` is for
    classification."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    losses = []
    for _ in range(steps):
        idx = torch.randint(0, len(y), (batch_size,), generator=generator).to(y.device)
        loss = ((net(y[idx]) - x_star[idx]) ** 2).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        losses.append(loss.item())
    return losses


def nmse(x: torch.Tensor, x_star: torch.Tensor) -> float:
    """sum ||x - x*||^2 / sum ||x*||^2 over a batch."""
    return (((x - x_star) ** 2).sum() / (x_star**2).sum()).item()


# ----------------------------------------------------------------------------------------------
# Experiments
# ----------------------------------------------------------------------------------------------


def _gaussian_matrix(m, n, generator, device="cpu", correlation=0.0):
    """(m, n) with N(0, 1/m) entries; with correlation c, column j = c column j-1 +
    sqrt(1 - c^2) fresh noise (an AR(1) design, still N(0, 1/m) entries)."""
    A = torch.randn(m, n, generator=generator, dtype=DTYPE) / math.sqrt(m)
    for j in range(1, n) if correlation else ():
        A[:, j] = correlation * A[:, j - 1] + math.sqrt(1 - correlation**2) * A[:, j]
    return A.to(device)


@dataclass(frozen=True)
class RatesConfig:
    m: int = 100  # measurements
    n: int = 200  # unknowns
    sparsity: int = 10  # nonzeros of the vector behind each y
    problems: int = 8  # lassos solved at once (one A, B right-hand sides)
    correlation: float = 0.9  # between neighbouring columns of A: an ill-conditioned lasso, so
    # the O(1/k) and O(1/k^2) phases last long enough to see (at 0, both turn linear by k ~ 100)
    lam_ratio: float = 0.02  # lam = lam_ratio ||A^T y||_inf (lam >= ||A^T y||_inf gives x* = 0)
    iters: int = 1000  # ISTA / FISTA iterations shown
    optimum_iters: int = 20000  # FISTA iterations for F*
    eta: float = 2.0  # backtracking factor
    threads: int = 1  # torch CPU threads during the run (0: unchanged), see torch_threads

    @classmethod
    def quick(cls) -> RatesConfig:
        return cls()

    @classmethod
    def full(cls) -> RatesConfig:
        return cls(
            m=500, n=1000, sparsity=50, problems=32, iters=5000, optimum_iters=100000, threads=0
        )


@config_threads
def run_rates(config: RatesConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """ISTA, FISTA and FISTA with backtracking on the same lassos: gaps F(x_k) - F* and the
    Beck-Teboulle bounds (backtracking: with eta L, the largest L it can reach). Short runs: no
    checkpoints."""
    g = torch.Generator().manual_seed(seed)
    A = _gaussian_matrix(config.m, config.n, g, device, config.correlation)
    x0 = sparse_codes(config.problems, config.n, config.sparsity / config.n, g).to(device)
    y = x0 @ A.T + 0.01 * torch.randn(config.problems, config.m, generator=g, dtype=DTYPE).to(
        device
    )
    lam = config.lam_ratio * (y @ A).abs().max(1).values  # (B,)
    L = lipschitz_constant(A)
    x_star, F_star = lasso_optimum(A, y, lam, config.optimum_iters)
    runs = {
        "ista": ista(A, y, lam, config.iters)[1],
        "fista": fista(A, y, lam, config.iters)[1],
        "fista_backtracking": fista(A, y, lam, config.iters, backtracking=True, eta=config.eta)[1],
    }
    # F* is the smallest objective any method reached, so that every gap is >= 0.
    F_star = torch.minimum(F_star, torch.stack([r.min(1).values for r in runs.values()]).min(0)[0])
    k = torch.arange(1, config.iters + 1)
    dist2 = (x_star**2).sum(1)  # ||x0 - x*||^2 with x0 = 0
    bounds = {
        "ista": ista_bound(k, L, dist2),
        "fista": fista_bound(k, L, dist2),
        "fista_backtracking": fista_bound(k, config.eta * L, dist2),
    }
    gaps = {name: (r - F_star[:, None]).clamp(min=0) for name, r in runs.items()}
    return {
        "iterations": k,
        "L": L,
        "lam": lam,
        "F_star": F_star,
        "gaps": gaps,
        "bounds": bounds,
        "below_bound": {name: bool((gaps[name] <= bounds[name]).all()) for name in gaps},
        "max_gap_over_bound": {name: (gaps[name] / bounds[name]).max().item() for name in gaps},
        "final_gap": {name: gaps[name][:, -1].max().item() for name in gaps},
    }


def plot_rates(result: dict):
    """Gaps F(x_k) - F* (median and range over the problems) and the O(1/k), O(1/k^2) bounds."""
    k = np.asarray(result["iterations"])
    fig, ax = plots.subplots(width=6.4, height=4.4)
    labels = {"ista": "ISTA", "fista": "FISTA", "fista_backtracking": "FISTA, backtracking"}
    for color, (name, label) in zip(plots.OKABE_ITO, labels.items()):
        gaps = np.maximum(np.asarray(result["gaps"][name]), 1e-16)
        ax.loglog(k, np.median(gaps, 0), color=color, label=label)
        ax.fill_between(k, gaps.min(0), gaps.max(0), color=color, alpha=0.2)
        if name != "fista_backtracking":
            bound = np.median(np.asarray(result["bounds"][name]), 0)
            ax.loglog(k, bound, color=color, linestyle="--", label=f"{label} bound")
    ax.set(
        xlabel="iteration k",
        ylabel=r"$F(x_k) - F^\star$",
        title="Lasso: ISTA O(1/k) vs FISTA O(1/k$^2$)",
    )
    ax.set_ylim(bottom=max(1e-14, ax.get_ylim()[0]))  # below 1e-14 is rounding noise
    ax.legend()
    return fig


@dataclass(frozen=True)
class PhaseConfig:
    n: int = 100  # ambient dimension
    deltas: tuple[float, ...] = (0.2, 0.35, 0.5, 0.65, 0.8)  # m / n (columns of the grid)
    rhos: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20))  # k / m (rows)
    trials: int = 8  # basis pursuit problems per grid point
    signs: str = "rademacher"  # nonzeros of x0: 'rademacher' (±1) | 'gaussian'
    tol: float = 1e-5  # success: ||x - x0|| / ||x0|| below this
    workers: int = 2  # threads solving LPs (HiGHS releases the GIL)

    @classmethod
    def quick(cls) -> PhaseConfig:
        return cls()

    @classmethod
    def full(cls) -> PhaseConfig:
        return cls(
            n=400,
            deltas=tuple(round(0.05 * i, 2) for i in range(1, 20)),
            rhos=tuple(round(0.025 * i, 3) for i in range(1, 40)),
            trials=20,
            workers=16,
        )


def run_phase_transition(
    config: PhaseConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """The empirical recovery probability of basis pursuit on the (delta, rho) grid, its 50%
    contour per delta, and the weak threshold. CPU only (linear programs); no checkpoints."""
    probability = l1_phase_transition(
        config.n,
        config.deltas,
        config.rhos,
        config.trials,
        seed=seed,
        signs=config.signs,
        tol=config.tol,
        workers=config.workers,
        progress=bool(progress),
    )
    empirical = fifty_percent_rho(probability, config.rhos)
    theory = weak_threshold(np.asarray(config.deltas))
    curve_delta = np.linspace(0.02, 0.98, 49)
    return {
        "n": config.n,
        "deltas": config.deltas,
        "rhos": config.rhos,
        "probability": probability,
        "empirical_rho50": empirical,
        "theory_rho": theory,
        "max_abs_difference": float(np.max(np.abs(empirical - theory))),
        "curve": {"delta": curve_delta, "rho": weak_threshold(curve_delta)},
    }


def plot_phase_transition(result: dict):
    """Heat map of the recovery probability, with the weak threshold and the empirical 50%."""
    deltas, rhos = np.asarray(result["deltas"]), np.asarray(result["rhos"])
    fig, ax = plots.subplots(width=6.0, height=4.6)

    def edges(v):  # cell edges around the (possibly irregular) grid centres
        return np.concatenate(
            [[1.5 * v[0] - 0.5 * v[1]], (v[1:] + v[:-1]) / 2, [1.5 * v[-1] - 0.5 * v[-2]]]
        )

    mesh = ax.pcolormesh(
        edges(deltas), edges(rhos), np.asarray(result["probability"]), cmap="gray", vmin=0, vmax=1
    )
    fig.colorbar(mesh, ax=ax, label="probability of exact recovery")
    curve = result["curve"]
    ax.plot(curve["delta"], curve["rho"], color=plots.OKABE_ITO[1], label="weak threshold (theory)")
    ax.plot(
        deltas,
        result["empirical_rho50"],
        "o",
        color=plots.OKABE_ITO[5],
        markeredgecolor="k",
        label="empirical 50%",
    )
    ax.set(
        xlabel=r"$\delta = m/n$ (undersampling)",
        ylabel=r"$\rho = k/m$ (sparsity)",
        title=f"Basis pursuit phase transition, n = {result['n']}",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="upper left")
    ax.grid(False)
    return fig


@dataclass(frozen=True)
class CompletionConfig:
    n: int = 100  # the matrix is n x n
    rank: int = 5
    rates: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)  # fractions of entries observed
    trials: int = 2  # matrices per rate
    check_rate: float = 0.5  # the rate whose error curves are kept (and the lecture asserts)
    admm_iters: int = 300  # nuclear norm (ADMM) iterations at most
    bm_iters: int = 1000  # Burer-Monteiro gradient steps
    bm_lr: float = 0.5  # step, in units of 1 / sigma_1
    threads: int = 1  # torch CPU threads during the run (0: unchanged), see torch_threads

    @classmethod
    def quick(cls) -> CompletionConfig:
        return cls()

    @classmethod
    def full(cls) -> CompletionConfig:
        return cls(
            n=300,
            rank=10,
            rates=tuple(round(0.05 * i, 2) for i in range(1, 13)),
            trials=10,
            check_rate=0.3,
            admm_iters=500,
            bm_iters=3000,
            threads=0,
        )


@config_threads
def run_completion(
    config: CompletionConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Relative error ||X - M||_F / ||M||_F of nuclear-norm completion and Burer-Monteiro
    against the sampling rate, and both methods' error per iteration at `check_rate`."""
    if not any(math.isclose(r, config.check_rate) for r in config.rates):
        raise ValueError(f"check_rate {config.check_rate} must be one of rates {config.rates}")
    g = torch.Generator().manual_seed(seed)
    nuclear, factored, curves = [], [], {}
    for rate in config.rates:
        errors_n, errors_f = [], []
        for trial in range(config.trials):
            M, mask = completion_problem(config.n, config.n, config.rank, rate, g, device)
            X, hist_n = svt_complete(M * mask, mask, config.admm_iters, reference=M)
            Xf, hist_f = burer_monteiro_complete(
                M * mask, mask, config.rank, config.bm_iters, config.bm_lr, generator=g, reference=M
            )
            errors_n.append(_relative_error(X, M))
            errors_f.append(_relative_error(Xf, M))
            if math.isclose(rate, config.check_rate) and trial == 0:
                curves = {"nuclear": hist_n["error"], "burer_monteiro": hist_f["error"]}
        nuclear.append(errors_n)
        factored.append(errors_f)
    i = [math.isclose(r, config.check_rate) for r in config.rates].index(True)
    dof = config.rank * (2 * config.n - config.rank)  # dimension of the rank-r matrices
    return {
        "n": config.n,
        "rank": config.rank,
        "rates": config.rates,
        "samples_over_dof": [r * config.n**2 / dof for r in config.rates],
        "nuclear_error": nuclear,  # (rates, trials)
        "burer_monteiro_error": factored,
        "curves": curves,
        "check": {
            "rate": config.check_rate,
            "nuclear_error": max(nuclear[i]),
            "burer_monteiro_error": max(factored[i]),
        },
    }


def plot_completion(result: dict):
    """Error against the sampling rate (left) and against iterations at the check rate (right)."""
    fig, (ax_rate, ax_iter) = plots.subplots(1, 2, width=5.0, height=4.0)
    rates = np.asarray(result["rates"])
    for color, key, label in [
        (plots.OKABE_ITO[0], "nuclear_error", "nuclear norm (convex)"),
        (plots.OKABE_ITO[1], "burer_monteiro_error", "Burer-Monteiro (rank r)"),
    ]:
        err = np.maximum(np.asarray(result[key]), 1e-16)  # (rates, trials)
        ax_rate.semilogy(rates, np.median(err, 1), "o-", color=color, label=label)
        ax_rate.fill_between(rates, err.min(1), err.max(1), color=color, alpha=0.2)
    ax_rate.set(
        xlabel="fraction of entries observed",
        ylabel=r"$\|X - M\|_F / \|M\|_F$",
        title=f"Completing a rank-{result['rank']} {result['n']}x{result['n']} matrix",
    )
    ax_rate.legend()
    curves = result["curves"]
    ax_iter.semilogy(curves["nuclear"], label="nuclear norm (ADMM)")
    ax_iter.semilogy(curves["burer_monteiro"], label="Burer-Monteiro (GD)")
    ax_iter.set(
        xlabel="iteration",
        ylabel=r"$\|X_k - M\|_F / \|M\|_F$",
        title=f"Convergence at {result['check']['rate']:.0%} observed",
    )
    ax_iter.legend()
    return fig


@dataclass(frozen=True)
class DictionaryConfig:
    n: int = 8  # dimension (A_o is n x n orthogonal)
    p: int = 3000  # samples
    theta: float = 0.2  # probability that a code entry is nonzero
    mu: float = 0.05  # smoothing of |z| in h_mu
    starts: int = 96  # random initialisations, run as one batch
    iters: int = 300  # Riemannian gradient steps
    step: float = 0.3  # step size
    landscape_p: int = 1500  # samples of the n = 3 problem whose landscape is drawn
    landscape_starts: int = 24  # trajectories drawn on it
    landscape_iters: int = 60  # steps of each drawn trajectory
    resolution: int = 60  # latitude points of the landscape grid
    threads: int = 1  # torch CPU threads during the run (0: unchanged), see torch_threads

    @classmethod
    def quick(cls) -> DictionaryConfig:
        return cls()

    @classmethod
    def full(cls) -> DictionaryConfig:
        return cls(n=50, p=50000, theta=0.1, starts=1000, iters=1000, resolution=180, threads=0)


@config_threads
def run_dictionary(
    config: DictionaryConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Riemannian gradient descent from `starts` random points: which columns of A_o are found
    (up to sign) and how closely, and the landscape of the n = 3 problem with trajectories."""
    g = torch.Generator().manual_seed(seed)
    A, _, Y = orthogonal_dictionary_problem(config.n, config.p, config.theta, g, device)
    Q = riemannian_gradient_descent(Y, config.starts, config.mu, config.iters, config.step, g)
    matched = match_columns(Q, A)

    # The picture: n = 3, where the sphere can be drawn, with a few trajectories.
    A3, _, Y3 = orthogonal_dictionary_problem(3, config.landscape_p, config.theta, g, device)
    landscape = sphere_landscape(Y3, config.mu, config.resolution)
    _, paths = riemannian_gradient_descent(
        Y3, config.landscape_starts, config.mu, config.landscape_iters, config.step, g, True
    )
    paths = paths.transpose(0, 1).cpu()  # (starts, steps + 1, 3)
    return {
        "n": config.n,
        "starts": config.starts,
        "best_overlap": matched["best_overlap"],  # per start: max_j |<q, a_j>|
        "column": matched["column"],
        "n_found": matched["n_found"],
        "column_overlap": matched["column_overlap"],  # per column: best start
        "min_column_overlap": matched["column_overlap"].min().item(),
        "fraction_starts_converged": (matched["best_overlap"] > 0.99).double().mean().item(),
        "landscape": {
            **landscape,
            "columns": to_azimuth_elevation(torch.cat([A3.T, -A3.T]).cpu()),  # ±a_j
            "paths": to_azimuth_elevation(paths),
            "final_overlap": (paths[:, -1] @ A3.cpu()).abs().max(1).values,
        },
    }


def plot_dictionary(result: dict):
    """Per start, the overlap max_j |<q, a_j>| it reached, and how many starts found each column."""
    fig, (ax_start, ax_col) = plots.subplots(1, 2, width=4.8, height=3.8)
    best = np.asarray(result["best_overlap"])
    ax_start.plot(np.sort(1 - best), "o", markersize=3)
    ax_start.set_yscale("log")
    ax_start.set(
        xlabel="start (sorted)",
        ylabel=r"$1 - \max_j |\langle q, a_j\rangle|$",
        title=f"{result['starts']} random starts, n = {result['n']}",
    )
    counts = np.bincount(np.asarray(result["column"]), minlength=result["n"])
    ax_col.bar(np.arange(result["n"]), counts, color=plots.OKABE_ITO[2])
    ax_col.set(
        xlabel="column j of $A_o$",
        ylabel="starts converging to $\\pm a_j$",
        title=f"Columns found: {result['n_found']} of {result['n']}",
    )
    return fig


def plot_dictionary_landscape(result: dict):
    """The objective on S^2 (longitude-latitude map) with ±a_j and gradient-descent paths."""
    land = result["landscape"]
    deg = 180 / math.pi
    fig, ax = plots.subplots(width=7.0, height=3.9)
    mesh = ax.pcolormesh(
        np.asarray(land["azimuth"]) * deg,
        np.asarray(land["elevation"]) * deg,
        np.asarray(land["values"]),
        cmap="viridis",
        shading="auto",
    )
    fig.colorbar(mesh, ax=ax, label=r"$f(q) = \frac{1}{p}\sum_i h_\mu(q^\top y_i)$")
    for path in np.asarray(land["paths"]) * deg:  # (steps, 2); skip the jumps across +-180
        jumps = np.flatnonzero(np.abs(np.diff(path[:, 0])) > 180) + 1
        for piece in np.split(path, jumps):
            ax.plot(piece[:, 0], piece[:, 1], color="w", linewidth=0.8, alpha=0.8)
        ax.plot(*path[0], "o", color="w", markersize=2.5)
    cols = np.asarray(land["columns"]) * deg
    ax.plot(cols[:, 0], cols[:, 1], "*", color=plots.OKABE_ITO[1], markersize=13,
            markeredgecolor="k", label=r"$\pm a_j$")  # fmt: skip
    ax.set(
        xlabel="azimuth (degrees)",
        ylabel="elevation (degrees)",
        title="Dictionary learning landscape on the sphere, n = 3",
    )
    ax.legend(loc="lower left")
    ax.grid(False)
    return fig


@dataclass(frozen=True)
class UnrolledConfig:
    m: int = 32  # measurements
    n: int = 64  # code dimension
    theta: float = 0.1  # probability that a code entry is nonzero
    noise: float = 0.01  # measurement noise standard deviation
    lam: float = 0.04  # lasso weight; the targets are the lasso solutions x*
    layers: tuple[int, ...] = (8,)  # K of each trained LISTA network
    tied: bool = False  # share weights across layers
    train_size: int = 4000  # (y, x*) training pairs (fewer overfit: 8 layers hold 50k weights)
    test_size: int = 500
    steps: int = 1000  # Adam steps
    batch_size: int = 128
    lr: float = 3e-3
    target_iters: int = 500  # FISTA iterations computing x*
    ista_iters: int = 300  # ISTA / FISTA iterations on the error curves
    threads: int = 1  # torch CPU threads during the run (0: unchanged), see torch_threads

    @classmethod
    def quick(cls) -> UnrolledConfig:
        return cls()

    @classmethod
    def full(cls) -> UnrolledConfig:
        return cls(
            m=128,
            n=256,
            layers=(2, 4, 8, 16),
            train_size=50000,
            test_size=5000,
            steps=20000,
            batch_size=512,
            target_iters=3000,
            ista_iters=1000,
            threads=0,
        )


@config_threads
def run_unrolled(
    config: UnrolledConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Error ||x - x*||^2 / ||x*||^2 on test problems for ISTA and FISTA per iteration and for
    trained LISTA per depth; also the check that untrained unrolled ISTA equals ISTA."""
    g = torch.Generator().manual_seed(seed)
    A = _gaussian_matrix(config.m, config.n, g, device)

    def measurements(N):
        x = sparse_codes(N, config.n, config.theta, g).to(device)
        return x @ A.T + config.noise * torch.randn(N, config.m, generator=g, dtype=DTYPE).to(
            device
        )

    y_train, y_test = measurements(config.train_size), measurements(config.test_size)
    x_train = fista(A, y_train, config.lam, config.target_iters)[0]
    x_test = fista(A, y_test, config.lam, config.target_iters)[0]

    # Error per iteration of ISTA and FISTA, and the check that unrolled ISTA is ISTA.
    ista_error, fista_error = [], []
    ista(
        A,
        y_test,
        config.lam,
        config.ista_iters,
        callback=lambda x: ista_error.append(nmse(x, x_test)),
    )
    fista(
        A,
        y_test,
        config.lam,
        config.ista_iters,
        callback=lambda x: fista_error.append(nmse(x, x_test)),
    )
    K = max(config.layers)
    with torch.no_grad():
        unrolled = UnrolledISTA(A, config.lam, K)(y_test)
    equal_to_ista = (unrolled - ista(A, y_test, config.lam, K)[0]).abs().max().item()

    lista = {}
    for K in config.layers:
        net = UnrolledISTA(A, config.lam, K, tied=config.tied).float()
        losses = train_unrolled(
            net, y_train.float(), x_train.float(), config.steps, config.batch_size, config.lr, g
        )
        with torch.no_grad():
            err = nmse(net.double()(y_test), x_test)
        matched = next((i + 1 for i, e in enumerate(ista_error) if e <= err), None)
        matched_f = next((i + 1 for i, e in enumerate(fista_error) if e <= err), None)
        lista[str(K)] = {
            "error": err,
            "ista_error_same_depth": ista_error[K - 1],
            "fista_error_same_depth": fista_error[K - 1],
            "ista_iterations_to_match": matched,  # None: more than ista_iters
            "fista_iterations_to_match": matched_f,
            "final_train_loss": losses[-1],
        }
    return {
        "layers": config.layers,
        "ista_error": ista_error,
        "fista_error": fista_error,
        "lista": lista,
        "unrolled_equals_ista_max_abs_diff": equal_to_ista,
    }


def plot_unrolled(result: dict):
    """Error against iterations (ISTA, FISTA) and layers (trained LISTA)."""
    fig, ax = plots.subplots(width=6.4, height=4.2)
    k = np.arange(1, len(result["ista_error"]) + 1)
    ax.loglog(k, result["ista_error"], label="ISTA")
    ax.loglog(k, result["fista_error"], label="FISTA")
    layers = [int(K) for K in result["lista"]]
    errors = [result["lista"][str(K)]["error"] for K in layers]
    ax.loglog(layers, errors, "s", color=plots.OKABE_ITO[3], markersize=9, label="LISTA (trained)")
    for K, e in zip(layers, errors):
        ax.axhline(e, color=plots.OKABE_ITO[3], linestyle=":", linewidth=1)
        match = result["lista"][str(K)]["ista_iterations_to_match"]
        if match:
            ax.annotate(
                f"ISTA needs {match} iterations",
                (match, e),
                xytext=(-6, -14),
                textcoords="offset points",
                ha="right",
                fontsize=9,
            )
    ax.set(
        xlabel="iterations (ISTA, FISTA) or layers (LISTA)",
        ylabel=r"$\|x - x^\star\|^2 / \|x^\star\|^2$",
        title="Unrolled ISTA: learned layers vs iterations",
    )
    ax.legend()
    return fig


RATES_FIGURES = {"rates": plot_rates}
PHASE_FIGURES = {"phase_transition": plot_phase_transition}
COMPLETION_FIGURES = {"matrix_completion": plot_completion}
DICTIONARY_FIGURES = {
    "dictionary_recovery": plot_dictionary,
    "dictionary_landscape": plot_dictionary_landscape,
}
UNROLLED_FIGURES = {"unrolled": plot_unrolled}

# name -> (run, config class, figures, one-line summary), for experiments.py to register.
EXPERIMENTS = {
    "sparse_rates": (
        run_rates,
        RatesConfig,
        RATES_FIGURES,
        "ISTA vs FISTA on the lasso: gaps F(x_k) - F* under the Beck-Teboulle bounds",
    ),
    "sparse_phase_transition": (
        run_phase_transition,
        PhaseConfig,
        PHASE_FIGURES,
        "basis pursuit recovery probability over (m/n, k/m) against the l1 weak threshold",
    ),
    "sparse_matrix_completion": (
        run_completion,
        CompletionConfig,
        COMPLETION_FIGURES,
        "low-rank completion by nuclear norm (ADMM) and Burer-Monteiro vs sampling rate",
    ),
    "sparse_dictionary_learning": (
        run_dictionary,
        DictionaryConfig,
        DICTIONARY_FIGURES,
        "orthogonal dictionary learning by Riemannian gradient descent on the sphere",
    ),
    "sparse_unrolled": (
        run_unrolled,
        UnrolledConfig,
        UNROLLED_FIGURES,
        "soft thresholding -> ReLU: ISTA unrolled, and trained LISTA vs ISTA/FISTA",
    ),
}
