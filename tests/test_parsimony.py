"""Lecture 4 (lowdim_course/parsimony/) against identities and independent computations:
orthogonal initialisation, the DLN and its gradients, D_l, the invariant subspace, compressed
updates."""

import copy
import json
import re
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from lowdim_course import claims, data, models, results
from lowdim_course import parsimony as ps
from lowdim_course.train import TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("rows,cols", [(6, 6), (9, 4), (3, 7)])
def test_orthogonal_init_satisfies_its_identity(rows, cols):
    w = ps.orthogonal_matrix(rows, cols, 0.3, torch.Generator().manual_seed(0))
    gram = w.T @ w if rows >= cols else w @ w.T
    torch.testing.assert_close(gram, 0.09 * torch.eye(min(rows, cols), dtype=torch.float64))
    weights = ps.orthogonal_init([5, 8, 8, 3], 0.1, torch.Generator().manual_seed(1))
    assert [tuple(w.shape) for w in weights] == [(8, 5), (8, 8), (3, 8)]
    for s in ps.layer_spectra(weights):
        torch.testing.assert_close(s, torch.full_like(s, 0.1))


def test_dln_forward_is_the_product_and_gradients_match_autograd():
    g = torch.Generator().manual_seed(2)
    weights = [
        torch.randn(a, b, generator=g, dtype=torch.float64) for a, b in [(6, 4), (5, 6), (3, 5)]
    ]
    x = torch.randn(4, 7, generator=g, dtype=torch.float64)
    y = torch.randn(3, 7, generator=g, dtype=torch.float64)
    torch.testing.assert_close(ps.end_to_end(weights), weights[2] @ weights[1] @ weights[0])
    grads, z, _ = ps.dln_gradients(weights, x, lambda z: z - y)
    torch.testing.assert_close(z, weights[2] @ weights[1] @ weights[0] @ x)
    params = [w.clone().requires_grad_(True) for w in weights]
    loss = 0.5 * ((params[2] @ params[1] @ params[0] @ x - y) ** 2).sum()
    for ours, theirs in zip(grads, torch.autograd.grad(loss, params)):
        torch.testing.assert_close(ours, theirs)


def test_separation_by_layer_against_numpy():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(6, 12, generator=g, dtype=torch.float64)  # one sample per column
    labels = torch.arange(12) % 3
    weights = [torch.randn(6, 6, generator=g, dtype=torch.float64) for _ in range(3)]

    def numpy_d(z):
        z, y = z.T.numpy(), labels.numpy()
        means = np.stack([z[y == k].mean(0) for k in range(3)])
        within = ((z - means[y]) ** 2).sum(1).mean()
        between = ((means - means.mean(0)) ** 2).sum(1).mean()
        return within / between

    expected = [numpy_d(x), numpy_d(weights[0] @ x), numpy_d(weights[1] @ weights[0] @ x)]
    np.testing.assert_allclose(ps.separation_by_layer(weights, x, labels, 3), expected, rtol=1e-12)


def test_log_linear_fit_and_bound():
    fit = ps.log_linear_fit([8.0, 4.0, 2.0, 1.0])
    assert fit["ratio"] == pytest.approx(0.5) and fit["r2"] == pytest.approx(1.0)
    assert ps.separation_bound(0.3, 4) == pytest.approx(2 * 3 * 0.09)
    np.testing.assert_allclose(ps.layer_ratios([8.0, 4.0, 1.0]), [0.5, 0.25])


def test_predicted_ratio_range_and_input_dim():
    """D_0 of d = N orthogonal samples of K classes is (d - K) / (K - 1), so d can be read off
    it; the predicted per-layer range is eps^2 (1 - K / (d - K)) to eps^2."""
    for dim, classes in [(30, 3), (100, 5), (9, 3)]:
        x, labels, _ = ps.orthogonal_classification_data(dim, classes, torch.Generator())
        d0 = ps.separation_by_layer([torch.eye(dim, dtype=torch.float64)], x, labels, classes)[0]
        assert d0 == pytest.approx((dim - classes) / (classes - 1))
        assert ps.input_dim(d0, classes) == dim
    low, high = ps.separation_ratio_range(0.5, 30, 3)
    assert high == 0.25 and low == pytest.approx(0.25 * 24 / 27)


