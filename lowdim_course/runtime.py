"""Where and how an experiment runs: the profile, the device, the seed and the CPU threads.

Every notebook and the CLI start with `setup()`, which prints one banner line such as

    lowdim-course | profile=quick | device=cpu (2 threads) | torch 2.14.1 | seed=0

Profiles (see COURSE_DESIGN.md): `quick` runs on two CPU cores in about a minute and shows the
phenomenon; `full` is the paper-scale run on a CUDA GPU; `auto` picks full when CUDA is present,
else quick. Precedence: the argument, then the `LOWDIM_PROFILE` environment variable, then auto.
The device follows the same rule with `LOWDIM_DEVICE`. Nothing falls back silently: asking for
CUDA (or for the full profile) where there is none raises `RuntimeSetupError` saying what to do.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
from dataclasses import dataclass

import numpy as np
import torch

PROFILES = ("quick", "full", "auto")
DEVICES = ("auto", "cpu", "cuda", "mps")


class RuntimeSetupError(RuntimeError):
    """A profile or device that cannot be used here; the message says what to choose instead."""


def _mps_available() -> bool:
    return hasattr(torch.backends, "mps") and torch.backends.mps.is_available()


def resolve_profile(profile: str | None = None) -> str:
    """Return 'quick' or 'full' from the argument, else $LOWDIM_PROFILE, else auto."""
    chosen = profile or os.environ.get("LOWDIM_PROFILE") or "auto"
    chosen = chosen.strip().lower()
    if chosen not in PROFILES:
        raise RuntimeSetupError(
            f"unknown profile {chosen!r}: choose one of {', '.join(PROFILES)} "
            "(argument --profile or environment variable LOWDIM_PROFILE)"
        )
    if chosen == "auto":
        return "full" if torch.cuda.is_available() else "quick"
    return chosen


def resolve_device(device: str | None = None, profile: str = "quick") -> torch.device:
    """Return the torch device from the argument, else $LOWDIM_DEVICE, else auto.

    The full profile is sized for a CUDA GPU. It runs elsewhere only when the device is named
    explicitly (for example `--device cpu` for a slow check); with `auto` and no CUDA it refuses.
    """
    chosen = (device or os.environ.get("LOWDIM_DEVICE") or "auto").strip().lower()
    if chosen not in DEVICES:
        raise RuntimeSetupError(
            f"unknown device {chosen!r}: choose one of {', '.join(DEVICES)} "
            "(argument --device or environment variable LOWDIM_DEVICE)"
        )
    if chosen == "cuda" and not torch.cuda.is_available():
        raise RuntimeSetupError(
            "device 'cuda' was requested but this machine has no CUDA GPU "
            f"(torch {torch.__version__}, torch.cuda.is_available() is False). "
            "Use --device cpu (or auto) with --profile quick, or LOWDIM_PROFILE=quick."
        )
    if chosen == "mps" and not _mps_available():
        raise RuntimeSetupError(
            "device 'mps' was requested but Apple's Metal backend is not available here; "
            "use --device cpu (or auto)."
        )
    if chosen == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if profile == "full":
            raise RuntimeSetupError(
                "the full profile needs a CUDA GPU and this machine has none. "
                "Use --profile quick (or LOWDIM_PROFILE=quick) for the CPU-sized run, "
                "or name a device explicitly (--device cpu) to run full scale there anyway (slow)."
            )
        return torch.device("cpu")
    return torch.device(chosen)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so a run repeats exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def set_threads(threads: int | None = None) -> int:
    """Set torch's CPU threads from the argument or $LOWDIM_THREADS; return the number in use."""
    if threads is None and os.environ.get("LOWDIM_THREADS"):
        try:
            threads = int(os.environ["LOWDIM_THREADS"])
        except ValueError:
            raise RuntimeSetupError(
                f"LOWDIM_THREADS={os.environ['LOWDIM_THREADS']!r} is not a whole number of threads"
            ) from None
    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def device_name(device: torch.device, threads: int = 0) -> str:
    """'cpu (2 threads)', 'cuda (NVIDIA H100 80GB HBM3)' or 'mps'. `threads`: the CPU threads a
    run used, where it set its own (a config's `threads`, see `config_threads`); 0: the
    current setting."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type != "cpu":
        return device.type
    threads = threads or torch.get_num_threads()
    return f"cpu ({threads} thread{'s' if threads > 1 else ''})"


@dataclass(frozen=True)
class Runtime:
    profile: str  # 'quick' or 'full'
    device: torch.device
    seed: int

    @property
    def quick(self) -> bool:
        return self.profile == "quick"

    def banner(self) -> str:
        return (
            f"lowdim-course | profile={self.profile} | device={device_name(self.device)} "
            f"| torch {torch.__version__} | seed={self.seed}"
        )


def setup(
    profile: str | None = None,
    device: str | None = None,
    seed: int = 0,
    threads: int | None = None,
    verbose: bool = True,
) -> Runtime:
    """Resolve profile and device, seed everything, set threads, and print the banner."""
    resolved = resolve_profile(profile)
    rt = Runtime(resolved, resolve_device(device, resolved), seed)
    set_threads(threads)
    seed_everything(seed)
    if verbose:
        print(rt.banner())
    return rt


@contextlib.contextmanager
def torch_threads(threads: int):
    """Run the block with `threads` torch CPU threads (0: leave the setting), then restore it.

    Why: these experiments multiply matrices of a few hundred entries a side, where splitting an
    operation across threads costs more than it saves; on a loaded 2-core machine two threads
    made a 3 s run take 40 to 200 s (the threads wait for each other), one thread never did.
    """
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def config_threads(run):
    """Decorator for an experiment `run(config, ...)`: run it under
    `torch_threads(config.threads)` (configs without a `threads` field leave the setting)."""

    @functools.wraps(run)
    def wrapper(config, **kwargs):
        with torch_threads(getattr(config, "threads", 0)):
            return run(config, **kwargs)

    return wrapper
