"""The experiments of lecture 4: configs, `run_*` and the `EXPERIMENTS` registry entries.

- `parsimony_invariant_subspace`: deep matrix factorisation of a rank-r target; only 2r
  singular values of every layer leave eps, and the weight change stays in one 2r-dimensional
  subspace from the start.
- `parsimony_progressive_separation`: D_l decays geometrically across the layers of a trained
  DLN, at a ratio near eps^2 and under the bound 2 (sqrt(K) + 1) eps^2; a ReLU MLP on digits
  (CIFAR-10 in the full profile) for comparison.
- `parsimony_deep_completion`: the full, compressed (with gamma and with gamma = 0) and narrow
  depth-L networks and the full depth-2 network on one matrix completion problem.

`check_invariant`, `check_separation` and `check_completion` (collected in `CHECKS`) state each
experiment's claims as code: they read the result dict, live or as results.json stores it, and
raise `claims.ClaimFailed` at the first claim that does not hold.

Every quick run uses one torch thread (`runtime.torch_threads`, through `config_threads`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import data
from ..claims import claim
from ..runtime import config_threads
from ..train import TrainConfig, progress_enabled
from . import plots
from .completion import complete_compressed, complete_full, parameter_counts, relative_error
from .deep_linear import (
    DTYPE,
    end_to_end,
    invariant_subspace,
    layer_spectra,
    low_rank_target,
    orthogonal_init,
    train_dln,
)
from .separation import (
    log_linear_fit,
    mlp_separation,
    orthogonal_classification_data,
    separation_bound,
    separation_by_layer,
)


@dataclass(frozen=True)
class InvariantConfig:
    dim: int = 30  # d, the layers are d x d
    rank: int = 3  # r, the rank of the target
    depth: int = 3  # L
    eps: float = 3e-3  # scale of the orthogonal initialisation
    lr: float = 0.5  # GD step
    steps: int = 3000
    weight_decay: float = 0.0
    snapshot_every: int = 50  # steps between recorded weights (and losses)
    threads: int = 1  # torch CPU threads during the run (0: unchanged)

    @classmethod
    def quick(cls) -> InvariantConfig:
        return cls()

    @classmethod
    def full(cls) -> InvariantConfig:
        return cls(
            dim=500, rank=10, depth=4, eps=1e-2, lr=0.2, steps=6000, snapshot_every=50, threads=0
        )


@config_threads
def run_invariant(
    config: InvariantConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Deep matrix factorisation of a rank-r d x d target (X = I, so the whitened-regression and
    factorisation problems coincide) from the eps-orthogonal initialisation; singular values of
    every layer over training and the invariant-subspace measurements. Seconds: no checkpoints."""
    g = torch.Generator().manual_seed(seed)
    target = low_rank_target(config.dim, config.rank, g, device)
    start = orthogonal_init([config.dim] * (config.depth + 1), config.eps, g, device)
    eye = torch.eye(config.dim, dtype=DTYPE, device=device)
    trained, losses, snapshots = train_dln(
        start,
        eye,
        target,
        config.steps,
        config.lr,
        config.weight_decay,
        record_every=config.snapshot_every,
        snapshot_every=config.snapshot_every,
    )
    history = [w for _, w in snapshots[1:]]
    report = invariant_subspace(start, trained, config.rank, config.eps, history)
    spectra = torch.stack([torch.stack(layer_spectra(w)) for _, w in snapshots])  # (T, L, d)
    return {
        "steps": [s for s, _ in snapshots],
        "loss": [value for _, value in losses],
        "spectra": spectra.cpu(),
        "eps": config.eps,
        "rank": config.rank,
        "final_error": relative_error(end_to_end(trained), target),
        **report,
    }


def _values(values) -> str:
    return ", ".join(f"{float(v):.1e}" for v in np.asarray(values, dtype=float).ravel())


