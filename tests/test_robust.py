"""Lecture 5 (the robust package): label noise, the linear model against its convex problem,
SOP's corrections and its place in the training loop, the network it trains, the CIFAR-10N
reader."""

import copy
import functools
import json
import re
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from lowdim_course import claims, data, models, results, train
from lowdim_course import robust as rb

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("rate", [0.0, 0.13, 0.4, 1.0])
def test_symmetric_noise_hits_its_rate_and_never_keeps_the_class(rate):
    labels = torch.arange(997) % 7
    noisy, corrupted = rb.symmetric_noise(labels, rate, 7, torch.Generator().manual_seed(0))
    assert int(corrupted.sum()) == round(rate * 997)
    assert torch.equal(noisy != labels, corrupted)  # every chosen label changed, no other one
    assert noisy.min() >= 0 and noisy.max() < 7
    # Uniform over the other classes: each of the 6 shifts about equally often.
    if rate == 1.0:
        shifts = torch.bincount((noisy - labels) % 7, minlength=7)[1:].double()
        assert (shifts - shifts.mean()).abs().max() < 4 * shifts.mean().sqrt()


def test_symmetric_noise_is_reproducible():
    labels = torch.arange(100) % 10
    a = rb.symmetric_noise(labels, 0.3, 10, torch.Generator().manual_seed(5))
    b = rb.symmetric_noise(labels, 0.3, 10, torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_asymmetric_noise_flips_only_the_given_pairs():
    labels = torch.arange(1000) % 10
    noisy, corrupted = rb.asymmetric_noise(
        labels, 0.3, rb.CIFAR10_FLIPS, torch.Generator().manual_seed(1)
    )
    for source, target in rb.CIFAR10_FLIPS.items():
        members = labels == source
        assert int(corrupted[members].sum()) == 30  # round(0.3 * 100)
        assert (noisy[members & corrupted] == target).all()
    assert torch.equal(noisy[~corrupted], labels[~corrupted])


def test_linear_model_gd_equals_the_convex_solution_on_a_small_case():
    g = torch.Generator().manual_seed(2)
    j, y, theta, s = rb.linear_problem(60, 15, 5, g)
    theta_gd, s_gd, _ = rb.hadamard_gd(j, y, 0.3, 1e-6, 0.3, 20000)
    theta_cvx, s_cvx = rb.l1_regularized(j, y, rb.effective_l1_weight(0.3, 1e-6))
    assert (theta_gd - theta_cvx).norm() / theta_cvx.norm() < 1e-3
    assert (s_gd - s_cvx).norm() / s_cvx.norm() < 1e-3
    assert (theta_cvx - theta).norm() < 1e-8  # exact recovery by the l1 problem
    theta_ls = torch.linalg.lstsq(j, y[:, None]).solution[:, 0]
    assert (theta_ls - theta).norm() > 0.1


def _kkt_violations(j, y, lam, theta, s, mu):
    """The KKT conditions of min 1/2||theta||^2 + lam||s||_1 s.t. y = J theta + s, as the
    largest violation of each: stationarity in theta (theta = J^T mu), in s (mu_i = lam
    sign(s_i) where s_i != 0, |mu_i| <= lam everywhere), primal feasibility, and the duality
    gap between 1/2||theta||^2 + lam||s||_1 and mu^T y - 1/2||J^T mu||^2."""
    active = s.abs() > 1e-9
    on_support = (mu - lam * s.sign())[active]
    primal = 0.5 * theta @ theta + lam * s.abs().sum()
    dual = mu @ y - 0.5 * (j.T @ mu) @ (j.T @ mu)
    return {
        "theta = J^T mu": (theta - j.T @ mu).abs().max().item(),
        "mu = lam sign(s) on the support": on_support.abs().max().item() if active.any() else 0,
        "|mu| <= lam": (mu.abs() - lam).clamp(min=0).max().item(),
        "y = J theta + s": (y - j @ theta - s).abs().max().item(),
        "duality gap": abs(primal - dual).item() / max(1.0, abs(primal.item())),
    }


def test_l1_dual_solver_satisfies_the_optimality_conditions():
    """The solver's (theta, s, mu) satisfy the KKT conditions: where s_i != 0 the multiplier
    sits on the box's face with the sign of s_i, s_i = 0 wherever |mu_i| < lam (complementary
    slackness), and primal and dual objectives agree. A solve stopped after a few iterations
    violates them: the test can fail."""
    g = torch.Generator().manual_seed(3)
    j = torch.randn(30, 10, generator=g, dtype=torch.float64)
    y = torch.randn(30, generator=g, dtype=torch.float64)
    lam = 0.2
    theta, s, mu = rb.l1_regularized(j, y, lam, iters=50000, return_dual=True)
    active = s.abs() > 1e-9
    assert active.any() and (~active).any()  # both kinds of sample occur
    assert (mu[~active].abs() < lam * (1 - 1e-6)).any()  # multipliers strictly inside the box
    violations = _kkt_violations(j, y, lam, theta, s, mu)
    assert max(violations.values()) < 1e-7, violations
    assert s[mu.abs() < lam * (1 - 1e-6)].abs().max() < 1e-9  # complementary slackness
    early = rb.l1_regularized(j, y, lam, iters=5, return_dual=True)
    assert max(_kkt_violations(j, y, lam, *early).values()) > 1e-3


def test_exact_implicit_problem_matches_gradient_descent_and_its_conditions():
    """hadamard_regularized: y = J theta + s with theta = J^T mu and s = 2 tau^2 sinh(4 alpha
    mu) at its solution; Hadamard GD with a small step reaches it under dense noise, nearer
    than the problem at twice the alpha (half the l1 weight)."""
    g = torch.Generator().manual_seed(4)
    j, y, _, _ = rb.linear_problem(60, 15, 5, g)
    y = y + 0.02 * torch.randn(60, generator=g, dtype=torch.float64)
    alpha, tau = 3.0, 1e-3
    theta, s = rb.hadamard_regularized(j, y, alpha, tau)
    torch.testing.assert_close(j @ theta + s, y, atol=1e-10, rtol=0)
    mu = torch.asinh(s / (2 * tau**2)) / (4 * alpha)
    torch.testing.assert_close(j.T @ mu, theta, atol=1e-8, rtol=0)
    theta_gd, _, _ = rb.hadamard_gd(j, y, alpha, tau, 0.01 / alpha, 40000)
    near = ((theta_gd - theta).norm() / theta.norm()).item()
    other = rb.hadamard_regularized(j, y, 2 * alpha, tau)[0]
    assert near < 0.5 * ((theta_gd - other).norm() / other.norm()).item()
    assert near < 0.02


def test_logit_sop_adds_u2_minus_v2_to_the_logits():
    sop = rb.LogitSOP(5, 3, init_std=0.5, generator=torch.Generator().manual_seed(4))
    labels = torch.tensor([0, 2, 1, 1, 0])
    logits = torch.randn(5, 3)
    idx = torch.tensor([4, 0, 2, 3, 1])
    s = sop.corrections(labels, idx)
    expected = torch.zeros(5, 3)
    for row, i in enumerate(idx):
        for k in range(3):
            if k == labels[row]:
                expected[row, k] = sop.u[i] ** 2
            else:
                expected[row, k] = -(sop.v[i, k] ** 2)
    torch.testing.assert_close(s, expected)
    loss = sop(logits, labels, idx)
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(logits + expected, labels))


