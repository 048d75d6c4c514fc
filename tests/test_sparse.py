"""Lecture 1 (lowdim_course/sparse/) against independent references: closed forms,
scikit-learn's Lasso, Monte Carlo expectations, and small recovery problems."""

import copy
import functools
import math
import re
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso

from lowdim_course import claims, data, experiments, results, runtime, sparse
from lowdim_course.sparse import phase_transition, proximal

f64 = torch.float64


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny matrices: one torch thread is faster, and immune to a loaded machine (see
    runtime.torch_threads)."""
    with runtime.torch_threads(1):
        yield


def lasso_problem(m=30, n=50, k=5, batch=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(m, n, generator=g, dtype=f64) / math.sqrt(m)
    x0 = sparse.sparse_codes(batch, n, k / n, g)
    y = x0 @ A.T + 0.05 * torch.randn(batch, m, generator=g, dtype=f64)
    return A, y


# --- soft thresholding, ISTA, FISTA -----------------------------------------------------------


def test_soft_threshold_matches_closed_form():
    x = torch.linspace(-3, 3, 601, dtype=f64)
    for tau in (0.0, 0.5, 1.7):
        expected = np.sign(x.numpy()) * np.maximum(np.abs(x.numpy()) - tau, 0)
        np.testing.assert_allclose(sparse.soft_threshold(x, tau).numpy(), expected, atol=1e-15)
        np.testing.assert_allclose(
            sparse.soft_threshold(x, tau, nonnegative=True).numpy(),
            np.maximum(x.numpy() - tau, 0),
            atol=1e-15,
        )


@pytest.mark.parametrize("method", ["ista", "fista"])
@pytest.mark.parametrize("backtracking", [False, True])
def test_lasso_solvers_match_sklearn(method, backtracking):
    """scikit-learn minimises 1/(2m)||y - Ax||^2 + alpha||x||_1: the same x* with alpha = lam/m.
    Tolerance: 1e-6 on every coordinate (both converge linearly on these problems)."""
    A, y = lasso_problem()
    m = A.shape[0]
    lam = 0.1
    solver = getattr(sparse, method)
    x, objectives = solver(A, y, lam, 2000, backtracking=backtracking)
    assert x.shape == (3, 50) and objectives.shape == (3, 2000)
    for b in range(3):
        ref = Lasso(alpha=lam / m, fit_intercept=False, tol=1e-14, max_iter=1_000_000)
        ref.fit(A.numpy(), y[b].numpy())
        np.testing.assert_allclose(x[b].numpy(), ref.coef_, atol=1e-6)
        ref_objective = sparse.lasso_objective(A, y[b], torch.as_tensor(ref.coef_), lam)
        assert objectives[b, -1] <= ref_objective + 1e-10


def test_single_problem_and_per_problem_lambda():
    A, y = lasso_problem()
    lam = torch.tensor([0.05, 0.1, 0.2], dtype=f64)
    x_batch, F_batch = sparse.fista(A, y, lam, 300)
    for b in range(3):
        x_one, F_one = sparse.fista(A, y[b], lam[b].item(), 300)
        assert x_one.shape == (50,) and F_one.shape == (300,)
        torch.testing.assert_close(x_one, x_batch[b])
        torch.testing.assert_close(F_one, F_batch[b])


def test_ista_is_monotone_and_both_obey_beck_teboulle_bounds():
    A, y = lasso_problem(seed=1)
    lam = 0.05
    L = sparse.lipschitz_constant(A)
    x_star, F_star = sparse.lasso_optimum(A, y, lam, 3000)
    k = torch.arange(1, 301)
    dist2 = (x_star**2).sum(1)
    _, F_ista = sparse.ista(A, y, lam, 300)
    _, F_fista = sparse.fista(A, y, lam, 300)
    assert (F_ista[:, 1:] <= F_ista[:, :-1] + 1e-12).all()  # ISTA is a descent method
    assert (F_ista - F_star[:, None] <= sparse.ista_bound(k, L, dist2) + 1e-12).all()
    assert (F_fista - F_star[:, None] <= sparse.fista_bound(k, L, dist2) + 1e-12).all()
    torch.testing.assert_close(sparse.ista_bound(torch.tensor([4]), 2.0, torch.tensor(3.0)),
                               torch.tensor([0.75], dtype=f64))  # fmt: skip
    torch.testing.assert_close(sparse.fista_bound(torch.tensor([4]), 2.0, torch.tensor(3.0)),
                               torch.tensor([12 / 25], dtype=f64))  # fmt: skip


def test_solver_options_are_keyword_only():
    """Everything after `iters` is named at the call (step, backtracking, nonnegative, eta,
    callback), so a positional list cannot put a value in the wrong slot."""
    A, y = lasso_problem()
    for solver in (sparse.ista, sparse.fista):
        with pytest.raises(TypeError):
            solver(A, y, 0.1, 10, None, True)
        solver(A, y, 0.1, 10, step=None, backtracking=True)


def test_nonnegative_lasso_kkt():
    """KKT of min F(x) s.t. x >= 0: g = A^T(Ax - y) + lam >= 0, and g = 0 where x > 0."""
    A, y = lasso_problem(seed=2)
    x, _ = sparse.fista(A, y, 0.1, 5000, nonnegative=True)
    grad = (x @ A.T - y) @ A + 0.1
    assert (x >= 0).all() and (grad > -1e-8).all()
    assert grad[x > 1e-10].abs().max() < 1e-8


# --- basis pursuit and the phase transition --------------------------------------------------


def test_basis_pursuit_recovers_sparse_vector():
    rng = np.random.default_rng(0)
    n, m, k = 80, 40, 6
    A = rng.standard_normal((m, n)) / math.sqrt(m)
    x0 = np.zeros(n)
    x0[rng.choice(n, k, replace=False)] = rng.standard_normal(k)
    x = sparse.basis_pursuit(A, A @ x0)
    assert np.linalg.norm(x - x0) / np.linalg.norm(x0) < 1e-8


def test_basis_pursuit_trial_draws_and_judges_one_problem():
    """The one recovery trial (the phase transition and the notebook's widgets call it): A, x0
    drawn from the generator in the documented order, and `recovered` from the relative error."""
    n, m, k = 60, 30, 4
    trial = sparse.basis_pursuit_trial(n, m, k, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    A = rng.standard_normal((m, n)) / math.sqrt(m)
    x0 = np.zeros(n)
    support = rng.choice(n, size=k, replace=False)  # before the values (not `x0[...] = ...`,
    x0[support] = rng.choice([-1.0, 1.0], k)  # which draws its right-hand side first)
    np.testing.assert_array_equal(trial["A"], A)
    np.testing.assert_array_equal(trial["x0"], x0)
    error = np.linalg.norm(trial["x"] - x0) / np.linalg.norm(x0)
    assert trial["relative_error"] == pytest.approx(error) and trial["recovered"] == (error < 1e-5)
    assert trial["recovered"]  # k = 4 of m = 30 lies far below the weak threshold
    hard = sparse.basis_pursuit_trial(n, m, 25, np.random.default_rng(5), signs="gaussian")
    assert hard["x0"].nonzero()[0].size == 25 and not hard["recovered"]
    with pytest.raises(ValueError):
        sparse.basis_pursuit_trial(n, m, k, np.random.default_rng(5), signs="uniform")


def test_gaussian_tail_closed_form_against_monte_carlo():
    g = np.abs(np.random.default_rng(0).standard_normal(2_000_000))
    for tau in (0.0, 0.7, 1.5, 2.5):
        mc = np.mean(np.maximum(g - tau, 0) ** 2)
        assert abs(phase_transition._gaussian_tail_square(tau) - mc) < 4e-3 * max(mc, 0.05)


def test_psi_is_the_infimum_and_matches_finite_n_monte_carlo():
    taus = np.linspace(0, 6, 6001)
    for s in (0.05, 0.2, 0.5, 0.8):
        brute = np.min(s * (1 + taus**2) + (1 - s) * phase_transition._gaussian_tail_square(taus))
        assert abs(sparse.l1_statistical_dimension(s) - brute) < 1e-6
    # Finite n: E min_tau dist^2(g, tau * subdifferential of ||.||_1 at x) over n, for x with k
    # positive entries, lies within a few percent of psi(k/n) (ALMT 2014: error O(1/sqrt(n))).
    n, k = 400, 40
    g = np.random.default_rng(1).standard_normal((1000, n))
    on, off = g[:, :k, None], np.abs(g[:, k:, None])
    dist2 = ((on - taus[::50]) ** 2).sum(1) + (np.maximum(off - taus[::50], 0) ** 2).sum(1)
    mc = dist2.min(1).mean() / n
    psi = sparse.l1_statistical_dimension(k / n)
    assert mc <= psi + 1e-3 and mc > psi - 0.03


def test_psi_limits():
    assert sparse.l1_statistical_dimension(0.0) == 0.0
    assert sparse.l1_statistical_dimension(1.0) == 1.0
    assert sparse.l1_statistical_dimension(1e-8) < 1e-6
    assert sparse.l1_statistical_dimension(1 - 1e-6) > 1 - 1e-6
    s = np.linspace(0.01, 0.99, 50)
    assert np.all(np.diff([sparse.l1_statistical_dimension(v) for v in s]) > 0)


def test_weak_threshold_monotone_bounded_with_limits():
    deltas = np.linspace(0.01, 0.99, 99)
    rho = sparse.weak_threshold(deltas)
    assert np.all((rho > 0) & (rho < 1)) and np.all(np.diff(rho) > 0)
    assert sparse.weak_threshold(0.9999) > 0.98
    # delta -> 0: rho ~ 1 / (2 log(1/delta)) (Donoho & Tanner), so it tends to 0, slowly.
    small = sparse.weak_threshold(1e-10)
    assert small < 0.03 and 0.9 < small * 2 * math.log(1e10) < 1.3  # log corrections: slow
    # Donoho-Tanner's published value for the symmetric l1 weak threshold at delta = 1/2.
    assert abs(sparse.weak_threshold(0.5) - 0.385) < 0.005
    with pytest.raises(ValueError):
        sparse.weak_threshold(1.0)


def test_fifty_percent_crossing_interpolates():
    rhos = [0.1, 0.2, 0.3, 0.4]
    probability = np.array([[1.0, 1.0, 1.0], [1.0, 0.8, 1.0], [0.0, 0.2, 1.0], [0.0, 0.0, 0.9]])
    np.testing.assert_allclose(sparse.fifty_percent_rho(probability, rhos), [0.25, 0.25, 0.4])


def test_phase_transition_small_grid_independent_of_workers():
    args = (40, (0.5,), (0.1, 0.9), 4)
    grid = sparse.l1_phase_transition(*args, seed=3, workers=1)
    assert grid.shape == (2, 1) and grid[0, 0] == 1.0 and grid[1, 0] == 0.0
    np.testing.assert_array_equal(grid, sparse.l1_phase_transition(*args, seed=3, workers=2))


# --- matrix completion ------------------------------------------------------------------------


def test_singular_value_threshold():
    Z = torch.randn(8, 5, generator=torch.Generator().manual_seed(0), dtype=f64)
    out, rank = sparse.singular_value_threshold(Z, 1.0)
    U, s, Vh = np.linalg.svd(Z.numpy(), full_matrices=False)
    np.testing.assert_allclose(out.numpy(), (U * np.maximum(s - 1, 0)) @ Vh, atol=1e-12)
    assert rank == int((s > 1).sum())


def test_completion_small_case_both_methods():
    g = torch.Generator().manual_seed(0)
    M, mask = data.completion_problem(40, 30, 2, 0.6, g)
    X, history = sparse.nuclear_norm_complete(M * mask, mask, 500, reference=M)
    assert sparse.relative_error(X, M) < 1e-8 and history["rank"][-1] == 2
    Xf, hist_f = sparse.burer_monteiro_complete(M * mask, mask, 2, 1500, generator=g, reference=M)
    assert hist_f["error"][-1] < 1e-8
    assert torch.isfinite(Xf).all()


def test_nuclear_norm_complete_solves_the_constrained_problem():
    """Where recovery fails (rank 3, 25% of a 30 x 30 matrix), the result still solves
    min ||X||_* s.t. X = M on the mask: it is feasible, its nuclear norm is at most M's (M is
    feasible), and no feasible direction (supported off the mask) lowers it."""
    g = torch.Generator().manual_seed(0)
    M, mask = data.completion_problem(30, 30, 3, 0.25, g)
    X, _ = sparse.nuclear_norm_complete(M * mask, mask, 1500)
    assert ((X - M) * mask).norm() < 1e-8 * (M * mask).norm()
    nuclear = torch.linalg.matrix_norm(X, "nuc")
    assert sparse.relative_error(X, M) > 0.1  # a genuine failure of the convex program
    assert nuclear < torch.linalg.matrix_norm(M, "nuc")
    for _ in range(20):
        D = torch.randn(30, 30, generator=g, dtype=f64) * ~mask
        D = 1e-4 * D / D.norm()
        assert torch.linalg.matrix_norm(X + D, "nuc") >= nuclear - 1e-8


# --- dictionary learning ----------------------------------------------------------------------


def test_logcosh_is_stable_mu_log_cosh():
    z = torch.linspace(-2, 2, 401, dtype=f64)
    mu = 0.3
    torch.testing.assert_close(sparse.logcosh(z, mu), mu * torch.log(torch.cosh(z / mu)))
    assert torch.isfinite(sparse.logcosh(torch.tensor([1e4], dtype=f64), 1e-3)).all()


def test_dictionary_learning_finds_every_column():
    g = torch.Generator().manual_seed(0)
    A, X, Y = sparse.orthogonal_dictionary_problem(4, 2000, 0.25, g)
    torch.testing.assert_close(A.T @ A, torch.eye(4, dtype=f64))
    Q = sparse.riemannian_gradient_descent(Y, 24, iters=200, generator=g)
    torch.testing.assert_close(Q.norm(dim=1), torch.ones(24, dtype=f64))
    matched = sparse.match_columns(Q, A)
    assert matched["n_found"] == 4 and matched["column_overlap"].min() > 0.999


def test_sphere_landscape_shape_and_minima_near_columns():
    g = torch.Generator().manual_seed(1)
    A, _, Y = sparse.orthogonal_dictionary_problem(3, 1500, 0.25, g)
    land = sparse.sphere_landscape(Y, resolution=40)
    assert land["values"].shape == (40, 80)
    # the objective at ±a_j is below the grid's median value
    at_columns = sparse.sphere_objective(torch.cat([A.T, -A.T]), Y, 0.05)
    assert (at_columns < land["values"].median()).all()
    back = sparse.to_azimuth_elevation(A.T)
    q = torch.stack([back[:, 1].cos() * back[:, 0].cos(), back[:, 1].cos() * back[:, 0].sin(),
                     back[:, 1].sin()], -1)  # fmt: skip
    torch.testing.assert_close(q, A.T)


# --- unrolled ISTA ----------------------------------------------------------------------------


@pytest.mark.parametrize("nonnegative", [False, True])
@pytest.mark.parametrize("tied", [False, True])
def test_unrolled_ista_equals_ista(nonnegative, tied):
    A, y = lasso_problem(batch=16)
    net = sparse.UnrolledISTA(A, 0.1, 12, tied=tied, nonnegative=nonnegative)
    x_ista, _ = sparse.ista(A, y, 0.1, 12, nonnegative=nonnegative)
    with torch.no_grad():
        iterates = net(y, return_all=True)
    assert len(iterates) == 12
    assert (iterates[-1] - x_ista).abs().max() < 1e-12
    x_5, _ = sparse.ista(A, y, 0.1, 5, nonnegative=nonnegative)
    assert (iterates[4] - x_5).abs().max() < 1e-12


def test_training_unrolled_lowers_its_error():
    A, y = lasso_problem(m=16, n=32, batch=512, seed=4)
    x_star, _ = sparse.fista(A, y, 0.05, 500)
    net = sparse.UnrolledISTA(A, 0.05, 4).float()
    before = sparse.nmse(net(y.float()).double(), x_star)
    g = torch.Generator().manual_seed(0)
    sparse.train_unrolled(net, y.float(), x_star.float(), 200, 64, 3e-3, g)
    with torch.no_grad():
        assert sparse.nmse(net(y.float()).double(), x_star) < 0.5 * before


# --- experiments: tiny configurations run, return the documented keys, and plot ---------------

TINY = {
    "sparse_rates": {"m": 40, "n": 80, "sparsity": 4, "problems": 6, "iters": 800,
                     "optimum_iters": 4000, "correlation": 0.5},
    "sparse_phase_transition": {"n": 30, "deltas": (0.3, 0.6), "rhos": (0.1, 0.5, 0.9),
                                "trials": 2},
    "sparse_matrix_completion": {"n": 30, "rank": 2, "rates": (0.1, 0.3, 0.6), "trials": 1,
                                 "check_rate": 0.6, "admm_iters": 100, "bm_iters": 400},
    "sparse_dictionary_learning": {"n": 4, "p": 500, "starts": 32, "iters": 50,
                                   "rounding_samples": 500, "landscape_p": 300,
                                   "landscape_starts": 4, "resolution": 12},
    "sparse_unrolled": {"m": 8, "n": 16, "layers": (2,), "train_size": 200, "test_size": 50,
                        "steps": 20, "target_iters": 100, "ista_iters": 30},
}  # fmt: skip
# Rates: 800 iterations, long enough for ISTA's linear phase. Completion: 10% of the entries
# (fewer samples than degrees of freedom) for the failures, 30% where Burer-Monteiro already
# succeeds and the nuclear norm does not. Dictionary learning: 32 starts, enough that the tiny
# run finds every column of n = 4.


@functools.cache
def tiny_result(name):
    """The live result of the tiny run, shared by the plot test and the claim tests."""
    run, Config, _, _ = sparse.EXPERIMENTS[name]
    with runtime.torch_threads(1):
        return run(replace(Config.quick(), **TINY[name]), device="cpu", seed=0)


@pytest.mark.parametrize("name", list(sparse.EXPERIMENTS))
def test_experiment_runs_and_plots(name):
    run, Config, figures, summary = sparse.EXPERIMENTS[name]
    assert isinstance(summary, str) and figures
    for profile in (Config.quick(), Config.full()):
        assert isinstance(profile, Config)
    result = tiny_result(name)
    assert isinstance(result, dict)
    for plot in figures.values():
        fig = plot(result)
        for ax in fig.axes:
            if ax.get_label() != "<colorbar>":
                assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
        plt.close(fig)


def test_torch_threads_restores_setting():
    before = torch.get_num_threads()
    with runtime.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


# --- claims: each experiment's check on a tiny run (live and as JSON) and on doctored results --


def unrolled_by_hand():
    """A result with the keys of `run_unrolled`: the tiny run trains too briefly to beat ISTA."""
    ista_error = [0.9 * 0.95**k for k in range(40)]
    return {
        "layers": (2,),
        "ista_error": ista_error,
        "fista_error": [0.9 * 0.9**k for k in range(40)],
        "lista": {
            "2": {
                "error": ista_error[9],
                "ista_error_same_depth": ista_error[1],
                "fista_error_same_depth": 0.9 * 0.9,
                "ista_iterations_to_match": 10,
                "fista_iterations_to_match": 5,
                "final_train_loss": 0.3,
            }
        },
        "unrolled_equals_ista_max_abs_diff": 2e-15,
    }


def claim_result(name):
    return unrolled_by_hand() if name == "sparse_unrolled" else tiny_result(name)


def test_every_experiment_has_a_check():
    assert set(sparse.CHECKS) == set(sparse.EXPERIMENTS)
    for name, check in sparse.CHECKS.items():
        assert experiments.get(name).check is check


@pytest.mark.parametrize("name", list(sparse.EXPERIMENTS))
def test_check_holds_on_tiny_result_live_and_as_json(name):
    check = sparse.CHECKS[name]
    live = claim_result(name)
    lines = check(live, "quick")
    assert lines and all(line.startswith("held: ") for line in lines)
    assert check(results.to_jsonable(live), "quick") == lines


def _set(path, value):
    def edit(result):
        *outer, last = path
        for key in outer:
            result = result[key]
        result[last] = value

    return edit


def _above_bound(result):
    gaps, bounds = result["gaps"]["fista"], result["bounds"]["fista"]
    gaps[0][5] = 2 * bounds[0][5]


def _no_acceleration(result):
    """FISTA's gap twice ISTA's at one late iteration, still far below FISTA's bound."""
    ista, fista, bound = (result[key][name][0] for key, name in
                          (("gaps", "ista"), ("gaps", "fista"), ("bounds", "fista")))  # fmt: skip
    late = [j for j in range(len(ista)) if 1e-8 < ista[j] and 4 * ista[j] < bound[j]]
    fista[late[-1]] = 2 * ista[late[-1]]


