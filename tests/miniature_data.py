"""Miniature copies of the full profile's downloads, written byte for byte in the formats of the
official archives, for the rehearsal of the full profile (tests/test_rehearsal.py) and the data
tests (tests/test_data.py). No network: `build` writes the archives, then installs them with
`data.download` itself from file:// URLs, their MD5 checked as for the real files.

- CIFAR-10: `cifar-10-binary.tar.gz`, the *binary* distribution that `data.load_cifar10` reads
  (a folder `cifar-10-batches-bin/` with `batches.meta.txt`, `data_batch_1.bin` ...
  `data_batch_5.bin`, `test_batch.bin` and `readme.html`; each record is 1 label byte and 3072
  pixel bytes, 1024 red, 1024 green, 1024 blue, each plane row-major). The python tarball the
  issue names holds the same images as pickles; the course's loader never reads it.
- MNIST: the four gzipped IDX files (magic 0x00000803 for images, 0x00000801 for labels, then
  one big-endian uint32 per dimension, then the bytes).
- CIFAR-10N: `CIFAR-10_human.pt`, a torch-saved dict of int64 numpy arrays pickled as under
  numpy 1.x (module `numpy.core.multiarray`), as the authors' file is.

Images are class-structured (a fixed random pattern per class plus pixel noise), so a network
can learn something in an epoch or two; the miniature sizes are MINI_TRAIN and MINI_TEST.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from lowdim_course import data

MINI_TRAIN = 50  # CIFAR-10 training images, in five batch files of 10 (5 per class)
MINI_TEST = 20  # CIFAR-10 test images (2 per class)
MNIST_TRAIN, MNIST_TEST = 40, 20
CIFAR10_CLASSES = (
    "airplane automobile bird cat deer dog frog horse ship truck".split()  # batches.meta.txt
)
# CIFAR-10N label sets and the fraction of labels each changes (the published rates, roughly).
CIFAR10N_NOISE = {
    "aggre_label": 0.1,
    "random_label1": 0.2,
    "random_label2": 0.2,
    "random_label3": 0.2,
    "worse_label": 0.4,
}


# ---------------------------------------------------------------- the formats


def cifar_records(labels, pixels) -> bytes:
    """CIFAR-10's binary records: 1 label byte, then the (3, 32, 32) uint8 image in CHW order."""
    labels = np.asarray(labels, np.uint8)
    pixels = np.asarray(pixels, np.uint8).reshape(len(labels), 3 * 32 * 32)
    return np.concatenate([labels[:, None], pixels], 1).tobytes()


def write_cifar_batch(path: Path, labels, rng):
    """One batch file of random pixels; returns the (N, 3, 32, 32) images written."""
    pixels = rng.integers(0, 256, size=(len(labels), 3, 32, 32), dtype=np.uint8)
    path.write_bytes(cifar_records(labels, pixels))
    return pixels


def write_idx(path: Path, array, magic=None, compress=True) -> None:
    """IDX: a big-endian magic (0x00000803 for 3-d unsigned bytes), then one uint32 per dim."""
    array = np.asarray(array)
    magic = 0x0800 + array.ndim if magic is None else magic
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)


def save_as_numpy1(obj, path: Path) -> None:
    """torch.save `obj`, then rename numpy 2's `numpy._core` to numpy 1's `numpy.core` inside
    the pickle, as in the authors' file (saved under numpy 1.x). torch.save writes data.pkl
    with pickle protocol 2, whose GLOBAL opcodes spell module names as plain text."""
    plain = path.with_suffix(".numpy2")
    torch.save(obj, plain)
    renamed = 0
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zout:
        for item in zin.infolist():
            payload = zin.read(item.filename)
            if item.filename.endswith("data.pkl"):
                renamed = payload.count(b"numpy._core.multiarray")
                payload = payload.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
            zout.writestr(item, payload)
    plain.unlink()
    assert renamed, "the pickle did not name numpy._core: the test file would be numpy-2 style"


# ---------------------------------------------------------------- the miniature data sets


def balanced_labels(n: int, classes: int, rng) -> np.ndarray:
    """n labels, every class equally often (n a multiple of `classes`), in random order."""
    return rng.permutation(np.arange(n) % classes).astype(np.uint8)


def class_images(labels, patterns, rng, noise: int = 40) -> np.ndarray:
    """uint8 images: each label's pattern plus uniform pixel noise of +-`noise`."""
    x = patterns[np.asarray(labels, int)].astype(np.int16)
    x += rng.integers(-noise, noise + 1, size=x.shape, dtype=np.int16)
    return np.clip(x, 0, 255).astype(np.uint8)


