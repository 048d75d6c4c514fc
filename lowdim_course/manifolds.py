"""Lecture 2, classifying data on manifolds: the two-manifold problem, the neural tangent kernel
(NTK) of a deep ReLU network, and depth, width and data as resources (Buchanan, Gilboa & Wright
2021; Wang, Buchanan, Gilboa & Wright 2021).

The model problem: two curves M+ and M- on the unit sphere S^{n0-1}; train a fully connected ReLU
network by gradient descent on the square loss over N samples until sign f(x) = y(x) on the
whole of both curves. What makes it hard is geometry: the separation Delta between the curves
and their curvature kappa.

Network and normalisation (the one of Buchanan et al.): depth L hidden layers of width n, no
biases, f(x) = w^T a^L(x) with a^l = ReLU(W^l a^{l-1}), a^0 = x, ||x|| = 1. "standard"
parametrisation: W^l has N(0, 2/n) entries (the first layer too, so ||a^l|| ~ 1 at every layer),
w has N(0, 1) entries. The angle between a^l(x) and a^l(x') then follows the angle map

    phi(nu) = arccos[(1 - nu/pi) cos nu + sin(nu)/pi],        nu_l = phi^[l](nu),

and the NTK Theta(x, x') = <df(x)/dtheta, df(x')/dtheta> of a network of width n tends to

    Theta(nu) = cos nu_L + (n/2) sum_{l=0}^{L-1} cos(nu_l) prod_{l'=l}^{L-1} (1 - nu_l'/pi),

the first term from the output layer, the sum from the hidden layers (Theta(0) = 1 + nL/2).
"ntk" parametrisation: W^l = sqrt(2/n) V^l with V^l ~ N(0, 1) trained instead; the same function,
and the hidden-layer terms lose their factor n/2, so the kernel has a width-independent limit.

Experiments (quick profile, one torch thread; numbers measured for seeds 0-5 on 2 CPU cores):
- `manifolds_ntk`: the empirical NTK of depth-2 networks of width 64 ... 4096 against the
  analytic one over the angle range. Relative L^2 error (mean of 4 draws) 0.27-0.64 at width
  64, 0.05-0.15 at 1024, 0.03-0.05 at 4096 (fitted slope -0.4 to -0.7, theory -1/2); the shape
  Theta/Theta(0) is within 0.05-0.09 from width 1024 on; about 3 s.
- `manifolds_depth`: the kernel profile for depth 1 ... 32 (half width 47 -> 6.6 degrees; like
  1/L only for large L) and
  the certificate of the labels on a winding pair (norm 326 at depth 1 -> 126 at depth 32,
  decreasing from depth 2 on); under 1 s.
- `manifolds_training`: gradient descent on a winding pair, one hidden layer of width
  32 ... 2048; the widest follows its kernel's prediction within 1-3% of the initial error and
  its kernel moves by 3-4% (40-50% at width 32); it labels all 600 dense test points; about 2 s.
- `manifolds_resources`: test error over (depth, separation) for winding pairs at a fixed
  training time (the depth needed for <= 1% error grows from 1 at Delta = 0.5 to 8-32 at
  Delta = 0.25; none of the grid reaches it at 0.18), and the test error against the number of
  samples (about 0.2 at N = 50, 0 at N = 400); about 6 s. Quick: the infinite-width network
  (kernel flow); full: real networks of width 1024.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import plots
from .runtime import torch_threads
from .train import progress_enabled

DTYPE = torch.float64

# ----------------------------------------------------------------------------------------------
# 1. Curves on the sphere and their geometry
# ----------------------------------------------------------------------------------------------

Curve = Callable[[torch.Tensor], torch.Tensor]  # parameter t (T,) in [0, 2 pi) -> points (T, n0)


@dataclass(frozen=True)
class CurvePair:
    """Two closed curves on the unit sphere of R^dim: `plus` is labelled +1, `minus` -1.

    `separation` and `curvature` are the values the pair was built with (None when only a
    measurement can tell); `separation_of` and `curvature_of` measure them for any pair.
    """

    plus: Curve
    minus: Curve
    dim: int
    name: str
    separation: float | None = None
    curvature: float | None = None

    def sample(self, n: int, generator: torch.Generator | None = None, density=None):
        """n i.i.d. labelled points: a fair coin picks the curve, then t in [0, 2 pi) is uniform
        (uniform in arc length for the constant-speed curves built here) or, with `density`
        (a function of t, >= 0, need not be normalised), drawn with that density by inverting
        its CDF on a fine grid. Returns x (n, dim) float64 and y (n,) in {-1, +1}."""
        u = torch.rand(n, generator=generator, dtype=DTYPE)
        if density is None:
            t = u * (2 * math.pi)
        else:
            grid = torch.linspace(0, 2 * math.pi, 4097, dtype=DTYPE)
            mass = torch.as_tensor(density(grid[:-1]), dtype=DTYPE).clamp(min=0)
            if not mass.sum() > 0:
                raise ValueError("the sampling density is zero everywhere")
            cdf = torch.cat([torch.zeros(1, dtype=DTYPE), mass.cumsum(0) / mass.sum()])
            cell = torch.searchsorted(cdf, u, right=True).clamp(1, len(grid) - 1) - 1
            within = (u - cdf[cell]) / (cdf[cell + 1] - cdf[cell]).clamp(min=1e-300)
            t = grid[cell] + within.clamp(0, 1) * (grid[1] - grid[0])
        positive = torch.rand(n, generator=generator, dtype=DTYPE) < 0.5
        x = torch.where(positive[:, None], self.plus(t), self.minus(t))
        return x, positive.to(DTYPE) * 2 - 1

    def dense(self, n_per_curve: int):
        """A regular grid of n_per_curve points on each curve: x (2 n, dim), y (2 n,)."""
        t = torch.arange(n_per_curve, dtype=DTYPE) * (2 * math.pi / n_per_curve)
        x = torch.cat([self.plus(t), self.minus(t)])
        y = torch.cat([torch.ones(n_per_curve, dtype=DTYPE), -torch.ones(n_per_curve, dtype=DTYPE)])
        return x, y


def _circle(t, height):
    r = math.sqrt(1 - height**2)
    return torch.stack([r * torch.cos(t), r * torch.sin(t), torch.full_like(t, height)], 1)


def circles(separation: float) -> CurvePair:
    """Two latitude circles of S^2 at heights +-h, h = separation / 2: the closest points are
    straight above each other, so Delta = 2h; each circle has geodesic curvature
    kappa = h / sqrt(1 - h^2) (a great circle, h = 0, has none). Linearly separable by x_3."""
    h = separation / 2
    if not 0 < h < 1:
        raise ValueError(f"circles need 0 < separation < 2, got {separation}")
    return CurvePair(
        lambda t: _circle(t, h),
        lambda t: _circle(t, -h),
        3,
        f"circles, Delta = {separation:g}",
        separation,
        h / math.sqrt(1 - h * h),
    )


def winding_radius(separation: float) -> float:
    """The rho of `winding_pair` whose curves are `separation` apart:
    Delta^2 = 2 - 2/sqrt(1 + rho^2)."""
    if not 0 < separation < math.sqrt(2):
        raise ValueError(f"a winding pair needs 0 < separation < sqrt(2), got {separation}")
    return math.sqrt((2 / (2 - separation**2)) ** 2 - 1)


def winding_pair(separation: float, turns: int = 5) -> CurvePair:
    """A great circle of S^3 and a curve that winds `turns` times around it:

        M+ : (cos t, sin t, 0, 0),   M- : (cos t, sin t, rho cos(w t), rho sin(w t)) / sqrt(1+rho^2)

    with w = turns. Every point of M- is at the same distance Delta = sqrt(2 - 2/sqrt(1+rho^2))
    from M+ (the nearest point has the same t), and M- has constant geodesic curvature
    kappa = rho |w^2 - 1| / (1 + rho^2 w^2): close and curved together, as in the hard pairs of
    Buchanan et al. No linear function separates them (the label depends on x_3^2 + x_4^2).
    """
    rho, w = winding_radius(separation), turns

    def core(t):
        return torch.stack([torch.cos(t), torch.sin(t), 0 * t, 0 * t], 1)

    def winder(t):
        ring = [torch.cos(t), torch.sin(t), rho * torch.cos(w * t), rho * torch.sin(w * t)]
        return torch.stack(ring, 1) / math.sqrt(1 + rho * rho)

    kappa = rho * abs(w * w - 1) / (1 + rho * rho * w * w)
    return CurvePair(core, winder, 4, f"winding, Delta = {separation:g}", separation, kappa)


def wavy_pair(separation: float, amplitude: float = 0.0, frequency: int = 3) -> CurvePair:
    """Two curves of S^2 that wave together in latitude: lambda(t) = +-lambda0 + a sin(k t), at
    longitude t. At a = 0 they are the two circles; a larger amplitude bends them (more
    curvature) and brings the slanted parts closer than 2 sin(lambda0). Separation and
    curvature have no simple closed form here: measure them (`separation_of`, `curvature_of`).
    `separation` sets lambda0 = arcsin(separation / 2), the distance at equal t."""
    lat0 = math.asin(separation / 2)
    if lat0 + abs(amplitude) >= math.pi / 2:
        raise ValueError("wavy_pair: the curves would pass over a pole; lower the amplitude")

    def curve(sign):
        def points(t):
            lat = sign * lat0 + amplitude * torch.sin(frequency * t)
            return torch.stack(
                [torch.cos(lat) * torch.cos(t), torch.cos(lat) * torch.sin(t), torch.sin(lat)], 1
            )

        return points

    name = f"wavy, lambda0 = {lat0:.3f}, a = {amplitude:g}, k = {frequency}"
    return CurvePair(curve(1), curve(-1), 3, name)


PAIRS = {"circles": circles, "winding": winding_pair, "wavy": wavy_pair}


def separation_of(pair: CurvePair, n: int = 4000) -> float:
    """Delta = min over x in M+, x' in M- of ||x - x'||, from n points on each curve (the grid
    error is O((2 pi / n)^2), below 1e-6 at the default)."""
    x, y = pair.dense(n)
    plus, minus = x[y > 0], x[y < 0]
    best = min(torch.cdist(chunk, minus).min().item() for chunk in plus.split(500))
    return best


def geodesic_curvature(curve: Curve, t: torch.Tensor) -> torch.Tensor:
    """kappa(t) = ||(I - x x^T / ||x||^2) d^2x/ds^2||, the curvature left after removing the
    part that keeps the curve on the sphere; s is arc length. Derivatives by forward-mode
    autodiff of the parametrisation: d^2x/ds^2 = (x'' - (x'' . u) u) / ||x'||^2, u = x'/||x'||."""
    t = torch.as_tensor(t, dtype=DTYPE)
    # torch.func's first use warns that torch.jit.script is deprecated (torch's own internals).
    warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)

    def point(s):
        return curve(s.reshape(1))[0]

    def velocity(s):
        return torch.func.jacfwd(point)(s)

    x = curve(t)
    dx = torch.func.vmap(velocity)(t)
    ddx = torch.func.vmap(torch.func.jacfwd(velocity))(t)
    speed2 = (dx * dx).sum(1, keepdim=True)
    u = dx / speed2.sqrt()
    acc = (ddx - (ddx * u).sum(1, keepdim=True) * u) / speed2
    normal = x / x.norm(dim=1, keepdim=True)
    tangential = acc - (acc * normal).sum(1, keepdim=True) * normal
    return tangential.norm(dim=1)


