"""Lecture 3's claims as code (lowdim_course/collapse/ `check_*`): each check holds on a result
that shows its phenomenon, live and in its JSON form, and raises ClaimFailed, naming what was
expected, on a copy doctored to violate each claim.

The tiny configurations of test_collapse.py train for a few epochs and show no phenomenon, so
the network experiments are checked on hand-built results with the keys their `run_*` returns
(test_collapse.py runs each check on a tiny run's JSON to confirm it reads only those keys);
`collapse_ufm` is checked on a small real run."""

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from lowdim_course import claims, collapse, experiments, runtime
from lowdim_course.results import to_jsonable


def ufm_result():
    """A real UFM run small enough for a test: K = 3 with d = 1 < K - 1 and d = 2 = K - 1."""
    config = replace(
        collapse.UFMConfig.quick(), classes=(3,), dims=((1, 2),), inits=2, steps=300,
        trajectory=(0, 0),
    )  # fmt: skip
    with runtime.torch_threads(1):
        return collapse.run_ufm(config, seed=0)


def network_variant(name, classifier, d, parameters, test_acc, nc1):
    return {
        "name": name, "classifier": classifier, "feature_dim": d,
        "trained_parameters": parameters, "test_acc": test_acc, "train_acc": 1.0,
        "nc1": nc1, "means_angle_error": 0.02, "nc3": 0.1, "test_curve": np.full(5, test_acc),
    }  # fmt: skip


def loss_rows():
    ufm = [
        {"loss": loss, "nc1_max": 1e-30, "angle_error_max": 1e-14, "nc3_max": 1e-30}
        for loss in collapse.LOSSES
    ]
    network = [
        {
            "loss": loss,
            "test_acc": acc,
            "train_acc": 1.0,
            "nc1": 0.02,
            "means_angle_error": 0.04,
            "nc3": 0.2,
            "tpt_epoch": 5,
            "nc1_at_tpt": np.float64(0.1),
            "nc1_final": 0.02,
            "epochs": [1, 5, 10],
            "nc1_curve": torch.tensor([0.3, 0.1, 0.02], dtype=torch.float64),
        }
        for loss, acc in zip(collapse.LOSSES, (0.99, 0.987, 0.989, 0.989))
    ]
    return {"ufm": ufm, "network": network, "n_test": 450, "test_acc_range": 0.99 - 0.987}


def nc_record(epoch, scale, accuracy=1.0):
    """A measured epoch of a training history whose NC statistics are `scale` times those at
    the end."""
    return {
        "epoch": epoch, "train_acc": accuracy, "test_acc": 0.98, "accuracy": accuracy,
        "nc1": 0.003 * scale, "means_angle_error": 0.025 * scale,
        "means_equinorm": 0.013 * scale, "classifier_angle_error": 0.017 * scale,
        "classifier_equinorm": 0.007 * scale, "nc3": 0.024 * scale, "nc4": 0.0,
    }  # fmt: skip


