"""Lectures 6 and 7 (the overparam package): label and pixel randomisation, weight movement, the
NTK network and its linearisation, full-batch gradient descent, the two-pattern data set and its
pre-activation noise, the compositional target, tiny experiment runs."""

import copy
import math
from dataclasses import replace

import matplotlib.pyplot as plt
import pytest
import torch

from lowdim_course import claims, models
from lowdim_course import overparam as op
from lowdim_course.overparam import experiments_capacity, experiments_lazy, experiments_lr_noise
from lowdim_course.train import TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 1.0])
def test_randomize_labels_keeps_the_stated_fraction(fraction):
    labels = torch.arange(4000) % 10
    new, randomised = op.randomize_labels(labels, fraction, 10, torch.Generator().manual_seed(0))
    assert int(randomised.sum()) == round(fraction * 4000)
    assert torch.equal(new[~randomised], labels[~randomised])  # the others are untouched
    assert new.min() >= 0 and new.max() < 10
    # Uniform new classes: about 1/K of the randomised labels keep their class.
    if fraction:
        kept = float((new == labels)[randomised].float().mean())
        assert abs(kept - 0.1) < 4 * math.sqrt(0.09 / int(randomised.sum()))


def test_randomize_labels_is_reproducible():
    labels = torch.arange(100) % 10
    a = op.randomize_labels(labels, 0.3, 10, torch.Generator().manual_seed(5))
    b = op.randomize_labels(labels, 0.3, 10, torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_shuffle_pixels_permutes_positions():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 255, (6, 3, 4, 4), dtype=torch.uint8, generator=g)
    fixed = op.shuffle_pixels(images, torch.Generator().manual_seed(1))
    # One permutation for every image and every channel: find it from image 0, channel 0 (its
    # values are distinct) and check it maps all the others.
    src = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4).repeat(6, 3, 1, 1)
    perm = op.shuffle_pixels(src, torch.Generator().manual_seed(1)).reshape(6, 3, 16).long()
    assert (perm == perm[0, 0]).all()
    assert torch.equal(fixed.reshape(6, 3, 16), images.reshape(6, 3, 16)[..., perm[0, 0]])
    # Per image: each image is a permutation of itself (same sorted values), not all the same.
    per = op.shuffle_pixels(src[:, :1], torch.Generator().manual_seed(2), per_image=True)
    flat = per.reshape(6, 16)
    assert torch.equal(flat.sort(1).values, src[:, 0].reshape(6, 16))
    assert len({tuple(row.tolist()) for row in flat}) > 1
    features = torch.randn(5, 64, generator=g)
    out = op.shuffle_pixels(features, torch.Generator().manual_seed(3))
    assert torch.allclose(out.sort(1).values, features.sort(1).values)


def test_relative_movement_by_hand():
    w0 = torch.tensor([[3.0, 0.0], [0.0, 4.0]])  # norm 5
    w = w0 + torch.tensor([[0.0, 3.0], [0.0, 0.0]])  # moved by 3
    assert op.relative_movement([w], [w0]) == pytest.approx(3 / 5)
    b0, b = torch.tensor([0.0, 0.0]), torch.tensor([4.0, 0.0])  # together: sqrt(9+16)/5 = 1
    assert op.relative_movement([w, b], [w0, b0]) == pytest.approx(1.0)
    assert op.relative_movement([w0], [w0]) == 0.0


def test_width_movement_is_measured_on_a_layer_that_widens():
    """The width experiment's 'first layer' grows with the width: an MLP's first layer, a
    WideResNet's first convolution of its first group, never the 16-channel stem."""
    for widen in (1, 4):
        wrn = models.build("wrn", (3, 32, 32), 10, depth=10, width=widen)
        assert experiments_capacity.first_widened_weight(wrn).shape == (16 * widen, 16, 3, 3)
    mlp = models.build("mlp", (64,), 10, width=32, depth=1)
    assert experiments_capacity.first_widened_weight(mlp) is mlp.body[0].weight