def test_ratio_range_on_an_ideal_parsimonious_network():
    """A hand-built network with the structure the law of parsimony gives: W_1 has singular
    value 1 on the K class directions, eps on d - 2K resting directions and c eps (c <= 1) on K
    further within-class directions, and W_l = W_1 for l >= 2 (balanced). Its ratios lie in
    `separation_ratio_range`: at its top for c = 1 (every within-class direction shrinks by eps
    per layer); for c = 0 the K extra directions vanish in the first layer, whose ratio is the
    bottom, eps^2 (d - 2K) / (d - K), and every later ratio is eps^2 again."""
    dim, classes, eps = 12, 3, 0.3
    x, labels, _ = ps.orthogonal_classification_data(dim, classes, torch.Generator().manual_seed(0))
    means = torch.stack([x[:, labels == k].mean(1) for k in range(classes)], 1)
    q, _ = torch.linalg.qr(torch.cat([means, torch.randn(dim, dim, dtype=torch.float64)], 1))
    low, high = ps.separation_ratio_range(eps, dim, classes)
    for c in [1.0, 0.5, 0.0]:
        s = torch.full((dim,), eps, dtype=torch.float64)
        s[:classes], s[classes : 2 * classes] = 1.0, c * eps
        w = q @ torch.diag(s) @ q.T
        ratios = ps.layer_ratios(ps.separation_by_layer([w] * 4, x, labels, classes))
        assert ((ratios >= low * (1 - 1e-12)) & (ratios <= high * (1 + 1e-12))).all()
        if c == 1.0:
            np.testing.assert_allclose(ratios, high, rtol=1e-10)
        if c == 0.0:
            np.testing.assert_allclose(ratios, [low, high, high], rtol=1e-10)


def test_invariant_subspace_on_a_tiny_run():
    """d = 10, rank 1, depth 3: exactly 2 singular values per layer move; the rest stay at eps."""
    g = torch.Generator().manual_seed(4)
    target = ps.low_rank_target(10, 1, g)
    start = ps.orthogonal_init([10] * 4, 3e-3, g)
    eye = torch.eye(10, dtype=torch.float64)
    trained, losses, snapshots = ps.train_dln(
        start, eye, target, 2000, 0.5, record_every=100, snapshot_every=400
    )
    assert losses[-1][1] < 1e-10 < losses[0][1]
    report = ps.invariant_subspace(start, trained, 1, 3e-3, [w for _, w in snapshots[1:]])
    assert max(report["untouched"]) < 1e-6
    assert min(report["moved"]) > 1e-3
    assert max(report["rank_gap"]) < 1e-6 and max(report["leak"]) < 1e-5
    # A random change of full rank is caught by the same measurements.
    noisy = [w + 1e-3 * torch.randn(10, 10, generator=g, dtype=torch.float64) for w in trained]
    assert max(ps.invariant_subspace(start, noisy, 1, 3e-3)["untouched"]) > 1e-2


def test_train_dln_weight_decay_and_mask():
    g = torch.Generator().manual_seed(5)
    start = ps.orthogonal_init([4, 4, 4], 0.5, g)
    eye = torch.eye(4, dtype=torch.float64)
    zero = torch.zeros(4, 4, dtype=torch.float64)
    # With a zero target and weight decay, the weights shrink.
    trained, _, _ = ps.train_dln(start, eye, zero, 50, 0.1, weight_decay=0.5)
    assert all(t.norm() < s.norm() for t, s in zip(trained, start))
    # An all-zero mask gives no gradient: only weight decay (here none) would move the weights.
    same, _, _ = ps.train_dln(start, eye, zero, 10, 0.1, mask=zero)
    for a, b in zip(same, start):
        torch.testing.assert_close(a, b)