def _ista_accelerated(result):
    """ISTA's gap cut to 0.9 of FISTA's bound wherever it exceeded it."""
    bounds = result["bounds"]["fista"]
    result["gaps"]["ista"] = [[min(g, 0.9 * b) for g, b in zip(row, bound)]
                              for row, bound in zip(result["gaps"]["ista"], bounds)]  # fmt: skip


def _half_rate(result):
    tail = result["ista_tail_log_rate"]
    tail["measured"] = [0.5 * v for v in tail["predicted"]]


def _nuclear_no_worse(result):
    result["nuclear_error"] = copy.deepcopy(result["burer_monteiro_error"])


def _unbiased(result):
    result["bias"] = [1e-12 for _ in result["bias"]]


def _off_theory(result):
    result["empirical_rho50"][0] = result["theory_rho"][0] + 0.1


DOCTORED = {
    "rates_fista_above_bound": (
        "sparse_rates",
        _above_bound,
        "the FISTA gap F(x_k) - F* stays below its Beck-Teboulle bound",
    ),
    "rates_no_acceleration": (
        "sparse_rates",
        _no_acceleration,
        "FISTA accelerates",
    ),
    "rates_ista_accelerated": (
        "sparse_rates",
        _ista_accelerated,
        "ISTA is not accelerated",
    ),
    "rates_tail_half_as_fast": (
        "sparse_rates",
        _half_rate,
        "ISTA ends linear at the rate its step predicts",
    ),
    "phase_contour_off_theory": (
        "sparse_phase_transition",
        _off_theory,
        "within 0.08 of the weak threshold",
    ),
    "completion_not_exact": (
        "sparse_matrix_completion",
        _set(("check", "nuclear_error"), 0.02),
        "relative error below 1e-03 in every trial",
    ),
    "completion_recovered_below_dof": (
        "sparse_matrix_completion",
        _set(("nuclear_error", 0, 0), 1e-9),
        "nuclear norm completion has a threshold",
    ),
    "completion_bm_fails_above_threshold": (
        "sparse_matrix_completion",
        _set(("burer_monteiro_error", 2, 0), 0.5),
        "Burer-Monteiro completion has a threshold",
    ),
    "completion_no_bm_advantage": (
        "sparse_matrix_completion",
        _nuclear_no_worse,
        "Burer-Monteiro (rank known) needs fewer samples than the nuclear norm",
    ),
    "dictionary_unbiased": (
        "sparse_dictionary_learning",
        _unbiased,
        "the minimisers of the smoothed objective are biased",
    ),
    "dictionary_rounding_inexact": (
        "sparse_dictionary_learning",
        _set(("rounded_error", 0), 1e-4),
        "the LP rounding",
    ),
    "dictionary_column_missed": (
        "sparse_dictionary_learning",
        _set(("n_found",), 3),
        "find all 4 columns",
    ),
    "dictionary_column_loose": (
        "sparse_dictionary_learning",
        _set(("column_overlap", 0), 0.9),
        "every column is found with |<q, a_j>| > 0.99",
    ),
    "unrolled_differs_from_ista": (
        "sparse_unrolled",
        _set(("unrolled_equals_ista_max_abs_diff",), 1e-3),
        "unrolled ISTA with ISTA's own weights equals ISTA",
    ),
    "lista_worth_few_iterations": (
        "sparse_unrolled",
        _set(("lista", "2", "ista_iterations_to_match"), 7),
        "ISTA needs at least 8 iterations",
    ),
}


