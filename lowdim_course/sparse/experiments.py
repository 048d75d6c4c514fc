"""The lecture's experiments: one frozen config and one `run_*` per experiment, and the
`EXPERIMENTS` dict the registry reads (name -> (run, Config, figures, summary)).

- `sparse_rates`: ISTA, FISTA and FISTA with backtracking on a batch of lassos, every gap
  F(x_k) - F* against the Beck-Teboulle bounds L||x0 - x*||^2 / (2k) and
  2L||x0 - x*||^2 / (k+1)^2, and ISTA's final linear rate against (1 - mu_S / L)^2.
- `sparse_phase_transition`: basis pursuit (a linear program, HiGHS) on a grid of
  (delta = m/n, rho = k/m); its 50% contour against the weak threshold computed from the
  statistical dimension of the l1 descent cone. CPU-bound (linear programs, `workers` threads).
- `sparse_matrix_completion`: nuclear-norm minimisation (ADMM with singular value
  thresholding) and Burer-Monteiro gradient descent on a low-rank matrix, error against the
  fraction of entries observed.
- `sparse_dictionary_learning`: Riemannian gradient descent on a log-cosh surrogate of
  ||Y^T a||_1 over the sphere from many random starts: which columns of an orthogonal
  dictionary they find, how far the smoothed objective's minimisers sit from them, and the
  LP rounding that makes them exact; plus the landscape on S^2.
- `sparse_unrolled` (in experiments_unrolled.py): unrolled ISTA equals ISTA; trained layers
  (LISTA) against the ISTA and FISTA iterations they are worth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..data import completion_problem
from ..runtime import config_threads
from . import plots
from .completion import burer_monteiro_complete, nuclear_norm_complete, relative_error
from .dictionary import (
    column_distance,
    lp_rounding,
    match_columns,
    orthogonal_dictionary_problem,
    riemannian_gradient_descent,
    smoothing_bias,
    sphere_landscape,
    to_azimuth_elevation,
)
from .experiments_unrolled import UnrolledConfig, run_unrolled
from .phase_transition import fifty_percent_rho, l1_phase_transition, weak_threshold
from .problems import DTYPE, gaussian_matrix, sparse_codes
from .proximal import fista, fista_bound, ista, ista_bound, lasso_optimum, lipschitz_constant


@dataclass(frozen=True)
class RatesConfig:
    m: int = 100  # measurements
    n: int = 200  # unknowns
    sparsity: int = 10  # nonzeros of the vector behind each y
    problems: int = 8  # lassos solved at once (one A, B right-hand sides)
    correlation: float = 0.9  # between neighbouring columns of A: an ill-conditioned lasso, so
    # the O(1/k) and O(1/k^2) phases last long enough to see (at 0, both soon turn linear)
    lam_ratio: float = 0.02  # lam = lam_ratio ||A^T y||_inf (lam >= ||A^T y||_inf gives x* = 0)
    iters: int = 1000  # ISTA / FISTA iterations shown
    optimum_iters: int = 20000  # FISTA iterations for F*
    eta: float = 2.0  # backtracking factor
    threads: int = 1  # torch CPU threads during the run (0: unchanged), see torch_threads

    @classmethod
    def quick(cls) -> RatesConfig:
        return cls()

    @classmethod
    def full(cls) -> RatesConfig:
        return cls(
            m=500, n=1000, sparsity=50, problems=32, iters=5000, optimum_iters=100000, threads=0
        )


@config_threads
def run_rates(config: RatesConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """ISTA, FISTA and FISTA with backtracking on the same lassos: gaps F(x_k) - F* and the
    Beck-Teboulle bounds (backtracking: with eta L, the largest L it can reach), and ISTA's
    final linear rate against the one its step 1/L predicts on the support of x*. Short runs:
    no checkpoints."""
    g = torch.Generator().manual_seed(seed)
    A = gaussian_matrix(config.m, config.n, g, device, config.correlation)
    x0 = sparse_codes(config.problems, config.n, config.sparsity / config.n, g).to(device)
    noise = torch.randn(config.problems, config.m, generator=g, dtype=DTYPE).to(device)
    y = x0 @ A.T + 0.01 * noise
    lam = config.lam_ratio * (y @ A).abs().max(1).values  # (B,)
    L = lipschitz_constant(A)
    x_star, F_star = lasso_optimum(A, y, lam, config.optimum_iters)
    runs = {
        "ista": ista(A, y, lam, config.iters)[1],
        "fista": fista(A, y, lam, config.iters)[1],
        "fista_backtracking": fista(A, y, lam, config.iters, backtracking=True, eta=config.eta)[1],
    }
    # F* is the smallest objective any method reached, so that every gap is >= 0.
    F_star = torch.minimum(F_star, torch.stack([r.min(1).values for r in runs.values()]).min(0)[0])
    k = torch.arange(1, config.iters + 1)
    dist2 = (x_star**2).sum(1)  # ||x0 - x*||^2 with x0 = 0
    bounds = {
        "ista": ista_bound(k, L, dist2),
        "fista": fista_bound(k, L, dist2),
        "fista_backtracking": fista_bound(k, config.eta * L, dist2),
    }
    gaps = {name: (r - F_star[:, None]).clamp(min=0) for name, r in runs.items()}
    # The linear phase: once ISTA has found the support S of x*, it is gradient descent with
    # step 1/L on a quadratic of curvature A_S^T A_S, and its gap contracts by about
    # (1 - mu_S / L)^2 per iteration, mu_S the smallest eigenvalue of A_S^T A_S.
    support = x_star.abs() > SUPPORT_TOL * x_star.abs().amax(1, keepdim=True)
    curvature = torch.tensor(
        [
            torch.linalg.eigvalsh(A[:, s].T @ A[:, s])[0].item() if s.any() else math.nan
            for s in support
        ],
        dtype=DTYPE,
    )
    # The curves are kept at RECORDED log-spaced iterations (a log-log plot needs no more, and
    # the full profile's 32 x 5000 curves would make a 26 MB results.json); the comparison
    # with the bounds uses every iteration.
    keep = log_spaced(config.iters, RECORDED)
    return {
        "iterations": k[keep],
        "L": L,
        "lam": lam,
        "F_star": F_star,
        "gaps": {name: gap[:, keep] for name, gap in gaps.items()},
        "bounds": {name: bound[:, keep] for name, bound in bounds.items()},
        "below_bound": {name: bool((gaps[name] <= bounds[name]).all()) for name in gaps},
        "max_gap_over_bound": {name: (gaps[name] / bounds[name]).max().item() for name in gaps},
        "final_gap": {name: gaps[name][:, -1].max().item() for name in gaps},
        "support_size": support.sum(1),
        "restricted_curvature": curvature,  # mu_S per lasso
        "ista_tail_log_rate": {  # d log(gap) / dk at the end of the ISTA run, per lasso
            "measured": tail_log_rate(gaps["ista"], F_star),
            "predicted": 2 * torch.log1p(-curvature / L),
        },
    }


SUPPORT_TOL = 1e-8  # x*_i counts as non-zero above this fraction of max |x*|
GAP_FLOOR = 1e-11  # gaps below this fraction of max(1, |F*|) are rounding error


def tail_log_rate(gaps: torch.Tensor, F_star: torch.Tensor) -> torch.Tensor:
    """Per problem, the least-squares slope of log(gap) against k over the second half of the
    iterations before the gap falls under the rounding floor GAP_FLOOR max(1, |F*|); NaN if
    fewer than 20 iterations lie above the floor. gaps (B, K), F_star (B,): (B,)."""
    rates = []
    for gap, f in zip(gaps, F_star):
        above = torch.nonzero(gap > GAP_FLOOR * max(1.0, abs(float(f)))).flatten()
        end = int(above[-1]) + 1 if len(above) else 0
        if end < 20:
            rates.append(float("nan"))
            continue
        k = torch.arange(end // 2, end, dtype=DTYPE)
        log_gap = torch.log(gap[end // 2 : end])
        k = k - k.mean()
        rates.append(float((k * (log_gap - log_gap.mean())).sum() / (k**2).sum()))
    return torch.tensor(rates, dtype=DTYPE)


RECORDED = 200  # iterations kept of each curve


def log_spaced(n: int, points: int) -> torch.Tensor:
    """About `points` distinct indices into range(n), log-spaced from 0 to n - 1 (all of them
    when n <= points)."""
    if n <= points:
        return torch.arange(n)
    return torch.unique(torch.logspace(0, math.log10(n), points).round().long() - 1).clamp(0, n - 1)


@dataclass(frozen=True)
class PhaseConfig:
    n: int = 100  # ambient dimension
    deltas: tuple[float, ...] = (0.2, 0.35, 0.5, 0.65, 0.8)  # m / n (columns of the grid)
    rhos: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20))  # k / m (rows)
    trials: int = 8  # basis pursuit problems per grid point
    signs: str = "rademacher"  # nonzeros of x0: 'rademacher' (±1) | 'gaussian'
    tol: float = 1e-5  # success: ||x - x0|| / ||x0|| below this
    workers: int = 2  # threads solving LPs (HiGHS releases the GIL)

    @classmethod
    def quick(cls) -> PhaseConfig:
        return cls()

    @classmethod
    def full(cls) -> PhaseConfig:
        # n = 400 as Donoho & Tanner's smaller experiments; the grid (9 x 19 points, 12 trials:
        # 2052 linear programs) is sized to run in about 20 minutes on two CPU cores, where one
        # LP at n = 400 takes 0.05-1 s (more where recovery fails).
        return cls(
            n=400,
            deltas=tuple(round(0.1 * i, 1) for i in range(1, 10)),
            rhos=tuple(round(0.05 * i, 2) for i in range(1, 20)),
            trials=12,
            workers=16,
        )


def run_phase_transition(
    config: PhaseConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """The empirical recovery probability of basis pursuit on the (delta, rho) grid, its 50%
    contour per delta, and the weak threshold. CPU only (linear programs); no checkpoints."""
    probability = l1_phase_transition(
        config.n,
        config.deltas,
        config.rhos,
        config.trials,
        seed=seed,
        signs=config.signs,
        tol=config.tol,
        workers=config.workers,
        progress=bool(progress),
    )
    empirical = fifty_percent_rho(probability, config.rhos)
    theory = weak_threshold(np.asarray(config.deltas))
    curve_delta = np.linspace(0.02, 0.98, 49)
    return {
        "n": config.n,
        "deltas": config.deltas,
        "rhos": config.rhos,
        "probability": probability,
        "empirical_rho50": empirical,
        "theory_rho": theory,
        "max_abs_difference": float(np.max(np.abs(empirical - theory))),
        "curve": {"delta": curve_delta, "rho": weak_threshold(curve_delta)},
    }


@dataclass(frozen=True)
class CompletionConfig:
    n: int = 100  # the matrix is n x n
    rank: int = 5
    rates: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)  # fractions of entries observed
    trials: int = 2  # matrices per rate
    check_rate: float = 0.5  # the rate whose error curves are kept (and the lecture asserts)
    admm_iters: int = 300  # nuclear norm (ADMM) iterations at most
    bm_iters: int = 1000  # Burer-Monteiro gradient steps
    bm_lr: float = 0.5  # step, in units of 1 / sigma_1
    threads: int = 1  # torch CPU threads during the run (0: unchanged), see torch_threads

    @classmethod
    def quick(cls) -> CompletionConfig:
        return cls()

    @classmethod
    def full(cls) -> CompletionConfig:
        return cls(
            n=300,
            rank=10,
            rates=tuple(round(0.05 * i, 2) for i in range(1, 13)),
            trials=10,
            check_rate=0.3,  # 4.6 samples per degree of freedom (quick: 0.5, 5.1 of them)
            admm_iters=500,
            bm_iters=3000,
            threads=0,
        )


@config_threads
def run_completion(
    config: CompletionConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Relative error ||X - M||_F / ||M||_F of nuclear-norm completion and Burer-Monteiro
    against the sampling rate, and both methods' error per iteration at `check_rate`."""
    if not any(math.isclose(r, config.check_rate) for r in config.rates):
        raise ValueError(f"check_rate {config.check_rate} must be one of rates {config.rates}")
    g = torch.Generator().manual_seed(seed)
    nuclear, factored, curves = [], [], {}
    for rate in config.rates:
        errors_n, errors_f = [], []
        for trial in range(config.trials):
            M, mask = completion_problem(config.n, config.n, config.rank, rate, g, device)
            X, hist_n = nuclear_norm_complete(M * mask, mask, config.admm_iters, reference=M)
            Xf, hist_f = burer_monteiro_complete(
                M * mask,
                mask,
                config.rank,
                config.bm_iters,
                lr=config.bm_lr,
                generator=g,
                reference=M,
            )
            errors_n.append(relative_error(X, M))
            errors_f.append(relative_error(Xf, M))
            if math.isclose(rate, config.check_rate) and trial == 0:
                curves = {"nuclear": hist_n["error"], "burer_monteiro": hist_f["error"]}
        nuclear.append(errors_n)
        factored.append(errors_f)
    i = [math.isclose(r, config.check_rate) for r in config.rates].index(True)
    dof = config.rank * (2 * config.n - config.rank)  # dimension of the rank-r matrices
    return {
        "n": config.n,
        "rank": config.rank,
        "rates": config.rates,
        "samples_over_dof": [r * config.n**2 / dof for r in config.rates],
        "nuclear_error": nuclear,  # (rates, trials)
        "burer_monteiro_error": factored,
        "curves": curves,
        "check": {
            "rate": config.check_rate,
            "nuclear_error": max(nuclear[i]),
            "burer_monteiro_error": max(factored[i]),
        },
    }


