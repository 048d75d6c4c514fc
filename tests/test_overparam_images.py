"""Lecture 6, the learning-rate schedules on real images (`overparam_lr_noise_images`): the
digits as 8x8 images, the class patch, and both parts on fake 32x32 images in place of CIFAR-10
(the full profile's data set, which needs a download), through the real code path."""

from dataclasses import replace

import matplotlib.pyplot as plt
import pytest
import torch
from test_overparam import TINY

from lowdim_course import data, models
from lowdim_course import overparam as op
from lowdim_course.overparam import experiments_lr_noise_images
from lowdim_course.train import lr_factor

pytestmark = pytest.mark.usefixtures("one_thread")


def fake_cifar(n_train: int, n_test: int):
    """(train, test) of random 32x32 colour images with 10 labels, in place of CIFAR-10."""
    g = torch.Generator().manual_seed(0)

    def fake(n):
        x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
        return data.ArrayData(x, torch.randint(0, 10, (n,), generator=g), 10, "fake")

    return fake(n_train), fake(n_test)


def spy_on_build(monkeypatch) -> list:
    """Record the architecture of every network `models.build` makes from now on."""
    archs, build = [], models.build
    monkeypatch.setattr(
        models, "build", lambda arch, *a, **k: archs.append(arch) or build(arch, *a, **k)
    )
    return archs


def test_digits_as_images_are_the_digits():
    """load_images('digits'): the 64 features of each digit as a one-channel 8x8 uint8 image,
    normalised by the training set's statistics; the split and labels are the digits'."""
    images, features = op.load_images("digits"), data.load_digits()
    for img, feat in zip(images, features):
        assert img.is_image and img.x.shape == (len(feat), 1, 8, 8)
        assert torch.equal(img.y, feat.y)
        assert torch.allclose(img.x.reshape(len(feat), 64).float() / 255, feat.x, atol=1 / 510)
    inputs = images[0].inputs()
    assert abs(float(inputs.mean())) < 0.01 and abs(float(inputs.std()) - 1) < 0.01


def test_quick_and_full_configs_name_their_data_and_networks():
    quick, full = op.LRNoiseImagesConfig.quick(), op.LRNoiseImagesConfig.full()
    assert quick.images.dataset == quick.patch.dataset == "digits"  # no download
    assert quick.images.model == quick.patch.model == "mlp" and not quick.images.augment
    assert quick.patch.spec.size <= 4  # fits an 8x8 digit
    assert full.images.dataset == full.patch.dataset == "cifar10"
    assert (full.images.model, full.images.epochs, full.images.augment) == ("resnet18", 164, True)
    assert (full.patch.network, full.patch.epochs, full.patch.spec.size) == ("WRN-16-10", 60, 7)
    # Both profiles compare the same schedules.
    for part in ("images", "patch"):
        a, b = getattr(quick, part).schedules(), getattr(full, part).schedules()
        assert [(s.lr, s.schedule, s.milestones) for s in a.values()] == [
            (s.lr, s.schedule, s.milestones) for s in b.values()
        ]


def test_lr_noise_on_images_runs_both_schedules(monkeypatch, tmp_path):
    """The full profile's real-image comparison, on a few fake 32x32 images (no download):
    both schedules train ResNet18 from the same start, checkpoint, and the figure shows it."""
    monkeypatch.setattr(data, "load", lambda name: fake_cifar(16, 8))
    archs = spy_on_build(monkeypatch)
    config = replace(TINY["overparam_lr_noise_images"], images=op.ImagesConfig("fake", epochs=1))
    result = op.run_lr_noise_images(config, seed=0, progress=False, checkpoint_dir=tmp_path)
    assert archs.count("resnet18") == 2  # from the factory, one per schedule
    assert set(result["images"]) == {"large lr, then decay", "small lr"}
    assert result["images_data"] == "fake" and result["images_network"] == "resnet18"
    assert (tmp_path / "images0" / "last.pt").exists() and (tmp_path / "images1").exists()
    schedules = config.images.schedules()
    assert schedules["large lr, then decay"].lr == 0.1 and schedules["small lr"].lr == 0.001
    fig = op.plot_lr_noise_images(result)
    assert [ax.get_title() for ax in fig.axes][:2] == ["fake, ResNet18"] * 2
    plt.close(fig)


