"""Profile and device resolution, seeding, threads and the banner (no GPU needed: CUDA's
presence is monkeypatched, and no CUDA tensor is ever created)."""

import random

import numpy as np
import pytest
import torch

from lowdim_course import runtime


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ("LOWDIM_PROFILE", "LOWDIM_DEVICE", "LOWDIM_THREADS"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def fake_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


@pytest.fixture
def keep_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------- profile


def test_profile_precedence(monkeypatch, no_cuda):
    assert runtime.resolve_profile() == "quick"  # auto without CUDA
    monkeypatch.setenv("LOWDIM_PROFILE", "full")
    assert runtime.resolve_profile() == "full"  # environment over auto
    assert runtime.resolve_profile("quick") == "quick"  # argument over environment
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOWDIM_PROFILE", "auto")
    assert runtime.resolve_profile() == "full"  # auto with CUDA
    monkeypatch.setenv("LOWDIM_PROFILE", "quick")
    assert runtime.resolve_profile() == "quick"  # environment over auto, even with CUDA
    assert runtime.resolve_profile("auto") == "full"  # an explicit auto re-enables detection


def test_auto_profile_follows_cuda(monkeypatch):
    for available, expected in [(True, "full"), (False, "quick")]:
        monkeypatch.setattr(torch.cuda, "is_available", lambda a=available: a)
        assert runtime.resolve_profile() == expected
        assert runtime.resolve_profile("auto") == expected


def test_profile_names_ignore_case_and_spaces(no_cuda, monkeypatch):
    assert runtime.resolve_profile(" FULL ") == "full"
    monkeypatch.setenv("LOWDIM_PROFILE", "Quick\n")
    assert runtime.resolve_profile() == "quick"


@pytest.mark.parametrize("bad", ["fast", "FULLL", "gpu"])
def test_unknown_profile_is_explained(bad):
    with pytest.raises(runtime.RuntimeSetupError, match="choose one of quick, full, auto") as err:
        runtime.resolve_profile(bad)
    assert repr(bad.lower()) in str(err.value) and "LOWDIM_PROFILE" in str(err.value)


def test_unknown_profile_from_the_environment_is_explained(monkeypatch):
    monkeypatch.setenv("LOWDIM_PROFILE", "paper")
    with pytest.raises(runtime.RuntimeSetupError, match="unknown profile 'paper'"):
        runtime.resolve_profile()


# ---------------------------------------------------------------- device


def test_no_cuda_means_clear_errors(monkeypatch, no_cuda):
    with pytest.raises(runtime.RuntimeSetupError, match="no CUDA GPU.*quick"):
        runtime.resolve_device("cuda")
    with pytest.raises(runtime.RuntimeSetupError, match="full profile needs a CUDA GPU") as err:
        runtime.resolve_device(None, profile="full")
    assert "--profile quick" in str(err.value) and "--device cpu" in str(err.value)
    with pytest.raises(runtime.RuntimeSetupError, match="full profile"):
        runtime.resolve_device("auto", profile="full")
    monkeypatch.setenv("LOWDIM_DEVICE", "cuda")
    with pytest.raises(runtime.RuntimeSetupError, match="no CUDA GPU"):
        runtime.resolve_device()


def test_cuda_on_this_machine_really_raises():
    """No monkeypatching: the test machine has no GPU, so asking for one must fail loudly."""
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(runtime.RuntimeSetupError, match="quick"):
        runtime.resolve_device("cuda")


@pytest.mark.parametrize("bad", ["tpu", "gpu", "cuda:0"])
def test_unknown_device_is_explained(bad):
    with pytest.raises(runtime.RuntimeSetupError, match="unknown device") as err:
        runtime.resolve_device(bad)
    assert "auto, cpu, cuda, mps" in str(err.value) and "LOWDIM_DEVICE" in str(err.value)


def test_missing_mps_is_explained(monkeypatch):
    monkeypatch.setattr(runtime, "_mps_available", lambda: False)
    with pytest.raises(runtime.RuntimeSetupError, match="mps"):
        runtime.resolve_device("mps")


def test_explicit_cpu_is_allowed_even_for_full(no_cuda):
    assert runtime.resolve_device("cpu", profile="full") == torch.device("cpu")
    assert runtime.resolve_device(None, profile="quick") == torch.device("cpu")
    assert runtime.resolve_device(" CPU ", profile="full") == torch.device("cpu")


def test_device_precedence(monkeypatch, no_cuda):
    monkeypatch.setenv("LOWDIM_DEVICE", "cpu")
    assert runtime.resolve_device(None, profile="full") == torch.device("cpu")  # env names it
    monkeypatch.setenv("LOWDIM_DEVICE", "cuda")
    assert runtime.resolve_device("cpu") == torch.device("cpu")  # argument over environment


def test_auto_device_with_cuda(fake_cuda):
    # Only torch.device objects are built: nothing touches a real GPU.
    assert runtime.resolve_device(None) == torch.device("cuda")
    assert runtime.resolve_device(None, profile="full") == torch.device("cuda")
    assert runtime.resolve_device("cuda", profile="full") == torch.device("cuda")
    assert runtime.resolve_device("cpu", profile="full") == torch.device("cpu")


# ---------------------------------------------------------------- seed and threads


def test_seed_everything_repeats_every_generator():
    def draws():
        return random.random(), np.random.rand(), torch.rand(1).item()

    runtime.seed_everything(7)
    first = draws()
    runtime.seed_everything(7)
    assert draws() == first
    runtime.seed_everything(8)
    assert draws() != first


def test_seed_everything_matches_independently_seeded_generators():
    runtime.seed_everything(123)
    got = (random.random(), np.random.rand(3), torch.rand(3))
    assert got[0] == random.Random(123).random()
    np.testing.assert_array_equal(got[1], np.random.RandomState(123).rand(3))
    assert torch.equal(got[2], torch.rand(3, generator=torch.Generator().manual_seed(123)))


def test_threads(monkeypatch, keep_threads):
    assert runtime.set_threads(1) == 1 == torch.get_num_threads()
    monkeypatch.setenv("LOWDIM_THREADS", "2")
    assert runtime.set_threads() == 2
    assert runtime.set_threads(1) == 1  # the argument wins over the environment
    monkeypatch.delenv("LOWDIM_THREADS")
    assert runtime.set_threads() == 1  # nothing asked: left as it is


# ---------------------------------------------------------------- setup and banner


def test_setup_prints_one_banner(capsys, no_cuda):
    rt = runtime.setup(profile="quick", seed=3)
    line = capsys.readouterr().out.strip()
    assert len(line.splitlines()) == 1
    for part in (
        "profile=quick",
        f"device={runtime.device_name(torch.device('cpu'))}",
        f"torch {torch.__version__}",
        "seed=3",
    ):
        assert part in line
    assert line == rt.banner()
    assert rt.quick and rt.device == torch.device("cpu") and rt.seed == 3


def test_setup_seeds_and_can_be_quiet(capsys, no_cuda):
    rt = runtime.setup(seed=11, verbose=False)
    assert capsys.readouterr().out == ""
    assert torch.equal(torch.rand(4), torch.rand(4, generator=torch.Generator().manual_seed(11)))
    assert rt.profile == "quick"


def test_setup_sets_threads(no_cuda, keep_threads, capsys):
    runtime.setup(profile="quick", threads=1)
    assert torch.get_num_threads() == 1
    assert "device=cpu (1 thread)" in capsys.readouterr().out


def test_device_name_says_the_threads_a_run_used(keep_threads):
    torch.set_num_threads(2)
    cpu = torch.device("cpu")
    assert runtime.device_name(cpu) == "cpu (2 threads)"
    # A config that set its own threads ran with those, whatever the process has now.
    assert runtime.device_name(cpu, 1) == "cpu (1 thread)"
    assert runtime.device_name(cpu, 0) == "cpu (2 threads)"


def test_setup_full_without_cuda_refuses_before_printing(capsys, no_cuda):
    with pytest.raises(runtime.RuntimeSetupError, match="full profile needs a CUDA GPU"):
        runtime.setup(profile="full")
    assert capsys.readouterr().out == ""
    rt = runtime.setup(profile="full", device="cpu", verbose=False)  # slow but allowed
    assert rt.profile == "full" and not rt.quick and rt.device.type == "cpu"


def test_setup_full_with_fake_cuda_resolves_without_touching_the_gpu(fake_cuda):
    rt = runtime.setup(verbose=False)
    assert rt.profile == "full" and rt.device == torch.device("cuda") and not rt.quick
