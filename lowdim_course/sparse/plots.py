"""The lecture's figures: one `plot_*` per figure, each drawing from an experiment's result
dict (see experiments.py) and returning the matplotlib Figure.
"""

from __future__ import annotations

import math

import numpy as np

from .. import plots
from .sample_complexity import law_curve


def plot_rates(result: dict):
    """Gaps F(x_k) - F* (median and range over the problems) and the O(1/k), O(1/k^2) bounds."""
    k = np.asarray(result["iterations"])
    fig, ax = plots.subplots(width=6.4, height=4.4)
    labels = {"ista": "ISTA", "fista": "FISTA", "fista_backtracking": "FISTA, backtracking"}
    for color, (name, label) in zip(plots.OKABE_ITO, labels.items()):
        gaps = np.maximum(np.asarray(result["gaps"][name]), 1e-16)
        ax.loglog(k, np.median(gaps, 0), color=color, label=label)
        ax.fill_between(k, gaps.min(0), gaps.max(0), color=color, alpha=0.2)
        if name != "fista_backtracking":
            bound = np.median(np.asarray(result["bounds"][name]), 0)
            ax.loglog(k, bound, color=color, linestyle="--", label=f"{label} bound")
    ax.set(
        xlabel="iteration k",
        ylabel=r"$F(x_k) - F^\star$",
        title="Lasso: ISTA O(1/k) vs FISTA O(1/k$^2$)",
    )
    ax.set_ylim(bottom=max(1e-14, ax.get_ylim()[0]))  # below 1e-14 is rounding noise
    ax.legend()
    return fig


def plot_phase_transition(result: dict):
    """Heat map of the recovery probability, with the weak threshold, the asymptotic law
    m = 2k log(n/k) and the empirical 50%."""
    deltas, rhos = np.asarray(result["deltas"]), np.asarray(result["rhos"])
    fig, ax = plots.subplots(width=6.0, height=4.6)

    def edges(v):  # cell edges around the (possibly irregular) grid centres
        return np.concatenate(
            [[1.5 * v[0] - 0.5 * v[1]], (v[1:] + v[:-1]) / 2, [1.5 * v[-1] - 0.5 * v[-2]]]
        )

    mesh = ax.pcolormesh(
        edges(deltas), edges(rhos), np.asarray(result["probability"]), cmap="gray", vmin=0, vmax=1
    )
    fig.colorbar(mesh, ax=ax, label="probability of exact recovery")
    curve = result["curve"]
    ax.plot(curve["delta"], curve["rho"], color=plots.OKABE_ITO[1], label="weak threshold (theory)")
    law = law_curve()  # m = 2k log(n/k), the same curve for every n in these coordinates
    ax.plot(
        law["delta"],
        law["rho"],
        "--",
        color=plots.OKABE_ITO[2],
        label=r"asymptotic law $m = 2k\log(n/k)$",
    )
    ax.plot(
        deltas,
        result["empirical_rho50"],
        "o",
        color=plots.OKABE_ITO[5],
        markeredgecolor="k",
        label="empirical 50%",
    )
    ax.set(
        xlabel=r"$\delta = m/n$ (undersampling)",
        ylabel=r"$\rho = k/m$ (sparsity)",
        title=f"Basis pursuit phase transition, n = {result['n']}",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="upper left")
    ax.grid(False)
    return fig


def plot_completion(result: dict):
    """Error against the sampling rate (left) and against iterations at the check rate (right)."""
    fig, (ax_rate, ax_iter) = plots.subplots(1, 2, width=5.0, height=4.0)
    rates = np.asarray(result["rates"])
    for color, key, label in [
        (plots.OKABE_ITO[0], "nuclear_error", "nuclear norm (convex)"),
        (plots.OKABE_ITO[1], "burer_monteiro_error", "Burer-Monteiro (rank r)"),
    ]:
        err = np.maximum(np.asarray(result[key]), 1e-16)  # (rates, trials)
        ax_rate.semilogy(rates, np.median(err, 1), "o-", color=color, label=label)
        ax_rate.fill_between(rates, err.min(1), err.max(1), color=color, alpha=0.2)
    ax_rate.set(
        xlabel="fraction of entries observed",
        ylabel=r"$\|X - M\|_F / \|M\|_F$",
        title=f"Completing a rank-{result['rank']} {result['n']}x{result['n']} matrix",
    )
    ax_rate.legend()
    curves = result["curves"]
    ax_iter.semilogy(curves["nuclear"], label="nuclear norm (ADMM)")
    ax_iter.semilogy(curves["burer_monteiro"], label="Burer-Monteiro (GD)")
    ax_iter.set(
        xlabel="iteration",
        ylabel=r"$\|X_k - M\|_F / \|M\|_F$",
        title=f"Convergence at {result['check']['rate']:.0%} observed",
    )
    ax_iter.legend()
    return fig