def test_compressed_and_full_first_steps():
    """The end-to-end change per unit step, (W(1) - W(0)) / eta, after one GD step of size eta,
    of the full network (eps Q_l initialisation, Q_l orthogonal d x d) and of the compressed one
    (W~_l = eps I, U and V from `spectral_factors`). To first order in eta:

        full:        -L eps^{2(L-1)} G,                 G = Omega o (W_{L:1}(0) - Phi),
        compressed:  -L eps^{2(L-1)} U U^T G~ V V^T - gamma eps^{2L} (G~ V V^T + U U^T G~),

    G~ the compressed network's residual (every partial product of the full network is eps^k
    times an orthogonal matrix; the compressed inner product is eps^L I). So inside the
    subspace, U^T (change) V, the compressed network moves like the full one times
    1 + 2 gamma eps^2 / L when the residuals agree: the outer factors add the terms of two extra
    layers of scale 1. Checked to second order in eta."""
    g = torch.Generator().manual_seed(6)
    m, mask = data.completion_problem(30, 30, 2, 0.5, g)
    phi, mask = m / torch.linalg.matrix_norm(m, 2), mask.double()
    depth, eps, gamma, width, eta = 3, 0.3, 1.0, 8, 1e-7
    full = ps.orthogonal_init([30] * (depth + 1), eps, g)
    eye = torch.eye(30, dtype=torch.float64)
    grads, full_start, _ = ps.dln_gradients(full, eye, lambda z: mask * (z - phi))
    stepped = ps.end_to_end([w - eta * dw for w, dw in zip(full, grads)])
    full_change = (stepped - full_start) / eta
    u, v = ps.spectral_factors(phi, mask, width)
    inner = [eps * torch.eye(width, dtype=torch.float64) for _ in range(depth)]
    u1, v1, inner1, compressed_start = ps.compressed_step(u, v, inner, phi, mask, eta, gamma)
    compressed_change = (u1 @ ps.end_to_end(inner1) @ v1.T - compressed_start) / eta
    c = depth * eps ** (2 * (depth - 1))
    full_pred = -c * mask * (full_start - phi)
    torch.testing.assert_close(full_change, full_pred, rtol=1e-5, atol=1e-7)
    gt = mask * (compressed_start - phi)
    comp_pred = -c * u @ u.T @ gt @ v @ v.T - gamma * eps ** (2 * depth) * (
        gt @ v @ v.T + u @ u.T @ gt
    )
    torch.testing.assert_close(compressed_change, comp_pred, rtol=1e-5, atol=1e-7)


def test_compressed_network_with_exact_subspace_solves_factorisation():
    """With Omega = all ones the spectral factors span Phi's singular subspaces, and the
    compressed network converges to Phi even with frozen outer factors (gamma = 0)."""
    g = torch.Generator().manual_seed(7)
    phi = ps.low_rank_target(20, 2, g)
    mask = torch.ones(20, 20, dtype=torch.float64)
    history = ps.complete_compressed(
        phi, mask, depth=3, width=4, eps=0.01, lr=0.5, gamma=0.0, steps=1500, record_every=500
    )
    assert history[-1][2] < 1e-5  # the floor: eps^3 left in the two unused directions


def test_parameter_counts():
    assert ps.parameter_counts(100, 3, 20) == {"full": 30000, "compressed": 5200, "narrow": 4400}


