"""The figures of lecture 4, each drawn from an experiment's result dict."""

from __future__ import annotations

import numpy as np

from .. import plots
from .separation import input_dim, layer_ratios, separation_ratio_range


def plot_invariant(result: dict):
    """Left: the loss, with each target singular value's predicted plateau (dotted); middle and
    right: singular values of the first and last layers, the 2r of the learning block as lines
    and the range of the d - 2r others as a band."""
    fig, axes = plots.subplots(1, 3, width=4.4, height=3.8)
    steps = np.asarray(result["steps"])
    axes[0].semilogy(steps, result["loss"], color=plots.OKABE_ITO[0])
    for i, plateau in enumerate(result["plateaus"]):
        label = "predicted plateaus" if i == 0 else None
        axes[0].axvline(plateau, ls=":", lw=0.8, color=plots.OKABE_ITO[1], label=label)
    axes[0].set(xlabel="GD step", ylabel="loss", title="Incremental learning")
    axes[0].legend(fontsize=8)
    learning = np.asarray(result["learning_spectra"])  # (T, L, 2r)
    resting = np.asarray(result["resting_range"])  # (T, L, 2): least, largest
    k, d = learning.shape[2], result["dim"]
    for ax, layer in zip(axes[1:], [0, learning.shape[1] - 1]):
        lines = ax.semilogy(steps, learning[:, layer], lw=1.2, color=plots.OKABE_ITO[5])
        band = ax.fill_between(
            steps, resting[:, layer, 0], resting[:, layer, 1], color="0.55", lw=2.5
        )
        labels = [f"the {k} of the learning block", "the other d - 2r"]
        ax.legend([lines[0], band], labels, fontsize=8)
        ax.set(
            xlabel="GD step",
            ylabel="singular values",
            title=f"Layer {layer + 1}: {k} move, {d - k} stay at eps",
        )
    return fig


def plot_separation(result: dict):
    """Left: D_l of the DLNs per eps; right: each layer's ratio D_l+1 / D_l over eps^2, against
    the range [1 - K / (d - K), 1] the law of parsimony predicts (`separation_ratio_range`)."""
    fig, axes = plots.subplots(1, 2, width=4.6, height=3.8)
    k = result["classes"]
    lowest = 1.0
    for color, (eps, run) in zip(plots.OKABE_ITO[1:], result["dln"].items()):
        axes[0].semilogy(
            run["separation"], "o-", color=color, label=f"eps = {eps} (R^2 {run['fit']['r2']:.3f})"
        )
        e = float(eps)
        ratios = layer_ratios(run["separation"]) / e**2
        axes[1].plot(range(len(ratios)), ratios, "o-", color=color, label=f"eps = {eps}")
        low, _ = separation_ratio_range(e, input_dim(run["separation"][0], k), k)
        lowest = min(lowest, low / e**2)
    axes[0].set(
        xlabel="layer l",
        ylabel=r"$D_l = \mathrm{tr}\,\Sigma_W^l / \mathrm{tr}\,\Sigma_B^l$",
        title=f"Deep linear networks, depth {result['depth']}",
    )
    axes[0].legend(fontsize=8)
    axes[1].axhspan(lowest, 1.0, color="0.88", label="predicted range")
    axes[1].set(
        xlabel="layer l",
        ylabel=r"$(D_{l+1}/D_l)\,/\,\varepsilon^2$",
        title=r"Per-layer ratio against $\varepsilon^2$",
        ylim=(lowest - 0.02, 1.02),
    )
    axes[1].legend(fontsize=8)
    return fig


def plot_separation_mlp(result: dict):
    """Left: D_l across the hidden layers of the ReLU MLP with its log-linear fit; right: the
    ratio D_l / D_l-1 that each layer achieves (a straight line in the left panel is a constant
    ratio here)."""
    fig, axes = plots.subplots(1, 2, width=4.6, height=3.8)
    d_l = np.asarray(result["separation"], dtype=float)
    layers = np.arange(len(d_l))
    fit = result["fit"]
    axes[0].semilogy(layers, d_l, "o-", color=plots.OKABE_ITO[2], label="measured")
    # the fit runs over the hidden layers 1 ... L: log D_l = a + slope (l - 1)
    intercept = np.log(d_l[1:]).mean() - fit["slope"] * (np.arange(1, len(d_l)) - 1).mean()
    axes[0].semilogy(
        layers[1:],
        np.exp(intercept + fit["slope"] * (layers[1:] - 1)),
        "--",
        color="0.4",
        label=f"log-linear fit (R^2 {fit['r2']:.2f})",
    )
    axes[0].set(
        xlabel="layer l (0: input)",
        ylabel="$D_l$",
        title=f"ReLU MLP on {result['dataset']}, train acc. {result['train_accuracy']:.3f}",
    )
    axes[0].legend(fontsize=8)
    axes[1].bar(layers[1:], d_l[1:] / d_l[:-1], color=plots.OKABE_ITO[2])
    axes[1].axhline(fit["ratio"], ls="--", color="0.4", label=f"fitted ratio {fit['ratio']:.2f}")
    axes[1].set(xlabel="layer l", ylabel="$D_l / D_{l-1}$", title="Separation gained per layer")
    axes[1].legend(fontsize=8)
    return fig


def plot_completion(result: dict):
    """Relative error against GD steps and against wall-clock time, each run labelled with its
    number of trained entries (`parameters_by_run`)."""
    fig, (ax, ax2) = plots.subplots(1, 2, width=5.4, height=4.0)
    counts = result["parameters_by_run"]
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


def plot_depth_sweep(result: dict):
    """Left: relative error of depth 2 against its eps, one line per sampling rate, with depth
    L from its eps (squares); right: depth 2's nuclear norm over ||Phi||_*, minus 1."""
    fig, (ax, ax2) = plots.subplots(1, 2, width=4.6, height=3.8)
    eps2 = [float(e) for e in result["eps_depth2"]]
    depth, eps = result["depth"], float(result["eps"])
    for color, rate in zip(plots.OKABE_ITO[1:], result["rates"]):
        two = result["depth2"][str(rate)]
        ax.loglog(eps2, [f["error"] for f in two], "o-", color=color, label=f"depth 2, {rate:.0%}")
        ax.loglog([eps], [result["deep"][str(rate)]["error"]], "s", color=color, ms=8, mfc="none")
        excess = [f["nuclear_ratio"] - 1 for f in two]
        ax2.semilogx(eps2, excess, "o-", color=color, label=f"{rate:.0%} observed")
    ax.plot([], [], "s", color="0.3", mfc="none", label=f"depth {depth} from eps = {eps:g}")
    ax.set(
        xlabel=r"initialisation scale $\varepsilon$ of depth 2",
        ylabel=r"relative error $\|W - \Phi\|_F / \|\Phi\|_F$",
        title="Depth 2 against its initialisation",
    )
    ax.legend(fontsize=8)
    ax2.axhline(0, color="0.5", lw=0.8)
    ax2.set(
        xlabel=r"initialisation scale $\varepsilon$ of depth 2",
        ylabel=r"$\|W\|_* / \|\Phi\|_* - 1$",
        title="Nuclear norm of depth 2",
    )
    ax2.legend(fontsize=8)
    return fig
