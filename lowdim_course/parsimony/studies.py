"""Small studies of lecture 4 that the notebook computes in its quick profile (seconds each, no
registry entry, no full profile), each with its claims as code:

- `subspace_study`: the factorisation run of `InvariantConfig.quick()` again, with its weight
  snapshots read by `subspaces.subspace_dynamics` (the seed's singular-vector panels);
- `init_study`: orthogonal, Gaussian and uniform starts of one scale, on that factorisation
  and on progressive separation (the seed's "is the orthogonal initialisation critical?");
- `tradeoff_study`: the decay rate of D_l against the steps gradient descent needs, over eps;
- `width_study`: full, narrow, wide and compressed networks on deep matrix *factorisation*.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..claims import claim
from ..runtime import torch_threads
from .completion import complete_compressed, complete_full
from .deep_linear import DTYPE, gradient_descent, low_rank_target, plateau_steps, train_dln
from .experiments import InvariantConfig
from .separation import (
    layer_ratios,
    log_linear_fit,
    orthogonal_classification_data,
    separation_by_layer,
    separation_ratio_range,
)
from .subspaces import INIT_KINDS, initial_weights, subspace_dynamics


def _factorisation(config: InvariantConfig, kind: str, seed: int, snapshot_every: int):
    g = torch.Generator().manual_seed(seed)
    target = low_rank_target(config.dim, config.rank, g)
    start = initial_weights(kind, [config.dim] * (config.depth + 1), config.eps, g)
    _, _, snapshots = train_dln(
        start, None, target, config.steps, config.lr, snapshot_every=snapshot_every
    )
    return target, snapshots


def subspace_study(config: InvariantConfig, *, seed: int = 0, snapshot_every: int = 50) -> dict:
    """`subspace_dynamics` of the eps-orthogonal factorisation run of `run_invariant` (same
    seed, same target and start), with the snapshots' steps and the target's rank."""
    with torch_threads(config.threads):
        target, snapshots = _factorisation(config, "orthogonal", seed, snapshot_every)
        out = subspace_dynamics([w for _, w in snapshots], target, config.rank)
    return {"steps": [s for s, _ in snapshots][1:], "rank": config.rank, **out}


def check_subspaces(result: dict, profile: str) -> list[str]:
    """The law of parsimony seen in the singular subspaces: the change of every layer stays in
    the 2r-dimensional subspaces predicted from the start at every snapshot, the top r singular
    vectors of every W_l(t) lie in them, the final learning subspaces are the predicted ones and
    are aligned (V_l+1 = U_l), while the top r vectors themselves rotate inside by more than 10
    degrees before they settle. Quick profile only (the study has no full profile)."""
    leak, inside = float(np.max(result["leak"])), float(np.max(result["inside"]))
    to_start = float(np.max(result["final_to_start"]))
    align = float(np.max(result["final_alignment"]))
    rotation = float(np.max(result["top_right"][0]))
    return [
        claim(
            leak < 1e-5,
            "at every snapshot the change of every layer lies in the predicted 2r-dimensional "
            "subspaces (leak < 1e-5)",
            f"largest leak {leak:.1e}",
        ),
        claim(
            inside < 1e-8,
            "the top r singular vectors of every W_l(t) lie in them (largest angle < 1e-8 rad)",
            f"{inside:.1e} rad",
        ),
        claim(
            to_start < 1e-6 and align < 1e-6,
            "the final learning subspaces are the predicted ones, and the left one of layer l "
            "is the right one of layer l+1 (largest principal angles < 1e-6 rad)",
            f"to the prediction {to_start:.1e} rad, between layers {align:.1e} rad",
        ),
        claim(
            rotation > 10,
            "inside the subspace the top r singular vectors still rotate: at the first "
            "snapshot one is more than 10 degrees from its final position",
            f"{rotation:.0f} degrees",
        ),
    ]


def _resting(start, trained, rank, eps):
    """Per layer: the spread (max - min) / eps of the d - 2r singular values outside the
    learning subspace, and their largest move from where they started, over eps."""
    spread, moved, gaps = [], [], []
    for w0, wt in zip(start, trained):
        _, s, vh = torch.linalg.svd(wt - w0)
        v2 = vh[2 * rank :].T
        final, first = torch.linalg.svdvals(wt @ v2), torch.linalg.svdvals(w0 @ v2)
        spread.append(((final.max() - final.min()) / eps).item())
        moved.append(((final - first).abs().max() / eps).item())
        gaps.append((s[2 * rank] / s[0]).item())
    return max(spread), max(moved), max(gaps)


def init_study(
    config: InvariantConfig,
    *,
    kinds=INIT_KINDS,
    separation=(24, 3, 5, 0.3, 0.15, 1500),
    seed: int = 0,
) -> dict:
    """For each kind of start of one scale (`subspaces.initial_weights`): on the factorisation
    of `config`, the rank gap of the change, the spread and the move of the resting singular
    values, and `subspace_dynamics`' leak and final angles; on progressive separation with
    separation = (d, K, depth, eps, lr, steps), D_l, its log-linear fit and the final loss."""
    dim, classes, depth, eps, lr, steps = separation
    out = {"kinds": list(kinds), "eps": config.eps, "separation_eps": eps, "classes": classes}
    with torch_threads(config.threads):
        for kind in kinds:
            target, snapshots = _factorisation(config, kind, seed, config.steps // 10)
            history = [w for _, w in snapshots]
            spread, moved, gap = _resting(history[0], history[-1], config.rank, config.eps)
            dyn = subspace_dynamics(history, target, config.rank)
            g = torch.Generator().manual_seed(seed)
            x, labels, y = orthogonal_classification_data(dim, classes, g)
            start = initial_weights(kind, [dim] * depth + [classes], eps, g)
            trained, losses, _ = train_dln(start, x, y, steps, lr, record_every=steps)
            d_l = separation_by_layer(trained, x, labels, classes)
            out[kind] = {
                "rank_gap": gap,
                "resting_spread": spread,
                "resting_moved": moved,
                "leak": float(np.max(dyn["leak"])),
                "final_to_start": float(np.max(dyn["final_to_start"])),
                "final_alignment": float(np.max(dyn["final_alignment"])),
                "separation": d_l,
                "fit": log_linear_fit(d_l[1:]),
                "final_loss": losses[-1][1],
                "ratio_range": separation_ratio_range(eps, dim, classes),
            }
    return out


def check_init(result: dict, profile: str) -> list[str]:
    """What the orthogonal start buys. With it: the resting singular values all equal eps
    (spread < 1e-5) and the learning subspaces are the predicted, aligned ones (< 1e-6 rad).
    With Gaussian and uniform starts of the same scale: the change still has rank 2r (to
    1e-4), the resting values stay near where they started (moved < 1e-2 eps) but are spread over
    more than eps, and the learning subspace is neither the predicted one nor aligned (angles
    > 0.05 rad). Every start fits the separation task and D_l still decays log-linearly
    (R^2 > 0.99), but only the orthogonal one has every layer's ratio in the predicted range;
    the others' ratios scatter (their resting values are not all eps). Quick profile only."""
    other = [k for k in result["kinds"] if k != "orthogonal"]
    orth = result["orthogonal"]
    low, high = orth["ratio_range"]
    ratios = layer_ratios(orth["separation"][1:])
    lines = [
        claim(
            orth["resting_spread"] < 1e-5
            and max(orth["final_to_start"], orth["final_alignment"]) < 1e-6,
            "orthogonal start: the resting values all equal eps and the learning subspaces are "
            "the predicted, aligned ones",
            f"spread {orth['resting_spread']:.1e} eps, angles {orth['final_to_start']:.1e}, "
            f"{orth['final_alignment']:.1e} rad",
        ),
        claim(
            all(low * 0.999 <= r <= high * 1.001 for r in ratios),
            "orthogonal start: every layer's D_l+1 / D_l lies in the predicted range",
            ", ".join(f"{r / high:.3f}" for r in ratios) + " eps^2",
        ),
    ]
    orth_spread = float(np.ptp(ratios) / high)
    for kind in other:
        r = result[kind]
        lines.append(
            claim(
                r["rank_gap"] < 1e-4 and r["resting_moved"] < 1e-2 and r["resting_spread"] > 1,
                f"{kind} start: the change still has rank 2r (rank gap < 1e-4) and the other "
                "singular values stay near where they started (within 1e-2 eps), but they are "
                "spread over more than eps",
                f"rank gap {r['rank_gap']:.1e}, moved {r['resting_moved']:.1e} eps, spread "
                f"{r['resting_spread']:.2f} eps",
            )
        )
        lines.append(
            claim(
                min(r["final_to_start"], r["final_alignment"]) > 0.05,
                f"{kind} start: the learning subspace is not the one predicted from the start, "
                "nor aligned between layers (angles > 0.05 rad)",
                f"to the prediction {r['final_to_start']:.2f} rad, between layers "
                f"{r['final_alignment']:.2f} rad, leak {r['leak']:.2f}",
            )
        )
        spread = float(np.ptp(layer_ratios(r["separation"][1:])) / high)
        lines.append(
            claim(
                spread > 3 * orth_spread,
                f"{kind} start: the per-layer ratios D_l+1 / D_l scatter more than 3x as widely "
                "as the orthogonal start's",
                f"range {spread:.3f} eps^2 against {orth_spread:.3f} eps^2",
            )
        )
    worst = min(result[k]["fit"]["r2"] for k in result["kinds"])
    loss = max(result[k]["final_loss"] for k in result["kinds"])
    lines.append(
        claim(
            worst > 0.99 and loss < 1e-6,
            "every start fits the separation task and D_l decays log-linearly (R^2 > 0.99)",
            f"least R^2 {worst:.4f}, largest final loss {loss:.0e}",
        )
    )
    return lines


