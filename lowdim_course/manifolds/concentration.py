"""`manifolds_width_depth`: width against depth. The proposition of the lecture: the random
NTK concentrates around its infinite-width limit uniformly over M x M once the width exceeds
L polylog(L n0) (Buchanan et al. 2021), so the width a network needs grows with its depth. At a
fixed width, a deeper network's kernel fluctuates more: this experiment measures the uniform
error over the pairs of a grid on both curves of a winding pair, for each (width, depth).

Quick: widths 16-256, depths 1-32, 6 draws (about 1 s of one CPU core); full: widths 64-1024,
depths 1-64, 8 draws (about 30 s of one core, measured one draw at a time; 1.1 GB of memory).
Both use one torch thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..runtime import config_threads
from ..train import progress_enabled
from .curves import DTYPE, named_pair
from .ntk import ReLUNet, analytic_ntk, angles_between, empirical_ntk, ntk_at_zero


@dataclass(frozen=True)
class WidthDepthConfig:
    widths: tuple = (16, 64, 256)  # each 4 times the last: (n, L) and (4n, 4L) share L/n
    depths: tuple = (1, 2, 4, 8, 16, 32)
    draws: int = 6  # random initialisations per width, each read at every depth
    pair: str = "winding"  # the manifold M = M+ u M- the sup runs over
    separation: float = 0.3
    turns: int = 5
    points: int = 16  # grid points per curve: the sup is over (2 points)^2 pairs
    threads: int = 1  # torch CPU threads during the run (0: unchanged)

    @classmethod
    def quick(cls) -> WidthDepthConfig:
        return cls()

    @classmethod
    def full(cls) -> WidthDepthConfig:
        # One thread: two make the many small products of the narrow networks six times slower.
        return cls(widths=(64, 256, 1024), depths=(1, 2, 4, 8, 16, 32, 64), draws=8, points=24)


def uniform_kernel_error(net: ReLUNet, x: torch.Tensor) -> float:
    """sup over the pairs (x_i, x_j) of |Theta_emp - Theta| / Theta(0): the uniform error of the
    network's NTK on the points x, in units of the kernel's scale Theta(0) = 1 + nL/2."""
    analytic = analytic_ntk(angles_between(x, x), net.depth, net.width)
    empirical = empirical_ntk(net, x).to(DTYPE)
    return ((empirical - analytic).abs().max() / ntk_at_zero(net.width, net.depth)).item()


def first_layers(net: ReLUNet, depth: int) -> ReLUNet:
    """The network made of the first `depth` hidden layers of `net` and its output layer,
    sharing their weights: a random network of that depth (its layers are i.i.d.), so one
    deep draw serves every depth."""
    sub = ReLUNet(net.hidden[0].shape[1], net.width, 1, net.parametrization, dtype=net.output.dtype)
    sub.hidden, sub.output = nn.ParameterList(list(net.hidden[:depth])), net.output
    return sub


@config_threads
def run_width_depth(
    config: WidthDepthConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """For each width and depth, the uniform kernel error (`uniform_kernel_error`) of `draws`
    random networks on a grid of both curves of the pair, and its mean over the draws (each
    draw is one network of the largest depth, read at every depth by `first_layers`); the
    fitted slope of log error against log depth at each width (the fluctuations of the NTK
    grow like sqrt(L/n), Hanin & Nica 2019, so about 1/2). Seconds: no checkpoints."""
    g = torch.Generator().manual_seed(seed)
    pair = named_pair(config.pair, config.separation, config.turns)
    x, _ = pair.dense(config.points)
    x = x.to(device)
    errors = {f"{w}x{d}": [] for w in config.widths for d in config.depths}
    runs = [(w, draw) for w in config.widths for draw in range(config.draws)]
    for width, _ in tqdm(runs, desc="kernels", disable=not progress_enabled(progress)):
        deep = ReLUNet(pair.dim, width, max(config.depths), generator=g).to(device)
        for depth in config.depths:
            errors[f"{width}x{depth}"].append(uniform_kernel_error(first_layers(deep, depth), x))
    mean = np.array([[np.mean(errors[f"{w}x{d}"]) for d in config.depths] for w in config.widths])
    log_depths = np.log(np.asarray(config.depths, dtype=float))
    slopes = [float(np.polyfit(log_depths, np.log(row), 1)[0]) for row in mean]
    return {
        "pair": pair.name,
        "widths": list(config.widths),
        "depths": list(config.depths),
        "errors": errors,
        "mean_error": mean,  # (widths, depths)
        "median_error": np.array(
            [[np.median(errors[f"{w}x{d}"]) for d in config.depths] for w in config.widths]
        ),
        "depth_slopes": slopes,
    }
