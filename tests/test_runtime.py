import random

import numpy as np
import pytest
import torch

from lowdim_course import runtime


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ("LOWDIM_PROFILE", "LOWDIM_DEVICE", "LOWDIM_THREADS"):
        monkeypatch.delenv(var, raising=False)


def test_profile_precedence(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.resolve_profile() == "quick"  # auto without CUDA
    monkeypatch.setenv("LOWDIM_PROFILE", "full")
    assert runtime.resolve_profile() == "full"  # environment over auto
    assert runtime.resolve_profile("quick") == "quick"  # argument over environment
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOWDIM_PROFILE", "auto")
    assert runtime.resolve_profile() == "full"  # auto with CUDA


@pytest.mark.parametrize("bad", ["fast", "FULLL", "gpu"])
def test_unknown_profile_is_explained(bad):
    with pytest.raises(runtime.RuntimeSetupError, match="choose one of quick, full, auto"):
        runtime.resolve_profile(bad)


def test_no_cuda_means_clear_errors(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(runtime.RuntimeSetupError, match="no CUDA GPU.*quick"):
        runtime.resolve_device("cuda")
    with pytest.raises(runtime.RuntimeSetupError, match="full profile needs a CUDA GPU"):
        runtime.resolve_device(None, profile="full")
    monkeypatch.setenv("LOWDIM_DEVICE", "cuda")
    with pytest.raises(runtime.RuntimeSetupError):
        runtime.resolve_device()
    with pytest.raises(runtime.RuntimeSetupError, match="unknown device"):
        runtime.resolve_device("tpu")


def test_explicit_cpu_is_allowed_even_for_full(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.resolve_device("cpu", profile="full") == torch.device("cpu")
    assert runtime.resolve_device(None, profile="quick") == torch.device("cpu")


def test_seed_everything_repeats_every_generator():
    def draws():
        return random.random(), np.random.rand(), torch.rand(1).item()

    runtime.seed_everything(7)
    first = draws()
    runtime.seed_everything(7)
    assert draws() == first
    runtime.seed_everything(8)
    assert draws() != first


def test_threads(monkeypatch):
    before = torch.get_num_threads()
    try:
        assert runtime.set_threads(1) == 1
        monkeypatch.setenv("LOWDIM_THREADS", "2")
        assert runtime.set_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_setup_prints_one_banner(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rt = runtime.setup(profile="quick", seed=3)
    line = capsys.readouterr().out.strip()
    assert len(line.splitlines()) == 1
    for part in ("profile=quick", "device=cpu", f"torch {torch.__version__}", "seed=3"):
        assert part in line
    assert rt.quick and rt.device == torch.device("cpu") and rt.seed == 3
