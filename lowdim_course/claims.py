"""Claims as code: the phenomenon an experiment shows, checked on its result.

A lecture states a claim in words ("NC1 falls after the training error reaches zero") and
checks it with a function of the experiment's result dict, `check_NAME(result, profile)`, kept
beside the experiment. The check returns one line per claim that held, with the measured
numbers, and raises `ClaimFailed` at the first one that does not, saying what was expected and
what was measured. The notebook calls the check on its live run and prints the lines; the tests
call it on every committed full-profile result. Thresholds may depend on the profile (a quick
run is smaller and noisier), never on the seed.

    lines = []
    lines.append(claim(nc1_final < nc1_tpt / 10, "NC1 falls more than 10x in the terminal phase",
                       f"NC1 {nc1_tpt:.2e} -> {nc1_final:.2e}"))
"""

from __future__ import annotations

from collections.abc import Callable

PROFILES = ("quick", "full")


class ClaimFailed(AssertionError):
    """A claim of the lecture does not hold for this result."""


def claim(holds: bool, expected: str, measured: str) -> str:
    """Raise ClaimFailed unless `holds`; return 'held: EXPECTED (MEASURED)' for the printout."""
    if not holds:
        raise ClaimFailed(f"expected {expected}; measured {measured}")
    return f"held: {expected} ({measured})"


def by_profile(profile: str, quick, full):
    """The quick or the full value of a threshold."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
    return quick if profile == "quick" else full


def report(check: Callable[[dict, str], list[str]], result: dict, profile: str) -> list[str]:
    """Run `check(result, profile)`, print each claim that held, and return the lines."""
    lines = check(result, profile)
    for line in lines:
        print(line)
    return lines
