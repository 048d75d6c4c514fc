"""Training dynamics: gradient descent on the square loss, the kernel's prediction of it, and the
certificates that say how fast it fits.

Near initialisation the error zeta = f - y follows the linear flow d zeta/dt = -Theta zeta of
the NTK Theta (on the N samples, Theta acts as K_N = K(X, X)/N). `kernel_flow` solves that flow
exactly, on the samples and off them (`flow_in_modes`, in the eigenbasis `kernel_modes` of
K_N); `kernel_flow_errors` (at several times), `classify_by_kernel_flow` (at one) and
`aperture_errors` (over the number of samples) use it as the infinite-width network.
`train_gd` trains a real `ReLUNet` by full-batch gradient descent, and `linearized_errors` is
what the kernel at initialisation predicts for it; `kernel_prediction` compares the two.
`certificate` solves Theta[g] = zeta_0 (Buchanan et al. 2021) on samples: a small g means a
fast fit; `population_certificates` solves it for the population measure, and
`certificate_decay` sets the certificate's bound beside the measured decay of the error.
"""

from __future__ import annotations

import math

import torch

from .curves import DTYPE, CurvePair
from .ntk import ReLUNet, angles_between, empirical_ntk, half_width, ntk_profile, ntk_profiles


def kernel_modes(kernel_train):
    """The eigenvalues (clamped at 0) and eigenvectors of K_N = K(X, X)/N, the integral operator
    of the empirical measure mu_N: the modes in which `flow_in_modes` solves the flow. One
    eigendecomposition serves every time."""
    evals, evecs = torch.linalg.eigh(kernel_train / len(kernel_train))
    return evals.clamp(min=0), evecs


def flow_in_modes(modes, kernel_test, zeta0, time, zeta0_test=None):
    """Gradient flow of the error under a fixed kernel for a time t, on the samples and off them.

    On the N samples each mode of K_N decays on its own: zeta_t = V e^{-t Lambda} V^T zeta_0. A
    test point follows d/dt zeta_t(x) = -(1/N) K(x, X) zeta_t(X), so integrating the samples'
    error over time, zeta_t(x) = zeta_0(x) - K(x, X)/N V G_t V^T zeta_0 with gain
    G_t = (1 - e^{-t lambda}) / lambda per mode, which tends to t as lambda -> 0 (a mode the
    kernel does not see keeps its error). `modes` = (Lambda, V) from `kernel_modes`. Returns
    (zeta_t on the samples, zeta_t at the test points, or None without `kernel_test`)."""
    evals, evecs = modes
    coeffs = evecs.T @ zeta0  # the initial error in the kernel's eigenbasis
    decay = torch.exp(-time * evals)
    gain = torch.where(evals > 1e-12, -torch.expm1(-time * evals) / evals.clamp(min=1e-12), time)
    zeta_train = evecs @ (decay * coeffs)
    if kernel_test is None:
        return zeta_train, None
    base = torch.zeros(len(kernel_test), dtype=DTYPE) if zeta0_test is None else zeta0_test
    return zeta_train, base - kernel_test / len(zeta0) @ (evecs @ (gain * coeffs))


def kernel_flow(kernel_train, kernel_test, zeta0, time, zeta0_test=None):
    """Gradient flow of the error under a fixed kernel, on the samples and off them:
    zeta_t = exp(-t K_N) zeta_0 on the N samples (K_N = K(X, X)/N), and at a test point
    zeta_t(x) = zeta_0(x) - K(x, X)/N [K_N^+ (I - exp(-t K_N)) + t P_0] zeta_0, with P_0 the
    projector on the null space of K_N. `flow_in_modes` of `kernel_modes`; returns
    (zeta_t on the samples, zeta_t at the test points)."""
    return flow_in_modes(kernel_modes(kernel_train), kernel_test, zeta0, time, zeta0_test)


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