def test_sop_is_the_papers_loss_with_its_two_terms_training_different_variables():
    """SOP: U = min(u^2, 1) on the label, V = min(v^2, 1) elsewhere, added to the softmax
    probabilities, floored and renormalised; the cross-entropy trains the network and u (not
    v), the squared error between onehot(argmax f) + U - V and the label trains v (not u, not
    the network)."""
    torch.manual_seed(0)
    n, k = 6, 4
    sop = rb.SOP(n, k, init_std=0.8, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        sop.u[0], sop.v[1, 2] = 1.5, -1.3  # beyond the clamp
    labels = torch.tensor([0, 1, 3, 2, 0, 1])
    idx = torch.arange(n)
    logits = torch.randn(n, k, requires_grad=True)
    onehot = torch.nn.functional.one_hot(labels, k).double()
    u, v = sop.u.detach().double(), sop.v.detach().double()
    big_u = (u**2).clamp(max=1)[:, None] * onehot
    big_v = (v**2).clamp(max=1) * (1 - onehot)
    s = sop.corrections(labels, idx).detach().double()
    torch.testing.assert_close(s, big_u - big_v)
    assert s[0, 0] == 1 and s[1, 2] == -1  # clamped
    p = (torch.softmax(logits.detach().double(), 1) + big_u - big_v).clamp(min=1e-4)
    p = (p / p.sum(1, keepdim=True)).clamp(1e-4, 1)
    hard = torch.nn.functional.one_hot(logits.detach().argmax(1), k).double()
    expected = -(p * onehot).sum(1).log().mean() + ((hard + s - onehot) ** 2).sum(1).mean()
    torch.testing.assert_close(sop(logits, labels, idx).double(), expected, rtol=1e-5, atol=1e-6)

    def grads(term):
        sop.zero_grad()
        logits.grad = None
        term.backward()
        return [t.grad.clone() if t.grad is not None else torch.zeros_like(t)
                for t in (logits, sop.u, sop.v)]  # fmt: skip

    probs = sop.corrected_probabilities(logits, labels, idx)
    c_logits, c_u, c_v = grads(-probs.gather(1, labels[:, None]).log().mean())
    g_logits, g_u, g_v = grads(sop(logits, labels, idx))
    assert c_v.abs().max() == 0  # the cross-entropy does not train v ...
    torch.testing.assert_close(g_logits, c_logits)  # ... nor the squared error the network
    torch.testing.assert_close(g_u, c_u)  # ... or u
    assert g_v.abs().max() > 0  # v is trained, by the squared error alone
    assert g_v[1, 2] == 0  # a clamped entry gets no gradient


def test_roc_auc_matches_scikit_learn():
    g = torch.Generator().manual_seed(5)
    scores = torch.randn(200, generator=g)
    positives = torch.rand(200, generator=g) < 0.3
    scores[positives] += 1
    scores[:10] = 0.5  # some ties
    assert rb.roc_auc(scores, positives) == pytest.approx(roc_auc_score(positives, scores))


def test_per_sample_module_in_the_training_loop(tmp_path):
    """SOP's parameters train at their fixed learning rates, are checkpointed, and resume."""
    x = torch.randn(64, 5, generator=torch.Generator().manual_seed(6))
    y = (x[:, 0] > 0).long()
    dataset = data.ArrayData(x, y, 2, "toy")
    config = train.TrainConfig(epochs=4, batch_size=16, lr=0.05, schedule="cosine")

    def fresh():
        torch.manual_seed(0)
        return models.MLP(5, 2, width=8, depth=1), rb.SOP(64, 2, lr_u=3.0, lr_v=7.0, init_std=0.1)

    model, sop = fresh()
    u0 = sop.u.detach().clone()
    train.train(
        model,
        dataset,
        config,
        per_sample=sop,
        seed=1,
        progress=False,
        checkpoint_dir=tmp_path,
    )
    assert not torch.equal(sop.u.detach(), u0)
    state = train.load_checkpoint(tmp_path / train.CHECKPOINT_NAME)
    torch.testing.assert_close(state["per_sample"]["u"], sop.u.detach())
    groups = state["optimizer"]["param_groups"]
    assert [g["lr"] for g in groups[1:]] == [3.0, 7.0]  # the schedule left them alone

    # Interrupted after 2 epochs and resumed: the same per-sample parameters as straight through.
    class Stop(Exception):
        pass

    def stop_at_2(epoch, net):
        if epoch == 2:
            raise Stop

    every = replace(config, checkpoint_every=1)
    straight_model, straight = fresh()
    train.train(straight_model, dataset, every, per_sample=straight, seed=1, progress=False)
    model2, sop2 = fresh()
    with pytest.raises(Stop):
        train.train(
            model2,
            dataset,
            every,
            per_sample=sop2,
            seed=1,
            progress=False,
            checkpoint_dir=tmp_path / "b",
            on_epoch=stop_at_2,
        )
    model3, sop3 = fresh()
    train.train(
        model3,
        dataset,
        every,
        per_sample=sop3,
        seed=1,
        progress=False,
        checkpoint_dir=tmp_path / "b",
        resume=True,
    )
    torch.testing.assert_close(sop3.v.detach(), straight.v.detach(), rtol=0, atol=0)
    torch.testing.assert_close(sop3.u.detach(), straight.u.detach(), rtol=0, atol=0)
    with pytest.raises(ValueError, match="not both"):
        train.train(model3, dataset, config, per_sample=sop3, loss_fn=lambda a, b: a.sum())


def test_cifar10n_reader_on_a_tiny_file_of_the_published_format(tmp_path):
    rng = np.random.default_rng(0)
    labels = {k: rng.integers(0, 10, 50000).astype(np.int64) for k in data.CIFAR10N_KEYS}
    path = tmp_path / data.CIFAR10N_FILE
    torch.save(labels, path)
    read = data.read_cifar10n(path)
    for k in data.CIFAR10N_KEYS:
        assert torch.equal(read[k], torch.as_tensor(labels[k]))
    bad = dict(labels)
    del bad["worse_label"]
    torch.save(bad, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="worse_label"):
        data.read_cifar10n(tmp_path / "bad.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable"):
        data.read_cifar10n(tmp_path / "junk.pt")


def test_cifar10n_missing_gives_the_download_command(tmp_path):
    with pytest.raises(data.DatasetNotFound, match="lowdim-course download cifar10n"):
        rb.load_cifar10n("worst", root=tmp_path)
    with pytest.raises(ValueError, match="choose one of"):
        rb.load_cifar10n("best", root=tmp_path)


def test_noisy_training_resumes_from_its_checkpoints(tmp_path):
    """A finished run is read back from its checkpoint instead of being trained again."""
    train_set, test_set = rb.standardized_digits()
    noisy, corrupted = rb.symmetric_noise(train_set.y, 0.4, 10, torch.Generator().manual_seed(0))
    config = replace(rb.SOPConfig.quick(), width=16, train=train.TrainConfig(epochs=2))
    args = (train_set, test_set, noisy, corrupted)
    kwargs = {"method": "sop", "config": config, "seed": 0, "checkpoint_dir": tmp_path}
    first, _, sop1 = rb.train_with_noise(*args, **kwargs)
    again, _, sop2 = rb.train_with_noise(*args, **kwargs)
    assert again == first
    torch.testing.assert_close(sop2.u.detach(), sop1.u.detach(), rtol=0, atol=0)


def test_a_changed_sop_setting_never_reads_back_the_old_run(tmp_path):
    """SOP's rates and initial scale, the network and the noisy labels key a run's checkpoint
    (train.train records them):
    after changing any of them, the rerun refuses the old checkpoint instead of returning the
    old run's results."""
    train_set, test_set = rb.standardized_digits()
    noisy, corrupted = rb.symmetric_noise(train_set.y, 0.4, 10, torch.Generator().manual_seed(0))
    config = replace(rb.SOPConfig.quick(), width=16, train=train.TrainConfig(epochs=1))
    args = (train_set, test_set, noisy, corrupted)
    rb.train_with_noise(*args, method="sop", config=config, checkpoint_dir=tmp_path)
    changes = {
        "lr_u": replace(config, sop_lr_u=1.0),
        "lr_v": replace(config, sop_lr_v=1.0),
        "init_std": replace(config, sop_init_std=1e-2),
        "width": replace(config, width=32),
    }
    for field, changed in changes.items():
        with pytest.raises(train.CheckpointError, match="model" if field == "width" else field):
            rb.train_with_noise(*args, method="sop", config=changed, checkpoint_dir=tmp_path)
    other_noise, _ = rb.symmetric_noise(train_set.y, 0.4, 10, torch.Generator().manual_seed(1))
    with pytest.raises(train.CheckpointError, match=r"settings\.data\b"):
        rb.train_with_noise(
            train_set, test_set, other_noise, corrupted, method="sop", config=config,
            checkpoint_dir=tmp_path,
        )  # fmt: skip


def _fake_cifar10n(monkeypatch, label_set_noise=0.3):
    """Stand-ins for the CIFAR-10 and CIFAR-10N readers (no download here): digits as the
    training set, with a human-like label set that corrupts `label_set_noise` of the labels."""
    train_set, test_set = rb.standardized_digits()
    g = torch.Generator().manual_seed(3)
    worst, _ = rb.symmetric_noise(train_set.y, label_set_noise, 10, g)
    labels = {key: train_set.y.clone() for key in data.CIFAR10N_KEYS}
    labels["worse_label"] = worst
    monkeypatch.setattr(data, "load_cifar10", lambda root=None: (train_set, test_set))
    monkeypatch.setattr(data, "read_cifar10n", lambda path, num_train=None: labels)
    return train_set, worst


def test_cifar10n_problem_keeps_the_clean_labels(monkeypatch, tmp_path):
    """load_cifar10n returns what noisy_data returns: the training set with its clean labels,
    the test set, the human labels and the mask where they differ."""
    train_set, worst = _fake_cifar10n(monkeypatch)
    (tmp_path / data.CIFAR10N_FILE).write_bytes(b"")  # the reader is patched
    clean_set, _, noisy, corrupted = rb.load_cifar10n("worst", root=tmp_path)
    assert torch.equal(clean_set.y, train_set.y)
    assert torch.equal(noisy, worst)
    assert torch.equal(corrupted, worst != train_set.y)


def test_sop_runs_on_cifar10n_label_sets(monkeypatch, tmp_path):
    """The full profile's CIFAR-10N path of run_sop (label sets beside synthetic rates) runs,
    and its clean-train accuracy is measured against the clean labels."""
    _fake_cifar10n(monkeypatch)
    monkeypatch.setattr(data, "data_root", lambda: tmp_path)
    (tmp_path / data.CIFAR10N_FILE).write_bytes(b"")
    config = replace(
        rb.SOPConfig.quick(), width=16, rates=(0.2,), cifar10n_sets=("worst",),
        train=train.TrainConfig(epochs=2, batch_size=128),
    )  # fmt: skip
    result = rb.run_sop(config, checkpoint_dir=tmp_path / "runs")
    # The logit comparison runs at the highest synthetic rate only, not on CIFAR-10N.
    expected = {"ce 0.2", "sop 0.2", "sop_logit 0.2", "ce worst", "sop worst"}
    assert set(result["runs"]) == expected
    assert 0.5 < result["runs"]["sop_logit 0.2"]["auc"] <= 1.0
    assert 0.5 < result["runs"]["sop worst"]["auc"] <= 1.0


def test_the_network_comes_from_the_course_factory(monkeypatch):
    """train_with_noise builds its network with models.build: the MLP at the config's width and
    depth, ResNet18 at its own widths (the MLP's width must not reach it)."""
    calls = []
    real_build = models.build

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real_build(*args, **kwargs)

    monkeypatch.setattr(models, "build", spy)
    train_set, test_set = rb.standardized_digits()
    noisy, corrupted = rb.symmetric_noise(train_set.y, 0.4, 10, torch.Generator().manual_seed(0))
    config = replace(rb.SOPConfig.quick(), width=16, train=train.TrainConfig(epochs=1))
    rb.train_with_noise(train_set, test_set, noisy, corrupted, method="ce", config=config)
    assert calls == [(("mlp", (64,), 10), {"width": 16, "depth": 2})]
    labels = torch.zeros(2, dtype=torch.long)
    images = data.ArrayData(torch.zeros(2, 3, 32, 32, dtype=torch.uint8), labels, 10, "cifar")
    torch.manual_seed(0)
    net = rb.build_network(rb.SOPConfig.full(), images)
    torch.manual_seed(0)
    expected = real_build("resnet18", (3, 32, 32), 10)
    assert net.state_dict().keys() == expected.state_dict().keys()
    for key, value in expected.state_dict().items():
        assert torch.equal(net.state_dict()[key], value), key


def test_the_notebook_uses_only_public_names():
    """Every `rb.NAME` in the lecture's code cells is one of the package's public names."""
    path = Path(__file__).resolve().parent.parent / "lectures" / "05_robust_training.ipynb"
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    used = set(re.findall(r"\brb\.(\w+)", code))
    assert used and used <= set(rb.__all__), sorted(used - set(rb.__all__))
    assert not re.search(r"\b\w+\._[a-z]", code), "a private name in the notebook"


TINY = {
    "robust_lambda": {
        "n": 40,
        "p": 10,
        "corrupted": 4,
        "steps": 400,
        "factors": (0.5, 1.0, 2.0),
        "noiseless_lambdas": (0.05, 0.1, 0.5),
        "l1_iters": 200,
    },
    "robust_linear": {
        "n": 40,
        "p": 10,
        "corrupted": 4,
        "steps": 500,
        "alphas": (0.3,),
        "taus": (1e-4,),
        "sweep_steps": 200,
    },
    "robust_overfitting": {"train": train.TrainConfig(epochs=2, batch_size=128), "width": 16},
    "robust_sop": {
        "train": train.TrainConfig(epochs=2, batch_size=128),
        "width": 16,
        "rates": (0.0, 0.4),
        "compare_logit": False,
    },
}


@functools.cache
def tiny_run(name):
    """The experiment at its TINY config, run once for the tests that share it (do not edit)."""
    run, Config, _, _ = rb.EXPERIMENTS[name]
    return run(replace(Config.quick(), **TINY[name]), device="cpu", seed=0, progress=False)


@pytest.mark.parametrize("name", list(rb.EXPERIMENTS))
def test_experiment_runs_and_plots(name):
    run, Config, figures, summary = rb.EXPERIMENTS[name]
    assert isinstance(summary, str) and figures
    assert Config.quick() != Config.full()
    result = tiny_run(name)
    for plot in figures.values():
        fig = plot(result)
        for ax in fig.axes:
            if ax.get_label() != "<colorbar>":
                assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
        plt.close(fig)


def test_every_experiment_has_a_check():
    assert set(rb.CHECKS) == set(rb.EXPERIMENTS)


def _passes_live_and_as_json(check, result):
    for form in (result, results.to_jsonable(result)):
        for profile in claims.PROFILES:
            lines = check(form, profile)
            assert lines and all(line.startswith("held: ") for line in lines)


def test_check_linear_holds_on_a_tiny_run_and_its_json():
    _passes_live_and_as_json(rb.check_linear, tiny_run("robust_linear"))


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("theta_error", 0.01, "Hadamard GD recovers theta"),
        ("least_squares_error", 0.05, "least squares misses theta"),
        ("gd_vs_convex", 0.01, "Hadamard GD agrees with the convex l1 solution"),
    ],
)
def test_check_linear_fails_when_its_claim_does_not_hold(key, value, expected):
    doctored = results.to_jsonable(tiny_run("robust_linear"))
    doctored[key] = value
    with pytest.raises(claims.ClaimFailed, match=f"expected {expected}"):
        rb.check_linear(doctored, "quick")


