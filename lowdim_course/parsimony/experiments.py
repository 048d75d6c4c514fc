"""The experiments of lecture 4: configs, `run_*` and the `EXPERIMENTS` registry entries.

- `parsimony_invariant_subspace`: deep matrix factorisation of a rank-r target; only 2r
  singular values of every layer leave eps, and the weight change stays in one 2r-dimensional
  subspace from the start.
- `parsimony_progressive_separation`: D_l decays geometrically across the layers of a trained
  DLN, at a ratio near eps^2 and under the bound 2 (sqrt(K) + 1) eps^2; a ReLU MLP on digits
  (CIFAR-10 in the full profile) for comparison.
- `parsimony_deep_completion`: the full, compressed (with gamma and with gamma = 0) and narrow
  depth-L networks and the full depth-2 network on one matrix completion problem.

Every quick run uses one torch thread (`runtime.torch_threads`, through `config_threads`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import data
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
