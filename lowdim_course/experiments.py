"""The registry of experiments: name -> the lecture function that runs it, its config class
(with `quick()` and `full()`, and `rehearsal()` where the full profile needs a download), and
the `plot_*` functions that draw its figures.

`run_experiment` is what `lowdim-course run NAME` does: set up the runtime, run, write
results.json with provenance and the figures, and (full profile) checkpoint on the way.

A rehearsal (`run_experiment(..., rehearse=True)`, `lowdim-course run NAME --profile full
--rehearse`) runs the full profile shrunk by `rehearsal_config`: the same code path and models,
fewer epochs, samples and runs, on whatever data $LOWDIM_DATA holds (in the tests, miniature
files in the official formats). Its results say `"rehearsal": true` in their provenance and go
to results/NAME/rehearsal/, never where the full results are read from.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt

from . import (
    claims,
    collapse,
    getting_started,
    manifolds,
    overparam,
    parsimony,
    plots,
    results,
    robust,
    runtime,
    sparse,
)
from .overrides import apply_values, variant
from .train import CheckpointError, _flat


@dataclass(frozen=True)
class Experiment:
    name: str
    lecture: str  # the notebook that presents it
    run: Callable  # run(config, *, device, seed, progress, checkpoint_dir) -> dict
    config: type  # a dataclass with classmethods quick() and full()
    figures: dict[str, Callable]  # figure name -> plot function(result) -> Figure
    summary: str
    # check(result, profile) -> lines of the claims that held; raises claims.ClaimFailed.
    # From the lecture's CHECKS dict; None where the lecture has not written one yet.
    check: Callable | None = None


def _lecture(module, notebook: str) -> list[Experiment]:
    """The experiments of one lecture package: its EXPERIMENTS, with its CHECKS. A package
    whose lecture is split over two notebooks names the other one's experiments in NOTEBOOKS
    (experiment name -> notebook)."""
    checks = getattr(module, "CHECKS", {})
    notebooks = getattr(module, "NOTEBOOKS", {})
    unknown = set(checks) - set(module.EXPERIMENTS)
    if unknown:
        raise KeyError(f"{module.__name__}.CHECKS names unknown experiments {sorted(unknown)}")
    return [
        Experiment(
            name, notebooks.get(name, notebook), run, config, figures, summary, checks.get(name)
        )
        for name, (run, config, figures, summary) in module.EXPERIMENTS.items()
    ]


EXPERIMENTS = {
    e.name: e
    for e in [
        Experiment(
            "getting_started",
            "lectures/00_getting_started.ipynb",
            getting_started.run,
            getting_started.Config,
            getting_started.FIGURES,
            "train a classifier with the course loop; accuracy and feature geometry",
            getattr(getting_started, "check", None),
        ),
        *_lecture(sparse, "lectures/01_sparse_recovery.ipynb"),
        *_lecture(manifolds, "lectures/02_manifold_classification.ipynb"),
        *_lecture(collapse, "lectures/03_neural_collapse.ipynb"),
        *_lecture(parsimony, "lectures/04_law_of_parsimony.ipynb"),
        *_lecture(robust, "lectures/05_robust_training.ipynb"),
        *_lecture(overparam, "lectures/06_overparameterization.ipynb"),
    ]
}


class UnknownExperiment(KeyError):
    def __str__(self) -> str:
        return (
            f"unknown experiment {self.args[0]!r}; choose one of {', '.join(EXPERIMENTS)} "
            "(`lowdim-course list` describes them)"
        )


def get(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise UnknownExperiment(name)
    return EXPERIMENTS[name]


def config_for(experiment: Experiment, profile: str):
    """The experiment's quick or full config (a rehearsal's is `rehearsal_config`)."""
    return experiment.config.quick() if profile == "quick" else experiment.config.full()


def rehearsal_config(experiment: Experiment):
    """The full config shrunk for a rehearsal on miniature data: `config.rehearsal()`, derived
    from `full()` (fewer epochs, samples and runs; the same code path and models)."""
    if hasattr(experiment.config, "rehearsal"):
        return experiment.config.rehearsal()
    raise ValueError(
        f"{experiment.name} has no rehearsal config (only the experiments whose full profile "
        "needs a download have one; run the others with --profile full as they are)"
    )


RUN_FILE = "run.json"  # in a checkpoint folder: the settings of the run its checkpoints belong to
IGNORED = ("checkpoint_every", "threads")  # settings a run may change and still resume


def claim_checkpoints(folder: Path, config, seed: int) -> None:
    """Tie the checkpoint folder to this run's settings: the whole config (every hyperparameter,
    also those train.train does not see, e.g. how often the lecture measures) and the seed.
    A folder of a run with other settings is refused with the settings that differ, so a rerun
    never reads back another run's checkpoints or finished trainings."""
    wanted = {k: v for k, v in _flat(results.to_jsonable(config), "").items()}
    wanted = {k: v for k, v in wanted.items() if k.rsplit(".", 1)[-1] not in IGNORED}
    wanted["seed"] = seed
    path = folder / RUN_FILE
    if path.exists():
        saved = json.loads(path.read_text())
        diff = sorted(k for k in saved.keys() | wanted.keys() if saved.get(k) != wanted.get(k))
        if diff:
            raise CheckpointError(
                f"{folder} holds the checkpoints of a run with other settings (differs in "
                f"{diff}); delete that folder, or choose another output folder with --out"
            )
    folder.mkdir(parents=True, exist_ok=True)
    results.write_json(path, wanted)


