"""Lectures 6 and 7, claims as code: each check passes on a result that shows the phenomenon,
live and in its JSON form, and raises `ClaimFailed`, naming what was expected, on one doctored
to break a claim.

The tiny runs of `test_overparam.TINY` are too small to show the phenomena (two epochs, a few
widths, twenty steps), so each pass case is a tiny run's result with its measured numbers set
by hand to the shape the lecture describes: the keys and the rest of the structure are the real
run's. Its JSON form is then edited to break one claim at a time."""

import copy

import numpy as np
import pytest
import torch
from test_overparam import TINY

from lowdim_course import claims, results
from lowdim_course import overparam as op

pytestmark = pytest.mark.usefixtures("one_thread")

LARGE, SMALL = "large lr, then decay", "small lr"
TREE, SHALLOW = "deep, shaped like the tree", "shallow (1 hidden layer)"
DEEP = "deep MLP (3 hidden layers)"
PLAIN, NOISY = "small lr", "small lr + activation noise"


def tiny_run(name):
    run, *_ = op.EXPERIMENTS[name]
    return run(TINY[name], seed=0, progress=False)


def shaped_random_labels():
    result = tiny_run("overparam_random_labels")  # 0% and 100% random labels, random pixels
    for run, test in zip(result["runs"], (0.97, 0.09, 0.08)):
        run["final_train_acc"], run["final_test_acc"] = 1.0, test
    result["chance"] = 0.1
    return result


def shaped_width():
    """The quick profile's curve: 1347 training digits, one-hidden-layer MLPs of 75 w + 10
    parameters; widths 2-16 below the interpolation threshold, 64-4096 past it, where the test
    error moves by a digit or two and ends lowest at the widest."""
    result = tiny_run("overparam_width")  # widths 4 and 32: the lecture compares more
    template = result["runs"][-1]
    rows = [(2, 0.6, 0.65, 6.0), (4, 0.3, 0.33, 6.6), (8, 0.02, 0.04, 5.9), (16, 0.006, 0.02, 4.1)]
    rows += [(64, 0.003, 0.022, 1.97), (256, 0.003, 0.025, 0.84), (1024, 0.002, 0.024, 0.32)]
    rows += [(4096, 0.0, 0.018, 0.096)]
    result["runs"] = [
        dict(
            template,
            width=w,
            params=75 * w + 10,
            train_error=train,
            test_error=test,
            movement_first=move,
        )
        for w, train, test, move in rows
    ]
    assert result["train_size"] == 1347
    return result


def shaped_lazy():
    """Three widths, each stopped at the target loss, the hidden weights' movement falling like
    width^-1/2 and the gap to the linearised model shrinking."""
    result = tiny_run("overparam_lazy")  # widths 32 and 128; the lecture compares more
    result["runs"].append(dict(result["runs"][-1], width=512))
    for run, move, gap in zip(result["runs"], (0.2, 0.1, 0.05), (0.2, 0.08, 0.04)):
        run["loss"], run["movement_W"] = 0.02, move
        run["linearization_gap"] = torch.tensor(gap)  # a live result may hold tensors
    result["slope_W"] = np.float64(-0.54)
    return result


def shaped_lr_noise():
    result = tiny_run("overparam_lr_noise")  # two seeds, four epochs
    shape = {
        LARGE: [(112, 0.93, 0.005), (40, 0.87, 0.003)],
        SMALL: [(13, 0.6, 0.01), (7, 0.59, 0.008)],
    }
    for name, rows in shape.items():
        for run, (epoch, p_test, loss) in zip(result["runs"][name], rows):
            run.update(q_fitted_epoch=epoch, p_test_when_q_fitted=p_test, final_loss=loss)
    result["margins_p_only"] = np.array([0.05, 0.015])
    result["margins_overall"] = np.array([0.01, 0.002])
    return result


def shaped_lr_noise_control():
    result = tiny_run("overparam_lr_noise_control")  # two seeds, four epochs
    shape = {
        PLAIN: [(12, 0.63, 0.009), (17, 0.83, 0.008)],
        NOISY: [(67, 0.91, 0.009), (86, 0.9, 0.008)],
    }
    for name, rows in shape.items():
        for run, (epoch, p_test, loss) in zip(result["runs"][name], rows):
            run.update(q_fitted_epoch=epoch, p_test_when_q_fitted=p_test, final_loss=loss)
    result["margins_p_only"] = [0.035, 0.05]
    return result


def shaped_lr_noise_images():
    """A result that satisfies the quick profile's claims (the small rate unfitted, neither
    learning the patch much) and, but for the small rate's training loss, the full ones (the
    small rate ahead on the patch alone before the decay, the large-then-decay schedule rising
    after it): `for_profile` sets that loss for the full profile, where both fit."""
    result = tiny_run("overparam_lr_noise_images")  # two epochs per part
    images, patch = result["images"], result["patch"]
    images[LARGE].update(final_train_loss=0.004, final_test_acc=0.978)
    images[SMALL].update(final_train_loss=0.27, final_test_acc=0.944)
    patch.update(chance=0.1, decay_epoch=1)
    patch["runs"][LARGE].update(final_clean_test_acc=0.976, patch_alone_acc=[0.1, 0.19])
    patch["runs"][SMALL].update(final_clean_test_acc=0.936, patch_alone_acc=[0.15, 0.12])
    return result


