"""The lecture's experiments: configs, `run_*` and the `EXPERIMENTS` registry entries.

Quick profile: one torch thread, sized for 2 CPU cores; full: the papers' scale.
- `manifolds_ntk`: the empirical NTK of depth-2 networks of width 64 ... 4096 against the
  analytic one over the angle range: its relative L^2 error falls like width^{-1/2}.
- `manifolds_depth`: the kernel profile for depth 1 ... 256 (sharper with depth) and the
  certificate of the labels on a winding pair for several sample sizes N and for the
  population: U-shaped in depth, with its minimum set by the geometry; N samples follow the
  population certificate while the kernel's half width exceeds their spacing.
- `manifolds_training`: gradient descent on a winding pair, one hidden layer of width
  32 ... 2048: the wider the network, the closer it follows its kernel's prediction and the
  less its kernel moves.
- `manifolds_resources`: test error over (depth, separation) for winding pairs at a fixed
  training time, and the test error against the number of samples. Two models (the config's
  `model`): quick, the infinite-width network (kernel flow); full, real networks of width 1024.
- `manifolds_width_depth` (in `concentration`): the uniform error of the NTK over the pairs of
  a grid on a winding pair, over (width, depth): at a fixed width it grows with depth, and L/n
  sets it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from tqdm.auto import tqdm

from ..runtime import config_threads
from ..train import progress_enabled
from .concentration import WidthDepthConfig, run_width_depth
from .curves import DTYPE, CurvePair, great_circle, named_pair, winding_pair
from .dynamics import (
    certificate,
    dense_errors,
    fit_network,
    kernel_flow_errors,
    kernel_prediction,
    population_certificates,
    train_gd,
)
from .ntk import (
    ReLUNet,
    analytic_ntk,
    angles_between,
    empirical_ntk,
    half_width,
    ntk_at_zero,
    ntk_profile,
    ntk_profiles,
)
from .plots import (
    plot_decision,
    plot_depth,
    plot_ntk,
    plot_resources,
    plot_training,
    plot_width_depth,
)

# --- manifolds_ntk ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NtkConfig:
    depth: int = 2
    widths: tuple = (64, 256, 1024, 4096)
    draws: int = 4  # random initialisations per width
    angles: int = 33  # on [0, pi]
    in_dim: int = 3
    threads: int = 1  # torch CPU threads during the run (0: unchanged), see runtime.torch_threads

    @classmethod
    def quick(cls) -> NtkConfig:
        return cls()

    @classmethod
    def full(cls) -> NtkConfig:
        # Weights are drawn on the CPU generator (reproducible on any device): 8192^2 x 3 per draw.
        return cls(depth=4, widths=(64, 256, 1024, 4096, 8192), draws=8, angles=65, threads=0)


@config_threads
def run_ntk(config: NtkConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """Empirical NTK Theta(e_1, x(nu)) of random networks of each width against the analytic
    kernel, over nu in [0, pi]. Error of a draw, in the relative L^2 norm over the angle range:
    ||Theta_emp - Theta||_{L^2[0, pi]} / ||Theta||_{L^2[0, pi]} (on the grid). Its shape error
    sup_nu |Theta_emp(nu)/Theta_emp(0) - Theta(nu)/Theta(0)| leaves out the overall scale, which
    at depth 2 mostly comes from the output layer (sum_i w_i^2 over the active units: a
    relative spread of about 2/sqrt(n) on its own).
    Seconds: no checkpoints."""
    g = torch.Generator().manual_seed(seed)
    nu = torch.linspace(0, math.pi, config.angles, dtype=DTYPE)
    x = great_circle(nu, config.in_dim)
    profiles, errors, shape_errors = {}, {}, {}
    for width in config.widths:
        analytic = analytic_ntk(nu, config.depth, width)
        errors[str(width)], shape_errors[str(width)] = [], []
        for draw in range(config.draws):
            net = ReLUNet(config.in_dim, width, config.depth, generator=g).to(device)
            empirical = empirical_ntk(net, x[:1].to(device), x.to(device))[0].cpu()
            gap = empirical - analytic
            errors[str(width)].append((gap.norm() / analytic.norm()).item())
            shape = empirical / empirical[0] - analytic / analytic[0]
            shape_errors[str(width)].append(shape.abs().max().item())
            if draw == 0:
                profiles[str(width)] = empirical / analytic[0]
    widths = np.array(config.widths, dtype=float)
    mean_error = np.array([np.mean(errors[str(w)]) for w in config.widths])
    slope = np.polyfit(np.log(widths), np.log(mean_error), 1)[0]
    big = config.widths[-1]
    return {
        "depth": config.depth,
        "angles": nu,
        "analytic_profile": analytic_ntk(nu, config.depth, big) / ntk_at_zero(big, config.depth),
        "profiles": profiles,
        "widths": list(config.widths),
        "errors": errors,
        "shape_errors": shape_errors,
        "mean_error": mean_error.tolist(),
        "slope": float(slope),
    }


# --- manifolds_depth ----------------------------------------------------------------------------


# Pairs whose curves are each an orbit of a rotation: `population_certificates` is exact on them.
HOMOGENEOUS_PAIRS = ("circles", "winding")


@dataclass(frozen=True)
class DepthConfig:
    depths: tuple = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    pair: str = "winding"  # one of HOMOGENEOUS_PAIRS
    separation: float = 0.3
    turns: int = 5
    samples: tuple = (100, 200, 400)  # sample sizes N: one curve of certificates over depth each
    ridge: float = 1e-4  # of the certificate's least squares
    draws: int = 3  # sample sets per N
    grid: int = 20000  # values of t per curve for the population certificate
    threads: int = 1

    def __post_init__(self):
        if self.pair not in HOMOGENEOUS_PAIRS:
            raise ValueError(f"pair must be one of {HOMOGENEOUS_PAIRS}, not {self.pair!r}")

    @classmethod
    def quick(cls) -> DepthConfig:
        return cls()

    @classmethod
    def full(cls) -> DepthConfig:
        return cls(samples=(250, 500, 1000, 2000), draws=10, threads=0)


def curve_lengths(pair: CurvePair, n: int = 20000) -> tuple:
    """The lengths of M+ and M- (sums of chords over n points each)."""
    x, y = pair.dense(n)
    return tuple(
        (c - c.roll(1, 0)).norm(dim=1).sum().item() for c in (x[y > 0], x[y < 0])
    )  # fmt: skip


@config_threads
def run_depth(config: DepthConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """For each depth: the kernel profile k_L(nu) and its half width; for each sample size N and
    depth, the certificate of the labels (g with Theta[g] ~ zeta_0 = -y, i.e. from f_0 = 0) on
    N samples of the pair, its norm averaged over `draws` sample sets; and the population
    certificate (N -> infinity, `population_certificates`) it tends to. The sample spacing of N
    is the mean gap between neighbouring samples along a curve, (|M+| + |M-|) / N."""
    g = torch.Generator().manual_seed(seed)
    pair = named_pair(config.pair, config.separation, config.turns)
    nu = torch.linspace(0, math.pi, 181, dtype=DTYPE)
    depths = list(config.depths)
    population = population_certificates(pair, depths, config.ridge, config.grid)
    population_norm = [population[d] for d in depths]
    norms, spread, residuals, minimum = {}, {}, {}, {}
    runs = [(n, draw) for n in config.samples for draw in range(config.draws)]
    per_draw = {n: [] for n in config.samples}
    for n, _ in tqdm(runs, desc="certificates", disable=not progress_enabled(progress)):
        x, y = pair.sample(n, g)
        kernels = ntk_profiles(angles_between(x, x), depths)
        per_draw[n].append({d: certificate(k, -y, config.ridge)[1:] for d, k in kernels})
    for n, draws in per_draw.items():
        table = np.array([[run[d][0] for d in depths] for run in draws])  # (draws, depths)
        norms[str(n)] = table.mean(0).tolist()
        spread[str(n)] = table.std(0).tolist()
        residuals[str(n)] = np.max([[run[d][1] for d in depths] for run in draws], 0).tolist()
        minimum[str(n)] = depths[int(np.argmin(norms[str(n)]))]
    lengths = curve_lengths(pair)
    return {
        "pair": pair.name,
        "angles": nu,
        "depths": depths,
        "profiles": {str(d): ntk_profile(nu, d) for d in depths},
        "half_width": [half_width(d) for d in depths],
        "samples": list(config.samples),
        "spacing": {str(n): sum(lengths) / n for n in config.samples},
        "curve_lengths": list(lengths),
        "certificate_norm": norms,
        "certificate_spread": spread,
        "certificate_residual": residuals,
        "minimum_depth": minimum,
        "population_norm": population_norm,
        "population_minimum_depth": depths[int(np.argmin(population_norm))],
    }


# --- manifolds_training -------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingConfig:
    widths: tuple = (32, 128, 512, 2048)
    depth: int = 1
    pair: str = "winding"
    separation: float = 0.5
    turns: int = 3
    samples: int = 120
    steps: int = 400
    step_scale: float = 1.0  # step = step_scale / Theta(0)
    record_every: int = 10
    dense: int = 300  # test points per curve
    threads: int = 1

    @classmethod
    def quick(cls) -> TrainingConfig:
        return cls()

    @classmethod
    def full(cls) -> TrainingConfig:
        # Widths to 2048 at depth 4: one gradient step at width 2048 takes about 0.15 s on two
        # CPU cores and grows like width^2 (width 16384 would take hours per thousand steps).
        return cls(
            widths=(64, 256, 1024, 2048),
            depth=4,
            samples=400,
            steps=4000,
            record_every=50,
            dense=2000,
            threads=0,
        )


@config_threads
def run_training(
    config: TrainingConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Gradient descent on samples of a pair for networks of each width: the real error against
    the error predicted by the NTK at initialisation, how far the kernel moved, and the widest
    network's outputs on a dense grid of both curves."""
    pair = named_pair(config.pair, config.separation, config.turns)
    g = torch.Generator().manual_seed(seed)
    x, y = pair.sample(config.samples, g)
    runs = {}
    for width in config.widths:
        net = ReLUNet(pair.dim, width, config.depth, generator=g, dtype=torch.float32)
        net = net.to(device)
        steps, run = kernel_prediction(
            net,
            x.to(device),
            y.to(device),
            steps=config.steps,
            step_scale=config.step_scale,
            record_every=config.record_every,
        )
        runs[str(width)] = {**run, **dense_errors(net, pair, config.dense)}
    return {
        "pair": pair.name,
        "depth": config.depth,
        "steps": steps,
        "widths": list(config.widths),
        "runs": runs,
    }


