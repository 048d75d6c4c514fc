"""The training loop: one function, `train(model, data, config)`, plus `evaluate` and `features`.

Why it is fast (see benchmarks/train_speed.py for the measurement):
- the whole data set sits on the device as a tensor; a batch is `x[idx]`, no DataLoader, no PIL;
- shuffling is `torch.randperm` on the device, augmentation (random crop by pad + translate,
  horizontal flip) is a batched tensor operation on the device;
- on CUDA the forward pass runs in bf16 autocast (unless `mixed_precision=False`) with
  channels_last images (never on CPU);
- nothing forces the host to wait for the GPU inside an epoch: losses and correct counts add
  up on the device and are read once per epoch.

Reproducible and resumable: all randomness of the loop comes from one generator seeded by
`seed`; with `checkpoint_dir` set, a checkpoint (model, optimizer, step, RNG states, history)
is written atomically every `checkpoint_every` epochs, and `resume=True` continues from it to
the same weights an uninterrupted run would reach.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from .data import ArrayData

CHECKPOINT_FORMAT = "lowdim_course/checkpoint-v1"
CHECKPOINT_NAME = "last.pt"
CHECKPOINT_KEYS = {
    "epoch",
    "step",
    "seed",
    "config",
    "model",
    "optimizer",
    "generator",
    "torch_rng",
}


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.1  # peak learning rate
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4  # L2 penalty on every parameter, as in the papers we reproduce
    schedule: str = "cosine"  # 'constant' | 'step' | 'cosine' | 'linear' (decay to 0)
    milestones: tuple[float, ...] = (0.5, 0.75)  # 'step': fractions of training where lr *= gamma
    gamma: float = 0.1  # 'step': the factor applied at each milestone
    warmup_epochs: float = 0.0  # linear warm-up from 0 to lr over this many epochs
    label_smoothing: float = 0.0  # for the default cross-entropy loss
    augment: bool = False  # random crop (pad + translate) and horizontal flip; images only
    crop_padding: int = 4  # pixels of zero padding for the random crop
    drop_last: bool = True  # skip the incomplete last batch (keeps BatchNorm batches full)
    # bf16 autocast on CUDA; False keeps float32, for inputs whose signal is finer than bf16's
    # 8-bit mantissa resolves (lecture 6's patch: +-0.1 on top of values near 1.25)
    mixed_precision: bool = True
    checkpoint_every: int = (
        0  # epochs between checkpoints; 0 writes only at the end if a dir is set
    )

    def rehearsal(self, epochs: int = 2, batch_size: int = 16) -> TrainConfig:
        """This schedule shrunk for a rehearsal of the full profile on miniature data: `epochs`
        epochs of batches of `batch_size`, a checkpoint after every epoch, all else kept."""
        return replace(self, epochs=epochs, batch_size=batch_size, checkpoint_every=1)


SCHEDULES = ("constant", "step", "cosine", "linear")


class CheckpointError(RuntimeError):
    """A checkpoint that is corrupt, foreign, or from a different configuration."""


def lr_factor(progress: float, config: TrainConfig) -> float:
    """Multiplier of the peak learning rate at `progress` in [0, 1] of training."""
    if config.schedule == "constant":
        return 1.0
    if config.schedule == "step":
        return config.gamma ** sum(progress >= m for m in config.milestones)
    if config.schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    if config.schedule == "linear":
        return 1.0 - progress
    raise ValueError(f"unknown schedule {config.schedule!r}: choose one of {SCHEDULES}")


def augment_batch(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and random translation by up to `padding` pixels (zero fill)."""
    B, C, H, W = x.shape
    dev = x.device
    flip = torch.rand(B, device=dev, generator=generator) < 0.5
    x = torch.where(flip.view(B, 1, 1, 1), x.flip(3), x)
    if padding == 0:
        return x
    padded = F.pad(x, (padding,) * 4)  # (B, C, H + 2p, W + 2p)
    shift = torch.randint(0, 2 * padding + 1, (2, B), device=dev, generator=generator)
    rows = (shift[0].view(B, 1) + torch.arange(H, device=dev)).view(B, 1, H, 1)
    cols = (shift[1].view(B, 1) + torch.arange(W, device=dev)).view(B, 1, 1, W)
    batch = torch.arange(B, device=dev).view(B, 1, 1, 1)
    channel = torch.arange(C, device=dev).view(1, C, 1, 1)
    return padded[batch, channel, rows, cols]  # (B, C, H, W)


