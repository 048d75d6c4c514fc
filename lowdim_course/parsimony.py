"""Lecture 4, the law of parsimony in gradient descent: deep linear networks (DLNs) trained from
a small orthogonal initialisation learn only inside a low-dimensional invariant subspace (Yaras,
Wang et al. 2023); what it explains: progressive separation of features across layers (Wang et
al. 2023; He & Su 2022) and compressed training of deep matrix completion (Kwon et al. 2024).

A DLN f(x) = W_L ... W_1 x = W_{L:1} x, trained by gradient descent on
    l(W) = 1/2 ||W_{L:1} X - Y||_F^2          (regression, X whitened: X X^T = I)
or   l(W) = 1/2 ||Omega o (W_{L:1} - Phi)||_F^2   (matrix completion, Omega the observed entries)
from the eps-scaled orthogonal initialisation W_l^T W_l = eps^2 I (or W_l W_l^T = eps^2 I).
The law of parsimony: if Y X^T has rank r and the layers are d x d, every W_l(t) equals
U_l diag(W~_l(t), rho(t) I_{d-2r}) V_l^T with fixed orthogonal U_l, V_l: only a 2r x 2r block
learns; the other d - 2r singular values all equal rho(t), which stays within
O(eta t eps^{2L-1}) of eps (without weight decay; with weight decay lam, rho(t) ~ eps
(1 - eta lam)^t), and their singular subspaces never move.

All computation in float64: the untouched singular values differ from eps by ~1e-7 relative.

Experiments (quick profile, one torch thread; numbers measured on 2 CPU cores, seeds 0-4):
- `parsimony_invariant_subspace`: L = 3, d = 30, rank-3 target, eps = 3e-3: the d - 2r
  untouched singular values of every layer stay within 1.2e-7 of eps (relative), the other 2r
  move by 6% to 14% at least, the weight change has rank 2r (next singular value 4e-10 of the
  first) and stays in one subspace from the start (leak 1e-7); under 1 s.
- `parsimony_progressive_separation`: D_l = tr(Sigma_W^l)/tr(Sigma_B^l) decays geometrically
  across the layers of a trained DLN (R^2 of the log-linear fit 1.0000) at a ratio close to
  eps^2 (0.040, 0.089, 0.246 for eps = 0.2, 0.3, 0.5), under the bound 2(sqrt(K)+1) eps^2; a
  ReLU MLP on digits separates fast in its first layers and then plateaus (R^2 about 0.75);
  about 10 s.
- `parsimony_deep_completion`: d = 100, rank 5, 27% of the entries: the full width-100 depth-3
  network and the compressed width-2r_hat network (spectral initialisation, outer factors at a
  discrepant learning rate) both reach 5e-5 to 7e-5 relative error, with 30000 vs 5200
  parameters; with gamma = 0 the compressed network stalls near 0.5; a narrow network of width
  2r_hat from scratch also succeeds here; depth 2 stays above 2e-2.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import data, metrics, models, plots
from .runtime import torch_threads
from .train import TrainConfig, progress_enabled, train

DTYPE = torch.float64

# ----------------------------------------------------------------------------------------------
# 1. Deep linear networks, their initialisation and gradient descent
# ----------------------------------------------------------------------------------------------


def orthogonal_matrix(rows: int, cols: int, eps: float = 1.0, generator=None, device="cpu"):
    """eps times a (rows, cols) matrix with orthonormal columns (rows >= cols: W^T W = eps^2 I)
    or orthonormal rows (rows < cols: W W^T = eps^2 I), Haar distributed: the Q factor of a
    Gaussian matrix with the signs of R's diagonal folded in."""
    n = max(rows, cols)
    q, r = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=DTYPE))
    q = q * torch.sign(torch.diagonal(r))
    return (eps * q[:rows, :cols]).to(device)


def orthogonal_init(dims: list[int], eps: float, generator=None, device="cpu") -> list:
    """Weights W_1 ... W_L of a DLN with layer sizes dims = [d_0, d_1, ..., d_L], W_l of shape
    (d_l, d_{l-1}), each an eps-scaled orthogonal matrix."""
    return [
        orthogonal_matrix(d_out, d_in, eps, generator, device)
        for d_in, d_out in zip(dims[:-1], dims[1:])
    ]