def population_certificates(pair: CurvePair, depths, ridge: float = 1e-4, grid: int = 20000):
    """The certificate of the labels for the population measure mu (a fair coin picks the
    curve, then uniform t), the N -> infinity limit of `certificate(K, -y, ridge)`:
    g = (Theta_mu + ridge I)^{-1} zeta_0 with zeta_0 = -y. Returns {depth: ||g||_{L^2(mu)}}.

    Exact for pairs whose curves are each an orbit of one rotation of the sphere (`circles`,
    `winding_pair`: t -> t + s moves both curves along themselves). Theta_mu commutes with that
    rotation, so it maps functions constant on each curve to such functions, and on them it is
    the 2 x 2 matrix A_{ab} = (1/2) E_t k(angle(x_a(0), x_b(t))), a, b in {+, -}; g is the
    solution (g_+, g_-) of (A + ridge I) g = (1, -1) (it lies in the range of Theta_mu, so it
    is also the certificate of least norm). The expectations are means over `grid` values of
    t."""
    t = torch.arange(grid, dtype=DTYPE) * (2 * torch.pi / grid)
    plus, minus = pair.plus(t), pair.minus(t)
    angles = torch.stack(
        [
            angles_between(plus[:1], plus)[0],
            angles_between(plus[:1], minus)[0],
            angles_between(minus[:1], minus)[0],
        ]
    )  # (3, grid): ++, +-, --
    out = {}
    for depth, k in ntk_profiles(angles, depths):
        a_pp, a_pm, a_mm = (0.5 * k.mean(1)).tolist()
        a = torch.tensor([[a_pp + ridge, a_pm], [a_pm, a_mm + ridge]], dtype=DTYPE)
        g = torch.linalg.solve(a, torch.tensor([1.0, -1.0], dtype=DTYPE))
        out[depth] = g.pow(2).mean().sqrt().item()
    return out


def certificate_decay(pair: CurvePair, depth: int, samples: int, times, ridge: float, generator):
    """The certificate lemma on `samples` points of `pair` under the infinite-width kernel of
    `depth` (step 1/Theta(0), from f_0 = 0 so zeta_0 = -y): the measured training error
    ||zeta_t||_{L^2(mu_N)} of the kernel flow at each of `times`, and its bound
    ||g||/(e t) + ||xi|| from the certificate g = `certificate(K, zeta_0, ridge)`, with
    xi = zeta_0 - K_N g its residual (since sup_s s e^{-t s} = 1/(e t))."""
    x, y = pair.sample(samples, generator)
    kernel = ntk_profile(angles_between(x, x), depth)
    g, g_norm, _ = certificate(kernel, -y, ridge)
    xi_norm = (-y - kernel / samples @ g).pow(2).mean().sqrt().item()
    modes = kernel_modes(kernel)
    rms = [flow_in_modes(modes, None, -y, t)[0].pow(2).mean().sqrt().item() for t in times]
    bound = [g_norm / (math.e * t) + xi_norm for t in times]
    return {"times": list(times), "rms": rms, "bound": bound, "certificate_norm": g_norm,
            "residual_norm": xi_norm}  # fmt: skip


def kernel_flow_errors(
    pair: CurvePair, depth: int, samples: int, times, dense: int, generator
) -> dict:
    """The infinite-width network of `depth` trained by gradient flow from f_0 = 0 on `samples`
    points of `pair`, read at each of `times` (in units of 1/Theta(0)): its errors on the samples
    and on a dense grid of both curves, one value per time. One eigendecomposition of K_N serves
    every time (`flow_in_modes` at each).

    f_0 = 0 is the antisymmetrised network: two copies of a network with the same initial
    weights, f = (f_a - f_b)/sqrt(2), output exactly 0 at the start and have the kernel of one
    copy. So zeta_0 = -y: the random initial function of a single network, which the flow would
    also have to fit on the samples and would carry off them, is gone, and what is left is
    geometry, depth, data and time."""
    x, y = pair.sample(samples, generator)
    xt, yt = pair.dense(dense)
    kernel = ntk_profile(angles_between(torch.cat([x, xt]), x), depth)
    k_train, k_test = kernel[:samples], kernel[samples:]
    modes = kernel_modes(k_train)
    out = {"train_error": [], "test_error": [], "train_rms": []}
    for time in times:
        zeta_train, zeta_test = flow_in_modes(modes, k_test, -y, time, -yt)
        out["train_error"].append(((zeta_train + y).sign() != y).to(DTYPE).mean().item())
        out["test_error"].append(((zeta_test + yt).sign() != yt).to(DTYPE).mean().item())
        out["train_rms"].append(zeta_train.pow(2).mean().sqrt().item())
    return out


