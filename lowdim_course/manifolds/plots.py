"""The lecture's figures, each drawn from an experiment's result dict (`plot_pairs` from the
curve pairs themselves, and optionally trained networks)."""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import plots
from .curves import DTYPE
from .ntk import ntk_profiles


def plot_ntk(result: dict):
    """Left: one empirical kernel per width against the analytic one; right: the error."""
    fig, (ax, ax2) = plots.subplots(1, 2, width=5.2, height=4.0)
    nu = np.asarray(result["angles"])
    for color, (width, profile) in zip(plots.OKABE_ITO[1:], result["profiles"].items()):
        ax.plot(nu, np.asarray(profile), "o", ms=3, color=color, label=f"width {width}")
    ax.plot(
        nu, np.asarray(result["analytic_profile"]), "k-", lw=1.5, label="analytic (infinite width)"
    )
    ax.set(
        xlabel=r"angle $\nu$ between inputs",
        ylabel=r"$\Theta(\nu)\,/\,\Theta(0)$",
        title=f"NTK of a depth-{result['depth']} ReLU network",
    )
    ax.legend(fontsize=8)
    widths = np.asarray(result["widths"], dtype=float)
    for w in result["widths"]:
        ax2.plot([w] * len(result["errors"][str(w)]), result["errors"][str(w)], ".", color="0.6")
    ax2.loglog(
        widths, result["mean_error"], "o-", color=plots.OKABE_ITO[5], label="mean over draws"
    )
    ref = result["mean_error"][0] * np.sqrt(widths[0] / widths)
    ax2.loglog(widths, ref, "k--", lw=1, label=r"$\propto \mathrm{width}^{-1/2}$")
    ax2.set(
        xlabel="width n",
        ylabel=r"$\|\hat\Theta - \Theta\|_{L^2} \,/\, \|\Theta\|_{L^2}$ over $[0, \pi]$",
        title=f"Concentration (fitted slope {result['slope']:.2f})",
    )
    ax2.legend(fontsize=8)
    return fig


def plot_depth(result: dict):
    """Kernel profiles over depth; their half width against each N's sample spacing; the
    certificate norm over depth for each N and for the population (minima marked); and each
    N's certificate relative to the population one."""
    fig, axes = plots.subplots(2, 2, width=5.4, height=4.0)
    (ax_k, ax_w), (ax_c, ax_r) = axes
    nu = np.degrees(np.asarray(result["angles"]))
    depths = np.asarray(result["depths"], dtype=float)
    colors = plots.plt.get_cmap("viridis")(np.linspace(0, 0.9, len(depths)))
    for color, depth in zip(colors, result["depths"]):
        profile = np.asarray(result["profiles"][str(depth)])
        ax_k.plot(nu, profile, color=color, label=f"L = {depth}")
    ax_k.set(
        xlabel=r"angle $\nu$ (degrees)",
        ylabel=r"$k_L(\nu) \approx \Theta(\nu)\,/\,\Theta(0)$",
        title="Deeper kernels are sharper",
    )
    ax_k.legend(fontsize=7, ncol=2)
    half = np.degrees(np.asarray(result["half_width"], dtype=float))
    ax_w.loglog(depths, half, "o-", color="k", label="half width of the peak")
    ax_w.loglog(depths, half[-1] * depths[-1] / depths, "k:", lw=1, label=r"$\propto 1/L$")
    samples = [str(n) for n in result["samples"]]
    by_n = dict(zip(samples, plots.OKABE_ITO[1:]))
    for n, color in by_n.items():
        spacing = math.degrees(float(result["spacing"][n]))
        ax_w.axhline(spacing, color=color, ls="--", lw=1, label=f"sample spacing, N = {n}")
    ax_w.set(
        xlabel="depth L",
        ylabel="angle (degrees)",
        title="Kernel aperture against the sample spacing",
    )
    ax_w.legend(fontsize=7)
    population = np.asarray(result["population_norm"], dtype=float)
    ax_c.loglog(depths, population, "k--", lw=1.5, label=r"population ($N \to \infty$)")
    best = int(np.argmin(population))
    ax_c.plot(depths[best], population[best], "k*", ms=12)
    for n, color in by_n.items():
        norms = np.asarray(result["certificate_norm"][n], dtype=float)
        low = int(np.argmin(norms))
        ax_c.loglog(depths, norms, "o-", ms=3, color=color, label=f"N = {n}")
        ax_c.plot(depths[low], norms[low], "*", ms=12, color=color, mec="k", mew=0.5)
    ax_c.set(
        xlabel="depth L",
        ylabel=r"certificate norm $\|g\|_{L^2(\mu_N)}$",
        title="Certificate norm over depth (minima starred)",
    )
    ax_c.legend(fontsize=7)
    for n, color in by_n.items():
        norms = np.asarray(result["certificate_norm"][n], dtype=float)
        ax_r.semilogx(depths, norms / population, "o-", ms=3, color=color, label=f"N = {n}")
        resolved = depths[half >= math.degrees(float(result["spacing"][n]))]
        if len(resolved):  # the deepest depth whose half width is at least the spacing
            ax_r.axvline(resolved[-1], color=color, ls=":", lw=1)
    ax_r.axhline(1, color="k", lw=0.8)
    ax_r.set(
        xlabel="depth L (dotted: last depth with half width >= spacing)",
        ylabel="certificate norm / population norm",
        title="N samples against the population",
    )
    ax_r.legend(fontsize=7)
    return fig