def end_to_end(weights: list) -> torch.Tensor:
    """W_{L:1} = W_L ... W_1."""
    product = weights[0]
    for w in weights[1:]:
        product = w @ product
    return product


def dln_gradients(weights: list, x: torch.Tensor, residual_fn):
    """Gradients of a loss of the end-to-end output Z = W_{L:1} X through the chain rule:
    dl/dW_l = (W_{L:l+1})^T G (W_{l-1:1} X)^T with G = dl/dZ = residual_fn(Z).

    Returns (gradients, Z, G). Forward products are kept, backward ones built on the way down:
    two matrix products per layer, no autograd."""
    forward = [x]
    for w in weights:
        forward.append(w @ forward[-1])
    g = residual_fn(forward[-1])
    back, grads = g, [None] * len(weights)
    for l in reversed(range(len(weights))):
        grads[l] = back @ forward[l].T
        back = weights[l].T @ back
    return grads, forward[-1], g


def train_dln(
    weights: list,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    lr: float,
    weight_decay: float = 0.0,
    mask: torch.Tensor | None = None,
    record_every: int = 0,
    snapshot_every: int = 0,
):
    """Full-batch gradient descent on 1/2 ||W_{L:1} x - y||_F^2 (or 1/2 ||mask o (W_{L:1} x - y)||^2
    with a 0/1 mask, x = I for matrix completion), plus weight_decay/2 sum ||W_l||_F^2.

    Returns (final weights, losses every `record_every` steps as [(step, loss)], weight
    snapshots every `snapshot_every` steps as [(step, [W_l])])."""
    weights = [w.clone() for w in weights]
    losses, snapshots = [], []

    def residual(z):
        return (z - y) if mask is None else mask * (z - y)

    for step in range(steps + 1):
        if snapshot_every and step % snapshot_every == 0:
            snapshots.append((step, [w.clone() for w in weights]))
        grads, _, g = dln_gradients(weights, x, residual)
        if record_every and (step % record_every == 0 or step == steps):
            losses.append((step, 0.5 * g.pow(2).sum().item()))
        if step == steps:
            break
        weights = [w - lr * (dw + weight_decay * w) for w, dw in zip(weights, grads)]
    return weights, losses, snapshots


def layer_spectra(weights: list) -> list[torch.Tensor]:
    """Singular values of every layer, largest first."""
    return [torch.linalg.svdvals(w) for w in weights]


