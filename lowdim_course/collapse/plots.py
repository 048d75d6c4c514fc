"""The lecture's figures: each `plot_*` draws one figure from an experiment's result dict (as
returned by its `run_*`, or read back from a committed results.json), so the notebook, the CLI
and the book share them.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import metrics, plots
from .geometry import etf_gram
from .losses import LOSS_NAMES, LOSS_SHORT
from .networks import nc_epochs


def _mark_tpt(ax, result):
    if result.get("tpt_epoch"):
        ax.axvline(result["tpt_epoch"], color="0.5", linestyle=":", linewidth=1.2)


def plot_tpt(result: dict):
    """Accuracy and the four NC statistics per epoch; dotted: the first epoch at 100% train."""
    h = nc_epochs(result["history"])
    epoch = [r["epoch"] for r in h]
    fig, axes = plots.subplots(2, 3, width=4.0, height=3.2)
    ax = axes[0, 0]
    ax.plot(epoch, [100 * r["accuracy"] for r in h], label="train (eval mode)")
    ax.plot(epoch, [100 * r["test_acc"] for r in h], label="test")
    ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    ax.legend()
    ax = axes[0, 1]
    ax.semilogy(epoch, [r["nc1"] for r in h], color=plots.OKABE_ITO[2])
    ax.set(xlabel="epoch", ylabel=r"tr$(\Sigma_W\Sigma_B^+)/K$", title="NC1: variability")
    ax = axes[0, 2]
    ax.semilogy(epoch, [r["means_equinorm"] for r in h], label="class means")
    ax.semilogy(epoch, [r["classifier_equinorm"] for r in h], label="classifier rows")
    ax.set(xlabel="epoch", ylabel="std / mean of norms", title="NC2: equal norms")
    ax.legend()
    ax = axes[1, 0]
    ax.semilogy(epoch, [r["means_angle_error"] for r in h], label="class means")
    ax.semilogy(epoch, [r["classifier_angle_error"] for r in h], label="classifier rows")
    ax.set(xlabel="epoch", ylabel=r"mean $|\cos + 1/(K-1)|$", title="NC2: simplex angles")
    ax.legend()
    ax = axes[1, 1]
    ax.semilogy(epoch, [r["nc3"] for r in h], color=plots.OKABE_ITO[3])
    ax.set(xlabel="epoch", ylabel=r"$\|W/\|W\| - M/\|M\|\|_F^2$", title="NC3: self-duality")
    ax = axes[1, 2]
    ax.plot(epoch, [100 * r["nc4"] for r in h], color=plots.OKABE_ITO[4])
    ax.set(xlabel="epoch", ylabel="disagreement (%)", title="NC4: network vs nearest mean")
    for ax in axes.flat:
        _mark_tpt(ax, result)
    fig.suptitle(f"Neural collapse during training on {result['data']['name']}")
    return fig


def plot_tpt_cosines(result: dict):
    """Cosines between centred class means: after one epoch, at the end, and a simplex ETF."""
    final = np.asarray(result["cosines_final"])
    # A run resumed from a checkpoint after epoch 1 has no first snapshot: leave that panel blank.
    first = result.get("cosines_first")
    first = np.full_like(final, np.nan) if first is None else np.asarray(first)
    ideal = etf_gram(len(final)).numpy()
    fig, axes = plots.subplots(1, 3, width=3.6, height=3.4)
    for ax, matrix, title in zip(
        axes, [first, final, ideal], ["after epoch 1", "end of training", "simplex ETF"]
    ):
        norm = mpl.colors.TwoSlopeNorm(vmin=-0.5, vcenter=0, vmax=1)
        image = ax.imshow(matrix, norm=norm, cmap="RdBu_r")
        ax.set(xlabel="class", ylabel="class", title=title)
        ax.grid(False)
    fig.colorbar(image, ax=axes, label="cosine of centred class means", shrink=0.8)
    return fig


def plot_ufm(result: dict):
    """Left: worst distance to the simplex angle against d, per K (dotted: d = K - 1).
    Right: the metrics along gradient descent for one (K, d), median and range over starts."""
    fig, (ax, ax_t) = plots.subplots(1, 2, width=5.4, height=4.0)
    Ks = sorted({c["K"] for c in result["cases"]})
    for color, K in zip(plots.OKABE_ITO, Ks):
        rows = [c for c in result["cases"] if c["K"] == K]
        d = [c["d"] for c in rows]
        ax.semilogy(
            d, [max(c["angle_error_max"], 1e-16) for c in rows], "o-", color=color, label=f"K = {K}"
        )
        ax.axvline(K - 1, color=color, linestyle=":", linewidth=1.2)
    ax.set(
        xlabel="feature dimension d",
        ylabel=r"max $|\cos(\bar h_k, \bar h_{k'}) + 1/(K-1)|$",
        title=f"UFM from {result['inits']} random starts",
    )
    ax.legend()
    trajectory = result["trajectory"]
    if trajectory:
        steps = np.array([r["step"] for r in trajectory["history"]]) + 1
        for color, key, label in [
            (plots.OKABE_ITO[2], "nc1", "NC1"),
            (plots.OKABE_ITO[0], "means_angle_error_max", "angle error, means"),
            (plots.OKABE_ITO[3], "nc3", "NC3"),
        ]:
            values = np.maximum([r[key] for r in trajectory["history"]], 1e-17)  # (T, R)
            ax_t.loglog(steps, np.median(values, 1), color=color, label=label)
            ax_t.fill_between(steps, values.min(1), values.max(1), color=color, alpha=0.2)
        ax_t.set(
            xlabel="gradient step + 1",
            ylabel="metric (median, range over starts)",
            title=f"Collapse along GD, K = {trajectory['K']}, d = {trajectory['d']}",
        )
        ax_t.legend()
    return fig


def _principal_axes(M: torch.Tensor, k: int) -> torch.Tensor:
    """The top-k right singular vectors of M (K, d) as columns (d, k)."""
    _, _, v = torch.linalg.svd(M, full_matrices=False)
    return v[:k].T


def plot_ufm_geometry(run: dict, start: int = 0):
    """Class means (dots), features (crosses) and classifier rows (arrows) of one UFM solution:
    in 3-D (when the centred means span three or more dimensions) in the span of the first
    three centred means, otherwise in their top principal directions."""
    H, W, y = run["H"][start], run["W"][start], run["labels"]
    K = run["K"]
    means = metrics.class_means(H, y, K)
    centre = means.mean(0)
    M = means - centre
    dims = max(1, min(3, int(torch.linalg.matrix_rank(M)), H.shape[1]))
    if dims == 3:
        # Stand the picture on class 0: its mean along direction 3, classes 1 and 2 spanning
        # the rest (principal axes of an ETF are arbitrary, and may hide a vertex).
        Q, R = torch.linalg.qr(M[:3].T)  # (d, 3); column j of Q spans mean j minus earlier
        P = Q[:, [1, 2, 0]] * torch.sign(torch.diagonal(R)[[1, 2, 0]])  # signs: means point up
    else:
        P = _principal_axes(M, dims)  # (d, dims)
    scale = M.norm(dim=1).mean() / W.norm(dim=1).mean()  # draw W on the means' scale
    pts, mus, ws = (H - centre) @ P, M @ P, scale * W @ P
    if dims == 1:
        pts, mus, ws = (torch.cat([t, torch.zeros_like(t)], 1) for t in (pts, mus, ws))
    fig = plt.figure(figsize=(5.2, 4.6), layout="constrained")
    three = dims == 3
    ax = fig.add_subplot(projection="3d" if three else None)
    colors = plt.get_cmap(plots.CLASS_CMAP)
    for k in range(K):
        c = colors(k % 10)
        ax.scatter(*pts[y == k].T.numpy(), color=c, marker="x", s=20, alpha=0.5)
        ax.scatter(*mus[k].numpy(), color=c, s=70, edgecolor="k", label=f"class {k}")
        origin = [0.0] * (3 if three else 2)
        if three:
            ax.quiver(*origin, *ws[k].numpy(), color=c, arrow_length_ratio=0.1)
        else:
            ax.annotate(
                "", ws[k].numpy(), (0, 0), arrowprops={"arrowstyle": "->", "color": c, "lw": 2}
            )
    final = run["final"][start]
    ax.set(
        xlabel="direction 1",
        ylabel="direction 2",
        title=f"UFM, {LOSS_NAMES[run['loss']]}, K = {K}, d = {run['d']}\n"
        f"NC1 {final['nc1']:.1e}, angle error {final['means_angle_error_max']:.1e}",
    )
    if three:
        ax.set_zlabel("direction 3")
        ax.view_init(elev=15, azim=-20)  # class 1 in front, class 2 to the side: none hidden
    else:
        ax.set_aspect("equal", adjustable="datalim")
    if K <= 10:
        ax.legend(fontsize=8, loc="best")
    return fig


def _variant_label(row):
    return f"{row['classifier']}, d = {row['feature_dim']}"


def plot_fixed_etf(result: dict):
    """Test accuracy per epoch, and trained parameters against final test accuracy."""
    fig, (ax, ax_p) = plots.subplots(1, 2, width=5.0, height=3.8)
    for color, row in zip(plots.OKABE_ITO, result["variants"]):
        curve = 100 * np.asarray(row["test_curve"])
        ax.plot(np.arange(1, len(curve) + 1), curve, color=color, label=_variant_label(row))
        ax_p.scatter(
            row["trained_parameters"] / 1e3,
            100 * row["test_acc"],
            color=color,
            s=80,
            label=_variant_label(row),
        )
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", title="Learned vs fixed ETF classifier")
    ax.set_ylim(max(0, ax.get_ylim()[0]), 100)
    ax.legend()
    ax_p.set(
        xlabel="trained parameters (thousands)",
        ylabel="final test accuracy (%)",
        title="Same accuracy, fewer parameters",
    )
    ax_p.legend()
    return fig


def plot_losses(result: dict):
    """UFM metrics per loss; NC1 of the network per epoch; final test accuracy per loss."""
    fig, (ax_u, ax_n, ax_a) = plots.subplots(1, 3, width=4.2, height=3.6)
    names = [LOSS_SHORT[r["loss"]] for r in result["ufm"]]
    x = np.arange(len(names))
    for i, (key, label) in enumerate(
        [("nc1_max", "NC1"), ("angle_error_max", "angle error"), ("nc3_max", "NC3")]
    ):
        values = np.maximum([r[key] for r in result["ufm"]], 1e-33)
        ax_u.bar(x + (i - 1) * 0.27, values, width=0.27, label=label)
    ax_u.set_yscale("log")
    ax_u.set_xticks(x, names)
    ax_u.set(xlabel="loss", ylabel="worst over starts", title="UFM: every loss collapses")
    ax_u.legend(fontsize=8)
    for color, row in zip(plots.OKABE_ITO, result["network"]):
        ax_n.semilogy(row["epochs"], row["nc1_curve"], color=color, label=LOSS_NAMES[row["loss"]])
    ax_n.set(xlabel="epoch", ylabel="NC1 (training features)", title="Network: NC1")
    ax_n.legend(fontsize=8)
    accs = [100 * r["test_acc"] for r in result["network"]]
    ax_a.bar(x, accs, color=plots.OKABE_ITO[: len(accs)])
    ax_a.set_xticks(x, names)
    ax_a.set_ylim(min(accs) - 5, 100)
    ax_a.set(xlabel="loss", ylabel="test accuracy (%)", title="Network: test accuracy")
    return fig


def plot_random_labels(result: dict):
    """Accuracies and NC1 per epoch when the training labels are random."""
    h = nc_epochs(result["history"])
    epoch = [r["epoch"] for r in h]
    fig, (ax, ax_nc) = plots.subplots(1, 2, width=5.0, height=3.8)
    ax.plot(epoch, [100 * r["accuracy"] for r in h], label="train (random labels)")
    ax.plot(epoch, [100 * r["test_acc"] for r in h], label="test (true labels)")
    ax.axhline(100 * result["chance"], color="0.5", linestyle="--", linewidth=1, label="chance")
    ax.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{result['n_train']} random labels")
    ax.legend()
    ax_nc.semilogy(epoch, [r["nc1"] for r in h], color=plots.OKABE_ITO[2], label="NC1")
    ax_nc.semilogy(
        epoch,
        [r["means_angle_error"] for r in h],
        color=plots.OKABE_ITO[0],
        label="angle error, means",
    )
    ax_nc.semilogy(epoch, [r["nc3"] for r in h], color=plots.OKABE_ITO[3], label="NC3")
    ax_nc.set(xlabel="epoch", ylabel="metric", title="Collapse without meaning")
    ax_nc.legend()
    for a in (ax, ax_nc):
        _mark_tpt(a, result)
    return fig


def plot_transfer(result: dict):
    """Few-shot probe accuracy on held-out classes against NC1 of their features, one point per
    (pretraining variant, checkpoint); the star is the untrained network (not correlated)."""
    fig, ax = plots.subplots(width=6.4, height=4.4)
    variants = sorted({(p["weight_decay"], p["smoothing"]) for p in result["points"]})
    epochs = sorted({p["epoch"] for p in result["points"]})
    markers = dict(zip(epochs, "os^Dv"))
    for color, (wd, ls) in zip(plots.OKABE_ITO, variants):
        rows = [p for p in result["points"] if (p["weight_decay"], p["smoothing"]) == (wd, ls)]
        ax.plot(
            [p["down_nc1"] for p in rows],
            [100 * p["probe_acc"] for p in rows],
            ":",
            color=color,
            linewidth=1,
        )
        for p in rows:
            ax.scatter(
                p["down_nc1"], 100 * p["probe_acc"], color=color, s=60, marker=markers[p["epoch"]]
            )
        ax.scatter([], [], color=color, label=f"weight decay {wd:g}, smoothing {ls:g}")
    for epoch, marker in markers.items():
        ax.scatter([], [], color="0.4", marker=marker, label=f"epoch {epoch}")
    untrained = result.get("untrained")
    if untrained:  # shown for reference, not part of the correlation
        ax.scatter(
            untrained["down_nc1"],
            100 * untrained["probe_acc"],
            marker="*",
            s=160,
            color="0.2",
            label="untrained network",
        )
    ax.set_xscale("log")
    ax.set(
        xlabel="NC1 of the features on the held-out classes",
        ylabel=f"{result['shots']}-shot linear probe accuracy (%)",
        title=f"Transfer to held-out classes (Pearson r of log NC1: "
        f"{result['pearson_log_nc1']:.2f})",
    )
    ax.legend(fontsize=8)
    return fig


def plot_optimizers(result: dict):
    """Per optimiser (and (K, d)): the mean over the starts of NC1, the worst angle error and
    NC3, with bars of one standard deviation (log scale; floored at 1e-17)."""
    from .optimizers import OPTIMIZER_NAMES

    rows = result["rows"]
    keys = [("nc1", "NC1"), ("means_angle_error_max", "max |cos + 1/(K-1)|"), ("nc3", "NC3")]
    fig, axes = plots.subplots(1, 3, width=4.0, height=3.6)
    labels = [f"{OPTIMIZER_NAMES[r['optimizer']]}\nK={r['K']}, d={r['d']}" for r in rows]
    x = np.arange(len(rows))
    for ax, (key, name) in zip(axes, keys):
        mean = np.maximum([r[key]["mean"] for r in rows], 1e-17)
        std = np.array([r[key]["std"] for r in rows])
        colors = [plots.OKABE_ITO[i % len(plots.OKABE_ITO)] for i in range(len(rows))]
        ax.bar(x, mean, color=colors, yerr=np.minimum(std, 0.99 * mean), capsize=3)
        ax.set_yscale("log")
        ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=8)
        ax.set(xlabel="optimiser", ylabel=f"mean and std over {result['inits']} starts",
               title=name)  # fmt: skip
    fig.suptitle("The UFM solved by four optimisers")
    return fig


def plot_width(result: dict):
    """Left: NC1 per epoch on random labels, one curve per MLP width. Right: test accuracy of
    each loss against width, one panel line style per training length."""
    fig, (ax, ax_l) = plots.subplots(1, 2, width=5.4, height=4.0)
    cmap = mpl.colormaps["viridis"]
    rows = sorted(result["random"], key=lambda r: r["width"])
    for i, r in enumerate(rows):
        color = cmap(i / max(len(rows) - 1, 1))
        label = f"width {r['width']} (train {100 * r['train_acc']:.0f}%)"
        ax.semilogy(r["epochs"], r["nc1_curve"], color=color, label=label)
    ax.set(
        xlabel="epoch",
        ylabel=r"NC1 = tr$(\Sigma_W\Sigma_B^+)/K$",
        title=f"{result['n_random']} random labels",
    )
    ax.legend(fontsize=8)
    losses = list(dict.fromkeys(r["loss"] for r in result["losses"]))
    lengths = sorted({r["epochs"] for r in result["losses"]})
    styles = ["--", "-", ":", "-."]
    for color, loss in zip(plots.OKABE_ITO, losses):
        for style, length in zip(styles, lengths):
            pts = sorted((r["width"], r["test_acc"]) for r in result["losses"]
                         if r["loss"] == loss and r["epochs"] == length)  # fmt: skip
            ax_l.plot([w for w, _ in pts], [100 * a for _, a in pts], style, marker="o",
                      color=color, label=f"{LOSS_SHORT[loss]}, {length} epochs")  # fmt: skip
    ax_l.set_xscale("log", base=2)
    ax_l.set(xlabel="MLP width", ylabel="test accuracy (%)", title="Losses over width and length")
    ax_l.legend(fontsize=7, ncol=2)
    return fig


def plot_finetune(result: dict):
    """Left: downstream test accuracy and NC1 of each fine-tuning method. Right: NC1 of every
    layer's output on the downstream training data, per method and before tuning."""
    from .finetune import METHOD_NAMES

    rows = result["methods"]
    fig, (ax, ax_n, ax_l) = plots.subplots(1, 3, width=4.2, height=4.0)
    x, names = np.arange(len(rows)), [METHOD_NAMES[r["method"]] for r in rows]
    ax.bar(x, [100 * r["test_acc"] for r in rows], color=plots.OKABE_ITO[: len(rows)])
    for i, r in enumerate(rows):
        ax.text(i, 100 * r["test_acc"], f"{r['tuned_percent']:.1f}%\ntuned", ha="center",
                va="bottom", fontsize=8)  # fmt: skip
    low = min(100 * r["test_acc"] for r in rows)
    ax.set_ylim(max(0, low - 10), 103)
    ax.set_xticks(x, names, rotation=20)
    ax.set(xlabel="method (labels: parameters tuned)", ylabel="downstream test accuracy (%)",
           title="Accuracy on the new classes")  # fmt: skip
    ax_n.bar(x, [r["nc1"] for r in rows], color=plots.OKABE_ITO[: len(rows)])
    ax_n.set_yscale("log")
    ax_n.set_xticks(x, names, rotation=20)
    ax_n.set(xlabel="method", ylabel="NC1 of the head's input (downstream training data)",
             title="Collapse on the new classes")  # fmt: skip
    if result.get("pretrained_layer_nc1"):
        layers = np.arange(1, len(result["pretrained_layer_nc1"]) + 1)
        ax_l.semilogy(layers, result["pretrained_layer_nc1"], "k:", label="pretrained")
    for color, r in zip(plots.OKABE_ITO, rows):
        layers = np.arange(1, len(r["layer_nc1"]) + 1)
        ax_l.semilogy(layers, r["layer_nc1"], "o-", color=color, label=METHOD_NAMES[r["method"]])
    ax_l.set_xticks(np.arange(1, len(rows[0]["layer_nc1"]) + 1))
    ax_l.axvline(result["layer"] + 1, color="0.5", linestyle=":", linewidth=1.2)
    ax_l.set(xlabel="layer (dotted: the one layer FT and SCL-FT tune)", ylabel="NC1",
             title=f"Layer-wise NC1, {result['model']} on the new classes")  # fmt: skip
    ax_l.legend(fontsize=8)
    return fig