def plot_training(result: dict):
    """Real training error (solid) and its kernel prediction (dashed); deviation over width."""
    fig, (ax, ax2) = plots.subplots(1, 2, width=5.6, height=4.0)
    steps = np.asarray(result["steps"])
    for color, (width, run) in zip(plots.OKABE_ITO[1:], result["runs"].items()):
        ax.plot(steps, np.asarray(run["rms"]), color=color, label=f"width {width}: network")
        ax.plot(steps, np.asarray(run["rms_predicted"]), "--", color=color, lw=1.2)
    ax.set(
        xlabel="gradient descent step",
        ylabel=r"training error $\|\zeta_t\|_{L^2(\mu_N)}$",
        title=r"GD (solid) vs kernel prediction $(I - \eta\Theta_0/N)^t \zeta_0$ (dashed)",
    )
    ax.legend(fontsize=8)
    widths = np.asarray(result["widths"], dtype=float)
    runs = [result["runs"][str(w)] for w in result["widths"]]
    ax2.loglog(
        widths,
        [r["deviation"] for r in runs],
        "o-",
        color=plots.OKABE_ITO[5],
        label="max gap between the curves / initial error",
    )
    ax2.loglog(
        widths,
        [r["kernel_movement"] for r in runs],
        "s-",
        color=plots.OKABE_ITO[2],
        label=r"kernel movement $\|\Theta_T - \Theta_0\|_F / \|\Theta_0\|_F$",
    )
    ax2.set(
        xlabel="width n",
        ylabel="relative size",
        title=f"Wider networks train like their kernel (depth {result['depth']})",
    )
    ax2.legend(fontsize=8)
    return fig


def plot_decision(result: dict):
    """The widest trained network's output along both curves: the sign is the label it gives."""
    width = str(result["widths"][-1])
    run = result["runs"][width]
    fig, ax = plots.subplots(width=6.4, height=3.8)
    for name, color, key in [
        ("M+ (label +1)", plots.OKABE_ITO[1], "f_plus"),
        ("M- (label -1)", plots.OKABE_ITO[0], "f_minus"),
    ]:
        f = np.asarray(run[key])
        ax.plot(np.linspace(0, 360, len(f), endpoint=False), f, color=color, label=name)
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel="position along the curve, t (degrees)", ylabel=r"$f_\theta(x(t))$")
    points = 2 * len(run["f_plus"])
    ax.set_title(f"Width {width}: {run['test_error']:.3f} misclassified of {points}")
    ax.legend(fontsize=8)
    return fig


