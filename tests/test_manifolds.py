"""Lecture 2 (the manifolds package) against closed forms, finite differences and independent code:
the angle map, the analytic NTK, the empirical NTK, the curves' geometry, the kernel flow, the
certificates. The lecture's claims (`check_*`) are tested in test_manifolds_claims.py."""

import math
import warnings
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from lowdim_course import manifolds as mf

pytestmark = pytest.mark.usefixtures("one_thread")

PI = math.pi


# --- the angle map and the analytic kernel -----------------------------------------------------


def test_angle_map_fixed_point_range_and_limits():
    nu = torch.linspace(0, PI, 1001, dtype=torch.float64)
    phi = mf.angle_map(nu)
    assert mf.angle_map(torch.tensor(0.0)).item() == pytest.approx(0.0, abs=1e-7)
    # phi maps [0, pi] onto [0, pi/2]: opposite inputs give features at a right angle (each
    # unit is active for one of them only), phi(pi) = arccos(0) = pi/2.
    assert phi.min() >= 0 and phi.max() <= PI / 2
    assert mf.angle_map(torch.tensor(PI)).item() == pytest.approx(PI / 2, abs=1e-12)
    # It is increasing, contracts every positive angle, and has slope 1 at 0 (a ReLU layer keeps
    # nearby inputs nearby): phi(nu) = nu - nu^2 / (3 pi) + O(nu^3).
    assert (phi[1:] > phi[:-1]).all()
    assert (phi[1:] < nu[1:]).all()
    small = torch.tensor([1e-3], dtype=torch.float64)
    assert mf.angle_map(small).item() == pytest.approx(1e-3 - 1e-6 / (3 * PI), rel=1e-4)
    # Iterating drives every angle to the fixed point 0, slowly (about 3 pi / l).
    assert mf.angle_iterates(torch.tensor(PI), 200)[-1].item() < 3 * PI / 150


def test_angle_map_is_the_relu_correlation():
    """cos phi(nu) = E[relu(u) relu(v)] / E[relu(u)^2] for standard Gaussians with correlation
    cos nu (the degree-1 arc-cosine kernel of Cho & Saul), checked by Monte Carlo."""
    g = torch.Generator().manual_seed(0)
    z = torch.randn(2, 2_000_000, generator=g, dtype=torch.float64)
    for nu in (0.3, 1.2, 2.5):
        u = z[0]
        v = math.cos(nu) * z[0] + math.sin(nu) * z[1]
        ratio = (torch.relu(u) * torch.relu(v)).mean() / (torch.relu(u) ** 2).mean()
        assert math.cos(mf.angle_map(torch.tensor(nu)).item()) == pytest.approx(
            ratio.item(), abs=3e-3
        )


@pytest.mark.parametrize("depth", [1, 2, 3, 7, 20])
def test_analytic_ntk_at_zero_is_its_closed_form(depth):
    zero = torch.zeros(1, dtype=torch.float64)
    assert mf.analytic_ntk(zero, depth, 512).item() == pytest.approx(1 + 512 * depth / 2)
    assert mf.analytic_ntk(zero, depth, 512, "ntk").item() == pytest.approx(1 + depth)
    assert mf.ntk_profile(zero, depth).item() == pytest.approx(1.0)


def test_analytic_ntk_by_the_naive_double_sum():
    """The running-product implementation against the formula written out term by term."""
    nu = torch.linspace(0, PI, 13, dtype=torch.float64)
    for depth in (1, 4):
        angles = [nu]
        for _ in range(depth):
            angles.append(torch.arccos(((1 - angles[-1] / PI) * torch.cos(angles[-1])
                                        + torch.sin(angles[-1]) / PI).clamp(-1, 1)))  # fmt: skip
        expected = torch.cos(angles[depth])
        for l in range(depth):
            prod = torch.ones_like(nu)
            for k in range(l, depth):
                prod = prod * (1 - angles[k] / PI)
            expected = expected + 100 / 2 * torch.cos(angles[l]) * prod
        torch.testing.assert_close(mf.analytic_ntk(nu, depth, 100), expected)


def test_deeper_kernels_are_sharper():
    widths = [mf.half_width(d) for d in (1, 2, 4, 8, 16, 32)]
    assert all(a > b for a, b in zip(widths, widths[1:]))
    # ~ 1/L for deep networks: doubling the depth about halves the half width.
    assert widths[-2] / widths[-1] == pytest.approx(2, rel=0.15)


# --- the empirical kernel ------------------------------------------------------------------------


def _unit(n, dim, seed):
    x = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return x / x.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("parametrization", ["standard", "ntk"])