def save_figures(experiment: Experiment, result: dict, folder: Path, prefix: str = "") -> list:
    """Draw every figure of `experiment` from `result` and save them as PNG in `folder`."""
    paths = []
    for fig_name, plot in experiment.figures.items():
        fig = plot(result)
        paths.append(plots.save(fig, f"{prefix}{fig_name}", folder))
        plt.close(fig)
    return paths


def resolve_config(
    name: str, profile: str | None = None, rehearse: bool = False, overrides: dict | None = None
) -> tuple[object, dict, str]:
    """The config a run of NAME uses, before any runtime set-up: the profile's (or the
    rehearsal's) with `overrides` ({field path: value}) applied; also the overrides that changed
    it and the name of its results folder under results/NAME/ (the profile, or 'rehearsal',
    with the overrides' hash: `overrides.variant`). Bad overrides raise OverrideError."""
    experiment = get(name)
    if rehearse:
        rehearsal_config(experiment)  # fail before the runtime banner if there is none
        if runtime.resolve_profile(profile or "full") != "full":
            raise ValueError("a rehearsal shrinks the full profile: use --profile full")
        config, kind = rehearsal_config(experiment), "rehearsal"
    else:
        kind = runtime.resolve_profile(profile)
        config = config_for(experiment, kind)
    config, changed = apply_values(config, overrides or {})
    return config, changed, variant(kind, changed)


def run_experiment(
    name: str,
    profile: str | None = None,
    device: str | None = None,
    seed: int = 0,
    out: Path | str | None = None,
    progress: bool | None = None,
    rehearse: bool = False,
    overrides: dict | None = None,
) -> Path:
    """Run one experiment and write results.json and its figures; return the results folder.

    `rehearse`: the full profile at miniature scale (`rehearsal_config`), written to
    results/NAME/rehearsal/ (or `out`, never results/NAME/full/), marked as a rehearsal.
    `overrides` ({field path: value}, see overrides.py) change the config; the run then goes to
    results/NAME/PROFILE-HASH/ and its provenance records them."""
    experiment = get(name)
    config, changed, folder_name = resolve_config(name, profile, rehearse, overrides)
    if rehearse:
        profile = "full"
    rt = runtime.setup(profile, device, seed)
    default = results.results_dir(name, folder_name)
    folder = Path(out) if out else default
    if rehearse and folder.resolve() == results.results_dir(name, "full").resolve():
        raise ValueError(f"a rehearsal never writes where the full results live ({folder})")
    # Checkpoints only pay off for long runs; the quick profile finishes in seconds.
    checkpoints = folder / "checkpoints" if rt.profile == "full" else None
    if checkpoints is not None:
        claim_checkpoints(checkpoints, config, seed)
    start = time.perf_counter()
    result = experiment.run(
        config, device=rt.device, seed=seed, progress=progress, checkpoint_dir=checkpoints
    )
    wall = time.perf_counter() - start
    # The device as the run used it: a config's own `threads` (config_threads) was in force
    # during the run, not the process's setting that is back in place now.
    used = runtime.device_name(rt.device, getattr(config, "threads", 0))
    meta = results.provenance(config, seed, used, wall)
    meta["rehearsal"] = rehearse
    if changed:
        meta["overrides"] = results.to_jsonable(changed)
    meta["claims"] = check_claims(experiment, result, rt.profile)
    path = results.save_results(folder, name, rt.profile, result, meta)
    save_figures(experiment, result, folder)
    print(f"wrote {path} ({wall:.1f} s{', a rehearsal' if rehearse else ''})")
    return folder


def check_claims(experiment: Experiment, result: dict, profile: str) -> dict:
    """Run the experiment's check on `result` (as results.json stores it) and print what held;
    a failed claim is printed and recorded, not raised: the run's results are still kept."""
    if experiment.check is None:
        return {"held": [], "failed": None, "note": "this experiment has no check yet"}
    try:
        held = experiment.check(results.to_jsonable(result), profile)
    except claims.ClaimFailed as err:
        print(f"CLAIM FAILED for {experiment.name} ({profile}): {err}")
        return {"held": [], "failed": str(err)}
    for line in held:
        print(line)
    return {"held": held, "failed": None}