def hand_built(name):
    """A result of experiment `name` that shows the lecture's phenomenon (live form: numpy and
    torch values where the run returns them)."""
    if name == "collapse_tpt":
        # NC1 falls 28x over the terminal phase, the NC2 statistics 3.5x, NC3 13x
        history = [nc_record(1, 80, 0.8), nc_record(6, 3.5), nc_record(100, 1)]
        history[1]["nc1"], history[1]["nc3"] = 0.085, 0.024 * 13
        return {
            "history": history,
            "tpt_epoch": 6,
            "nc1_at_tpt": np.float64(0.085),
            "nc1_final": np.float64(0.003),
            "nc1_drop": 0.085 / 0.003,
            "final": {k: v for k, v in history[-1].items()},
            "cosines_first": collapse.etf_gram(10),
            "cosines_final": collapse.etf_gram(10),
        }
    if name == "collapse_fixed_etf":
        variants = [
            network_variant("learned-ddefault", "learned", 256, 151562, 0.991, 0.02),
            network_variant("fixed-ddefault", "fixed", 256, 148992, 0.987, 0.013),
            network_variant("fixed-d10", "fixed", 10, 85524, 0.990, 0.006),
        ]
        return {"data": "digits", "variants": variants}
    if name == "collapse_losses":
        return loss_rows()
    if name == "collapse_random_labels":
        return {
            "data": "digits",
            "n_train": 300,
            "chance": 0.1,
            "tpt_epoch": 80,
            "nc1_at_tpt": 0.17,
            "nc1_final": 0.08,
            "train_acc": 1.0,
            "test_acc": 0.096,
            "nc1_first": 11.7,
            "means_angle_error_final": 0.05,
            "nc3_final": 0.06,
        }
    if name == "collapse_transfer":
        points = [
            {"weight_decay": wd, "smoothing": 0.0, "epoch": 30, "down_nc1": nc1,
             "probe_acc": acc, "source_nc1": 0.03}
            for wd, nc1, acc in [(0.0, 1.0, 0.71), (5e-3, 1.2, 0.70), (2e-2, 9.0, 0.60)]
        ]  # fmt: skip
        for point, source_nc1 in zip(points, (0.04, 0.015, 0.008)):
            point["source_nc1"] = source_nc1
        points.append({"weight_decay": 5e-4, "smoothing": 0.3, "epoch": 30, "down_nc1": 0.5,
                       "probe_acc": 0.83, "source_nc1": 0.05})  # fmt: skip
        return {
            "points": points,
            "pearson_log_nc1": np.float64(-0.93),
            "spearman": -0.87,
            "untrained": {"down_nc1": 0.48, "probe_acc": 0.81, "source_nc1": 0.35},
        }
    if name == "collapse_optimizers":
        rows = []
        for optimizer, nc1, angle, gap in [("gd", 1e-30, 1e-15, 0.0), ("sgd", 4e-4, 2e-3, 1e-3),
                                           ("adam", 1e-12, 4e-7, 5e-12),
                                           ("lbfgs", 5e-17, 1e-7, 2e-15)]:  # fmt: skip
            stat = {"nc1": nc1, "means_angle_error_max": angle, "nc3": nc1}
            rows.append({"K": 10, "d": 20, "optimizer": optimizer, "steps": 100,
                         "objective": [0.5475 * (1 + gap)] * 4, "gap_max": np.float64(gap),
                         **{k: {"mean": v / 2, "std": v / 4, "max": v}
                            for k, v in stat.items()}})  # fmt: skip
        return {"rows": rows, "inits": 4}
    if name == "collapse_width":
        random = [
            {"width": w, "train_acc": acc, "test_acc": 0.1, "tpt_epoch": tpt, "nc1_first": 19.0,
             "nc1_final": nc1, "epochs": [1, 60], "nc1_curve": [19.0, nc1]}
            for w, acc, tpt, nc1 in [(8, 0.81, None, 6.4), (32, 1.0, 25, 0.27),
                                     (256, 1.0, 18, 0.12)]
        ]  # fmt: skip
        losses = [
            {"width": w, "epochs": e, "loss": loss, "test_acc": acc, "train_acc": 1.0, "nc1": 0.1}
            for w, e, accs in [(8, 3, (0.45, 0.40)), (8, 20, (0.93, 0.78)),
                               (128, 3, (0.95, 0.93)), (128, 20, (0.991, 0.985))]
            for loss, acc in zip(("ce", "mse"), accs)
        ]  # fmt: skip
        spread = {"8-3": 5.0, "8-20": 15.0, "128-3": 2.0, "128-20": 0.6}
        return {"data": "digits", "n_random": 100, "n_test": 450, "random": random,
                "losses": losses, "spread": spread}  # fmt: skip
    if name == "collapse_finetune":
        methods = [
            {"method": m, "test_acc": acc, "train_acc": 1.0, "nc1": nc1, "tuned_percent": share,
             "layer_nc1": [0.38, layer2, nc1]}
            for m, acc, nc1, share, layer2 in [("linear", 0.893, 1.04, 0.86, 0.71),
                                               ("layer", 0.982, 0.17, 44.8, 0.17),
                                               ("scl", 0.987, 0.22, 45.3, 0.21),
                                               ("full", 0.991, 0.078, 100.0, 0.12)]
        ]  # fmt: skip
        return {"data": "digits", "model": "mlp", "layer": 1, "methods": methods,
                "pretrained_layer_nc1": [0.38, 0.71, 1.04]}  # fmt: skip
    raise KeyError(name)


