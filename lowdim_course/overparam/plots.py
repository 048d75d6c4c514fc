"""The lecture's figures, one `plot_*` per experiment, each drawn from a result dict, in the
lecture's order: random labels, width, lazy training, learning-rate noise (two patterns, real
images, the two-pattern data and the noise control), compositional functions."""

from __future__ import annotations

import numpy as np
import torch

from .. import plots
from .experiments_capacity import WRN_TABLE
from .lr_noise import KIND_NAMES, P_ONLY, Q_ONLY


def plot_random_labels(result: dict):
    """Left: training loss per epoch for every condition; right: test accuracy against the
    fraction of random labels, the pixel conditions as separate markers."""
    fig, axes = plots.subplots(1, 2, width=5.6, height=3.9)
    label_runs = [r for r in result["runs"] if r["pixels"] == "none"]
    pixel_runs = [r for r in result["runs"] if r["pixels"] != "none"]
    for k, r in enumerate(result["runs"]):
        style = "-" if r["pixels"] == "none" else "--"
        epochs = np.arange(1, len(r["train_loss"]) + 1)
        axes[0].semilogy(epochs, r["train_loss"], style, label=r["name"], color=f"C{k % 8}")
    axes[0].set(xlabel="epoch", ylabel="training loss", title="Every condition is fitted")
    axes[0].legend(fontsize=8)
    fractions = [r["fraction"] for r in label_runs]
    axes[1].plot(fractions, [r["final_test_acc"] for r in label_runs], "o-", label="test")
    axes[1].plot(
        fractions, [r["final_train_acc"] for r in label_runs], "s:", label="train (given labels)"
    )
    for k, r in enumerate(pixel_runs):
        axes[1].plot(
            [0.0], [r["final_test_acc"]], "D", color=f"C{(k + 3) % 8}", label=f"test, {r['name']}"
        )
    axes[1].axhline(result["chance"], color="gray", ls="--", lw=1, label="chance")
    axes[1].set(
        xlabel="fraction of random training labels",
        ylabel="accuracy",
        ylim=(0, 1.05),
        title="Test accuracy falls to chance",
    )
    axes[1].legend(fontsize=8)
    return fig


def plot_width(result: dict):
    """Left: train and test error against parameter count (the seed's WRN table beside a full
    run); right: relative movement of the first layer against width."""
    fig, axes = plots.subplots(1, 2, width=5.6, height=3.9)
    runs = result["runs"]
    params = [r["params"] for r in runs]
    axes[0].semilogx(params, [100 * r["train_error"] for r in runs], "s:", label="train")
    axes[0].semilogx(params, [100 * r["test_error"] for r in runs], "o-", label="test")
    if result.get("model") == "wrn":
        axes[0].semilogx(
            [1e6 * v["params_m"] for v in WRN_TABLE.values()],
            [v["test_error"] for v in WRN_TABLE.values()],
            "k^--",
            label="Zagoruyko & Komodakis",
        )
    axes[0].axvline(result["train_size"], color="gray", ls="--", lw=1, label="# training samples")
    axes[0].set(xlabel="parameters", ylabel="error (%)", title="Wider fits, and generalises")
    axes[0].legend()
    widths = [r["width"] for r in runs]
    axes[1].loglog(widths, [r["movement_first"] for r in runs], "o-", label="first layer")
    axes[1].loglog(widths, [r["movement_head"] for r in runs], "s--", label="classifier")
    axes[1].set(
        xlabel="width",
        ylabel=r"$\|W - W_0\|_F / \|W_0\|_F$",
        title="Wider networks move less",
    )
    axes[1].legend()
    return fig


