"""Lecture 3's landscape tools (collapse/landscape.py) and the UFM under other optimisers
(collapse/optimizers.py), against closed forms: the objective of train_ufm, the gradient of
cross-entropy in the logits, the curvature along the proof's direction, lam - ||G||_op."""

import pytest
import torch
from torch.nn import functional as F

from lowdim_course import collapse, models, runtime

f64 = torch.float64


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    with runtime.torch_threads(1):
        yield


def test_ufm_objective_is_the_objective_train_ufm_reports():
    run = collapse.train_ufm(3, 4, 2, inits=2, steps=5, record=0)
    value = collapse.ufm_objective(run["H"], run["W"], run["b"], run["labels"])
    assert torch.allclose(value, run["objective"], rtol=1e-12, atol=0)


def test_ufm_objective_on_a_batch_is_an_unbiased_estimate():
    g = torch.Generator().manual_seed(0)
    H, W, b = (torch.randn(*s, generator=g, dtype=f64) for s in [(1, 6, 3), (1, 3, 3), (1, 3)])
    y = torch.arange(3).repeat(2)
    full = collapse.ufm_objective(H, W, b, y)
    halves = [collapse.ufm_objective(H, W, b, y, index=torch.arange(i, i + 3)) for i in (0, 3)]
    assert torch.allclose((halves[0] + halves[1]) / 2, full, rtol=1e-12)


def test_the_origin_and_embedded_solutions_are_critical_points():
    for K, r, d in [(3, 0, 4), (4, 2, 5)]:
        H, W, b, y = collapse.embedded_critical_point(K, r, d)
        assert H.shape == (4 * K, d) and W.shape == (K, d)
        assert (H[:, r:] == 0).all() and (W[:, r:] == 0).all()
        assert collapse.ufm_gradient_norm(H, W, b, y) < 1e-10


def test_logit_gradient_of_cross_entropy_is_softmax_minus_labels_over_n():
    g = torch.Generator().manual_seed(1)
    H, W = torch.randn(8, 3, generator=g, dtype=f64), torch.randn(4, 3, generator=g, dtype=f64)
    b, y = torch.randn(4, generator=g, dtype=f64), torch.arange(4).repeat(2)
    expected = ((H @ W.T + b).softmax(1) - F.one_hot(y, 4).to(f64)) / 8
    assert torch.allclose(collapse.logit_gradient(H, W, b, y), expected, atol=1e-15)


def test_curvature_along_the_proofs_direction_is_lam_minus_the_operator_norm():
    """dH = v a^T, dW = u a^T with a in the null space of W and H and (v, u) the top singular
    pair of -G: the second derivative is 2(lam - sigma), the Rayleigh quotient lam - sigma."""
    lam = 5e-3
    for K, r, d in [(3, 0, 4), (4, 2, 5)]:
        H, W, b, y = collapse.embedded_critical_point(K, r, d, weight_decay=lam)
        G = collapse.logit_gradient(H, W, b, y)
        U, S, Vh = torch.linalg.svd(-G)
        a = torch.zeros(d, dtype=f64)
        a[-1] = 1.0
        dH, dW = torch.outer(U[:, 0], a), torch.outer(Vh[0], a)
        curvature = collapse.ufm_curvature(H, W, b, y, dH, dW, lam)
        assert curvature == pytest.approx(lam - S[0].item(), rel=1e-9)
        assert curvature < 0  # a non-global critical point: sigma > lam
    # a quadratic sanity check: along a direction in b-free coordinates at a random point the
    # quotient of the penalty alone is lam
    zero = torch.zeros(6, 3, dtype=f64)
    q = collapse.ufm_curvature(zero, torch.zeros(3, 3, dtype=f64), torch.zeros(3, dtype=f64),
                               torch.arange(3).repeat(2), torch.ones(6, 3, dtype=f64),
                               torch.zeros(3, 3, dtype=f64), lam)  # fmt: skip
    assert q == pytest.approx(lam, rel=1e-12)


@pytest.mark.parametrize("name", collapse.OPTIMIZERS)
def test_every_optimiser_descends_from_the_same_starts(name):
    start = collapse.train_ufm(3, 4, 2, inits=2, steps=0, record=0)
    run = collapse.solve_ufm(name, 3, 4, 2, inits=2, steps=0)
    assert torch.equal(run["H"], start["H"]) and torch.equal(run["W"], start["W"])
    steps = 5 if name == "lbfgs" else 100
    run = collapse.solve_ufm(
        name, 3, 4, 2, inits=2, steps=steps, lr=0.05 if name == "adam" else 0.5
    )
    assert (run["objective"] < start["objective"]).all()


def test_an_unknown_optimiser_is_refused():
    with pytest.raises(ValueError, match="unknown optimiser"):
        collapse.solve_ufm("rmsprop", 3, 4, 2, steps=1)


# --- fine-tuning (collapse/finetune.py) ----------------------------------------------------


def _pretrained(model="mlp"):
    torch.manual_seed(0)
    if model == "mlp":
        return models.build("mlp", (64,), 5, width=16, depth=3, batchnorm=True), torch.randn(4, 64)
    return models.build("resnet18", (3, 32, 32), 5, width=4), torch.randn(4, 3, 32, 32)


@pytest.mark.parametrize("model", ["mlp", "resnet18"])
def test_the_layers_compose_to_the_networks_features(model):
    net, x = _pretrained(model)
    net.eval()
    tuned = collapse.FineTuned(net, "full", 1, 3, x).eval()
    assert torch.allclose(tuned.features(x), net.features(x), atol=1e-6)
    assert len(tuned.layers) == (3 if model == "mlp" else 9)


def test_each_method_trains_what_it_says_and_frozen_layers_keep_their_statistics():
    net, x = _pretrained()
    shares = {}
    for method in collapse.METHODS:
        tuned = collapse.FineTuned(net, method, 1, 3, x)
        trained = [
            i for i, m in enumerate(tuned.layers) if any(p.requires_grad for p in m.parameters())
        ]
        expected = {"linear": [], "layer": [1], "scl": [1], "full": [0, 1, 2]}[method]
        assert trained == expected and tuned.classifier.weight.requires_grad
        assert tuned.classifier.in_features == (32 if method == "scl" else 16)
        tuned.train()
        assert all(m.training == (i in expected) for i, m in enumerate(tuned.layers))
        shares[method] = collapse.tuned_fraction(tuned)
    assert shares["linear"] < shares["layer"] < shares["scl"] < shares["full"] == 1.0
    with pytest.raises(ValueError, match="unknown method"):
        collapse.FineTuned(net, "adapter", 1, 3, x)


def test_the_tap_reads_one_layer():
    net, x = _pretrained()
    tuned = collapse.FineTuned(net, "scl", 1, 3, x).eval()
    tuned.tap = 0
    assert tuned.features(x).shape == (4, 16)
    tuned.tap = None
    assert tuned.features(x).shape == (4, 32)