def test_ntk_network_output_and_linearisation():
    g = torch.Generator().manual_seed(0)
    net = op.NTKNetwork(5, 7, 3, generator=g)
    x = torch.randn(4, 5, generator=g)
    by_hand = torch.relu(x @ net.W.T / math.sqrt(5)) @ net.a / math.sqrt(7)
    assert torch.allclose(net(x), by_hand)
    params0 = {k: v.detach().clone() for k, v in net.named_parameters()}
    # At the initial point the linearisation is the network.
    assert torch.allclose(op.linearized_output(net, params0, x), net(x).detach())
    # In the output weights a the network is linear, so moving only a is reproduced exactly.
    with torch.no_grad():
        net.a += 0.3 * torch.randn(net.a.shape, generator=g)
    assert torch.allclose(op.linearized_output(net, params0, x), net(x).detach(), atol=1e-6)
    # ReLU is piecewise linear in W: a tiny move that crosses no kink is reproduced exactly; a
    # large one changes activation patterns, which the linearisation cannot follow.
    gaps = []
    for scale in (1e-4, 1.0):
        with torch.no_grad():
            net.a.copy_(params0["a"])
            net.W.copy_(params0["W"] + scale * torch.randn(net.W.shape, generator=g))
            gaps.append(float((op.linearized_output(net, params0, x) - net(x)).abs().max()))
    assert gaps[0] < 1e-5 and gaps[1] > 1e-2
    # The written-out formula agrees with autodiff's Jacobian-vector product.
    delta = {k: (v - params0[k]).detach() for k, v in net.named_parameters()}
    _, jvp = torch.func.jvp(
        lambda p: torch.func.functional_call(net, p, (x,)), (params0,), (delta,)
    )
    assert torch.allclose(
        op.linearized_output(net, params0, x), op.model_at(params0, net, x) + jvp, atol=1e-5
    )


def test_full_batch_descent_is_plain_gradient_descent_until_it_stops():
    """The one full-batch loop of the lazy and compositional sweeps: theta <- theta - lr grad on
    a quadratic, by hand, stopping before the step at which `stop` holds."""
    target = torch.tensor([3.0, -1.0])
    theta = torch.nn.Parameter(torch.zeros(2))
    steps, loss = op.full_batch_descent(
        lambda: ((theta - target) ** 2).sum(),
        op.GradientDescent([theta], lr=0.25),
        max_steps=100,
        stop=lambda loss: float(loss.detach()) < 1e-2,
    )
    # grad = 2 (theta - target): each step halves the distance to the target.
    expected = target * (1 - 0.5**steps)
    assert torch.allclose(theta.detach(), expected)
    assert loss == pytest.approx(float(((expected - target) ** 2).sum()))
    assert loss < 1e-2 <= float(((target * (1 - 0.5 ** (steps - 1)) - target) ** 2).sum())
    theta2 = torch.nn.Parameter(torch.zeros(2))
    steps, _ = op.full_batch_descent(
        lambda: ((theta2 - target) ** 2).sum(), op.GradientDescent([theta2], lr=0.25), max_steps=3
    )
    assert steps == 3 and torch.allclose(theta2.detach(), target * (1 - 0.5**3))


def test_fit_slope_recovers_a_power_law():
    x = [1, 2, 4, 8]
    assert op.fit_slope(x, [3 * v**-0.5 for v in x]) == pytest.approx(-0.5)


def two_pattern_variant(config, **changes):
    """`config` (an LRNoiseConfig) with `changes` to its two-pattern run."""
    return replace(config, two_patterns=replace(config.two_patterns, **changes))


@pytest.fixture(scope="module")
def two_patterns():
    spec = op.TwoPatternSpec(p=20)
    g = torch.Generator().manual_seed(0)
    directions = op.pattern_directions(spec, g)
    x, y, kind = op.two_pattern_data(spec, 2000, directions, g)
    return spec, directions, x, y, kind


