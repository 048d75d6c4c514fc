"""The registry of experiments: name -> the lecture function that runs it, its config class
(with `quick()` and `full()`), and the `plot_*` functions that draw its figures.

`run_experiment` is what `lowdim-course run NAME` does: set up the runtime, run, write
results.json with provenance and the figures, and (full profile) checkpoint on the way.
"""

from __future__ import annotations

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
    """The experiments of one lecture package: its EXPERIMENTS, with its CHECKS."""
    checks = getattr(module, "CHECKS", {})
    unknown = set(checks) - set(module.EXPERIMENTS)
    if unknown:
        raise KeyError(f"{module.__name__}.CHECKS names unknown experiments {sorted(unknown)}")
    return [
        Experiment(name, notebook, run, config, figures, summary, checks.get(name))
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
    return experiment.config.quick() if profile == "quick" else experiment.config.full()


def save_figures(experiment: Experiment, result: dict, folder: Path, prefix: str = "") -> list:
    """Draw every figure of `experiment` from `result` and save them as PNG in `folder`."""
    paths = []
    for fig_name, plot in experiment.figures.items():
        fig = plot(result)
        paths.append(plots.save(fig, f"{prefix}{fig_name}", folder))
        plt.close(fig)
    return paths


def run_experiment(
    name: str,
    profile: str | None = None,
    device: str | None = None,
    seed: int = 0,
    out: Path | str | None = None,
    progress: bool | None = None,
) -> Path:
    """Run one experiment and write results.json and its figures; return the results folder."""
    experiment = get(name)
    rt = runtime.setup(profile, device, seed)
    config = config_for(experiment, rt.profile)
    folder = Path(out) if out else results.results_dir(name, rt.profile)
    # Checkpoints only pay off for long runs; the quick profile finishes in seconds.
    checkpoints = folder / "checkpoints" if rt.profile == "full" else None
    start = time.perf_counter()
    result = experiment.run(
        config, device=rt.device, seed=seed, progress=progress, checkpoint_dir=checkpoints
    )
    wall = time.perf_counter() - start
    meta = results.provenance(config, seed, runtime.device_name(rt.device), wall)
    meta["claims"] = check_claims(experiment, result, rt.profile)
    path = results.save_results(folder, name, rt.profile, result, meta)
    save_figures(experiment, result, folder)
    print(f"wrote {path} ({wall:.1f} s)")
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