def check_invariant(result: dict, profile: str) -> list[str]:
    """The law of parsimony on the factorisation run: in every layer the d - 2r untouched
    singular values stay at eps, the 2r others move, the weight change has rank 2r and lies in
    the same subspaces at every earlier snapshot, and GD fits the target. The thresholds are
    relative (the measures of `invariant_subspace`) and the same in both profiles."""
    untouched, moved = np.asarray(result["untouched"]), np.asarray(result["moved"])
    rank_gap, leak = np.asarray(result["rank_gap"]), np.asarray(result["leak"])
    error = float(result["final_error"])
    return [
        claim(
            float(untouched.max()) <= 1e-6,
            "the d - 2r untouched singular values of every layer stay within 1e-6 of eps "
            "(relative)",
            f"largest relative distance per layer {_values(untouched)}",
        ),
        claim(
            float(moved.min()) > 10 * 1e-6,
            "the 2r learning singular values of every layer move by more than 10x that (1e-5)",
            f"smallest relative move per layer {_values(moved)}",
        ),
        claim(
            float(rank_gap.max()) < 1e-6,
            "the weight change of every layer has rank 2r (sigma_2r+1 / sigma_1 < 1e-6)",
            f"per layer {_values(rank_gap)}",
        ),
        claim(
            float(leak.max()) < 1e-5,
            "the learning subspace does not rotate: every earlier change lies in the final "
            "2r-dimensional subspaces (leak < 1e-5)",
            f"largest leak per layer {_values(leak)}",
        ),
        claim(
            error < 1e-4,
            "GD fits the target (relative error of W_L:1 < 1e-4)",
            f"relative error {error:.1e}",
        ),
    ]


@dataclass(frozen=True)
class SeparationConfig:
    dim: int = 30  # d = N: orthogonal data, one sample per dimension
    classes: int = 3  # K
    depth: int = 6  # layers of the DLNs
    eps_values: tuple = (0.2, 0.3, 0.5)  # initialisation scales, one DLN each
    lr: float = 0.15  # GD step of the DLNs
    steps: int = 5000
    mlp_dataset: str = "digits"
    mlp_depth: int = 6  # hidden layers of the ReLU MLP
    mlp_width: int = 128
    # 150 epochs of 10 batches of 128 on the 1347 training digits
    mlp_train: TrainConfig = TrainConfig(epochs=150, batch_size=128, lr=0.05, weight_decay=5e-4)
    threads: int = 1  # torch CPU threads during the run (0: unchanged)

    @classmethod
    def quick(cls) -> SeparationConfig:
        return cls()

    @classmethod
    def full(cls) -> SeparationConfig:
        # A ten-layer MLP on CIFAR-10 pixels (He & Su train such networks to the terminal phase).
        return cls(
            dim=100,
            classes=5,
            depth=10,
            eps_values=(0.2, 0.3, 0.4, 0.5, 0.7),
            steps=40000,
            mlp_dataset="cifar10",
            mlp_depth=10,
            mlp_width=1024,
            mlp_train=TrainConfig(
                epochs=200, batch_size=128, lr=0.05, weight_decay=5e-4, checkpoint_every=10
            ),
            threads=0,
        )


def dln_separation(config: SeparationConfig, eps: float, x, labels, y, generator) -> dict:
    """Train one DLN from the eps-orthogonal initialisation on the orthogonal data; its D_l,
    the log-linear fit over the trained layers, the bound and the final loss."""
    dims = [config.dim] * config.depth + [config.classes]
    start = orthogonal_init(dims, eps, generator)
    trained, losses, _ = train_dln(start, x, y, config.steps, config.lr, record_every=config.steps)
    d_l = separation_by_layer(trained, x, labels, config.classes)
    return {
        "separation": d_l,
        "fit": log_linear_fit(d_l[1:]),  # the input layer follows no trained map
        "bound": separation_bound(eps, config.classes),
        "final_loss": losses[-1][1],
    }


