"""The lecture's figures, each drawn from an experiment's result dict: the linear model's
recovered corruption and error, cross-entropy memorising noisy labels, and CE against SOP."""

from __future__ import annotations

import numpy as np

from .. import plots


def plot_linear(result: dict):
    """Left: recovered s against the true s; middle: theta error during GD; right: the sweep."""
    fig, axes = plots.subplots(1, 3, width=4.4, height=3.8)
    index = np.arange(len(result["s_true"]))
    axes[0].stem(
        index,
        np.asarray(result["s_true"]),
        linefmt="C1-",
        markerfmt="C1o",
        basefmt=" ",
        label="true $s^*$",
    )
    axes[0].plot(index, np.asarray(result["s_recovered"]), "C0x", ms=4, label="Hadamard GD")
    axes[0].plot(
        index,
        np.asarray(result["s_least_squares"]),
        ".",
        color="0.6",
        ms=3,
        label="least-squares residual",
    )
    axes[0].set(xlabel="sample i", ylabel="$s_i$", title="Sparse corruption recovered")
    axes[0].legend(fontsize=7)
    axes[1].semilogy(
        result["steps"], result["error_path"], color=plots.OKABE_ITO[0], label="Hadamard GD"
    )
    axes[1].axhline(result["least_squares_error"], color="0.5", ls="--", label="least squares")
    axes[1].set(
        xlabel="GD step",
        ylabel=r"$\|\theta - \theta^*\| / \|\theta^*\|$",
        title="Error of theta during training",
    )
    axes[1].legend(fontsize=8)
    _plot_sweep(fig, axes[2], result)
    return fig


def _plot_sweep(fig, ax, result: dict):
    """The error of theta over (alpha, tau) as a labelled heat map."""
    sweep = np.asarray(result["sweep_error"])
    image = ax.imshow(np.log10(sweep), cmap="viridis_r", aspect="auto")
    for (a, b), e in np.ndenumerate(sweep):
        ax.text(b, a, f"{e:.0e}", ha="center", va="center", fontsize=7, color="white")
    ax.set_xticks(range(len(result["taus"])), [f"{t:g}" for t in result["taus"]])
    ax.set_yticks(range(len(result["alphas"])), [f"{a:g}" for a in result["alphas"]])
    ax.set(
        xlabel=r"initial scale $\tau$",
        ylabel=r"discrepant rate $\alpha$",
        title="Error of theta over (alpha, tau)",
    )
    fig.colorbar(image, ax=ax, fraction=0.046, label="log10 error")


def plot_lambda(result: dict):
    """Left: the l1 solution's error without dense noise over lambda; right: with dense noise,
    GD's distance to the exact implicit problem and to the l1 problem over lambda' / lambda."""
    fig, axes = plots.subplots(1, 2, width=5.2, height=3.8)
    lam = float(result["lambda"])
    for k, trial in enumerate(result["trials"]):
        first = k == 0
        axes[0].semilogy(
            result["noiseless_lambdas"],
            np.maximum(np.asarray(trial["noiseless_l1_error"]), 1e-17),
            "o-",
            color=plots.OKABE_ITO[1],
            alpha=0.7,
            label="l1 solution" if first else None,
        )
        axes[1].semilogy(
            result["factors"],
            trial["gd_vs_exact"],
            "o-",
            color=plots.OKABE_ITO[0],
            alpha=0.7,
            label="exact implicit problem H" if first else None,
        )
        axes[1].semilogy(
            result["factors"],
            trial["gd_vs_l1"],
            "s--",
            color=plots.OKABE_ITO[1],
            alpha=0.7,
            label="l1 problem" if first else None,
        )
    axes[0].axvline(lam, color="0.5", ls=":", label=f"lambda of GD = {lam:g}")
    axes[0].set_xscale("log")
    axes[0].set(xlabel=r"$\lambda$", ylabel=r"$\|\theta - \theta^*\| / \|\theta^*\|$",
                title="No dense noise: any large lambda recovers")  # fmt: skip
    axes[0].legend(fontsize=8)
    axes[1].set_xscale("log")
    axes[1].set(xlabel=r"$\lambda' / \lambda$", ylabel="relative distance to GD's theta",
                title="Dense noise: GD solves H at its own lambda")  # fmt: skip
    axes[1].legend(fontsize=8)
    return fig