def test_two_pattern_data_has_its_proportions_and_structure(two_patterns):
    spec, (w, z, e), x, y, kind = two_patterns
    p = spec.p
    assert int((kind == op.P_ONLY).sum()) == round(spec.frac_p * 2000)
    assert int((kind == op.Q_ONLY).sum()) == round(spec.frac_q * 2000)
    assert abs(float(z @ e)) < 1e-5 and abs(float(e.norm()) - 1) < 1e-5
    x1, x2 = x[:, :p], x[:, p:]
    assert (x2[kind == op.P_ONLY] == 0).all() and (x1[kind == op.Q_ONLY] == 0).all()
    # P: the label is the halfspace of w wherever x1 is present.
    has_p = kind != op.Q_ONLY
    assert torch.equal(y[has_p], (x1[has_p] @ w >= 0).long())
    # Q: x2 - z is 0 for y = 0 and +-delta e for y = 1, wherever x2 is present.
    has_q = kind != op.P_ONLY
    offset = x2[has_q] - z
    along = offset @ e
    assert torch.allclose(offset, along[:, None] * e, atol=1e-5)
    assert torch.allclose(along.abs(), spec.delta * y[has_q].float(), atol=1e-5)
    # Q-only labels are a fair coin; both signs occur for y = 1.
    assert 0.4 < float(y[kind == op.Q_ONLY].float().mean()) < 0.6
    assert (along > 0).any() and (along < 0).any()


def test_the_two_pattern_check_holds_on_the_data_and_fails_on_a_doctored_draw(two_patterns):
    spec, directions, x, y, kind = two_patterns
    assert len(op.check_two_pattern_data(spec, x, y, kind, directions)) == 3
    p, q_only = spec.p, torch.nonzero(kind == op.Q_ONLY)[0, 0]
    flipped = y.clone()
    flipped[torch.nonzero(kind == op.BOTH)[0, 0]] ^= 1  # one label against the half-space
    moved = x.clone()
    moved[q_only, p:] += 0.1 * directions[2]  # a fourth Q point
    relabelled = kind.clone()
    relabelled[q_only] = op.BOTH
    for args, expected in [
        ((x, flipped, kind), "half-space of w"),
        ((moved, y, kind), "three points"),
        ((x, y, relabelled), "exactly"),
    ]:
        with pytest.raises(claims.ClaimFailed, match=expected):
            op.check_two_pattern_data(spec, *args, directions)


def test_q_pattern_is_not_linearly_separable_but_a_network_learns_it_alone(two_patterns):
    spec, _, x, y, kind = two_patterns
    xq, yq = x[kind == op.Q_ONLY][:, spec.p :], y[kind == op.Q_ONLY]
    # The Q points lie on the line z + t e, at t = -delta, 0, +delta with labels 1, 0, 1. A
    # linear classifier is a monotone function of t along a line, so no halfspace separates them.
    _, z, e = op.pattern_directions(spec, torch.Generator().manual_seed(0))
    t = (xq - z) @ e
    for value, label in ((-spec.delta, 1), (0.0, 0), (spec.delta, 1)):
        at = (t - value).abs() < 1e-4
        assert at.any() and (yq[at] == label).all()
    # The patch alone is learnable: a small ReLU network fits the Q-only examples.
    torch.manual_seed(0)
    net = models.MLP(spec.p, 2, width=32, depth=1)
    opt = torch.optim.SGD(net.parameters(), lr=0.2)
    for _ in range(600):
        loss = torch.nn.functional.cross_entropy(net(xq), yq)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float((net(xq).argmax(1) == yq).float().mean()) == 1.0


def test_lr_noise_is_the_two_pattern_run_and_networks_come_from_the_factory(monkeypatch):
    """`run_lr_noise` is `run_two_patterns` on the config's two-pattern part, in both profiles
    generated data (no download), and its networks are built by `models.build`."""
    built, build = [], models.build
    monkeypatch.setattr(models, "build", lambda *a, **k: built.append((a, k)) or build(*a, **k))
    config = TINY["overparam_lr_noise"]
    whole = op.run_lr_noise(config, seed=1, progress=False)
    part = op.run_two_patterns(config.two_patterns, seed=1, progress=False)
    whole.pop("seconds"), part.pop("seconds")
    assert whole == part
    p, width = config.two_patterns.spec.p, config.two_patterns.width
    assert built == [(("mlp", (2 * p,), 2), {"width": width, "depth": 1})] * 4
    full = op.LRNoiseConfig.full()
    assert set(vars(full)) == {"two_patterns", "threads"}  # no real-image part in either profile
    assert full.two_patterns.width > 2 * op.LRNoiseConfig.quick().two_patterns.width
    assert full.two_patterns.seeds >= 5 and full.two_patterns.eval_every > 1