# --- manifolds_resources ------------------------------------------------------------------------


def kernel_trial(pair: CurvePair, *, depth, samples, times, config, generator, device) -> dict:
    """The "kernel" model: the infinite-width network of `depth`, trained by gradient flow from
    f_0 = 0 (an antisymmetrised network, see `kernel_flow_errors`) and read at each of `times`
    (in units of 1/Theta(0)); no width. Returns {"test_error", "train_error", "train_rms"}: one
    value per time."""
    return kernel_flow_errors(pair, depth, samples, times, config.dense, generator)


def network_trial(pair: CurvePair, *, depth, samples, times, config, generator, device) -> dict:
    """The "network" model: a real ReLUNet of `config.width`, from a random start (its initial
    function is not zero), trained by full-batch gradient descent with steps of size 1/Theta(0)
    (`fit_network`, then `train_gd`) and read after int(t) steps for each t of `times`
    (increasing). Returns {"test_error", "train_error", "train_rms"}: one value per time."""
    steps = [int(t) for t in times]
    net, x, y = fit_network(
        pair, depth, config.width, samples, steps[0], generator=generator, device=device
    )
    x, y = x.to(device, net.output.dtype), y.to(device, net.output.dtype)
    out = {"test_error": [], "train_error": [], "train_rms": []}
    for k, step in enumerate(steps):
        if k:
            train_gd(net, x, y, step - steps[k - 1], record_every=step - steps[k - 1])
        out["test_error"].append(dense_errors(net, pair, config.dense)["test_error"])
        with torch.no_grad():
            f = net(x)
            out["train_error"].append((f.sign() != y).to(DTYPE).mean().item())
            out["train_rms"].append((f - y).pow(2).mean().sqrt().item())
    return out