def curvature_of(pair: CurvePair, n: int = 2000) -> float:
    """kappa = sup of the geodesic curvature over both curves, on a grid of n parameters."""
    t = torch.arange(n, dtype=DTYPE) * (2 * math.pi / n)
    return max(geodesic_curvature(c, t).max().item() for c in (pair.plus, pair.minus))


# ----------------------------------------------------------------------------------------------
# 2. The network and its neural tangent kernel
# ----------------------------------------------------------------------------------------------


class ReLUNet(nn.Module):
    """f(x) = w^T ReLU(W^L ... ReLU(W^1 x)): `depth` hidden layers of `width`, no biases,
    Gaussian initialisation as in the module docstring ("standard" or "ntk" parametrisation)."""

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
        if parametrization not in ("standard", "ntk"):
            raise ValueError(
                f"parametrization must be 'standard' or 'ntk', not {parametrization!r}"
            )
        self.parametrization = parametrization
        # He initialisation with the fan-out n (as in Buchanan et al.): each layer keeps ||a|| ~ 1.
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
    after one wide ReLU layer, from the angle nu between a^{l-1}(x) and a^{l-1}(x')."""
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


def nngp_kernel(nu, depth: int) -> torch.Tensor:
    """E f(x) f(x') at initialisation as the width grows: cos nu_L (f is a Gaussian process)."""
    return torch.cos(angle_iterates(nu, depth)[-1])


def analytic_ntk(nu, depth: int, width: int, parametrization: str = "standard") -> torch.Tensor:
    """The infinite-width NTK of `ReLUNet(n0, width, depth)` between unit inputs at angle nu:

        Theta(nu) = cos nu_L + c L k_L(nu),   c = width/2 ("standard") or 1 ("ntk"),

    the first term from the output layer, the second from the hidden layers (`ntk_profile`);
    Theta(0) = 1 + nL/2 ("standard") or 1 + L ("ntk")."""
    c = width / 2 if parametrization == "standard" else 1.0
    return nngp_kernel(nu, depth) + c * depth * ntk_profile(nu, depth)


def angles_between(x: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """The matrix of angles between the rows of x and of x2 (unit vectors)."""
    return torch.arccos((x.to(DTYPE) @ x2.to(DTYPE).T).clamp(-1.0, 1.0))


def half_width(depth: int, resolution: int = 20001) -> float:
    """The angle where the kernel profile k_L(nu) has fallen halfway from k_L(0) to k_L(pi): how
    wide the kernel's peak is. Smaller = sharper. It shrinks like 1/L only for large L (where
    nu_l ~ 3 pi / l): L times the half width is 0.83 at L = 1, 3.7 at L = 32, 4.2 at L = 512."""
    nu = torch.linspace(0, math.pi, resolution, dtype=DTYPE)
    k = ntk_profile(nu, depth)
    level = (k - k[-1]) / (k[0] - k[-1])
    return nu[torch.nonzero(level <= 0.5)[0, 0]].item()


def great_circle(angles: torch.Tensor, dim: int = 3) -> torch.Tensor:
    """Unit vectors cos(nu) e_1 + sin(nu) e_2 of R^dim, one per angle nu (at angle nu from e_1)."""
    angles = torch.as_tensor(angles, dtype=DTYPE)
    x = torch.zeros(len(angles), dim, dtype=DTYPE)
    x[:, 0], x[:, 1] = torch.cos(angles), torch.sin(angles)
    return x


# ----------------------------------------------------------------------------------------------
# 3. Dynamics: gradient descent, its kernel prediction, certificates
# ----------------------------------------------------------------------------------------------


def kernel_flow(kernel_train, kernel_test, zeta0, time, zeta0_test=None):
    """Gradient flow of the error under a fixed kernel, on the samples and off them.

    On the N samples zeta_t = exp(-t K_N) zeta_0 with K_N = K(X, X)/N (the integral operator of
    the empirical measure mu_N); a test point follows d/dt zeta_t(x) = -(1/N) K(x, X) zeta_t(X),
    so zeta_t(x) = zeta_0(x) - K(x, X)/N [K_N^+ (I - exp(-t K_N)) + t P_0] zeta_0, with P_0 the
    projector on the null space of K_N (there the error is constant in time). Returns
    (zeta_t on the samples, zeta_t at the test points)."""
    n = len(zeta0)
    evals, evecs = torch.linalg.eigh(kernel_train / n)
    evals = evals.clamp(min=0)
    coeffs = evecs.T @ zeta0
    decay = torch.exp(-time * evals)
    # (1 - e^{-t l}) / l, which tends to t as l -> 0
    gain = torch.where(evals > 1e-12, -torch.expm1(-time * evals) / evals.clamp(min=1e-12), time)
    zeta_train = evecs @ (decay * coeffs)
    zeta_test = None
    if kernel_test is not None:
        base = torch.zeros(len(kernel_test), dtype=DTYPE) if zeta0_test is None else zeta0_test
        zeta_test = base - kernel_test / n @ (evecs @ (gain * coeffs))
    return zeta_train, zeta_test


def certificate(kernel_train, zeta0, ridge: float = 1e-4):
    """A certificate g for the error zeta_0: Theta[g] ~ zeta_0 on the samples, by ridge
    regression, g = (K_N + ridge I)^{-1} zeta_0 with K_N = K(X, X)/N. Returns g, its norm
    ||g||_{L^2(mu_N)} = sqrt(mean g^2), and the relative residual ||K_N g - zeta_0|| / ||zeta_0||.
    A small certificate means gradient descent fits zeta_0 quickly (Buchanan et al. 2021)."""
    n = len(zeta0)
    kn = kernel_train / n
    g = torch.linalg.solve(kn + ridge * torch.eye(n, dtype=kn.dtype), zeta0)
    residual = (kn @ g - zeta0).norm() / zeta0.norm()
    return g, g.pow(2).mean().sqrt().item(), residual.item()


def classify_by_kernel_flow(
    pair: CurvePair, depth: int, samples: int, time: float, dense: int, generator
) -> dict:
    """The infinite-width network of `depth` trained by gradient flow for `time` (in units of
    1/Theta(0)) from f_0 = 0 on `samples` points of `pair`: its errors on the samples and on a
    dense grid of both curves. f_0 = 0 (an antisymmetrised network) removes the random initial
    function, so what is left is geometry, depth and data."""
    x, y = pair.sample(samples, generator)
    xt, yt = pair.dense(dense)
    kernel = ntk_profile(angles_between(torch.cat([x, xt]), x), depth)
    zeta_train, zeta_test = kernel_flow(kernel[:samples], kernel[samples:], -y, time, -yt)
    return {
        "train_error": ((zeta_train + y).sign() != y).to(DTYPE).mean().item(),
        "test_error": ((zeta_test + yt).sign() != yt).to(DTYPE).mean().item(),
        "train_rms": zeta_train.pow(2).mean().sqrt().item(),
    }


def kernel_movement(k0: torch.Tensor, k1: torch.Tensor) -> float:
    """||Theta_T - Theta_0||_F / ||Theta_0||_F: how far training moved the kernel."""
    return ((k1 - k0).norm() / k0.norm()).item()


def train_gd(net: ReLUNet, x, y, steps: int, step_scale: float = 1.0, record_every: int = 10):
    """Full-batch gradient descent on the square loss (1/2N) sum (f(x_i) - y_i)^2 with step
    eta = step_scale / Theta(0), Theta(0) = 1 + nL/2 (or 1 + L for the "ntk" parametrisation):
    then the linearised error obeys zeta_{k+1} = (I - step_scale K_N/Theta(0)) zeta_k, stable for
    step_scale < 2. Records the error vector every `record_every` steps.

    Returns (steps recorded, errors (R, N) float64, the NTK at the start, the NTK at the end)."""
    dtype = net.output.dtype
    x, y = x.to(dtype), y.to(dtype)
    theta0 = 1 + (net.width / 2 if net.parametrization == "standard" else 1) * net.depth
    optimizer = torch.optim.SGD(net.parameters(), lr=step_scale / theta0)
    kernel_start = empirical_ntk(net, x).to(DTYPE)
    recorded, errors = [], []
    for step in range(steps + 1):
        zeta = net(x) - y
        if step % record_every == 0 or step == steps:
            recorded.append(step)
            errors.append(zeta.detach().to(DTYPE))
        if step == steps:
            break
        optimizer.zero_grad(set_to_none=True)
        (0.5 * zeta.pow(2).mean()).backward()
        optimizer.step()
    return recorded, torch.stack(errors), kernel_start, empirical_ntk(net, x).to(DTYPE)


def linearized_errors(kernel, zeta0, steps, step_scale: float, theta0: float):
    """What gradient descent does to the error if the kernel stays fixed: zeta_k =
    (I - eta K/N)^k zeta_0 with eta = step_scale/theta0, at each of `steps` (its
    continuous-time form is exp(-t Theta) zeta_0; at these step sizes the two differ only in the
    modes that have already vanished)."""
    n = len(zeta0)
    evals, evecs = torch.linalg.eigh(kernel / n)
    factor = 1 - step_scale / theta0 * evals
    coeffs = evecs.T @ zeta0
    return torch.stack([evecs @ (factor**k * coeffs) for k in steps])


def fit_network(
    pair: CurvePair,
    depth: int,
    width: int,
    samples: int,
    steps: int,
    step_scale: float = 1.0,
    generator=None,
    device="cpu",
    dtype=torch.float32,
):
    """Train `ReLUNet(pair.dim, width, depth)` by full-batch gradient descent on `samples` points
    of `pair`; returns the network and the training inputs and labels."""
    x, y = pair.sample(samples, generator)
    net = ReLUNet(pair.dim, width, depth, generator=generator, dtype=dtype).to(device)
    train_gd(net, x.to(device), y.to(device), steps, step_scale, record_every=steps)
    return net, x, y


@torch.no_grad()
def dense_errors(net: ReLUNet, pair: CurvePair, dense: int) -> dict:
    """The network's outputs on `dense` grid points per curve, and the fraction misclassified."""
    xt, yt = pair.dense(dense)
    device = net.output.device
    f = net(xt.to(device, net.output.dtype)).to("cpu", DTYPE)
    return {
        "f_plus": f[yt > 0],
        "f_minus": f[yt < 0],
        "test_error": (f.sign() != yt).to(DTYPE).mean().item(),
    }


# ----------------------------------------------------------------------------------------------
# Experiments
# ----------------------------------------------------------------------------------------------


def _pair(name: str, separation: float, turns: int) -> CurvePair:
    return winding_pair(separation, turns) if name == "winding" else PAIRS[name](separation)


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


def run_ntk(config: NtkConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """Empirical NTK Theta(e_1, x(nu)) of random networks of each width against the analytic
    kernel, over nu in [0, pi]. Error of a draw, in the relative L^2 norm over the angle range:
    ||Theta_emp - Theta||_{L^2[0, pi]} / ||Theta||_{L^2[0, pi]} (on the grid). Its shape error
    sup_nu |Theta_emp(nu)/Theta_emp(0) - Theta(nu)/Theta(0)| leaves out the overall scale, which
    at depth 2 mostly comes from the output layer (sum_i w_i^2 over the active units: a
    relative spread of about 2/sqrt(n) on its own).
    Seconds: no checkpoints."""
    with torch_threads(config.threads):
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
            "analytic_profile": analytic_ntk(nu, config.depth, big) / (1 + big * config.depth / 2),
            "profiles": profiles,
            "widths": list(config.widths),
            "errors": errors,
            "shape_errors": shape_errors,
            "mean_error": mean_error.tolist(),
            "slope": float(slope),
        }


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


@dataclass(frozen=True)
class DepthConfig:
    depths: tuple = (1, 2, 4, 8, 16, 32)
    pair: str = "winding"
    separation: float = 0.3
    turns: int = 5
    samples: int = 200  # points of the pair for the certificate
    ridge: float = 1e-4  # of the certificate's least squares
    draws: int = 3  # sample sets
    threads: int = 1

    @classmethod
    def quick(cls) -> DepthConfig:
        return cls()

    @classmethod
    def full(cls) -> DepthConfig:
        return cls(depths=(1, 2, 4, 8, 16, 32, 64, 128, 256), samples=1000, draws=10, threads=0)


def run_depth(config: DepthConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None):
    """For each depth: the kernel profile k_L(nu), its half width, and the certificate of the
    labels (g with Theta[g] ~ zeta_0 = -y, i.e. from f_0 = 0) on samples of the pair."""
    with torch_threads(config.threads):
        g = torch.Generator().manual_seed(seed)
        pair = _pair(config.pair, config.separation, config.turns)
        nu = torch.linspace(0, math.pi, 181, dtype=DTYPE)
        sample_sets = [pair.sample(config.samples, g) for _ in range(config.draws)]
        norms, residuals = {}, {}
        for depth in config.depths:
            runs = [
                certificate(ntk_profile(angles_between(x, x), depth), -y, config.ridge)[1:]
                for x, y in sample_sets
            ]
            norms[str(depth)] = float(np.mean([r[0] for r in runs]))
            residuals[str(depth)] = float(np.max([r[1] for r in runs]))
        return {
            "pair": pair.name,
            "angles": nu,
            "depths": list(config.depths),
            "profiles": {str(d): ntk_profile(nu, d) for d in config.depths},
            "half_width": [half_width(d) for d in config.depths],
            "certificate_norm": [norms[str(d)] for d in config.depths],
            "certificate_residual": [residuals[str(d)] for d in config.depths],
        }


def plot_depth(result: dict):
    """Kernel profiles over depth, their half widths, and the certificate norms."""
    fig, axes = plots.subplots(1, 3, width=4.6, height=4.0)
    nu = np.degrees(np.asarray(result["angles"]))
    colors = plots.plt.get_cmap("viridis")(np.linspace(0, 0.9, len(result["depths"])))
    for color, depth in zip(colors, result["depths"]):
        axes[0].plot(
            nu, np.asarray(result["profiles"][str(depth)]), color=color, label=f"L = {depth}"
        )
    axes[0].set(
        xlabel=r"angle $\nu$ (degrees)",
        ylabel=r"$k_L(\nu) \approx \Theta(\nu)\,/\,\Theta(0)$",
        title="Deeper kernels are sharper",
    )
    axes[0].legend(fontsize=8, ncol=2)
    depths = np.asarray(result["depths"], dtype=float)
    axes[1].loglog(depths, np.degrees(result["half_width"]), "o-", color=plots.OKABE_ITO[5])
    axes[1].loglog(
        depths,
        np.degrees(result["half_width"][-1]) * depths[-1] / depths,
        "k--",
        lw=1,
        label=r"$\propto 1/L$ (large $L$)",
    )
    axes[1].set(
        xlabel="depth L", ylabel="half width of the peak (degrees)", title="Kernel aperture"
    )
    axes[1].legend(fontsize=8)
    axes[2].semilogx(depths, result["certificate_norm"], "o-", color=plots.OKABE_ITO[1])
    axes[2].set(
        xlabel="depth L",
        ylabel=r"$\|g\|_{L^2(\mu_N)}$",
        title=f"Certificate size ({result['pair']})",
    )
    return fig


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
        return cls(
            widths=(64, 256, 1024, 4096, 16384),
            depth=4,
            samples=400,
            steps=4000,
            record_every=50,
            dense=2000,
            threads=0,
        )


def run_training(
    config: TrainingConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Gradient descent on samples of a pair for networks of each width: the real error against
    the error predicted by the NTK at initialisation, how far the kernel moved, and the widest
    network's outputs on a dense grid of both curves."""
    with torch_threads(config.threads):
        pair = _pair(config.pair, config.separation, config.turns)
        g = torch.Generator().manual_seed(seed)
        x, y = pair.sample(config.samples, g)
        runs = {}
        for width in config.widths:
            net = ReLUNet(pair.dim, width, config.depth, generator=g, dtype=torch.float32).to(
                device
            )
            steps, errors, k0, k1 = train_gd(
                net,
                x.to(device),
                y.to(device),
                config.steps,
                config.step_scale,
                config.record_every,
            )
            errors, k0, k1 = errors.cpu(), k0.cpu(), k1.cpu()
            theta0 = 1 + width * config.depth / 2
            predicted = linearized_errors(k0, errors[0], steps, config.step_scale, theta0)
            rms, rms_pred = errors.pow(2).mean(1).sqrt(), predicted.pow(2).mean(1).sqrt()
            runs[str(width)] = {
                "rms": rms,
                "rms_predicted": rms_pred,
                "deviation": ((rms - rms_pred).abs().max() / rms[0]).item(),
                "kernel_movement": kernel_movement(k0, k1),
                **dense_errors(net, pair, config.dense),
            }
        return {
            "pair": pair.name,
            "depth": config.depth,
            "steps": steps,
            "widths": list(config.widths),
            "runs": runs,
        }


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
    ax.set(
        xlabel="position along the curve, t (degrees)",
        ylabel=r"$f_\theta(x(t))$",
        title=f"Width {width}: {run['test_error']:.3f} misclassified of {2 * len(run['f_plus'])}",
    )
    ax.legend(fontsize=8)
    return fig


@dataclass(frozen=True)
class ResourcesConfig:
    depths: tuple = (1, 2, 4, 8, 16, 32)
    separations: tuple = (0.5, 0.35, 0.25, 0.18)
    turns: int = 5
    samples: int = 300
    time: float = 100.0  # training time, in steps of size 1/Theta(0)
    draws: int = 3  # sample sets per cell
    dense: int = 200  # test points per curve
    data_depth: int = 8  # the data experiment: test error against the number of samples
    data_separation: float = 0.25
    data_samples: tuple = (50, 100, 200, 400, 800)
    data_time: float = 1000.0
    model: str = "kernel"  # "kernel": infinite width; "network": train ReLUNets of `width`
    width: int = 1024
    threads: int = 1

    @classmethod
    def quick(cls) -> ResourcesConfig:
        return cls()

    @classmethod
    def full(cls) -> ResourcesConfig:
        return cls(
            depths=(1, 2, 3, 4, 6, 8, 12, 16),
            separations=(0.5, 0.4, 0.35, 0.3, 0.25, 0.2),
            draws=4,
            dense=1000,
            model="network",
            threads=0,
        )


def run_resources(
    config: ResourcesConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Over (depth, separation) of a winding pair, with a fixed training time: the mean test
    error on a dense grid of both curves, and the fraction of sample sets after which every
    point of the grid is classified correctly. Data: the test error against the number of
    samples at one depth. Model "kernel": the infinite-width network trained from f_0 = 0
    (`classify_by_kernel_flow`); "network": real ReLUNets of `width` from a random start."""
    with torch_threads(config.threads):
        g = torch.Generator().manual_seed(seed)

        def trial(pair, depth, samples, time):
            if config.model == "kernel":
                return classify_by_kernel_flow(pair, depth, samples, time, config.dense, g)
            net, _, _ = fit_network(
                pair, depth, config.width, samples, int(time), generator=g, device=device
            )
            return dense_errors(net, pair, config.dense)

        cells = [(s, d) for s in config.separations for d in config.depths]
        success = np.zeros((len(config.separations), len(config.depths)))
        test_error = np.zeros_like(success)
        for s, d in tqdm(cells, desc="success map", disable=not progress_enabled(progress)):
            pair = winding_pair(s, config.turns)
            runs = [trial(pair, d, config.samples, config.time) for _ in range(config.draws)]
            i, j = config.separations.index(s), config.depths.index(d)
            success[i, j] = np.mean([r["test_error"] == 0 for r in runs])
            test_error[i, j] = np.mean([r["test_error"] for r in runs])
        pair = winding_pair(config.data_separation, config.turns)
        data_error = [
            float(
                np.mean(
                    [
                        trial(pair, config.data_depth, n, config.data_time)["test_error"]
                        for _ in range(config.draws)
                    ]
                )
            )
            for n in config.data_samples
        ]
        return {
            "model": config.model,
            "depths": list(config.depths),
            "separations": list(config.separations),
            "curvatures": [winding_pair(s, config.turns).curvature for s in config.separations],
            "success": success,
            "test_error": test_error,
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


def plot_resources(result: dict):
    """Left: test error over (depth, separation), cells with every run perfect marked; right:
    test error against the number of samples."""
    fig, (ax, ax2) = plots.subplots(1, 2, width=5.8, height=4.2)
    error = np.asarray(result["test_error"])
    image = ax.imshow(100 * error, cmap="magma_r", vmin=0, aspect="auto")
    for (i, j), e in np.ndenumerate(error):
        mark = "*" if np.asarray(result["success"])[i, j] == 1 else ""
        color = "white" if e > 0.6 * error.max() else "black"
        ax.text(j, i, f"{100 * e:.1f}{mark}", ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(len(result["depths"])), [str(d) for d in result["depths"]])
    labels = [f"{s:g} ({k:.1f})" for s, k in zip(result["separations"], result["curvatures"])]
    ax.set_yticks(range(len(labels)), labels)
    ax.set(
        xlabel="depth L",
        ylabel=r"separation $\Delta$ (curvature $\kappa$)",
        title=f"Test error % (* = every run perfect; {result['model']})",
    )
    fig.colorbar(image, ax=ax, fraction=0.046, label="test error (%)")
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


NTK_FIGURES = {"ntk_concentration": plot_ntk}
DEPTH_FIGURES = {"ntk_depth": plot_depth}
TRAINING_FIGURES = {"training_dynamics": plot_training, "training_decision": plot_decision}
RESOURCES_FIGURES = {"resources": plot_resources}

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
}