def plot_resources(result: dict):
    """Left: test error over (depth, separation) at the map's time, cells with every run perfect
    marked; middle: the time each cell needs for <= 1% test error (from the times it was read
    at); right: test error against the number of samples."""
    from .experiments import required_times

    fig, (ax, ax1, ax2) = plots.subplots(1, 3, width=5.2, height=4.2)
    error = np.asarray(result["test_error"])
    image = ax.imshow(100 * error, cmap="magma_r", vmin=0, aspect="auto")
    for (i, j), e in np.ndenumerate(error):
        mark = "*" if np.asarray(result["success"])[i, j] == 1 else ""
        color = "white" if e > 0.6 * error.max() else "black"
        ax.text(j, i, f"{100 * e:.1f}{mark}", ha="center", va="center", fontsize=8, color=color)
    labels = [f"{s:g} ({k:.1f})" for s, k in zip(result["separations"], result["curvatures"])]
    for a in (ax, ax1):
        a.set_xticks(range(len(result["depths"])), [str(d) for d in result["depths"]])
        a.set_yticks(range(len(labels)), labels)
    ax.set(
        xlabel="depth L",
        ylabel=r"separation $\Delta$ (curvature $\kappa$)",
        title=f"Test error % at time {result['time']:g} ({result['model']})\n* = every run perfect",
    )
    fig.colorbar(image, ax=ax, fraction=0.046, label="test error (%)")
    needed = required_times(result, tolerance=0.01)
    times = np.asarray(result["times"], dtype=float)
    shown = np.log10(np.where(np.isfinite(needed), needed, 10 * times[-1]))
    image = ax1.imshow(shown, cmap="viridis", aspect="auto")
    middle = 0.5 * (shown.min() + shown.max())
    for (i, j), t in np.ndenumerate(needed):
        text = f"{t:g}" if np.isfinite(t) else f">{times[-1]:g}"
        color = "black" if shown[i, j] > middle else "white"
        ax1.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
    ax1.set(
        xlabel="depth L",
        ylabel=r"separation $\Delta$ (curvature $\kappa$)",
        title="Time needed for <= 1% test error",
    )
    fig.colorbar(image, ax=ax1, fraction=0.046, label=r"$\log_{10}$ time (units of $1/\Theta(0)$)")
    ax2.semilogx(result["data_samples"], result["data_error"], "o-", color=plots.OKABE_ITO[5])
    ax2.set(
        xlabel="number of samples N",
        ylabel="test error on both curves",
        title=rf"Data as a resource (L = {result['data_depth']}, "
        rf"$\Delta$ = {result['data_separation']})",
    )
    return fig


def plot_pairs(pairs: list, nets: list | None = None, titles: list | None = None):
    """3-D views of curve pairs: M+ in orange, M- in blue. A pair on S^2 is drawn on the sphere;
    with a trained network, the sphere is coloured by the sign of f (the label it would give).
    A pair on S^3 is drawn by its first three coordinates (a projection)."""
    fig = plots.plt.figure(figsize=(4.6 * len(pairs), 4.4))
    for k, pair in enumerate(pairs):
        ax = fig.add_subplot(1, len(pairs), k + 1, projection="3d")
        net = nets[k] if nets else None
        if pair.dim == 3:
            lon, lat = torch.meshgrid(torch.linspace(0, 2 * math.pi, 73, dtype=DTYPE),
                                      torch.linspace(-math.pi / 2, math.pi / 2, 37, dtype=DTYPE),
                                      indexing="ij")  # fmt: skip
            sphere = torch.stack([lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()], -1)
            colors = np.full(lon.shape + (4,), (0.85, 0.85, 0.85, 0.25))
            if net is not None:
                with torch.no_grad():
                    f = net(sphere.reshape(-1, 3).to(net.output.dtype)).reshape(lon.shape)
                colors = np.where((f > 0).numpy()[..., None], (0.9, 0.62, 0.0, 0.3),
                                  (0.34, 0.71, 0.91, 0.3))  # fmt: skip
            ax.plot_surface(*sphere.permute(2, 0, 1).numpy(), facecolors=colors, linewidth=0,
                            shade=False)  # fmt: skip
        x, y = pair.dense(400)
        for sign, color in [(1, plots.OKABE_ITO[1]), (-1, plots.OKABE_ITO[0])]:
            points = x[y == sign].numpy()
            points = np.vstack([points, points[:1]])
            ax.plot(points[:, 0], points[:, 1], points[:, 2], color=color, lw=2.0)
        ax.set(
            xlabel="$x_1$", ylabel="$x_2$", zlabel="$x_3$", title=titles[k] if titles else pair.name
        )
        ax.set_box_aspect((1, 1, 1))
        ax.tick_params(labelsize=6)
    return fig


