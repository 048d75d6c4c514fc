"""The lecture's claims as code: one `check_*(result, profile)` per experiment, reading only the
result dict that its `run_*` returns (or its JSON form from results.json) and returning the lines
of the claims that held; the first claim that fails raises `claims.ClaimFailed`. `CHECKS` maps
each experiment's name to its check, for the registry.
"""

from __future__ import annotations

import numpy as np

from ..claims import by_profile, claim
from .experiments import GAP_FLOOR

BOUNDED = {"ista": "ISTA", "fista": "FISTA"}  # the methods whose bounds the lecture asserts


def check_rates(result: dict, profile: str) -> list[str]:
    """ISTA and FISTA stay below their Beck-Teboulle bounds at every iteration of every lasso
    (the run's largest gap / bound over every iteration, and the recorded curves themselves);
    ISTA is not O(1/k^2) with FISTA's constant and FISTA is faster than ISTA; and ISTA's final
    linear rate is the one its step 1/L predicts (a step off by a factor 2 fails here: the
    bounds alone would not catch it, since the gaps stay well below them)."""
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
    k = np.asarray(result["iterations"], dtype=float)
    ista = np.asarray(result["gaps"]["ista"], dtype=float)
    fista = np.asarray(result["gaps"]["fista"], dtype=float)
    over = np.max(ista / np.asarray(result["bounds"]["fista"], dtype=float), axis=1)  # per lasso
    lines.append(
        claim(
            bool(np.all(over > 1)),
            "ISTA is not accelerated: on every lasso its gap rises above FISTA's bound "
            "2L||x0 - x*||^2 / (k + 1)^2 at some iteration",
            f"max_k ISTA gap / FISTA bound between {over.min():.3g} and {over.max():.3g} "
            "over the lassos",
        )
    )
    floor = GAP_FLOOR * np.maximum(1.0, np.abs(np.asarray(result["F_star"], dtype=float)))
    later = (k >= ACCELERATION_FROM)[None, :] & (ista > floor[:, None])  # above rounding error
    at = int(np.argmin(np.abs(k - ACCELERATION_AT)))
    speedup = float(np.min(ista[:, at] / np.maximum(fista[:, at], 1e-300)))
    lines.append(
        claim(
            bool(np.all(fista[later] <= ista[later])) and speedup >= 10,
            f"FISTA accelerates: from k = {ACCELERATION_FROM} on its gap is below ISTA's at "
            "every recorded iteration of every lasso (until ISTA's reaches rounding error), and "
            f"at k = {int(k[at])} at least 10 times below",
            f"at k = {int(k[at])} ISTA's gap / FISTA's >= {speedup:.3g} on every lasso; "
            f"FISTA above ISTA at {int(np.sum(fista[later] > ista[later]))} of "
            f"{int(later.sum())} (lasso, k) pairs from k = {ACCELERATION_FROM} where ISTA's gap "
            "is above rounding error",
        )
    )
    tail = result["ista_tail_log_rate"]
    measured = np.asarray(tail["measured"], dtype=float)
    predicted = np.asarray(tail["predicted"], dtype=float)
    ratio = float(np.median(measured / predicted)) if np.all(np.isfinite(measured)) else np.nan
    low, high = by_profile(profile, TAIL_RATIO, TAIL_RATIO)
    lines.append(
        claim(
            low <= ratio <= high,
            "ISTA ends linear at the rate its step predicts: the median over the lassos of "
            "(measured d log gap / dk) / (2 log(1 - mu_S / L)), mu_S the smallest eigenvalue of "
            f"A_S^T A_S on the support S of x*, lies in [{low}, {high}] (a step 1/(2L) would give "
            "about 1/2)",
            f"median ratio {ratio:.3f}; per lasso {np.round(measured / predicted, 2).tolist()}; "
            f"mu_S / L from {np.min(np.asarray(result['restricted_curvature'])) / result['L']:.1e}",
        )
    )
    return lines


