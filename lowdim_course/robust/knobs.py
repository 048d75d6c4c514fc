"""SOP's own knobs on the network: the rates of u and v (`sop_lr_u`, `sop_lr_v`) and the scale
of their initialisation (`sop_init_std`), each moved away from the lecture's working setting
one at a time, at one noise rate.

The linear model (`sensitivity`) predicts what to look for. u and v grow geometrically from
their initial scale at a speed set by their rate, so a rate much too small, or an initial
scale much too small, leaves them too little time to absorb the corrupted labels, and the
network memorises those instead. A rate much too large, or an initial scale much too large,
over-corrects: the corrections then also take the hard clean samples, fewer wrong labels are
memorised, and the test accuracy still falls. `knob_sweep` trains SOP once per setting
(`sop.train_with_noise`, the lecture's network and data), `check_knobs` states the lesson as
claims against the working setting and plain cross-entropy, and `plot_knobs` draws it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import plots
from ..claims import claim
from ..runtime import torch_threads
from .experiments import _sop_record
from .noise import noisy_data
from .sop import train_with_noise

# name -> the factors applied to (sop_lr_u, sop_lr_v, sop_init_std) of the working setting
KNOB_SETTINGS = {
    "lr_u / 100": (0.01, 1.0, 1.0),
    "lr_v / 100": (1.0, 0.01, 1.0),
    "both rates x 10": (10.0, 10.0, 1.0),
    "init x 100": (1.0, 1.0, 100.0),
    "init / 10,000": (1.0, 1.0, 1e-4),
}


def _scores(record: dict) -> dict:
    """What the sweep keeps of a `run_sop` record."""
    return {k: record[k] for k in ("final_test_acc", "best_test_acc", "memorised")}


def knob_sweep(
    config, rate: float, *, settings=KNOB_SETTINGS, reference=None, seed=0, device="cpu"
) -> dict:
    """SOP at noise `rate` under each of `settings` (factors on the config's lr_u, lr_v and
    init_std), on the data and initialisation of `run_sop` at that rate and seed and on the
    config's threads, beside the working setting and plain cross-entropy: per run its knobs,
    final and best test accuracy, and the fraction of corrupted labels the network reproduces.
    `reference`, `run_sop`'s result for this very config and seed, supplies the working setting
    and cross-entropy (its 'sop RATE' and 'ce RATE' runs); without it they are trained here."""
    train_set, test_set, noisy, corrupted = noisy_data(config, rate, seed)

    def train(method, knobs):
        history, _, _ = train_with_noise(
            train_set, test_set, noisy, corrupted, method=method, config=knobs, seed=seed,
            device=device, progress=False,
        )  # fmt: skip
        return _scores(_sop_record(history, None, noisy, corrupted, rate, train_set.y))

    def with_knobs(knobs):
        return {"lr_u": knobs.sop_lr_u, "lr_v": knobs.sop_lr_v, "init_std": knobs.sop_init_std}

    with torch_threads(getattr(config, "threads", 0)):
        if reference is not None:
            working, ce = (_scores(reference["runs"][f"{m} {rate:g}"]) for m in ("sop", "ce"))
        else:
            working, ce = train("sop", config), train("ce", config)
        runs = {}
        for name, (fu, fv, fi) in settings.items():
            knobs = replace(
                config,
                sop_lr_u=config.sop_lr_u * fu,
                sop_lr_v=config.sop_lr_v * fv,
                sop_init_std=config.sop_init_std * fi,
            )
            runs[name] = with_knobs(knobs) | train("sop", knobs)
    return {
        "rate": rate,
        "runs": runs,
        "working setting": with_knobs(config) | working,
        "cross-entropy": ce,
    }


def check_knobs(knobs: dict) -> list[str]:
    """The lesson, against the working setting and cross-entropy at the same rate: every
    setting, each knob a factor of 10 to 10,000 off, keeps SOP at least 20 points above
    cross-entropy; too slow a u, or too small an initial scale, lets the network memorise at
    least twice the working setting's share of corrupted labels; too large rates or initial
    scale memorise fewer but test at least 2 points lower; and no setting tests more than 0.5
    points above the working one."""
    base, ce = knobs["working setting"], knobs["cross-entropy"]
    runs = knobs["runs"]
    acc = {name: r["final_test_acc"] for name, r in runs.items()}
    mem = {name: r["memorised"] for name, r in runs.items()}
    slow, large = ["lr_u / 100", "init / 10,000"], ["both rates x 10", "init x 100"]

    def show(names, values):
        return ", ".join(f"{n} {values[n]:.3f}" for n in names)

    return [
        claim(
            min(acc.values()) >= ce["final_test_acc"] + 0.2,
            "every setting keeps SOP at least 20 points above cross-entropy "
            f"({ce['final_test_acc']:.3f})",
            show(runs, acc),
        ),
        claim(
            all(mem[n] >= 2 * base["memorised"] for n in slow),
            "too slow a u, or too small an initial scale, lets the network memorise at least "
            f"twice the working setting's share of the corrupted labels ({base['memorised']:.3f})",
            show(slow, mem),
        ),
        claim(
            all(
                mem[n] < base["memorised"] and acc[n] <= base["final_test_acc"] - 0.02
                for n in large
            ),  # fmt: skip
            "too large rates or initial scale over-correct: fewer corrupted labels memorised "
            "than at the working setting, and a test accuracy at least 2 points lower "
            f"({base['final_test_acc']:.3f})",
            f"memorised {show(large, mem)}; test accuracy {show(large, acc)}",
        ),
        claim(
            max(acc.values()) <= base["final_test_acc"] + 0.005,
            "no setting tests more than 0.5 points above the working one "
            f"({base['final_test_acc']:.3f})",
            show(runs, acc),
        ),
    ]


def plot_knobs(knobs: dict):
    """Final test accuracy and the share of corrupted labels memorised, per setting, with the
    working setting and cross-entropy as lines."""
    base, ce = knobs["working setting"], knobs["cross-entropy"]
    names = list(knobs["runs"])
    fig, axes = plots.subplots(1, 2, width=4.8, height=3.8)
    for ax, field, label in [(axes[0], "final_test_acc", "final test accuracy"),
                             (axes[1], "memorised", "corrupted labels memorised")]:  # fmt: skip
        values = [knobs["runs"][n][field] for n in names]
        ax.barh(np.arange(len(names)), values, color=plots.OKABE_ITO[2])
        ax.axvline(base[field], color="k", ls="--", lw=1, label="SOP, working setting")
        ax.axvline(ce[field], color=plots.OKABE_ITO[1], ls=":", lw=1.5, label="cross-entropy")
        ax.set_yticks(np.arange(len(names)), names if ax is axes[0] else [""] * len(names))
        ax.set(xlabel=label, title=f"{label.capitalize()}, {knobs['rate']:.0%} noise")
    axes[0].set_xlim(0.5, 1.0)  # cross-entropy's accuracy is the left reference line
    axes[0].legend(fontsize=7, loc="lower left")
    return fig
