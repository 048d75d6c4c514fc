"""Training throughput of our loop against a tutorial-style DataLoader loop.

What it measures: images/s of training (data loading, augmentation, forward, backward and
SGD step included) for the same model, batch size, number of optimizer steps and SGD
hyperparameters (lr 0.1 constant, momentum 0.9, weight decay 5e-4), done two ways:

* ours: `lowdim_course.train.train` on an `ArrayData` of uint8 images held on the device,
  `augment=True` (random crop with padding 4 and horizontal flip as batched tensor ops),
  bf16 autocast and channels_last on CUDA, losses read once per epoch;
* reference: the loop most tutorials write: a `Dataset` of PIL images, torchvision
  `RandomCrop(32, padding=4)`, `RandomHorizontalFlip()`, `ToTensor()`, `Normalize()`, a
  shuffling `DataLoader`, `.to(device)` per batch, fp32, `loss.item()` every step.

Both run in one process on synthetic CIFAR-shaped data (`data.synthetic_images`, no
download). Each first takes `--warmup` untimed steps; then `--steps` steps are timed (on
CUDA between `torch.cuda.synchronize()` calls). It prints images/s for both and the ratio
ours/reference, and writes a JSON record (default benchmarks/results/train_speed_<cpu|cuda>.json).

Run (from the repository root):

    python benchmarks/train_speed.py                    # CUDA if present, else CPU
    python benchmarks/train_speed.py --device cpu --steps 100
    python benchmarks/train_speed.py --num-workers 8    # give the reference more workers
    python benchmarks/train_speed.py --repeats 3        # best of 3 alternating runs

Defaults. CPU: SmallCNN, batch 128, 200 steps, reference with 0 DataLoader workers (on a
small CPU a worker process only takes cores from the training threads). CUDA: ResNet18,
batch 512, 100 steps, 2 workers (the PyTorch CIFAR-10 tutorial's choice).

What to expect. 2-core CPU VM, torch 2.14.1 (SmallCNN, batch 128, 200 steps): ours about
1200 images/s, the reference about 900, ratio about 1.3x, the whole script about 1 minute;
see benchmarks/README.md. On a CPU the model's arithmetic dominates, so the gap there is
only the PIL pipeline's cost. On one NVIDIA H100 (ResNet18, batch 512) the target is ours
>= 5x the reference, whose PIL workers and per-step `.item()` cannot keep the GPU busy; the
script prints whether the target is met (not yet measured).
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import time
from pathlib import Path

import torch
import torchvision
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from lowdim_course import models, runtime
from lowdim_course.data import ArrayData, synthetic_images
from lowdim_course.train import TrainConfig, train

GPU_TARGET = 5.0  # ours / reference on CUDA
SGD = dict(lr=0.1, momentum=0.9, weight_decay=5e-4)
MODELS = {"smallcnn": models.SmallCNN, "resnet18": models.ResNet18}
DEFAULTS = {  # device type -> (model, steps, batch size, DataLoader workers)
    "cpu": ("smallcnn", 200, 128, 0),
    "cuda": ("resnet18", 100, 512, 2),
}


class PILImages(Dataset):
    """CIFAR-style data set of PIL images, as torchvision.datasets.CIFAR10 holds them."""

    def __init__(self, data: ArrayData, transform):
        hwc = data.x.permute(0, 2, 3, 1).numpy()  # (N, H, W, C) uint8
        self.images = [Image.fromarray(a) for a in hwc]
        self.labels = data.y.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ours(model, data: ArrayData, steps: int, warmup: int, bs: int, device) -> float:
    """Images/s of `train` over `steps` steps, after an untimed call of `warmup` steps."""
    config = TrainConfig(epochs=1, batch_size=bs, schedule="constant", augment=True, **SGD)
    data = data.to(device)
    train(model, data.subset(slice(0, warmup * bs)), config, progress=False)
    timed = data.subset(slice(warmup * bs, (warmup + steps) * bs))
    sync(device)
    t0 = time.perf_counter()
    train(model, timed, config, progress=False)  # ends by reading the loss: synced
    sync(device)
    return steps * bs / (time.perf_counter() - t0)


def time_reference(model, data: ArrayData, steps, warmup, bs, workers, device) -> float:
    """Images/s of a tutorial loop over its last `steps` steps of one pass over `data`."""
    transform = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(data.mean, data.std),
        ]
    )
    loader = DataLoader(
        PILImages(data, transform), batch_size=bs, shuffle=True, num_workers=workers,
        drop_last=True,
    )  # fmt: skip
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), **SGD)
    model.train()
    running_loss = 0.0
    for step, (images, labels) in enumerate(loader):
        if step == warmup:
            sync(device)
            t0 = time.perf_counter()
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()  # what tutorials print; it makes the host wait for the GPU
    sync(device)
    return steps * bs / (time.perf_counter() - t0)


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
            cwd=Path(__file__).parent,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--model", choices=list(MODELS), help="default: smallcnn/resnet18")
    parser.add_argument("--steps", type=int, help="timed steps (default: 200 CPU, 100 CUDA)")
    parser.add_argument("--batch-size", type=int, help="default: 128 CPU, 512 CUDA")
    parser.add_argument("--num-workers", type=int, help="reference DataLoader workers (0/2)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps before timing")
    parser.add_argument("--repeats", type=int, default=1, help="report the best of N runs")
    parser.add_argument("--out", type=Path, help="JSON path (default benchmarks/results/...)")
    args = parser.parse_args(argv)

    t_script = time.perf_counter()
    try:
        device = runtime.setup(device=args.device, seed=0).device
    except runtime.RuntimeSetupError as err:  # e.g. --device cuda on a machine without one
        parser.error(str(err))
    model_name, steps, bs, workers = DEFAULTS[device.type]
    model_name, steps = args.model or model_name, args.steps or steps
    bs = args.batch_size or bs
    workers = workers if args.num_workers is None else args.num_workers
    data = synthetic_images((args.warmup + steps) * bs)
    print(f"{model_name}, batch {bs}, {steps} timed steps after {args.warmup} warm-up steps")

    ours_runs, ref_runs = [], []
    for _ in range(args.repeats):  # alternate, so a slow spell of a shared machine hits both
        torch.manual_seed(0)
        model = MODELS[model_name]().to(device)
        ours_runs.append(time_ours(model, data, steps, args.warmup, bs, device))
        print(f"ours:      {ours_runs[-1]:9.1f} images/s  (lowdim_course.train.train)")
        torch.manual_seed(0)
        model = MODELS[model_name]().to(device)
        ref_runs.append(time_reference(model, data, steps, args.warmup, bs, workers, device))
        print(f"reference: {ref_runs[-1]:9.1f} images/s  (PIL + transforms, {workers} workers)")
    ours, ref = max(ours_runs), max(ref_runs)  # best of the repeats, as timeit does
    ratio = ours / ref
    wall = time.perf_counter() - t_script
    print(f"ratio ours/reference: {ratio:.2f}x  (whole script {wall:.0f} s)")
    cuda = device.type == "cuda"
    if cuda:
        met = "met" if ratio >= GPU_TARGET else "NOT met"
        print(f"GPU target ours >= {GPU_TARGET:g}x reference: {met}")

    record = {
        "device": torch.cuda.get_device_name(device) if cuda else runtime.device_name(device),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "model": model_name,
        "batch_size": bs,
        "steps": steps,
        "warmup_steps": args.warmup,
        "reference_num_workers": workers,
        "ours_images_per_s": round(ours, 1),
        "reference_images_per_s": round(ref, 1),
        "ratio": round(ratio, 3),
        "repeats": args.repeats,  # the images/s above are the best of these runs:
        "ours_runs": [round(v, 1) for v in ours_runs],
        "reference_runs": [round(v, 1) for v in ref_runs],
        "wall_s": round(wall, 1),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
    }
    out = args.out or Path(__file__).parent / "results" / f"train_speed_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")
    return record


if __name__ == "__main__":
    main()