@dataclass(frozen=True)
class DictionaryConfig:
    n: int = 8  # dimension (A_o is n x n orthogonal)
    p: int = 3000  # samples
    theta: float = 0.2  # probability that a code entry is nonzero
    mu: float = 0.05  # smoothing of |z| in h_mu
    starts: int = 96  # random initialisations, run as one batch
    iters: int = 300  # Riemannian gradient steps
    step: float = 0.3  # step size
    rounding_samples: int = 2000  # samples (the first ones) in each rounding LP, see lp_rounding
    landscape_p: int = 1500  # samples of the n = 3 problem whose landscape is drawn
    landscape_starts: int = 24  # trajectories drawn on it
    landscape_iters: int = 60  # steps of each drawn trajectory
    resolution: int = 60  # latitude points of the landscape grid
    threads: int = 1  # torch CPU threads during the run (0: unchanged), see torch_threads

    @classmethod
    def quick(cls) -> DictionaryConfig:
        return cls()

    @classmethod
    def full(cls) -> DictionaryConfig:
        return cls(
            n=50,
            p=50000,
            theta=0.1,
            starts=1000,
            iters=1000,
            rounding_samples=5000,  # an LP on all 50000 samples takes about a minute
            resolution=180,
            threads=0,
        )


@config_threads
def run_dictionary(
    config: DictionaryConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Riemannian gradient descent from `starts` random points: which columns of A_o are found
    (up to sign) and how closely; for each column the start nearest to it, its distance (the
    bias of the smoothed objective) and that of its LP rounding; and the landscape of the n = 3
    problem with trajectories."""
    g = torch.Generator().manual_seed(seed)
    A, _, Y = orthogonal_dictionary_problem(config.n, config.p, config.theta, g, device)
    Q = riemannian_gradient_descent(Y, config.starts, config.mu, config.iters, config.step, g)
    matched = match_columns(Q, A)
    # Rounding: the start nearest each column (A_o picks it, for the measurement only), then
    # Sun-Qu-Wright's LP on the first rounding_samples samples.
    nearest = (Q @ A).abs().argmax(0)  # (n,)
    Y_round = Y[:, : config.rounding_samples]
    bias, rounded = [], []
    for j in range(config.n):
        q = Q[nearest[j]]
        bias.append(column_distance(q.cpu(), A[:, j].cpu()))
        rounded.append(column_distance(lp_rounding(Y_round, q), A[:, j].cpu()))

    # The picture: n = 3, where the sphere can be drawn, with a few trajectories.
    A3, _, Y3 = orthogonal_dictionary_problem(3, config.landscape_p, config.theta, g, device)
    landscape = sphere_landscape(Y3, config.mu, config.resolution)
    _, paths = riemannian_gradient_descent(
        Y3, config.landscape_starts, config.mu, config.landscape_iters, config.step, g, True
    )
    paths = paths.transpose(0, 1).cpu()  # (starts, steps + 1, 3)
    return {
        "n": config.n,
        "starts": config.starts,
        "best_overlap": matched["best_overlap"],  # per start: max_j |<q, a_j>|
        "column": matched["column"],
        "n_found": matched["n_found"],
        "column_overlap": matched["column_overlap"],  # per column: best start
        "min_column_overlap": matched["column_overlap"].min().item(),
        "fraction_starts_converged": (matched["best_overlap"] > 0.99).double().mean().item(),
        "bias": bias,  # per column: ||q - a_j|| (up to sign) of the start nearest to it
        "rounded_error": rounded,  # per column: the same after LP rounding
        "bias_predicted": smoothing_bias(config.n, config.p, config.theta, config.mu),
        "landscape": {
            **landscape,
            "columns": to_azimuth_elevation(torch.cat([A3.T, -A3.T]).cpu()),  # ±a_j
            "paths": to_azimuth_elevation(paths),
            "final_overlap": (paths[:, -1] @ A3.cpu()).abs().max(1).values,
        },
    }


RATES_FIGURES = {"rates": plots.plot_rates}
PHASE_FIGURES = {"phase_transition": plots.plot_phase_transition}
COMPLETION_FIGURES = {"matrix_completion": plots.plot_completion}
DICTIONARY_FIGURES = {
    "dictionary_recovery": plots.plot_dictionary,
    "dictionary_landscape": plots.plot_dictionary_landscape,
}
UNROLLED_FIGURES = {"unrolled": plots.plot_unrolled}

# name -> (run, config class, figures, one-line summary), for experiments.py to register.
EXPERIMENTS = {
    "sparse_rates": (
        run_rates,
        RatesConfig,
        RATES_FIGURES,
        "ISTA vs FISTA on the lasso: gaps F(x_k) - F* under the Beck-Teboulle bounds",
    ),
    "sparse_phase_transition": (
        run_phase_transition,
        PhaseConfig,
        PHASE_FIGURES,
        "basis pursuit recovery probability over (m/n, k/m) against the l1 weak threshold",
    ),
    "sparse_matrix_completion": (
        run_completion,
        CompletionConfig,
        COMPLETION_FIGURES,
        "low-rank completion by nuclear norm (ADMM) and Burer-Monteiro vs sampling rate",
    ),
    "sparse_dictionary_learning": (
        run_dictionary,
        DictionaryConfig,
        DICTIONARY_FIGURES,
        "orthogonal dictionary learning by Riemannian gradient descent on the sphere",
    ),
    "sparse_unrolled": (
        run_unrolled,
        UnrolledConfig,
        UNROLLED_FIGURES,
        "soft thresholding -> ReLU: ISTA unrolled, and trained LISTA vs ISTA/FISTA",
    ),
}