@config_threads
def run_separation(
    config: SeparationConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """D_l across the layers of DLNs trained from eps-orthogonal initialisations (one per eps)
    on orthogonal data, with the fitted per-layer ratio against the bound; and D_l of a ReLU
    MLP trained on digits."""
    g = torch.Generator().manual_seed(seed)
    x, labels, y = orthogonal_classification_data(config.dim, config.classes, g)
    eps_values = tqdm(config.eps_values, desc="DLNs", disable=not progress_enabled(progress))
    runs = {str(eps): dln_separation(config, eps, x, labels, y, g) for eps in eps_values}
    mlp = mlp_separation(
        config.mlp_dataset,
        depth=config.mlp_depth,
        width=config.mlp_width,
        config=config.mlp_train,
        seed=seed,
        device=device,
        progress=progress,
        checkpoint_dir=Path(checkpoint_dir) / "mlp" if checkpoint_dir else None,
    )
    mlp["fit"] = log_linear_fit(mlp["separation"][1:])
    return {"classes": config.classes, "dln": runs, "mlp": mlp}


def check_separation(result: dict, profile: str) -> list[str]:
    """Progressive separation in the DLNs: for every eps, log D_l is linear across the trained
    layers, the per-layer ratio is at most the bound 2 (sqrt(K) + 1) eps^2 and the DLN reaches
    a global minimum; the larger eps, the slower the decay. The same thresholds in both
    profiles."""
    lines = []
    runs = sorted(result["dln"].items(), key=lambda item: float(item[0]))
    for eps, run in runs:
        r2, ratio = float(run["fit"]["r2"]), float(run["fit"]["ratio"])
        bound, loss = float(run["bound"]), float(run["final_loss"])
        lines += [
            claim(
                r2 > 0.95,
                f"eps = {eps}: log D_l is linear in the layer (R^2 > 0.95)",
                f"R^2 {r2:.5f}",
            ),
            claim(
                ratio <= bound,
                f"eps = {eps}: the ratio D_l+1 / D_l is at most the bound 2 (sqrt(K) + 1) eps^2",
                f"ratio {ratio:.4f}, bound {bound:.4f}",
            ),
            claim(
                loss < 1e-8,
                f"eps = {eps}: the DLN reaches a global minimum (final loss < 1e-8)",
                f"final loss {loss:.1e}",
            ),
        ]
    ratios = [float(run["fit"]["ratio"]) for _, run in runs]
    lines.append(
        claim(
            all(a < b for a, b in zip(ratios, ratios[1:])),
            "the larger eps, the slower the decay (the ratio increases with eps)",
            ", ".join(f"eps = {eps}: {r:.4f}" for (eps, _), r in zip(runs, ratios)),
        )
    )
    return lines


@dataclass(frozen=True)
class CompletionConfig:
    dim: int = 100  # d, the target is d x d
    rank: int = 5  # r
    rank_estimate: int = 10  # r_hat > r: the compressed width is 2 r_hat
    rate: float = 0.27  # fraction of observed entries: depth 3 succeeds here, depth 2 does not
    depth: int = 3
    eps: float = 1e-2  # initialisation scale of the depth-L networks
    eps_depth2: float = 1e-3  # and of the depth-2 one
    lr: float = 1.0
    gamma: float = 1.0  # discrepant step of the outer factors, gamma * lr
    steps: int = 2000
    record_every: int = 25  # steps between recorded errors
    threads: int = 1  # torch CPU threads during the run (0: unchanged)

    @classmethod
    def quick(cls) -> CompletionConfig:
        return cls()

    @classmethod
    def full(cls) -> CompletionConfig:
        return cls(
            dim=1000, rank=10, rank_estimate=20, rate=0.1, steps=6000, record_every=50, threads=0
        )


@config_threads
def run_completion(
    config: CompletionConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Deep matrix completion with the full network, the compressed network (gamma and, as a
    control, gamma = 0), a narrow network of the compressed width, and the full depth-2
    network (Burer-Monteiro with small initialisation), on one problem. `parameters_by_run`
    gives each run's number of trained entries (from `parameter_counts`)."""
    c = config
    g = torch.Generator().manual_seed(seed)
    m, mask = data.completion_problem(c.dim, c.dim, c.rank, c.rate, g, device)
    phi, mask = m / torch.linalg.matrix_norm(m, 2), mask.to(DTYPE)
    width = 2 * c.rank_estimate
    schedule = {"lr": c.lr, "steps": c.steps, "record_every": c.record_every}
    deep = {"depth": c.depth, "eps": c.eps}
    runs = {
        "full": complete_full(phi, mask, **deep, width=c.dim, generator=g, **schedule),
        "compressed": complete_compressed(
            phi, mask, **deep, width=width, gamma=c.gamma, **schedule
        ),
        "compressed, gamma = 0": complete_compressed(
            phi, mask, **deep, width=width, gamma=0.0, **schedule
        ),
        "narrow": complete_full(phi, mask, **deep, width=width, generator=g, **schedule),
        "full, depth 2": complete_full(
            phi, mask, depth=2, eps=c.eps_depth2, width=c.dim, generator=g, **schedule
        ),
    }
    counts = parameter_counts(c.dim, c.depth, width)
    parameters_by_run = {
        "full": counts["full"],
        "compressed": counts["compressed"],
        "compressed, gamma = 0": counts["compressed"],
        "narrow": counts["narrow"],
        "full, depth 2": parameter_counts(c.dim, 2, width)["full"],
    }
    return {
        "runs": {name: np.asarray(h).T for name, h in runs.items()},  # rows: step, s, error
        "final_error": {name: h[-1][2] for name, h in runs.items()},
        "parameters": counts,
        "parameters_by_run": parameters_by_run,
        "rate": c.rate,
        "depth": c.depth,
    }


def check_completion(result: dict, profile: str) -> list[str]:
    """Deep matrix completion: the compressed network reaches the full one's error with a
    fraction of its parameters; at this sampling rate depth L recovers the matrix and depth 2
    does not; with frozen subspaces (gamma = 0) the compressed network stalls. The same
    thresholds in both profiles."""
    final = {name: float(error) for name, error in result["final_error"].items()}
    params = {name: int(count) for name, count in result["parameters"].items()}
    rate, depth = float(result["rate"]), int(result["depth"])
    return [
        claim(
            final["compressed"] <= 2 * final["full"],
            "the compressed network reaches the full one's error within 2x",
            f"relative error compressed {final['compressed']:.1e}, full {final['full']:.1e}",
        ),
        claim(
            params["compressed"] < params["full"] / 4,
            "the compressed network has under a quarter of the full one's parameters",
            f"compressed {params['compressed']}, full {params['full']}",
        ),
        claim(
            final["full"] < 1e-4,
            f"at {rate:.0%} observed, the full depth-{depth} network recovers the matrix "
            "(relative error < 1e-4)",
            f"relative error {final['full']:.1e}",
        ),
        claim(
            final["full, depth 2"] > 1e-2,
            f"at {rate:.0%} observed, the full depth-2 network does not (relative error > 1e-2)",
            f"relative error {final['full, depth 2']:.1e}",
        ),
        claim(
            final["compressed, gamma = 0"] > 0.1,
            "frozen subspaces do not suffice: the compressed network with gamma = 0 stalls "
            "(relative error > 0.1)",
            f"relative error {final['compressed, gamma = 0']:.1e}",
        ),
    ]


# name -> (run, config class, figures, one-line summary), for lowdim_course.experiments.
EXPERIMENTS = {
    "parsimony_invariant_subspace": (
        run_invariant,
        InvariantConfig,
        {"invariant_subspace": plots.plot_invariant},
        "DLN from eps-orthogonal init: only 2r singular values per layer move",
    ),
    "parsimony_progressive_separation": (
        run_separation,
        SeparationConfig,
        {"progressive_separation": plots.plot_separation},
        "feature separation D_l decays geometrically across layers (DLN, ReLU MLP)",
    ),
    "parsimony_deep_completion": (
        run_completion,
        CompletionConfig,
        {"deep_completion": plots.plot_completion},
        "deep matrix completion: full vs compressed vs narrow networks; depth 2 vs 3",
    ),
}

CHECKS = {
    "parsimony_invariant_subspace": check_invariant,
    "parsimony_progressive_separation": check_separation,
    "parsimony_deep_completion": check_completion,
}
