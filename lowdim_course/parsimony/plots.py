"""The figures of lecture 4, each drawn from an experiment's result dict."""

from __future__ import annotations

import numpy as np

from .. import plots
from .separation import separation_bound


def plot_invariant(result: dict):
    """Left: the loss; middle and right: singular values of the first and last layers."""
    fig, axes = plots.subplots(1, 3, width=4.4, height=3.8)
    steps = np.asarray(result["steps"])
    axes[0].semilogy(steps, result["loss"], color=plots.OKABE_ITO[0])
    axes[0].set(xlabel="GD step", ylabel="loss", title="Incremental learning")
    spectra = np.asarray(result["spectra"])  # (T, L, d)
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
