"""The singular subspaces of a deep linear network during training (Yaras, Wang et al. 2023).

The law of parsimony says where learning happens before it happens: at the eps-orthogonal
start the gradient of layer l is W_{L:l+1}^T (W_{L:1} - Phi) W_{l-1:1}^T, and the directions it
can ever reach are the target's singular spaces carried through the start, forwards and
backwards,
    right space of layer l:  W_{l-1:1}(0) row(Phi) + W_{L:l}(0)^T col(Phi),
    left space of layer l:   W_{l:1}(0) row(Phi) + W_{L:l+1}(0)^T col(Phi),
each of dimension 2r; the left space of layer l is the right space of layer l+1 (V_{l+1} = U_l).

- `principal_angles`: the angles between two subspaces, accurate down to 1e-15;
- `predicted_subspaces`: those spaces from the initial weights and the target;
- `subspace_dynamics`: over a run's weight snapshots, how far each layer's change leaves the
  predicted subspaces, the angles of its top r singular vectors to those subspaces and to
  their final positions, and the alignment of consecutive layers;
- `initial_weights`: orthogonal, Gaussian or uniform layers of one scale (E ||W x||^2 =
  eps^2 ||x||^2 for every x), to ask which part of the law needs the orthogonal start.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .deep_linear import DTYPE, end_to_end, orthogonal_init

INIT_KINDS = ("orthogonal", "gaussian", "uniform")


def _basis(a: torch.Tensor) -> torch.Tensor:
    """An orthonormal basis of the column span of a (full column rank)."""
    return torch.linalg.qr(a)[0]


def principal_angles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Principal angles (radians, largest first) between the column spans of a (d x p) and
    b (d x q), q <= p: min(p, q) angles. From the sines, the singular values of
    (I - P_a) Q_b, and the cosines, those of Q_a^T Q_b, paired largest sine with smallest cosine,
    so that angles near 0 are resolved (arccos of a cosine alone bottoms out near 1e-8)."""
    qa, qb = _basis(a), _basis(b)
    if qb.shape[1] > qa.shape[1]:
        qa, qb = qb, qa
    cos = torch.linalg.svdvals(qa.T @ qb).flip(0)  # smallest first
    sin = torch.linalg.svdvals(qb - qa @ (qa.T @ qb))  # largest first
    return torch.atan2(sin, cos.clamp(max=1.0))


def largest_angle(a: torch.Tensor, b: torch.Tensor) -> float:
    return principal_angles(a, b)[0].item()


def predicted_subspaces(start: list, phi: torch.Tensor, rank: int) -> tuple[list, list]:
    """Per layer, bases of the right and left 2r-dimensional subspaces that gradient descent
    from `start` can reach on 1/2 ||W_{L:1} - Phi||^2 (see the module docstring)."""
    u, _, vh = torch.linalg.svd(phi)
    col, row = u[:, :rank], vh[:rank].T  # col(Phi), row(Phi)
    depth = len(start)

    def forward(l):  # W_{l:1}(0) (identity for l = 0)
        return end_to_end(start[:l]) if l else torch.eye(start[0].shape[1], dtype=DTYPE)

    def backward(l):  # W_{L:l+1}(0)^T (identity for l = L)
        return end_to_end(start[l:]).T if l < depth else torch.eye(phi.shape[0], dtype=DTYPE)

    right = [_basis(torch.cat([forward(l) @ row, backward(l) @ col], 1)) for l in range(depth)]
    left = [
        _basis(torch.cat([forward(l + 1) @ row, backward(l + 1) @ col], 1)) for l in range(depth)
    ]
    return right, left