def test_add_patches_writes_the_class_patch_in_the_centre():
    spec = op.PatchSpec()
    g = torch.Generator().manual_seed(0)
    z, v = op.patch_patterns(spec, 3, 10, g)
    assert z.shape == (3, 7, 7) and v.shape == (10, 3, 7, 7)
    assert v.abs().max() <= spec.separation and not torch.allclose(v[0], v[1])
    x = torch.randn(4000, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (4000,), generator=g)
    out, kind = op.add_patches(x, y, spec, (z, v), g)
    frac = {k: float((kind == k).float().mean()) for k in (op.BOTH, op.P_ONLY, op.Q_ONLY)}
    assert abs(frac[op.P_ONLY] - 0.2) < 0.03 and abs(frac[op.Q_ONLY] - 0.16) < 0.03
    inside = (slice(None), slice(None), slice(12, 19), slice(12, 19))
    outside = torch.ones(32, 32, dtype=torch.bool)
    outside[12:19, 12:19] = False
    clean, both, alone = kind == op.P_ONLY, kind == op.BOTH, kind == op.Q_ONLY
    assert torch.equal(out[clean], x[clean])  # clean images untouched
    assert torch.equal(out[both][..., outside], x[both][..., outside])
    assert (out[alone][..., outside] == 0).all()  # patch alone: the rest is zero
    # Inside: z + c v_y, with c = +-1 on patched images and |c| <= 1.75 on patches alone.
    patched = ~clean
    offset, vy = out[inside][patched] - z, v[y[patched]]
    c = (offset * vy).flatten(1).sum(1) / (vy**2).flatten(1).sum(1)
    assert torch.allclose(offset, c[:, None, None, None] * vy, atol=1e-5)
    c_both, c_alone = c[both[patched]], c[alone[patched]]
    assert torch.allclose(c_both.abs(), torch.ones(len(c_both)), atol=1e-5)
    assert (c_alone.abs() <= spec.patch_only_scale + 1e-5).all()
    assert c_alone.abs().std() > 0.2  # scaled by 1.75 U(0, 1), not +-1
    assert (c_both > 0).any() and (c_both < 0).any()


def test_a_small_patch_sits_in_the_centre_of_a_digit():
    """The quick profile's 3x3 patch on 8x8 images: rows and columns 2-4, nothing else."""
    spec = op.PatchSpec(size=3)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 1, 8, 8, generator=g)
    z, v = op.patch_patterns(spec, 1, 10, g)
    y = torch.arange(200) % 10
    out, kind = op.add_patches(x, y, spec, (z, v), g)
    both = kind == op.BOTH
    inside = torch.zeros(8, 8, dtype=torch.bool)
    inside[2:5, 2:5] = True
    assert torch.equal(out[both][..., ~inside], x[both][..., ~inside])
    offset = out[both][:, :, 2:5, 2:5] - z  # +- v_y
    assert torch.allclose(offset.abs(), v[y[both]].abs(), atol=1e-6)


def test_patch_experiment_runs_both_schedules_on_fake_images(monkeypatch, tmp_path):
    """Li, Wei & Ma's patch experiment (full profile, CIFAR-10) on a few fake 32x32 images: both
    schedules train WRN-16-k from the same start, checkpoint, record the three accuracies, and
    the figure gains its patch panel."""
    monkeypatch.setattr(data, "load", lambda name: fake_cifar(16, 8))
    archs = spy_on_build(monkeypatch)
    config = replace(
        TINY["overparam_lr_noise_images"], patch=op.PatchConfig("fake", epochs=1, width=1)
    )
    result = op.run_lr_noise_images(config, seed=0, progress=False, checkpoint_dir=tmp_path)
    assert archs.count("wrn") == 2  # from the factory, one per schedule
    patch = result["patch"]
    assert sum(patch["kinds"].values()) == 16 and patch["network"] == "WRN-16-1"
    assert patch["chance"] == 0.1 and patch["decay_epoch"] == 1  # one epoch: never decayed
    for name in ("large lr, then decay", "small lr"):
        run = patch["runs"][name]
        assert len(run["patch_alone_acc"]) == 1 and len(run["test_acc"]) == 1
    assert (tmp_path / "patch0" / "last.pt").exists() and (tmp_path / "patch1").exists()
    large, small = config.patch.schedules().values()
    assert (large.lr, small.lr, large.gamma, small.schedule) == (0.1, 0.004, 0.04, "constant")
    for schedule in (large, small):
        assert schedule.nesterov and schedule.momentum == 0.9 and schedule.weight_decay == 5e-4
        assert schedule.batch_size == 128 and not schedule.augment
        assert not schedule.mixed_precision  # bf16 would round the +-0.1 class signal
    # Their decay applies from the 30th of 60 epochs: lr_factor per epoch start.
    factors = [lr_factor(e / 60, replace(large, epochs=60)) for e in range(60)]
    assert factors.index(0.04) == 29 and factors[:29] == [1.0] * 29
    full_large = op.PatchConfig("cifar10").schedules()["large lr, then decay"]
    assert experiments_lr_noise_images._epochs_before_decay(full_large) == 29
    fig = op.plot_lr_noise_images(result)
    assert fig.axes[2].get_title() == "Patches on fake, WRN-16-1"
    plt.close(fig)
    with pytest.raises(ValueError, match="needs images"):
        op.patch_experiment(config.patch, data.load_digits(), seed=0, progress=False)


def test_lr_noise_images_without_cifar_fails_before_training(monkeypatch, tmp_path):
    """The full config asks for CIFAR-10: offline and without it, the run stops at once with
    the download command, before any training."""
    monkeypatch.setenv("LOWDIM_DATA", str(tmp_path))
    monkeypatch.setattr(
        experiments_lr_noise_images, "fit", lambda *a, **k: pytest.fail("trained before failing")
    )
    tiny = TINY["overparam_lr_noise_images"]
    for part in ({"images": op.ImagesConfig("cifar10")}, {"patch": op.PatchConfig("cifar10")}):
        with pytest.raises(data.DatasetNotFound, match="lowdim-course download cifar10"):
            op.run_lr_noise_images(replace(tiny, **part), seed=0, progress=False)
