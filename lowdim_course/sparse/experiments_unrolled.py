"""`sparse_unrolled`: soft thresholding is a ReLU with a bias, so ISTA unrolled is a network;
untrained it is ISTA (a sanity check), trained (LISTA) its layers are worth many iterations of
ISTA and FISTA. The config and the run; the registry entry is in experiments.py."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..runtime import config_threads
from .problems import DTYPE, gaussian_matrix, sparse_codes
from .proximal import fista, ista
from .unrolled import UnrolledISTA, nmse, train_unrolled


@dataclass(frozen=True)
class UnrolledConfig:
    m: int = 32  # measurements
    n: int = 64  # code dimension
    theta: float = 0.1  # probability that a code entry is nonzero
    noise: float = 0.01  # measurement noise standard deviation
    lam: float = 0.04  # lasso weight; the targets are the lasso solutions x*
    layers: tuple[int, ...] = (8,)  # K of each trained LISTA network
    tied: bool = False  # share weights across layers
    train_size: int = 4000  # (y, x*) training pairs (fewer overfit: 8 layers hold 50k weights)
    test_size: int = 500
    steps: int = 1000  # Adam steps
    batch_size: int = 128
    lr: float = 3e-3
    target_iters: int = 500  # FISTA iterations computing x*
    ista_iters: int = 300  # ISTA / FISTA iterations on the error curves
    threads: int = 1  # torch CPU threads during the run (0: unchanged), see torch_threads

    @classmethod
    def quick(cls) -> UnrolledConfig:
        return cls()

    @classmethod
    def full(cls) -> UnrolledConfig:
        # Sized for about 20 minutes on two CPU cores: the FISTA targets of 50000 problems at
        # 3000 iterations alone took an hour there, and 20000 Adam steps of four networks two
        # more. Gregor & LeCun and Chen et al. (2018) train far longer on more problems.
        return cls(
            m=128,
            n=256,
            layers=(2, 4, 8, 16),
            train_size=20000,
            test_size=2000,
            steps=4000,
            batch_size=256,
            # Adam moves every entry by about lr, a matrix's norm by about lr n: at n = 256 the
            # quick profile's 3e-3 made the 8- and 16-layer networks diverge (errors 1e3, 2e4).
            lr=7.5e-4,
            target_iters=1000,
            ista_iters=1000,
            threads=0,
        )


@config_threads
def run_unrolled(
    config: UnrolledConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Error ||x - x*||^2 / ||x*||^2 on test problems for ISTA and FISTA per iteration and for
    trained LISTA per depth; also the check that untrained unrolled ISTA equals ISTA."""
    g = torch.Generator().manual_seed(seed)
    A = gaussian_matrix(config.m, config.n, g, device)

    def measurements(N):
        x = sparse_codes(N, config.n, config.theta, g).to(device)
        noise = torch.randn(N, config.m, generator=g, dtype=DTYPE).to(device)
        return x @ A.T + config.noise * noise

    y_train, y_test = measurements(config.train_size), measurements(config.test_size)
    x_train = fista(A, y_train, config.lam, config.target_iters)[0]
    x_test = fista(A, y_test, config.lam, config.target_iters)[0]

    def error_curve(solver) -> list[float]:  # nmse of each iterate on the test problems
        errors = []
        solver(
            A,
            y_test,
            config.lam,
            config.ista_iters,
            callback=lambda x: errors.append(nmse(x, x_test)),
        )
        return errors

    # Error per iteration of ISTA and FISTA, and the check that unrolled ISTA is ISTA.
    ista_error, fista_error = error_curve(ista), error_curve(fista)
    K = max(config.layers)
    with torch.no_grad():
        unrolled = UnrolledISTA(A, config.lam, K)(y_test)
    equal_to_ista = (unrolled - ista(A, y_test, config.lam, K)[0]).abs().max().item()

    lista = {}
    for K in config.layers:
        net = UnrolledISTA(A, config.lam, K, tied=config.tied).float()
        losses = train_unrolled(
            net,
            y_train.float(),
            x_train.float(),
            config.steps,
            batch_size=config.batch_size,
            lr=config.lr,
            generator=g,
        )
        with torch.no_grad():
            err = nmse(net.double()(y_test), x_test)
        matched = next((i + 1 for i, e in enumerate(ista_error) if e <= err), None)
        matched_f = next((i + 1 for i, e in enumerate(fista_error) if e <= err), None)
        lista[str(K)] = {
            "error": err,
            "ista_error_same_depth": ista_error[K - 1],
            "fista_error_same_depth": fista_error[K - 1],
            "ista_iterations_to_match": matched,  # None: more than ista_iters
            "fista_iterations_to_match": matched_f,
            "final_train_loss": losses[-1],
        }
    return {
        "layers": config.layers,
        "ista_error": ista_error,
        "fista_error": fista_error,
        "lista": lista,
        "unrolled_equals_ista_max_abs_diff": equal_to_ista,
    }