def _converge(weights, x, y, lr, tol, max_steps, record_every=10):
    """Gradient descent on 1/2 ||W_{L:1} x - y||^2 until the loss is below tol (or max_steps):
    (final weights, steps taken, [(step, loss)] every record_every steps)."""
    losses = []
    current, step = weights, 0
    for step, current, _, g in gradient_descent(  # noqa: B007 (current is returned)
        weights, x, lambda z: z - y, steps=max_steps, lr=lr
    ):
        loss = 0.5 * g.pow(2).sum().item()
        if step % record_every == 0:
            losses.append((step, loss))
        if loss < tol:
            break
    return current, step, losses


def tradeoff_study(
    eps_values=(0.1, 0.15, 0.2, 0.3, 0.5),
    *,
    dim=24,
    classes=3,
    depth=5,
    lr=0.15,
    tol=1e-10,
    max_steps=6000,
    seed=0,
    threads=1,
) -> dict:
    """Progressive separation against speed: for each eps, a DLN trained on the orthogonal data
    of `run_separation` until its loss is below tol; the steps it took, the predicted plateau
    T(1), the loss curve, D_l and the per-layer ratio of its log-linear fit."""
    out = {"eps": list(eps_values), "depth": depth, "dim": dim, "classes": classes, "runs": []}
    with torch_threads(threads):
        for eps in eps_values:
            g = torch.Generator().manual_seed(seed)
            x, labels, y = orthogonal_classification_data(dim, classes, g)
            start = initial_weights("orthogonal", [dim] * depth + [classes], eps, g)
            trained, steps, losses = _converge(start, x, y, lr, tol, max_steps)
            d_l = separation_by_layer(trained, x, labels, classes)
            out["runs"].append(
                {
                    "steps": steps,
                    "plateau": plateau_steps(depth, lr, 1.0, eps),
                    "loss": np.asarray(losses).T,  # rows: step, loss
                    "separation": d_l,
                    "ratio": log_linear_fit(d_l[1:])["ratio"],
                    "range": separation_ratio_range(eps, dim, classes),
                }
            )
    return out