def test_empirical_ntk_matches_the_jacobian_and_is_psd(parametrization):
    g = torch.Generator().manual_seed(1)
    net = mf.ReLUNet(4, 24, 3, parametrization, generator=g)
    x = _unit(9, 4, 2)
    kernel = mf.empirical_ntk(net, x)
    torch.testing.assert_close(kernel, mf.empirical_ntk_jacobian(net, x), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(kernel, kernel.T)
    assert torch.linalg.eigvalsh(kernel).min() > -1e-10 * kernel.diagonal().max()
    x2 = _unit(5, 4, 3)
    torch.testing.assert_close(mf.empirical_ntk(net, x, x2), mf.empirical_ntk_jacobian(net, x, x2))


def test_empirical_ntk_matches_finite_differences():
    """<df(x)/dtheta, df(x')/dtheta> from central differences of f in every parameter."""
    g = torch.Generator().manual_seed(3)
    net = mf.ReLUNet(3, 5, 2, generator=g)
    x = _unit(3, 3, 4)
    eps = 1e-6
    columns = []
    with torch.no_grad():
        for p in net.parameters():
            flat = p.view(-1)
            for i in range(flat.numel()):
                old = flat[i].item()
                flat[i] = old + eps
                up = net(x)
                flat[i] = old - eps
                down = net(x)
                flat[i] = old
                columns.append((up - down) / (2 * eps))
    jac = torch.stack(columns, 1)
    torch.testing.assert_close(mf.empirical_ntk(net, x), jac @ jac.T, rtol=1e-6, atol=1e-6)


def test_parametrizations_give_the_same_function_and_scaled_kernels():
    net_s = mf.ReLUNet(3, 64, 2, "standard", generator=torch.Generator().manual_seed(5))
    net_n = mf.ReLUNet(3, 64, 2, "ntk", generator=torch.Generator().manual_seed(5))
    x = _unit(6, 3, 6)
    torch.testing.assert_close(net_s(x), net_n(x))
    # Hidden-layer terms scale by 2/n, the output layer's term is shared.
    out = mf.nngp_kernel(torch.zeros(1), 2)  # noqa: F841  (documentation of the split)
    k_s, k_n = mf.empirical_ntk(net_s, x), mf.empirical_ntk(net_n, x)
    _, acts, _ = net_s.forward_with_layers(x)
    last = acts[-1].detach() @ acts[-1].detach().T
    torch.testing.assert_close(k_n - last, (k_s - last) * 2 / 64)


def test_empirical_ntk_concentrates_on_the_analytic_one():
    nu = torch.linspace(0, PI, 9, dtype=torch.float64)
    x = mf.great_circle(nu)
    g = torch.Generator().manual_seed(7)
    errors = []
    for width in (32, 2048):
        analytic = mf.analytic_ntk(nu, 2, width)
        errs = [
            ((mf.empirical_ntk(mf.ReLUNet(3, width, 2, generator=g), x[:1], x)[0] - analytic).norm()
             / analytic.norm()).item()
            for _ in range(4)
        ]  # fmt: skip
        errors.append(np.mean(errs))
    assert errors[1] < 0.1 and errors[1] < errors[0] / 3


def test_network_input_dimension_and_bad_parametrization():
    with pytest.raises(ValueError, match="parametrization"):
        mf.ReLUNet(3, 8, 2, "mean-field")
    net = mf.ReLUNet(4, 8, 3)
    assert (net.depth, net.width) == (3, 8)
    assert net(_unit(2, 4, 0)).shape == (2,)


# --- curves --------------------------------------------------------------------------------------


@pytest.mark.parametrize("separation", [0.1, 0.3, 0.8])
def test_circles_have_their_separation_and_curvature(separation):
    pair = mf.circles(separation)
    assert mf.separation_of(pair) == pytest.approx(separation, abs=1e-9)
    assert mf.curvature_of(pair) == pytest.approx(pair.curvature, rel=1e-9)
    x, y = pair.sample(50, torch.Generator().manual_seed(0))
    torch.testing.assert_close(x.norm(dim=1), torch.ones(50, dtype=torch.float64))
    assert set(y.tolist()) == {-1.0, 1.0}


@pytest.mark.parametrize("separation,turns", [(0.2, 5), (0.4, 3), (0.6, 2)])
def test_winding_pair_has_its_separation_and_curvature(separation, turns):
    pair = mf.winding_pair(separation, turns)
    assert mf.separation_of(pair) == pytest.approx(separation, abs=1e-9)
    assert mf.curvature_of(pair) == pytest.approx(pair.curvature, rel=1e-9)
    x, _ = pair.dense(100)
    torch.testing.assert_close(x.norm(dim=1), torch.ones(200, dtype=torch.float64))


def test_sampling_with_a_density():
    """t drawn with density proportional to 1 + cos t: its histogram matches, by a chi-square
    style check on 8 bins (expected counts from the exact integral)."""
    pair = mf.circles(0.4)
    x, _ = pair.sample(40000, torch.Generator().manual_seed(0), density=lambda t: 1 + torch.cos(t))
    t = torch.atan2(x[:, 1], x[:, 0]) % (2 * PI)
    edges = torch.linspace(0, 2 * PI, 9, dtype=torch.float64)
    counts = torch.histc(t, bins=8, min=0, max=2 * PI)
    expected = 40000 * ((edges[1:] - edges[:-1]) + torch.sin(edges[1:]) - torch.sin(edges[:-1]))
    expected = expected / (2 * PI)
    assert ((counts - expected).abs() < 5 * expected.sqrt()).all(), (counts, expected)
    with pytest.raises(ValueError, match="zero everywhere"):
        pair.sample(5, density=lambda t: 0 * t)


def test_geodesic_curvature_of_known_curves():
    t = torch.linspace(0, 2 * PI, 50, dtype=torch.float64)
    # A great circle is a geodesic: no curvature, whatever the (constant) speed.
    great = mf.geodesic_curvature(lambda s: torch.stack([torch.cos(3 * s), torch.sin(3 * s),
                                                         0 * s], 1), t)  # fmt: skip
    assert great.abs().max() < 1e-12
    # A latitude circle at height h, by the independent formula kappa = h / r.
    h = 0.6
    lat = mf.geodesic_curvature(lambda s: mf.latitude_circle(s, h), t)
    torch.testing.assert_close(lat, torch.full_like(t, h / math.sqrt(1 - h * h)))


def test_geodesic_curvature_warns_nothing_and_leaves_the_warning_filters_alone():
    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mf.curvature_of(mf.wavy_pair(0.4, 0.2), n=50)
    assert not caught, [str(w.message) for w in caught]
    assert warnings.filters == filters


def test_wavy_pair_is_closer_and_more_curved_than_circles():
    flat, wavy = mf.wavy_pair(0.4, 0.0), mf.wavy_pair(0.4, 0.3)
    assert mf.separation_of(flat) == pytest.approx(0.4, abs=1e-6)
    assert mf.separation_of(wavy) < 0.4
    assert mf.curvature_of(wavy) > 2 * mf.curvature_of(flat)


def test_bad_geometry_is_refused():
    with pytest.raises(ValueError):
        mf.circles(2.5)
    with pytest.raises(ValueError):
        mf.winding_pair(1.5)
    with pytest.raises(ValueError):
        mf.wavy_pair(1.9, 0.8)


# --- dynamics ------------------------------------------------------------------------------------


def test_kernel_flow_against_a_tiny_ode_solve():
    """exp(-t K/N) zeta_0 on the samples, and the test-point formula, against Euler steps."""
    g = torch.Generator().manual_seed(0)
    x, xt = _unit(6, 3, 1), _unit(4, 3, 2)
    k_train = mf.ntk_profile(mf.angles_between(x, x), 3)
    k_test = mf.ntk_profile(mf.angles_between(xt, x), 3)
    zeta0 = torch.randn(6, generator=g, dtype=torch.float64)
    zeta0_test = torch.randn(4, generator=g, dtype=torch.float64)
    train, test = mf.kernel_flow(k_train, k_test, zeta0, 2.0, zeta0_test)
    z, zt, dt = zeta0.clone(), zeta0_test.clone(), 1e-4
    for _ in range(20000):
        z, zt = z - dt * k_train @ z / 6, zt - dt * k_test @ z / 6
    torch.testing.assert_close(train, z, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(test, zt, rtol=1e-3, atol=1e-4)


def test_wide_network_training_follows_its_kernel():
    """The wide network's error vector stays near the fixed-kernel prediction and its kernel
    barely moves; the narrow one leaves both."""
    pair = mf.winding_pair(0.4, 3)
    gaps, moves = {}, {}
    for width in (32, 4096):
        g = torch.Generator().manual_seed(0)
        x, y = pair.sample(40, g)
        net = mf.ReLUNet(4, width, 1, generator=g)
        steps, errors, k0, k1 = mf.train_gd(net, x, y, 100, record_every=20)
        predicted = mf.linearized_errors(k0, errors[0], steps, 1.0, 1 + width / 2)
        gaps[width] = ((errors - predicted).norm(dim=1).max() / errors[0].norm()).item()
        moves[width] = mf.kernel_movement(k0, k1)
        assert errors[-1].norm() < 0.6 * errors[0].norm()
    assert gaps[4096] < 0.06 and gaps[32] > 2 * gaps[4096], gaps
    assert moves[4096] < 0.05 and moves[32] > 5 * moves[4096], moves


@pytest.mark.parametrize("parametrization", ["standard", "ntk"])
def test_theta0_is_the_kernel_at_zero_of_either_parametrization(parametrization):
    """ReLUNet.theta0 is the analytic Theta(0), and a wide network's kernel on the diagonal."""
    net = mf.ReLUNet(3, 2048, 2, parametrization, generator=torch.Generator().manual_seed(0))
    zero = torch.zeros(1, dtype=torch.float64)
    assert net.theta0 == pytest.approx(mf.analytic_ntk(zero, 2, 2048, parametrization).item())
    assert net.theta0 == mf.ntk_at_zero(2048, 2, parametrization)
    diagonal = mf.empirical_ntk(net, _unit(4, 3, 1)).diagonal()
    torch.testing.assert_close(diagonal, torch.full_like(diagonal, net.theta0), rtol=0.15, atol=0)


def test_kernel_prediction_follows_an_ntk_parametrised_network():
    """The prediction takes the step gradient descent took, step_scale / net.theta0, for the
    "ntk" parametrisation too (a prediction with Theta(0) = 1 + nL/2 would barely move)."""
    pair = mf.winding_pair(0.4, 3)
    g = torch.Generator().manual_seed(0)
    x, y = pair.sample(40, g)
    net = mf.ReLUNet(4, 2048, 1, "ntk", generator=g)
    steps, run = mf.kernel_prediction(net, x, y, steps=60, record_every=20)
    assert steps == [0, 20, 40, 60]
    assert run["rms"][-1] < 0.8 * run["rms"][0]
    assert run["deviation"] < 0.06, run["deviation"]


def test_certificate_solves_the_regularised_system():
    x = _unit(30, 3, 0)
    k = mf.ntk_profile(mf.angles_between(x, x), 4)
    zeta = torch.linspace(-1, 1, 30, dtype=torch.float64)
    g, norm, residual = mf.certificate(k, zeta, ridge=1e-3)
    torch.testing.assert_close((k / 30 + 1e-3 * torch.eye(30, dtype=torch.float64)) @ g, zeta)
    assert norm == pytest.approx(g.pow(2).mean().sqrt().item())
    assert 0 <= residual < 1


def test_ntk_profiles_match_ntk_profile_in_one_pass():
    nu = torch.linspace(0, PI, 37, dtype=torch.float64)
    got = dict(mf.ntk_profiles(nu, [7, 1, 4, 4]))
    assert list(got) == [1, 4, 7]
    for depth, profile in got.items():
        torch.testing.assert_close(profile, mf.ntk_profile(nu, depth))


@pytest.mark.parametrize("pair", [mf.winding_pair(0.4, 3), mf.circles(0.5)])
def test_population_certificate_is_the_limit_of_many_regular_samples(pair):
    """On a regular grid of M points per curve (the measure mu, up to the grid) the certificate
    of the labels is constant on each curve, and its norm is the 2 x 2 population one; the
    self term k(0)/(2M) of the grid vanishes as M grows (about 1% here)."""
    depths, ridge = [1, 3, 8], 1e-3
    population = mf.population_certificates(pair, depths, ridge, grid=4000)
    x, y = pair.dense(800)
    angles = mf.angles_between(x, x)
    for depth in depths:
        g, norm, _ = mf.certificate(mf.ntk_profile(angles, depth), -y, ridge)
        assert norm == pytest.approx(population[depth], rel=0.03), depth
        for side in (g[y > 0], g[y < 0]):
            assert side.std() < 1e-6 * side.abs().mean()


def test_depth_config_refuses_a_pair_without_a_population_certificate():
    with pytest.raises(ValueError, match="pair"):
        replace(mf.DepthConfig.quick(), pair="wavy")


# --- experiments: tiny configurations run, return the documented keys, and plot ---------------

TINY = {
    "manifolds_ntk": {"widths": (16, 64), "draws": 2, "angles": 9},
    "manifolds_depth": {"depths": (1, 4), "samples": (30, 40), "draws": 1, "grid": 2000},
    "manifolds_training": {"widths": (16, 64), "samples": 30, "steps": 20, "dense": 20},
    "manifolds_resources": {"depths": (1, 4), "separations": (0.5, 0.3), "samples": 40,
                            "draws": 1, "dense": 30, "data_samples": (20, 40)},
    "manifolds_width_depth": {"widths": (8, 32), "depths": (1, 4), "draws": 2, "points": 4},
}  # fmt: skip


@pytest.mark.parametrize("name", list(mf.EXPERIMENTS))
def test_experiment_runs_and_plots(name):
    run, Config, figures, summary = mf.EXPERIMENTS[name]
    assert isinstance(summary, str) and figures
    assert Config.quick() != Config.full()
    result = run(replace(Config.quick(), **TINY[name]), device="cpu", seed=0, progress=False)
    assert isinstance(result, dict)
    for plot in figures.values():
        fig = plot(result)
        for ax in fig.axes:
            if ax.get_label() != "<colorbar>":
                assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
        plt.close(fig)


def test_resources_with_real_networks_runs():
    """The full profile trains real networks instead of using the kernel; a tiny version."""
    config = replace(mf.ResourcesConfig.quick(), **TINY["manifolds_resources"], model="network",
                     width=32, time=20, times=(10.0, 20.0, 30.0))  # fmt: skip
    result = mf.run_resources(config, seed=0, progress=False)
    assert np.asarray(result["test_error"]).shape == (2, 2)
    assert np.asarray(result["test_error_by_time"]).shape == (2, 2, 3)
    assert np.asarray(result["train_error_by_time"]).shape == (2, 2, 3)
    # the map is the reading at `time`, the second of `times`
    by_time = np.asarray(result["test_error_by_time"])
    np.testing.assert_allclose(result["test_error"], by_time[..., 1])
    assert len(mf.required_depths(result, tolerance=1.0)) == 2
    assert mf.required_times(result, tolerance=1.0).tolist() == [[10.0, 10.0], [10.0, 10.0]]


def test_network_trial_reads_the_run_it_continues():
    """Reading a network at 10 and 30 steps gives, at 30, what 30 steps from the same start give."""
    pair = mf.winding_pair(0.5, 3)
    config = replace(mf.ResourcesConfig.quick(), width=32, dense=20, model="network")
    runs = [
        mf.network_trial(pair, depth=2, samples=30, times=times, config=config,
                         generator=torch.Generator().manual_seed(3), device="cpu")
        for times in ((10.0, 30.0), (30.0,))
    ]  # fmt: skip
    assert len(runs[0]["test_error"]) == len(runs[0]["train_error"]) == 2
    assert runs[0]["test_error"][1] == pytest.approx(runs[1]["test_error"][0], abs=0.05)
    assert runs[0]["train_error"][1] == pytest.approx(runs[1]["train_error"][0], abs=0.05)


def test_kernel_flow_errors_at_several_times_are_the_flow_at_each():
    pair = mf.winding_pair(0.3, 5)
    times = [10.0, 100.0, 1e4]
    many = mf.kernel_flow_errors(pair, 4, 60, times, 50, torch.Generator().manual_seed(1))
    for k, t in enumerate(times):
        one = mf.classify_by_kernel_flow(pair, 4, 60, t, 50, torch.Generator().manual_seed(1))
        assert one == {key: values[k] for key, values in many.items()}
    # by hand, with kernel_flow: the training error at the last time
    x, y = pair.sample(60, torch.Generator().manual_seed(1))
    train, _ = mf.kernel_flow(mf.ntk_profile(mf.angles_between(x, x), 4), None, -y, 1e4)
    assert many["train_rms"][-1] == pytest.approx(train.pow(2).mean().sqrt().item(), abs=1e-9)
    assert many["train_rms"][0] > many["train_rms"][1] > many["train_rms"][2]


def test_resources_times_must_increase_and_contain_the_map_time():
    with pytest.raises(ValueError, match="times"):
        replace(mf.ResourcesConfig.quick(), time=50.0)
    with pytest.raises(ValueError, match="times"):
        replace(mf.ResourcesConfig.quick(), times=(100.0, 10.0))
    for config in (mf.ResourcesConfig.quick(), mf.ResourcesConfig.full()):
        assert config.time in config.times


def test_resources_names_its_two_models_and_refuses_others():
    assert set(mf.RESOURCE_MODELS) == {"kernel", "network"}
    assert mf.ResourcesConfig.quick().model == "kernel"
    # full too, on a finer grid: real networks of width 1024 are a GPU setting (see full())
    assert mf.ResourcesConfig.full().model == "kernel"
    assert mf.ResourcesConfig.full().draws > mf.ResourcesConfig.quick().draws
    with pytest.raises(ValueError, match="model"):
        replace(mf.ResourcesConfig.quick(), model="networks")