@pytest.fixture(scope="module")
def passing():
    """name -> a result that shows the phenomenon (collapse_ufm: a real run)."""
    built = {name: hand_built(name) for name in collapse.EXPERIMENTS if name != "collapse_ufm"}
    return {**built, "collapse_ufm": ufm_result()}


def test_every_experiment_has_a_check_and_the_registry_reads_it():
    assert set(collapse.CHECKS) == set(collapse.EXPERIMENTS)
    for name, check in collapse.CHECKS.items():
        assert experiments.get(name).check is check


@pytest.mark.parametrize("name", list(collapse.EXPERIMENTS))
@pytest.mark.parametrize("profile", ["quick", "full"])
def test_check_holds_live_and_from_json(name, profile, passing):
    check = collapse.CHECKS[name]
    live = check(passing[name], profile)
    stored = check(to_jsonable(passing[name]), profile)
    assert live == stored and live and all(line.startswith("held: ") for line in live)
    with pytest.raises(ValueError, match="profile"):
        check(passing[name], "auto")


def _set(path, value):
    """A doctoring: set result[path[0]][path[1]]... = value."""

    def doctor(result):
        target = result
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return doctor


def _scale_curve(factor):
    """NC1 of the MSE network `factor` times below its first measured value at the end, but
    only 1.2x below its value at the start of the terminal phase."""

    def doctor(result):
        row = result["network"][3]
        row["nc1"] = row["nc1_final"] = row["nc1_curve"][-1] = row["nc1_curve"][0] / factor
        row["nc1_at_tpt"] = 1.2 * row["nc1_final"]

    return doctor