def check_tradeoff(result: dict, profile: str) -> list[str]:
    """The trade-off: the smaller eps, the faster D_l decays (each fitted ratio in the range
    predicted for its eps) and the more steps GD needs; where the plateau is long (T(1) >= 100)
    the steps are 1 to 3 times the predicted plateau. Quick profile only."""
    eps, runs = result["eps"], result["runs"]
    steps = [r["steps"] for r in runs]
    ratios = [r["ratio"] for r in runs]
    long = [(r["steps"] / r["plateau"]) for r in runs if r["plateau"] >= 100]
    return [
        claim(
            all(a < b for a, b in zip(ratios, ratios[1:]))
            and all(
                lo * 0.999 <= q <= hi * 1.001
                for q, (lo, hi) in zip(ratios, (r["range"] for r in runs))
            ),
            "the smaller eps, the faster the decay, each fitted ratio in its predicted range",
            ", ".join(f"eps {e}: {q:.4f}" for e, q in zip(eps, ratios)),
        ),
        claim(
            all(a > b for a, b in zip(steps, steps[1:])) and all(s < 6000 for s in steps),
            "the smaller eps, the more steps gradient descent needs to fit (each within the "
            "budget)",
            ", ".join(f"eps {e}: {s}" for e, s in zip(eps, steps)),
        ),
        claim(
            len(long) >= 2 and all(1 <= q <= 3 for q in long),
            "where the plateau is long (T(1) >= 100 steps) the steps are 1 to 3 times T(1)",
            ", ".join(f"{q:.2f}" for q in long),
        ),
    ]


