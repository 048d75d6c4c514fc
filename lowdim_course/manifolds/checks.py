"""The lecture's claims, checked on an experiment's result: `check_*(result, profile)` for each
experiment of `EXPERIMENTS`, and the `CHECKS` the registry reads.

Each check accepts the live result dict of its `run_*` (tensors, arrays) and its JSON form as
results.json stores it (lists, floats); it returns one line per claim that held and raises
`claims.ClaimFailed` at the first one that does not (see `lowdim_course.claims`).
"""

from __future__ import annotations

import math

import numpy as np

from ..claims import by_profile, claim
from .experiments import required_depths, required_times


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in values) + "]"


def check_ntk(result: dict, profile: str) -> list[str]:
    """manifolds_ntk: the empirical NTK concentrates on the analytic one as the width grows, its
    relative L^2 error falling like width^{-1/2}.

    The shape error (sup over the angles of the normalised kernels' gap, averaged over the
    draws of a width) has a measured threshold. Quick profile (depth 2, 4 draws): over seeds
    0-9 its largest value at widths >= 1024 was 0.051 (seed 0, width 1024; 0.013-0.026 at
    width 4096), so the threshold 0.075 is 1.5 times it; at width 64 the same statistic was
    0.11-0.20. Full profile (depth 4, 8 draws, deeper networks fluctuate more): 0.056-0.058 at
    width 1024 over seeds 0-2 (measured with 33 angles instead of 65), so 0.09 is about 1.5
    times it. The other thresholds are the same in both profiles."""
    shape_threshold = by_profile(profile, 0.075, 0.09)  # refuses an unknown profile
    widths = [int(w) for w in result["widths"]]
    mean_error = [float(e) for e in np.asarray(result["mean_error"], dtype=float)]
    shape_error = {w: float(np.mean(np.asarray(result["shape_errors"][str(w)]))) for w in widths}
    slope = float(result["slope"])
    wide_shape = {w: e for w, e in shape_error.items() if w >= 1024}
    return [
        claim(
            all(a > b for a, b in zip(mean_error, mean_error[1:])),
            "the kernel's relative L2 error falls at every step up in width",
            f"widths {widths}: mean errors {_fmt(mean_error)}",
        ),
        claim(
            all(e <= shape_threshold for e in wide_shape.values()),
            f"at width >= 1024 the kernel's shape error is <= {shape_threshold:g}",
            f"shape errors {_fmt(wide_shape.values())} at widths {list(wide_shape)}",
        ),
        claim(
            mean_error[-1] <= 0.10,
            "the widest network's kernel error is <= 0.10",
            f"width {widths[-1]}: {mean_error[-1]:.3f}",
        ),
        claim(
            -0.85 <= slope <= -0.3,
            "the slope of log error against log width lies in [-0.85, -0.3] (theory -1/2)",
            f"slope {slope:.3f}",
        ),
    ]


def _u_shape(norms: list, depths: list, what: str, measured: str) -> list[str]:
    """The claims of a U over depth: the minimum lies strictly inside the grid, the norm falls
    at every step from depth 2 (the second grid point) down to it and rises at every step after
    it."""
    low = int(np.argmin(norms))
    down, up = norms[1 : low + 1], norms[low:]
    return [
        claim(
            0 < low < len(norms) - 1 and norms[low] < norms[0],
            f"{what}: the minimum lies strictly inside the depth grid, below the depth-1 norm",
            f"minimum {norms[low]:.3g} at depth {depths[low]}; {measured}",
        ),
        claim(
            all(b < a for a, b in zip(down, down[1:])) and all(b > a for a, b in zip(up, up[1:])),
            f"{what}: the norm falls at every step from depth {depths[1]} to the minimum and "
            "rises at every step after it",
            measured,
        ),
    ]


