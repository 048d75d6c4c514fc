"""The training loop: schedules, augmentation, SGD against a NumPy reference, determinism,
checkpoint/resume to bitwise-identical weights, and clear errors."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from lowdim_course import data, models
from lowdim_course.train import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    TrainConfig,
    augment_batch,
    evaluate,
    features,
    load_checkpoint,
    lr_factor,
    train,
)

pytestmark = pytest.mark.usefixtures("one_thread", "seeded")


@pytest.fixture(autouse=True)
def no_progress_env(monkeypatch):
    monkeypatch.delenv("LOWDIM_PROGRESS", raising=False)


# ---------------------------------------------------------------- learning-rate schedules


@pytest.mark.parametrize(
    ("schedule", "progress", "expected"),
    [
        ("constant", 0.0, 1.0),
        ("constant", 0.7, 1.0),
        ("constant", 1.0, 1.0),
        ("cosine", 0.0, 1.0),
        ("cosine", 0.25, (1 + math.sqrt(0.5)) / 2),
        ("cosine", 0.5, 0.5),
        ("cosine", 0.75, (1 - math.sqrt(0.5)) / 2),
        ("cosine", 1.0, 0.0),
        ("linear", 0.0, 1.0),
        ("linear", 0.25, 0.75),
        ("linear", 1.0, 0.0),
        ("step", 0.0, 1.0),
        ("step", 0.49, 1.0),
        ("step", 0.5, 0.1),
        ("step", 0.74, 0.1),
        ("step", 0.75, 0.01),
        ("step", 0.8, 0.01),
    ],
)
def test_lr_factor_by_hand(schedule, progress, expected):
    assert math.isclose(
        lr_factor(progress, TrainConfig(schedule=schedule)), expected, abs_tol=1e-12
    )


def test_step_schedule_with_custom_milestones():
    cfg = TrainConfig(schedule="step", milestones=(0.2, 0.4, 0.9), gamma=0.5)
    got = [lr_factor(p, cfg) for p in (0.1, 0.2, 0.3, 0.5, 0.95)]
    assert got == [1.0, 0.5, 0.5, 0.25, 0.125]


def test_unknown_schedule_fails_before_training():
    with pytest.raises(ValueError, match="unknown schedule 'exponential'"):
        lr_factor(0.3, TrainConfig(schedule="exponential"))
    net = models.MLP(4, 2, width=4, depth=1)
    before = [p.clone() for p in net.parameters()]
    mixture = data.gaussian_mixture(8, 2, 4)
    with pytest.raises(ValueError, match="unknown schedule"):
        train(net, mixture, TrainConfig(schedule="exponential"), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


# ---------------------------------------------------------------- augmentation


def _reference_augment(x, flips, shifts, padding):
    """Independent per-image implementation: flip, zero-pad, crop at (row, col) offsets."""
    out = torch.empty_like(x)
    H, W = x.shape[2:]
    for i in range(len(x)):
        img = x[i].flip(2) if flips[i] else x[i]
        padded = torch.zeros(x.shape[1], H + 2 * padding, W + 2 * padding, dtype=x.dtype)
        padded[:, padding : padding + H, padding : padding + W] = img
        r, c = shifts[0][i], shifts[1][i]
        out[i] = padded[:, r : r + H, c : c + W]
    return out


def test_augment_batch_matches_a_per_image_reference():
    x = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    g = torch.Generator().manual_seed(5)
    got = augment_batch(x, 2, g)
    # Replay the generator's draws in the same order: flips, then the two shifts.
    g.manual_seed(5)
    flips = torch.rand(16, generator=g) < 0.5
    shifts = torch.randint(0, 5, (2, 16), generator=g)
    assert got.dtype == torch.uint8 and got.shape == x.shape
    assert torch.equal(got, _reference_augment(x, flips, shifts, 2))
    assert 0 < flips.sum() < 16 and len(set(shifts[0].tolist())) > 1  # really random


def _numpy_crops(image, padding):
    """Every (flipped, row, col) crop of the zero-padded image, computed with NumPy."""
    C, H, W = image.shape
    for flipped in (False, True):
        img = image[:, :, ::-1] if flipped else image
        padded = np.pad(img, ((0, 0), (padding, padding), (padding, padding)))
        for r in range(2 * padding + 1):
            for c in range(2 * padding + 1):
                yield (flipped, r, c), padded[:, r : r + H, c : c + W]


@pytest.mark.parametrize("padding", [1, 2])
def test_every_augmented_image_is_a_crop_of_the_padded_input(padding):
    # Non-square images catch a mix-up of rows and columns; pixels >= 1 make every
    # crop distinguishable from the zero fill, so the matching crop is unique.
    g = torch.Generator().manual_seed(0)
    x = torch.randint(1, 256, (48, 2, 5, 7), dtype=torch.uint8, generator=g)
    out = augment_batch(x, padding, torch.Generator().manual_seed(1))
    assert out.shape == x.shape and out.dtype == torch.uint8
    found = []
    for original, augmented in zip(x.numpy(), out.numpy()):
        matches = [
            key for key, crop in _numpy_crops(original, padding) if (crop == augmented).all()
        ]
        assert len(matches) == 1, "an output image is not a flip + translation of its input"
        found.append(matches[0])
    flips, rows, cols = zip(*found)
    assert set(flips) == {False, True}
    assert set(rows) == set(cols) == set(range(2 * padding + 1))  # every offset is drawn


def test_augment_without_padding_only_flips():
    x = torch.randint(0, 256, (32, 1, 5, 6), dtype=torch.uint8)
    got = augment_batch(x, 0, torch.Generator().manual_seed(0))
    assert got.dtype == torch.uint8
    flipped = []
    for a, b in zip(got, x):
        assert torch.equal(a, b) or torch.equal(a, b.flip(2))
        flipped.append(torch.equal(a, b.flip(2)))
    assert 0 < sum(flipped) < 32  # some flipped, some not
    # A horizontal flip reverses the order of the columns (NumPy reference), not the rows.
    for a, b, f in zip(got.numpy(), x.numpy(), flipped):
        assert np.array_equal(a, b[:, :, ::-1] if f else b)


def test_augment_is_reproducible_and_advances_the_generator():
    x = torch.randint(0, 256, (16, 3, 6, 6), dtype=torch.uint8)
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    a, b = augment_batch(x, 2, g1), augment_batch(x, 2, g2)
    assert torch.equal(a, b)
    assert not torch.equal(augment_batch(x, 2, g1), a)  # the next batch draws afresh


# ---------------------------------------------------------------- SGD against NumPy


def _hand_factor(schedule, t, milestones, gamma):
    return {
        "constant": 1.0,
        "cosine": (1 + math.cos(math.pi * t)) / 2,
        "linear": 1 - t,
        "step": gamma ** len([m for m in milestones if t >= m]),
    }[schedule]


def _reference_sgd(W0, X, Y, cfg, seed, num_classes):
    """Softmax regression trained by hand: batches from the seeded permutation, PyTorch's SGD
    update (weight decay into the gradient, momentum buffer, optional Nesterov), schedule and
    linear warm-up per step, label smoothing. Returns the weights and per-epoch records."""
    n, bs = len(X), cfg.batch_size
    steps = n // bs if cfg.drop_last and n >= bs else math.ceil(n / bs)
    total, warm = steps * cfg.epochs, cfg.warmup_epochs * steps
    g = torch.Generator().manual_seed(seed)
    W, buf, step, records = W0.copy(), None, 0, []
    eps = cfg.label_smoothing
    for epoch in range(cfg.epochs):
        perm = torch.randperm(n, generator=g).numpy()
        loss_sum, correct, seen = 0.0, 0, 0
        for i in range(steps):
            idx = perm[i * bs : (i + 1) * bs]
            x, y = X[idx], Y[idx]
            lr = cfg.lr * _hand_factor(cfg.schedule, step / total, cfg.milestones, cfg.gamma)
            if step < warm:
                lr *= (step + 1) / warm
            logits = x @ W.T
            z = logits - logits.max(1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(1, keepdims=True))
            target = np.full_like(logp, eps / num_classes)
            target[np.arange(len(y)), y] += 1 - eps
            loss = -(target * logp).sum(1).mean()
            grad = (np.exp(logp) - target).T @ x / len(y)
            d = grad + cfg.weight_decay * W
            buf = d.copy() if buf is None else cfg.momentum * buf + d
            W = W - lr * (d + cfg.momentum * buf if cfg.nesterov else buf)
            loss_sum += loss * len(y)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
            step += 1
        records.append(
            {
                "epoch": epoch + 1,
                "lr": lr,
                "train_loss": loss_sum / seen,
                "train_acc": correct / seen,
            }
        )
    return W, records


@pytest.mark.parametrize(
    "cfg",
    [
        TrainConfig(epochs=3, batch_size=20, lr=0.3, schedule="cosine"),
        TrainConfig(
            epochs=3,
            batch_size=20,
            lr=0.2,
            schedule="step",
            milestones=(0.3, 0.6),
            gamma=0.5,
            nesterov=True,
            warmup_epochs=1,
            weight_decay=1e-2,
        ),
        TrainConfig(
            epochs=2,
            batch_size=25,
            lr=0.5,
            schedule="linear",
            drop_last=False,
            warmup_epochs=0.5,
            label_smoothing=0.1,
            momentum=0.5,
        ),
        TrainConfig(epochs=2, batch_size=100, lr=0.4, schedule="constant", weight_decay=0.0),
    ],
    ids=["cosine", "step-nesterov-warmup", "linear-remainder-smoothing", "full-batch"],
)
def test_sgd_matches_a_numpy_reference(cfg):
    mix = data.gaussian_mixture(20, 3, 5, separation=1.5, seed=2)  # 60 samples
    torch.manual_seed(0)
    net = models.DeepLinearNetwork([5, 3])  # one bias-free linear layer: softmax regression
    W0 = net.classifier.weight.detach().double().numpy().copy()
    history = train(net, mix, cfg, seed=4, progress=False)
    W, records = _reference_sgd(W0, mix.x.double().numpy(), mix.y.numpy(), cfg, 4, 3)
    np.testing.assert_allclose(net.classifier.weight.detach().numpy(), W, rtol=1e-4, atol=1e-6)
    assert len(history) == len(records) == cfg.epochs
    for got, want in zip(history, records):
        assert got["epoch"] == want["epoch"]
        assert math.isclose(got["lr"], want["lr"], rel_tol=1e-12)
        assert math.isclose(got["train_loss"], want["train_loss"], rel_tol=1e-5)
        assert got["train_acc"] == want["train_acc"]


def test_batches_per_epoch_and_the_custom_loss():
    calls = []

    def loss(logits, y):
        calls.append(len(y))
        return F.cross_entropy(logits, y)

    train_set = _mixture()[0]  # 180 samples
    train(_mlp(), train_set, TrainConfig(epochs=1, batch_size=30), loss_fn=loss, progress=False)
    assert calls == [30] * 6
    calls.clear()
    train(_mlp(), train_set, TrainConfig(epochs=1, batch_size=40), loss_fn=loss, progress=False)
    assert calls == [40] * 4  # drop_last: the 20 left over are skipped
    calls.clear()
    cfg = TrainConfig(epochs=1, batch_size=40, drop_last=False)
    train(_mlp(), train_set, cfg, loss_fn=loss, progress=False)
    assert calls == [40] * 4 + [20]
    calls.clear()
    train(_mlp(), train_set, TrainConfig(epochs=1, batch_size=500), loss_fn=loss, progress=False)
    assert calls == [180]  # fewer samples than a batch: one batch of all of them


# ---------------------------------------------------------------- learning and determinism


def _mixture():
    mixture = data.gaussian_mixture(90, 3, 8, separation=3.0, noise=1.0, seed=1)
    return data.split(mixture, 1 / 3, seed=0)  # 180 train, 90 test


def _mlp(seed=0):
    torch.manual_seed(seed)
    return models.MLP(8, 3, width=32, depth=2, batchnorm=True)


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def test_training_learns_and_records_history():
    train_set, test_set = _mixture()
    net = _mlp()
    history = train(
        net,
        train_set,
        TrainConfig(epochs=15, batch_size=30, lr=0.05),
        test_data=test_set,
        progress=False,
    )
    assert [r["epoch"] for r in history] == list(range(1, 16))
    assert set(history[0]) == {
        "epoch",
        "lr",
        "train_loss",
        "train_acc",
        "test_loss",
        "test_acc",
        "seconds",
    }
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert history[-1]["test_acc"] > 0.85 and history[-1]["train_acc"] > 0.85
    assert all(a["seconds"] <= b["seconds"] for a, b in zip(history, history[1:]))
    assert not net.training  # left in eval mode
    final = evaluate(net, test_set)
    assert final["acc"] == history[-1]["test_acc"]


def test_same_seed_same_weights_other_seed_other_weights():
    train_set, _ = _mixture()
    cfg = TrainConfig(epochs=3, batch_size=30, lr=0.05)
    a, b, c = _mlp(), _mlp(), _mlp()
    ha = train(a, train_set, cfg, seed=1, progress=False)
    hb = train(b, train_set, cfg, seed=1, progress=False)
    train(c, train_set, cfg, seed=2, progress=False)
    assert _same_weights(a, b)
    assert [r["train_loss"] for r in ha] == [r["train_loss"] for r in hb]
    assert not torch.equal(a.classifier.weight, c.classifier.weight)


def test_training_randomness_comes_only_from_its_own_generator():
    train_set = _mixture()[0]
    cfg = TrainConfig(epochs=2, batch_size=30)
    a, b = _mlp(), _mlp()
    torch.manual_seed(123)
    train(a, train_set, cfg, progress=False)
    assert torch.equal(torch.rand(3), torch.rand(3, generator=torch.Generator().manual_seed(123)))
    torch.manual_seed(456)  # another global state: the same weights
    train(b, train_set, cfg, progress=False)
    assert _same_weights(a, b)


# ---------------------------------------------------------------- checkpoint and resume


class Interrupted(Exception):
    pass


def _callback(calls, stop_at=None):
    """Records the epochs it sees and a metric; raises in epoch `stop_at` like a crash.

    train() calls on_epoch before it writes that epoch's checkpoint, so raising in epoch k
    leaves the checkpoint of the last multiple of checkpoint_every below k."""

    def on_epoch(epoch, model):
        calls.append(epoch)
        if epoch == stop_at:
            raise Interrupted
        return {
            "sq_norm": sum(float(p.detach().double().square().sum()) for p in model.parameters())
        }

    return on_epoch


def _images_case():
    train_set = data.synthetic_images(64, num_classes=4, size=8, seed=0)
    test_set = data.synthetic_images(16, num_classes=4, size=8, seed=1)

    def make():
        torch.manual_seed(0)
        return models.SmallCNN(num_classes=4, width=4)

    return train_set, test_set, make


def _strip(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


@pytest.mark.parametrize(
    ("kind", "every", "stop_at", "saved_epoch"),
    [
        ("features", 1, 3, 2),
        ("features", 2, 4, 2),
        ("images with augmentation", 1, 3, 2),
        ("dropout", 1, 3, 2),
    ],
)
def test_resume_reaches_the_same_weights_as_one_run(tmp_path, kind, every, stop_at, saved_epoch):
    if kind == "features":
        train_set, test_set = _mixture()
        make = _mlp
        cfg = TrainConfig(epochs=4, batch_size=30, lr=0.05, checkpoint_every=every, schedule="step")
    elif kind == "dropout":
        # Dropout draws from torch's global RNG, which the checkpoint must carry too.
        train_set, test_set = _mixture()

        def make():
            torch.manual_seed(0)
            return torch.nn.Sequential(
                torch.nn.Linear(8, 32),
                torch.nn.ReLU(),
                torch.nn.Dropout(0.3),
                torch.nn.Linear(32, 3),
            )

        cfg = TrainConfig(epochs=4, batch_size=30, lr=0.05, checkpoint_every=every)
    else:
        train_set, test_set, make = _images_case()
        cfg = TrainConfig(
            epochs=4, batch_size=16, lr=0.05, augment=True, crop_padding=2, checkpoint_every=every
        )
    run = dict(test_data=test_set, seed=3, progress=False)

    straight = make()
    full_history = train(straight, train_set, cfg, on_epoch=_callback([]), **run)

    # The first epochs, then a "crash" inside a later epoch, then a fresh process resumes.
    first, calls = make(), []
    with pytest.raises(Interrupted):
        train(
            first,
            train_set,
            cfg,
            checkpoint_dir=tmp_path,
            on_epoch=_callback(calls, stop_at),
            **run,
        )
    assert calls == list(range(1, stop_at + 1))
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == saved_epoch

    torch.manual_seed(999)  # the global RNG in the new process is in another state
    resumed, calls = make(), []  # new weights: everything must come from the checkpoint
    history = train(
        resumed,
        train_set,
        cfg,
        checkpoint_dir=tmp_path,
        resume=True,
        on_epoch=_callback(calls),
        **run,
    )
    assert calls == list(range(saved_epoch + 1, cfg.epochs + 1))  # redoes the lost epochs

    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), f"{name} differs after resume"
    assert _strip(history) == _strip(full_history)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 4
    assert not list(tmp_path.glob("*.tmp*")), "a temporary checkpoint file was left behind"
    assert not resumed.training


def test_resume_tolerates_a_new_checkpoint_interval(tmp_path):
    train_set = _mixture()[0]
    cfg = TrainConfig(epochs=3, batch_size=30, checkpoint_every=1)
    straight = _mlp()
    train(straight, train_set, cfg, progress=False)
    with pytest.raises(Interrupted):
        train(
            _mlp(),
            train_set,
            cfg,
            checkpoint_dir=tmp_path,
            on_epoch=_callback([], 2),
            progress=False,
        )
    resumed = _mlp()
    other = TrainConfig(epochs=3, batch_size=30, checkpoint_every=5)
    train(resumed, train_set, other, checkpoint_dir=tmp_path, resume=True, progress=False)
    assert _same_weights(straight, resumed)


def test_resume_after_the_end_changes_nothing(tmp_path):
    train_set = _mixture()[0]
    cfg = TrainConfig(epochs=2, batch_size=30)
    done = _mlp()
    history = train(done, train_set, cfg, checkpoint_dir=tmp_path, progress=False)
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 2  # written at the end
    again, calls = _mlp(seed=5), []
    again_history = train(
        again,
        train_set,
        cfg,
        checkpoint_dir=tmp_path,
        resume=True,
        on_epoch=_callback(calls),
        progress=False,
    )
    assert calls == [] and again_history == history
    assert _same_weights(done, again)


def test_without_interval_only_the_end_is_saved(tmp_path):
    train_set = _mixture()[0]
    cfg = TrainConfig(epochs=3, batch_size=30, checkpoint_every=0)
    with pytest.raises(Interrupted):
        train(
            _mlp(),
            train_set,
            cfg,
            checkpoint_dir=tmp_path,
            on_epoch=_callback([], 3),
            progress=False,
        )
    assert not (tmp_path / "last.pt").exists()


def test_resume_without_checkpoint_starts_fresh(tmp_path):
    train_set = _mixture()[0]
    cfg = TrainConfig(epochs=2, batch_size=30)
    history = train(
        _mlp(), train_set, cfg, checkpoint_dir=tmp_path / "new", resume=True, progress=False
    )
    assert len(history) == 2 and (tmp_path / "new" / "last.pt").exists()


def test_resume_false_ignores_and_overwrites_a_checkpoint(tmp_path):
    train_set = _mixture()[0]
    train(
        _mlp(),
        train_set,
        TrainConfig(epochs=1, batch_size=30, lr=0.5),
        checkpoint_dir=tmp_path,
        progress=False,
    )
    cfg = TrainConfig(epochs=2, batch_size=30)
    fresh, reference = _mlp(), _mlp()
    train(fresh, train_set, cfg, checkpoint_dir=tmp_path, progress=False)
    train(reference, train_set, cfg, progress=False)
    assert _same_weights(fresh, reference)
    assert load_checkpoint(tmp_path / "last.pt")["config"]["lr"] == cfg.lr


def test_checkpoint_contents_load_with_weights_only(tmp_path):
    net = _mlp()
    train(
        net,
        _mixture()[0],
        TrainConfig(epochs=1, batch_size=30),
        checkpoint_dir=tmp_path,
        seed=7,
        progress=False,
    )
    state = torch.load(tmp_path / "last.pt", weights_only=True)  # no pickled code inside
    assert state["format"] == CHECKPOINT_FORMAT and state["seed"] == 7
    assert state["epoch"] == 1 and state["step"] == 6 and len(state["history"]) == 1
    assert {"optimizer", "generator", "torch_rng", "config", "model"} <= set(state)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in state["model"].items())


def test_corrupt_checkpoints_are_clear_errors(tmp_path):
    path = tmp_path / "last.pt"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(CheckpointError, match="not a readable checkpoint") as err:
        load_checkpoint(path)
    assert str(path) in str(err.value) and "delete it" in str(err.value)

    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)

    train_set = _mixture()[0]
    train(
        _mlp(),
        train_set,
        TrainConfig(epochs=1, batch_size=30),
        checkpoint_dir=tmp_path,
        progress=False,
    )
    raw = path.read_bytes()
    for cut in (10, len(raw) // 2, len(raw) - 20):
        path.write_bytes(raw[:cut])  # truncated, e.g. by a crash of another program
        with pytest.raises(CheckpointError, match="not a readable checkpoint"):
            load_checkpoint(path)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        train(
            _mlp(),
            train_set,
            TrainConfig(epochs=2, batch_size=30),
            checkpoint_dir=tmp_path,
            resume=True,
            progress=False,
        )


class _Payload:
    pass


def test_foreign_checkpoints_are_clear_errors(tmp_path):
    path = tmp_path / "last.pt"
    for foreign in ({"a": 1}, {"model": {}, "epoch": 3}, [1, 2], {"format": "other/v1"}):
        torch.save(foreign, path)
        with pytest.raises(CheckpointError, match="not written by lowdim_course"):
            load_checkpoint(path)
    # Arbitrary pickled objects are refused by weights_only loading, never executed.
    torch.save({"format": CHECKPOINT_FORMAT, "payload": _Payload()}, path)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)

    torch.save({"a": 1}, path)
    with pytest.raises(CheckpointError, match="not written by lowdim_course"):
        train(
            _mlp(),
            _mixture()[0],
            TrainConfig(epochs=1, batch_size=30),
            checkpoint_dir=tmp_path,
            resume=True,
            progress=False,
        )


def test_resuming_another_run_is_refused(tmp_path):
    train_set = _mixture()[0]
    cfg = TrainConfig(epochs=1, batch_size=30)
    train(_mlp(), train_set, cfg, checkpoint_dir=tmp_path, seed=0, progress=False)

    def resume(config, seed=0):
        train(
            _mlp(),
            train_set,
            config,
            checkpoint_dir=tmp_path,
            resume=True,
            seed=seed,
            progress=False,
        )

    with pytest.raises(CheckpointError, match=r"different run.*\['lr'\]"):
        resume(TrainConfig(epochs=1, batch_size=30, lr=0.5))
    with pytest.raises(CheckpointError, match=r"\['epochs', 'schedule'\]"):
        resume(TrainConfig(epochs=3, batch_size=30, schedule="linear"))
    with pytest.raises(CheckpointError, match="seed"):
        resume(cfg, seed=1)
    resume(cfg)  # the same run resumes fine


def test_resuming_a_run_of_other_settings_is_refused(tmp_path):
    """What defines a run beyond TrainConfig (run_settings, a per-sample module's settings())
    is saved with the checkpoint: a changed value refuses to resume instead of reading back
    the old run."""

    class PerSample(torch.nn.Module):
        def __init__(self, lr):
            super().__init__()
            self.lr, self.w = lr, torch.nn.Parameter(torch.zeros(180))

        def settings(self):
            return {"lr": self.lr}

        def param_groups(self):
            return [{"params": [self.w], "lr": self.lr}]

        def forward(self, logits, y, idx):
            return F.cross_entropy(logits, y) + self.w[idx].pow(2).sum()

    train_set = _mixture()[0]
    cfg = TrainConfig(epochs=1, batch_size=30)

    def run(settings, lr=0.1):
        return train(
            _mlp(),
            train_set,
            cfg,
            per_sample=PerSample(lr),
            checkpoint_dir=tmp_path,
            resume=True,
            run_settings=settings,
            progress=False,
        )

    run({"noise": 0.2})
    with pytest.raises(CheckpointError, match=r"settings\.noise"):
        run({"noise": 0.4})
    with pytest.raises(CheckpointError, match=r"settings\.per_sample\.lr\b"):
        run({"noise": 0.2}, lr=1.0)
    with pytest.raises(CheckpointError, match=r"settings\.labels"):
        run({"noise": 0.2, "labels": "worst"})
    assert len(run({"noise": 0.2})) == 1  # the same run is read back

    # The data and the architecture are recorded without being named.
    relabelled = dataclasses.replace(train_set, y=(train_set.y + 1) % 3)
    with pytest.raises(CheckpointError, match=r"settings\.data\b"):
        train(_mlp(), relabelled, cfg, checkpoint_dir=tmp_path, resume=True, progress=False)
    wider = models.MLP(8, 3, width=64, depth=2, batchnorm=True)
    with pytest.raises(CheckpointError, match=r"settings\.model\b"):
        train(wider, train_set, cfg, checkpoint_dir=tmp_path, resume=True, progress=False)


# ---------------------------------------------------------------- bad combinations


def test_bad_combinations_are_refused():
    mixture = _mixture()[0]
    with pytest.raises(ValueError, match="label_smoothing"):
        train(
            _mlp(),
            mixture,
            TrainConfig(label_smoothing=0.1),
            loss_fn=F.cross_entropy,
            progress=False,
        )
    with pytest.raises(ValueError, match="augment=True needs uint8 images"):
        train(_mlp(), mixture, TrainConfig(augment=True), progress=False)


# ---------------------------------------------------------------- evaluate and features


def test_evaluate_and_features_agree_with_manual_computation():
    train_set, test_set = _mixture()
    net = _mlp()
    train(net, train_set, TrainConfig(epochs=3, batch_size=30), progress=False)
    with torch.no_grad():
        logits = net(test_set.x)
    manual = (logits.argmax(1) == test_set.y).double().mean().item()
    result = evaluate(net, test_set, batch_size=7)
    assert math.isclose(result["acc"], manual, abs_tol=1e-9)
    assert math.isclose(result["loss"], F.cross_entropy(logits, test_set.y).item(), rel_tol=1e-5)
    doubled = evaluate(net, test_set, loss_fn=lambda z, y: 2 * F.cross_entropy(z, y))
    assert math.isclose(doubled["loss"], 2 * result["loss"], rel_tol=1e-5)
    h = features(net, test_set, batch_size=11)
    assert h.shape == (len(test_set), 32) and h.dtype == torch.float32
    assert torch.allclose(net.classifier(h), logits, atol=1e-5)


def test_evaluate_and_features_normalise_images():
    train_set, test_set, make = _images_case()
    net = make()
    train(net, train_set, TrainConfig(epochs=1, batch_size=16, augment=True), progress=False)
    net.train()  # evaluate and features must switch to eval mode themselves
    result = evaluate(net, test_set, batch_size=5)
    assert not net.training
    x = (test_set.x.double() / 255 - 0.5) / 0.25  # synthetic_images: mean 0.5, std 0.25
    with torch.no_grad():
        logits = net(x.float())
        h_manual = net.features(x.float())
    manual_acc = (logits.argmax(1) == test_set.y).double().mean().item()
    assert math.isclose(result["acc"], manual_acc, abs_tol=1e-9)
    assert math.isclose(result["loss"], F.cross_entropy(logits, test_set.y).item(), rel_tol=1e-4)
    net.train()
    h = features(net, test_set, batch_size=3)
    assert h.shape == (16, 16) and torch.allclose(h, h_manual, atol=1e-5)


# ---------------------------------------------------------------- progress bar


def test_progress_bar_can_be_silenced(capsys, monkeypatch):
    train(_mlp(), _mixture()[0], TrainConfig(epochs=1, batch_size=30), progress=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    monkeypatch.setenv("LOWDIM_PROGRESS", "0")
    train(_mlp(), _mixture()[0], TrainConfig(epochs=1, batch_size=30))
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("LOWDIM_PROGRESS", "1")
    train(_mlp(), _mixture()[0], TrainConfig(epochs=1, batch_size=30))
    assert "train" in capsys.readouterr().err
    train(_mlp(), _mixture()[0], TrainConfig(epochs=1, batch_size=30), progress=True)
    assert "train" in capsys.readouterr().err


def test_mixed_precision_false_keeps_float32_on_cuda():
    """bf16 autocast is for CUDA only, and `mixed_precision=False` switches it off there too
    (checked without a GPU: the context chosen for a CUDA device)."""
    import contextlib

    from lowdim_course.train import _autocast

    cuda = torch.device("cuda")
    assert isinstance(_autocast(cuda, enabled=False), contextlib.nullcontext)
    assert isinstance(_autocast(torch.device("cpu")), contextlib.nullcontext)
    assert TrainConfig().mixed_precision
