"""Deep linear networks (DLNs) and the law of parsimony (Yaras, Wang et al. 2023).

A DLN f(x) = W_L ... W_1 x = W_{L:1} x, trained by gradient descent on
    l(W) = 1/2 ||W_{L:1} X - Y||_F^2          (regression, X whitened: X X^T = I)
or   l(W) = 1/2 ||Omega o (W_{L:1} - Phi)||_F^2   (matrix completion, Omega the observed entries)
from the eps-scaled orthogonal initialisation W_l^T W_l = eps^2 I (or W_l W_l^T = eps^2 I).
The law of parsimony: if Y X^T has rank r and the layers are d x d, every W_l(t) equals
U_l diag(W~_l(t), rho(t) I_{d-2r}) V_l^T with fixed orthogonal U_l, V_l: only a 2r x 2r block
learns; the other d - 2r singular values all equal rho(t), which stays within
O(eta t eps^{2L-1}) of eps (without weight decay; with weight decay lam, rho(t) ~ eps
(1 - eta lam)^t), and their singular subspaces never move.

This module holds the initialisation, the end-to-end map, its gradients without autograd,
full-batch gradient descent, and `invariant_subspace`, which measures the law layer by layer.
All computation is in float64: the untouched singular values must be resolved far below
float32's precision.
"""

from __future__ import annotations

import math

import torch

DTYPE = torch.float64


def plateau_steps(depth: int, lr: float, sigma: float, eps: float) -> float:
    """GD steps a depth-L DLN spends near its eps-orthogonal start before it fits a target
    singular value sigma (the escape time of the balanced mode ds/dt = lr s^{L-1} (sigma - s^L)
    with s(0) = eps, to leading order in eps):

        1 / ((L - 2) lr sigma eps^{L-2})  for L >= 3,  ln(sigma / eps^2) / (2 lr sigma)  for L = 2.

    For a generic (not target-aligned) orthogonal start GD takes some 1.2-1.4 times as long:
    the first part of the climb goes at about half speed (tests/test_parsimony_plateau.py).
    With a mask of observed fraction p (matrix completion), pass sigma = p sigma_i."""
    if depth < 2:
        raise ValueError(f"a plateau needs depth >= 2, got {depth}")
    if depth == 2:
        return math.log(sigma / eps**2) / (2 * lr * sigma)
    return 1.0 / ((depth - 2) * lr * sigma * eps ** (depth - 2))


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


def low_rank_target(d: int, rank: int, generator, device="cpu"):
    """Phi = U diag(rank, ..., 1) V^T / rank (d x d): distinct singular values 1, (r-1)/r, ...,
    1/r, so GD learns them one after the other (incremental learning) at visible times."""
    u = orthogonal_matrix(d, rank, 1.0, generator)
    v = orthogonal_matrix(d, rank, 1.0, generator)
    sigma = torch.arange(rank, 0, -1, dtype=DTYPE) / rank
    return ((u * sigma) @ v.T).to(device)


def end_to_end(weights: list) -> torch.Tensor:
    """W_{L:1} = W_L ... W_1."""
    product = weights[0]
    for w in weights[1:]:
        product = w @ product
    return product


def dln_forward(weights: list, x: torch.Tensor | None) -> list:
    """The partial products [X, W_1 X, W_{2:1} X, ..., W_{L:1} X]; x = None stands for X = I
    (factorisation and completion), which saves the product W_1 I."""
    forward = [x, weights[0] if x is None else weights[0] @ x]
    for w in weights[1:]:
        forward.append(w @ forward[-1])
    return forward


def dln_backward(weights: list, forward: list, g: torch.Tensor) -> list:
    """dl/dW_l = (W_{L:l+1})^T G (W_{l-1:1} X)^T for every layer, given G = dl/dZ and the
    partial products of `dln_forward`; the backward products are built on the way down."""
    back, grads = g, [None] * len(weights)
    for l in reversed(range(len(weights))):
        grads[l] = back if forward[l] is None else back @ forward[l].T
        if l > 0:  # W_1^T (...) would only feed a gradient with respect to X
            back = weights[l].T @ back
    return grads


