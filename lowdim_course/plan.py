"""What the full profile costs on a GPU: `lowdim-course plan`.

For every experiment whose full profile trains networks on a downloaded data set, the
training runs its full config makes (network, epochs, images), their FLOPs, and an estimate of
the hours on one A100 and one H100. The FLOPs of a network are counted, not guessed:
`torch.utils.flop_counter` runs one forward pass of the very network `models.build` makes (a
CIFAR ResNet18 is 0.56 G multiply-accumulates, 1.11 GFLOP, per 32 x 32 image). A training
step costs about three forward passes (forward, and a backward of about twice that), and
every epoch also evaluates the test set once (one forward pass per image).

Hours = FLOPs / (peak x utilisation). Peaks are the dense bf16/fp16 tensor-core numbers of the
data sheets (A100 312 TFLOP/s, H100 SXM 989 TFLOP/s). The utilisation, 25%, is what a
published fast CIFAR ResNet18 run reaches on an A100 (80 epochs in 167 s with fp16 and
channels_last: about 81 TFLOP/s); our loop, with batch 128 and per-epoch metrics, will be
slower, so read the hours as a lower bound, and replace the utilisation by the one
`benchmarks/gpu_run.sh` measures on your GPU (`--utilisation`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from . import experiments, full_results, models

CIFAR = (3, 32, 32)
TRAIN_IMAGES, TEST_IMAGES = 50_000, 10_000
PEAK_TFLOPS = {"A100": 312.0, "H100": 989.0}
UTILISATION = 0.25


@dataclass(frozen=True)
class Run:
    """Training runs of one network: `count` runs of `epochs` epochs over `images` images."""

    what: str
    arch: str
    epochs: int
    count: int = 1
    images: int = TRAIN_IMAGES
    width: int | None = None
    depth: int | None = None
    feature_dim: int | None = None
    extra_forward_per_epoch: int = 0  # images of extra forward passes per epoch (metrics)

    def flops(self) -> float:
        per_image = forward_flops(self.arch, self.width, self.depth, self.feature_dim)
        images = 3 * self.images + TEST_IMAGES + self.extra_forward_per_epoch
        return self.count * self.epochs * images * per_image


@functools.cache
def forward_flops(arch: str, width=None, depth=None, feature_dim=None) -> float:
    """FLOPs of one forward pass of one CIFAR image through `models.build(arch, ...)`."""
    net = models.build(arch, CIFAR, 10, width=width, depth=depth, feature_dim=feature_dim)
    net.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net(torch.zeros(1, *CIFAR))
    return float(counter.get_total_flops())


def _nets(config, arch=None) -> dict:
    """The network fields of a config (ResNet18 ignores `width`, its widths are fixed)."""
    arch = arch or config.model
    sizes = {"width": config.width, "depth": config.depth} if arch in ("mlp", "wrn") else {}
    return {"arch": arch, **sizes}


def _tpt(c, runs=1, what="ResNet18", **kw):
    metrics = getattr(c, "metrics_samples", 0) // max(getattr(c, "metrics_every", 1), 1)
    return [Run(what, **_nets(c), epochs=c.train.epochs, count=runs,
                extra_forward_per_epoch=metrics, **kw)]  # fmt: skip


def _fixed_etf(c):
    return [
        Run(f"{classifier} classifier, d = {d or 512}", **_nets(c), epochs=c.train.epochs,
            feature_dim=d or None)
        for classifier, d in c.variants
    ]  # fmt: skip


def _random_labels_collapse(c):
    return _tpt(c, images=c.n_train)


def _transfer(c):
    return _tpt(c, runs=len(c.variants), images=TRAIN_IMAGES * c.source_classes // 10)


def _finetune(c):
    down = TRAIN_IMAGES * (10 - c.source_classes) // 10
    return _tpt(c, what="ResNet18, pretraining", images=TRAIN_IMAGES * c.source_classes // 10) + [
        Run("one fine-tuning per method", **_nets(c), epochs=c.finetune.epochs,
            count=len(c.methods), images=down)
    ]  # fmt: skip


def _separation_mlp(c):
    return [Run(f"{c.depth}-layer MLP", "mlp", c.train.epochs, width=c.width, depth=c.depth)]


def _sop(c):
    runs = 2 * (len(c.rates) + len(getattr(c, "cifar10n_sets", ())))  # CE and SOP each
    return [Run("ResNet18, CE and SOP per label set", **_nets(c), epochs=c.train.epochs,
                count=runs)]  # fmt: skip


def _overfitting(c):
    return [Run("ResNet18, CE", **_nets(c), epochs=c.train.epochs, count=len(c.rates[-1:]))]


def _random_labels(c):
    count = len(c.fractions) + len(c.pixels)
    images = c.train_samples or TRAIN_IMAGES
    return [Run("one network per condition", **_nets(c), epochs=c.train.epochs, count=count,
                images=images)]  # fmt: skip


def _width(c):
    return [
        Run(f"WRN-{c.depth}-{k}", "wrn", c.train.epochs, width=k, depth=c.depth) for k in c.widths
    ]


def _lr_noise_images(c):
    nets = lambda part: {"arch": part.model, "width": part.width, "depth": part.depth}  # noqa: E731
    if c.images.model == "resnet18":
        images = {"arch": "resnet18"}
    else:
        images = nets(c.images)
    return [
        Run("large lr then decay, and small lr", **images, epochs=c.images.epochs, count=2),
        Run(f"patch experiment, {c.patch.network}", **nets(c.patch), epochs=c.patch.epochs,
            count=2),
    ]  # fmt: skip


# experiment name -> its full config -> the training runs it makes
RUNS = {
    "getting_started": lambda c: [Run("ResNet18", **_nets(c), epochs=c.train.epochs)],
    "collapse_tpt": _tpt,
    "collapse_fixed_etf": _fixed_etf,
    "collapse_losses": lambda c: _tpt(c, runs=len(c.losses), what="ResNet18, one per loss"),
    "collapse_random_labels": _random_labels_collapse,
    "collapse_transfer": _transfer,
    "collapse_finetune": _finetune,
    "parsimony_separation_mlp": _separation_mlp,
    "robust_overfitting": _overfitting,
    "robust_sop": _sop,
    "overparam_random_labels": _random_labels,
    "overparam_width": _width,
    "overparam_lr_noise_images": _lr_noise_images,
}


def gpu_experiments() -> list[str]:
    """The registered experiments whose full profile needs a download (so a GPU)."""
    return [
        name
        for name, exp in experiments.EXPERIMENTS.items()
        if full_results.downloads_needed(exp.config.full())
    ]


def cost(name: str, utilisation: float = UTILISATION) -> dict:
    runs = RUNS[name](experiments.get(name).config.full())
    flops = sum(r.flops() for r in runs)
    hours = {gpu: flops / (peak * 1e12 * utilisation) / 3600 for gpu, peak in PEAK_TFLOPS.items()}
    return {
        "name": name,
        "runs": sum(r.count for r in runs),
        "epochs": sum(r.count * r.epochs for r in runs),
        "images": sum(r.count * r.epochs * r.images for r in runs),
        "pflop": flops / 1e15,
        "hours": hours,
        "detail": runs,
    }


def table(utilisation: float = UTILISATION) -> str:
    """The Markdown cost table of every download-needing experiment, with the total."""
    rows = [cost(name, utilisation) for name in gpu_experiments() if name in RUNS]
    missing = [name for name in gpu_experiments() if name not in RUNS]
    lines = [
        f"GPU cost of the full profile (FLOPs counted per network; {utilisation:.0%} of the "
        "dense bf16 peak; a lower bound, see `lowdim_course.plan`):",
        "",
        "| experiment | training runs | epochs | images seen | PFLOP | A100 h | H100 h |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| `{r['name']}` | {r['runs']} | {r['epochs']} | {r['images'] / 1e6:.1f} M | "
            f"{r['pflop']:.0f} | {r['hours']['A100']:.1f} | {r['hours']['H100']:.1f} |"
        )
    total = {k: sum(r[k] for r in rows) for k in ("runs", "epochs", "images", "pflop")}
    hours = {gpu: sum(r["hours"][gpu] for r in rows) for gpu in PEAK_TFLOPS}
    lines.append(
        f"| **total** | {total['runs']} | {total['epochs']} | {total['images'] / 1e6:.1f} M | "
        f"{total['pflop']:.0f} | {hours['A100']:.1f} | {hours['H100']:.1f} |"
    )
    if missing:
        lines += ["", f"Not costed yet (no entry in `plan.RUNS`): {', '.join(missing)}."]
    return "\n".join(lines)