def plot_overfitting(result: dict):
    """Test accuracy, agreement with the noisy labels and memorised corrupted labels per epoch."""
    fig, ax = plots.subplots(width=6.4, height=4.0)
    curves = [
        ("test_acc", plots.OKABE_ITO[0], "test accuracy (clean labels)"),
        ("fits_noisy", plots.OKABE_ITO[1], "train: agrees with the noisy labels"),
        ("memorised", plots.OKABE_ITO[5], "corrupted labels memorised"),
    ]
    for key, color, label in curves:
        ax.plot(result["epochs"], result[key], color=color, label=label)
    ax.axvline(result["peak_epoch"], color="0.6", ls=":", lw=1)
    ax.set(
        xlabel="epoch",
        ylabel="fraction",
        title=f"Cross-entropy with {result['rate']:.0%} symmetric label noise",
    )
    ax.legend(fontsize=8)
    return fig


def plot_sop(result: dict):
    """Left: test accuracy over epochs, CE vs SOP at the largest rate; middle: final accuracy
    against the rate; right: ||s_i|| of clean and corrupted samples."""
    fig, axes = plots.subplots(1, 3, width=4.4, height=3.8)
    runs, top = result["runs"], max(result["rates"])
    for color, method in [(plots.OKABE_ITO[1], "ce"), (plots.OKABE_ITO[0], "sop")]:
        acc = runs[f"{method} {top:g}"]["test_acc"]
        axes[0].plot(range(1, len(acc) + 1), acc, color=color, label=method.upper())
        finals = [runs[f"{method} {r:g}"]["final_test_acc"] for r in result["rates"]]
        axes[1].plot(result["rates"], finals, "o-", color=color, label=method.upper())
    axes[0].set(xlabel="epoch", ylabel="test accuracy", title=f"{top:.0%} symmetric noise")
    axes[0].legend()
    axes[1].set(
        xlabel="fraction of corrupted labels",
        ylabel="final test accuracy",
        title="Robustness to the noise rate",
    )
    axes[1].legend()
    _plot_scores(axes[2], runs[f"sop {top:g}"])
    return fig


def _plot_scores(ax, sop_run: dict):
    """Histograms of ||s_i|| for the clean and the corrupted samples of one SOP run."""
    if "scores_clean" in sop_run:
        bins = np.logspace(-5, 2, 50)
        for key, color, label in [
            ("scores_clean", plots.OKABE_ITO[2], "clean"),
            ("scores_corrupted", plots.OKABE_ITO[5], "corrupted"),
        ]:
            scores = np.asarray(sop_run[key]) + 1e-5  # a floor for the log axis
            ax.hist(scores, bins=bins, alpha=0.7, color=color, label=label)
        ax.set_xscale("log")
        ax.legend()
    ax.set(
        xlabel=r"$\|s_i\|$",
        ylabel="samples",
        title=f"SOP flags the corrupted labels (AUC {sop_run.get('auc', float('nan')):.3f})",
    )


def plot_sensitivity(result: dict):
    """Left: theta's error against the rate of u and of v (the other at the working rate);
    middle: the error of s on its positive and negative corruptions against each rate; right:
    theta's error against the initial scale tau. Diverged runs are drawn at the top edge."""
    fig, axes = plots.subplots(1, 3, width=4.4, height=3.8)
    alphas, ceiling = result["alphas"], 1e2

    def clip(values):
        return np.minimum(np.asarray(values, dtype=float), ceiling)

    for color, name, label in [(plots.OKABE_ITO[0], "alpha_u", "rate of u"),
                               (plots.OKABE_ITO[1], "alpha_v", "rate of v")]:  # fmt: skip
        axes[0].loglog(alphas, clip(result[f"theta_error_{name}"]), "o-", color=color, label=label)
        axes[1].loglog(alphas, clip(result[f"pos_error_{name}"]), "o-", color=color,
                       label=f"{label}: positive $s_i$")  # fmt: skip
        axes[1].loglog(alphas, clip(result[f"neg_error_{name}"]), "s--", color=color, mfc="none",
                       label=f"{label}: negative $s_i$")  # fmt: skip
    for ax in axes[:2]:
        ax.axvline(result["alpha_stable"], color="0.5", ls=":", lw=1, label="stability limit")
        ax.set_xlabel(r"$\alpha$ (rate of $u$ or $v$ over $\theta$'s)")
    axes[0].set(ylabel=r"$\|\theta - \theta^*\| / \|\theta^*\|$",
                title=f"Each rate has a window ({result['steps']} steps)")  # fmt: skip
    axes[1].set(ylabel="relative error of $s$ on that sign", title="Each rate owns a sign of $s$")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=6)
    axes[2].loglog(result["taus"], clip(result["theta_error_tau"]), "o-", color=plots.OKABE_ITO[2])
    axes[2].invert_xaxis()
    axes[2].set(xlabel=r"initial scale $\tau$ (smaller to the right)",
                ylabel=r"$\|\theta - \theta^*\| / \|\theta^*\|$",
                title="Small initialisation: sparse $s$")  # fmt: skip
    return fig
