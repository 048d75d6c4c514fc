"""Claims as code: the claim helper, the registry's link from each experiment to its check, and
every committed full-profile result checked against its lecture's claims."""

import types

import pytest

from lowdim_course import claims, experiments, results


def test_claim_returns_what_held_and_raises_with_expected_and_measured():
    assert claims.claim(True, "loss falls", "2.0 -> 0.1") == "held: loss falls (2.0 -> 0.1)"
    with pytest.raises(claims.ClaimFailed, match=r"expected loss falls; measured 2\.0 -> 3\.0"):
        claims.claim(False, "loss falls", "2.0 -> 3.0")
    assert claims.by_profile("quick", 1, 2) == 1 and claims.by_profile("full", 1, 2) == 2
    with pytest.raises(ValueError, match="profile"):
        claims.by_profile("auto", 1, 2)


def _fake_experiment(check):
    return experiments.Experiment("fake", "lectures/x.ipynb", None, None, {}, "", check)


def test_a_run_records_its_claims_and_keeps_a_failed_one(capsys):
    def check(result, profile):
        return [claims.claim(result["loss"] < 1, "loss below 1", f"{result['loss']}")]

    held = experiments.check_claims(_fake_experiment(check), {"loss": 0.5}, "quick")
    assert held == {"held": ["held: loss below 1 (0.5)"], "failed": None}
    failed = experiments.check_claims(_fake_experiment(check), {"loss": 2.0}, "full")
    assert failed["failed"] == "expected loss below 1; measured 2.0"
    assert "CLAIM FAILED for fake (full)" in capsys.readouterr().out
    assert experiments.check_claims(_fake_experiment(None), {}, "quick")["note"]


def test_checks_must_name_registered_experiments():
    module = types.SimpleNamespace(
        __name__="lowdim_course.fake",
        EXPERIMENTS={"a": (None, None, {}, "")},
        CHECKS={"b": lambda result, profile: []},
    )
    with pytest.raises(KeyError, match=r"unknown experiments \['b'\]"):
        experiments._lecture(module, "lectures/x.ipynb")


def committed_full_results():
    return [
        name
        for name in experiments.EXPERIMENTS
        if (results.results_dir(name, "full") / "results.json").exists()
    ]


@pytest.mark.parametrize("name", list(experiments.EXPERIMENTS))
def test_every_committed_full_result_passes_its_lecture_checks(name):
    if name not in committed_full_results():
        pytest.skip(f"{name}: no committed full-profile result yet (results/{name}/full/)")
    experiment = experiments.get(name)
    assert experiment.check is not None, f"{name} has committed full results but no check"
    stored = results.load_results(name, "full")
    assert stored["profile"] == "full"
    held = experiment.check(stored["metrics"], "full")
    # The lecture page shows the claims stored with the result: they must be today's.
    recorded = stored["provenance"]["claims"]
    assert recorded["failed"] is None and recorded["held"] == held, (
        f"{name}: the claims stored with its full result are not what its check says now; "
        f"run `lowdim-course check {name} --profile full` and commit the result"
    )


@pytest.mark.parametrize("name", list(experiments.EXPERIMENTS))
def test_every_committed_full_result_is_small_complete_and_says_where_it_ran(name):
    """It ships inside the package, so it stays small; it carries its figures and provenance
    (the config it ran is the full profile's, at a commit, on a named device, in a wall time)."""
    if name not in committed_full_results():
        pytest.skip(f"{name}: no committed full-profile result yet (results/{name}/full/)")
    folder = results.results_dir(name, "full")
    size = (folder / "results.json").stat().st_size
    assert size < 2_000_000, f"{name}: results.json is {size / 1e6:.1f} MB; record less"
    experiment = experiments.get(name)
    for fig_name in experiment.figures:
        assert (folder / f"{fig_name}.png").exists(), f"{name}: figure {fig_name}.png missing"
    meta = results.load_results(name, "full")["provenance"]
    assert meta["config"] == results.to_jsonable(experiment.config.full()), (
        f"{name}: the committed result ran another config than today's full profile; rerun it"
    )
    assert meta["git_commit"] and not meta["git_commit"].endswith("-dirty")
    assert meta["device"] and meta["wall_time_s"] > 0 and meta["date"]
    assert meta["claims"]["failed"] is None, meta["claims"]["failed"]


def test_getting_started_check_passes_its_quick_run_and_fails_a_doctored_one():
    from lowdim_course import getting_started as gs

    result = {
        "final": {"train_acc": 1.0, "test_acc": 0.97, "ncm_test_acc": 0.96, "within_between": 0.1},
        "history": [{"within_between": 0.9}],
    }
    assert len(gs.check(result, "quick")) == 4
    for key, value, expected in [
        ("train_acc", 0.995, "training accuracy at least 100%"),
        ("test_acc", 0.9, "test accuracy at least 95%"),
        ("within_between", 0.8, "within/between-class ratio falls"),
        ("ncm_test_acc", 0.9, "nearest-class-mean rule within 3 points"),
    ]:
        doctored = {**result, "final": {**result["final"], key: value}}
        with pytest.raises(claims.ClaimFailed, match=expected):
            gs.check(doctored, "quick")
    full = {
        **result,
        "final": {**result["final"], "train_acc": 0.995, "test_acc": 0.91, "ncm_test_acc": 0.9},
    }
    assert len(gs.check(full, "full")) == 4  # 1% training error, 90% test accuracy on CIFAR-10
