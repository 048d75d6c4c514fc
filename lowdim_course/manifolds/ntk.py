"""The network of the lecture and its neural tangent kernel (NTK): empirical and analytic.

Network and normalisation (the one of Buchanan et al. 2021): depth L hidden layers of width n,
no biases, f(x) = w^T a^L(x) with a^l = ReLU(W^l a^{l-1}), a^0 = x, ||x|| = 1. "standard"
parametrisation: W^l has N(0, 2/n) entries, n the width, the first layer too (fan-out
scaling, not He's fan-in 2/n0; so ||a^l|| ~ 1 at every layer), w has N(0, 1) entries. The
angle between a^l(x) and a^l(x') then follows the angle map

    phi(nu) = arccos[(1 - nu/pi) cos nu + sin(nu)/pi],        nu_l = phi^[l](nu),

and the NTK Theta(x, x') = <df(x)/dtheta, df(x')/dtheta> of a network of width n tends to

    Theta(nu) = cos nu_L + (n/2) sum_{l=0}^{L-1} cos(nu_l) prod_{l'=l}^{L-1} (1 - nu_l'/pi),

the first term from the output layer, the sum from the hidden layers (Theta(0) = 1 + nL/2).
"ntk" parametrisation: W^l = sqrt(2/n) V^l with V^l ~ N(0, 1) trained instead; the same
function, and the hidden-layer terms lose their factor n/2, so the kernel has a
width-independent limit. `ntk_at_zero` is Theta(0) for either; gradient descent takes its
step in units of 1/Theta(0).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .curves import DTYPE

PARAMETRIZATIONS = ("standard", "ntk")


def hidden_layer_factor(width: int, parametrization: str = "standard") -> float:
    """The factor c of the hidden layers' share of the NTK: n/2 ("standard") or 1 ("ntk")."""
    if parametrization not in PARAMETRIZATIONS:
        raise ValueError(f"parametrization must be 'standard' or 'ntk', not {parametrization!r}")
    return width / 2 if parametrization == "standard" else 1.0


def ntk_at_zero(width: int, depth: int, parametrization: str = "standard") -> float:
    """Theta(x, x) of the infinite-width NTK at a unit input, Theta(0) = 1 + c L: 1 + nL/2
    ("standard") or 1 + L ("ntk"). The scale of the kernel, and the unit of gradient descent's
    step (eta = step_scale / Theta(0))."""
    return 1 + hidden_layer_factor(width, parametrization) * depth


class ReLUNet(nn.Module):
    """f(x) = w^T ReLU(W^L ... ReLU(W^1 x)): `depth` hidden layers of `width`, no biases,
    Gaussian initialisation as in the module docstring ("standard" or "ntk" parametrisation).
    The lecture's own network: its parametrisation is what the NTK formulas are about."""

    def __init__(
        self,
        in_dim: int,
        width: int,
        depth: int,
        parametrization: str = "standard",
        generator: torch.Generator | None = None,
        dtype=DTYPE,
    ):
        super().__init__()
        hidden_layer_factor(width, parametrization)  # refuses an unknown parametrisation
        self.parametrization = parametrization
        # Variance 2/n with n the width, the fan-out, for every layer (as in Buchanan et al.): not
        # He's fan-in scaling 2/in_dim for the first layer (they agree on the others), and it
        # keeps ||a^l|| ~ 1 at every layer for unit inputs.
        std = math.sqrt(2 / width)
        self.hidden = nn.ParameterList()
        for fan_in in [in_dim] + [width] * (depth - 1):
            v = torch.randn(width, fan_in, generator=generator, dtype=dtype)
            self.hidden.append(nn.Parameter(v * std if parametrization == "standard" else v))
        self.scale = 1.0 if parametrization == "standard" else std  # forward multiplier
        self.output = nn.Parameter(torch.randn(width, generator=generator, dtype=dtype))

    @property
    def depth(self) -> int:
        return len(self.hidden)

    @property
    def width(self) -> int:
        return len(self.output)

    @property
    def theta0(self) -> float:
        """Theta(0) of this network's infinite-width kernel (`ntk_at_zero`)."""
        return ntk_at_zero(self.width, self.depth, self.parametrization)

    def forward_with_layers(self, x: torch.Tensor):
        """f(x) (B,), the activations a^0 ... a^L and the pre-activations g^1 ... g^L."""
        activations, preactivations = [x], []
        for weight in self.hidden:
            g = self.scale * activations[-1] @ weight.T
            preactivations.append(g)
            activations.append(torch.relu(g))
        return activations[-1] @ self.output, activations, preactivations

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_layers(x)[0]


def empirical_ntk(net: ReLUNet, x: torch.Tensor, x2: torch.Tensor | None = None) -> torch.Tensor:
    """Theta(x_i, x'_j) = <df(x_i)/dtheta, df(x'_j)/dtheta> exactly, for a batch: (B, B').

    For a layer g = s W a, df/dW = s b a^T with b = df/dg the backpropagated vector, so the
    layer's share of the inner product is s^2 <a(x), a(x')> <b(x), b(x')>, and the output layer
    adds <a^L(x), a^L(x')>. One forward and one backward pass give every b at once, since f(x_i)
    depends on x_i only (so d(sum_i f(x_i))/dg_i = df(x_i)/dg_i). Cost O(B n^2 L), against
    O(B P) memory for the full Jacobian (`empirical_ntk_jacobian`) with P ~ n^2 L parameters.
    """

    def layers(inputs):
        inputs = inputs.to(net.output.dtype)
        with torch.enable_grad():
            f, acts, pre = net.forward_with_layers(inputs)
            backs = torch.autograd.grad(f.sum(), pre)
        return [a.detach() for a in acts], backs

    acts, backs = layers(x)
    acts2, backs2 = (acts, backs) if x2 is None else layers(x2)
    kernel = acts[-1] @ acts2[-1].T
    for a, b, a2, b2 in zip(acts[:-1], backs, acts2[:-1], backs2):
        kernel = kernel + net.scale**2 * (a @ a2.T) * (b @ b2.T)
    return kernel