def plot_lazy(result: dict):
    """Relative movement of the weights and the distance to the linearised model, log-log
    against width, with the width^-1/2 reference."""
    fig, ax = plots.subplots(1, 1, width=6.4, height=4.2)
    runs = result["runs"]
    widths = np.array([r["width"] for r in runs], dtype=float)
    ax.loglog(widths, [r["movement_W"] for r in runs], "o-", label="hidden weights W")
    ax.loglog(widths, [r["movement_a"] for r in runs], "s-", label="output weights a")
    ax.loglog(
        widths, [r["linearization_gap"] for r in runs], "D--", label="gap to linearised model"
    )
    ref = runs[0]["movement_W"] * np.sqrt(widths[0] / widths)
    ax.loglog(widths, ref, "k:", lw=1, label=r"$\propto m^{-1/2}$")
    title = f"Lazy training: slope {result['slope_W']:.2f} for W"
    ax.set(xlabel="width m", ylabel="relative change", title=title)
    ax.legend()
    return fig


def _order_of_learning_panel(ax, result: dict):
    """Training accuracy on the Q-only examples and test accuracy on the P-only ones per
    epoch, both schedules, first seed: how far P had generalised when Q was memorised."""
    for k, (name, runs) in enumerate(result["runs"].items()):
        history = runs[0]["history"]
        epochs = [r["epoch"] for r in history]
        q_train = [r["train_by_kind"]["Q only"] for r in history]
        p_test = [r["test_by_kind"]["P only"] for r in history]
        ax.plot(epochs, q_train, "-", color=f"C{k}", label=f"{name}: Q only, train")
        ax.plot(epochs, p_test, "--", color=f"C{k}", label=f"{name}: P only, test")
    ax.axvline(result["decay_epoch"], color="gray", ls=":", lw=1)
    ax.set(
        xlabel="epoch",
        ylabel="accuracy",
        title=f"What is learned first (seed {result['seeds'][0]})",
    )
    ax.legend(fontsize=7)


def _training_loss_panel(ax, result: dict):
    """Training loss per epoch, both schedules, first seed."""
    for k, (name, runs) in enumerate(result["runs"].items()):
        history = runs[0]["history"]
        epochs = [r["epoch"] for r in history]
        ax.semilogy(epochs, [r["loss"] for r in history], color=f"C{k}", label=name)
    ax.axvline(result["decay_epoch"], color="gray", ls=":", lw=1)
    ax.set(xlabel="epoch", ylabel="training loss", title="Both fit the training set")
    ax.legend(fontsize=8)


def _final_accuracy_panel(ax, result: dict):
    """Final test accuracy per seed, on the P-only examples and on all, the schedules joined."""
    names = list(result["runs"])
    for key, marker, color, label in (
        ("final_test_p_only", "o-", "C2", "P-only examples"),
        ("final_test_acc", "s--", "C3", "all test examples"),
    ):
        finals = np.array([[r[key] for r in result["runs"][n]] for n in names])  # (names, seeds)
        for s in range(finals.shape[1]):
            ax.plot(
                [0, 1],
                finals[:, s],
                marker,
                color=color,
                alpha=0.7,
                label=label if s == 0 else None,
            )
    ax.set_xticks([0, 1], [n.replace(", then", ",\nthen") for n in names])
    ax.set(
        xlim=(-0.4, 1.4),
        ylabel="final test accuracy",
        title=f"Generalisation, {len(result['seeds'])} seeds",
    )
    ax.legend(fontsize=8)


def _image_panels(ax_test, ax_loss, images: dict, title: str):
    """The slide's comparison on real images: test accuracy and training loss per epoch."""
    for k, (name, run) in enumerate(images.items()):
        epochs = np.arange(1, len(run["test_acc"]) + 1)
        ax_test.plot(epochs, run["test_acc"], color=f"C{k}", label=name)
        ax_loss.semilogy(epochs, run["train_loss"], color=f"C{k}", label=name)
    ax_test.set(xlabel="epoch", ylabel="test accuracy", title=title)
    ax_loss.set(xlabel="epoch", ylabel="training loss", title=title)
    ax_test.legend(fontsize=8)