def plot_b_number(pairs: list, counts: list, titles: list):
    """Pairs of S^2 in longitude-latitude coordinates, each grid point coloured by its count in
    the B-number (`b_number`: the balls needed to cover the far-but-close part of M from it)."""
    fig, axes = plots.subplots(1, len(pairs), width=3.6, height=3.2, squeeze=False)
    top = max(1, max(int(c.max()) for c in counts))
    for ax, pair, count, title in zip(axes[0], pairs, counts, titles):
        x, _ = pair.dense(len(count) // 2)
        longitude = np.degrees(np.arctan2(x[:, 1].numpy(), x[:, 0].numpy()) % (2 * math.pi))
        latitude = np.degrees(np.arcsin(x[:, 2].clamp(-1, 1).numpy()))
        dots = ax.scatter(longitude, latitude, c=count.numpy(), s=4, cmap="viridis", vmin=0,
                          vmax=top)  # fmt: skip
        ax.set(xlabel="longitude (degrees)", ylabel="latitude (degrees)", title=title)
    fig.colorbar(dots, ax=axes[0].tolist(), label="balls to cover the far-but-close part")
    return fig


def plot_certificate_decay(decay: dict):
    """The training error of the kernel flow against time for each depth (solid), and its
    certificate bound ||g||/(e t) + ||xi|| (dashed), on log-log axes."""
    fig, ax = plots.subplots(width=6.4, height=4.0)
    for color, (depth, run) in zip(plots.OKABE_ITO[1:], decay.items()):
        g = run["certificate_norm"]
        ax.loglog(run["times"], run["rms"], "-", color=color, label=f"L = {depth}, ||g|| = {g:.0f}")
        ax.loglog(run["times"], run["bound"], "--", color=color, lw=1)
    ax.set_ylim(1e-4, 3)
    ax.set(
        xlabel=r"time $t$ (units of $1/\Theta(0)$)",
        ylabel=r"training error $\|\zeta_t\|_{L^2(\mu_N)}$",
        title=r"Kernel flow (solid) and the bound $\|g\|/(et) + \|\xi\|$ (dashed)",
    )
    ax.legend(fontsize=8)
    return fig


def plot_width_depth(result: dict):
    """Left: the median uniform kernel error over depth at each width; right: the same against
    the depth-to-width ratio L/n, where the widths fall onto one curve."""
    fig, (ax, ax2) = plots.subplots(1, 2, width=5.2, height=4.0)
    depths = np.asarray(result["depths"], dtype=float)
    median = np.asarray(result["median_error"], dtype=float)
    for color, width, row in zip(plots.OKABE_ITO[1:], result["widths"], median):
        ax.loglog(depths, row, "o-", color=color, label=f"width {width}")
        ax2.loglog(depths / width, row, "o-", color=color, label=f"width {width}")
    ref = median[-1, 0] * np.sqrt(depths)
    ax.loglog(depths, ref, "k--", lw=1, label=r"$\propto \sqrt{L}$")
    ax.set(
        xlabel="depth L",
        ylabel=r"$\sup_{M \times M} |\hat\Theta - \Theta| \,/\, \Theta(0)$ (median)",
        title="Fixed width: concentration degrades with depth",
    )
    ax2.set(xlabel="depth / width L/n", ylabel="median uniform error", title="Set by L/n")
    ax.legend(fontsize=8)
    ax2.legend(fontsize=8)
    return fig


def plot_kernel_shapes(depths, resolution: int = 721):
    """The kernel profile k_L(nu) (the slide's Theta(e_1, x')/L up to the factor n/2) at each
    depth: left over the whole angle range, right on log-log axes, where the peak's width
    shrinks like 1/L and its tail decays slowly."""
    fig, (ax, ax2) = plots.subplots(1, 2, width=5.2, height=3.8)
    nu = torch.linspace(0, math.pi, resolution, dtype=DTYPE)
    small = torch.logspace(-4, math.log10(math.pi), resolution, dtype=DTYPE)  # resolves L = 625
    colors = plots.plt.get_cmap("viridis")(np.linspace(0, 0.85, len(depths)))
    shapes = zip(ntk_profiles(nu, depths), ntk_profiles(small, depths))
    for color, ((depth, k), (_, k_small)) in zip(colors, shapes):
        ax.plot(np.degrees(nu.numpy()), k.numpy(), color=color, label=f"L = {depth}")
        ax2.loglog(np.degrees(small.numpy()), k_small.numpy(), color=color, label=f"L = {depth}")
    ax.set(xlabel=r"angle $\nu$ (degrees)", ylabel=r"$k_L(\nu)$", title="The kernel's shape")
    ax2.set(xlabel=r"angle $\nu$ (degrees)", ylabel=r"$k_L(\nu)$", title="The same, log-log")
    ax.legend(fontsize=8)
    return fig
