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


def plot_subspaces(result: dict):
    """Left: how far each layer's change leaves the subspaces predicted at the start (leak) and
    the angle of its top r singular vectors to them, with the alignment of consecutive layers;
    middle and right: the angle of each top right (left) singular vector of W_l(t) to its final
    position, the seed's singular-vector panels."""
    fig, axes = plots.subplots(1, 3, width=4.4, height=3.8)
    steps = np.asarray(result["steps"])
    leak, inside = np.asarray(result["leak"]), np.asarray(result["inside"])
    align = np.asarray(result["alignment"])
    for l in range(leak.shape[1]):
        color = plots.OKABE_ITO[l + 1]
        axes[0].semilogy(steps, leak[:, l], color=color, label=f"layer {l + 1}: leak")
        axes[0].semilogy(steps, np.maximum(inside[:, l], 1e-16), ":", color=color)
    axes[0].semilogy(steps, align.max(1), "--", color="0.3", label="top r: U_l vs V_l+1")
    axes[0].plot([], [], ":", color="0.3", label="top r vs predicted")
    axes[0].set(
        xlabel="GD step",
        ylabel="fraction outside / angle (rad)",
        title="The subspace predicted at t = 0",
        ylim=(1e-16, 3),
    )
    axes[0].legend(fontsize=7)
    styles = ["-", "--", ":", "-."]
    for ax, key, side in [(axes[1], "top_right", "Right"), (axes[2], "top_left", "Left")]:
        angles = np.asarray(result[key])  # (T, L, r)
        for l in range(angles.shape[1]):
            for i in range(angles.shape[2]):
                label = f"i = {i + 1}" if l == 0 else None
                ax.plot(
                    steps,
                    angles[:, l, i],
                    styles[l % 4],
                    color=plots.OKABE_ITO[i + 4],
                    lw=1.1,
                    label=label,
                )
        for l in range(angles.shape[1]):
            ax.plot([], [], styles[l % 4], color="0.3", label=f"layer {l + 1}")
        ax.set(
            xlabel="GD step",
            ylabel="angle to the final vector (degrees)",
            title=f"{side} singular vectors $i \\leq r$",
        )
        ax.legend(fontsize=7, ncol=2)
    return fig


def plot_init(result: dict):
    """Left: the measures of the invariant subspace for each kind of start (log scale); right:
    D_l across the layers for each kind, on the separation task."""
    fig, (ax, ax2) = plots.subplots(1, 2, width=4.8, height=3.8)
    kinds = result["kinds"]
    measures = [
        ("resting_spread", "spread of resting values / eps"),
        ("leak", "leak from the predicted subspace"),
        ("final_to_start", "angle to the predicted subspace"),
        ("final_alignment", "angle U_l vs V_l+1"),
    ]
    width = 0.8 / len(kinds)
    for j, kind in enumerate(kinds):
        values = [max(result[kind][key], 1e-16) for key, _ in measures]
        ax.bar(
            np.arange(len(measures)) + j * width,
            values,
            width,
            label=kind,
            log=True,
            color=plots.OKABE_ITO[j + 1],
        )
        d_l = result[kind]["separation"]
        ax2.semilogy(
            d_l,
            "o-",
            color=plots.OKABE_ITO[j + 1],
            label=f"{kind} (R^2 {result[kind]['fit']['r2']:.4f})",
        )
    ax.set_xticks(np.arange(len(measures)) + 0.4 - width / 2)
    ax.set_xticklabels([label for _, label in measures], rotation=20, ha="right", fontsize=7)
    ax.set(ylabel="value (log scale)", title=f"Factorisation, same scale eps = {result['eps']:g}")
    ax.legend(fontsize=8)
    ax2.set(
        xlabel="layer l", ylabel="$D_l$", title=f"Separation, eps = {result['separation_eps']:g}"
    )
    ax2.legend(fontsize=8)
    return fig


def plot_tradeoff(result: dict):
    """Left: the loss of each DLN against GD steps; right: each DLN's per-layer decay ratio
    of D_l against the steps it needed to fit, one point per eps: the trade-off."""
    fig, (ax, ax2) = plots.subplots(1, 2, width=4.6, height=3.8)
    for color, eps, run in zip(plots.OKABE_ITO[1:], result["eps"], result["runs"]):
        steps, loss = run["loss"]
        ax.semilogy(steps, loss, color=color, label=f"eps = {eps}")
        ax2.loglog(run["steps"], run["ratio"], "o", color=color, ms=8)
        ax2.annotate(f"  eps = {eps}", (run["steps"], run["ratio"]), fontsize=8)
        ax2.loglog(run["plateau"], run["ratio"], "|", color=color, ms=12)
    ax2.plot([], [], "|", color="0.3", ms=10, label="predicted plateau T(1)")
    ax2.plot([], [], "o", color="0.3", label="steps to fit (measured)")
    ax.set(xlabel="GD step", ylabel="loss", title=f"Training, depth {result['depth']}")
    ax.legend(fontsize=8)
    ax2.set(
        xlabel="GD steps",
        ylabel=r"fitted $D_{l+1}/D_l$ (smaller: faster separation)",
        title="Faster separation costs steps",
    )
    ax2.legend(fontsize=8)
    return fig


def plot_width(result: dict):
    """Relative error of deep matrix factorisation against GD steps, one line per width and
    one for the compressed network."""
    fig, ax = plots.subplots(1, 1, width=5.4, height=3.8)
    for color, (name, (steps, _, error)) in zip(plots.OKABE_ITO[1:], result["runs"].items()):
        ls = "--" if name.startswith("compressed") else "-"
        ax.semilogy(steps, error, ls, color=color, label=name)
    ax.axhline(result["tol"], color="0.6", lw=0.8)
    ax.set(
        xlabel="GD step",
        ylabel=r"$\|W_{L:1} - \Phi\|_F / \|\Phi\|_F$",
        title=f"Deep matrix factorisation, d = {result['dim']}, r = {result['rank']}",
    )
    ax.legend(fontsize=8)
    return fig
