"""Lecture 3 (lowdim_course/collapse/) against independent references: the NC metrics
recomputed in NumPy with explicit loops, exact simplex-ETF configurations, closed-form losses,
and the unconstrained features model solved at small sizes. The CLI test runs every quick
configuration once."""

import json
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from lowdim_course import claims, collapse, experiments, models, runtime
from lowdim_course.data import load_digits
from lowdim_course.results import to_jsonable
from lowdim_course.train import TrainConfig, train

f64 = torch.float64


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny matrices: one torch thread is faster and immune to a loaded machine."""
    with runtime.torch_threads(1):
        yield


def random_problem(N=120, d=7, K=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(K).repeat(N // K)  # balanced classes
    h = torch.randn(N, d, generator=g, dtype=f64) + 2 * torch.randn(K, d, generator=g, dtype=f64)[y]
    W = torch.randn(K, d, generator=g, dtype=f64)
    b = torch.randn(K, generator=g, dtype=f64)
    return h, y, W, b


def numpy_reference(h, y, W, b, K):
    """The definitions of the nc_metrics docstring, one class at a time, in NumPy."""
    h, y, W, b = (np.asarray(t) for t in (h, y, W, b))
    mu = np.stack([h[y == k].mean(0) for k in range(K)])
    mu_G = mu.mean(0)
    sigma_w = sum(np.outer(x - mu[c], x - mu[c]) for x, c in zip(h, y)) / len(h)
    sigma_b = sum(np.outer(m - mu_G, m - mu_G) for m in mu) / K
    M = mu - mu_G

    def frame(V):
        norms = np.linalg.norm(V, axis=1)
        cos = [V[i] @ V[j] / (norms[i] * norms[j]) for i in range(K) for j in range(K) if i != j]
        cos = np.array(cos)
        return norms.std() / norms.mean(), cos.std(), np.abs(cos + 1 / (K - 1))

    m_eq, m_ang, m_err = frame(M)
    w_eq, w_ang, w_err = frame(W)
    logits = h @ W.T + b
    ncm = np.argmin(((h[:, None, :] - mu[None]) ** 2).sum(-1), axis=1)
    return {
        "nc1": np.trace(sigma_w @ np.linalg.pinv(sigma_b)) / K,
        "within_between": np.trace(sigma_w) / np.trace(sigma_b),
        "means_equinorm": m_eq,
        "means_equiangularity": m_ang,
        "means_angle_error": m_err.mean(),
        "means_angle_error_max": m_err.max(),
        "classifier_equinorm": w_eq,
        "classifier_equiangularity": w_ang,
        "classifier_angle_error": w_err.mean(),
        "classifier_angle_error_max": w_err.max(),
        "nc3": ((W / np.linalg.norm(W) - M / np.linalg.norm(M)) ** 2).sum(),
        "nc4": np.mean(logits.argmax(1) != ncm),
        "accuracy": np.mean(logits.argmax(1) == y),
    }


# --- metrics --------------------------------------------------------------------------------


@pytest.mark.parametrize(("N", "d", "K"), [(120, 7, 4), (200, 30, 10), (90, 2, 6)])
def test_nc_metrics_match_numpy(N, d, K):
    """Including d < K - 1 (Sigma_B full rank) and d > K - 1 (Sigma_B singular)."""
    h, y, W, b = random_problem(N, d, K)
    got = collapse.nc_metrics(h, y, W, b)
    expected = numpy_reference(h, y, W, b, K)
    assert set(got) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-9, atol=1e-12, err_msg=key)


@pytest.mark.usefixtures("seeded")  # the offset below is drawn from the global RNG
def test_nc_metrics_of_an_exact_simplex_etf():
    K, d = 5, 8
    M = collapse.simplex_etf(K, d, torch.Generator().manual_seed(1)).T  # (K, d)
    y = torch.arange(K).repeat(6)
    h = 3.0 * M[y] + torch.randn(d, dtype=f64)  # collapsed features around any global mean
    out = collapse.nc_metrics(h, y, 0.5 * M)
    for key in ["nc1", "means_equinorm", "means_equiangularity", "means_angle_error_max",
                "classifier_angle_error_max", "nc3", "nc4"]:  # fmt: skip
        assert abs(out[key]) < 1e-12, (key, out[key])
    assert out["accuracy"] == 1.0
    # The equiangular value itself: every off-diagonal cosine is -1/(K-1).
    assert out["means_equiangularity"] < 1e-12


def test_nc_metrics_invariant_to_scaling_and_relabelling():
    K = 5
    h, y, W, _ = random_problem(150, 9, K, seed=3)
    base = collapse.nc_metrics(h, y, W)
    scaled = collapse.nc_metrics(7.5 * h, y, 0.01 * W)
    perm = torch.randperm(K, generator=torch.Generator().manual_seed(0))  # class k -> perm[k]
    W_perm = torch.empty_like(W)
    W_perm[perm] = W
    relabelled = collapse.nc_metrics(h, perm[y], W_perm)
    for other in (scaled, relabelled):
        for key, value in base.items():
            np.testing.assert_allclose(other[key], value, rtol=1e-9, atol=1e-12, err_msg=key)


def test_nc_metrics_reject_diverged_features():
    h, y, W, b = random_problem()
    h[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        collapse.nc_metrics(h, y, W, b)


# --- the simplex ETF ---------------------------------------------------------------------------


@pytest.mark.parametrize(("K", "d"), [(2, 1), (3, 2), (4, 4), (10, 9), (10, 10), (10, 64)])
@pytest.mark.parametrize("random", [False, True])
def test_simplex_etf_gram_matrix(K, d, random):
    g = torch.Generator().manual_seed(K + d) if random else None
    M = collapse.simplex_etf(K, d, g)
    assert M.shape == (d, K)
    expected = np.full((K, K), -1 / (K - 1)) + np.eye(K) * (1 + 1 / (K - 1))
    np.testing.assert_allclose((M.T @ M).numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(collapse.etf_gram(K).numpy(), expected, atol=1e-15)
    assert np.linalg.matrix_rank(expected) == K - 1
    np.testing.assert_allclose(M.sum(1).numpy(), 0, atol=1e-12)  # the vertices are centred


def test_canonical_etf_ignores_a_common_offset():
    """d >= K: the columns are orthogonal to (1,..,1,0,..), so ReLU features' common offset
    along it changes no logit (why it suits a fixed classifier)."""
    M = collapse.simplex_etf(10, 16)
    offset = torch.cat([torch.ones(10), torch.zeros(6)]).to(f64)
    np.testing.assert_allclose((M.T @ offset).numpy(), 0, atol=1e-12)


def test_simplex_etf_needs_k_minus_one_dimensions():
    with pytest.raises(ValueError, match="d >= K-1"):
        collapse.simplex_etf(5, 3)


# --- losses ------------------------------------------------------------------------------------


def test_losses_match_closed_forms():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3, 20, 6, generator=g, dtype=f64)  # (R, N, K)
    y = torch.randint(0, 6, (20,), generator=g)
    ce = torch.stack([F.cross_entropy(z[r], y, reduction="none") for r in range(3)])
    ls = torch.stack(
        [F.cross_entropy(z[r], y, reduction="none", label_smoothing=0.2) for r in range(3)]
    )
    p_y = z.softmax(-1)[..., torch.arange(20), y]  # (R, N)
    torch.testing.assert_close(collapse.per_sample_loss(z, y, "ce"), ce)
    torch.testing.assert_close(collapse.per_sample_loss(z, y, "ls", alpha=0.2), ls)
    torch.testing.assert_close(
        collapse.per_sample_loss(z, y, "focal", gamma=3.0), -((1 - p_y) ** 3) * p_y.log()
    )
    onehot = F.one_hot(y, 6).to(f64)
    torch.testing.assert_close(
        collapse.per_sample_loss(z, y, "mse"), 0.5 * ((z - onehot) ** 2).sum(-1)
    )
    assert collapse.loss_function("ce")(z[0], y).item() == pytest.approx(ce[0].mean().item())
    with pytest.raises(ValueError, match="unknown loss"):
        collapse.loss_function("hinge")


# --- the unconstrained features model ---------------------------------------------------------


@pytest.mark.parametrize("loss", collapse.LOSSES)
def test_ufm_reaches_a_simplex_etf_at_small_k(loss):
    lr = 0.5 if loss == "mse" else 1.0
    run = collapse.train_ufm(3, 3, 4, loss, inits=4, steps=500, lr=lr, record=5, seed=1)
    for m in run["final"]:
        assert m["nc1"] < 1e-12 and m["nc3"] < 1e-10
        assert m["means_angle_error_max"] < 1e-6, m["means_angle_error_max"]
    spread = run["objective"].max() - run["objective"].min()
    assert spread < 1e-10  # every start reaches the same (global) value
    assert run["H"].shape == (4, 12, 3) and run["W"].shape == (4, 3, 3)
    assert run["history"][0]["step"] == 0 and run["history"][-1]["step"] == 500


def test_ufm_below_k_minus_one_dimensions_collapses_but_is_not_equiangular():
    run = collapse.train_ufm(4, 2, 4, inits=3, steps=500, record=0)
    for m in run["final"]:
        assert m["nc1"] < 1e-12
        assert m["means_angle_error_max"] > 0.1
    assert run["history"] == []


# --- networks, probes ----------------------------------------------------------------------


@pytest.mark.parametrize(("K", "d"), [(4, 3), (4, 4), (10, 256)])
def test_random_simplex_etf_spreads_over_every_coordinate(K, d):
    """With a generator the ETF is a random orthogonal embedding: the simplex Gram matrix, no
    coordinate left unread, and (d >= K) columns orthogonal to (1, ..., 1)."""
    M = collapse.simplex_etf(K, d, torch.Generator().manual_seed(0))
    torch.testing.assert_close(M.T @ M, collapse.etf_gram(K))
    assert (M.abs().sum(dim=1) > 1e-8).all(), "some feature coordinate is read by no class"
    if d >= K:
        torch.testing.assert_close(M.sum(dim=0), torch.zeros(K, dtype=M.dtype), atol=1e-12, rtol=0)


def test_fixed_classifier_reads_every_feature_channel():
    """The fixed-ETF variant of the experiment reads all d features, so each gets a gradient
    (with the ETF in the first K coordinates, 246 of 256 channels would be read by nothing)."""
    train_data, _ = load_digits()
    net = collapse.build_model("mlp", train_data, width=32, depth=2)
    collapse.fix_classifier(net, torch.Generator().manual_seed(0))
    assert (net.classifier.weight.abs().sum(dim=0) > 1e-6).all()
    net.zero_grad()
    torch.nn.functional.cross_entropy(net(train_data.x[:64]), train_data.y[:64]).backward()
    last = net.body[-3].weight.grad  # the last hidden layer's weights, (32, 32)
    assert (last.abs().sum(dim=1) > 0).all(), "a feature channel gets no gradient"
    # The experiment's own path (train_network with fixed=True) draws such an ETF.
    config = replace(
        collapse.FixedETFConfig.quick(), width=32, depth=2, train=TrainConfig(epochs=1)
    )
    trained, _ = collapse.train_network(config, train_data, fixed=True, on_epoch=lambda e, m: {})
    assert (trained.classifier.weight.abs().sum(dim=0) > 1e-6).all()


def test_feature_dimension_and_fixed_classifier():
    train_data, _ = load_digits()
    learned = collapse.build_model("mlp", train_data, width=32, depth=2)
    small = collapse.fix_classifier(
        collapse.build_model("mlp", train_data, width=32, depth=2, feature_dim=10)
    )
    assert small.features(train_data.x[:5]).shape == (5, 10)
    # learned: 64*32 + 32*32 + 2 BatchNorms (2*32 each) + classifier 32*10 + 10
    assert models.count_parameters(learned) == 64 * 32 + 32 * 32 + 4 * 32 + 330
    # fixed, d = 10: the last hidden layer shrinks to 10 units and the classifier is not trained
    assert models.count_parameters(small) == 64 * 32 + 32 * 10 + 2 * 32 + 2 * 10
    before = small.classifier.weight.clone()
    train(small, train_data, TrainConfig(epochs=1, weight_decay=1e-3), progress=False)
    torch.testing.assert_close(small.classifier.weight, before)
    np.testing.assert_allclose(
        (small.classifier.weight.double() @ small.classifier.weight.double().T).numpy(),
        collapse.etf_gram(10).numpy(),
        atol=1e-6,
    )


def test_resnet18_with_d_equal_k_is_about_a_fifth_smaller():
    from lowdim_course.data import synthetic_images

    images = synthetic_images(4)
    full = collapse.build_model("resnet18", images)
    small = collapse.fix_classifier(collapse.build_model("resnet18", images, feature_dim=10))
    assert small.features(images.inputs()).shape == (4, 10)
    # Only the last 3x3 convolution narrows (512 x 512 x 9 weights -> 10 x 512 x 9) with its
    # BatchNorm (512 -> 10 channels); a 1x1 shortcut with BatchNorm appears (10 x 512 + 2 x 10);
    # the learned 512 -> 10 classifier (with bias) becomes the fixed ETF, not trained. Zhu et
    # al. report that d = K saves about a fifth of ResNet18's parameters.
    conv2 = 512 * 512 * 9 - 10 * 512 * 9
    bn2 = 2 * (512 - 10)
    shortcut = 10 * 512 + 2 * 10
    classifier = 512 * 10 + 10
    expected = conv2 + bn2 - shortcut + classifier
    assert models.count_parameters(full) - models.count_parameters(small) == expected
    saved = 1 - models.count_parameters(small) / models.count_parameters(full)
    assert 0.19 < saved < 0.23


def test_terminal_phase_starts_at_the_first_measured_epoch_at_full_accuracy():
    """One definition of the start of the terminal phase serves run_tpt and run_random_labels."""
    history = [
        {"epoch": 1, "nc1": 4.0, "accuracy": 0.8},
        {"epoch": 2, "train_acc": 1.0},  # not measured by the NC hook: not a candidate
        {"epoch": 3, "nc1": 2.0, "accuracy": 1.0},
        {"epoch": 4, "nc1": 1.5, "accuracy": 0.99},
        {"epoch": 5, "nc1": 0.5, "accuracy": 1.0},
    ]
    assert collapse.terminal_phase(history) == {"tpt_epoch": 3, "nc1_at_tpt": 2.0, "nc1_final": 0.5}
    never = [{"epoch": 1, "nc1": 4.0, "accuracy": 0.5}, {"epoch": 2, "nc1": 3.0, "accuracy": 0.9}]
    assert collapse.terminal_phase(never) == {
        "tpt_epoch": None,
        "nc1_at_tpt": None,
        "nc1_final": 3.0,
    }


def test_ridge_probe_primal_and_dual_agree_with_numpy():
    g = torch.Generator().manual_seed(0)
    for N in (15, 60):  # fewer and more samples than features + 1
        h = torch.randn(N, 20, generator=g, dtype=f64)
        y = torch.arange(3).repeat(N // 3)
        h_test = torch.randn(40, 20, generator=g, dtype=f64)
        y_test = torch.randint(0, 3, (40,), generator=g)
        mean, std = h.mean(0), h.std(0, correction=0)
        A = np.hstack([((h - mean) / std).numpy(), np.ones((N, 1))])
        B = np.hstack([((h_test - mean) / std).numpy(), np.ones((40, 1))])
        Y = np.eye(3)[y.numpy()]
        w = np.linalg.solve(A.T @ A + 0.1 * N * np.eye(21), A.T @ Y)
        expected = np.mean((B @ w).argmax(1) == y_test.numpy())
        assert collapse.ridge_probe(h, y, h_test, y_test, 3, 0.1) == pytest.approx(expected)


# --- experiments: tiny configurations run, return what the lecture reads, and plot -------------

TINY = {
    "collapse_tpt": {"width": 32, "train": replace(collapse.QUICK_TRAIN, epochs=4)},
    "collapse_ufm": {"classes": (3,), "dims": ((1, 2),), "inits": 2, "steps": 50,
                     "trajectory": (3, 2)},
    "collapse_fixed_etf": {"width": 32, "train": replace(collapse.QUICK_TRAIN, epochs=2)},
    "collapse_losses": {"width": 32, "ufm_inits": 2, "ufm_steps": 30,
                        "train": replace(collapse.QUICK_TRAIN, epochs=2)},
    "collapse_random_labels": {"width": 32, "n_train": 100,
                               "train": replace(collapse.QUICK_TRAIN, epochs=5)},
    "collapse_transfer": {"width": 32, "variants": ((0.0, 0.0), (5e-3, 0.0)),
                          "checkpoints": (1, 2), "draws": 2,
                          "train": TrainConfig(epochs=2, batch_size=64)},
    "collapse_optimizers": {"problems": ((3, 4),), "inits": 2,
                            "optimizers": (("gd", 20, 1.0), ("sgd", 20, 0.5),
                                           ("adam", 20, 0.05), ("lbfgs", 2, 1.0))},
    "collapse_width": {"widths": (8, 16), "n_random": 40, "loss_widths": (8, 16),
                       "losses": ("ce", "mse"), "lengths": (1, 2),
                       "random_train": replace(collapse.QUICK_TRAIN, epochs=3, batch_size=20)},
    "collapse_finetune": {"width": 32, "train": TrainConfig(epochs=1, batch_size=64),
                          "finetune": TrainConfig(epochs=1, batch_size=64)},
}  # fmt: skip


@pytest.mark.parametrize("name", list(collapse.EXPERIMENTS))
def test_experiment_runs_and_plots_from_json(name):
    run, Config, figures, summary = collapse.EXPERIMENTS[name]
    assert isinstance(summary, str) and figures
    assert Config.quick() != Config.full() and Config.quick().threads == 1
    result = run(replace(Config.quick(), **TINY[name]), device="cpu", seed=0, progress=False)
    # The CLI plots committed results from JSON: plots must work on the round trip too.
    loaded = json.loads(json.dumps(to_jsonable(result)))
    # Its check reads only what the run returns: a tiny run may miss a claim, never a key.
    try:
        collapse.CHECKS[name](loaded, "quick")
    except claims.ClaimFailed:
        pass
    for plot in figures.values():
        fig = plot(loaded)
        for ax in fig.axes:
            if ax.get_label() != "<colorbar>":
                assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
        plt.close(fig)


def test_ufm_geometry_plot_2d_and_3d():
    for K, d in [(3, 2), (4, 3), (4, 1)]:
        fig = collapse.plot_ufm_geometry(collapse.train_ufm(K, d, 3, steps=50, record=0))
        assert fig.axes[0].get_title()
        plt.close(fig)


def test_same_seed_same_result():
    config = replace(collapse.UFMConfig.quick(), classes=(3,), dims=((2,),), steps=30, inits=2)
    a, b = (collapse.run_ufm(config, seed=4) for _ in range(2))
    assert a["cases"] == b["cases"]


# --- the command line's path: results.json with provenance, and the figures ------------------
# (the quick configs themselves run in the notebook, under nbval and in the book build)


@pytest.mark.parametrize("name", list(collapse.EXPERIMENTS))
def test_cli_path_writes_results_and_figures(name, tmp_path, monkeypatch):
    tiny = replace(collapse.EXPERIMENTS[name][1].quick(), **TINY[name])
    monkeypatch.setattr(experiments, "config_for", lambda exp, profile: tiny)
    folder = experiments.run_experiment(name, profile="quick", out=tmp_path, progress=False)
    payload = json.loads((folder / "results.json").read_text())
    assert payload["name"] == name and payload["profile"] == "quick"
    assert payload["provenance"]["config"] == json.loads(json.dumps(to_jsonable(tiny)))
    assert set(payload["provenance"]["claims"]) >= {"held", "failed"}
    for fig_name in collapse.EXPERIMENTS[name][2]:
        assert (folder / f"{fig_name}.png").stat().st_size > 10_000


def test_cosine_plot_without_a_first_snapshot():
    """A run resumed after epoch 1 has no first snapshot; the figure still draws."""
    result = {"cosines_first": None, "cosines_final": collapse.etf_gram(4).tolist()}
    plt.close(collapse.plot_tpt_cosines(result))