def plot_dictionary(result: dict):
    """Per start, the overlap max_j |<q, a_j>| it reached, and how many starts found each column."""
    fig, (ax_start, ax_col) = plots.subplots(1, 2, width=4.8, height=3.8)
    best = np.asarray(result["best_overlap"])
    ax_start.plot(np.sort(1 - best), "o", markersize=3)
    ax_start.set_yscale("log")
    ax_start.set(
        xlabel="start (sorted)",
        ylabel=r"$1 - \max_j |\langle q, a_j\rangle|$",
        title=f"{result['starts']} random starts, n = {result['n']}",
    )
    counts = np.bincount(np.asarray(result["column"]), minlength=result["n"])
    ax_col.bar(np.arange(result["n"]), counts, color=plots.OKABE_ITO[2])
    ax_col.set(
        xlabel="column j of $A_o$",
        ylabel="starts converging to $\\pm a_j$",
        title=f"Columns found: {result['n_found']} of {result['n']}",
    )
    return fig


def plot_dictionary_landscape(result: dict):
    """The objective on S^2 (longitude-latitude map) with ±a_j and gradient-descent paths."""
    land = result["landscape"]
    deg = 180 / math.pi
    fig, ax = plots.subplots(width=7.0, height=3.9)
    mesh = ax.pcolormesh(
        np.asarray(land["azimuth"]) * deg,
        np.asarray(land["elevation"]) * deg,
        np.asarray(land["values"]),
        cmap="viridis",
        shading="auto",
    )
    fig.colorbar(mesh, ax=ax, label=r"$f(q) = \frac{1}{p}\sum_i h_\mu(q^\top y_i)$")
    for path in np.asarray(land["paths"]) * deg:  # (steps, 2); skip the jumps across +-180
        jumps = np.flatnonzero(np.abs(np.diff(path[:, 0])) > 180) + 1
        for piece in np.split(path, jumps):
            ax.plot(piece[:, 0], piece[:, 1], color="w", linewidth=0.8, alpha=0.8)
        ax.plot(*path[0], "o", color="w", markersize=2.5)
    cols = np.asarray(land["columns"]) * deg
    ax.plot(cols[:, 0], cols[:, 1], "*", color=plots.OKABE_ITO[1], markersize=13,
            markeredgecolor="k", label=r"$\pm a_j$")  # fmt: skip
    ax.set(
        xlabel="azimuth (degrees)",
        ylabel="elevation (degrees)",
        title="Dictionary learning landscape on the sphere, n = 3",
    )
    ax.legend(loc="lower left")
    ax.grid(False)
    return fig


def plot_unrolled(result: dict):
    """Error against iterations (ISTA, FISTA) and layers (trained LISTA)."""
    fig, ax = plots.subplots(width=6.4, height=4.2)
    k = np.arange(1, len(result["ista_error"]) + 1)
    ax.loglog(k, result["ista_error"], label="ISTA")
    ax.loglog(k, result["fista_error"], label="FISTA")
    layers = [int(K) for K in result["lista"]]
    errors = [result["lista"][str(K)]["error"] for K in layers]
    ax.loglog(layers, errors, "s", color=plots.OKABE_ITO[3], markersize=9, label="LISTA (trained)")
    for K, e in zip(layers, errors):
        ax.axhline(e, color=plots.OKABE_ITO[3], linestyle=":", linewidth=1)
        match = result["lista"][str(K)]["ista_iterations_to_match"]
        if match:
            ax.annotate(
                f"ISTA needs {match} iterations",
                (match, e),
                xytext=(-6, -14),
                textcoords="offset points",
                ha="right",
                fontsize=9,
            )
    ax.set(
        xlabel="iterations (ISTA, FISTA) or layers (LISTA)",
        ylabel=r"$\|x - x^\star\|^2 / \|x^\star\|^2$",
        title="Unrolled ISTA: learned layers vs iterations",
    )
    ax.legend()
    return fig


def plot_sample_complexity_law(result: dict):
    """psi(s) / (2 s log(1/s)) and the second-order expansion's ratio against s = k/n."""
    s = np.asarray(result["s"])
    fig, ax = plots.subplots(width=6.4, height=3.6)
    law = np.asarray(result["law"])
    ax.semilogx(s, np.asarray(result["psi"]) / law, "o-", markersize=3, label=r"$\psi(s)$ (exact)")
    ax.semilogx(s, np.asarray(result["expansion"]) / law, "--", label="second-order expansion")
    ax.semilogx(s, np.asarray(result["bound"]) / law, ":", label=r"$2s\log(1/s) + \frac{5}{4}s$")
    ax.axhline(1, color="k", linewidth=0.8)
    ax.set(
        xlabel=r"sparsity $s = k/n$",
        ylabel=r"ratio to $2 s \log(1/s)$",
        title=r"How slowly $\psi(s) \to 2 s \log(1/s)$",
        ylim=(0.5, 1.5),
    )
    ax.invert_xaxis()  # sparser to the right: the limit s -> 0
    ax.legend(loc="upper left")
    return fig


def plot_thresholding(result: dict):
    """Fraction of supports one thresholding step finds, against s, with the coherence guarantee."""
    fig, ax = plots.subplots(width=6.4, height=3.6)
    ax.plot(result["sparsities"], result["success"], "o-", label="one-step thresholding")
    ax.axvline(result["guarantee"], color=plots.OKABE_ITO[1], linestyle="--",
               label=rf"coherence guarantee ($\mu$ = {result['coherence']:.2f})")  # fmt: skip
    ax.set(
        xlabel="non-zeros s of the code",
        ylabel="fraction of supports found",
        title=f"Thresholding $D^\\top x$, D of {result['n']} x {result['atoms']}",
    )
    ax.legend()
    return fig