def write_cifar10_archive(path: Path, rng, n_train=MINI_TRAIN, n_test=MINI_TEST) -> dict:
    """cifar-10-binary.tar.gz at `path`; returns the images and labels written."""
    patterns = rng.integers(0, 256, size=(10, 3, 32, 32))
    y_train, y_test = balanced_labels(n_train, 10, rng), balanced_labels(n_test, 10, rng)
    x_train, x_test = class_images(y_train, patterns, rng), class_images(y_test, patterns, rng)
    members = {"batches.meta.txt": ("\n".join(CIFAR10_CLASSES) + "\n\n").encode()}
    for i, part in enumerate(np.array_split(np.arange(n_train), 5), start=1):
        members[f"data_batch_{i}.bin"] = cifar_records(y_train[part], x_train[part])
    members["test_batch.bin"] = cifar_records(y_test, x_test)
    members["readme.html"] = b"<meta HTTP-EQUIV='REFRESH' content='0; url=...'>\n"
    source = path.parent / "cifar-10-batches-bin"
    source.mkdir(parents=True, exist_ok=True)
    for name, payload in members.items():
        (source / name).write_bytes(payload)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(source, arcname=data.CIFAR10_DIR)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def write_mnist_files(folder: Path, rng) -> dict:
    """The four MNIST IDX gz files under their official names; returns what they hold."""
    folder.mkdir(parents=True, exist_ok=True)
    patterns = rng.integers(0, 256, size=(10, 28, 28))
    y_train = balanced_labels(MNIST_TRAIN, 10, rng)
    y_test = balanced_labels(MNIST_TEST, 10, rng)
    arrays = [
        class_images(y_train, patterns, rng),
        y_train,
        class_images(y_test, patterns, rng),
        y_test,
    ]
    names = [url.rsplit("/", 1)[1] for url, _ in data.SOURCES["mnist"]]
    for name, array in zip(names, arrays):
        write_idx(folder / name, array)
    return dict(zip(["x_train", "y_train", "x_test", "y_test"], arrays))


def cifar10n_labels(clean, rng) -> dict[str, np.ndarray]:
    """The six label sets for the training labels `clean`: the clean ones and five noisy ones,
    each changing the fraction CIFAR10N_NOISE of the labels to another class."""
    clean = np.asarray(clean, np.int64)
    sets = {"clean_label": clean.copy()}
    for key, rate in CIFAR10N_NOISE.items():
        noisy = clean.copy()
        chosen = rng.permutation(len(clean))[: round(rate * len(clean))]
        noisy[chosen] = (clean[chosen] + rng.integers(1, 10, len(chosen))) % 10
        sets[key] = noisy
    return sets


@dataclass(frozen=True)
class Miniature:
    """Where the miniature data sets are: `root` is a data root ($LOWDIM_DATA) holding them as
    `lowdim-course download` leaves them; `sources` maps each data set to its (file:// URL,
    MD5 or None) list, the stand-in for `data.SOURCES`; `written` holds the arrays written."""

    root: Path
    sources: dict
    written: dict


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def write_sources(folder: Path, seed: int = 0) -> tuple[dict, dict]:
    """The three miniature downloads under `folder`: (sources like data.SOURCES, arrays)."""
    rng = np.random.default_rng(seed)
    archive = folder / "cifar10" / "cifar-10-binary.tar.gz"
    written = {"cifar10": write_cifar10_archive(archive, rng)}
    written["mnist"] = write_mnist_files(folder / "mnist", rng)
    written["cifar10n"] = cifar10n_labels(written["cifar10"]["y_train"], rng)
    labels_file = folder / "cifar10n" / data.CIFAR10N_FILE
    labels_file.parent.mkdir(parents=True)
    save_as_numpy1(written["cifar10n"], labels_file)
    names = [url.rsplit("/", 1)[1] for url, _ in data.SOURCES["mnist"]]
    sources = {
        "cifar10": [(archive.as_uri(), md5(archive))],
        "mnist": [((folder / "mnist" / n).as_uri(), md5(folder / "mnist" / n)) for n in names],
        "cifar10n": [(labels_file.as_uri(), None)],  # no published checksum
    }
    return sources, written


def build(folder: Path, seed: int = 0) -> Miniature:
    """Write the miniature downloads under folder/sources and install them into folder/data
    with `data.download` (file:// URLs, MD5s checked), in the order an instructor would."""
    sources, written = write_sources(folder / "sources", seed)
    root = folder / "data"
    with pytest.MonkeyPatch.context() as patch:
        for name, entries in sources.items():
            patch.setitem(data.SOURCES, name, entries)
        for name in ("cifar10", "cifar10n", "mnist"):
            data.download(name, root)
    return Miniature(root, sources, written)
