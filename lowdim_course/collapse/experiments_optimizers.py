"""`collapse_optimizers`: collapse does not depend on the optimiser. The UFM solved by gradient
descent, minibatch SGD, Adam and L-BFGS from the same random starts, with the spread of each
statistic over the starts; with its `check_optimizers(result, profile)`. Registered in
experiments.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..claims import by_profile, claim
from ..runtime import config_threads
from .optimizers import OPTIMIZER_NAMES, solve_ufm


@dataclass(frozen=True)
class OptimizersConfig:
    problems: tuple[tuple[int, int], ...] = ((10, 20),)  # (K, d), d > K: the theorem's case
    n_per_class: int = 5
    inits: int = 4  # random starts (seeds of the starting point), the same for every optimiser
    # (optimiser, steps, step size): SGD draws `batch` samples a step; SGD's and Adam's step
    # sizes decay as a cosine; L-BFGS takes up to 20 inner iterations per step.
    optimizers: tuple[tuple[str, int, float], ...] = (
        ("gd", 500, 1.0),
        ("sgd", 1000, 0.5),
        ("adam", 700, 0.05),
        ("lbfgs", 25, 1.0),
    )
    batch: int = 10
    weight_decay: float = 5e-3
    threads: int = 1

    @classmethod
    def quick(cls) -> OptimizersConfig:
        return cls()

    @classmethod
    def full(cls) -> OptimizersConfig:
        return cls(
            problems=((10, 20), (20, 40)),
            n_per_class=20,
            inits=16,
            optimizers=(
                ("gd", 3000, 1.0),
                ("sgd", 6000, 0.5),
                ("adam", 3000, 0.05),
                ("lbfgs", 100, 1.0),
            ),
            batch=100,
            threads=0,
        )


STATISTICS = ("nc1", "means_angle_error_max", "nc3")


@config_threads
def run_optimizers(
    config: OptimizersConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """For each (K, d) and optimiser: the final objective and NC statistics of every start,
    their mean, standard deviation and worst value over the starts, and the objective's gap
    to the lowest value any optimiser reached."""
    rows = []
    for K, d in config.problems:
        group = []
        for name, steps, lr in config.optimizers:
            run = solve_ufm(name, K, d, config.n_per_class, inits=config.inits, steps=steps,
                            lr=lr, batch=config.batch, weight_decay=config.weight_decay,
                            seed=seed)  # fmt: skip
            row = {"K": K, "d": d, "optimizer": name, "steps": steps,
                   "objective": run["objective"].tolist()}  # fmt: skip
            for key in STATISTICS:
                values = np.array([m[key] for m in run["final"]])
                row[key] = {"mean": values.mean(), "std": values.std(), "max": values.max()}
            group.append(row)
        best = min(min(r["objective"]) for r in group)
        for row in group:
            row["gap_max"] = (max(row["objective"]) - best) / best  # relative
        rows += group
    return {"rows": rows, "inits": config.inits}


def check_optimizers(result: dict, profile: str) -> list[str]:
    """collapse_optimizers: for every (K, d) and every optimiser, every start ends collapsed
    (worst NC1 < 1e-3) at a simplex ETF (worst angle error < 1e-2), the classifier aligned with
    the means (worst NC3 < 1e-3), and at the lowest objective value found, within 0.5%
    (relative). A start stuck at another critical point, a spurious minimum or a saddle of
    lower rank, fails the angle and the objective claims. Same thresholds in both profiles."""
    nc1_max, angle_max = by_profile(profile, 1e-3, 1e-3), by_profile(profile, 1e-2, 1e-2)
    nc3_max, gap_max = by_profile(profile, 1e-3, 1e-3), by_profile(profile, 5e-3, 5e-3)
    rows = result["rows"]

    def listing(key):
        return "; ".join(
            f"{OPTIMIZER_NAMES[r['optimizer']]} (K={int(r['K'])}, d={int(r['d'])}) "
            f"{float(r[key]['max'] if isinstance(r[key], dict) else r[key]):.1e}"
            for r in rows
        )

    return [
        claim(
            all(float(r["nc1"]["max"]) < nc1_max for r in rows),
            f"every optimiser collapses the features: worst NC1 over the starts < {nc1_max:.0e}",
            "worst NC1: " + listing("nc1"),
        ),
        claim(
            all(float(r["means_angle_error_max"]["max"]) < angle_max for r in rows),
            f"every optimiser ends at a simplex ETF: worst |cos + 1/(K-1)| < {angle_max:.0e}",
            "worst angle error: " + listing("means_angle_error_max"),
        ),
        claim(
            all(float(r["nc3"]["max"]) < nc3_max for r in rows),
            f"every optimiser aligns the classifier with the means: worst NC3 < {nc3_max:.0e}",
            "worst NC3: " + listing("nc3"),
        ),
        claim(
            all(float(r["gap_max"]) < gap_max for r in rows),
            "every optimiser reaches the same objective value: every start within "
            f"{gap_max:.1%} of the lowest found",
            "largest relative gap: " + listing("gap_max"),
        ),
    ]