def principal_angles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Principal angles (radians, ascending) between the column spans of a and b (orthonormal)."""
    cosines = torch.linalg.svdvals(a.T @ b).clamp(-1.0, 1.0)
    return torch.arccos(cosines).flip(0)


def invariant_subspace(initial: list, trained: list, rank: int, eps: float, history=()) -> dict:
    """Measure the law of parsimony layer by layer, for a rank-r target (2r = `2 * rank`).

    The weight change D_l = W_l(T) - W_l(0) should have rank 2r; with U1, V1 its top-2r left and
    right singular vectors and V2 the other right ones:
    - untouched: max |sigma(W_l(T) V2) - eps| / eps, the d - 2r singular values left alone;
    - moved: min |sigma(W_l(T) V1) - eps| / eps, the 2r that learn;
    - rank_gap: sigma_{2r+1}(D_l) / sigma_1(D_l), ~0 when the change has rank 2r;
    - leak: over the earlier weights in `history`, the largest fraction of a change
      D_l(t) = W_l(t) - W_l(0) outside the final subspaces, ||D - U1 U1^T D V1 V1^T||_F / ||D||_F
      (at most the sine of the largest principal angle between the subspaces of the change at t
      and at T): 0 when learning stays in one fixed 2r-dimensional subspace from the start.
    """
    k = 2 * rank
    out = {"untouched": [], "moved": [], "rank_gap": [], "leak": []}
    for l, (w0, wt) in enumerate(zip(initial, trained)):
        u, s, vh = torch.linalg.svd(wt - w0)
        u1, v1, v2 = u[:, :k], vh[:k].T, vh[k:].T
        out["untouched"].append(((torch.linalg.svdvals(wt @ v2) - eps).abs().max() / eps).item())
        out["moved"].append(((torch.linalg.svdvals(wt @ v1) - eps).abs().min() / eps).item())
        out["rank_gap"].append((s[k] / s[0]).item() if len(s) > k else 0.0)
        leaks = [0.0]
        for weights in history:
            change = weights[l] - w0
            if change.norm() > 0:
                inside = u1 @ (u1.T @ change @ v1) @ v1.T
                leaks.append(((change - inside).norm() / change.norm()).item())
        out["leak"].append(max(leaks))
    return out


# ----------------------------------------------------------------------------------------------
# 2. Progressive separation: D_l across layers
# ----------------------------------------------------------------------------------------------


def separation_by_layer(weights: list, x: torch.Tensor, labels: torch.Tensor, classes: int):
    """D_l = tr(Sigma_W^l) / tr(Sigma_B^l) of the features z^l = W_{l:1} x for l = 0 (the input)
    ... L-1 (the last hidden layer); x has one sample per column."""
    features, separation = x, [metrics.within_between_ratio(x.T, labels, classes)]
    for w in weights[:-1]:
        features = w @ features
        separation.append(metrics.within_between_ratio(features.T, labels, classes))
    return separation


def log_linear_fit(values) -> dict:
    """Fit log D_l = a + b l over the layers given; returns the slope b, the ratio e^b per layer
    and the R^2 of the fit."""
    y = np.log(np.asarray(values, dtype=float))
    layers = np.arange(len(y))
    slope, intercept = np.polyfit(layers, y, 1)
    residual = y - (intercept + slope * layers)
    r2 = 1 - (residual**2).sum() / ((y - y.mean()) ** 2).sum()
    return {"slope": float(slope), "ratio": float(np.exp(slope)), "r2": float(r2)}


def separation_bound(eps: float, classes: int) -> float:
    """The bound D_{l+1}/D_l <= 2 (sqrt(K) + 1) eps^2 of Wang et al. (2023) for a trained DLN."""
    return 2 * (math.sqrt(classes) + 1) * eps**2


def orthogonal_classification_data(dim: int, classes: int, generator=None):
    """The setting of the separation theorem: N = dim samples forming an orthogonal matrix X
    (columns are samples), balanced labels, and targets Y = one-hot / sqrt(N/K), scaled so that
    Y X^T has singular values 1 (then GD with step ~0.1 is stable at any depth used here)."""
    x = orthogonal_matrix(dim, dim, 1.0, generator)
    labels = torch.arange(dim) % classes
    y = nn.functional.one_hot(labels, classes).T.to(DTYPE) / math.sqrt(dim / classes)
    return x, labels, y


def mlp_separation(
    dataset: str,
    depth: int,
    width: int,
    config: TrainConfig,
    seed: int,
    device="cpu",
    progress=None,
    max_samples: int = 10000,
    checkpoint_dir=None,
) -> dict:
    """Train a ReLU MLP (`models.MLP`) on `dataset` ('digits': features standardised; or an
    image set such as 'cifar10', flattened) with the course's training loop, then measure D_l
    after every hidden layer's ReLU on (up to `max_samples` of) the training set; l = 0 is the
    input. With `checkpoint_dir` the training checkpoints there and resumes."""
    train_set, _ = data.load(dataset)
    if not train_set.is_image:
        mean, std = train_set.x.mean(0), train_set.x.std(0) + 1e-6
        train_set = replace(train_set, x=(train_set.x - mean) / std)
    in_dim = train_set.inputs(train_set.x[:1]).flatten(1).shape[1]
    torch.manual_seed(seed)
    model = models.MLP(in_dim, train_set.num_classes, width=width, depth=depth).to(device)
    train(
        model,
        train_set,
        config,
        seed=seed,
        progress=progress,
        checkpoint_dir=checkpoint_dir,
        resume=checkpoint_dir is not None,
    )
    subset = train_set.subset(slice(0, max_samples)).to(device)
    with torch.no_grad():
        h = subset.inputs().flatten(1).float()
        separation = [metrics.within_between_ratio(h, subset.y, train_set.num_classes)]
        for layer in model.body:
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                separation.append(metrics.within_between_ratio(h, subset.y, train_set.num_classes))
        accuracy = (model.classifier(h).argmax(1) == subset.y).double().mean().item()
    return {"separation": separation, "train_accuracy": accuracy, "dataset": dataset}


# ----------------------------------------------------------------------------------------------
# 3. Deep matrix completion: full, compressed and narrow networks
# ----------------------------------------------------------------------------------------------


def relative_error(estimate: torch.Tensor, target: torch.Tensor) -> float:
    return (torch.linalg.matrix_norm(estimate - target) / torch.linalg.matrix_norm(target)).item()


def complete_full(phi, mask, depth, width, eps, lr, steps, generator, record_every=50):
    """GD on 1/2 ||Omega o (W_{L:1} - Phi)||^2 for a DLN of `depth` layers d -> width -> ... -> d
    from the eps-orthogonal initialisation. Returns [(step, seconds, relative error)]."""
    d = phi.shape[0]
    weights = orthogonal_init([d] + [width] * (depth - 1) + [d], eps, generator, phi.device)
    eye = torch.eye(d, dtype=DTYPE, device=phi.device)
    history, start = [], time.perf_counter()
    for step in range(steps + 1):
        grads, z, _ = dln_gradients(weights, eye, lambda z: mask * (z - phi))
        if step % record_every == 0 or step == steps:
            history.append((step, time.perf_counter() - start, relative_error(z, phi)))
        if step == steps:
            break
        weights = [w - lr * dw for w, dw in zip(weights, grads)]
    return history


def spectral_factors(phi, mask, width):
    """The outer factors of the compressed network: the top `width` left and right singular
    vectors of the rescaled observations Omega o Phi / p, an unbiased surrogate of Phi."""
    u, _, vh = torch.linalg.svd(mask * phi / mask.mean())
    return u[:, :width].clone(), vh[:width].T.clone()


def compressed_step(u, v, inner, phi, mask, lr, gamma):
    """One GD step of the compressed network W = U W~_L ... W~_1 V^T on
    1/2 ||Omega o (W - Phi)||^2: the inner blocks with step lr, the outer factors with gamma lr.
    Returns (u, v, inner, current end-to-end matrix before the step)."""
    state = {}

    # The inner blocks are a DLN on the input V^T (width x d) whose output U Z is compared with
    # Phi on the observed entries: dl/dZ = U^T G with G = Omega o (U Z - Phi).
    def residual(z):
        state["g"] = mask * (u @ z - phi)
        return u.T @ state["g"]

    grads, z, _ = dln_gradients(inner, v.T, residual)
    g, m = state["g"], end_to_end(inner)
    grad_u, grad_v = g @ v @ m.T, g.T @ u @ m
    inner = [w - lr * dw for w, dw in zip(inner, grads)]
    return u - gamma * lr * grad_u, v - gamma * lr * grad_v, inner, u @ z


def complete_compressed(phi, mask, depth, width, eps, lr, gamma, steps, record_every=50):
    """The compressed network W = U W~_L ... W~_1 V^T: inner blocks W~_l = eps I (width x width)
    trained with step eta, outer factors U, V (d x width, spectral initialisation) trained with
    the discrepant step gamma * eta, as the law of parsimony suggests (Kwon et al. 2024). With
    gamma = 0 the subspaces stay where the initialisation put them. Returns
    [(step, seconds, relative error)]."""
    u, v = spectral_factors(phi, mask, width)
    inner = [eps * torch.eye(width, dtype=DTYPE, device=phi.device) for _ in range(depth)]
    history, start = [], time.perf_counter()
    for step in range(steps + 1):
        u_next, v_next, inner_next, w = compressed_step(u, v, inner, phi, mask, lr, gamma)
        if step % record_every == 0 or step == steps:
            history.append((step, time.perf_counter() - start, relative_error(w, phi)))
        if step == steps:
            break
        u, v, inner = u_next, v_next, inner_next
    return history


def parameter_counts(d: int, depth: int, width: int) -> dict:
    """Numbers of trained entries: full network L d^2; compressed 2 d w + L w^2 (outer factors
    and inner blocks); narrow network of width w: 2 d w + (L - 2) w^2."""
    return {
        "full": depth * d * d,
        "compressed": 2 * d * width + depth * width * width,
        "narrow": 2 * d * width + (depth - 2) * width * width,
    }


def first_order_updates(phi, mask, depth, eps, width, gamma=1.0, generator=None, eta=1e-7):
    """The end-to-end change per unit step, (W(1) - W(0)) / eta, of the full network (eps Q_l
    initialisation, Q_l orthogonal d x d) and of the compressed one (W~_l = eps I, U and V from
    `spectral_factors`), after one step of size eta. To first order in eta:

        full:        -L eps^{2(L-1)} G,                 G = Omega o (W_{L:1}(0) - Phi),
        compressed:  -L eps^{2(L-1)} U U^T G~ V V^T - gamma eps^{2L} (G~ V V^T + U U^T G~),

    G~ the compressed network's residual (every partial product of the full network is eps^k
    times an orthogonal matrix; the compressed inner product is eps^L I). So inside the subspace,
    U^T (change) V, the compressed network moves like the full one times 1 + 2 gamma eps^2 / L
    when the residuals agree: the outer factors add the terms of two extra layers of scale 1.
    Returns the two changes and U, V (the tests compare them with these formulas)."""
    d = phi.shape[0]
    full = orthogonal_init([d] * (depth + 1), eps, generator)
    grads, z, _ = dln_gradients(full, torch.eye(d, dtype=DTYPE), lambda z: mask * (z - phi))
    full_change = (end_to_end([w - eta * dw for w, dw in zip(full, grads)]) - z) / eta
    u, v = spectral_factors(phi, mask, width)
    inner = [eps * torch.eye(width, dtype=DTYPE) for _ in range(depth)]
    u1, v1, inner1, w0 = compressed_step(u, v, inner, phi, mask, eta, gamma)
    compressed_change = (u1 @ end_to_end(inner1) @ v1.T - w0) / eta
    return {
        "full": full_change,
        "full_start": z,
        "compressed": compressed_change,
        "compressed_start": w0,
        "u": u,
        "v": v,
    }


# ----------------------------------------------------------------------------------------------
# Experiments
# ----------------------------------------------------------------------------------------------


def _low_rank_target(d: int, rank: int, generator, device="cpu"):
    """Phi = U diag(rank, ..., 1) V^T / rank (d x d): distinct singular values 1, (r-1)/r, ...,
    1/r, so GD learns them one after the other (incremental learning) at visible times."""
    u = orthogonal_matrix(d, rank, 1.0, generator)
    v = orthogonal_matrix(d, rank, 1.0, generator)
    sigma = torch.arange(rank, 0, -1, dtype=DTYPE) / rank
    return (u * sigma) @ v.T


@dataclass(frozen=True)
class InvariantConfig:
    dim: int = 30
    rank: int = 3
    depth: int = 3
    eps: float = 3e-3
    lr: float = 0.5
    steps: int = 3000
    weight_decay: float = 0.0
    snapshot_every: int = 50
    threads: int = 1

    @classmethod
    def quick(cls) -> InvariantConfig:
        return cls()

    @classmethod
    def full(cls) -> InvariantConfig:
        return cls(
            dim=500, rank=10, depth=4, eps=1e-2, lr=0.2, steps=6000, snapshot_every=50, threads=0
        )


def run_invariant(
    config: InvariantConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Deep matrix factorisation of a rank-r d x d target (X = I, so the whitened-regression and
    factorisation problems coincide) from the eps-orthogonal initialisation; singular values of
    every layer over training and the invariant-subspace measurements. Seconds: no checkpoints."""
    with torch_threads(config.threads):
        g = torch.Generator().manual_seed(seed)
        target = _low_rank_target(config.dim, config.rank, g).to(device)
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


