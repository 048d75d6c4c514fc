"""Data sets as tensors: small shipped or generated data for the quick profile, CIFAR-10 and
MNIST read from their original files for the full profile.

Everything is an `ArrayData`: a public tensor of inputs `x` (uint8 images or float features),
a tensor of int64 labels `y`, and the per-channel mean/std used to turn uint8 images into
floats inside the training loop. No PIL and no per-sample Python: a data set is a few tensor
reads, it moves to the GPU in one copy, and slicing it with a mask or an index is plain torch.

Full-profile data sets live under `data_root()` ($LOWDIM_DATA, default ~/.cache/lowdim_course).
`lowdim-course download cifar10` fetches and verifies them; loading one that is not there raises
`DatasetNotFound` with the path and that command.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch


class DatasetNotFound(FileNotFoundError):
    """A full-profile data set is missing; the message names the path and the command to run."""


@dataclass
class ArrayData:
    """A labelled data set held as two tensors (on any device)."""

    x: torch.Tensor  # (N, C, H, W) uint8 images, or (N, D) float features
    y: torch.Tensor  # (N,) int64 labels in [0, num_classes)
    num_classes: int
    name: str
    mean: tuple[float, ...] | None = None  # per-channel mean of x/255 (uint8 images only)
    std: tuple[float, ...] | None = None

    def __len__(self) -> int:
        return len(self.y)

    @property
    def is_image(self) -> bool:
        return self.x.dtype == torch.uint8

    def to(self, device) -> ArrayData:
        return replace(self, x=self.x.to(device), y=self.y.to(device))

    def subset(self, index) -> ArrayData:
        """Rows selected by an index tensor, a boolean mask or a slice."""
        return replace(self, x=self.x[index], y=self.y[index])

    def inputs(self, x: torch.Tensor | None = None) -> torch.Tensor:
        """Model-ready float inputs: uint8 images scaled and normalised, features unchanged."""
        x = self.x if x is None else x
        if x.dtype != torch.uint8:
            return x
        if self.mean is None or self.std is None:
            return x.float() / 255  # no statistics given: scale to [0, 1] only
        mean, std = _channel_stats(self.mean, self.std, x.device)
        return (x.float() / 255 - mean) / std


@functools.lru_cache(maxsize=16)
def _channel_stats(mean: tuple, std: tuple, device: torch.device):
    """(1, C, 1, 1) mean and std tensors, made once per device: building them anew every batch
    would copy from host memory each step, and such a copy makes the host wait for the GPU."""
    return (
        torch.tensor(mean, device=device).view(1, -1, 1, 1),
        torch.tensor(std, device=device).view(1, -1, 1, 1),
    )


# ---------------------------------------------------------------- quick-profile data


def load_digits(test_fraction: float = 0.25, seed: int = 0) -> tuple[ArrayData, ArrayData]:
    """scikit-learn's 8x8 handwritten digits (1797 images, shipped with the package).

    Returns (train, test) with x as float32 features of dimension 64 scaled to [0, 1], split
    stratified by class with a fixed seed.
    """
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_digits()
    x = (bunch.data / 16.0).astype(np.float32)  # (1797, 64)
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )

    def make(xs, ys, part):
        return ArrayData(torch.from_numpy(xs), torch.from_numpy(ys), 10, f"digits-{part}")

    return make(x_tr, y_tr, "train"), make(x_te, y_te, "test")


def gaussian_mixture(
    n_per_class: int,
    num_classes: int,
    dim: int,
    separation: float = 3.0,
    noise: float = 1.0,
    seed: int = 0,
) -> ArrayData:
    """K Gaussian classes in R^dim with means at distance `separation` from the origin.

    The means are random orthonormal directions (dim >= K) scaled by `separation`, so every
    pair of classes is separation * sqrt(2) apart; within-class noise is isotropic, std `noise`.
    The seed fixes both the means and the samples: draw once and `split` for train and test.
    """
    if dim < num_classes:
        raise ValueError(f"dim={dim} must be at least num_classes={num_classes}")
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, num_classes, generator=g))  # (dim, K)
    means = separation * q.T  # (K, dim)
    y = torch.arange(num_classes).repeat_interleave(n_per_class)
    x = means[y] + noise * torch.randn(len(y), dim, generator=g)
    return ArrayData(x, y, num_classes, f"gaussian-mixture-K{num_classes}-d{dim}")


def split(data: ArrayData, test_fraction: float, seed: int = 0) -> tuple[ArrayData, ArrayData]:
    """Random (train, test) split of one data set, e.g. a generated mixture."""
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    n_test = round(test_fraction * len(data))
    return data.subset(perm[n_test:]), data.subset(perm[:n_test])


def synthetic_images(
    n: int, num_classes: int = 10, size: int = 32, channels: int = 3, seed: int = 0
) -> ArrayData:
    """Random uint8 images shaped like CIFAR-10 (for speed tests and smoke tests, not learning)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g)
    y = torch.randint(0, num_classes, (n,), generator=g)
    return ArrayData(x, y, num_classes, "synthetic-images", (0.5,) * channels, (0.25,) * channels)