@pytest.mark.parametrize("case", list(DOCTORED))
def test_check_fails_on_doctored_result(case):
    name, edit, expected = DOCTORED[case]
    doctored = copy.deepcopy(results.to_jsonable(claim_result(name)))
    edit(doctored)
    for profile in claims.PROFILES:
        with pytest.raises(claims.ClaimFailed, match=f"expected .*{re.escape(expected)}"):
            sparse.CHECKS[name](doctored, profile)


@pytest.mark.parametrize("step_factor", [0.5, 2.0])
def test_rates_check_fails_with_a_step_off_by_two(monkeypatch, step_factor):
    """The solvers' step 1/L, replaced by 1/(2L) or 2/L (the bounds and the prediction keep
    the true L): the check must fail, though a step 1/(2L) keeps every gap below its bound."""
    true_L = proximal.lipschitz_constant
    monkeypatch.setattr(proximal, "lipschitz_constant", lambda A: true_L(A) / step_factor)
    config = replace(sparse.RatesConfig.quick(), **TINY["sparse_rates"])
    with runtime.torch_threads(1):
        result = sparse.run_rates(config, device="cpu", seed=0)
    if step_factor < 1:
        assert all(result["below_bound"].values())  # the bounds alone would not catch it
    with pytest.raises(claims.ClaimFailed):
        sparse.check_rates(result, "quick")


def test_lp_rounding_removes_the_smoothing_bias():
    """Gradient descent on the smoothed objective stops about mu sqrt((n - 1)/p) / (1 - theta)
    from a column (finite-p bias, larger for larger mu); the LP rounding lands on it."""
    g = torch.Generator().manual_seed(0)
    n, p, theta = 5, 2000, 0.2
    A, _, Y = sparse.orthogonal_dictionary_problem(n, p, theta, g)
    distances = {}
    for mu in (0.1, 0.05):
        Q = sparse.riemannian_gradient_descent(Y, 30, mu=mu, iters=400, generator=g)
        j = int((Q @ A).abs().max(0).values.argmax())  # a column some start found
        q = Q[(Q @ A[:, j]).abs().argmax()]
        distances[mu] = sparse.column_distance(q, A[:, j])
        predicted = sparse.smoothing_bias(n, p, theta, mu)
        assert 0.3 * predicted < distances[mu] < 3 * predicted
        rounded = sparse.lp_rounding(Y, q)
        assert sparse.column_distance(rounded, A[:, j]) < 1e-10
        torch.testing.assert_close(rounded.norm(), torch.tensor(1.0, dtype=f64))
    assert distances[0.05] < distances[0.1]