def check_depth(result: dict, profile: str) -> list[str]:
    """manifolds_depth: deeper kernels are sharper; the certificate of the labels is U-shaped in
    depth, with its minimum set by the geometry, and N samples follow the population
    certificate only while the kernel's aperture is wider than their spacing.

    Claims (both profiles; `tolerance` is the one profile-dependent threshold):
    - the half width falls at every step up in depth;
    - the population certificate (N -> infinity) and the certificate of every N are U-shaped:
      falling from depth 2 to a minimum strictly inside the grid, rising after it;
    - the minimum does not follow N: for every N whose sample spacing is below the half width
      at the population minimum, the minimum lies within a factor 2 in depth of the
      population one;
    - data against aperture: at every depth whose half width is at least the sample spacing of
      N, the certificate of N samples is within `tolerance` of the population one; at every
      depth whose half width is below half the spacing it is below 0.9 of it; and at the
      deepest depth its ratio to the population one rises at every step up in N (more data
      resolves a sharper kernel).
    """
    tolerance = by_profile(profile, 0.25, 0.2)
    depths = [int(d) for d in result["depths"]]
    samples = [int(n) for n in result["samples"]]
    half = [float(h) for h in np.asarray(result["half_width"], dtype=float)]
    population = [float(v) for v in np.asarray(result["population_norm"], dtype=float)]
    norms = {n: [float(v) for v in result["certificate_norm"][str(n)]] for n in samples}
    spacing = {n: float(result["spacing"][str(n)]) for n in samples}
    lines = [
        claim(
            all(a > b for a, b in zip(half, half[1:])),
            "the kernel's half width falls at every step up in depth",
            f"depths {depths}: half widths (degrees) {_fmt(math.degrees(h) for h in half)}",
        )
    ]
    lines += _u_shape(
        population, depths, "population certificate", f"depths {depths}: {_fmt(population)}"
    )
    for n in samples:
        lines += _u_shape(norms[n], depths, f"N = {n}", f"depths {depths}: {_fmt(norms[n])}")
    best = int(np.argmin(population))
    minima = {n: depths[int(np.argmin(norms[n]))] for n in samples}
    resolved = [n for n in samples if spacing[n] < half[best]]
    lines.append(
        claim(
            bool(resolved) and all(0.5 <= minima[n] / depths[best] <= 2 for n in resolved),
            "the minimum does not follow N: for every N whose sample spacing is below the half "
            "width at the population minimum, it lies within a factor 2 of the population "
            "minimum's depth",
            f"population minimum at depth {depths[best]} (half width "
            f"{math.degrees(half[best]):.2f} degrees); minima {minima}; N resolving it "
            f"{resolved}",
        )
    )
    ratio = {n: [a / b for a, b in zip(norms[n], population)] for n in samples}
    wide = {n: [r for r, h in zip(ratio[n], half) if h >= spacing[n]] for n in samples}
    narrow = {n: [r for r, h in zip(ratio[n], half) if h < spacing[n] / 2] for n in samples}
    shown = {n: _fmt(ratio[n]) for n in samples}
    lines.append(
        claim(
            all(abs(r - 1) <= tolerance for n in samples for r in wide[n]),
            f"wherever the half width is at least the sample spacing, the certificate of N "
            f"samples is within {tolerance:.0%} of the population one",
            f"ratios to the population norm over depths {depths}: {shown}",
        )
    )
    lines.append(
        claim(
            all(r < 0.9 for n in samples for r in narrow[n]),
            "wherever the half width is below half the sample spacing, the certificate of N "
            "samples is below 0.9 of the population one",
            f"ratios to the population norm over depths {depths}: {shown}",
        )
    )
    deepest = [ratio[n][-1] for n in samples]
    lines.append(
        claim(
            all(a < b for a, b in zip(deepest, deepest[1:])),
            f"at depth {depths[-1]} the certificate of N samples, relative to the population "
            "one, rises at every step up in N",
            f"N {samples}: ratios {_fmt(deepest)}",
        )
    )
    return lines


def check_training(result: dict, profile: str) -> list[str]:
    """manifolds_training: the wider the network, the closer gradient descent follows its kernel's
    prediction and the less its kernel moves (the NTK regime). Same thresholds in both
    profiles."""
    by_profile(profile, None, None)
    widths = [int(w) for w in result["widths"]]
    runs = [result["runs"][str(w)] for w in widths]
    deviation = [float(r["deviation"]) for r in runs]
    movement = [float(r["kernel_movement"]) for r in runs]
    wide_error = float(runs[-1]["test_error"])
    return [
        claim(
            deviation[-1] <= 0.06,
            "the widest network follows its kernel's prediction within 0.06 of the initial error",
            f"width {widths[-1]}: deviation {deviation[-1]:.3f}",
        ),
        claim(
            deviation[-1] < deviation[0],
            "the narrowest network deviates more from its kernel's prediction than the widest",
            f"width {widths[0]}: {deviation[0]:.3f}, width {widths[-1]}: {deviation[-1]:.3f}",
        ),
        claim(
            all(a > b for a, b in zip(movement, movement[1:])),
            "the kernel moves less at every step up in width",
            f"widths {widths}: kernel movement {_fmt(movement)}",
        ),
        claim(
            wide_error == 0,
            "the widest network classifies both curves without error",
            f"width {widths[-1]}: test error {wide_error:.3%}",
        ),
    ]


