"""The training loop: schedules, augmentation, determinism, and checkpoint/resume."""

import math

import pytest
import torch

from lowdim_course import data, models
from lowdim_course.train import (
    CheckpointError,
    TrainConfig,
    augment_batch,
    evaluate,
    features,
    load_checkpoint,
    lr_factor,
    train,
)


@pytest.mark.parametrize(
    ("schedule", "progress", "expected"),
    [
        ("constant", 0.7, 1.0),
        ("cosine", 0.0, 1.0),
        ("cosine", 0.5, 0.5),
        ("cosine", 1.0, 0.0),
        ("linear", 0.25, 0.75),
        ("step", 0.49, 1.0),
        ("step", 0.5, 0.1),
        ("step", 0.8, 0.01),
    ],
)
def test_lr_factor_by_hand(schedule, progress, expected):
    assert math.isclose(
        lr_factor(progress, TrainConfig(schedule=schedule)), expected, abs_tol=1e-12
    )


def test_unknown_schedule_fails_before_training():
    net = models.MLP(4, 2, width=4, depth=1)
    mixture = data.gaussian_mixture(8, 2, 4)
    with pytest.raises(ValueError, match="unknown schedule"):
        train(net, mixture, TrainConfig(schedule="exponential"), progress=False)


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


def test_augment_without_padding_only_flips():
    x = torch.randint(0, 256, (32, 1, 5, 5), dtype=torch.uint8)
    got = augment_batch(x, 0, torch.Generator().manual_seed(0))
    for a, b in zip(got, x):
        assert torch.equal(a, b) or torch.equal(a, b.flip(2))


def _mixture():
    mixture = data.gaussian_mixture(90, 3, 8, separation=3.0, noise=1.0, seed=1)
    return data.split(mixture, 1 / 3, seed=0)  # 180 train, 90 test


def _mlp(seed=0):
    torch.manual_seed(seed)
    return models.MLP(8, 3, width=32, depth=2, batchnorm=True)


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
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["test_acc"] > 0.85
    assert not net.training  # left in eval mode


def test_same_seed_same_weights_other_seed_other_weights():
    train_set, _ = _mixture()
    cfg = TrainConfig(epochs=3, batch_size=30, lr=0.05)
    a, b, c = _mlp(), _mlp(), _mlp()
    train(a, train_set, cfg, seed=1, progress=False)
    train(b, train_set, cfg, seed=1, progress=False)
    train(c, train_set, cfg, seed=2, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.classifier.weight, c.classifier.weight)


class Interrupted(Exception):
    pass


def _interrupt_at(epoch):
    def on_epoch(e, model):
        if e == epoch:
            raise Interrupted  # like a disconnect, after epoch e-1's checkpoint was written

    return on_epoch


@pytest.mark.parametrize("kind", ["features", "images with augmentation"])
def test_resume_reaches_the_same_weights_as_one_run(tmp_path, kind):
    if kind == "features":
        train_set, make = _mixture()[0], _mlp
        cfg = TrainConfig(epochs=4, batch_size=30, lr=0.05, checkpoint_every=1, schedule="step")
    else:
        train_set = data.synthetic_images(64, num_classes=4, size=8, seed=0)

        def make():
            torch.manual_seed(0)
            return models.SmallCNN(num_classes=4, width=4)

        cfg = TrainConfig(epochs=4, batch_size=16, lr=0.05, augment=True, checkpoint_every=1)

    straight = make()
    full_history = train(straight, train_set, cfg, seed=3, progress=False)

    # 2 epochs, then a "crash" during epoch 3, then a fresh process resumes.
    first = make()
    with pytest.raises(Interrupted):
        train(
            first,
            train_set,
            cfg,
            seed=3,
            checkpoint_dir=tmp_path,
            on_epoch=_interrupt_at(3),
            progress=False,
        )
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 2
    resumed = make()  # new weights: everything must come from the checkpoint
    history = train(
        resumed, train_set, cfg, seed=3, checkpoint_dir=tmp_path, resume=True, progress=False
    )

    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), f"{name} differs after resume"
    assert [r["train_loss"] for r in history] == [r["train_loss"] for r in full_history]
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 4
    assert not list(tmp_path.glob("*.tmp*")), "a temporary checkpoint file was left behind"