@pytest.mark.parametrize(
    "name, module, trainer, stages",
    [
        ("overparam_lazy", experiments_lazy, "_train_lazy", ["width-32", "width-128"]),
        # both schedules train as one stack: one stage
        ("overparam_lr_noise", experiments_lr_noise, "train_sweep", ["schedules"]),
    ],
)
def test_long_cpu_runs_resume_from_their_finished_stages(
    monkeypatch, tmp_path, capsys, name, module, trainer, stages
):
    """The two longest CPU runs keep each finished width, or their finished training, in their
    checkpoint folder: a restart reads them back, trains nothing again and returns the fresh
    result; a lost stage alone is redone."""
    run = getattr(op, "run_lazy" if name == "overparam_lazy" else "run_lr_noise")
    config = TINY[name]
    fresh = run(config, seed=0, progress=False, checkpoint_dir=tmp_path)
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == sorted(stages)
    calls, original = [], getattr(module, trainer)
    monkeypatch.setattr(module, trainer, lambda *a, **k: calls.append(1) or original(*a, **k))
    capsys.readouterr()
    assert run(config, seed=0, progress=False, checkpoint_dir=tmp_path) == fresh
    assert calls == []
    assert capsys.readouterr().out.count("resuming: ") == len(stages)  # said, not silent
    (tmp_path / f"{stages[-1]}.json").unlink()
    again = run(config, seed=0, progress=False, checkpoint_dir=tmp_path)
    assert len(calls) == 1
    if name == "overparam_lr_noise":  # the redone schedule's time differs, nothing else
        again.pop("seconds"), fresh.pop("seconds")
    assert again == fresh


def test_schedules_trained_as_one_stack_are_the_runs_trained_apart():
    """`run_two_patterns` trains both schedules as one stack, a learning rate per network: each
    network's history is, to the last bit, the one it has when its schedule trains alone."""
    config = TINY["overparam_lr_noise"].two_patterns
    seeds = [5, 6]
    train_sets, test_sets, nets = zip(
        *(op.experiments_lr_noise._two_pattern_sets(config, s, "cpu") for s in seeds)
    )

    def sweep(lrs, copies=1):
        model = op.BatchedMLP(list(nets) * copies, split=config.spec.p, negative_slope=0.2)
        return op.train_sweep(
            model, list(train_sets) * copies, list(test_sets) * copies, lrs=lrs, decay_epoch=2,
            epochs=4, batch_size=50,
            generators=[torch.Generator().manual_seed(s) for _ in range(copies) for s in seeds],
        )  # fmt: skip

    large, small = sweep((1.5, 0.2)), sweep((0.2, 0.2))
    assert large != small
    assert sweep(([1.5, 1.5, 0.2, 0.2], [0.2] * 4), copies=2) == large + small
    assert [r["lr"] for r in large[0]] == [1.5, 1.5, 0.2, 0.2]
    with pytest.raises(ValueError, match="one rate per run"):
        sweep(([1.5, 0.2, 0.2], [0.2] * 4), copies=2)


def test_more_samples_per_dimension_keeps_the_steps_and_its_check_reads_the_direction():
    """N/p is raised at the same N (the same SGD steps) by shrinking p, x1 rescaled so that
    ||x1|| stays; the check passes when both schedules generalise P and the lead falls to the
    noise, and fails otherwise."""
    config = op.LRNoiseConfig.quick().two_patterns
    more_config = op.more_samples_per_dimension(config, 50)
    assert (more_config.train_samples, more_config.spec.p, more_config.seeds) == (500, 10, 3)
    norm = more_config.spec.p_scale * math.sqrt(more_config.spec.p)  # E||x1||^2 = scale^2 p
    assert norm == pytest.approx(config.spec.p_scale * math.sqrt(config.spec.p))
    with pytest.raises(ValueError, match="not a multiple"):
        op.more_samples_per_dimension(config, 30)
    base = op.run_two_patterns(TINY["overparam_lr_noise"].two_patterns, seed=0, progress=False)
    more = copy.deepcopy(base)  # the tiny runs' structure, the numbers shaped by hand
    base["margins_p_only"], more["margins_p_only"] = [0.05, 0.04], [0.005, -0.01]
    for runs in more["runs"].values():
        for run in runs:
            run["final_test_p_only"] = 0.95
    assert len(op.check_more_samples(base, more, (10, 50))) == 3
    fig = op.plot_more_samples(base, more, (10, 50))
    assert all(ax.get_ylabel() and ax.get_title() for ax in fig.axes)
    plt.close(fig)
    for change, expected in [
        (lambda r: r["runs"]["small lr"][0].update(final_test_p_only=0.85), "generalise P"),
        (lambda r: r.update(margins_p_only=[0.03, 0.03]), "less than half"),
        (lambda r: r.update(margins_p_only=[0.04, -0.04]), "no seed's lead"),
    ]:
        doctored = copy.deepcopy(more)
        change(doctored)
        with pytest.raises(claims.ClaimFailed, match=expected):
            op.check_more_samples(base, doctored, (10, 50))