# The two models `ResourcesConfig.model` chooses between.
RESOURCE_MODELS = {"kernel": kernel_trial, "network": network_trial}


@dataclass(frozen=True)
class ResourcesConfig:
    depths: tuple = (1, 2, 4, 8, 16, 32)
    separations: tuple = (0.5, 0.35, 0.25, 0.18)
    turns: int = 5
    samples: int = 300
    time: float = 100.0  # the map's training time, in steps of size 1/Theta(0); one of `times`
    # every cell is also read at these times (increasing, `time` among them): how long each
    # depth needs, and what it reaches given far more time than the map allows
    times: tuple = (10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0)
    draws: int = 3  # sample sets per cell
    dense: int = 200  # test points per curve
    data_depth: int = 8  # the data experiment: test error against the number of samples
    data_separation: float = 0.25
    data_samples: tuple = (50, 100, 200, 400, 800)
    data_time: float = 1000.0
    # The model trained in every cell, one of RESOURCE_MODELS: "kernel", the infinite-width
    # network by kernel flow from f_0 = 0 (`kernel_trial`); "network", ReLUNets of `width` by
    # gradient descent from a random start (`network_trial`).
    model: str = "kernel"
    width: int = 1024  # hidden width of the "network" model (the "kernel" model has none)
    threads: int = 1

    def __post_init__(self):
        if self.model not in RESOURCE_MODELS:
            raise ValueError(f"model must be one of {list(RESOURCE_MODELS)}, not {self.model!r}")
        if self.time not in self.times or list(self.times) != sorted(set(self.times)):
            raise ValueError(f"times must increase and contain time = {self.time}: {self.times}")

    @classmethod
    def quick(cls) -> ResourcesConfig:
        return cls()

    @classmethod
    def full(cls) -> ResourcesConfig:
        # The infinite-width model on a finer grid, more sample sets and a denser test grid.
        # Real networks (model="network", width 1024, as in Buchanan et al.'s experiments) are
        # the GPU setting: on two CPU cores one depth-16 network of width 256 trained for 1000
        # steps took about 5 minutes, so the map of 8 depths x 6 pairs x 4 sets would take a
        # day. The dynamics section (`TrainingConfig`) checks real networks against this flow.
        return cls(
            separations=(0.5, 0.4, 0.35, 0.3, 0.25, 0.2, 0.18),
            draws=6,
            dense=1000,
            data_samples=(50, 100, 200, 400, 800, 1600),
            threads=0,
        )