def _autocast(device: torch.device, enabled: bool = True):
    # bf16 autocast on CUDA only: on CPU it is slower and changes results.
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _model_inputs(data: ArrayData, x: torch.Tensor, device: torch.device) -> torch.Tensor:
    x = data.inputs(x)
    if device.type == "cuda" and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: ArrayData,
    batch_size: int = 1024,
    loss_fn: Callable | None = None,
    mixed_precision: bool = True,
) -> dict[str, float]:
    """Mean loss and accuracy of `model` on `data` (model left in eval mode); bf16 autocast on
    CUDA unless `mixed_precision=False`."""
    model.eval()
    device = next(model.parameters()).device
    data = data.to(device)
    loss_fn = loss_fn or F.cross_entropy
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    for start in range(0, len(data), batch_size):
        xb, yb = data.x[start : start + batch_size], data.y[start : start + batch_size]
        with _autocast(device, mixed_precision):
            logits = model(_model_inputs(data, xb, device))
        loss_sum += loss_fn(logits.float(), yb) * len(yb)
        correct += (logits.argmax(1) == yb).sum()
    n = max(len(data), 1)
    return {"loss": loss_sum.item() / n, "acc": correct.item() / n}


@torch.no_grad()
def features(model: nn.Module, data: ArrayData, batch_size: int = 1024) -> torch.Tensor:
    """Penultimate features `model.features(x)` of every sample, float32 on the CPU, (N, d).

    Computed in float32 even on CUDA (no bf16 autocast): the feature statistics the lectures
    measure become small late in training, below what bf16's 8-bit mantissa resolves.
    """
    model.eval()
    device = next(model.parameters()).device
    data = data.to(device)
    out = []
    for start in range(0, len(data), batch_size):
        xb = _model_inputs(data, data.x[start : start + batch_size], device)
        out.append(model.features(xb).float().cpu())
    return torch.cat(out)


def _save_checkpoint(path: Path, state: dict) -> None:
    """Write to a temporary file and rename, so a crash never leaves a half-written checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path | str, device: torch.device | str = "cpu") -> dict:
    """Load a checkpoint written by `train` (weights_only: no arbitrary code runs)."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as err:
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({type(err).__name__}: {str(err)[:200]}). "
            "It may be truncated or from another program: delete it to train from scratch."
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} was not written by lowdim_course.train (expected format "
            f"{CHECKPOINT_FORMAT!r}); delete it or point checkpoint_dir elsewhere."
        )
    missing = sorted(CHECKPOINT_KEYS - state.keys())
    if missing:
        raise CheckpointError(f"{path} is incomplete (no {missing}); delete it to start afresh.")
    return state


