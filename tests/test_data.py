"""Data sets: the original CIFAR-10 / MNIST file formats (tiny files written here), downloads
with checksums (local file:// URLs, no network), and the generated quick-profile data."""

import gzip
import hashlib
import tarfile

import numpy as np
import pytest
import torch
from miniature_data import save_as_numpy1, write_cifar_batch, write_idx

from lowdim_course import data

# ---------------------------------------------------------------- CIFAR-10 binary format


def write_cifar_tree(root, rng):
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    written = [
        write_cifar_batch(folder / f"data_batch_{i}.bin", [i, 9 - i], rng) for i in range(1, 6)
    ]
    test_pixels = write_cifar_batch(folder / "test_batch.bin", [3, 1, 4], rng)
    return folder, written, test_pixels


def test_cifar10_reader_on_a_tiny_file_in_the_original_format(tmp_path):
    _, written, test_pixels = write_cifar_tree(tmp_path, np.random.default_rng(0))

    train, test = data.load_cifar10(tmp_path)
    assert train.x.shape == (10, 3, 32, 32) and train.x.dtype == torch.uint8
    assert test.x.shape == (3, 3, 32, 32) and test.y.tolist() == [3, 1, 4]
    assert train.y.tolist() == [1, 8, 2, 7, 3, 6, 4, 5, 5, 4]
    assert train.y.dtype == torch.int64 and train.num_classes == 10
    # Batches are concatenated in order 1..5, records in file order.
    assert np.array_equal(train.x.numpy(), np.concatenate(written))
    assert np.array_equal(test.x.numpy(), test_pixels)
    assert train.is_image and train.mean == data.CIFAR10_MEAN and test.std == data.CIFAR10_STD
    assert len(train) == 10 and len(test) == 3


def test_cifar10_byte_layout_by_hand(tmp_path):
    """Each pixel's byte offset in a record, worked out by hand: 1 + 1024 c + 32 row + col."""
    records = np.zeros((2, 3073), np.uint8)
    records[0, 0], records[1, 0] = 7, 2  # labels
    records[0, 1] = 11  # red (0, 0)
    records[0, 1 + 1] = 12  # red (0, 1): row-major, so the next byte is the next column
    records[0, 1 + 32] = 13  # red (1, 0)
    records[0, 1 + 1024] = 21  # green (0, 0)
    records[0, 1 + 2048 + 32 * 5 + 9] = 31  # blue (5, 9)
    records[1, 3072] = 255  # blue (31, 31) of the second image, the very last byte
    path = tmp_path / "batch.bin"
    path.write_bytes(records.tobytes())

    x, y = data.read_cifar10_bin(path)
    assert y.tolist() == [7, 2] and y.dtype == torch.int64
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.uint8
    expected = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    expected[0, 0, 0, 0], expected[0, 0, 0, 1], expected[0, 0, 1, 0] = 11, 12, 13
    expected[0, 1, 0, 0] = 21  # green plane: channels first (CHW), not interleaved (HWC)
    expected[0, 2, 5, 9] = 31
    expected[1, 2, 31, 31] = 255
    assert torch.equal(x, expected)


def test_cifar10_reader_rejects_a_wrong_size(tmp_path):
    bad = tmp_path / "batch.bin"
    bad.write_bytes(b"\x00" * 3000)
    with pytest.raises(ValueError, match="not a CIFAR-10 binary batch"):
        data.read_cifar10_bin(bad)


def test_cifar10_with_a_batch_missing_is_not_found(tmp_path):
    folder, _, _ = write_cifar_tree(tmp_path, np.random.default_rng(0))
    (folder / "data_batch_3.bin").unlink()
    with pytest.raises(data.DatasetNotFound, match="lowdim-course download cifar10") as err:
        data.load_cifar10(tmp_path)
    assert str(folder) in str(err.value)


# ---------------------------------------------------------------- MNIST IDX format