def shaped_compositional():
    result = tiny_run("overparam_compositional")  # one network per family
    families = result["families"]
    families[TREE]["runs"][0]["error"], families[TREE]["needed"] = 0.064, 137.0
    # Two shallow networks (41 and 161 parameters) around two deep MLPs (81 and 121): the
    # narrowest, which the check leaves out, worse than the shallow curve (0.45 there), the
    # other better (0.40 there).
    small = families[SHALLOW]["runs"][0]
    families[SHALLOW]["runs"] = [dict(small, error=0.5), dict(small, params=161, error=0.38)]
    families[SHALLOW]["needed"] = None
    narrow = families[DEEP]["runs"][0]
    assert narrow["params"] == 81
    families[DEEP]["runs"] = [dict(narrow, error=0.6), dict(narrow, size=6, params=121, error=0.3)]
    return result


SHAPED = {
    "overparam_random_labels": shaped_random_labels,
    "overparam_width": shaped_width,
    "overparam_lazy": shaped_lazy,
    "overparam_lr_noise": shaped_lr_noise,
    "overparam_lr_noise_control": shaped_lr_noise_control,
    "overparam_lr_noise_images": shaped_lr_noise_images,
    "overparam_compositional": shaped_compositional,
}


def for_profile(result, name, profile):
    """The shaped result as the profile's run would look: in the full profile the small rate
    on real images has fitted the training set too (the slide's premise)."""
    if name != "overparam_lr_noise_images" or profile == "quick":
        return result
    result = copy.deepcopy(result)
    result["images"][SMALL]["final_train_loss"] = 0.01
    return result


@pytest.fixture(scope="module")
def shaped():
    """name -> a tiny run's result shaped by hand to show the lecture's phenomenon (live)."""
    return {name: shape() for name, shape in SHAPED.items()}


def test_every_experiment_has_a_check():
    assert set(op.CHECKS) == set(op.EXPERIMENTS)


@pytest.mark.parametrize("profile", ["quick", "full"])
@pytest.mark.parametrize("name", list(SHAPED))
def test_check_passes_on_the_phenomenon_live_and_as_json(shaped, name, profile):
    live = for_profile(shaped[name], name, profile)
    for result in (live, results.to_jsonable(live)):
        lines = op.CHECKS[name](result, profile)
        assert lines and all(line.startswith("held: ") for line in lines)
    with pytest.raises(ValueError, match="profile"):
        op.CHECKS[name](results.to_jsonable(live), "auto")


def set_run(key, index, value, where="runs"):
    def doctor(result):
        result[where][index][key] = value

    return doctor


def set_key(key, value):
    def doctor(result):
        result[key] = value

    return doctor


def set_family(family, key, value, run=None):
    def doctor(result):
        target = result["families"][family]
        (target if run is None else target["runs"][run])[key] = value

    return doctor


def set_image_run(part, schedule, key, value):
    def doctor(result):
        runs = result["images"] if part == "images" else result["patch"]["runs"]
        runs[schedule][key] = value

    return doctor


def set_schedule(schedule, seed_index, key, value):
    def doctor(result):
        result["runs"][schedule][seed_index][key] = value

    return doctor