@config_threads
def run_resources(
    config: ResourcesConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Over (depth, separation) of a winding pair: the mean test error on a dense grid of both
    curves after the training time `time` (the map), the fraction of sample sets after which
    every point of the grid is classified correctly, and at each of `times` (the map's time
    among them) the mean test error, training error and training rms error ||zeta_t||: they
    separate how fast a depth fits from what it reaches given time. Data: the test error
    against the number of samples at one depth, after `data_time`. `config.model` picks the
    model of every trial (`RESOURCE_MODELS`): "kernel" (`kernel_trial`) or "network"
    (`network_trial`)."""
    g = torch.Generator().manual_seed(seed)
    trial = partial(RESOURCE_MODELS[config.model], config=config, generator=g, device=device)

    def draw_errors(pair, depth, samples, times) -> list:
        return [trial(pair, depth=depth, samples=samples, times=times) for _ in range(config.draws)]

    shape = (len(config.separations), len(config.depths))
    success, test_error = np.zeros(shape), np.zeros(shape)
    keys = ("test_error", "train_error", "train_rms")
    by_time = {key: np.zeros(shape + (len(config.times),)) for key in keys}
    at = list(config.times).index(config.time)
    cells = [(i, j) for i in range(shape[0]) for j in range(shape[1])]
    for i, j in tqdm(cells, desc="success map", disable=not progress_enabled(progress)):
        pair = winding_pair(config.separations[i], config.turns)
        runs = draw_errors(pair, config.depths[j], config.samples, config.times)
        errors = [run["test_error"][at] for run in runs]
        success[i, j] = np.mean([e == 0 for e in errors])
        test_error[i, j] = np.mean(errors)
        for key in by_time:
            by_time[key][i, j] = np.mean([run[key] for run in runs], 0)
    pair = winding_pair(config.data_separation, config.turns)
    data_error = [
        float(np.mean([r["test_error"][0] for r in draw_errors(pair, config.data_depth, n,
                                                                [config.data_time])]))
        for n in config.data_samples
    ]  # fmt: skip
    return {
        "model": config.model,
        "depths": list(config.depths),
        "separations": list(config.separations),
        "curvatures": [winding_pair(s, config.turns).curvature for s in config.separations],
        "time": config.time,
        "times": list(config.times),
        "success": success,
        "test_error": test_error,
        "test_error_by_time": by_time["test_error"],
        "train_error_by_time": by_time["train_error"],
        "train_rms_by_time": by_time["train_rms"],
        "data_samples": list(config.data_samples),
        "data_error": data_error,
        "data_depth": config.data_depth,
        "data_separation": config.data_separation,
    }


def required_depths(result: dict, tolerance: float = 0.01) -> list:
    """For each separation, the smallest depth whose mean test error is <= tolerance (None if
    no depth of the grid gets there): the depth this geometry needs."""
    out = []
    for row in np.asarray(result["test_error"]):
        ok = [d for d, e in zip(result["depths"], row) if e <= tolerance]
        out.append(ok[0] if ok else None)
    return out


def required_times(result: dict, tolerance: float = 0.01) -> np.ndarray:
    """For each (separation, depth) cell, the first time of `result["times"]` at which the mean
    test error is <= tolerance (inf if none): how long that depth needs on that pair."""
    errors = np.asarray(result["test_error_by_time"], dtype=float)
    times = np.asarray(result["times"], dtype=float)
    reached = errors <= tolerance
    first = np.where(reached.any(-1), reached.argmax(-1), len(times))
    return np.append(times, np.inf)[first]


NTK_FIGURES = {"ntk_concentration": plot_ntk}
DEPTH_FIGURES = {"ntk_depth": plot_depth}
TRAINING_FIGURES = {"training_dynamics": plot_training, "training_decision": plot_decision}
RESOURCES_FIGURES = {"resources": plot_resources}
WIDTH_DEPTH_FIGURES = {"width_depth": plot_width_depth}

# name -> (run, config class, figures, one-line summary), for experiments.py to register.
EXPERIMENTS = {
    "manifolds_ntk": (
        run_ntk,
        NtkConfig,
        NTK_FIGURES,
        "empirical NTK of ReLU networks vs the analytic kernel, over width",
    ),
    "manifolds_depth": (
        run_depth,
        DepthConfig,
        DEPTH_FIGURES,
        "kernel sharpness and certificate size over depth",
    ),
    "manifolds_training": (
        run_training,
        TrainingConfig,
        TRAINING_FIGURES,
        "GD on two curves: the kernel prediction vs the real network, over width",
    ),
    "manifolds_resources": (
        run_resources,
        ResourcesConfig,
        RESOURCES_FIGURES,
        "success map over (depth, separation); test error vs samples",
    ),
    "manifolds_width_depth": (
        run_width_depth,
        WidthDepthConfig,
        WIDTH_DEPTH_FIGURES,
        "uniform NTK error over (width, depth): set width by depth",
    ),
}
