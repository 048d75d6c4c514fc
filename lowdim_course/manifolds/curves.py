"""The data of the two-manifold problem: pairs of closed curves on the unit sphere, and their
geometry.

A `CurvePair` holds two curves M+ (label +1) and M- (label -1) of S^{dim-1}; it samples labelled
points from them and lays a regular grid on both. What makes a pair hard to classify is its
separation Delta (the distance between the curves) and its curvature kappa (the largest
geodesic curvature): `circles` and `winding_pair` are built with known Delta and kappa,
`wavy_pair` is not, and `separation_of` and `curvature_of` measure them for any pair.
Every point, angle and kernel of this lecture is float64 (`DTYPE`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

DTYPE = torch.float64

# Parameter t (T,) in [0, 2 pi) -> points (T, dim), each point a function of its own t only.
Curve = Callable[[torch.Tensor], torch.Tensor]


def _inverse_cdf_parameters(u: torch.Tensor, density) -> torch.Tensor:
    """Parameters t in [0, 2 pi) with the given density (>= 0, need not be normalised), from
    uniform u in [0, 1), by inverting its CDF on a fine grid (linear within a grid cell)."""
    grid = torch.linspace(0, 2 * math.pi, 4097, dtype=DTYPE)
    mass = torch.as_tensor(density(grid[:-1]), dtype=DTYPE).clamp(min=0)
    if not mass.sum() > 0:
        raise ValueError("the sampling density is zero everywhere")
    cdf = torch.cat([torch.zeros(1, dtype=DTYPE), mass.cumsum(0) / mass.sum()])
    cell = torch.searchsorted(cdf, u, right=True).clamp(1, len(grid) - 1) - 1
    within = (u - cdf[cell]) / (cdf[cell + 1] - cdf[cell]).clamp(min=1e-300)
    return grid[cell] + within.clamp(0, 1) * (grid[1] - grid[0])


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
        t = u * (2 * math.pi) if density is None else _inverse_cdf_parameters(u, density)
        positive = torch.rand(n, generator=generator, dtype=DTYPE) < 0.5
        x = torch.where(positive[:, None], self.plus(t), self.minus(t))
        return x, positive.to(DTYPE) * 2 - 1

    def dense(self, n_per_curve: int):
        """A regular grid of n_per_curve points on each curve: x (2 n, dim), y (2 n,)."""
        t = torch.arange(n_per_curve, dtype=DTYPE) * (2 * math.pi / n_per_curve)
        x = torch.cat([self.plus(t), self.minus(t)])
        y = torch.cat([torch.ones(n_per_curve, dtype=DTYPE), -torch.ones(n_per_curve, dtype=DTYPE)])
        return x, y


def latitude_circle(t: torch.Tensor, height: float) -> torch.Tensor:
    """The circle of S^2 at height x_3 = `height`, at longitude t: (T, 3)."""
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
        lambda t: latitude_circle(t, h),
        lambda t: latitude_circle(t, -h),
        3,
        f"circles, Delta = {separation:g}",
        separation,
        h / math.sqrt(1 - h * h),
    )


def winding_radius(separation: float) -> float:
    """The radius r of `winding_pair` whose curves are `separation` apart:
    Delta^2 = 2 - 2/sqrt(1 + r^2). (The lecture keeps rho for the sampling density.)"""
    if not 0 < separation < math.sqrt(2):
        raise ValueError(f"a winding pair needs 0 < separation < sqrt(2), got {separation}")
    return math.sqrt((2 / (2 - separation**2)) ** 2 - 1)


def winding_pair(separation: float, turns: int = 5) -> CurvePair:
    """A great circle of S^3 and a curve that winds `turns` times around it:

        M+ : (cos t, sin t, 0, 0),   M- : (cos t, sin t, r cos(w t), r sin(w t)) / sqrt(1 + r^2)

    with w = turns (omega in the lecture, where w is the output weights). Every point of M- is
    at the same distance Delta = sqrt(2 - 2/sqrt(1 + r^2)) from M+ (the nearest point has the
    same t), and M- has constant geodesic curvature kappa = r |w^2 - 1| / (1 + r^2 w^2): close
    and curved together, as in the hard pairs of Buchanan et al. No linear function separates
    them (the label depends on x_3^2 + x_4^2).
    """
    r, w = winding_radius(separation), turns

    def core(t):
        return torch.stack([torch.cos(t), torch.sin(t), 0 * t, 0 * t], 1)

    def winder(t):
        ring = [torch.cos(t), torch.sin(t), r * torch.cos(w * t), r * torch.sin(w * t)]
        return torch.stack(ring, 1) / math.sqrt(1 + r * r)

    kappa = r * abs(w * w - 1) / (1 + r * r * w * w)
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


def named_pair(name: str, separation: float, turns: int) -> CurvePair:
    """The pair `PAIRS[name]` at `separation`, the winding one with `turns` turns (an
    experiment's config names its pair)."""
    return winding_pair(separation, turns) if name == "winding" else PAIRS[name](separation)


def great_circle(angles: torch.Tensor, dim: int = 3) -> torch.Tensor:
    """Unit vectors cos(nu) e_1 + sin(nu) e_2 of R^dim, one per angle nu (at angle nu from e_1)."""
    angles = torch.as_tensor(angles, dtype=DTYPE)
    x = torch.zeros(len(angles), dim, dtype=DTYPE)
    x[:, 0], x[:, 1] = torch.cos(angles), torch.sin(angles)
    return x


def separation_of(pair: CurvePair, n: int = 4000) -> float:
    """Delta = min over x in M+, x' in M- of ||x - x'||, from n points on each curve (the grid
    error is O((2 pi / n)^2), below 1e-6 at the default)."""
    x, y = pair.dense(n)
    plus, minus = x[y > 0], x[y < 0]
    return min(torch.cdist(chunk, minus).min().item() for chunk in plus.split(500))


def _derivative(values: torch.Tensor, t: torch.Tensor, *, keep_graph: bool) -> torch.Tensor:
    """d values / dt row by row, (T, dim), by reverse-mode autograd: row i depends on t_i only,
    so the gradient of a column's sum is that column's derivative. Reverse mode rather than
    torch.func.jacfwd, whose forward mode makes torch warn about its own internals."""
    if not values.requires_grad:  # a column (or curve) that does not move with t
        return torch.zeros_like(values)
    columns = [
        torch.autograd.grad(
            column.sum(),
            t,
            retain_graph=True,  # the columns share one graph
            create_graph=keep_graph,
            allow_unused=True,
            materialize_grads=True,
        )[0]
        for column in values.unbind(1)
    ]
    return torch.stack(columns, 1)


def geodesic_curvature(curve: Curve, t: torch.Tensor) -> torch.Tensor:
    """kappa(t) = ||(I - x x^T / ||x||^2) d^2x/ds^2||, the curvature left after removing the
    part that keeps the curve on the sphere; s is arc length. Derivatives by autodiff of the
    parametrisation: d^2x/ds^2 = (x'' - (x'' . u) u) / ||x'||^2, u = x'/||x'||."""
    t = torch.as_tensor(t, dtype=DTYPE).detach().requires_grad_(True)
    with torch.enable_grad():
        x = curve(t)
        dx = _derivative(x, t, keep_graph=True)
        ddx = _derivative(dx, t, keep_graph=False)
    x, dx, ddx = x.detach(), dx.detach(), ddx.detach()
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


def _arc_positions(points: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Arc-length positions s_i of a closed curve's grid points (sums of chords from the first
    point) and its length: the intrinsic distance of points i, j is min(|s_i - s_j|, length -
    |s_i - s_j|)."""
    chords = (points.roll(-1, 0) - points).norm(dim=1)
    return torch.cat([torch.zeros(1, dtype=DTYPE), chords.cumsum(0)[:-1]]), chords.sum().item()


def covering_count(positions: torch.Tensor, length: float, radius: float) -> int:
    """How many intrinsic balls of `radius` (arcs of length 2 radius) cover the points at the
    sorted arc-length `positions` of a closed curve of `length`: cut the circle at the largest
    gap between neighbours, then place arcs greedily from one end (exact on a line; on the
    circle at most one more than the least number)."""
    if len(positions) == 0:
        return 0
    gaps = torch.cat([positions[1:] - positions[:-1], positions[:1] + length - positions[-1:]])
    start = (int(gaps.argmax()) + 1) % len(positions)
    line = torch.cat([positions[start:], positions[:start] + length]) if start else positions
    count, first = 0, 0
    while first < len(line):  # one arc [line[first], line[first] + 2 radius] per pass
        count += 1
        first = int(torch.searchsorted(line, line[first] + 2 * radius, right=True))
    return count


def b_number(pair: CurvePair, tau1: float, tau2: float, n: int = 1000, kappa=None):
    """The B-number of Buchanan et al.: how much M = M+ u M- loops back on itself,

        B = sup_x N_M({x' : d_intr(x, x') > tau1, d_ext(x, x') < tau2}, 1/sqrt(1 + kappa^2)),

    N_M(T, delta) the number of intrinsic balls of radius delta that cover T. The points of the
    other curve are intrinsically infinitely far, so they count wherever they come within tau2.
    On a grid of n points per curve; kappa defaults to `curvature_of(pair)`. Returns (B, the
    count at every grid point (2 n,), in the order of `pair.dense(n)`)."""
    kappa = curvature_of(pair) if kappa is None else kappa
    delta = 1 / math.sqrt(1 + kappa**2)
    x, y = pair.dense(n)
    curves = [x[y > 0], x[y < 0]]
    arcs = [_arc_positions(c) for c in curves]
    counts = torch.zeros(2, n, dtype=torch.long)
    for a, b in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        (s_a, length), (s_b, length_b) = arcs[a], arcs[b]
        near = torch.cdist(curves[a], curves[b]) < tau2  # (n, n): extrinsically close
        if a == b:  # on the same curve, only the points intrinsically far
            gap = (s_a[:, None] - s_b[None, :]).abs()
            near &= torch.minimum(gap, length - gap) > tau1
        for i in range(n):
            counts[a, i] += covering_count(s_b[near[i]], length_b, delta)
    counts = counts.reshape(-1)
    return int(counts.max()), counts
