"""Basis pursuit and its phase transition: min ||x||_1 s.t. Ax = y as a linear program, one
recovery trial on a random Gaussian problem, the empirical success probability on a grid of
(delta = m/n, rho = k/m), and the theory it is compared with: the statistical dimension of the
l1 descent cone (Amelunxen, Lotz, McCoy & Tropp 2014) and the weak threshold it predicts.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import optimize, stats

SIGNS = ("rademacher", "gaussian")  # the distributions of x0's nonzero entries


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


def basis_pursuit_trial(n, m, k, rng, *, signs="rademacher", tol=1e-5) -> dict:
    """One recovery attempt: A (m, n) with N(0, 1/m) entries, x0 with k nonzeros on a uniform
    random support, ±1 (`signs='rademacher'`) or N(0, 1) ('gaussian'), x = basis_pursuit(A, Ax0).

    Draws A, the support and the values from `rng` (a numpy Generator), in that order. Returns
    a dict: A, x0, x, relative_error ||x - x0|| / ||x0||, and recovered (relative_error < tol).
    """
    if signs not in SIGNS:
        raise ValueError(f"signs must be one of {SIGNS}, got {signs!r}")
    A = rng.standard_normal((m, n)) / math.sqrt(m)  # N(0, 1/m) entries
    x0 = np.zeros(n)
    support = rng.choice(n, size=k, replace=False)
    x0[support] = rng.choice([-1.0, 1.0], k) if signs == "rademacher" else rng.standard_normal(k)
    x = basis_pursuit(A, A @ x0)
    error = float(np.linalg.norm(x - x0) / np.linalg.norm(x0))
    return {"A": A, "x0": x0, "x": x, "relative_error": error, "recovered": error < tol}


def l1_phase_transition(
    n, deltas, rhos, trials, *, seed=0, signs="rademacher", tol=1e-5, workers=1, progress=False
) -> np.ndarray:
    """Empirical probability that basis pursuit recovers x0 exactly (relative error < tol).

    For each delta = m/n and rho = k/m, `trials` runs of `basis_pursuit_trial` with m = delta n
    measurements and k = rho m nonzeros. Returns (len(rhos), len(deltas)): rows are rho,
    columns delta. Each cell has its own random stream (seed, i, j), so the grid does
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
        successes = sum(
            basis_pursuit_trial(n, m, k, rng, signs=signs, tol=tol)["recovered"]
            for _ in range(trials)
        )
        return successes / trials

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