def _patch_panel(ax, patch: dict, dataset: str):
    """The patch experiment: accuracy on clean test images and on the patch alone per epoch."""
    for k, (name, run) in enumerate(patch["runs"].items()):
        epochs = np.arange(1, len(run["test_acc"]) + 1)
        ax.plot(epochs, run["test_acc"], color=f"C{k}", label=f"{name}: clean images")
        ax.plot(epochs, run["patch_alone_acc"], "--", color=f"C{k}", label=f"{name}: patch alone")
    ax.axvline(patch["decay_epoch"], color="gray", ls=":", lw=1)
    ax.axhline(patch["chance"], color="gray", ls="--", lw=1)
    ax.set(
        xlabel="epoch",
        ylabel="test accuracy",
        title=f"Patches on {dataset}, {patch['network']}",
    )
    ax.legend(fontsize=7)


def plot_lr_noise(result: dict):
    """The two-pattern comparison: the order of learning on the first seed, the training loss,
    and the final test accuracy per seed."""
    fig, axes = plots.subplots(1, 3, width=4.6, height=3.8)
    _order_of_learning_panel(axes[0], result)
    _training_loss_panel(axes[1], result)
    _final_accuracy_panel(axes[2], result)
    return fig


def plot_more_samples(base: dict, more: dict, ratios: tuple[int, int]):
    """The two-pattern comparison at two numbers of samples per dimension N / p (`ratios`, the
    results `base` and `more`, on the seed numbers of `more`; the draws differ between the two,
    so no line joins them): final P-only test accuracy of each schedule per seed with the
    schedule's mean, and the large-then-decay schedule's lead per seed."""
    fig, axes = plots.subplots(1, 2, width=4.6, height=3.8)
    seeds = list(more["seeds"])
    for k, name in enumerate(more["runs"]):
        accs = [
            [r["final_test_p_only"] for r in res["runs"][name] if r["seed"] in seeds]
            for res in (base, more)
        ]
        shift = 0.04 * (k - 0.5)  # the schedules side by side at each ratio
        for ratio, acc in zip(ratios, accs):
            axes[0].plot([ratio * (1 + shift)] * len(acc), acc, "o", color=f"C{k}", alpha=0.6)
        axes[0].plot([r * (1 + shift) for r in ratios], [np.mean(a) for a in accs], "_-",
                     color=f"C{k}", ms=14, label=f"{name} (mean)")  # fmt: skip
    axes[0].set_xscale("log")
    axes[0].minorticks_off()
    axes[0].set_xticks(ratios, [str(r) for r in ratios])
    axes[0].set(xlabel="samples per dimension N/p", ylabel="final P-only test accuracy",
                title=f"P-only test accuracy, {len(seeds)} seeds each")  # fmt: skip
    axes[0].legend(fontsize=8)
    at_base = dict(zip(base["seeds"], base["margins_p_only"]))
    leads = [[100 * at_base[s] for s in seeds], [100 * m for m in more["margins_p_only"]]]
    width = 0.8 / len(seeds)
    for j, s in enumerate(seeds):
        axes[1].bar([i + (j - (len(seeds) - 1) / 2) * width for i in range(2)],
                    [lead[j] for lead in leads], width, label=f"seed {s}")  # fmt: skip
    axes[1].axhline(0, color="gray", lw=1)
    axes[1].set_xticks([0, 1], [f"N/p = {r}" for r in ratios])
    axes[1].set(ylabel="large-then-decay minus small (points)",
                title="Lead on the P-only test examples")  # fmt: skip
    axes[1].legend(fontsize=8)
    return fig


def plot_lr_noise_images(result: dict):
    """The schedules on real images: the slide's comparison (test accuracy, training loss per
    epoch) and the patch experiment (clean test accuracy and accuracy on the patch alone)."""
    fig, axes = plots.subplots(1, 3, width=4.6, height=3.8)
    network = {"resnet18": "ResNet18", "mlp": "MLP"}.get(result["images_network"], "")
    title = f"{result['images_data']}, {network}".rstrip(", ")
    _image_panels(axes[0], axes[1], result["images"], title)
    _patch_panel(axes[2], result["patch"], result["patch_data"])
    return fig