def test_resume_without_checkpoint_starts_fresh(tmp_path):
    history = train(
        _mlp(),
        _mixture()[0],
        TrainConfig(epochs=2, batch_size=30),
        checkpoint_dir=tmp_path,
        resume=True,
        progress=False,
    )
    assert len(history) == 2 and (tmp_path / "last.pt").exists()


def test_corrupt_foreign_and_mismatched_checkpoints_are_clear_errors(tmp_path):
    path = tmp_path / "last.pt"
    path.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)

    torch.save({"model": {}, "epoch": 3}, path)
    with pytest.raises(CheckpointError, match="not written by lowdim_course"):
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
    path.write_bytes(raw[: len(raw) // 2])  # truncated by a crash of another program
    with pytest.raises(CheckpointError):
        train(
            _mlp(),
            train_set,
            TrainConfig(epochs=2, batch_size=30),
            checkpoint_dir=tmp_path,
            resume=True,
            progress=False,
        )

    path.write_bytes(raw)
    with pytest.raises(CheckpointError, match="different run.*lr"):
        train(
            _mlp(),
            train_set,
            TrainConfig(epochs=1, batch_size=30, lr=0.5),
            checkpoint_dir=tmp_path,
            resume=True,
            progress=False,
        )


def test_checkpoint_loads_with_weights_only(tmp_path):
    train(
        _mlp(),
        _mixture()[0],
        TrainConfig(epochs=1, batch_size=30),
        checkpoint_dir=tmp_path,
        progress=False,
    )
    state = torch.load(tmp_path / "last.pt", weights_only=True)  # no pickled code inside
    assert state["epoch"] == 1 and "optimizer" in state and "generator" in state


def test_bad_combinations_are_refused():
    mixture = _mixture()[0]
    with pytest.raises(ValueError, match="label_smoothing"):
        train(
            _mlp(),
            mixture,
            TrainConfig(label_smoothing=0.1),
            loss_fn=torch.nn.functional.cross_entropy,
        )
    with pytest.raises(ValueError, match="augment"):
        train(_mlp(), mixture, TrainConfig(augment=True), progress=False)


def test_custom_loss_is_used():
    calls = []

    def loss(logits, y):
        calls.append(len(y))
        return torch.nn.functional.cross_entropy(logits, y)

    train(_mlp(), _mixture()[0], TrainConfig(epochs=1, batch_size=30), loss_fn=loss, progress=False)
    assert calls == [30] * 6  # 180 samples, batches of 30


def test_evaluate_and_features_agree_with_manual_computation():
    train_set, test_set = _mixture()
    net = _mlp()
    train(net, train_set, TrainConfig(epochs=3, batch_size=30), progress=False)
    with torch.no_grad():
        logits = net(test_set.x)
    manual = (logits.argmax(1) == test_set.y).float().mean().item()
    result = evaluate(net, test_set, batch_size=7)
    assert math.isclose(result["acc"], manual, abs_tol=1e-6)
    assert math.isclose(
        result["loss"], torch.nn.functional.cross_entropy(logits, test_set.y).item(), rel_tol=1e-5
    )
    h = features(net, test_set, batch_size=11)
    assert h.shape == (len(test_set), 32)
    assert torch.allclose(net.classifier(h), logits, atol=1e-5)


def test_progress_bar_can_be_silenced(capsys, monkeypatch):
    train(_mlp(), _mixture()[0], TrainConfig(epochs=1, batch_size=30), progress=False)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("LOWDIM_PROGRESS", "0")
    train(_mlp(), _mixture()[0], TrainConfig(epochs=1, batch_size=30))
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("LOWDIM_PROGRESS", "1")
    train(_mlp(), _mixture()[0], TrainConfig(epochs=1, batch_size=30))
    assert "train" in capsys.readouterr().err