ACCELERATION_FROM = 10  # FISTA's gap below ISTA's from this iteration on
ACCELERATION_AT = 100  # ... and 10 times below at the recorded iteration nearest this one
TAIL_RATIO = (0.8, 1.5)  # measured / predicted final log-rate of ISTA (median over lassos)


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
    """Nuclear-norm completion recovers every matrix at the checked sampling rate (about five
    samples per degree of freedom in both profiles: 50% of a rank-5 100 x 100 matrix, quick;
    30% of a rank-10 300 x 300 one, full); recovery has a threshold (both methods fail on every
    matrix at the lowest rate and succeed on every one from the checked rate up); and
    Burer-Monteiro with the rank known has the lower threshold
    (it succeeds at least as often as the nuclear norm at every rate, and at some rate on every
    matrix where the nuclear norm succeeds on none)."""
    tolerance = by_profile(profile, 1e-3, 1e-3)
    failure = 0.1  # relative error of a failed completion
    check = result["check"]
    rate, error = float(check["rate"]), float(check["nuclear_error"])
    n, rank = int(result["n"]), int(result["rank"])
    oversampling = rate * n**2 / (rank * (2 * n - rank))  # samples per degree of freedom
    rates = np.asarray(result["rates"], dtype=float)
    per_dof = np.asarray(result["samples_over_dof"], dtype=float)
    errors = {
        "nuclear norm": np.asarray(result["nuclear_error"], dtype=float),  # (rates, trials)
        "Burer-Monteiro": np.asarray(result["burer_monteiro_error"], dtype=float),
    }
    lines = [
        claim(
            error < tolerance,
            f"nuclear-norm completion of rank-{rank} {n}x{n} matrices with {rate:.0%} of the "
            f"entries observed ({oversampling:.1f} times their r(2n - r) degrees of freedom) "
            f"has relative error below {tolerance:.0e} in every trial",
            f"largest relative error {error:.1e} with the nuclear norm, "
            f"{float(check['burer_monteiro_error']):.1e} with Burer-Monteiro",
        )
    ]
    success = {name: (e < tolerance).mean(1) for name, e in errors.items()}  # per rate
    upper = rates >= rate - 1e-9
    for name, e in errors.items():
        lowest = float(e[0].min())
        lines.append(
            claim(
                lowest > failure and bool(np.all(e[upper] < tolerance)),
                f"{name} completion has a threshold: relative error above {failure} in every "
                f"trial at {rates[0]:.0%} ({per_dof[0]:.2f} samples per degree of freedom), "
                f"below {tolerance:.0e} in every trial from {rate:.0%} up",
                f"smallest error at {rates[0]:.0%}: {lowest:.2g}; largest from {rate:.0%}: "
                f"{float(e[upper].max()):.1e}; success rate per sampling rate "
                f"{np.round(success[name], 2).tolist()}",
            )
        )
    bm, nuc = success["Burer-Monteiro"], success["nuclear norm"]
    gap = np.flatnonzero((bm == 1) & (errors["nuclear norm"].min(1) > failure / 10))
    lines.append(
        claim(
            bool(np.all(bm >= nuc)) and gap.size > 0,
            "Burer-Monteiro (rank known) needs fewer samples than the nuclear norm: it succeeds "
            "at least as often at every sampling rate, and at some rate it recovers every "
            f"matrix while the nuclear norm misses every one (relative error above {failure / 10})",
            "Burer-Monteiro recovers every matrix where the nuclear norm misses all at "
            + (", ".join(f"{rates[i]:.0%} ({per_dof[i]:.2f} per dof)" for i in gap) or "no rate")
            + f"; success rates {np.round(bm, 2).tolist()} against {np.round(nuc, 2).tolist()}",
        )
    )
    return lines


def check_dictionary(result: dict, profile: str) -> list[str]:
    """Random starts of Riemannian gradient descent find every column, each closely but not
    exactly: the smoothed objective's minimisers are off by about the predicted bias, and the
    LP rounding makes every column exact."""
    threshold = by_profile(profile, 0.99, 0.99)
    exact = by_profile(profile, 1e-9, 1e-9)
    n, found = int(result["n"]), int(result["n_found"])
    worst = float(np.min(np.asarray(result["column_overlap"], dtype=float)))
    bias = np.asarray(result["bias"], dtype=float)
    predicted = float(result["bias_predicted"])
    ratio = float(np.median(bias)) / predicted
    rounded = float(np.max(np.asarray(result["rounded_error"], dtype=float)))
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
        claim(
            0.5 <= ratio <= 2.0,
            "the minimisers of the smoothed objective are biased: the start nearest each column "
            "sits at a median distance ||q - a_j|| within a factor 2 of the predicted "
            "mu sqrt((n - 1)/p) / (1 - theta)",
            f"median distance {np.median(bias):.2e} (range {bias.min():.2e} to "
            f"{bias.max():.2e}), predicted {predicted:.2e}, ratio {ratio:.2f}",
        ),
        claim(
            rounded < exact,
            f"the LP rounding min ||Y^T q||_1 s.t. <r, q> = 1 from those starts recovers every "
            f"column to ||q - a_j|| < {exact:.0e}",
            f"largest distance after rounding {rounded:.1e}, before {bias.max():.1e}",
        ),
    ]


def check_unrolled(result: dict, profile: str) -> list[str]:
    """A trained LISTA of K layers is worth at least 4K ISTA iterations. The first line, that
    unrolled ISTA with ISTA's own weights equals ISTA, holds by construction: it is a sanity
    check of the implementation, not a phenomenon."""
    tolerance = by_profile(profile, 1e-6, 1e-6)
    factor = by_profile(profile, 4, 4)
    diff = float(result["unrolled_equals_ista_max_abs_diff"])
    lines = [
        claim(
            diff < tolerance,
            "sanity check, true by construction: unrolled ISTA with ISTA's own weights equals "
            f"ISTA (max |difference| < {tolerance:.0e})",
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