def dln_gradients(weights: list, x: torch.Tensor, residual_fn):
    """Gradients of a loss of the end-to-end output Z = W_{L:1} X through the chain rule, with
    G = dl/dZ = residual_fn(Z) (x = None: X = I). Returns (gradients, Z, G): about three matrix
    products per layer, no autograd."""
    forward = dln_forward(weights, x)
    g = residual_fn(forward[-1])
    return dln_backward(weights, forward, g), forward[-1], g


def gradient_descent(weights: list, x: torch.Tensor, residual_fn, *, steps, lr, weight_decay=0.0):
    """Full-batch gradient descent on a DLN, the algorithm the law of parsimony is about (so it
    is written out here rather than run through `train.train`): W_l <- W_l - lr (dl/dW_l +
    weight_decay W_l), with dl/dZ = residual_fn(Z) (x = None: X = I).

    Yields (step, weights, Z, G) for step = 0 ... steps: the weights at that step, before its
    update, their output Z = W_{L:1} x and G = residual_fn(Z)."""
    for step in range(steps + 1):
        grads, z, g = dln_gradients(weights, x, residual_fn)
        yield step, weights, z, g
        if step == steps:
            return
        weights = [w - lr * (dw + weight_decay * w) for w, dw in zip(weights, grads)]


def train_dln(
    weights: list,
    x: torch.Tensor | None,
    y: torch.Tensor,
    steps: int,
    lr: float,
    weight_decay: float = 0.0,
    mask: torch.Tensor | None = None,
    record_every: int = 0,
    snapshot_every: int = 0,
):
    """Full-batch gradient descent on 1/2 ||W_{L:1} x - y||_F^2 (or 1/2 ||mask o (W_{L:1} x - y)||^2
    with a 0/1 mask, x = I or None for matrix completion), plus weight_decay/2 sum ||W_l||_F^2.

    Returns (final weights, losses every `record_every` steps as [(step, loss)], weight
    snapshots every `snapshot_every` steps as [(step, [W_l])])."""

    def residual(z):
        return (z - y) if mask is None else mask * (z - y)

    losses, snapshots = [], []
    start = [w.clone() for w in weights]
    descent = gradient_descent(start, x, residual, steps=steps, lr=lr, weight_decay=weight_decay)
    for step, current, _, g in descent:
        if snapshot_every and step % snapshot_every == 0:
            snapshots.append((step, [w.clone() for w in current]))
        if record_every and (step % record_every == 0 or step == steps):
            losses.append((step, 0.5 * g.pow(2).sum().item()))
    return current, losses, snapshots


def layer_spectra(weights: list) -> list[torch.Tensor]:
    """Singular values of every layer, largest first."""
    return [torch.linalg.svdvals(w) for w in weights]


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

    Over `history` it also records, per snapshot and layer, the 2r singular values of W_l(t) V1
    (`learning_spectra`, those of the learning block) and the least and largest of the d - 2r
    of W_l(t) V2 (`resting_range`): a compact record of every singular value's path.
    """
    k = 2 * rank
    out = {"untouched": [], "moved": [], "rank_gap": [], "leak": []}
    learning, resting = [], []
    for l, (w0, wt) in enumerate(zip(initial, trained)):
        u, s, vh = torch.linalg.svd(wt - w0)
        u1, v1, v2 = u[:, :k], vh[:k].T, vh[k:].T
        out["untouched"].append(((torch.linalg.svdvals(wt @ v2) - eps).abs().max() / eps).item())
        out["moved"].append(((torch.linalg.svdvals(wt @ v1) - eps).abs().min() / eps).item())
        out["rank_gap"].append((s[k] / s[0]).item() if len(s) > k else 0.0)
        leaks, learning_l, resting_l = [0.0], [], []
        for weights in history:
            change = weights[l] - w0
            if change.norm() > 0:
                inside = u1 @ (u1.T @ change @ v1) @ v1.T
                leaks.append(((change - inside).norm() / change.norm()).item())
            learning_l.append(torch.linalg.svdvals(weights[l] @ v1))
            rest = torch.linalg.svdvals(weights[l] @ v2)
            resting_l.append(torch.stack([rest.min(), rest.max()]))
        out["leak"].append(max(leaks))
        learning.append(learning_l)
        resting.append(resting_l)
    if history:  # (T, L, 2r) and (T, L, 2)
        out["learning_spectra"] = torch.stack([torch.stack(x) for x in zip(*learning)]).cpu()
        out["resting_range"] = torch.stack([torch.stack(x) for x in zip(*resting)]).cpu()
    return out
