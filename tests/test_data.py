import gzip
import hashlib
import struct

import numpy as np
import pytest
import torch

from lowdim_course import data


def write_cifar_batch(path, labels, rng):
    """Records in CIFAR-10's binary format: 1 label byte, then 1024 R, 1024 G, 1024 B bytes."""
    pixels = rng.integers(0, 256, size=(len(labels), 3, 32, 32), dtype=np.uint8)
    records = np.concatenate(
        [np.array(labels, np.uint8)[:, None], pixels.reshape(len(labels), -1)], 1
    )
    path.write_bytes(records.tobytes())
    return pixels


def test_cifar10_reader_on_a_tiny_file_in_the_original_format(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    written = [
        write_cifar_batch(folder / f"data_batch_{i}.bin", [i, 9 - i], rng) for i in range(1, 6)
    ]
    test_pixels = write_cifar_batch(folder / "test_batch.bin", [3, 1, 4], rng)

    train, test = data.load_cifar10(tmp_path)
    assert train.x.shape == (10, 3, 32, 32) and train.x.dtype == torch.uint8
    assert test.x.shape == (3, 3, 32, 32) and test.y.tolist() == [3, 1, 4]
    assert train.y.tolist() == [1, 8, 2, 7, 3, 6, 4, 5, 5, 4]
    assert train.y.dtype == torch.int64 and train.num_classes == 10
    # Channel order: the first 1024 bytes of a record are the red plane, row-major.
    assert np.array_equal(train.x[0].numpy(), written[0][0])
    assert np.array_equal(test.x[2, 1].numpy(), test_pixels[2, 1])
    assert train.is_image and train.mean == data.CIFAR10_MEAN


def test_cifar10_reader_rejects_a_wrong_size(tmp_path):
    bad = tmp_path / "batch.bin"
    bad.write_bytes(b"\x00" * 3000)
    with pytest.raises(ValueError, match="not a CIFAR-10 binary batch"):
        data.read_cifar10_bin(bad)


def write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + b"".join(
        struct.pack(">I", s) for s in array.shape
    )
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_mnist_reader_on_tiny_idx_files(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "mnist"
    folder.mkdir()
    names = [url.rsplit("/", 1)[1] for url, _ in data.SOURCES["mnist"]]
    images = rng.integers(0, 256, size=(4, 28, 28))
    write_idx(folder / names[0], images)
    write_idx(folder / names[1], np.array([5, 0, 4, 1]))
    write_idx(folder / names[2], images[:2])
    write_idx(folder / names[3], np.array([7, 2]))
    train, test = data.load_mnist(tmp_path)
    assert train.x.shape == (4, 1, 28, 28) and train.x.dtype == torch.uint8
    assert np.array_equal(train.x[:, 0].numpy(), images)
    assert train.y.tolist() == [5, 0, 4, 1] and test.y.tolist() == [7, 2]


def test_missing_data_names_the_path_and_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWDIM_DATA", str(tmp_path / "store"))
    assert data.data_root() == tmp_path / "store"
    with pytest.raises(data.DatasetNotFound) as err:
        data.load_cifar10()
    assert str(tmp_path / "store") in str(err.value)
    assert "lowdim-course download cifar10" in str(err.value)
    with pytest.raises(data.DatasetNotFound, match="lowdim-course download mnist"):
        data.load("mnist")
    with pytest.raises(ValueError, match="unknown data set"):
        data.load("imagenet")


def test_default_data_root_is_in_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("LOWDIM_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.data_root() == tmp_path / "lowdim_course"


def test_download_verifies_checksums(tmp_path, monkeypatch):
    payload = tmp_path / "src" / "train-images-idx3-ubyte.gz"
    payload.parent.mkdir()
    payload.write_bytes(b"not really mnist")
    good = hashlib.md5(payload.read_bytes()).hexdigest()
    assert data.md5sum(payload) == good

    monkeypatch.setitem(data.SOURCES, "mnist", [(payload.as_uri(), good)])
    folder = data.download("mnist", tmp_path / "root")
    assert (folder / payload.name).read_bytes() == b"not really mnist"

    monkeypatch.setitem(data.SOURCES, "mnist", [(payload.as_uri(), "0" * 32)])
    with pytest.raises(ValueError, match="checksum mismatch"):
        data.download("mnist", tmp_path / "other")
    assert not list((tmp_path / "other" / "mnist").iterdir())  # nothing half-written left


def test_download_reports_network_failures(tmp_path, monkeypatch):
    monkeypatch.setitem(data.SOURCES, "mnist", [((tmp_path / "absent.gz").as_uri(), "0" * 32)])
    with pytest.raises(ConnectionError, match="could not download"):
        data.download("mnist", tmp_path / "root")


def test_digits_split_is_stratified_and_scaled():
    train, test = data.load_digits()
    assert len(train) + len(test) == 1797 and abs(len(test) - 0.25 * 1797) < 1
    assert train.x.dtype == torch.float32 and train.x.shape[1] == 64
    assert 0.0 <= train.x.min() and train.x.max() <= 1.0
    counts_train = torch.bincount(train.y, minlength=10).double()
    counts_test = torch.bincount(test.y, minlength=10).double()
    assert torch.allclose(
        counts_test / counts_train, torch.full((10,), 1 / 3, dtype=torch.float64), atol=0.03
    )


def test_gaussian_mixture_geometry_and_seed():
    mix = data.gaussian_mixture(2000, 3, 5, separation=4.0, noise=0.5, seed=0)
    means = torch.stack([mix.x[mix.y == k].mean(0) for k in range(3)])
    distances = torch.cdist(means, means)[torch.triu(torch.ones(3, 3), 1) == 1]
    assert torch.allclose(distances, torch.full((3,), 4.0 * 2**0.5), rtol=0.02)
    within = (mix.x - means[mix.y]).std()
    assert abs(within - 0.5) < 0.02
    again = data.gaussian_mixture(2000, 3, 5, separation=4.0, noise=0.5, seed=0)
    assert torch.equal(mix.x, again.x)
    with pytest.raises(ValueError):
        data.gaussian_mixture(5, 4, 3)


def test_inputs_normalise_uint8_images_by_hand():
    x = torch.tensor([[[[0, 255]], [[51, 102]]]], dtype=torch.uint8)  # (1, 2, 1, 2)
    ds = data.ArrayData(x, torch.tensor([0]), 2, "tiny", mean=(0.5, 0.2), std=(0.5, 0.1))
    expected = torch.tensor([[[[-1.0, 1.0]], [[0.0, 2.0]]]])
    assert torch.allclose(ds.inputs(), expected, atol=1e-6)
    features = data.ArrayData(torch.randn(3, 4), torch.zeros(3, dtype=torch.long), 1, "f")
    assert features.inputs() is features.x


def test_subset_and_split():
    mix = data.gaussian_mixture(10, 2, 2, seed=0)
    mask = mix.y == 1
    ones = mix.subset(mask)
    assert len(ones) == 10 and bool((ones.y == 1).all())
    train, test = data.split(mix, 0.25, seed=0)
    assert len(train) == 15 and len(test) == 5
    rows = {tuple(r.tolist()) for r in torch.cat([train.x, test.x])}
    assert len(rows) == 20  # a partition: nothing lost, nothing repeated