def test_lr_noise_schedules():
    config = op.TwoPatternConfig(large_lr=2.0, small_lr=0.2, epochs=10, decay_at=0.3)
    assert config.schedules() == {"large lr, then decay": (2.0, 0.2), "small lr": (0.2, 0.2)}
    assert config.decay_epoch == 3


def test_batched_mlp_matches_its_networks_and_trains_them_independently():
    torch.manual_seed(0)
    nets = [models.MLP(6, 2, width=8, depth=1) for _ in range(3)]
    batched = op.BatchedMLP(nets)
    x = torch.randn(3, 5, 6)
    out = batched(x)
    for s, net in enumerate(nets):
        assert torch.allclose(out[s], net(x[s]), atol=1e-6)
    # The summed loss keeps the runs' gradients apart: run 1's loss moves only run 1's weights.
    batched(x)[1].sum().backward()
    (w1,) = batched.w1  # without a split the first layer is one block
    assert w1.grad[0].abs().max() == 0 and w1.grad[2].abs().max() == 0
    assert w1.grad[1].abs().max() > 0


def test_split_batched_mlp_adds_a_network_of_x1_and_a_network_of_x2():
    """split=k: f(x1, x2) = g(x1) + h(x2), so f(x1, x2) = f(x1, 0) + f(0, x2) - f(0, 0); its
    two blocks are the networks' weights on the half's own inputs, and it computes what the
    whole first layer with the other half's weights set to zero computes."""
    torch.manual_seed(0)
    nets = [models.MLP(10, 2, width=6, depth=1) for _ in range(2)]  # halves of 3 units: not 4
    split = op.BatchedMLP(nets, split=4)
    x = torch.randn(2, 7, 10)
    x1, x2 = x.clone(), x.clone()
    x1[..., 4:] = 0
    x2[..., :4] = 0
    zero = torch.zeros_like(x)
    assert torch.allclose(split(x), split(x1) + split(x2) - split(zero), atol=1e-5)
    shared = op.BatchedMLP(nets)  # without the split the two halves interact
    assert not torch.allclose(shared(x), shared(x1) + shared(x2) - shared(zero), atol=1e-3)
    first = torch.stack([net.body[0].weight.detach() for net in nets])  # (2, 6, 10)
    mask = torch.zeros(6, 10)
    mask[:3, :4] = mask[3:, 4:] = 1
    assert torch.equal(split.first_layer(), first * mask)
    assert [tuple(w.shape) for w in split.w1] == [(2, 3, 4), (2, 3, 6)]
    for s, net in enumerate(nets):  # the masked first layer, written out
        pre = x[s] @ (first[s] * mask).T + net.body[0].bias
        assert torch.allclose(split(x)[s], net.classifier(torch.relu(pre)), atol=1e-5)
    split(x).sum().backward()
    assert all((w.grad != 0).any() for w in split.w1)


@pytest.mark.parametrize("split", [None, 4])
def test_batched_mlp_predict_is_its_forward_computed_network_by_network(split):
    """`predict`, the evaluation path (per network and block, in chunks of examples), gives the
    noiseless forward's outputs, whatever the chunk."""
    torch.manual_seed(0)
    nets = [models.MLP(10, 2, width=6, depth=1) for _ in range(3)]
    model = op.BatchedMLP(nets, split=split, negative_slope=0.2)
    model.noise = 0.5  # training noise, never in predict
    x = torch.randn(3, 11, 10)
    with torch.no_grad():
        expected = model(x, noisy=False)
    for chunk in (2048, 4, 1):
        assert torch.allclose(model.predict(x, chunk=chunk), expected, atol=1e-6)
    assert not torch.allclose(model(x), expected, atol=1e-3)