def _lambda_result():
    """The tiny run's result with the numbers of a run that shows the phenomenon (400 GD steps
    on 40 equations do not)."""
    result = copy.deepcopy(tiny_run("robust_lambda"))
    result["trials"][0].update(
        noiseless_l1_error=[0.5, 1e-15, 1e-15],
        gd_vs_exact=[0.08, 0.015, 0.05],
        gd_vs_l1=[0.13, 0.10, 0.12],
        gd2_vs_exact=0.03,
    )
    return result


def test_check_lambda_holds_on_a_hand_built_result_and_its_json():
    _passes_live_and_as_json(rb.check_lambda, _lambda_result())


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("noiseless_l1_error", [0.5, 1e-15, 1e-3], "without dense noise the l1 problem recovers"),
        ("noiseless_l1_error", [0.05, 1e-15, 1e-15], r"\.\.\. and misses it by more than 0\.1"),
        ("gd_vs_exact", [0.08, 0.015, 0.012], "with dense noise GD is nearest the exact"),
        ("gd_vs_exact", [0.08, 0.015, 0.02], "with dense noise GD is nearest the exact"),
        ("gd2_vs_exact", 0.018, "the gap between GD and the exact problem"),
        ("gd_vs_l1", [0.13, 0.04, 0.12], "with dense noise the plain l1 problem"),
    ],
)
def test_check_lambda_fails_when_its_claim_does_not_hold(field, value, expected):
    doctored = results.to_jsonable(_lambda_result())
    doctored["trials"][0][field] = value
    with pytest.raises(claims.ClaimFailed, match=f"expected {expected}"):
        rb.check_lambda(doctored, "quick")