def plot_compositional(result: dict):
    """Relative test error against parameters, one curve per family, the target as a line."""
    fig, ax = plots.subplots(1, 1, width=6.4, height=4.2)
    for k, (name, fam) in enumerate(result["families"].items()):
        runs = fam["runs"]
        ax.loglog(
            [r["params"] for r in runs], [r["error"] for r in runs], "os^"[k % 3] + "-", label=name
        )
    ax.axhline(result["target_error"], color="gray", ls="--", lw=1, label="target error")
    title = f"A binary-tree function of {result['d']} variables"
    ax.set(xlabel="parameters", ylabel="relative test MSE", title=title)
    ax.legend()
    return fig


def plot_lr_noise_control(result: dict):
    """Li, Wei & Ma's control: the small rate with and without pre-activation noise, in the
    panels of `plot_lr_noise` (order of learning, training loss, final accuracy per seed)."""
    return plot_lr_noise(result)


def plot_two_patterns(spec, x, y, kind, directions):
    """The two-pattern data set before any training: P alone (x1 in the plane of w and a
    direction orthogonal to it), Q alone (x2 in the plane of z and e: three points), and the
    mixture (every example at its P signal <w, x1> and its Q signal <e, x2>)."""
    w, z, e = (d.float() for d in directions)
    x1, x2 = x[:, : spec.p] / spec.p_scale, x[:, spec.p :]
    u = torch.randn(spec.p, generator=torch.Generator().manual_seed(0))
    u = u - (u @ w) * w
    u = u / u.norm()
    fig, axes = plots.subplots(1, 3, width=4.6, height=3.8)
    markers = {"both patterns": "o", "P only": "^", "Q only": "s"}
    p_only, q_only = kind == P_ONLY, kind == Q_ONLY
    for label, color in ((0, "C0"), (1, "C3")):
        sel = p_only & (y == label)
        axes[0].plot(x1[sel] @ w, x1[sel] @ u, ".", color=color, ms=4, label=f"y = {label}")
        sel = q_only & (y == label)
        pts, counts = torch.unique(torch.stack([x2[sel] @ z / z.norm(), x2[sel] @ e], 1), dim=0,
                                   return_counts=True)  # fmt: skip
        axes[1].scatter(pts[:, 0], pts[:, 1], s=8 * counts, color=color, label=f"y = {label}")
    axes[0].axvline(0, color="gray", lw=1, ls="--")
    axes[0].set(xlabel=r"$\langle w, x_1\rangle$ (unscaled)", ylabel="an orthogonal direction",
                title="P: a half-space in p dimensions")  # fmt: skip
    axes[1].set(xlabel=r"$\langle z, x_2\rangle / \|z\|$", ylabel=r"$\langle e, x_2\rangle$",
                xlim=(0, 1.5 * spec.z_norm), title="Q: three points, area = count")  # fmt: skip
    offsets = {"both patterns": 0.0, "P only": -0.1, "Q only": 0.1}  # drawn apart, not data
    for k, name in KIND_NAMES.items():
        for label, color in ((0, "C0"), (1, "C3")):
            sel = (kind == k) & (y == label)
            axes[2].plot(
                x1[sel] @ w,
                x2[sel] @ e + offsets[name],
                markers[name],
                color=color,
                ms=6 if name == "Q only" else 3,
                alpha=0.9 if name == "Q only" else 0.4,
                zorder=3 if name == "Q only" else 2,
                label=f"{name}, y = {label}",
            )
    axes[2].set(
        xlabel=r"P signal $\langle w, x_1\rangle$ (unscaled)",
        ylabel=r"Q signal $\langle e, x_2\rangle$; P only $-0.1$, Q only $+0.1$",
        title=f"The mixture, {len(y)} examples",
    )
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7, loc="center left", markerscale=0.3)
    axes[2].legend(fontsize=6, loc="center right")
    return fig
