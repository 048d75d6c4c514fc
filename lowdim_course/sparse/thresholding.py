"""Sparse coding's simplest pursuit as a network's forward pass: one-step thresholding
S_beta(D^T x) is a linear layer with weights D^T and bias -beta followed by a ReLU, and layered
thresholding of a multilayer sparse model (Papyan, Romano & Elad 2017) is a deep ReLU network.
Also how often one thresholding step finds the support of a sparse code, against the
coherence guarantee.
"""

from __future__ import annotations

import torch
from torch import nn

from ..claims import by_profile, claim
from ..runtime import torch_threads
from .problems import DTYPE
from .proximal import soft_threshold


def thresholding_layer(D: torch.Tensor, beta, nonnegative: bool = True) -> nn.Sequential:
    """S_beta(D^T x) as network layers, for a dictionary D (n, N) with atoms as columns.

    Non-negative codes: Linear(weight D^T, bias -beta) then ReLU, since S^+_beta(z) =
    ReLU(z - beta). Signed codes: S_beta(z) = ReLU(z - beta) - ReLU(-z - beta), so the linear
    layer has weights [D^T; -D^T] and biases [-beta; -beta], and a fixed linear map [I, -I]
    (which the next layer's weights can absorb) takes the difference."""
    D = torch.as_tensor(D, dtype=DTYPE)
    n, N = D.shape
    beta = torch.as_tensor(beta, dtype=DTYPE).expand(N)
    if nonnegative:
        linear = nn.Linear(n, N, dtype=DTYPE)
        with torch.no_grad():
            linear.weight.copy_(D.T)
            linear.bias.copy_(-beta)
        return nn.Sequential(linear, nn.ReLU())
    linear = nn.Linear(n, 2 * N, dtype=DTYPE)
    difference = nn.Linear(2 * N, N, bias=False, dtype=DTYPE)
    with torch.no_grad():
        linear.weight.copy_(torch.cat([D.T, -D.T]))
        linear.bias.copy_(-torch.cat([beta, beta]))
        eye = torch.eye(N, dtype=DTYPE)
        difference.weight.copy_(torch.cat([eye, -eye], dim=1))
    return nn.Sequential(linear, nn.ReLU(), difference)


def thresholding_network(dictionaries, betas, nonnegative: bool = True) -> nn.Sequential:
    """Layered thresholding Gamma_i = S_beta_i(D_i^T Gamma_{i-1}), Gamma_0 = x, as one deep
    network: the layers of `thresholding_layer` for D_1, D_2, ... in turn."""
    layers = [thresholding_layer(D, b, nonnegative) for D, b in zip(dictionaries, betas)]
    return nn.Sequential(*layers)


def layered_thresholding(x, dictionaries, betas, nonnegative: bool = True) -> list:
    """The codes [Gamma_1, ..., Gamma_L] of layered thresholding, computed with soft_threshold
    itself; x holds signals as rows (B, n), D_i is (N_{i-1}, N_i)."""
    codes, gamma = [], torch.as_tensor(x, dtype=DTYPE)
    for D, beta in zip(dictionaries, betas):
        gamma = soft_threshold(gamma @ torch.as_tensor(D, dtype=DTYPE), beta, nonnegative)
        codes.append(gamma)
    return codes


def unit_norm_dictionary(n: int, atoms: int, generator=None) -> torch.Tensor:
    """A Gaussian (n, atoms) dictionary with unit-norm columns."""
    D = torch.randn(n, atoms, generator=generator, dtype=DTYPE)
    return D / D.norm(dim=0, keepdim=True)


def coherence(D: torch.Tensor) -> float:
    """mu(D) = max_{i != j} |<d_i, d_j>| for unit-norm columns."""
    gram = (D.T @ D).abs()
    return (gram - torch.diag(torch.diagonal(gram))).max().item()