def _overfitting_result():
    """The tiny run's result with the numbers of a run that shows the phenomenon: two epochs of
    a width-16 MLP neither memorise the corrupted labels nor pass the test accuracy's peak."""
    result = dict(tiny_run("robust_overfitting"))
    result.update(
        memorised=torch.tensor([0.1, 0.6, 0.99]),
        test_acc=np.array([0.80, 0.90, 0.70]),
        peak_test_acc=0.90,
        peak_epoch=2,
        final_test_acc=0.70,
    )
    return result


def test_check_overfitting_holds_on_a_hand_built_result_and_its_json():
    _passes_live_and_as_json(rb.check_overfitting, _overfitting_result())


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"memorised": [0.1, 0.6, 0.9]}, "cross-entropy fits more than 95%"),
        ({"final_test_acc": 0.86}, "test accuracy falls more than 5 points"),
    ],
)
def test_check_overfitting_fails_when_its_claim_does_not_hold(changes, expected):
    doctored = results.to_jsonable(_overfitting_result())
    doctored.update(changes)
    with pytest.raises(claims.ClaimFailed, match=f"expected {expected}"):
        rb.check_overfitting(doctored, "quick")


def _sop_result(cifar10n=False):
    """The tiny run's result (rates 0 and 0.4) with the numbers of a run that shows the
    phenomenon (two epochs do not); with `cifar10n`, also runs on a human label set whose
    numbers would fail every claim, to show the check reads only the synthetic rates."""
    result = copy.deepcopy(tiny_run("robust_sop"))
    runs = result["runs"]
    for key, accuracy in {"ce 0": 0.97, "sop 0": 0.965, "ce 0.4": 0.65, "sop 0.4": 0.94}.items():
        runs[key]["final_test_acc"] = accuracy
    runs["sop 0.4"].update(auc=0.99, entries_corrupted=1.96, true_class_found=0.94)
    if cifar10n:
        result["cifar10n_sets"] = ["worst"]
        runs["ce worst"] = dict(runs["ce 0.4"], final_test_acc=0.8)
        runs["sop worst"] = dict(runs["sop 0.4"], final_test_acc=0.7, auc=0.5)
    return result


