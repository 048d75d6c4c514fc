"""The experiment of the lecture's fourth section, `overparam_compositional`: test error against
parameter count for a shallow network, a deep MLP and a deep network shaped like the target's
binary tree (Poggio et al. 2017), and `check_compositional`, the lecture's claims on its result."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from .. import models
from ..claims import ClaimFailed, by_profile, claim
from ..runtime import config_threads
from ..train import progress_enabled
from .compositional import (
    TreeNetwork,
    compositional_target,
    deep_network,
    fit_regression,
    parameters_needed,
    shallow_network,
)


@dataclass(frozen=True)
class CompositionalConfig:
    d: int = 8
    train_samples: int = 1000
    test_samples: int = 2000
    shallow_widths: tuple = (4, 16, 64, 256)
    deep_widths: tuple = (4, 8, 16, 32)  # deep MLP with log2(d) hidden layers
    tree_hidden: tuple = (1, 2, 4, 8)  # hidden units per tree node
    steps: int = 500  # full-batch Adam, cosine-decayed learning rate
    lr: float = 0.01
    target_error: float = 0.1  # relative test MSE at which "parameters needed" is read off
    threads: int = 1

    @classmethod
    def quick(cls) -> CompositionalConfig:
        return cls()

    @classmethod
    def full(cls) -> CompositionalConfig:
        # d = 16 (Poggio et al. use d = 8, the quick profile's), sized for about 20 minutes on
        # two CPU cores: a full-batch Adam step of the width-2048 shallow network on 10000
        # samples takes about 0.18 s there.
        return cls(
            d=16,
            train_samples=10000,
            test_samples=5000,
            shallow_widths=(4, 16, 64, 256, 1024, 2048),
            deep_widths=(4, 8, 16, 32, 64, 128),
            tree_hidden=(1, 2, 4, 8, 16, 32),
            steps=2000,
            threads=0,
        )


def _families(config: CompositionalConfig) -> dict:
    """family name -> [(size, a function that builds the network of that size)]."""
    d, depth = config.d, int(math.log2(config.d))
    return {
        "shallow (1 hidden layer)": [
            (w, lambda w=w: shallow_network(d, w)) for w in config.shallow_widths
        ],
        f"deep MLP ({depth} hidden layers)": [
            (w, lambda w=w: deep_network(d, w, depth)) for w in config.deep_widths
        ],
        "deep, shaped like the tree": [
            (h, lambda h=h: TreeNetwork(d, h)) for h in config.tree_hidden
        ],
    }


@config_threads
def run_compositional(
    config: CompositionalConfig, *, device="cpu", seed=0, progress=None, checkpoint_dir=None
):
    """Test error against parameter count for the three families on the tree target."""
    g = torch.Generator().manual_seed(seed)
    x = (2 * torch.rand(config.train_samples, config.d, generator=g) - 1).to(device)
    x_test = (2 * torch.rand(config.test_samples, config.d, generator=g) - 1).to(device)
    y, y_test = compositional_target(x), compositional_target(x_test)
    families = _families(config)
    total = sum(len(v) for v in families.values())
    bar = tqdm(total=total, desc="networks", disable=not progress_enabled(progress))
    out = {}
    for name, makers in families.items():
        rows = []
        for size, make in makers:
            torch.manual_seed(seed)
            model = make().to(device)
            error = fit_regression(model, x, y, x_test, y_test, steps=config.steps, lr=config.lr)
            rows.append({"size": size, "params": models.count_parameters(model), "error": error})
            bar.update()
        out[name] = {
            "runs": rows,
            "needed": parameters_needed(
                [r["params"] for r in rows], [r["error"] for r in rows], config.target_error
            ),
        }
    bar.close()
    return {"families": out, "target_error": config.target_error, "d": config.d}


def error_at(params, errors, count: float) -> float | None:
    """A family's error at `count` parameters, interpolated linearly in log error against log
    parameters between the two sweep points around it; None outside the sweep's range."""
    pairs = sorted((float(p), float(e)) for p, e in zip(params, errors))
    for (p0, e0), (p1, e1) in zip(pairs[:-1], pairs[1:]):
        if p0 <= count <= p1:
            t = (math.log(count) - math.log(p0)) / (math.log(p1) - math.log(p0))
            return math.exp(math.log(e0) + t * (math.log(e1) - math.log(e0)))
    return None


def check_compositional(result: dict, profile: str) -> list[str]:
    """overparam_compositional: the network shaped like the tree reaches the target error, the
    best shallow network's error is more than twice the tree's best, and the shallow network
    needs more than three times the tree's parameters for the target (or never reaches it);
    deep against shallow: at every size of the deep MLP but the narrowest, inside the shallow
    sweep's range of parameter counts, its error is below the shallow network's at the same
    count (interpolated log-log between the two shallow networks around it). The narrowest
    deep MLP (4 units a layer) is left out: in the quick profile it is no better than the
    shallow network of its size (seeds 0-2). Same thresholds in both profiles."""
    by_profile(profile, None, None)  # refuses an unknown profile
    families = result["families"]
    tree, shallow = families["deep, shaped like the tree"], families["shallow (1 hidden layer)"]
    deep_name = next(name for name in families if name.startswith("deep MLP"))
    deep = families[deep_name]
    target = float(result["target_error"])
    tree_needed = None if tree["needed"] is None else float(tree["needed"])
    shallow_needed = None if shallow["needed"] is None else float(shallow["needed"])
    best_tree = min(float(r["error"]) for r in tree["runs"])
    best_shallow = min(float(r["error"]) for r in shallow["runs"])
    shallow_params = [float(r["params"]) for r in shallow["runs"]]
    shallow_errors = [float(r["error"]) for r in shallow["runs"]]
    pairs = []  # (parameters, deep MLP's error, shallow network's error there)
    for r in sorted(deep["runs"], key=lambda r: float(r["params"]))[1:]:  # but the narrowest
        at = error_at(shallow_params, shallow_errors, float(r["params"]))
        if at is not None:
            pairs.append((float(r["params"]), float(r["error"]), at))
    if not pairs:
        raise ClaimFailed(
            "no deep MLP but the narrowest lies inside the shallow sweep's range of parameters"
        )

    def needed(value):
        return "not reached" if value is None else f"{value:.0f}"

    return [
        claim(
            tree_needed is not None,
            f"the tree-shaped network reaches relative test error {target:g}",
            f"parameters needed: {needed(tree_needed)}, best error {best_tree:.4f}",
        ),
        claim(
            best_shallow > 2 * best_tree,
            "the best shallow network's relative test error is more than twice the best "
            "tree-shaped network's",
            f"shallow {best_shallow:.4f}, tree {best_tree:.4f}",
        ),
        claim(
            shallow_needed is None or shallow_needed > 3 * tree_needed,
            f"the shallow network needs more than 3x the tree's parameters for error {target:g}, "
            "or never reaches it",
            f"shallow {needed(shallow_needed)}, tree {needed(tree_needed)}",
        ),
        claim(
            all(e < at for _, e, at in pairs),
            f"at every size but the narrowest ({len(pairs)} sizes) the {deep_name} has a lower "
            "relative test error than the shallow network with as many parameters",
            "; ".join(f"{p:.0f} parameters: deep {e:.4f}, shallow {at:.4f}" for p, e, at in pairs),
        ),
    ]