def test_idx_magic_numbers_by_hand(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "images.gz", images, magic=0x00000803)
    write_idx(tmp_path / "labels.gz", np.array([9, 0, 1]), magic=0x00000801)
    with gzip.open(tmp_path / "images.gz") as f:
        assert f.read(8) == b"\x00\x00\x08\x03\x00\x00\x00\x02"
    got = data.read_idx(tmp_path / "images.gz")
    assert got.dtype == torch.uint8 and got.shape == (2, 3, 4)
    assert got[1, 2, 3].item() == 23 and got[0, 1, 0].item() == 4  # row-major
    assert data.read_idx(tmp_path / "labels.gz").tolist() == [9, 0, 1]


def test_idx_uncompressed_and_bad_magic(tmp_path):
    write_idx(tmp_path / "plain-idx1-ubyte", np.array([3, 1, 4, 1, 5]), compress=False)
    assert data.read_idx(tmp_path / "plain-idx1-ubyte").tolist() == [3, 1, 4, 1, 5]
    write_idx(tmp_path / "floats.gz", np.zeros((2, 2)), magic=0x00000D02)  # 0x0D: float32
    with pytest.raises(ValueError, match="not an unsigned-byte IDX file"):
        data.read_idx(tmp_path / "floats.gz")
    write_idx(tmp_path / "junk.gz", np.zeros((2, 2)), magic=0x12340802)
    with pytest.raises(ValueError, match="not an unsigned-byte IDX file"):
        data.read_idx(tmp_path / "junk.gz")