def _digest(*parts) -> str:
    """A short SHA-256 of tensors (dtype, shape and bytes) and strings."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, torch.Tensor):
            h.update(f"{part.dtype}{tuple(part.shape)}".encode())
            h.update(part.detach().cpu().contiguous().numpy().tobytes())
        else:
            h.update(str(part).encode())
    return h.hexdigest()[:16]


def _run_fingerprint(model: nn.Module, data: ArrayData, test_data: ArrayData | None) -> dict:
    """Digests of the data and of the architecture (not the initial weights: a resumed run may
    start from any weights, everything then comes from the checkpoint)."""
    shapes = [(name, tuple(p.shape)) for name, p in model.state_dict().items()]
    fingerprint = {"data": _digest(data.x, data.y), "model": _digest(type(model).__name__, shapes)}
    if test_data is not None:
        fingerprint["test_data"] = _digest(test_data.x, test_data.y)
    return fingerprint


def _flat(settings: dict, prefix: str) -> dict:
    """{'a': {'b': 1}} -> {'<prefix>a.b': 1}, so a refusal names the very setting that differs."""
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _refuse_another_run(path: Path, state: dict, config, seed: int, settings: dict) -> None:
    """Raise CheckpointError unless the checkpoint was written by this very run: the same
    config (the checkpoint interval aside), seed and settings."""
    saved = {k: v for k, v in state["config"].items() if k != "checkpoint_every"}
    wanted = {k: v for k, v in asdict(config).items() if k != "checkpoint_every"}
    diff = sorted(k for k in wanted.keys() | saved.keys() if saved.get(k) != wanted.get(k))
    # Checkpoints from before settings were saved have none: any wanted setting differs.
    saved_settings = _flat(state.get("settings", {}), "settings.")
    wanted_settings = _flat(settings, "settings.")
    keys = saved_settings.keys() | wanted_settings.keys()
    diff += sorted(k for k in keys if saved_settings.get(k) != wanted_settings.get(k))
    if state["seed"] != seed:
        diff.append("seed")
    if diff:
        raise CheckpointError(
            f"{path} comes from a different run (differs in {diff}); "
            "delete that folder (or use another checkpoint_dir, or resume=False) to start afresh."
        )


def progress_enabled(progress: bool | None) -> bool:
    """Show progress bars? The argument wins; else LOWDIM_PROGRESS (0/false/no silences)."""
    if progress is not None:
        return progress
    return os.environ.get("LOWDIM_PROGRESS", "1") not in ("0", "false", "no")


def train(
    model: nn.Module,
    data: ArrayData,
    config: TrainConfig,
    *,
    test_data: ArrayData | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    per_sample: nn.Module | None = None,
    on_epoch: Callable[[int, nn.Module], dict | None] | None = None,
    seed: int = 0,
    checkpoint_dir: Path | str | None = None,
    resume: bool = False,
    progress: bool | None = None,
    run_settings: dict | None = None,
) -> list[dict]:
    """Train `model` (already on its device) on `data` with SGD; return one dict per epoch.

    Each record holds epoch, lr, train_loss, train_acc (running, over the epoch's batches),
    test_loss/test_acc if `test_data` is given, seconds so far, and whatever `on_epoch(epoch,
    model)` returns. `loss_fn(logits, labels)` replaces the default cross-entropy.
    `per_sample`, a module holding parameters per training sample (lecture 5's sparse
    over-parameterisation), is called as `per_sample(logits, labels, idx)` with the batch's
    sample indices and returns the loss; its `param_groups()` are added to the optimizer with
    their own fixed learning rates (the schedule does not touch them), and its state is saved in
    checkpoints.
    A checkpoint records what defines its run: the config, the seed, a digest of the training
    and test data (inputs and labels) and of the model's architecture (parameter names and
    shapes), `per_sample.settings()` if the module has that method, and `run_settings`
    (JSON-like values: anything else the caller's run depends on). `resume=True` refuses a
    checkpoint in which any of them differs, so a changed setting never reads back another run.
    `progress=None` shows a tqdm bar unless $LOWDIM_PROGRESS=0. The model is left in eval mode.
    """
    if per_sample is not None and loss_fn is not None:
        raise ValueError("give loss_fn or per_sample, not both: per_sample computes the loss")
    if loss_fn is not None and config.label_smoothing:
        raise ValueError("label_smoothing applies to the default loss; build it into loss_fn")
    if config.augment and not data.is_image:
        raise ValueError(f"augment=True needs uint8 images, but {data.name} holds features")
    if len(data) == 0:
        raise ValueError(f"{data.name} is empty: there is nothing to train on")
    lr_factor(0.0, config)  # fail early on an unknown schedule
    device = next(model.parameters()).device
    data = data.to(device)
    if device.type == "cuda" and data.x.dim() == 4:
        model = model.to(memory_format=torch.channels_last)
    if loss_fn is None:

        def loss_fn(logits, y):
            return F.cross_entropy(logits, y, label_smoothing=config.label_smoothing)

    groups = [{"params": list(model.parameters())}]
    if per_sample is not None:
        per_sample = per_sample.to(device)
        groups += [dict(group, fixed_lr=True) for group in per_sample.param_groups()]
    optimizer = torch.optim.SGD(
        groups,
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
    )
    generator = torch.Generator(device=device).manual_seed(seed)
    n, bs = len(data), config.batch_size
    steps_per_epoch = n // bs if config.drop_last and n >= bs else math.ceil(n / bs)
    total_steps = steps_per_epoch * config.epochs
    warmup_steps = config.warmup_epochs * steps_per_epoch

    # Resume: restore everything the next epoch depends on.
    ckpt_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir else None
    settings = {}
    if ckpt_path is not None:
        settings = _run_fingerprint(model, data, test_data) | dict(run_settings or {})
        if per_sample is not None and hasattr(per_sample, "settings"):
            settings["per_sample"] = per_sample.settings()
    start_epoch, step, history, elapsed = 0, 0, [], 0.0
    if resume and ckpt_path is not None and ckpt_path.exists():
        state = load_checkpoint(ckpt_path, device)
        _refuse_another_run(ckpt_path, state, config, seed, settings)
        model.load_state_dict(state["model"])
        if per_sample is not None:
            if "per_sample" not in state:
                raise CheckpointError(f"{ckpt_path} holds no per-sample parameters to resume")
            per_sample.load_state_dict(state["per_sample"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"].cpu())  # RNG states are CPU byte tensors
        torch.set_rng_state(state["torch_rng"].cpu())
        if device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), device)
        start_epoch, step, history = state["epoch"], state["step"], list(state["history"])
        elapsed = history[-1]["seconds"] if history else 0.0

    bar = tqdm(
        range(start_epoch, config.epochs),
        initial=start_epoch,
        total=config.epochs,
        desc="train",
        unit="epoch",
        disable=not progress_enabled(progress),
    )
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        perm = torch.randperm(n, device=device, generator=generator)
        for i in range(steps_per_epoch):
            idx = perm[i * bs : (i + 1) * bs]
            xb, yb = data.x[idx], data.y[idx]
            if config.augment:
                xb = augment_batch(xb, config.crop_padding, generator)
            lr = config.lr * lr_factor(step / total_steps, config)
            if step < warmup_steps:
                lr *= (step + 1) / warmup_steps
            for group in optimizer.param_groups:
                if not group.get("fixed_lr"):
                    group["lr"] = lr
            with _autocast(device, config.mixed_precision):
                logits = model(_model_inputs(data, xb, device))
                if per_sample is not None:
                    loss = per_sample(logits.float(), yb, idx)
                else:
                    loss = loss_fn(logits.float(), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            # Accumulate on the device: reading .item() here would stall the GPU every step.
            loss_sum += loss.detach() * len(yb)
            correct += (logits.detach().argmax(1) == yb).sum()
            seen += len(yb)
            step += 1

        elapsed += time.perf_counter() - t0
        record = {
            "epoch": epoch + 1,
            "lr": lr,
            "train_loss": loss_sum.item() / seen,
            "train_acc": correct.item() / seen,
        }
        if test_data is not None:
            test = evaluate(
                model, test_data, loss_fn=loss_fn, mixed_precision=config.mixed_precision
            )
            record.update(test_loss=test["loss"], test_acc=test["acc"])
        if on_epoch is not None:
            record.update(on_epoch(epoch + 1, model) or {})
        record["seconds"] = elapsed
        history.append(record)
        bar.set_postfix(loss=f"{record['train_loss']:.3f}", acc=f"{record['train_acc']:.3f}")

        last = epoch + 1 == config.epochs
        every = config.checkpoint_every
        if ckpt_path is not None and (last or (every and (epoch + 1) % every == 0)):
            state = {
                "format": CHECKPOINT_FORMAT,
                "epoch": epoch + 1,
                "step": step,
                "seed": seed,
                "config": asdict(config),
                "settings": settings,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "history": history,
            }
            if per_sample is not None:
                state["per_sample"] = per_sample.state_dict()
            if device.type == "cuda":
                state["cuda_rng"] = torch.cuda.get_rng_state(device)
            _save_checkpoint(ckpt_path, state)
    bar.close()
    model.eval()
    return history
