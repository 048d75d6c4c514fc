"""The lecture's claims as code: one `check_*(result, profile)` per experiment, reading only the
result dict that its `run_*` returns (or its JSON form from results.json) and returning the lines
of the claims that held; the first claim that fails raises `claims.ClaimFailed`. `CHECKS` maps
each experiment's name to its check, for the registry.
"""

from __future__ import annotations

import numpy as np

from ..claims import by_profile, claim

BOUNDED = {"ista": "ISTA", "fista": "FISTA"}  # the methods whose bounds the lecture asserts


def check_rates(result: dict, profile: str) -> list[str]:
    """ISTA and FISTA stay below their Beck-Teboulle bounds at every iteration of every lasso:
    the run's largest gap / bound over every iteration, and the recorded curves themselves."""
    lines = []
    for name, label in BOUNDED.items():
        gaps = np.asarray(result["gaps"][name], dtype=float)  # (problems, recorded iterations)
        bounds = np.asarray(result["bounds"][name], dtype=float)
        worst = max(float(result["max_gap_over_bound"][name]), float(np.max(gaps / bounds)))
        lines.append(
            claim(
                worst <= 1.0,
                f"the {label} gap F(x_k) - F* stays below its Beck-Teboulle bound at every "
                "iteration of every lasso",
                f"largest gap / bound {worst:.3g} over {gaps.shape[0]} lassos x "
                f"{int(result['iterations'][-1])} iterations, final gap "
                f"{float(result['final_gap'][name]):.1e}",
            )
        )
    return lines


def check_phase_transition(result: dict, profile: str) -> list[str]:
    """The empirical 50% contour of basis pursuit lies within 0.08 of the weak threshold."""
    tolerance = by_profile(profile, 0.08, 0.08)
    deltas = np.asarray(result["deltas"], dtype=float)
    empirical = np.asarray(result["empirical_rho50"], dtype=float)
    theory = np.asarray(result["theory_rho"], dtype=float)
    distance = np.abs(empirical - theory)
    worst = int(np.argmax(distance))
    gap = float(distance[worst])
    return [
        claim(
            gap < tolerance,
            f"the empirical 50% recovery contour lies within {tolerance} of the weak threshold "
            "rho*(delta) at every delta",
            f"largest distance {gap:.3f} at delta = {deltas[worst]:.2f}: empirical "
            f"{empirical[worst]:.3f}, theory {theory[worst]:.3f}, n = {int(result['n'])}",
        )
    ]


def check_completion(result: dict, profile: str) -> list[str]:
    """Nuclear-norm completion recovers every matrix at the checked sampling rate: about five
    samples per degree of freedom in both profiles (50% of a rank-5 100 x 100 matrix, quick;
    30% of a rank-10 300 x 300 one, full)."""
    tolerance = by_profile(profile, 1e-3, 1e-3)
    check = result["check"]
    rate, error = float(check["rate"]), float(check["nuclear_error"])
    n, rank = int(result["n"]), int(result["rank"])
    oversampling = rate * n**2 / (rank * (2 * n - rank))  # samples per degree of freedom
    return [
        claim(
            error < tolerance,
            f"nuclear-norm completion of rank-{rank} {n}x{n} matrices with {rate:.0%} of the "
            f"entries observed ({oversampling:.1f} times their r(2n - r) degrees of freedom) "
            f"has relative error below {tolerance:.0e} in every trial",
            f"largest relative error {error:.1e} with the nuclear norm, "
            f"{float(check['burer_monteiro_error']):.1e} with Burer-Monteiro",
        )
    ]


def check_dictionary(result: dict, profile: str) -> list[str]:
    """Random starts of Riemannian gradient descent find every column, each closely."""
    threshold = by_profile(profile, 0.99, 0.99)
    n, found = int(result["n"]), int(result["n_found"])
    worst = float(np.min(np.asarray(result["column_overlap"], dtype=float)))
    return [
        claim(
            found == n,
            f"the {int(result['starts'])} random starts find all {n} columns of A_o (up to sign)",
            f"{found} of {n} columns found",
        ),
        claim(
            worst > threshold,
            f"every column is found with |<q, a_j>| > {threshold}",
            f"worst column's best overlap {worst:.6f}",
        ),
    ]


def check_unrolled(result: dict, profile: str) -> list[str]:
    """Unrolled ISTA is ISTA; a trained LISTA of K layers is worth at least 4K ISTA iterations."""
    tolerance = by_profile(profile, 1e-6, 1e-6)
    factor = by_profile(profile, 4, 4)
    diff = float(result["unrolled_equals_ista_max_abs_diff"])
    lines = [
        claim(
            diff < tolerance,
            "unrolled ISTA with ISTA's own weights equals ISTA "
            f"(max |difference| < {tolerance:.0e})",
            f"max |difference| {diff:.1e}",
        )
    ]
    computed = len(result["ista_error"])
    for K, trained in result["lista"].items():
        match = trained["ista_iterations_to_match"]
        needs = f"more than {computed}" if match is None else f"{int(match)}"
        lines.append(
            claim(
                match is None or int(match) >= factor * int(K),
                f"trained LISTA with {K} layers reaches an error that ISTA needs at least "
                f"{factor * int(K)} iterations for",
                f"LISTA error {float(trained['error']):.2e}, ISTA after {K} iterations "
                f"{float(trained['ista_error_same_depth']):.2e}; ISTA needs {needs} iterations",
            )
        )
    return lines


CHECKS = {
    "sparse_rates": check_rates,
    "sparse_phase_transition": check_phase_transition,
    "sparse_matrix_completion": check_completion,
    "sparse_dictionary_learning": check_dictionary,
    "sparse_unrolled": check_unrolled,
}