def test_batched_mlp_negative_slope_is_a_leaky_relu():
    torch.manual_seed(0)
    net = models.MLP(3, 2, width=5, depth=1)
    leaky = op.BatchedMLP([net], negative_slope=0.2)
    x = torch.randn(1, 4, 3)
    pre = net.body[0](x[0])
    expected = net.classifier(torch.where(pre > 0, pre, 0.2 * pre))
    assert torch.allclose(leaky(x)[0], expected, atol=1e-6)


def test_lr_noise_summary_reads_when_q_was_first_fitted():
    def record(epoch, q, p):
        train = {"Q only": q, "P only": 1.0}
        return {"epoch": epoch, "loss": 0.1, "test_acc": 0.5, "train_by_kind": train,
                "test_by_kind": {"P only": p}}  # fmt: skip

    history = [record(1, 0.5, 0.6), record(2, 0.95, 0.7), record(3, 0.6, 0.8), record(4, 1.0, 0.9)]
    summary = experiments_lr_noise._lr_noise_summary(0, history, decay=2)
    assert summary["q_fitted_epoch"] == 2 and summary["p_test_when_q_fitted"] == 0.7
    assert summary["q_before_decay"] == 0.95 and summary["final_test_p_only"] == 0.9
    never = experiments_lr_noise._lr_noise_summary(0, [record(1, 0.5, 0.6)] * 3, decay=1)
    assert never["q_fitted_epoch"] is None and never["p_test_when_q_fitted"] is None
    # Evaluated every fifth epoch: the epochs are those recorded, not positions in the list.
    sparse = [record(1, 0.5, 0.6), record(5, 0.8, 0.7), record(10, 0.92, 0.75)]
    summary = experiments_lr_noise._lr_noise_summary(0, sparse, decay=5)
    assert summary["q_fitted_epoch"] == 10 and summary["p_test_when_q_fitted"] == 0.75
    assert summary["q_before_decay"] == 0.8


def test_lr_noise_sweep_equals_separate_runs():
    """Training three seeds together gives each seed the result of training it alone."""
    config = two_pattern_variant(
        op.LRNoiseConfig.quick(), train_samples=100, test_samples=50, width=16, epochs=3, seeds=3
    )
    together = op.run_lr_noise(config, seed=0, progress=False)
    alone = op.run_lr_noise(two_pattern_variant(config, seeds=1), seed=2, progress=False)
    for name in together["runs"]:
        a = together["runs"][name][2]["history"]
        b = alone["runs"][name][0]["history"]
        assert [h["loss"] for h in a] == pytest.approx([h["loss"] for h in b], rel=1e-4)
        assert [h["test_acc"] for h in a] == [h["test_acc"] for h in b]


def test_evaluating_less_often_records_the_same_numbers_at_fewer_epochs():
    """eval_every only thins the history: training is the same, and the epochs it keeps (every
    third, the first, the last before the decay, the last) carry the numbers of an every-epoch
    run."""
    assert op.evaluated_epochs(10, 3, 5) == {1, 3, 5, 6, 9, 10}
    assert op.evaluated_epochs(10, 1, 0) == set(range(1, 11))
    config = two_pattern_variant(TINY["overparam_lr_noise"], epochs=10, decay_at=0.5)
    every = op.run_lr_noise(config, seed=0, progress=False)
    sparse = op.run_lr_noise(two_pattern_variant(config, eval_every=3), seed=0, progress=False)
    for name in every["runs"]:
        full, thin = every["runs"][name][0]["history"], sparse["runs"][name][0]["history"]
        assert [h["epoch"] for h in full] == list(range(1, 11))
        assert [h["epoch"] for h in thin] == [1, 3, 5, 6, 9, 10]
        assert thin == [full[h["epoch"] - 1] for h in thin]
    assert sparse["margins_p_only"] == every["margins_p_only"]