# ---------------------------------------------------------------- full-profile data

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
MNIST_MEAN = (0.1307,)
MNIST_STD = (0.3081,)

# The original distributions and their published MD5 checksums.
SOURCES = {
    "cifar10": [
        (
            "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
            "c32a1d4ab5d03f1284b67883e8d87530",
        )
    ],
    "mnist": [
        (
            f"https://ossci-datasets.s3.amazonaws.com/mnist/{name}",
            md5,
        )
        for name, md5 in [
            ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
            ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
            ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
        ]
    ],
}
# CIFAR-10N (Wei et al. 2022): human labels for CIFAR-10's training set, one file of label
# arrays published by its authors. They publish no checksum: `download` checks the content
# instead (the six label sets, one label in 0..9 per CIFAR-10 training image; read_cifar10n).
SOURCES["cifar10n"] = [
    ("https://github.com/UCSC-REAL/cifar-10-100n/raw/main/data/CIFAR-10_human.pt", None)
]
CIFAR10N_FILE = "CIFAR-10_human.pt"
CIFAR10N_KEYS = (
    "clean_label",
    "aggre_label",
    "random_label1",
    "random_label2",
    "random_label3",
    "worse_label",
)
CIFAR10_DIR = "cifar-10-batches-bin"
MNIST_DIR = "mnist"