def check_resources(result: dict, profile: str) -> list[str]:
    """manifolds_resources: at a fixed training time, closer (more curved) pairs need more depth;
    that need is one of time: given far more time every depth fits, so depth buys speed; and
    with more samples the test error falls to zero. Same thresholds in both profiles.

    Claims, with "succeeds" meaning a mean test error <= 1% on the dense grid:
    - at the map's time: the farthest pair succeeds at every depth, closer pairs need at least
      as much depth, and some pair needs more than the shallowest depth and is classified by a
      deeper one (the map). (Not "depth >= 8": at the map's time many cells sit near the 1%
      line, and over seeds 0-9 of the quick profile the largest depth needed ranged from 2,
      seed 6, to 32; the training rms below measures depth's effect on fitting without that
      threshold);
    - time, not depth: at the longest time of the grid the shallowest depth succeeds on every
      pair; at that depth the closest pair needs more time than the farthest; and on the closest
      pair, at the map's time, some depth has fitted its samples further than the shallowest,
      its training rms error ||zeta_T|| at most 0.8 times the shallowest's (depth as a fitting
      resource: it buys speed);
    - data: the test error does not rise with the number of samples, and falls from above 0.005
      to <= 0.005.
    """
    by_profile(profile, None, None)
    depths = [int(d) for d in result["depths"]]
    separations = [float(s) for s in result["separations"]]
    needed = required_depths(result, tolerance=0.01)
    needed_depth = [math.inf if d is None else d for d in needed]
    finite = [d for d in needed_depth if d < math.inf]
    times = [float(t) for t in result["times"]]
    needed_time = required_times(result, tolerance=0.01)  # (separations, depths)
    long_error = np.asarray(result["test_error_by_time"], dtype=float)[:, 0, -1]
    shallow_time = [float(t) for t in needed_time[:, 0]]
    at = times.index(float(result["time"]))
    closest_rms = [
        float(v) for v in np.asarray(result["train_rms_by_time"], dtype=float)[-1, :, at]
    ]
    data_samples = [int(n) for n in result["data_samples"]]
    data_error = [float(e) for e in np.asarray(result["data_error"], dtype=float)]
    budget = float(result["time"])
    measured = (
        f"separations {separations}: depth needed for <= 1% test error at time {budget:g} {needed}"
    )
    data_measured = f"samples {data_samples}: test errors {_fmt(data_error)}"
    return [
        claim(
            needed_depth[0] == depths[0],
            "the easiest (farthest) pair is classified within 1% test error at every depth",
            measured,
        ),
        claim(
            all(a <= b for a, b in zip(needed_depth, needed_depth[1:])),
            "closer curves need at least as much depth (for <= 1% test error) at the map's time",
            measured,
        ),
        claim(
            bool(finite) and max(finite) > depths[0],
            f"some pair needs more than depth {depths[0]} for <= 1% test error at the map's time, "
            "and a deeper network of the grid gets there",
            measured,
        ),
        claim(
            bool(np.all(long_error <= 0.01)),
            f"given time {times[-1]:g}, the shallowest depth ({depths[0]}) classifies every pair "
            "within 1% test error",
            f"depth {depths[0]}, separations {separations}: test errors {_fmt(long_error)}",
        ),
        claim(
            shallow_time[-1] > shallow_time[0],
            f"at depth {depths[0]} the closest pair needs more time than the farthest (for <= 1%)",
            f"separations {separations}: time needed {_fmt(shallow_time)}",
        ),
        claim(
            min(closest_rms[1:]) <= 0.8 * closest_rms[0],
            f"on the closest pair, at the map's time, some depth's training rms error is at most "
            f"0.8 times depth {depths[0]}'s",
            f"separation {separations[-1]}, depths {depths}: training rms at time {budget:g} "
            f"{_fmt(closest_rms)}",
        ),
        claim(
            all(b <= a + 0.005 for a, b in zip(data_error, data_error[1:])),
            "the test error does not rise by more than 0.005 as the number of samples grows",
            data_measured,
        ),
        claim(
            data_error[-1] <= 0.005 < data_error[0],
            "the test error falls from above 0.005 at the fewest samples to <= 0.005 at the most",
            data_measured,
        ),
    ]


def _diagonal_ratios(result: dict) -> dict:
    """{(n, L): median error at (4n, 4L) / at (n, L)} over the widths after the first (the
    narrowest one's deep networks die or blow up: their error saturates near 1)."""
    widths, depths = [int(w) for w in result["widths"]], [int(d) for d in result["depths"]]
    median = np.asarray(result["median_error"], dtype=float)
    out = {}
    for i, w in enumerate(widths[1:], 1):
        for j, d in enumerate(depths):
            if 4 * w in widths and 4 * d in depths:
                out[(w, d)] = median[widths.index(4 * w), depths.index(4 * d)] / median[i, j]
    return out