@pytest.mark.parametrize("cifar10n", [False, True])
def test_check_sop_holds_on_a_hand_built_result_and_its_json(cifar10n):
    assert set(tiny_run("robust_sop")["runs"]) == {"ce 0", "sop 0", "ce 0.4", "sop 0.4"}
    _passes_live_and_as_json(rb.check_sop, _sop_result(cifar10n))


@pytest.mark.parametrize(
    "key, field, value, expected",
    [
        ("sop 0.4", "final_test_acc", 0.68, "SOP beats cross-entropy by at least 5 points"),
        ("sop 0.4", "auc", 0.85, r"the ROC AUC of \|\|s_i\|\| .* above 0\.9"),
        ("sop 0", "final_test_acc", 0.94, "without noise SOP and cross-entropy within 2"),
        (
            "sop 0.4",
            "entries_corrupted",
            1.04,
            "at 40% noise a corrupted sample's s_i has about two entries",
        ),
        (
            "sop 0.4",
            "entries_corrupted",
            3.1,
            "at 40% noise a corrupted sample's s_i has about two entries",
        ),
        (
            "sop 0.4",
            "true_class_found",
            0.5,
            "at 40% noise a corrupted sample's s_i has about two entries",
        ),
    ],
)
def test_check_sop_fails_when_its_claim_does_not_hold(key, field, value, expected):
    doctored = results.to_jsonable(_sop_result(cifar10n=True))
    doctored["runs"][key][field] = value
    with pytest.raises(claims.ClaimFailed, match=f"expected {expected}"):
        rb.check_sop(doctored, "full")