def data_root() -> Path:
    """$LOWDIM_DATA, else $XDG_CACHE_HOME/lowdim_course, else ~/.cache/lowdim_course."""
    if os.environ.get("LOWDIM_DATA"):
        return Path(os.environ["LOWDIM_DATA"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "lowdim_course"


def _missing(name: str, path: Path) -> DatasetNotFound:
    return DatasetNotFound(
        f"{name} is not at {path}. Download it with `lowdim-course download {name}` "
        "(set LOWDIM_DATA to keep data elsewhere), or use the quick profile, which needs no "
        "download."
    )


def read_cifar10_bin(path: Path | str) -> tuple[torch.Tensor, torch.Tensor]:
    """Read one CIFAR-10 binary batch: records of 1 label byte + 3072 pixel bytes (CHW order)."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 3073:
        raise ValueError(f"{path} is not a CIFAR-10 binary batch ({raw.size} bytes)")
    raw = raw.reshape(-1, 3073)
    images = torch.from_numpy(raw[:, 1:].reshape(-1, 3, 32, 32).copy())  # (N, 3, 32, 32) uint8
    labels = torch.from_numpy(raw[:, 0].astype(np.int64))
    return images, labels


def load_cifar10(root: Path | str | None = None) -> tuple[ArrayData, ArrayData]:
    """CIFAR-10 (train 50 000, test 10 000) as uint8 tensors from the original binary files."""
    folder = Path(root or data_root()) / CIFAR10_DIR
    files = [folder / f"data_batch_{i}.bin" for i in range(1, 6)] + [folder / "test_batch.bin"]
    if not all(f.exists() for f in files):
        raise _missing("cifar10", folder)
    parts = [read_cifar10_bin(f) for f in files]
    x_tr = torch.cat([p[0] for p in parts[:5]])
    y_tr = torch.cat([p[1] for p in parts[:5]])
    return (
        ArrayData(x_tr, y_tr, 10, "cifar10-train", CIFAR10_MEAN, CIFAR10_STD),
        ArrayData(parts[5][0], parts[5][1], 10, "cifar10-test", CIFAR10_MEAN, CIFAR10_STD),
    )


def read_idx(path: Path | str) -> torch.Tensor:
    """Read an IDX file (MNIST's format, optionally gzipped) into a uint8 tensor."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = data[0] * 256 + data[1], data[2], data[3]
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return torch.from_numpy(array.reshape(shape).copy())


def load_mnist(root: Path | str | None = None) -> tuple[ArrayData, ArrayData]:
    """MNIST (train 60 000, test 10 000) as (N, 1, 28, 28) uint8 tensors from the IDX files."""
    folder = Path(root or data_root()) / MNIST_DIR
    names = [url.rsplit("/", 1)[1] for url, _ in SOURCES["mnist"]]
    if not all((folder / n).exists() for n in names):
        raise _missing("mnist", folder)
    x_tr, y_tr, x_te, y_te = (read_idx(folder / n) for n in names)
    return (
        ArrayData(x_tr[:, None], y_tr.long(), 10, "mnist-train", MNIST_MEAN, MNIST_STD),
        ArrayData(x_te[:, None], y_te.long(), 10, "mnist-test", MNIST_MEAN, MNIST_STD),
    )


LOADERS = {"digits": load_digits, "cifar10": load_cifar10, "mnist": load_mnist}


def load(name: str) -> tuple[ArrayData, ArrayData]:
    """(train, test) for a named data set: 'digits', 'cifar10' or 'mnist'."""
    if name not in LOADERS:
        raise ValueError(f"unknown data set {name!r}: choose one of {', '.join(LOADERS)}")
    return LOADERS[name]()


# ---------------------------------------------------------------- download


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, md5: str | None, target: Path) -> None:
    """Download to a temporary file, check the MD5 (when one is published), then move it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, tmp)
        except Exception as err:  # network errors, bad URLs, truncated transfers
            Path(tmp.name).unlink(missing_ok=True)
            raise ConnectionError(
                f"could not download {url} ({err}); check the network, or place the file "
                f"at {target} yourself"
            ) from err
    got = md5sum(Path(tmp.name))
    if md5 is not None and got != md5:
        Path(tmp.name).unlink()
        raise ValueError(f"checksum mismatch for {url}: expected md5 {md5}, got {got}")
    os.replace(tmp.name, target)


def download(name: str, root: Path | str | None = None) -> Path:
    """Fetch a full-profile data set into the data root, verify checksums, and return its folder."""
    if name not in SOURCES:
        raise ValueError(f"unknown data set {name!r}: choose one of {', '.join(SOURCES)}")
    root = Path(root or data_root())
    if name == "cifar10":
        archive = root / "cifar-10-binary.tar.gz"
        if not archive.exists():
            _fetch(*SOURCES[name][0], archive)
        elif md5sum(archive) != SOURCES[name][0][1]:
            raise ValueError(f"{archive} exists but its checksum is wrong: delete it and retry")
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
        return root / CIFAR10_DIR
    if name == "cifar10n":
        target = root / CIFAR10N_FILE
        if not target.exists():
            _fetch(*SOURCES[name][0], target)
        # No published checksum: the content must be the label sets, one per CIFAR-10 training
        # image when CIFAR-10 is already here (else its loader checks that when it reads both).
        read_cifar10n(target, cifar10_train_size(root))
        return target
    folder = root / MNIST_DIR
    for url, md5 in SOURCES[name]:
        target = folder / url.rsplit("/", 1)[1]
        if not target.exists() or md5sum(target) != md5:
            _fetch(url, md5, target)
    return folder


def completion_problem(n1, n2, rank, rate, generator=None, device="cpu"):
    """A low-rank matrix completion problem (lectures 1 and 4): M = U V^T / sqrt(rank) with
    N(0, 1) factors (entries of unit variance) and a Bernoulli(rate) mask of observed entries;
    returns (M float64, mask bool)."""
    kw = {"generator": generator, "dtype": torch.float64}
    U, V = torch.randn(n1, rank, **kw), torch.randn(n2, rank, **kw)
    M = U @ V.T / rank**0.5
    mask = torch.rand(n1, n2, generator=generator, dtype=torch.float64) < rate
    return M.to(device), mask.to(device)


def cifar10_train_size(root: Path | str | None = None) -> int | None:
    """The number of CIFAR-10 training images under `root`, from the sizes of its five batch
    files (3073 bytes a record, nothing read); None when they are not all there."""
    folder = Path(root or data_root()) / CIFAR10_DIR
    files = [folder / f"data_batch_{i}.bin" for i in range(1, 6)]
    if not all(f.exists() for f in files):
        return None
    return sum(f.stat().st_size for f in files) // 3073


def read_cifar10n(path: Path | str, num_train: int | None = None) -> dict[str, torch.Tensor]:
    """The CIFAR-10N label sets from the authors' file (a torch-saved dict of numpy arrays):
    clean_label, aggre_label, random_label1-3 and worse_label, as int64 tensors of one label in
    0..9 per CIFAR-10 training image. Loaded with weights_only=True, allowing only numpy's array
    reconstruction.

    Every set must hold the same number of labels, and `num_train` of them when given: the size
    of the CIFAR-10 training set they label (50000 for the published files; a miniature copy
    in the tests has fewer). A file of another length belongs to another data set.

    The authors pickled the file under numpy 1.x, which names the reconstruction function
    `numpy.core.multiarray._reconstruct`; numpy 2 calls it `numpy._core.multiarray._reconstruct`.
    torch's weights-only loader matches names, so the function is allowed under both."""
    core = getattr(np, "_core", None) or np.core  # numpy >= 2 moved np.core to np._core
    reconstruct = core.multiarray._reconstruct
    allowed = [np.ndarray, np.dtype, np.dtypes.Int64DType, np.dtypes.Int32DType]
    allowed += [
        (reconstruct, f"{m}.multiarray._reconstruct") for m in ("numpy.core", "numpy._core")
    ]
    try:
        with torch.serialization.safe_globals(allowed):
            raw = torch.load(path, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as err:
        raise ValueError(f"{path} is not a readable CIFAR-10N label file ({err})") from None
    missing = [k for k in CIFAR10N_KEYS if not isinstance(raw, dict) or k not in raw]
    if missing:
        raise ValueError(f"{path} is not the CIFAR-10N label file: no {missing}")
    labels = {k: torch.as_tensor(np.asarray(raw[k]), dtype=torch.int64) for k in CIFAR10N_KEYS}
    sizes = {k: tuple(v.shape) for k, v in labels.items()}
    if len(set(sizes.values())) != 1 or len(sizes["clean_label"]) != 1:
        raise ValueError(f"{path}: the label sets should be vectors of one length, not {sizes}")
    n = len(labels["clean_label"])
    if num_train is not None and n != num_train:
        raise ValueError(
            f"{path} holds {n} labels per set, but the CIFAR-10 training set it labels has "
            f"{num_train} images: the two files do not belong together (download both again)"
        )
    for k, v in labels.items():
        if n == 0 or v.min() < 0 or v.max() > 9:
            raise ValueError(f"{path}: {k} should hold {n or 'some'} labels in 0..9")
    return labels