TINY = {
    "parsimony_invariant_subspace": {"dim": 8, "rank": 1, "steps": 300, "snapshot_every": 100},
    "parsimony_progressive_separation": {"dim": 9, "depth": 3, "eps_values": (0.5,),
                                         "steps": 200},
    "parsimony_separation_mlp": {"depth": 2, "width": 16, "train": TrainConfig(epochs=2)},
    "parsimony_deep_completion": {"dim": 20, "rank": 2, "rank_estimate": 3, "steps": 50},
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_result():
    """Each experiment's result on its TINY config, run once per module."""
    cache = {}

    def get(name):
        if name not in cache:
            run, Config, _, _ = ps.EXPERIMENTS[name]
            config = replace(Config.quick(), **TINY[name])
            cache[name] = run(config, device="cpu", seed=0, progress=False)
        return cache[name]

    return get


@pytest.mark.parametrize("name", list(ps.EXPERIMENTS))
def test_experiment_runs_and_plots(name, tiny_result):
    run, Config, figures, summary = ps.EXPERIMENTS[name]
    assert isinstance(summary, str) and figures
    assert Config.quick() != Config.full()
    result = tiny_result(name)
    assert isinstance(result, dict)
    for plot in figures.values():
        fig = plot(result)
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
        plt.close(fig)


def test_every_experiment_has_a_check():
    assert set(ps.CHECKS) == set(ps.EXPERIMENTS)


def passes_live_and_as_json(check, result):
    """The check holds on the live result and on its results.json form, with the same lines."""
    for profile in ("quick", "full"):
        lines = check(result, profile)
        assert lines and all(line.startswith("held: ") for line in lines)
        assert check(results.to_jsonable(result), profile) == lines


def test_check_invariant_holds_on_a_small_run_and_fails_when_a_value_moves():
    """TINY's 300 steps do not fit the target; 1500 steps of the same network do (a second)."""
    config = replace(ps.InvariantConfig.quick(), **TINY["parsimony_invariant_subspace"])
    result = ps.run_invariant(replace(config, steps=1500), seed=0, progress=False)
    passes_live_and_as_json(ps.check_invariant, result)
    doctored = copy.deepcopy(results.to_jsonable(result))
    doctored["untouched"][1] = 1e-3
    with pytest.raises(claims.ClaimFailed, match=r"expected the d - 2r untouched .* 1e-6 of eps"):
        ps.check_invariant(doctored, "quick")
    doctored = copy.deepcopy(results.to_jsonable(result))
    doctored["leak"][0] = 1e-2
    with pytest.raises(claims.ClaimFailed, match=r"expected the learning subspace does not rotate"):
        ps.check_invariant(doctored, "full")


def test_check_separation_holds_on_the_tiny_run_and_fails_when_the_order_breaks(tiny_result):
    result = tiny_result("parsimony_progressive_separation")
    passes_live_and_as_json(ps.check_separation, result)
    stored = results.to_jsonable(result)
    doctored = copy.deepcopy(stored)
    doctored["dln"]["0.5"]["final_loss"] = 1e-3
    with pytest.raises(claims.ClaimFailed, match=r"expected eps = 0\.5: the DLN reaches a global"):
        ps.check_separation(doctored, "quick")
    # One layer's ratio above eps^2: outside the predicted range.
    doctored = copy.deepcopy(stored)
    d_l = doctored["dln"]["0.5"]["separation"]
    d_l[-1] = d_l[-2] * 0.25 * 1.05
    with pytest.raises(claims.ClaimFailed, match=r"expected eps = 0\.5: every layer's ratio"):
        ps.check_separation(doctored, "full")
    # A larger eps whose per-layer ratios are in its range but whose fitted ratio is below that
    # of eps = 0.5.
    doctored = copy.deepcopy(stored)
    larger = copy.deepcopy(stored["dln"]["0.5"])
    larger["separation"] = [larger["separation"][0] * (0.49 * 0.95) ** l for l in range(3)]
    larger["fit"]["ratio"] = stored["dln"]["0.5"]["fit"]["ratio"] / 2
    doctored["dln"]["0.7"] = larger
    with pytest.raises(claims.ClaimFailed, match=r"expected the larger eps, the slower the decay"):
        ps.check_separation(doctored, "full")


def test_check_separation_mlp_on_a_hand_built_result(tiny_result):
    """TINY's two epochs fit nothing, so the pass case is its result with the D_l profile and
    training accuracy of a network that shows the claims; the full profile adds R^2 > 0.9."""
    result = copy.deepcopy(tiny_result("parsimony_separation_mlp"))
    assert len(result["separation"]) == 3 and result["dataset"] == "digits"
    straight = [2.0, 0.5, 0.1, 0.02, 0.004]  # a constant ratio 0.2 across the hidden layers
    result.update(separation=straight, train_accuracy=1.0, fit=ps.log_linear_fit(straight[1:]))
    passes_live_and_as_json(ps.check_separation_mlp, result)
    # The quick network's profile: fast first layers, then slow; it holds only in quick.
    bent = [2.18, 0.686, 0.199, 0.124, 0.109, 0.0979, 0.0851]
    doctored = {**result, "separation": bent, "fit": ps.log_linear_fit(bent[1:])}
    assert len(ps.check_separation_mlp(doctored, "quick")) == 3
    with pytest.raises(claims.ClaimFailed, match=r"expected log D_l is linear .*R\^2 > 0\.9"):
        ps.check_separation_mlp(doctored, "full")
    risen = [2.0, 0.5, 0.6, 0.02, 0.004]
    doctored = {**result, "separation": risen, "fit": ps.log_linear_fit(risen[1:])}
    with pytest.raises(claims.ClaimFailed, match=r"expected every hidden layer separates"):
        ps.check_separation_mlp(doctored, "quick")
    with pytest.raises(claims.ClaimFailed, match=r"expected the MLP fits its training set"):
        ps.check_separation_mlp({**result, "train_accuracy": 0.9}, "quick")
    flat = [2.0, 1.5, 1.0, 0.8, 0.5]
    doctored = {**result, "separation": flat, "fit": ps.log_linear_fit(flat[1:])}
    with pytest.raises(claims.ClaimFailed, match=r"expected from the input .* more than 10x"):
        ps.check_separation_mlp(doctored, "quick")


def test_check_completion_on_a_hand_built_result(tiny_result):
    """TINY's 50 steps recover nothing (and at d = 20 the compressed network is not small), so
    the pass case is TINY's result with the final errors and the full network's settled error
    history of a run that shows the claims and the parameter counts of the quick config set by
    hand."""
    result = copy.deepcopy(tiny_result("parsimony_deep_completion"))
    result["parameters"] = ps.parameter_counts(100, 3, 20)
    result["final_error"] = {
        "full": 3e-5,
        "compressed": 5e-5,
        "compressed, gamma = 0": 0.5,
        "narrow": 6e-6,
        "full, depth 2": 3e-2,
    }
    steps = np.arange(0, 2001, 25.0)
    settled = np.where(steps < 1200, 1.0, 3e-5)  # (step, seconds, error) rows
    result["runs"]["full"] = np.stack([steps, steps / 1000, settled])
    passes_live_and_as_json(ps.check_completion, result)
    doctored = copy.deepcopy(results.to_jsonable(result))
    doctored["runs"]["full"][2] = list(np.geomspace(1.0, 3e-5, len(steps)))  # still falling
    with pytest.raises(claims.ClaimFailed, match=r"expected the full depth-3 network has conv"):
        ps.check_completion(doctored, "full")
    doctored = copy.deepcopy(results.to_jsonable(result))
    doctored["final_error"]["full, depth 2"] = 1e-3  # > 1e-2 fails, though 33x worse
    with pytest.raises(claims.ClaimFailed, match=r"expected at 27% observed, the full depth-2"):
        ps.check_completion(doctored, "quick")
    doctored["final_error"]["full, depth 2"] = 2e-2  # > 1e-2, but only 40x depth 3's 5e-4
    doctored["final_error"]["full"] = 5e-4
    doctored["final_error"]["compressed"] = 5e-4
    with pytest.raises(
        claims.ClaimFailed, match=r"more than 100x .*measured relative error 2\.0e-02, 40x"
    ):
        ps.check_completion(doctored, "quick")
    doctored["final_error"]["full"] = 2e-3
    with pytest.raises(claims.ClaimFailed, match=r"recovers the matrix \(relative error < 1e-3"):
        ps.check_completion(doctored, "quick")
    doctored = copy.deepcopy(results.to_jsonable(result))
    doctored["final_error"]["compressed"] = 1e-4
    with pytest.raises(claims.ClaimFailed, match=r"expected the compressed network reaches"):
        ps.check_completion(doctored, "full")


def sweep_result(**changes):
    """A depth sweep's result as `depth_sweep` returns it, with the numbers of the quick run
    rounded (rates 20%, 27%, 35%; depth-2 eps 1e-2 ... 1e-5; depth 3 from 1e-2)."""
    errors = {"0.2": [0.39, 0.21, 0.12, 0.08], "0.27": [0.16, 0.04, 0.013, 0.0048],
              "0.35": [0.062, 0.0097, 0.0024, 0.00062]}  # fmt: skip
    nuclear = {"0.2": [1.011, 0.9954, 0.9954, 0.9972], "0.27": [1.027, 1.0035, 1.0006, 1.00008],
               "0.35": [1.021, 1.0021, 1.0003, 1.00005]}  # fmt: skip
    result = {
        "rates": [0.2, 0.27, 0.35],
        "eps_depth2": [1e-2, 1e-3, 1e-4, 1e-5],
        "depth": 3,
        "eps": 1e-2,
        "depth2": {
            r: [
                {"error": e, "observed_residual": 1e-3, "nuclear_ratio": n}
                for e, n in zip(errors[r], nuclear[r])
            ]
            for r in errors
        },
        "deep": {
            r: {"error": e, "observed_residual": 1e-5, "nuclear_ratio": 1.00003}
            for r, e in {"0.2": 0.035, "0.27": 5.4e-5, "0.35": 2.6e-5}.items()
        },
    }
    result.update(changes)
    return result


def test_depth_sweep_runs_and_plots():
    config = replace(ps.CompletionConfig.quick(), **TINY["parsimony_deep_completion"])
    result = ps.depth_sweep(config, rates=(0.3, 0.5), eps_depth2=(1e-2, 1e-3))
    assert list(result["depth2"]) == ["0.3", "0.5"] and len(result["depth2"]["0.5"]) == 2
    for fit in [*result["depth2"]["0.3"], result["deep"]["0.5"]]:
        assert set(fit) == {"error", "observed_residual", "nuclear_ratio"}
        assert fit["error"] > 0 and fit["nuclear_ratio"] > 0
    fig = ps.plot_depth_sweep(result)
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    plt.close(fig)


def test_completion_fit_of_an_exact_interpolant():
    """With every entry observed, depth 2 from a small start fits Phi: residual and error down
    to the eps^2 = 1e-6 its resting directions keep, nuclear norm ratio 1 to within that."""
    g = torch.Generator().manual_seed(9)
    phi = ps.low_rank_target(12, 2, g)
    mask = torch.ones(12, 12, dtype=torch.float64)
    fit = ps.completion_fit(phi, mask, depth=2, eps=1e-3, lr=0.5, steps=400, generator=g)
    assert fit["observed_residual"] < 1e-5 and fit["error"] < 1e-5
    assert fit["nuclear_ratio"] == pytest.approx(1.0, abs=1e-4)


def test_check_depth_sweep_on_a_hand_built_result():
    result = sweep_result()
    passes_live_and_as_json(ps.check_depth_sweep, result)
    doctored = copy.deepcopy(result)
    doctored["depth2"]["0.27"][2]["observed_residual"] = 0.05  # does not interpolate
    with pytest.raises(claims.ClaimFailed, match=r"expected depth 2 fits the observed entries"):
        ps.check_depth_sweep(doctored, "quick")
    doctored = copy.deepcopy(result)
    doctored["depth2"]["0.35"][3]["error"] = 0.01  # a smaller eps that does worse
    with pytest.raises(claims.ClaimFailed, match=r"expected at every rate depth 2's error falls"):
        ps.check_depth_sweep(doctored, "quick")
    doctored = copy.deepcopy(result)
    doctored["depth2"]["0.27"][3]["nuclear_ratio"] = 1.01  # stuck above ||Phi||_*
    with pytest.raises(claims.ClaimFailed, match=r"nuclear norm falls towards"):
        ps.check_depth_sweep(doctored, "quick")
    doctored = copy.deepcopy(result)
    doctored["deep"]["0.35"]["error"] = 1e-3  # depth 3 only 62x better
    with pytest.raises(claims.ClaimFailed, match=r"by more than 100x .*35%: 62x"):
        ps.check_depth_sweep(doctored, "quick")
    doctored = copy.deepcopy(result)
    doctored["deep"]["0.2"]["error"] = 0.1  # depth 3 worse than depth 2's best at 20%
    with pytest.raises(claims.ClaimFailed, match=r"expected at 20%, depth 3 from eps = 0\.01"):
        ps.check_depth_sweep(doctored, "quick")


def test_low_rank_target_has_the_stated_spectrum():
    phi = ps.low_rank_target(12, 3, torch.Generator().manual_seed(8))
    s = torch.linalg.svdvals(phi)
    torch.testing.assert_close(s[:3], torch.tensor([1.0, 2 / 3, 1 / 3], dtype=torch.float64))
    assert s[3:].max() < 1e-12


def test_completion_result_carries_each_runs_parameter_count():
    """The figure labels every run with the count `run_completion` stores, not one it infers."""
    config = replace(ps.CompletionConfig.quick(), **TINY["parsimony_deep_completion"])
    result = ps.run_completion(config, seed=0, progress=False)
    # d = 20, depth 3, width 2 r_hat = 6: L d^2, 2 d w + L w^2, 2 d w + (L - 2) w^2, 2 d^2.
    assert result["parameters_by_run"] == {
        "full": 1200,
        "compressed": 348,
        "compressed, gamma = 0": 348,
        "narrow": 276,
        "full, depth 2": 800,
    }
    assert list(result["parameters_by_run"]) == list(result["runs"])
    fig = ps.plot_completion(result)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    plt.close(fig)
    assert labels == [f"{name} ({n} parameters)" for name, n in result["parameters_by_run"].items()]


def test_mlp_separation_builds_its_network_with_the_factory(monkeypatch):
    calls = []

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return build(*args, **kwargs)

    build = models.build
    monkeypatch.setattr(models, "build", spy)
    out = ps.mlp_separation(
        "digits", depth=2, width=16, config=TrainConfig(epochs=1), seed=0, progress=False
    )
    assert calls == [(("mlp", (64,), 10), {"width": 16, "depth": 2})]
    assert len(out["separation"]) == 3  # the input and the two hidden layers


def test_notebook_uses_only_public_names():
    notebook = Path(__file__).parents[1] / "lectures" / "04_law_of_parsimony.ipynb"
    cells = json.loads(notebook.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert not re.findall(r"\b\w+\._\w+", code)
