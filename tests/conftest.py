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
