"""The figures of lecture 4, each drawn from an experiment's result dict."""

from __future__ import annotations

import numpy as np

from .. import plots
from .separation import separation_bound


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
    """Left: D_l of the DLNs per eps; right: the measured ratio per layer against the bound."""
    fig, axes = plots.subplots(1, 2, width=4.6, height=3.8)
    eps_values = [float(e) for e in result["dln"]]
    for color, (eps, run) in zip(plots.OKABE_ITO[1:], result["dln"].items()):
        axes[0].semilogy(
            run["separation"], "o-", color=color, label=f"eps = {eps} (R^2 {run['fit']['r2']:.3f})"
        )
    axes[0].set(
        xlabel="layer l",
        ylabel=r"$D_l = \mathrm{tr}\,\Sigma_W^l / \mathrm{tr}\,\Sigma_B^l$",
        title=f"Deep linear networks, depth {result['depth']}",
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
