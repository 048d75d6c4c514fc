"""Lecture 1's analytic additions: the law m ~ 2k log(n/k) against the statistical dimension,
and one-step / layered thresholding as a ReLU network, against independent references."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, optimize, stats

from lowdim_course import claims, sparse


def psi_by_quadrature(s):
    """psi(s) from its definition, by numerical integration and a bounded scalar minimisation."""

    def J(tau):
        tail = integrate.quad(lambda g: (g - tau) ** 2 * stats.norm.pdf(g), tau, np.inf)[0]
        return s * (1 + tau**2) + (1 - s) * 2 * tail

    return optimize.minimize_scalar(J, bounds=(0, 12), method="bounded").fun


@pytest.mark.parametrize("s", [0.3, 0.05, 1e-3, 1e-5])
def test_psi_is_below_the_sufficient_bound_and_the_law_overestimates_it(s):
    psi = sparse.l1_statistical_dimension(s)
    assert psi == pytest.approx(psi_by_quadrature(s), rel=1e-5)
    assert psi < sparse.klogn_law(s) + 1.25 * s
    assert psi < sparse.klogn_law(s)  # for s <= 0.3 the law asks for more than is needed


def test_the_second_order_expansion_converges_and_the_law_only_slowly():
    s = np.array([1e-8, 1e-16, 1e-30])
    psi = np.array([sparse.l1_statistical_dimension(v) for v in s])
    expansion_error = np.abs(sparse.statdim_expansion(s) / psi - 1)
    assert np.all(np.diff(expansion_error) < 0) and expansion_error[-1] < 0.005
    ratio = psi / sparse.klogn_law(s)
    assert np.all(np.diff(ratio) > 0) and ratio[-1] < 0.95


def test_law_curve_solves_m_equals_2k_log_n_over_k():
    curve = sparse.law_curve()
    s = curve["rho"] * curve["delta"]  # k/n
    np.testing.assert_allclose(curve["delta"], 2 * s * np.log(1 / s), rtol=1e-10)
    assert curve["delta"].max() == pytest.approx(2 / math.e, rel=1e-6)


def test_sample_complexity_check_holds_and_fails_on_a_linear_law():
    result = sparse.sample_complexity_law()
    assert len(sparse.check_sample_complexity_law(result, "quick")) == 3
    doctored = dict(result, ratio=np.ones_like(result["ratio"]))  # "psi is exactly the law"
    with pytest.raises(claims.ClaimFailed):
        sparse.check_sample_complexity_law(doctored, "quick")


@pytest.mark.parametrize("nonnegative", [True, False])
def test_thresholding_layer_is_the_soft_threshold_of_D_transpose_x(nonnegative):
    g = torch.Generator().manual_seed(0)
    D = sparse.unit_norm_dictionary(10, 25, g)
    x = torch.randn(7, 10, generator=g, dtype=torch.float64)
    beta = 0.3
    z = x.numpy() @ D.numpy()  # (7, 25): D^T x per row
    if nonnegative:
        expected = np.maximum(z - beta, 0)
    else:
        expected = np.sign(z) * np.maximum(np.abs(z) - beta, 0)
    with torch.no_grad():
        got = sparse.thresholding_layer(D, beta, nonnegative)(x).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-13)
    layer = sparse.thresholding_layer(D, beta, nonnegative)[0]
    assert isinstance(layer, torch.nn.Linear) and torch.all(layer.bias == -beta)


def test_thresholding_study_holds_and_its_check_can_fail():
    result = sparse.thresholding_study(trials=100)
    assert len(sparse.check_thresholding(result, "quick")) == 3
    assert result["success"][0] == 1.0 and result["success"][-1] < 0.5
    with pytest.raises(claims.ClaimFailed):
        sparse.check_thresholding(dict(result, network_difference=1e-3), "quick")
    with pytest.raises(claims.ClaimFailed):  # a pursuit that never got past one atom
        sparse.check_thresholding(dict(result, success=[1.0] + [0.0] * 6), "quick")


def test_preconditioned_dictionary_gram_is_the_inverse_code_covariance():
    g = torch.Generator().manual_seed(1)
    n, p, theta = 6, 4000, 0.3
    A = torch.randn(n, n, generator=g, dtype=torch.float64)
    X = torch.randn(n, p, generator=g, dtype=torch.float64)
    X = X * (torch.rand(n, p, generator=g, dtype=torch.float64) < theta)
    P = sparse.preconditioner(A @ X, theta).numpy()
    Y = (A @ X).numpy()
    w, V = np.linalg.eigh(Y @ Y.T / (p * theta))  # independent: numpy's inverse square root
    np.testing.assert_allclose(P, V @ np.diag(w**-0.5) @ V.T, rtol=1e-10, atol=1e-12)
    effective = P @ A.numpy()
    np.testing.assert_allclose(
        effective.T @ effective, np.linalg.inv(X.numpy() @ X.numpy().T / (p * theta)), atol=1e-8
    )


def test_preconditioning_check_holds_and_fails_without_concentration():
    result = sparse.orthogonality_defect(8, (1000, 10_000, 100_000), 0.2, 3.0)
    assert len(sparse.check_preconditioning(result, "quick")) == 1
    with pytest.raises(claims.ClaimFailed):  # a defect that does not shrink with p
        sparse.check_preconditioning(dict(result, defect=[0.3, 0.3, 0.3]), "quick")