def aperture_errors(pair: CurvePair, depth: int, samples, time: float, draws: int, dense: int,
                    generator) -> dict:  # fmt: skip
    """Data against aperture: for each number of samples N of `samples`, the mean test error
    over `draws` sample sets of the infinite-width network of `depth` after kernel flow for
    `time`, beside the sample spacing (|M+| + |M-|)/N and the kernel's half width (radians)."""
    x, y = pair.dense(20000)
    length = sum((c - c.roll(1, 0)).norm(dim=1).sum().item() for c in (x[y > 0], x[y < 0]))
    errors = [
        sum(
            kernel_flow_errors(pair, depth, n, [time], dense, generator)["test_error"][0]
            for _ in range(draws)
        )
        / draws
        for n in samples
    ]
    return {"depth": depth, "samples": list(samples), "spacing": [length / n for n in samples],
            "half_width": half_width(depth), "test_error": errors}  # fmt: skip


def classify_by_kernel_flow(
    pair: CurvePair, depth: int, samples: int, time: float, dense: int, generator
) -> dict:
    """`kernel_flow_errors` at one time: the infinite-width network of `depth` trained by
    gradient flow for `time` (in units of 1/Theta(0)) from f_0 = 0 (an antisymmetrised network)
    on `samples` points of `pair`; its errors on the samples and on a dense grid of both
    curves."""
    errors = kernel_flow_errors(pair, depth, samples, [time], dense, generator)
    return {key: values[0] for key, values in errors.items()}


def kernel_movement(k0: torch.Tensor, k1: torch.Tensor) -> float:
    """||Theta_T - Theta_0||_F / ||Theta_0||_F: how far training moved the kernel."""
    return ((k1 - k0).norm() / k0.norm()).item()


def train_gd(net: ReLUNet, x, y, steps: int, step_scale: float = 1.0, record_every: int = 10):
    """Full-batch gradient descent on the square loss (1/2N) sum (f(x_i) - y_i)^2 with step
    eta = step_scale / Theta(0) (`net.theta0`: 1 + nL/2, or 1 + L for the "ntk"
    parametrisation): then the linearised error obeys zeta_{k+1} = (I - step_scale
    K_N/Theta(0)) zeta_k, stable for step_scale < 2. Records the error vector every
    `record_every` steps.

    Its own loop rather than `train.train`: this full-batch step, in units of 1/Theta(0), is
    the object of study (its kernel prediction is exact in the infinite-width limit), and the
    error vector on the whole sample is what it records.

    Returns (steps recorded, errors (R, N) float64, the NTK at the start, the NTK at the end)."""
    dtype = net.output.dtype
    x, y = x.to(dtype), y.to(dtype)
    optimizer = torch.optim.SGD(net.parameters(), lr=step_scale / net.theta0)
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
    modes that have already vanished). `theta0` is the network's `ReLUNet.theta0`."""
    n = len(zeta0)
    evals, evecs = torch.linalg.eigh(kernel / n)
    factor = 1 - step_scale / theta0 * evals
    coeffs = evecs.T @ zeta0
    return torch.stack([evecs @ (factor**k * coeffs) for k in steps])


def kernel_prediction(
    net: ReLUNet, x, y, *, steps: int, step_scale: float = 1.0, record_every: int = 10
) -> tuple[list, dict]:
    """Train `net` by `train_gd` and compare it with the prediction of its kernel at the start
    (`linearized_errors`, with the step `train_gd` took: step_scale / net.theta0).

    Returns (steps recorded, {"rms", "rms_predicted": the training error ||zeta_k||_{L^2(mu_N)}
    of the network and of the prediction at those steps; "deviation": the largest gap between
    the two over the initial error; "kernel_movement"})."""
    recorded, errors, k0, k1 = train_gd(net, x, y, steps, step_scale, record_every)
    errors, k0, k1 = errors.cpu(), k0.cpu(), k1.cpu()
    predicted = linearized_errors(k0, errors[0], recorded, step_scale, net.theta0)
    rms, rms_predicted = errors.pow(2).mean(1).sqrt(), predicted.pow(2).mean(1).sqrt()
    return recorded, {
        "rms": rms,
        "rms_predicted": rms_predicted,
        "deviation": ((rms - rms_predicted).abs().max() / rms[0]).item(),
        "kernel_movement": kernel_movement(k0, k1),
    }


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