def check_width_depth(result: dict, profile: str) -> list[str]:
    """manifolds_width_depth: at a fixed width the kernel's uniform error grows with depth, a
    wider network has the smaller error (averaged over the depths, from the second width on:
    the narrowest networks' error saturates near 1, where the deep ones die), and what sets the
    error is L/n: 4 times the width and 4 times the depth leave it about where it was (the
    geometric mean of the ratios within [0.65, 1.55]; an error set by the width alone,
    ~ n^{-1/2}, would give 0.5, one set by the depth alone about 2). Medians over the draws:
    the sup over M x M is heavy-tailed at large L/n. Quick run, seeds 0-4: growth 3.0-4.1 at
    the widest width, geometric mean 0.72-0.94. The thresholds are the same in both profiles."""
    by_profile(profile, None, None)  # refuses an unknown profile
    widths, depths = [int(w) for w in result["widths"]], [int(d) for d in result["depths"]]
    median = np.asarray(result["median_error"], dtype=float)
    growth = median[-1, -1] / median[-1, 0]
    ratios = _diagonal_ratios(result)
    mean_ratio = float(np.exp(np.mean(np.log(list(ratios.values()))))) if ratios else math.nan
    by_width = np.exp(np.log(median[1:]).mean(1)).tolist()  # from the second width on
    return [
        claim(
            growth >= 2,
            f"at width {widths[-1]} the median uniform kernel error grows at least 2-fold from "
            f"depth {depths[0]} to depth {depths[-1]}",
            f"{median[-1, 0]:.3f} -> {median[-1, -1]:.3f} ({growth:.1f}x)",
        ),
        claim(
            all(b < a for a, b in zip(by_width, by_width[1:])),
            "averaged over the depths (geometric mean), the median error falls at every step up "
            f"in width from width {widths[1]}",
            f"widths {widths[1:]}: {_fmt(by_width)}",
        ),
        claim(
            len(ratios) >= 2 and 0.65 <= mean_ratio <= 1.55,
            "4 times the width and 4 times the depth keep the error: the geometric mean of the "
            "ratios lies in [0.65, 1.55]",
            f"ratios {_fmt(ratios.values())} at (n, L) = {list(ratios)}; mean {mean_ratio:.2f}",
        ),
    ]


def check_aperture(result: dict, profile: str) -> list[str]:
    """Data against aperture (`aperture_errors`, a notebook computation): samples spaced
    wider than three half widths of the kernel leave more than 5% of the curves misclassified,
    samples spaced closer than the half width at most 1%."""
    by_profile(profile, None, None)  # refuses an unknown profile
    a = float(result["half_width"])
    pairs = list(zip(result["samples"], result["spacing"], result["test_error"]))
    sparse = [(n, e) for n, s, e in pairs if s > 3 * a]
    dense = [(n, e) for n, s, e in pairs if s < a]
    table = [(int(n), round(float(e), 3)) for n, _, e in pairs]
    measured = f"half width {math.degrees(a):.2f} deg; (N, test error): {table}"
    return [
        claim(
            bool(sparse) and all(e > 0.05 for _, e in sparse),
            "samples spaced wider than 3 half widths leave more than 5% misclassified",
            measured,
        ),
        claim(
            bool(dense) and all(e <= 0.01 for _, e in dense),
            "samples spaced closer than the half width leave at most 1% misclassified",
            measured,
        ),
    ]


def check_certificate_decay(decay: dict, profile: str) -> list[str]:
    """The certificate lemma on the kernel flow (a notebook computation, not an experiment):
    `decay` maps each depth to its `certificate_decay`. The measured error stays below the
    bound ||g||/(e t) + ||xi|| at every time, and the 1/t part of the bound is attained: the
    largest t ||zeta_t|| over the times is at least 0.7 ||g||/e at every depth (quick run,
    seed 0: 0.88-0.92), so the certificate's norm really is the time the error needs.
    An error that fell much faster than its certificate says (a bound far from tight) fails."""
    by_profile(profile, None, None)  # refuses an unknown profile
    below, tight = {}, {}
    for depth, run in decay.items():
        t, rms, bound = (np.asarray(run[k], dtype=float) for k in ("times", "rms", "bound"))
        below[depth] = float((rms / bound).max())
        tight[depth] = float((t * rms).max() / (run["certificate_norm"] / math.e))
    return [
        claim(
            all(v <= 1 for v in below.values()),
            "the measured error ||zeta_t|| stays below ||g||/(e t) + ||xi|| at every time",
            f"largest ratio measured/bound by depth: {_fmt(below.values())}",
        ),
        claim(
            all(v >= 0.7 for v in tight.values()),
            "the 1/t bound is attained within a factor 1/0.7: max_t t ||zeta_t|| >= 0.7 ||g||/e "
            "at every depth",
            f"max_t t ||zeta_t|| / (||g||/e) by depth {list(tight)}: {_fmt(tight.values())}",
        ),
    ]


CHECKS = {
    "manifolds_ntk": check_ntk,
    "manifolds_depth": check_depth,
    "manifolds_training": check_training,
    "manifolds_resources": check_resources,
    "manifolds_width_depth": check_width_depth,
}
