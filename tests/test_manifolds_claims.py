"""Lecture 2's claims as code: each experiment's check passes on a small run and on its JSON
form, and fails on a doctored result; the depth check on hand-built certificate curves."""

import copy
import math
import re
from dataclasses import replace

import numpy as np
import pytest

from lowdim_course import claims, results
from lowdim_course import manifolds as mf

pytestmark = pytest.mark.usefixtures("one_thread")


# --- claims: each experiment's check on a small run, on its JSON form, and on a doctored one ---

# Small configs that show the phenomenon (the tiny ones above do not: too few widths, depths,
# steps or samples). The other two experiments' checks pass on hand-built results below.
SHOWING = {
    "manifolds_ntk": {"widths": (64, 256, 1024), "draws": 4, "angles": 9},
    "manifolds_depth": {"samples": (100, 200), "draws": 1, "depths": (1, 2, 4, 8, 16, 32, 64, 128),
                        "grid": 5000},
    "manifolds_width_depth": {"depths": (1, 4, 16), "draws": 4, "points": 8},
}  # fmt: skip

HAND_BUILT = {
    "manifolds_training": {
        "pair": "winding",
        "depth": 1,
        "steps": [0, 10, 20],
        "widths": [32, 512, 2048],
        "runs": {
            "32": {"deviation": 0.3, "kernel_movement": 0.4, "test_error": 0.02},
            "512": {"deviation": 0.05, "kernel_movement": 0.06, "test_error": 0.0},
            "2048": {"deviation": 0.02, "kernel_movement": 0.02, "test_error": 0.0},
        },
    },
    "manifolds_resources": {
        "model": "kernel",
        "depths": [1, 2, 4, 8, 16],
        "separations": [0.5, 0.35, 0.25],
        "curvatures": [1.0, 2.0, 3.0],
        "success": np.zeros((3, 5)),
        "test_error": np.array([[0.0, 0.0, 0.0, 0.0, 0.0],
                                [0.2, 0.05, 0.004, 0.0, 0.0],
                                [0.3, 0.2, 0.1, 0.008, 0.0]]),
        "time": 100.0,
        "times": [10.0, 100.0, 1000.0, 10000.0],
        # (separations, depths, times): the map above at time 100; every cell fits by 10000,
        # the closest pair 10 times sooner at depth 16 than at depth 1
        "test_error_by_time": np.array([
            [[0.005, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0],
             [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
            [[0.3, 0.2, 0.0, 0.0], [0.1, 0.05, 0.0, 0.0], [0.05, 0.004, 0.0, 0.0],
             [0.02, 0.0, 0.0, 0.0], [0.01, 0.0, 0.0, 0.0]],
            [[0.4, 0.3, 0.05, 0.0], [0.3, 0.2, 0.005, 0.0], [0.2, 0.1, 0.0, 0.0],
             [0.1, 0.008, 0.0, 0.0], [0.05, 0.0, 0.0, 0.0]],
        ]),
        "train_error_by_time": np.zeros((3, 5, 4)),
        # the training rms error: the closest pair fitted further at depth 16 than at depth 1
        "train_rms_by_time": np.tile(np.linspace(0.9, 0.5, 5)[None, :, None], (3, 1, 4)),
        "data_samples": [50, 100, 200],
        "data_error": [0.1, 0.03, 0.0],
        "data_depth": 8,
        "data_separation": 0.25,
    },
}  # fmt: skip


def _doctor_ntk(result):
    result["mean_error"][-1] = result["mean_error"][0] * 2  # the widest is no longer the best
    return "kernel's relative L2 error falls at every step up in width"


def _doctor_depth(result):
    result["half_width"][-1] = result["half_width"][0]
    return "half width falls at every step up in depth"


def _doctor_training(result):
    result["runs"][str(result["widths"][-1])]["test_error"] = 0.01
    return "widest network classifies both curves without error"


def _doctor_resources(result):
    result["test_error"][-1] = [0.0] * len(result["depths"])  # the closest pair is now easy
    return "closer curves need at least as much depth"


def _resources_with(errors_at):
    """The hand-built resources result with test_error_by_time[cell] replaced: {(i, j): row}."""
    result = copy.deepcopy(results.to_jsonable(HAND_BUILT["manifolds_resources"]))
    for (i, j), row in errors_at.items():
        result["test_error_by_time"][i][j] = row
    return result


@pytest.mark.parametrize(
    "errors_at, expected",
    [
        # depth 1 never fits the closest pair: depth would be a capacity, not a speed
        ({(2, 0): [0.4, 0.3, 0.2, 0.1]}, "the shallowest depth (1) classifies every pair"),
        # depth 1 fits the closest pair as fast as the farthest
        ({(2, 0): [0.005, 0.0, 0.0, 0.0]}, "the closest pair needs more time than the farthest"),
    ],
)  # fmt: skip
def test_resources_check_fails_when_depth_is_not_a_speed(errors_at, expected):
    with pytest.raises(claims.ClaimFailed, match=f"expected [^;]*{re.escape(expected)}"):
        mf.check_resources(_resources_with(errors_at), "quick")


def test_resources_check_fails_when_depth_does_not_fit_faster():
    """Every depth has fitted the closest pair's samples about as far as depth 1 by the map's
    time (training rms 0.9 down to 0.75, above 0.8 of 0.9 = 0.72)."""
    result = copy.deepcopy(results.to_jsonable(HAND_BUILT["manifolds_resources"]))
    result["train_rms_by_time"][-1] = [[v] * 4 for v in (0.9, 0.85, 0.8, 0.75, 0.75)]
    with pytest.raises(claims.ClaimFailed, match="some depth's training rms error is at most"):
        mf.check_resources(result, "quick")


def _doctor_width_depth(result):
    result["median_error"][-1] = [result["median_error"][-1][0]] * len(result["depths"])
    return "median uniform kernel error grows at least 2-fold"


def test_width_depth_check_fails_when_width_outweighs_depth():
    """Errors that grow with depth but fall twice as fast with width: along n ~ L they halve,
    so L/n does not set them."""
    widths, depths = [16, 64, 256], [1, 4, 16]
    median = [[1.0, 1.0, 1.0], [0.4, 0.8, 1.6], [0.1, 0.2, 0.4]]
    result = {"widths": widths, "depths": depths, "median_error": median}
    with pytest.raises(claims.ClaimFailed, match="4 times the width and 4 times the depth"):
        mf.check_width_depth(result, "quick")


DOCTORS = {
    "manifolds_ntk": _doctor_ntk,
    "manifolds_depth": _doctor_depth,
    "manifolds_training": _doctor_training,
    "manifolds_resources": _doctor_resources,
    "manifolds_width_depth": _doctor_width_depth,
}


@pytest.fixture(scope="module")
def small_results():
    """name -> a result that shows the phenomenon: a small run or a hand-built dict."""
    out = dict(HAND_BUILT)
    for name, overrides in SHOWING.items():
        run, Config, _, _ = mf.EXPERIMENTS[name]
        out[name] = run(replace(Config.quick(), **overrides), device="cpu", seed=0, progress=False)
    return out


def test_every_experiment_has_a_check():
    assert set(mf.CHECKS) == set(mf.EXPERIMENTS)
    assert set(SHOWING) | set(HAND_BUILT) == set(mf.EXPERIMENTS) == set(DOCTORS)


@pytest.mark.parametrize("name", list(mf.EXPERIMENTS))
def test_check_passes_on_a_small_result_and_its_json_form(name, small_results):
    check = mf.CHECKS[name]
    result = small_results[name]
    lines = check(result, "quick")
    assert lines and all(line.startswith("held: ") for line in lines)
    assert check(results.to_jsonable(result), "quick") == lines


@pytest.mark.parametrize("name", list(mf.EXPERIMENTS))
def test_check_fails_on_a_doctored_result(name, small_results):
    doctored = copy.deepcopy(results.to_jsonable(small_results[name]))
    expected = DOCTORS[name](doctored)
    with pytest.raises(claims.ClaimFailed, match=f"expected .*{re.escape(expected)}"):
        mf.CHECKS[name](doctored, "quick")


# A U-shaped population certificate over depths 1 ... 256 and the ratios to it of N = 200 and
# 400 samples (the quick run's numbers, rounded): above it while the half width exceeds the
# sample spacing (5.0 and 2.5 degrees), below it beyond.
POPULATION = [294.0, 312.0, 233.0, 167.0, 136.0, 134.0, 158.0, 214.0, 318.0]
RATIOS = {
    200: [1.09, 1.05, 1.05, 1.04, 1.00, 0.93, 0.82, 0.68, 0.53],
    400: [1.06, 1.08, 1.09, 1.11, 1.10, 1.07, 1.00, 0.89, 0.75],
}
SPACING = {200: math.radians(4.98), 400: math.radians(2.49)}


def _depth_result(population=POPULATION, ratios=RATIOS, spacing=SPACING):
    depths = [2**i for i in range(len(population))]
    return {
        "depths": depths,
        "half_width": [mf.half_width(d) for d in depths],
        "samples": list(ratios),
        "spacing": {str(n): spacing[n] for n in ratios},
        "population_norm": list(population),
        "certificate_norm": {str(n): [p * r for p, r in zip(population, ratios[n])]
                             for n in ratios},
    }  # fmt: skip


def _with_ratios(n, **changes):
    """RATIOS with N's ratio at the given depth indices changed."""
    ratios = copy.deepcopy(RATIOS)
    for index, value in changes.items():
        ratios[n][int(index[1:])] = value
    return ratios


def test_depth_check_passes_on_the_u_and_refuses_an_unknown_profile():
    for profile in ("quick", "full"):
        assert len(mf.check_depth(_depth_result(), profile)) == 11
    with pytest.raises(ValueError, match="profile"):
        mf.check_depth(_depth_result(), "auto")


@pytest.mark.parametrize(
    "result, expected",
    [
        # the population norm falls down to the deepest depth: no U
        (_depth_result(population=sorted(POPULATION, reverse=True)),
         "population certificate: the minimum lies strictly inside"),
        # N = 200's norm rises again before it reaches its minimum
        (_depth_result(ratios=_with_ratios(200, i3=1.6)),
         "N = 200: the norm falls at every step from depth 2"),
        # N = 400's norm falls again after its minimum
        (_depth_result(ratios=_with_ratios(400, i7=0.65)),
         "N = 400: the norm falls at every step from depth 2"),
        # N = 400's minimum moves to depth 128, four times the population minimum's depth
        (_depth_result(ratios=_with_ratios(400, i5=1.05, i6=0.85, i7=0.6)),
         "the minimum does not follow N"),
        # no N resolves the population minimum (spacings above its half width, 6.6 degrees)
        (_depth_result(spacing={200: math.radians(20.0), 400: math.radians(10.0)}),
         "the minimum does not follow N"),
        # N = 200 is 30% below the population where its half width exceeds the spacing
        (_depth_result(ratios=_with_ratios(200, i4=0.7)),
         "the certificate of N samples is within"),
        # N = 200 stays at the population norm where the kernel is narrower than half a spacing
        (_depth_result(ratios=_with_ratios(200, i8=0.95)), "below 0.9 of the population one"),
        # at depth 256 the smaller sample is closer to the population than the larger one
        (_depth_result(ratios=_with_ratios(200, i8=0.8)),
         "relative to the population one, rises at every step up in N"),
    ],
)  # fmt: skip
def test_depth_check_fails_on_a_doctored_certificate(result, expected):
    for profile in ("quick", "full"):
        with pytest.raises(claims.ClaimFailed, match=f"expected [^;]*{re.escape(expected)}"):
            mf.check_depth(result, profile)