def plot_invariant(result: dict):
    """Left: the loss; middle and right: singular values of the first and last layers."""
    fig, axes = plots.subplots(1, 3, width=4.4, height=3.8)
    steps = np.asarray(result["steps"])
    axes[0].semilogy(steps, result["loss"], color=plots.OKABE_ITO[0])
    axes[0].set(xlabel="GD step", ylabel="loss", title="Incremental learning")
    spectra = np.asarray(result["spectra"])
    k = 2 * result["rank"]
    for ax, layer in zip(axes[1:], [0, spectra.shape[1] - 1]):
        for i in range(spectra.shape[2]):
            moving = i < k
            ax.semilogy(
                steps,
                spectra[:, layer, i],
                lw=1.2 if moving else 0.6,
                color=plots.OKABE_ITO[5 if moving else 7],
                alpha=1 if moving else 0.5,
            )
        ax.set(
            xlabel="GD step",
            ylabel="singular values",
            title=f"Layer {layer + 1}: {k} move, {spectra.shape[2] - k} stay at eps",
        )
    return fig


@dataclass(frozen=True)
class SeparationConfig:
    dim: int = 30
    classes: int = 3
    depth: int = 6
    eps_values: tuple = (0.2, 0.3, 0.5)
    lr: float = 0.15
    steps: int = 5000
    mlp_dataset: str = "digits"
    mlp_depth: int = 6
    mlp_width: int = 128
    # 150 epochs of 10 batches of 128 on the 1347 training digits
    mlp_train: TrainConfig = TrainConfig(epochs=150, batch_size=128, lr=0.05, weight_decay=5e-4)
    threads: int = 1

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