def thresholding_study(
    n=256, atoms=512, sparsities=tuple(range(1, 20, 3)), trials=200, low=1.0, high=2.0, seed=0
) -> dict:
    """One thresholding step on x = D Gamma with Gamma non-negative, s nonzeros on a uniform
    random support, values uniform in [low, high]: it finds the support exactly when some beta
    separates z = D^T x on and off the support (min on > max off), since then ReLU(z - beta)
    is non-zero exactly on the support. Per s, the fraction of `trials` codes for which it does;
    the coherence guarantee s < (1 + low / (mu high)) / 2 under which it always does; and, as the
    check that the network form is the thresholding, the largest difference between
    `thresholding_network` and `layered_thresholding` on random three-layer models.
    One torch thread (see runtime.torch_threads): the matrices are small."""
    with torch_threads(1):
        return _thresholding_study(n, atoms, sparsities, trials, low, high, seed)


def _thresholding_study(n, atoms, sparsities, trials, low, high, seed) -> dict:
    g = torch.Generator().manual_seed(seed)
    D = unit_norm_dictionary(n, atoms, g)
    success = []
    for s in sparsities:
        support = torch.rand(trials, atoms, generator=g).argsort(1)[:, :s]
        values = low + (high - low) * torch.rand(trials, s, generator=g, dtype=DTYPE)
        gamma = torch.zeros(trials, atoms, dtype=DTYPE).scatter(1, support, values)
        z = (gamma @ D.T) @ D  # (trials, atoms): D^T x for each code
        on = gamma > 0
        lowest_on = z.masked_fill(~on, float("inf")).min(1).values
        highest_off = z.masked_fill(on, -float("inf")).max(1).values
        success.append((lowest_on > highest_off).double().mean().item())
    mu = coherence(D)
    differences = []
    for nonnegative in (True, False):
        sizes = (16, 32, 48, 64)  # a small three-layer model
        dictionaries = [unit_norm_dictionary(a, b, g) for a, b in zip(sizes, sizes[1:])]
        betas = [0.1, 0.2, 0.3]
        x = torch.randn(32, sizes[0], generator=g, dtype=DTYPE)
        with torch.no_grad():
            net = thresholding_network(dictionaries, betas, nonnegative)(x)
        loop = layered_thresholding(x, dictionaries, betas, nonnegative)[-1]
        differences.append((net - loop).abs().max().item() / loop.abs().max().item())
    return {
        "n": n,
        "atoms": atoms,
        "sparsities": list(sparsities),
        "success": success,
        "coherence": mu,
        "guarantee": (1 + low / (mu * high)) / 2,
        "network_difference": max(differences),
    }


def check_thresholding(result: dict, profile: str) -> list[str]:
    """The network form equals the thresholding; one step finds every support the coherence
    guarantee covers; and typical supports are found far beyond it (at twice the guarantee
    or more, at least 90% of them), until success drops below one half."""
    s = list(result["sparsities"])
    success, guarantee = list(result["success"]), float(result["guarantee"])
    covered = [p for k, p in zip(s, success) if k < guarantee]
    beyond = [(k, p) for k, p in zip(s, success) if k >= 2 * guarantee and p >= 0.9]
    typical = by_profile(profile, 0.9, 0.9)
    return [
        claim(
            result["network_difference"] < 1e-12,
            "the ReLU network (Linear with weights D_i^T and biases -beta_i, ReLU) computes "
            "layered soft thresholding S_beta_i(D_i^T Gamma_{i-1}) to rounding error, signed "
            "and non-negative, three layers",
            f"largest relative difference {result['network_difference']:.1e}",
        ),
        claim(
            bool(covered) and min(covered) == 1.0,
            f"every support with s < {guarantee:.2f} (the coherence guarantee, mu = "
            f"{result['coherence']:.2f}) is found",
            f"success {covered} at s < {guarantee:.2f}",
        ),
        claim(
            bool(beyond) and success[-1] < 0.5,
            f"at least {typical:.0%} of the supports are found at some s >= 2 x the guarantee, and "
            f"fewer than half at s = {s[-1]}",
            f"s = {beyond[-1][0] if beyond else '-'}: {beyond[-1][1] if beyond else 0:.2f}; "
            f"s = {s[-1]}: {success[-1]:.2f}",
        ),
    ]