# (experiment, doctoring of the JSON form, words of the claim it violates)
VIOLATIONS = [
    ("collapse_tpt", _set(["tpt_epoch"], None), "reaches 100% training accuracy"),
    ("collapse_tpt", _set(["nc1_final"], 0.085 / 9), "NC1 falls at least 10x"),
    ("collapse_tpt", _set(["final", "means_angle_error"], 0.05), r"NC2 of the class means.*1\.8x"),
    ("collapse_tpt", _set(["final", "means_equinorm"], 0.03), r"NC2 of the class means"),
    ("collapse_tpt", _set(["history", 1, "classifier_angle_error"], 0.03), "classifier rows"),
    ("collapse_tpt", _set(["final", "classifier_equinorm"], 0.02), "classifier rows"),
    ("collapse_tpt", _set(["final", "nc3"], 0.1), r"NC3.*falls at least 5x"),
    ("collapse_tpt", _set(["final", "nc4"], 0.02), "sanity check.*nearest-class-mean rule"),
    ("collapse_ufm", _set(["cases", 0, "nc1_max"], 1e-6), r"every start collapses.*K=3, d=1"),
    ("collapse_ufm", _set(["cases", 1, "angle_error_max"], 2e-3), r"simplex ETF.*K=3, d=2"),
    ("collapse_ufm", _set(["cases", 1, "objective_spread"], 1e-5), "same objective value"),
    ("collapse_ufm", _set(["cases", 0, "angle_error_max"], 0.05), "cannot be equiangular"),
    ("collapse_fixed_etf", _set(["variants", 2, "test_acc"], 0.97), "d = 10 reaches a test"),
    ("collapse_fixed_etf", _set(["variants", 2, "nc1"], 0.03), "d = 10 ends with lower NC1"),
    ("collapse_fixed_etf", _set(["variants", 1, "trained_parameters"], 80000), "fewest"),
    ("collapse_losses", _set(["ufm", 2, "angle_error_max"], 2e-3), "every loss ends at a"),
    ("collapse_losses", _set(["network", 1, "test_acc"], 0.95), "differ by at most 3 points"),
    ("collapse_losses", _set(["network", 2, "tpt_epoch"], None), "every network reaches 100%"),
    (
        "collapse_losses",
        _set(["network", 3, "nc1_final"], 0.08),
        r"falls at least 1\.5x.*mse 1\.2x",
    ),
    # the drop since epoch 1 (fitting) no longer counts: 15x since epoch 1, 1.2x since the TPT
    ("collapse_losses", _scale_curve(15), r"terminal phase.*mse 1\.2x"),
    ("collapse_random_labels", _set(["train_acc"], 0.99), "memorises the random labels"),
    ("collapse_random_labels", _set(["test_acc"], 0.25), "within 0.1 of chance"),
    ("collapse_random_labels", _set(["nc1_first"], 0.5), "NC1 falls more than 10x"),
    ("collapse_random_labels", _set(["nc1_at_tpt"], 0.07), "after the training error"),
    ("collapse_transfer", _set(["pearson_log_nc1"], -0.6), r"Pearson.*<= -0\.7"),
    ("collapse_transfer", _set(["spearman"], -0.4), r"Spearman.*<= -0\.5"),
    ("collapse_transfer", _set(["points", 1, "probe_acc"], 0.59), "strongest weight decay"),
    ("collapse_transfer", _set(["points", 0, "source_nc1"], 0.007), r"transfers worst.*0\.02"),
    ("collapse_optimizers", _set(["rows", 1, "nc1", "max"], 2e-3), r"NC1.*minibatch SGD.*2\.0e-03"),
    ("collapse_optimizers", _set(["rows", 2, "means_angle_error_max", "max"], 0.3), "Adam.*3"),
    ("collapse_optimizers", _set(["rows", 3, "nc3", "max"], 0.01), "aligns the classifier"),
    ("collapse_optimizers", _set(["rows", 0, "gap_max"], 0.01), "same objective value"),
    ("collapse_width", _set(["random", 2, "train_acc"], 0.99), "memorises the random labels"),
    ("collapse_width", _set(["random", 0, "train_acc"], 1.0), "the narrowest.*does not"),
    ("collapse_width", _set(["random", 2, "nc1_final"], 1.0), r"collapses more.*\(6x\)"),
    ("collapse_width", _set(["spread", "128-20"], 5.5), "the losses agree"),
    ("collapse_width", _set(["spread", "128-20"], 2.5), "at most 3 points"),
    ("collapse_width", _set(["spread", "128-3"], 0.3), "at width 128 after 3"),
    ("collapse_finetune", _set(["methods", 2, "nc1"], 1.1), "lower NC1 than the linear probe"),
    ("collapse_finetune", _set(["methods", 1, "test_acc"], 0.89), "higher downstream test"),
    ("collapse_finetune", _set(["methods", 2, "tuned_percent"], 60.0), "under 50%"),
    ("collapse_finetune", _set(["methods", 1, "tuned_percent"], 0.5), "sanity check"),
]


@pytest.mark.parametrize(("name", "doctor", "words"), VIOLATIONS)
def test_check_fails_on_a_result_doctored_to_violate_a_claim(name, doctor, words, passing):
    stored = copy.deepcopy(to_jsonable(passing[name]))
    collapse.CHECKS[name](stored, "full")  # holds before the doctoring
    doctor(stored)
    for profile in ("quick", "full"):
        with pytest.raises(claims.ClaimFailed, match=rf"^expected .*{words}"):
            collapse.CHECKS[name](stored, profile)