def test_compositional_target_is_a_binary_tree():
    g = torch.Generator().manual_seed(0)
    x = 2 * torch.rand(50, 8, generator=g) - 1
    h = op.node_function
    by_hand = h(
        h(h(x[:, 0], x[:, 1]), h(x[:, 2], x[:, 3])), h(h(x[:, 4], x[:, 5]), h(x[:, 6], x[:, 7]))
    )
    assert torch.allclose(op.compositional_target(x), by_hand)
    # f depends on (x1, x2) only through h(x1, x2): swap in another pair with the same value.
    a, b = x[:, 0].clone(), x[:, 1].clone()
    target_value = h(a, b)
    b_new = torch.zeros_like(b)  # h(a', 0) = tanh(a'): choose a' = atanh(h(a, b))
    a_new = torch.atanh(target_value)
    x2 = x.clone()
    x2[:, 0], x2[:, 1] = a_new, b_new
    assert torch.allclose(op.compositional_target(x2), op.compositional_target(x), atol=1e-5)
    # h is not additive: its mixed difference is non-zero.
    mixed = h(torch.tensor(0.5), torch.tensor(0.5)) - h(torch.tensor(0.5), torch.tensor(-0.5))
    mixed -= h(torch.tensor(-0.5), torch.tensor(0.5)) - h(torch.tensor(-0.5), torch.tensor(-0.5))
    assert abs(float(mixed)) > 0.1
    with pytest.raises(ValueError, match="power of two"):
        op.compositional_target(torch.zeros(3, 6))


def test_tree_network_shape_and_parameters():
    net = op.TreeNetwork(8, 4)
    assert models.count_parameters(net) == 7 * (4 * 4 + 1)
    assert net(torch.randn(5, 8)).shape == (5,)
    assert op.shallow_network(8, 16)(torch.randn(3, 8)).shape == (3,)
    assert op.deep_network(8, 16, 3)(torch.randn(3, 8)).shape == (3,)


def test_parameters_needed_interpolates():
    assert op.parameters_needed([10, 100], [0.1, 0.001], 0.01) == pytest.approx(10**1.5)
    assert op.parameters_needed([10, 100], [0.5, 0.2], 0.01) is None
    assert op.parameters_needed([10, 100], [0.005, 0.001], 0.01) == 10


def test_wide_resnet_parameter_counts():
    counts = {k: models.count_parameters(models.WideResNet(40, k)) for k in (1, 2)}
    assert abs(counts[1] / 1e6 - op.WRN_TABLE[1]["params_m"]) < 0.1
    assert abs(counts[2] / 1e6 - op.WRN_TABLE[2]["params_m"]) < 0.1
    net = models.WideResNet(10, 1)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="6n"):
        models.WideResNet(12, 1)


TINY = {
    "overparam_random_labels": replace(
        op.RandomLabelsConfig.quick(),
        train_samples=100,
        width=64,
        fractions=(0.0, 1.0),
        pixels=("random",),
        train=TrainConfig(epochs=2, batch_size=32, lr=0.1, weight_decay=0.0),
    ),
    "overparam_width": replace(
        op.WidthConfig.quick(),
        widths=(4, 32),
        train=TrainConfig(epochs=2, batch_size=64, lr=0.05, weight_decay=0.0),
    ),
    "overparam_lazy": replace(op.LazyConfig.quick(), samples=32, widths=(32, 128), max_steps=50),
    "overparam_lr_noise": two_pattern_variant(
        op.LRNoiseConfig.quick(), train_samples=100, test_samples=100, width=32, epochs=4, seeds=2
    ),
    "overparam_lr_noise_control": two_pattern_variant(
        op.NoiseControlConfig.quick(),
        train_samples=100,
        test_samples=100,
        width=32,
        epochs=4,
        seeds=2,
    ),
    "overparam_lr_noise_images": replace(
        op.LRNoiseImagesConfig.quick(),
        images=replace(op.LRNoiseImagesConfig.quick().images, epochs=2, width=32),
        patch=replace(op.LRNoiseImagesConfig.quick().patch, epochs=2, width=32),
    ),
    "overparam_compositional": replace(
        op.CompositionalConfig.quick(),
        train_samples=100,
        test_samples=100,
        shallow_widths=(4,),
        deep_widths=(4,),
        tree_hidden=(2,),
        steps=20,
    ),
}


