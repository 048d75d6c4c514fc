"""Fixtures shared by the unit tests of small models (opted into with `pytestmark`)."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """One CPU thread: tiny models gain nothing from two, and on a busy machine two OpenMP
    threads waiting for each other make these tests many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def seeded():
    """Every test starts from the same global RNG state, whatever ran before it."""
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def miniature(tmp_path_factory):
    """Miniature CIFAR-10, MNIST and CIFAR-10N in the official archive formats, installed by
    `data.download` from file:// URLs into a data root (tests/miniature_data.py)."""
    import miniature_data

    return miniature_data.build(tmp_path_factory.mktemp("miniature"))


@pytest.fixture
def miniature_root(miniature, monkeypatch):
    """$LOWDIM_DATA pointed at the miniature data sets for one test; returns the root."""
    monkeypatch.setenv("LOWDIM_DATA", str(miniature.root))
    return miniature.root


def pytest_collection_modifyitems(config, items):
    """The site test first: its book build (every notebook executed) is the longest single test
    file, so on `make test`'s two workers it should start at once, beside everything else,
    rather than last on one worker (see the Makefile)."""
    items.sort(key=lambda item: item.path.name != "test_site.py")  # stable: the rest in order