def width_study(
    *,
    dim=30,
    rank=3,
    depth=3,
    eps=1e-2,
    lr=0.5,
    widths=(6, 15, 30, 60),
    steps=1500,
    tol=1e-3,
    seed=0,
    threads=1,
) -> dict:
    """Deep matrix factorisation (every entry observed) of the rank-r target of `run_invariant`
    with full networks of several widths and with the compressed network of width 2r with
    fixed subspaces (gamma = 0: observing every entry, the spectral start is exact): each
    run's error curve and the steps until the relative error falls below tol."""
    g = torch.Generator().manual_seed(seed)
    phi = low_rank_target(dim, rank, g)
    ones = torch.ones(dim, dim, dtype=DTYPE)
    fit = {"depth": depth, "eps": eps, "lr": lr, "steps": steps, "record_every": 10}
    runs = {}
    with torch_threads(threads):
        for width in widths:
            gen = torch.Generator().manual_seed(seed + 1)
            runs[f"width {width}"] = complete_full(phi, ones, width=width, generator=gen, **fit)
        runs[f"compressed, width {2 * rank}"] = complete_compressed(
            phi, ones, width=2 * rank, gamma=0.0, **fit
        )

    def reached(history):
        hits = [step for step, _, error in history if error < tol]
        return hits[0] if hits else None

    return {
        "dim": dim,
        "rank": rank,
        "widths": list(widths),
        "tol": tol,
        "runs": {name: np.asarray(h).T for name, h in runs.items()},  # rows: step, s, error
        "steps_to_tol": {name: reached(h) for name, h in runs.items()},
    }


def check_width(result: dict, profile: str) -> list[str]:
    """Width and compression on deep matrix factorisation: the networks of width >= d and the
    compressed one reach the tolerance (a narrower one may not, within the steps: it counts as
    slowest); from 2r to d, more width means fewer steps, the narrowest network needing at
    least 1.2x the steps of width d; beyond d the steps stay within 10% of width d's; and the
    compressed network of width 2r with fixed subspaces (gamma = 0) needs no more steps than
    the full network of width d. Quick profile only."""
    hits, widths, d = result["steps_to_tol"], result["widths"], result["dim"]
    steps = {name: math.inf if s is None else s for name, s in hits.items()}
    by_width = {w: steps[f"width {w}"] for w in widths}
    compressed = next(s for name, s in steps.items() if name.startswith("compressed"))
    must = [by_width[w] for w in widths if w >= d] + [compressed]
    text = ", ".join(
        f"width {w}: {'not reached' if s == math.inf else s}" for w, s in by_width.items()
    )
    lines = [
        claim(
            all(s < math.inf for s in must),
            f"the networks of width >= d = {d} and the compressed one reach relative error "
            f"{result['tol']:g}",
            text + f", compressed {compressed}",
        )
    ]
    narrow = [by_width[w] for w in widths if w <= d]
    wide = [by_width[w] for w in widths if w > d]
    lines.append(
        claim(
            all(a >= b for a, b in zip(narrow, narrow[1:])) and narrow[0] >= 1.2 * by_width[d],
            f"from width 2r to d = {d} more width means fewer steps (narrowest >= 1.2x width d)",
            text,
        )
    )
    lines.append(
        claim(
            all(abs(s - by_width[d]) <= 0.1 * by_width[d] for s in wide),
            f"beyond width d = {d} the steps change by less than 10%",
            text,
        )
    )
    lines.append(
        claim(
            compressed <= by_width[d],
            "the compressed network (gamma = 0) needs no more steps than the full one",
            f"compressed {compressed}, full {by_width[d]}",
        )
    )
    return lines