def test_mnist_reader_on_tiny_idx_files(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "mnist"
    folder.mkdir()
    names = [url.rsplit("/", 1)[1] for url, _ in data.SOURCES["mnist"]]
    assert names == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    images = rng.integers(0, 256, size=(4, 28, 28))
    test_images = rng.integers(0, 256, size=(2, 28, 28))
    write_idx(folder / names[0], images, magic=0x00000803)
    write_idx(folder / names[1], np.array([5, 0, 4, 1]), magic=0x00000801)
    write_idx(folder / names[2], test_images, magic=0x00000803)
    write_idx(folder / names[3], np.array([7, 2]), magic=0x00000801)
    train, test = data.load_mnist(tmp_path)
    assert train.x.shape == (4, 1, 28, 28) and train.x.dtype == torch.uint8
    assert test.x.shape == (2, 1, 28, 28)
    assert np.array_equal(train.x[:, 0].numpy(), images)
    assert np.array_equal(test.x[:, 0].numpy(), test_images)
    assert train.y.tolist() == [5, 0, 4, 1] and test.y.tolist() == [7, 2]
    assert train.y.dtype == torch.int64 and test.y.dtype == torch.int64
    assert train.mean == data.MNIST_MEAN and train.std == data.MNIST_STD and train.is_image
    assert train.inputs().shape == (4, 1, 28, 28)


# ---------------------------------------------------------------- data root and missing data


def test_missing_data_names_the_path_and_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWDIM_DATA", str(tmp_path / "store"))
    assert data.data_root() == tmp_path / "store"
    with pytest.raises(data.DatasetNotFound) as err:
        data.load_cifar10()
    assert str(tmp_path / "store") in str(err.value)
    assert "lowdim-course download cifar10" in str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    with pytest.raises(data.DatasetNotFound, match="lowdim-course download mnist"):
        data.load("mnist")
    with pytest.raises(ValueError, match="unknown data set"):
        data.load("imagenet")


def test_data_root_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LOWDIM_DATA", "~/datasets")
    assert data.data_root() == tmp_path / "datasets"  # ~ expanded
    _, written, _ = write_cifar_tree(tmp_path / "datasets", np.random.default_rng(2))
    train, _ = data.load_cifar10()  # no root argument: read from $LOWDIM_DATA
    assert np.array_equal(train.x[:2].numpy(), written[0])


def test_default_data_root_is_in_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("LOWDIM_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.data_root() == tmp_path / "lowdim_course"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.data_root() == tmp_path / "home" / ".cache" / "lowdim_course"


# ---------------------------------------------------------------- checksums and downloads


def test_md5sum_matches_hashlib_across_blocks(tmp_path):
    payload = np.random.default_rng(0).integers(0, 256, (3 << 20) + 17, dtype=np.uint8)
    path = tmp_path / "blob"
    path.write_bytes(payload.tobytes())  # larger than md5sum's 1 MiB read size
    assert data.md5sum(path) == hashlib.md5(payload.tobytes()).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert data.md5sum(empty) == "d41d8cd98f00b204e9800998ecf8427e"


def test_download_verifies_checksums(tmp_path, monkeypatch):
    payload = tmp_path / "src" / "train-images-idx3-ubyte.gz"
    payload.parent.mkdir()
    payload.write_bytes(b"not really mnist")
    good = hashlib.md5(payload.read_bytes()).hexdigest()
    assert data.md5sum(payload) == good

    monkeypatch.setitem(data.SOURCES, "mnist", [(payload.as_uri(), good)])
    folder = data.download("mnist", tmp_path / "root")
    assert folder == tmp_path / "root" / "mnist"
    assert (folder / payload.name).read_bytes() == b"not really mnist"

    monkeypatch.setitem(data.SOURCES, "mnist", [(payload.as_uri(), "0" * 32)])
    with pytest.raises(ValueError, match="checksum mismatch") as err:
        data.download("mnist", tmp_path / "other")
    assert good in str(err.value) and "0" * 32 in str(err.value)
    assert not list((tmp_path / "other" / "mnist").iterdir())  # nothing half-written left


def test_download_replaces_a_corrupt_file_and_keeps_a_good_one(tmp_path, monkeypatch):
    calls = []

    def fake_fetch(url, md5, target):
        calls.append(target.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"fresh " + target.name.encode())

    good_bytes = b"fresh b.gz"
    sources = [
        ("https://example.invalid/a.gz", "f" * 32),  # missing: fetched
        ("https://example.invalid/b.gz", hashlib.md5(good_bytes).hexdigest()),  # good: kept
        ("https://example.invalid/c.gz", "e" * 32),  # corrupt: fetched again
    ]
    monkeypatch.setitem(data.SOURCES, "mnist", sources)
    monkeypatch.setattr(data, "_fetch", fake_fetch)
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "b.gz").write_bytes(good_bytes)
    (folder / "c.gz").write_bytes(b"corrupt")
    data.download("mnist", tmp_path)
    assert calls == ["a.gz", "c.gz"]
    assert (folder / "b.gz").read_bytes() == good_bytes


def test_download_uses_the_data_root(tmp_path, monkeypatch):
    targets = []
    monkeypatch.setattr(data, "_fetch", lambda url, md5, target: targets.append(target))
    monkeypatch.setitem(data.SOURCES, "mnist", [("https://example.invalid/x.gz", "0" * 32)])
    monkeypatch.setenv("LOWDIM_DATA", str(tmp_path / "env-root"))
    assert data.download("mnist") == tmp_path / "env-root" / "mnist"
    assert targets == [tmp_path / "env-root" / "mnist" / "x.gz"]


def test_download_reports_network_failures(tmp_path, monkeypatch):
    monkeypatch.setitem(data.SOURCES, "mnist", [((tmp_path / "absent.gz").as_uri(), "0" * 32)])
    with pytest.raises(ConnectionError, match="could not download"):
        data.download("mnist", tmp_path / "root")
    assert not list((tmp_path / "root" / "mnist").iterdir())


def test_download_unknown_name():
    with pytest.raises(ValueError, match="unknown data set 'imagenet'"):
        data.download("imagenet")


def _cifar_archive(tmp_path):
    """A tiny stand-in for cifar-10-binary.tar.gz with the original layout."""
    src = tmp_path / "src"
    _, written, test_pixels = write_cifar_tree(src, np.random.default_rng(3))
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    return archive, written, test_pixels


def test_download_cifar10_from_a_local_archive(tmp_path, monkeypatch):
    archive, written, test_pixels = _cifar_archive(tmp_path)
    monkeypatch.setitem(data.SOURCES, "cifar10", [(archive.as_uri(), data.md5sum(archive))])
    root = tmp_path / "root"
    folder = data.download("cifar10", root)
    assert folder == root / "cifar-10-batches-bin"
    assert data.md5sum(root / "cifar-10-binary.tar.gz") == data.md5sum(archive)
    train, test = data.load_cifar10(root)
    assert np.array_equal(train.x.numpy(), np.concatenate(written))
    assert np.array_equal(test.x.numpy(), test_pixels)
    assert data.download("cifar10", root) == folder  # archive already there: extracted again

    (root / "cifar-10-binary.tar.gz").write_bytes(b"damaged")
    with pytest.raises(ValueError, match="checksum is wrong"):
        data.download("cifar10", root)


def test_download_cifar10_checksum_mismatch(tmp_path, monkeypatch):
    archive, _, _ = _cifar_archive(tmp_path)
    monkeypatch.setitem(data.SOURCES, "cifar10", [(archive.as_uri(), "1" * 32)])
    with pytest.raises(ValueError, match="checksum mismatch"):
        data.download("cifar10", tmp_path / "root")
    assert not (tmp_path / "root" / "cifar-10-binary.tar.gz").exists()
    assert not (tmp_path / "root" / "cifar-10-batches-bin").exists()


# ---------------------------------------------------------------- quick-profile data


def test_digits_split_is_stratified_and_scaled():
    from sklearn.datasets import load_digits

    train, test = data.load_digits()
    assert len(train) + len(test) == 1797 and abs(len(test) - 0.25 * 1797) < 1
    assert train.x.dtype == torch.float32 and train.x.shape[1] == 64
    assert train.y.dtype == torch.int64 and train.num_classes == 10 and not train.is_image
    both = torch.cat([train.x, test.x])
    assert both.min() == 0.0 and both.max() == 1.0  # 4-bit pixels 0..16 divided by 16
    assert torch.equal(both * 16, (both * 16).round())
    totals = np.bincount(load_digits().target, minlength=10)
    counts_test = torch.bincount(test.y, minlength=10).numpy()
    assert np.all(np.abs(counts_test - 0.25 * totals) <= 1)  # stratified: every class 25 %
    assert np.array_equal(counts_test + torch.bincount(train.y, minlength=10).numpy(), totals)
    # The same seed gives the same split, another seed another one.
    again_train, _ = data.load_digits()
    other_train, _ = data.load_digits(seed=1)
    assert torch.equal(train.x, again_train.x) and not torch.equal(train.x, other_train.x)


def test_digits_rows_are_the_sklearn_images():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    train, test = data.load_digits(test_fraction=0.5, seed=3)
    assert abs(len(test) - len(train)) <= 1
    reference = {tuple((row / 16).astype(np.float32).tolist()) for row in bunch.data}
    assert all(tuple(r.tolist()) in reference for r in test.x[:20])


def test_gaussian_mixture_geometry_and_seed():
    mix = data.gaussian_mixture(2000, 3, 5, separation=4.0, noise=0.5, seed=0)
    assert mix.x.shape == (6000, 5) and mix.x.dtype == torch.float32 and mix.num_classes == 3
    assert torch.bincount(mix.y).tolist() == [2000] * 3
    means = torch.stack([mix.x[mix.y == k].mean(0) for k in range(3)])
    distances = torch.cdist(means, means)[torch.triu(torch.ones(3, 3), 1) == 1]
    assert torch.allclose(distances, torch.full((3,), 4.0 * 2**0.5), rtol=0.02)
    assert torch.allclose(means.norm(dim=1), torch.full((3,), 4.0), rtol=0.02)
    within = (mix.x - means[mix.y]).std()
    assert abs(within - 0.5) < 0.02
    again = data.gaussian_mixture(2000, 3, 5, separation=4.0, noise=0.5, seed=0)
    assert torch.equal(mix.x, again.x) and torch.equal(mix.y, again.y)
    other = data.gaussian_mixture(2000, 3, 5, separation=4.0, noise=0.5, seed=1)
    assert not torch.allclose(mix.x, other.x)
    with pytest.raises(ValueError, match="at least num_classes"):
        data.gaussian_mixture(5, 4, 3)


def test_gaussian_mixture_without_noise_is_exactly_a_scaled_simplex():
    mix = data.gaussian_mixture(2, 4, 6, separation=2.5, noise=0.0, seed=5)
    means = mix.x[::2].double().numpy()  # (4, 6): one row per class
    assert np.array_equal(mix.x[1::2].numpy(), mix.x[::2].numpy())  # no noise: identical
    np.testing.assert_allclose(means @ means.T, 2.5**2 * np.eye(4), atol=1e-5)  # orthogonal
    dist = np.linalg.norm(means[:, None] - means[None], axis=-1)
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(dist[off], 2.5 * np.sqrt(2), rtol=1e-6)


def test_inputs_normalise_uint8_images_by_hand():
    x = torch.tensor([[[[0, 255]], [[51, 102]]]], dtype=torch.uint8)  # (1, 2, 1, 2)
    ds = data.ArrayData(x, torch.tensor([0]), 2, "tiny", mean=(0.5, 0.2), std=(0.5, 0.1))
    expected = torch.tensor([[[[-1.0, 1.0]], [[0.0, 2.0]]]])
    assert torch.allclose(ds.inputs(), expected, atol=1e-6)
    assert ds.inputs().dtype == torch.float32
    # A batch passed in is normalised with the data set's statistics.
    batch = torch.tensor([[[[255, 0]], [[0, 255]]]], dtype=torch.uint8)
    assert torch.allclose(ds.inputs(batch), torch.tensor([[[[1.0, -1.0]], [[-2.0, 8.0]]]]))
    features = data.ArrayData(torch.randn(3, 4), torch.zeros(3, dtype=torch.long), 1, "f")
    assert features.inputs() is features.x and not features.is_image


def test_inputs_match_a_numpy_reference_on_cifar_statistics():
    imgs = data.synthetic_images(5, size=4, seed=1)
    imgs.mean, imgs.std = data.CIFAR10_MEAN, data.CIFAR10_STD
    x = imgs.x.numpy().astype(np.float64) / 255
    ref = (x - np.array(data.CIFAR10_MEAN)[:, None, None]) / np.array(data.CIFAR10_STD)[
        :, None, None
    ]
    np.testing.assert_allclose(imgs.inputs().numpy(), ref, rtol=1e-5, atol=1e-5)


def test_subset_and_split():
    mix = data.gaussian_mixture(10, 2, 2, seed=0)
    mask = mix.y == 1
    ones = mix.subset(mask)
    assert len(ones) == 10 and bool((ones.y == 1).all())
    assert torch.equal(ones.x, mix.x[10:])  # the mask keeps rows in order
    picked = mix.subset(torch.tensor([3, 15, 0]))
    assert picked.y.tolist() == [0, 1, 0] and torch.equal(picked.x[1], mix.x[15])
    head = mix.subset(slice(0, 4))
    assert len(head) == 4 and head.name == mix.name and head.num_classes == 2
    train, test = data.split(mix, 0.25, seed=0)
    assert len(train) == 15 and len(test) == 5
    rows = {tuple(r.tolist()) for r in torch.cat([train.x, test.x])}
    assert len(rows) == 20  # a partition: nothing lost, nothing repeated
    again, _ = data.split(mix, 0.25, seed=0)
    assert torch.equal(again.x, train.x)


def test_to_keeps_metadata():
    imgs = data.synthetic_images(3, num_classes=4, size=8, channels=1, seed=0)
    moved = imgs.to("cpu")
    assert torch.equal(moved.x, imgs.x) and moved.mean == imgs.mean and moved.num_classes == 4


def test_synthetic_images_shape_and_seed():
    a = data.synthetic_images(6, num_classes=3, size=8, channels=2, seed=4)
    b = data.synthetic_images(6, num_classes=3, size=8, channels=2, seed=4)
    c = data.synthetic_images(6, num_classes=3, size=8, channels=2, seed=5)
    assert a.x.shape == (6, 2, 8, 8) and a.x.dtype == torch.uint8 and a.is_image
    assert a.y.dtype == torch.int64 and int(a.y.max()) < 3 and len(a.mean) == 2
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and not torch.equal(a.x, c.x)


def test_loaders_table():
    assert set(data.LOADERS) == {"digits", "cifar10", "mnist"}
    train, test = data.load("digits")
    assert train.name == "digits-train" and test.name == "digits-test"


# ---------------------------------------------------------------- CIFAR-10N label file


def test_cifar10n_reader_reads_a_file_pickled_under_numpy_1(tmp_path):
    rng = np.random.default_rng(0)
    labels = {k: rng.integers(0, 10, 50000).astype(np.int64) for k in data.CIFAR10N_KEYS}
    path = tmp_path / data.CIFAR10N_FILE
    save_as_numpy1(labels, path)
    assert b"numpy.core.multiarray" in path.read_bytes()
    read = data.read_cifar10n(path)
    for k in data.CIFAR10N_KEYS:
        assert torch.equal(read[k], torch.as_tensor(labels[k]))


# ---------------------------------------------------------------- the miniature downloads


def test_miniature_downloads_install_and_load_through_the_real_readers(miniature_root, miniature):
    """The miniature archives (tests/miniature_data.py) went through `data.download` with their
    MD5s; the loaders read them from $LOWDIM_DATA exactly as written."""
    cifar, mnist = miniature.written["cifar10"], miniature.written["mnist"]
    folder = miniature_root / data.CIFAR10_DIR
    assert sorted(p.name for p in folder.iterdir()) == [
        "batches.meta.txt",
        *[f"data_batch_{i}.bin" for i in range(1, 6)],
        "readme.html",
        "test_batch.bin",
    ]
    assert (folder / "batches.meta.txt").read_text().split()[:2] == ["airplane", "automobile"]
    assert (folder / "test_batch.bin").stat().st_size == 3073 * len(cifar["y_test"])
    train, test = data.load("cifar10")
    assert np.array_equal(train.x.numpy(), cifar["x_train"])
    assert np.array_equal(train.y.numpy(), cifar["y_train"])
    assert np.array_equal(test.x.numpy(), cifar["x_test"])
    assert torch.bincount(train.y).tolist() == [len(train) // 10] * 10
    assert data.cifar10_train_size() == len(train)
    train, test = data.load("mnist")
    assert np.array_equal(train.x[:, 0].numpy(), mnist["x_train"])
    assert np.array_equal(test.y.numpy(), mnist["y_test"])
    path = miniature_root / data.CIFAR10N_FILE
    assert b"numpy.core.multiarray" in path.read_bytes()  # pickled the authors' way
    labels = data.read_cifar10n(path, num_train=len(cifar["y_train"]))
    assert np.array_equal(labels["clean_label"].numpy(), cifar["y_train"])
    assert (labels["worse_label"] != labels["clean_label"]).float().mean() == pytest.approx(0.4)


def test_miniature_archive_checksums_are_verified(miniature, tmp_path, monkeypatch):
    """download refuses the miniature archive under a wrong MD5, and installs it under its own."""
    url, good = miniature.sources["cifar10"][0]
    monkeypatch.setitem(data.SOURCES, "cifar10", [(url, "2" * 32)])
    with pytest.raises(ValueError, match="checksum mismatch"):
        data.download("cifar10", tmp_path / "bad")
    monkeypatch.setitem(data.SOURCES, "cifar10", [(url, good)])
    assert data.download("cifar10", tmp_path / "good") == tmp_path / "good" / data.CIFAR10_DIR
    assert data.md5sum(tmp_path / "good" / "cifar-10-binary.tar.gz") == good


def test_cifar10n_labels_must_match_the_cifar10_training_set(miniature, tmp_path, monkeypatch):
    """read_cifar10n checks the label count against the training set it labels (not a fixed
    50000): the miniature file passes with the miniature CIFAR-10, fails with another one, and
    label sets of different lengths fail."""
    labels = miniature.written["cifar10n"]
    n = len(labels["clean_label"])
    path = tmp_path / data.CIFAR10N_FILE
    save_as_numpy1(labels, path)
    assert len(data.read_cifar10n(path)["worse_label"]) == n
    assert len(data.read_cifar10n(path, num_train=n)["aggre_label"]) == n
    with pytest.raises(ValueError, match=f"holds {n} labels .* has 50000 images"):
        data.read_cifar10n(path, num_train=50000)
    ragged = dict(labels, worse_label=labels["worse_label"][:-1])
    save_as_numpy1(ragged, tmp_path / "ragged.pt")
    with pytest.raises(ValueError, match="vectors of one length"):
        data.read_cifar10n(tmp_path / "ragged.pt")
    # download checks the file against a CIFAR-10 already in its root: here one of 10 images.
    write_cifar_tree(tmp_path / "root", np.random.default_rng(0))
    url = path.as_uri()
    monkeypatch.setitem(data.SOURCES, "cifar10n", [(url, None)])
    with pytest.raises(ValueError, match="do not belong together"):
        data.download("cifar10n", tmp_path / "root")
