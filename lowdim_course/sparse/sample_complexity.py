"""The sample-complexity law m >~ 2k log(n/k) of basis pursuit, read off the statistical
dimension of the l1 descent cone: psi(s) = 2 s log(1/s) (1 + o(1)) as s = k/n -> 0, the
second-order expansion that says how slowly the o(1) vanishes, and the law's curve in the
(delta = m/n, rho = k/m) plane of the phase-transition figure.

Derivation (the lecture gives it in words). psi(s) = inf_tau J(tau) with J(tau) = s(1 + tau^2)
+ (1 - s) E[(|g| - tau)_+^2] (see phase_transition.l1_statistical_dimension). For large tau,
Q(tau) = phi(tau)(1/tau - 1/tau^3 + 3/tau^5 - ...) gives E[(|g| - tau)_+^2] = 4 phi(tau) / tau^3
(1 + O(1/tau^2)). The choice tau^2 = 2 log(1/s) makes phi(tau) = s / sqrt(2 pi), the tail term
O(s / log(1/s)^{3/2}), so psi(s) <= s(2 log(1/s) + 1) + o(s). The optimal tau solves
s tau = 2 phi(tau) / tau^2 (to leading order), i.e. tau^2 = 2 log(1/s) - 3 log(tau^2) - log(pi/2),
where the tail term equals 2s, so psi(s) = s(tau^2 + 3):

    psi(s) ~ s [2 log(1/s) - 3 log(2 log(1/s)) + 3 - log(pi / 2)],

whose relative correction, 3 log(2 log(1/s)) / (2 log(1/s)), vanishes only like
log log(1/s) / log(1/s).
"""

from __future__ import annotations

import math

import numpy as np

from ..claims import by_profile, claim
from .phase_transition import l1_statistical_dimension

CRPW_CONSTANT = 1.25  # Chandrasekaran et al. 2012: 2k log(n/k) + 5k/4 Gaussian measurements suffice
LAW_SPARSITIES = tuple(10.0**e for e in range(-30, 0)) + (0.2, 0.3)  # s = k/n of the table


def klogn_law(s):
    """2 s log(1/s): the law m = 2k log(n/k) per coordinate (m/n as a function of s = k/n)."""
    s = np.asarray(s, dtype=float)
    return 2 * s * np.log(1 / s)


def statdim_expansion(s):
    """psi(s) to second order, s [2 log(1/s) - 3 log(2 log(1/s)) + 3 - log(pi/2)] (small s)."""
    s = np.asarray(s, dtype=float)
    two_log = 2 * np.log(1 / s)
    return s * (two_log - 3 * np.log(two_log) + 3 - math.log(math.pi / 2))


def law_curve(points: int = 200) -> dict:
    """The law m = 2k log(n/k) in the phase-transition plane, parametrised by s = k/n:
    delta = 2 s log(1/s), rho = s / delta = 1 / (2 log(1/s)). It reaches its largest delta,
    2/e, at s = 1/e; beyond, 2k log(n/k) falls below k and the law says nothing."""
    s = np.logspace(-8, math.log10(1 / math.e), points)
    return {"delta": klogn_law(s), "rho": 1 / (2 * np.log(1 / s))}


def sample_complexity_law(sparsities=LAW_SPARSITIES) -> dict:
    """psi(s), the law 2 s log(1/s), its second-order expansion and the sufficient bound
    2 s log(1/s) + 5/4 s, at each s = k/n. No randomness: everything is a 1-d integral."""
    s = np.asarray(sparsities, dtype=float)
    psi = np.array([l1_statistical_dimension(v) for v in s])
    law = klogn_law(s)
    return {
        "s": s,
        "psi": psi,
        "law": law,
        "expansion": statdim_expansion(s),
        "bound": law + CRPW_CONSTANT * s,
        "ratio": psi / law,
    }


def check_sample_complexity_law(result: dict, profile: str) -> list[str]:
    """The law's three properties the lecture states: 2k log(n/k), and 2k log(n/k) + 5k/4 more
    so, exceed n psi(k/n) at every sparsity of the table (s <= 0.3); psi(s) / (2 s log(1/s))
    tends to 1, slowly (still below 0.75 at s = 1e-3 and below 0.95 at s = 1e-30); the
    second-order expansion is within 4% of psi from s = 1e-6 down."""
    s, psi, ratio = (np.asarray(result[key], dtype=float) for key in ("s", "psi", "ratio"))
    bound, expansion = np.asarray(result["bound"]), np.asarray(result["expansion"])
    small = s <= 1e-2
    near = int(np.argmin(np.abs(np.log(s / 1e-3))))
    tol = by_profile(profile, 0.04, 0.04)  # analytic: the same in both profiles
    tiny = s <= 1e-6
    expansion_error = float(np.max(np.abs(expansion[tiny] / psi[tiny] - 1)))
    increasing = bool(np.all(np.diff(ratio[small]) < 0))  # s ascends, so the ratio falls with s
    return [
        claim(
            bool(np.all(ratio < 1) and np.all(psi < bound)),
            "n psi(k/n) < 2k log(n/k) < 2k log(n/k) + 5k/4 at every sparsity of the table: the "
            "law asks for more measurements than needed, and the sufficient bound more still",
            f"largest psi / law {np.max(ratio):.3f}, largest psi / bound {np.max(psi / bound):.3f}",
        ),
        claim(
            increasing and ratio[near] < 0.75 and ratio[0] < 0.95 and ratio[0] > 0.9,
            "psi(s) / (2 s log(1/s)) rises towards 1 as s falls from 1e-2, but slowly: below 0.75 "
            "at s = 1e-3, still between 0.9 and 0.95 at s = 1e-30",
            f"ratio {ratio[near]:.3f} at s = {s[near]:.0e}, {ratio[0]:.3f} at s = {s[0]:.0e}",
        ),
        claim(
            expansion_error < tol,
            f"the second-order expansion is within {tol:.1%} of psi for every s <= 1e-6",
            f"largest relative error {expansion_error:.2%}",
        ),
    ]