def learning_subspaces(change: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The left and right top-2r singular vectors of a layer's change W_l(t) - W_l(0)."""
    u, _, vh = torch.linalg.svd(change)
    return u[:, : 2 * rank], vh[: 2 * rank].T


def _vector_angles(a: torch.Tensor, b: torch.Tensor) -> list[float]:
    """Angles (degrees) between matching columns of a and b, up to sign."""
    cos = (a * b).sum(0).abs()
    sin = (b - a * (a * b).sum(0)).norm(dim=0)
    return torch.rad2deg(torch.atan2(sin, cos)).tolist()


def _leak(change, left, right) -> float:
    """The fraction of a change outside the subspaces with bases left, right:
    ||D - P_L D P_R||_F / ||D||_F (at most the sine of the largest principal angle)."""
    inside = left @ (left.T @ change @ right) @ right.T
    return ((change - inside).norm() / change.norm()).item()


def subspace_dynamics(history: list, phi: torch.Tensor, rank: int) -> dict:
    """From weight snapshots history[0] (the start) ... history[-1] (the end) of gradient
    descent on 1/2 ||W_{L:1} - Phi||^2, per snapshot t >= 1 and layer l:
    - leak (T, L): the fraction of the change W_l(t) - W_l(0) outside the subspaces
      `predicted_subspaces` names at the start;
    - inside (T, L), radians: the largest principal angle between the span of the top r right
      (and left) singular vectors of W_l(t) and the predicted right (left) subspace;
    - alignment (T, L - 1), radians: between the top r left singular vectors of W_l(t) and the
      top r right ones of W_{l+1}(t);
    - top_right, top_left (T, L, r), degrees: the angle between the i-th right (left)
      singular vector of W_l(t) and its final position;
    and at the end, from the top 2r singular vectors of the final change (the learning
    subspaces): final_to_start (L), their largest angle to the predicted subspaces, and
    final_alignment (L - 1), between the left one of layer l and the right one of layer l+1.
    (The 2r subspaces of the change are resolved only late: during the plateau the r
    directions that are unlearned change no more than the resting ones.)"""
    start, depth = history[0], len(history[0])
    right, left = predicted_subspaces(start, phi, rank)
    final_svd = [torch.linalg.svd(w) for w in history[-1]]
    keys = ("leak", "inside", "alignment", "top_right", "top_left")
    out = {key: [] for key in keys}
    for weights in history[1:]:
        svds = [torch.linalg.svd(w) for w in weights]
        leak, inside, top_r, top_l = [], [], [], []
        for l, ((u, _, vh), (uf, _, vhf)) in enumerate(zip(svds, final_svd)):
            leak.append(_leak(weights[l] - start[l], left[l], right[l]))
            inside.append(
                max(largest_angle(right[l], vh[:rank].T), largest_angle(left[l], u[:, :rank]))
            )
            top_r.append(_vector_angles(vh[:rank].T, vhf[:rank].T))
            top_l.append(_vector_angles(u[:, :rank], uf[:, :rank]))
        align = [
            largest_angle(svds[l][0][:, :rank], svds[l + 1][2][:rank].T) for l in range(depth - 1)
        ]
        for key, value in zip(keys, (leak, inside, align, top_r, top_l)):
            out[key].append(value)
    learned = [learning_subspaces(w - w0, rank) for w, w0 in zip(history[-1], start)]
    out["final_to_start"] = [
        max(largest_angle(v1, right[l]), largest_angle(u1, left[l]))
        for l, (u1, v1) in enumerate(learned)
    ]
    out["final_alignment"] = [
        largest_angle(learned[l][0], learned[l + 1][1]) for l in range(depth - 1)
    ]
    return {key: np.asarray(value) for key, value in out.items()}


def initial_weights(kind: str, dims: list[int], eps: float, generator) -> list:
    """Layers of sizes dims = [d_0, ..., d_L], each of scale eps in the sense E ||W x||^2 =
    eps^2 ||x||^2: `orthogonal` (every singular value eps, `orthogonal_init`), `gaussian`
    (entries N(0, eps^2 / d_in)) or `uniform` (entries uniform on [-a, a], a = eps sqrt(3 /
    d_in)). Only the first is balanced with all singular values equal."""
    if kind == "orthogonal":
        return orthogonal_init(dims, eps, generator)
    if kind not in INIT_KINDS:
        raise ValueError(f"kind must be one of {INIT_KINDS}, not {kind!r}")
    weights = []
    for d_in, d_out in zip(dims[:-1], dims[1:]):
        if kind == "gaussian":
            w = torch.randn(d_out, d_in, generator=generator, dtype=DTYPE) * eps / math.sqrt(d_in)
        else:
            a = eps * math.sqrt(3 / d_in)
            w = (2 * torch.rand(d_out, d_in, generator=generator, dtype=DTYPE) - 1) * a
        weights.append(w)
    return weights
