"""The lazy (kernel) regime (Jacot, Gabriel & Hongler 2018; Chizat, Oyallon & Bach 2019): how far
weights travel from their initialisation, a two-layer network in the NTK parametrisation, its
first-order Taylor model at initialisation, and the log-log slope that compares the measured
movement with the predicted width^-1/2."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def relative_movement(params, params_init) -> float:
    """||theta - theta_0|| / ||theta_0|| over the given tensors together (Frobenius norms)."""
    num = sum(float(((p - q) ** 2).sum()) for p, q in zip(params, params_init))
    den = sum(float((q**2).sum()) for q in params_init)
    return math.sqrt(num / den)


class NTKNetwork(nn.Module):
    """f(x) = a^T relu(W x / sqrt(d)) / sqrt(m), every entry of W (m, d) and a (m, k) standard
    normal: the NTK parametrisation, in which the kernel has a limit as m -> infinity and one
    learning rate suits every width."""

    def __init__(self, in_dim: int, width: int, out_dim: int, generator=None):
        super().__init__()
        self.W = nn.Parameter(torch.randn(width, in_dim, generator=generator))
        self.a = nn.Parameter(torch.randn(width, out_dim, generator=generator))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d, m = self.W.shape[1], self.W.shape[0]
        return F.relu(x @ self.W.T / math.sqrt(d)) @ self.a / math.sqrt(m)


def model_at(params: dict, model: NTKNetwork, x: torch.Tensor) -> torch.Tensor:
    """The output of the network with weights params['W'], params['a']."""
    m, d = params["W"].shape
    with torch.no_grad():
        return F.relu(x @ params["W"].T / math.sqrt(d)) @ params["a"] / math.sqrt(m)


def linearized_output(model: NTKNetwork, params0: dict, x: torch.Tensor) -> torch.Tensor:
    """The first-order Taylor model at initialisation, f0(x) + J(theta_0)(theta - theta_0),
    written out for this network: with h = relu(x W0^T / sqrt d) and D = 1{x W0^T > 0},
        f_lin(x) = [h a0 + h (a - a0) + (D o (x (W - W0)^T / sqrt d)) a0] / sqrt m."""
    w0, a0 = params0["W"], params0["a"]
    m, d = w0.shape
    pre0 = x @ w0.T / math.sqrt(d)
    h0, active = F.relu(pre0), (pre0 > 0).to(x.dtype)
    with torch.no_grad():
        d_pre = x @ (model.W - w0).T / math.sqrt(d)  # the change of the pre-activations
        return (h0 @ model.a + (active * d_pre) @ a0) / math.sqrt(m)


def fit_slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])
