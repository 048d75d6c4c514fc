"""Random instances shared by the lecture's experiments: Gaussian measurement matrices and
sparse codes, in the lecture's dtype.

Conventions: a batch of B problems sharing one matrix A (m, n) stores vectors as rows, so
A x for every problem is `x @ A.T` (B, m) and A^T r is `r @ A` (B, n). Optimisation runs in
float64: the gaps F(x_k) - F* the lecture plots go far below what float32 resolves.
"""

from __future__ import annotations

import math

import torch

DTYPE = torch.float64


def gaussian_matrix(m, n, generator, device="cpu", correlation=0.0) -> torch.Tensor:
    """(m, n) with N(0, 1/m) entries; with correlation c, column j = c column j-1 +
    sqrt(1 - c^2) fresh noise (an AR(1) design, still N(0, 1/m) entries)."""
    A = torch.randn(m, n, generator=generator, dtype=DTYPE) / math.sqrt(m)
    for j in range(1, n) if correlation else ():
        A[:, j] = correlation * A[:, j - 1] + math.sqrt(1 - correlation**2) * A[:, j]
    return A.to(device)


def sparse_codes(N, n, theta, generator=None, nonnegative=False) -> torch.Tensor:
    """(N, n) Bernoulli(theta) times N(0, 1) codes (absolute values when nonnegative)."""
    x = torch.randn(N, n, generator=generator, dtype=DTYPE)
    x = x.abs() if nonnegative else x
    return x * (torch.rand(N, n, generator=generator, dtype=DTYPE) < theta)