@pytest.mark.parametrize("name", list(TINY))
def test_tiny_runs_and_figures(name):
    run, _, figures, _ = op.EXPERIMENTS[name]
    result = run(TINY[name], seed=0, progress=False)
    for plot in figures.values():
        fig = plot(result)
        assert all(ax.get_title() for ax in fig.axes if ax.get_visible() and ax.has_data())
        plt.close(fig)


def test_tiny_runs_are_deterministic():
    config = TINY["overparam_lr_noise"]
    a = op.run_lr_noise(config, seed=3, progress=False)
    b = op.run_lr_noise(config, seed=3, progress=False)
    a.pop("seconds"), b.pop("seconds")  # wall time, the only thing allowed to differ
    assert a == b


def test_registry_follows_the_lecture():
    """EXPERIMENTS lists the experiments in the order lectures 6 and 7 run them, and NOTEBOOKS
    sends to lecture 7 exactly the experiments its notebook runs."""
    import json
    import re
    from pathlib import Path

    from lowdim_course import experiments

    lectures = Path(__file__).parents[1] / "lectures"
    notebooks = ["06_overparameterization.ipynb", "07_learning_rate_noise.ipynb"]
    runs = {run.__name__: name for name, (run, *_) in op.EXPERIMENTS.items()}
    for notebook in notebooks:
        cells = json.loads((lectures / notebook).read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        called = [runs[f] for f in dict.fromkeys(re.findall(r"op\.(run_\w+)\(", code)) if f in runs]
        assert called, notebook
        for name in called:
            assert experiments.get(name).lecture == f"lectures/{notebook}", (name, notebook)
    cells = [c for n in notebooks for c in json.loads((lectures / n).read_text())["cells"]]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    runs = {run.__name__: name for name, (run, *_) in op.EXPERIMENTS.items()}
    called = [runs[f] for f in dict.fromkeys(re.findall(r"op\.(run_\w+)\(", code)) if f in runs]
    assert called == list(op.EXPERIMENTS)


def test_noisy_preactivations_add_gaussian_noise_of_each_networks_size():
    torch.manual_seed(0)
    pre = torch.zeros(3, 2000, 64)
    out = op.noisy_preactivations(pre, torch.tensor([0.0, 0.3, 1.0]))
    assert torch.equal(out[0], pre[0])  # no noise: unchanged
    for s, std in ((1, 0.3), (2, 1.0)):
        assert abs(float(out[s].std()) - std) < 0.01 * std + 1e-3
        assert abs(float(out[s].mean())) < 0.01
    # one number for every network; independent draws for each example and unit
    out = op.noisy_preactivations(pre, 0.5)
    assert abs(float(out.std()) - 0.5) < 0.01
    assert abs(float(torch.corrcoef(out[0, :, :2].T)[0, 1])) < 0.1


def test_noise_reaches_training_steps_only_and_zero_noise_changes_nothing():
    config = TINY["overparam_lr_noise_control"].two_patterns
    seeds = [5, 6]
    train_sets, test_sets, nets = zip(
        *(op.experiments_lr_noise._two_pattern_sets(config, s, "cpu") for s in seeds)
    )
    model = op.BatchedMLP(nets, split=config.spec.p, negative_slope=0.2)
    x = torch.stack([t[0] for t in train_sets])
    clean = model.predict(x)
    model.noise = 1.0
    assert torch.equal(model.predict(x), clean)  # evaluation is noiseless
    assert not torch.allclose(model(x), clean)  # a training step's forward is noisy

    def histories(noise):
        torch.manual_seed(0)
        model = op.BatchedMLP(nets, split=config.spec.p, negative_slope=0.2)
        return op.train_sweep(
            model, train_sets, test_sets, lrs=(0.2, 0.2), decay_epoch=2, epochs=3,
            batch_size=50, generators=[torch.Generator().manual_seed(s) for s in seeds],
            noise=noise,
        )  # fmt: skip

    assert histories(None) == histories((0.0, 0.0))
    assert histories((0.3, 0.0)) != histories(None)