def empirical_ntk_jacobian(net: nn.Module, x: torch.Tensor, x2: torch.Tensor | None = None):
    """The same kernel from the full per-example Jacobian J (B, P) by torch.func (vmap over
    jacrev): Theta = J J'^T. Works for any scalar-output network; memory O(B P), so small ones."""
    params = {k: v.detach() for k, v in net.named_parameters()}

    def f(p, xi):
        return torch.func.functional_call(net, p, (xi[None],))[0]

    def jacobian(inputs):
        jac = torch.func.vmap(torch.func.jacrev(f), (None, 0))(params, inputs)
        return torch.cat([j.reshape(len(inputs), -1) for j in jac.values()], 1)

    j = jacobian(x.to(net.output.dtype))
    j2 = j if x2 is None else jacobian(x2.to(net.output.dtype))
    return j @ j2.T


def angle_map(nu):
    """phi(nu) = arccos[(1 - nu/pi) cos nu + sin(nu)/pi]: the angle between a^l(x) and a^l(x')
    after one wide ReLU layer, from the angle nu between a^{l-1}(x) and a^{l-1}(x'). (The
    backward factor 1 - nu/pi of the NTK is twice the fraction (pi - nu)/(2 pi) of units active
    for both inputs; the weights' variance 2/n gives the 2.)"""
    nu = torch.as_tensor(nu, dtype=DTYPE)
    cos_next = (1 - nu / math.pi) * torch.cos(nu) + torch.sin(nu) / math.pi
    return torch.arccos(cos_next.clamp(-1.0, 1.0))


def angle_iterates(nu, depth: int) -> list[torch.Tensor]:
    """[nu_0, nu_1, ..., nu_depth] with nu_0 = nu and nu_{l+1} = phi(nu_l)."""
    angles = [torch.as_tensor(nu, dtype=DTYPE)]
    for _ in range(depth):
        angles.append(angle_map(angles[-1]))
    return angles


def ntk_profile(nu, depth: int) -> torch.Tensor:
    """The hidden layers' share of the NTK, normalised to 1 at nu = 0:

        k_L(nu) = (1/L) sum_{l=0}^{L-1} cos(nu_l) prod_{l'=l}^{L-1} (1 - nu_l'/pi)   in [0, 1].

    This is the slide's Theta(e_1, x)/L up to the constant n/2, and the kernel that gradient
    descent with step 1/Theta(0) sees. Computed with a running product from the last layer
    down: O(L) per angle."""
    angles = angle_iterates(nu, depth)
    product = torch.ones_like(angles[0])
    total = torch.zeros_like(angles[0])
    for l in reversed(range(depth)):
        product = product * (1 - angles[l] / math.pi)
        total = total + torch.cos(angles[l]) * product
    return total / depth


def ntk_profiles(nu, depths):
    """Yield (L, k_L(nu)) for each L of `depths` (increasing), in one pass over the layers.

    The same kernel as `ntk_profile`, by the forward recursion of S_L = L k_L,
    S_{L+1} = (S_L + cos nu_L)(1 - nu_L/pi), S_0 = 0: O(max depth) per angle for the whole
    list instead of O(sum of the depths), and one kernel matrix in memory at a time."""
    wanted = sorted(set(int(d) for d in depths))
    angle = torch.as_tensor(nu, dtype=DTYPE)
    total = torch.zeros_like(angle)
    for layer in range(1, wanted[-1] + 1):
        total = (total + torch.cos(angle)) * (1 - angle / math.pi)
        angle = angle_map(angle)
        if layer in wanted:
            yield layer, total / layer


def nngp_kernel(nu, depth: int) -> torch.Tensor:
    """E f(x) f(x') at initialisation as the width grows: cos nu_L (f is a Gaussian process)."""
    return torch.cos(angle_iterates(nu, depth)[-1])


def analytic_ntk(nu, depth: int, width: int, parametrization: str = "standard") -> torch.Tensor:
    """The infinite-width NTK of `ReLUNet(n0, width, depth)` between unit inputs at angle nu:

        Theta(nu) = cos nu_L + c L k_L(nu),   c = width/2 ("standard") or 1 ("ntk"),

    the first term from the output layer, the second from the hidden layers (`ntk_profile`);
    Theta(0) = `ntk_at_zero(width, depth, parametrization)`."""
    c = hidden_layer_factor(width, parametrization)
    return nngp_kernel(nu, depth) + c * depth * ntk_profile(nu, depth)


def angles_between(x: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """The matrix of angles between the rows of x and of x2 (unit vectors)."""
    return torch.arccos((x.to(DTYPE) @ x2.to(DTYPE).T).clamp(-1.0, 1.0))


def half_width(depth: int, resolution: int = 20001) -> float:
    """The angle where the kernel profile k_L(nu) has fallen halfway from k_L(0) to k_L(pi): how
    wide the kernel's peak is. Smaller = sharper. It shrinks like 1/L only for large L (where
    nu_l ~ 3 pi / l)."""
    nu = torch.linspace(0, math.pi, resolution, dtype=DTYPE)
    k = ntk_profile(nu, depth)
    level = (k - k[-1]) / (k[0] - k[-1])
    return nu[torch.nonzero(level <= 0.5)[0, 0]].item()