def run_separation(
    config: SeparationConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """D_l across the layers of DLNs trained from eps-orthogonal initialisations (one per eps)
    on orthogonal data, with the fitted per-layer ratio against the bound; and D_l of a ReLU
    MLP trained on digits."""
    with torch_threads(config.threads):
        g = torch.Generator().manual_seed(seed)
        x, labels, y = orthogonal_classification_data(config.dim, config.classes, g)
        dims = [config.dim] * config.depth + [config.classes]
        runs = {}
        for eps in tqdm(config.eps_values, desc="DLNs", disable=not progress_enabled(progress)):
            start = orthogonal_init(dims, eps, g)
            trained, losses, _ = train_dln(
                start, x, y, config.steps, config.lr, record_every=config.steps
            )
            d_l = separation_by_layer(trained, x, labels, config.classes)
            runs[str(eps)] = {
                "separation": d_l,
                "fit": log_linear_fit(d_l[1:]),  # the input layer follows no trained map
                "bound": separation_bound(eps, config.classes),
                "final_loss": losses[-1][1],
            }
        mlp = mlp_separation(
            config.mlp_dataset,
            config.mlp_depth,
            config.mlp_width,
            config.mlp_train,
            seed,
            device,
            progress,
            checkpoint_dir=Path(checkpoint_dir) / "mlp" if checkpoint_dir else None,
        )
        mlp["fit"] = log_linear_fit(mlp["separation"][1:])
        return {"classes": config.classes, "dln": runs, "mlp": mlp}


def plot_separation(result: dict):
    """Left: D_l of the DLNs per eps; middle: measured ratio vs the bound; right: the MLP."""
    fig, axes = plots.subplots(1, 3, width=4.4, height=3.8)
    eps_values = [float(e) for e in result["dln"]]
    for color, (eps, run) in zip(plots.OKABE_ITO[1:], result["dln"].items()):
        axes[0].semilogy(
            run["separation"], "o-", color=color, label=f"eps = {eps} (R^2 {run['fit']['r2']:.3f})"
        )
    axes[0].set(
        xlabel="layer l",
        ylabel=r"$D_l = \mathrm{tr}\,\Sigma_W^l / \mathrm{tr}\,\Sigma_B^l$",
        title="Deep linear network",
    )
    axes[0].legend(fontsize=8)
    grid = np.linspace(min(eps_values) * 0.8, max(eps_values) * 1.1, 50)
    k = result["classes"]
    axes[1].plot(
        grid,
        [separation_bound(e, k) for e in grid],
        "k--",
        label=r"bound $2(\sqrt{K}+1)\varepsilon^2$",
    )
    axes[1].plot(grid, grid**2, ":", color="0.5", label=r"$\varepsilon^2$")
    axes[1].plot(
        eps_values,
        [r["fit"]["ratio"] for r in result["dln"].values()],
        "o",
        color=plots.OKABE_ITO[5],
        label="measured $D_{l+1}/D_l$",
    )
    axes[1].set(
        xlabel=r"initialisation scale $\varepsilon$",
        ylabel="decay ratio per layer",
        title="Decay rate against the bound",
    )
    axes[1].legend(fontsize=8)
    mlp = result["mlp"]
    axes[2].semilogy(mlp["separation"], "o-", color=plots.OKABE_ITO[2])
    axes[2].set(
        xlabel="layer l",
        ylabel="$D_l$",
        title=f"ReLU MLP on {mlp['dataset']} (R^2 {mlp['fit']['r2']:.2f})",
    )
    return fig


@dataclass(frozen=True)
class CompletionConfig:
    dim: int = 100
    rank: int = 5
    rank_estimate: int = 10  # r_hat > r: the compressed width is 2 r_hat
    rate: float = 0.27  # fraction of observed entries: depth 3 succeeds here, depth 2 does not
    depth: int = 3
    eps: float = 1e-2
    eps_depth2: float = 1e-3
    lr: float = 1.0
    gamma: float = 1.0  # discrepant step of the outer factors, gamma * lr
    steps: int = 2000
    record_every: int = 25
    threads: int = 1

    @classmethod
    def quick(cls) -> CompletionConfig:
        return cls()

    @classmethod
    def full(cls) -> CompletionConfig:
        return cls(
            dim=1000, rank=10, rank_estimate=20, rate=0.1, steps=6000, record_every=50, threads=0
        )


def run_completion(
    config: CompletionConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Deep matrix completion with the full network, the compressed network (gamma and, as a
    control, gamma = 0), a narrow network of the compressed width, and the full depth-2
    network (Burer-Monteiro with small initialisation), on one problem."""
    with torch_threads(config.threads):
        g = torch.Generator().manual_seed(seed)
        m, mask = data.completion_problem(
            config.dim, config.dim, config.rank, config.rate, g, device
        )
        phi, mask = m / torch.linalg.matrix_norm(m, 2), mask.to(DTYPE)
        width = 2 * config.rank_estimate
        c = config
        runs = {
            "full": complete_full(
                phi, mask, c.depth, c.dim, c.eps, c.lr, c.steps, g, c.record_every
            ),
            "compressed": complete_compressed(
                phi, mask, c.depth, width, c.eps, c.lr, c.gamma, c.steps, c.record_every
            ),
            "compressed, gamma = 0": complete_compressed(
                phi, mask, c.depth, width, c.eps, c.lr, 0.0, c.steps, c.record_every
            ),
            "narrow": complete_full(
                phi, mask, c.depth, width, c.eps, c.lr, c.steps, g, c.record_every
            ),
            "full, depth 2": complete_full(
                phi, mask, 2, c.dim, c.eps_depth2, c.lr, c.steps, g, c.record_every
            ),
        }
        return {
            "runs": {name: np.asarray(h).T for name, h in runs.items()},  # rows: step, s, error
            "final_error": {name: h[-1][2] for name, h in runs.items()},
            "parameters": parameter_counts(config.dim, config.depth, width),
            "rate": config.rate,
            "depth": config.depth,
        }


def plot_completion(result: dict):
    """Relative error against GD steps and against wall-clock time."""
    fig, (ax, ax2) = plots.subplots(1, 2, width=5.4, height=4.0)
    params = result["parameters"]
    counts = {
        "full": params["full"],
        "compressed": params["compressed"],
        "compressed, gamma = 0": params["compressed"],
        "narrow": params["narrow"],
        "full, depth 2": 2 * int(np.sqrt(params["full"] / result["depth"])) ** 2,
    }
    for color, (name, (steps, seconds, error)) in zip(plots.OKABE_ITO, result["runs"].items()):
        label = f"{name} ({counts[name]} parameters)"
        ax.semilogy(steps, error, color=color, label=label)
        ax2.semilogy(seconds, error, color=color)
    ax.set(
        xlabel="GD step",
        ylabel=r"$\|W - \Phi\|_F / \|\Phi\|_F$",
        title=f"Deep matrix completion, {result['rate']:.0%} observed",
    )
    ax.legend(fontsize=7)
    ax2.set(
        xlabel="wall-clock time (s)", ylabel="relative error", title="The same runs against time"
    )
    return fig


INVARIANT_FIGURES = {"invariant_subspace": plot_invariant}
SEPARATION_FIGURES = {"progressive_separation": plot_separation}
COMPLETION_FIGURES = {"deep_completion": plot_completion}

# name -> (run, config class, figures, one-line summary), for experiments.py to register.
EXPERIMENTS = {
    "parsimony_invariant_subspace": (
        run_invariant,
        InvariantConfig,
        INVARIANT_FIGURES,
        "DLN from eps-orthogonal init: only 2r singular values per layer move",
    ),
    "parsimony_progressive_separation": (
        run_separation,
        SeparationConfig,
        SEPARATION_FIGURES,
        "feature separation D_l decays geometrically across layers (DLN, ReLU MLP)",
    ),
    "parsimony_deep_completion": (
        run_completion,
        CompletionConfig,
        COMPLETION_FIGURES,
        "deep matrix completion: full vs compressed vs narrow networks; depth 2 vs 3",
    ),
}
