"""The control arm of Li, Wei & Ma's public code, `overparam_lr_noise_control`: the small learning
rate with Gaussian noise injected into the pre-activations until the decay epoch, against the
small rate without it, on the two-pattern data set of `overparam_lr_noise`. If what the large
rate does is add noise, the noisy small-rate run should learn in the large rate's order: P
first, the memorisable Q late, and end ahead on the examples that carry only P.

Both runs use the draws (data, initial weights, batch order) of `overparam_lr_noise`'s seeds,
trained together as one stack of networks (`BatchedMLP`), the noiseless and the noisy copies
of each seed side by side. Generated data in both profiles, no download."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ..claims import by_profile, claim
from ..runtime import config_threads
from .experiments_lr_noise import (
    LRNoiseConfig,
    TwoPatternConfig,
    _two_pattern_sets,
    train_arms,
)

SCHEDULES = ("small lr", "small lr + activation noise")


@dataclass(frozen=True)
class NoiseControlConfig:
    """`two_patterns` as in `overparam_lr_noise` (its small rate, epochs, decay epoch, seeds 5,
    6, ...); `noise` is the standard deviation of the pre-activation noise before the decay
    epoch (zero after it, as Li, Wei & Ma's code multiplies it by 1e-5 there)."""

    # Three of overparam_lr_noise's seeds (5-7), evaluated after every fifth epoch (and the
    # last before the decay): evaluating 2500 examples every epoch would cost more than the
    # training. The evaluation draws no random numbers, so it does not change the training.
    two_patterns: TwoPatternConfig = TwoPatternConfig(seeds=3, eval_every=5)
    # 2.5 times the spread of the x2 half's pre-activations at initialisation (0.12); their
    # code adds 0.4 to batch-normalised (unit-variance) pre-activations
    noise: float = 0.3
    threads: int = 1

    @classmethod
    def quick(cls) -> NoiseControlConfig:
        return cls()

    @classmethod
    def full(cls) -> NoiseControlConfig:
        # overparam_lr_noise's full scale (p = 200, N = 2000, width 2048, 10,000 test
        # examples, every fifth epoch evaluated) on two of its seeds (5, 6): 4 networks of
        # 2048 units for 300 epochs: about 2 min on an idle 2-core CPU (measured).
        return cls(two_patterns=replace(LRNoiseConfig.full().two_patterns, seeds=2), threads=0)


@config_threads
def run_lr_noise_control(
    config: NoiseControlConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """The small rate with and without pre-activation noise on `two_patterns.seeds` draws (seeds
    seed + seed_offset, ...), all 2 x seeds networks trained together. Per schedule and seed the
    summary of `overparam_lr_noise` (when Q is first fitted, the final accuracies); per seed
    the noisy minus noiseless margins on the P-only test examples and on all."""
    tp = config.two_patterns
    seeds = [seed + tp.seed_offset + k for k in range(tp.seeds)]
    draws = tuple(zip(*(_two_pattern_sets(tp, s, device) for s in seeds)))
    rates = (tp.small_lr, tp.small_lr)
    arms = {SCHEDULES[0]: (rates, 0.0), SCHEDULES[1]: (rates, config.noise)}
    torch.manual_seed(20_000 + seed)  # the noise draws
    runs, seconds = train_arms(tp, seeds, draws, arms, device=device, progress=progress)
    plain, noisy = runs[SCHEDULES[0]], runs[SCHEDULES[1]]
    return {
        "runs": runs,
        "seeds": seeds,
        "decay_epoch": tp.decay_epoch,
        "noise": config.noise,
        "margins_p_only": [
            b["final_test_p_only"] - a["final_test_p_only"] for a, b in zip(plain, noisy)
        ],
        "margins_overall": [
            b["final_test_acc"] - a["final_test_acc"] for a, b in zip(plain, noisy)
        ],
        "seconds": seconds,
    }


def check_lr_noise_control(result: dict, profile: str) -> list[str]:
    """overparam_lr_noise_control: both runs fit the training set; the noisy small-rate run
    fits Q later than the noiseless one, with P generalised further by then, and ends ahead on
    the P-only test examples on every seed. Same thresholds in both profiles."""
    by_profile(profile, None, None)  # refuses an unknown profile
    plain, noisy = (result["runs"][name] for name in SCHEDULES)
    seeds = sorted({int(r["seed"]) for r in plain + noisy})

    def epochs(runs):
        return [None if r["q_fitted_epoch"] is None else int(r["q_fitted_epoch"]) for r in runs]

    def at_q(runs):
        return [None if r["p_test_when_q_fitted"] is None else float(r["p_test_when_q_fitted"])
                for r in runs]  # fmt: skip

    def later(a, b):
        return a is not None and b is not None and a > b

    q_plain, q_noisy = epochs(plain), epochs(noisy)
    p_plain, p_noisy = at_q(plain), at_q(noisy)
    losses = [float(r["final_loss"]) for r in plain + noisy]
    margins = [float(m) for m in np.asarray(result["margins_p_only"], dtype=float)]
    return [
        claim(min(seeds) >= 5, "every seed is held out from seeds 0-4", f"seeds {seeds}"),
        claim(
            all(loss < 0.02 for loss in losses),
            "with and without the noise, the small rate ends below training loss 0.02 on every "
            "seed",
            f"final losses {[round(v, 4) for v in losses]}",
        ),
        claim(
            all(later(a, b) for a, b in zip(q_noisy, q_plain)),
            "with the noise the small rate fits the Q-only examples later, on every seed",
            f"seeds {seeds}: epochs {q_noisy} against {q_plain} without it",
        ),
        claim(
            all(later(a, b) for a, b in zip(p_noisy, p_plain)),
            "when Q is first fitted, P-only test accuracy is higher with the noise, on every seed",
            f"{[None if v is None else round(v, 3) for v in p_noisy]} against "
            f"{[None if v is None else round(v, 3) for v in p_plain]}",
        ),
        claim(
            min(margins) > 0 and np.mean(margins) >= 0.01,
            "the noisy run ends with the higher P-only test accuracy on every seed, by at least "
            "0.01 on average",
            f"noisy minus noiseless, seeds {seeds}: {[round(m, 3) for m in margins]}",
        ),
    ]