BROKEN = [
    ("overparam_random_labels", set_run("final_train_acc", 2, 0.99), "training accuracy 1.0"),
    ("overparam_random_labels", set_run("final_test_acc", 1, 0.98), "test accuracy falls"),
    ("overparam_random_labels", set_run("final_test_acc", 1, 0.2), "within 0.08 of chance"),
    ("overparam_width", set_run("train_error", -1, 0.001), "fits every training sample"),
    # past the threshold: a rise from width 256 to 1024 (0.025 -> 0.04), a slow creep that no
    # single step shows (0.022, 0.03, 0.038, 0.04), and a widest network that only ties
    ("overparam_width", set_run("test_error", -2, 0.04), "does not rise"),
    (
        "overparam_width",
        lambda r: [
            run.update(test_error=e) for run, e in zip(r["runs"][4:], (0.022, 0.03, 0.038, 0.04))
        ],
        "does not rise",
    ),
    ("overparam_width", set_run("test_error", -1, 0.022), "below that of width 64"),
    ("overparam_width", set_run("movement_first", -1, 1.0), "less than a fifth"),
    ("overparam_width", set_run("train_error", 0, 0.04), "narrowest network does not fit"),
    ("overparam_lazy", set_key("slope_W", -0.2), r"lies in \[-0.7, -0.3\]"),
    ("overparam_lazy", set_run("linearization_gap", -1, 0.1), "less than a quarter"),
    ("overparam_lazy", set_run("loss", 0, 0.05), "at least three widths"),
    # the slope over all widths still in range, the one over the widths that fit not
    ("overparam_lazy", set_run("movement_W", -1, 0.1), "that reach the target training loss"),
    ("overparam_lr_noise", set_schedule(LARGE, 0, "seed", 0), "held out from seeds 0-4"),
    ("overparam_lr_noise", set_schedule(SMALL, 1, "final_loss", 0.03), "loss 0.02"),
    ("overparam_lr_noise", set_schedule(SMALL, 0, "q_fitted_epoch", 31), "by epoch 30"),
    ("overparam_lr_noise", set_schedule(LARGE, 1, "q_fitted_epoch", None), "later than"),
    (
        "overparam_lr_noise",
        set_schedule(LARGE, 0, "p_test_when_q_fitted", 0.5),
        "when Q is first fitted",
    ),
    ("overparam_lr_noise", set_key("margins_p_only", [0.1, -0.01]), "ends with the higher"),
    ("overparam_lr_noise", set_key("margins_p_only", [0.02, 0.01]), "at least 0.02"),
    ("overparam_lr_noise", set_key("margins_overall", [0.01, -0.02]), "whole test set"),
    ("overparam_lr_noise_control", set_schedule(NOISY, 0, "seed", 4), "held out"),
    ("overparam_lr_noise_control", set_schedule(NOISY, 1, "final_loss", 0.03), "loss 0.02"),
    ("overparam_lr_noise_control", set_schedule(NOISY, 0, "q_fitted_epoch", 12), "fits the Q"),
    ("overparam_lr_noise_control", set_schedule(NOISY, 1, "q_fitted_epoch", None), "fits the Q"),
    (
        "overparam_lr_noise_control",
        set_schedule(NOISY, 0, "p_test_when_q_fitted", 0.6),
        "when Q is first fitted",
    ),
    ("overparam_lr_noise_control", set_key("margins_p_only", [0.05, -0.01]), "ends with"),
    ("overparam_lr_noise_control", set_key("margins_p_only", [0.005, 0.005]), "at least"),
    (
        "overparam_lr_noise_images",
        set_image_run("images", LARGE, "final_train_loss", 0.06),
        "below training loss 0.05",
    ),
    (
        "overparam_lr_noise_images",
        set_image_run("images", SMALL, "final_test_acc", 0.97),
        "at least 0.01 above",
    ),
    (
        "overparam_lr_noise_images",
        set_image_run("patch", SMALL, "final_clean_test_acc", 0.98),
        "on clean images",
    ),
    (
        "overparam_lr_noise_images",
        set_image_run("images", SMALL, "final_train_loss", 0.05),
        "has not fitted",
    ),
    (
        "overparam_lr_noise_images",
        set_image_run("patch", SMALL, "patch_alone_acc", [0.3, 0.6]),
        "neither schedule learns the patch",
    ),
    ("overparam_compositional", set_family(TREE, "needed", None), "reaches relative test error"),
    ("overparam_compositional", set_family(SHALLOW, "error", 0.1, run=0), "more than twice"),
    ("overparam_compositional", set_family(SHALLOW, "needed", 300.0), "more than 3x"),
    ("overparam_compositional", set_family(DEEP, "error", 0.41, run=1), "lower relative test"),
]


@pytest.mark.parametrize("name, doctor, expected", BROKEN, ids=[f"{n}-{e}" for n, _, e in BROKEN])
def test_check_fails_on_a_result_doctored_to_break_a_claim(shaped, name, doctor, expected):
    broken = copy.deepcopy(results.to_jsonable(shaped[name]))
    doctor(broken)
    with pytest.raises(claims.ClaimFailed, match=f"expected .*{expected}.*; measured"):
        op.CHECKS[name](broken, "quick")


FULL_ONLY = [
    (set_image_run("images", SMALL, "final_train_loss", 0.06), "small rate too ends below"),
    (set_image_run("patch", SMALL, "patch_alone_acc", [0.1, 0.12]), "ahead on the patch alone"),
    (set_image_run("patch", LARGE, "patch_alone_acc", [0.1, 0.1]), "learns the patch"),
]


@pytest.mark.parametrize("doctor, expected", FULL_ONLY, ids=[e for _, e in FULL_ONLY])
def test_lr_noise_images_full_claims_fail_on_a_doctored_result(shaped, doctor, expected):
    """The full profile's patch mechanism (CIFAR-10): each claim fails on a result doctored to
    break it, which the quick profile, not claiming the mechanism, lets through (the small
    rate's training loss only where the quick profile does not claim the opposite)."""
    name = "overparam_lr_noise_images"
    for profile in ("full", "quick"):
        broken = copy.deepcopy(results.to_jsonable(for_profile(shaped[name], name, profile)))
        doctor(broken)
        if profile == "full":
            with pytest.raises(claims.ClaimFailed, match=f"expected .*{expected}.*; measured"):
                op.check_lr_noise_images(broken, "full")
        elif "small rate too" not in expected:
            assert op.check_lr_noise_images(broken, "quick")
