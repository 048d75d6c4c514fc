"""Seconds per CIFAR-10-sized epoch of ResNet18 in our loop, and the utilisation it implies.

Trains `models.build("resnet18", ...)` for `--epochs` (default 2; the first warms up cuDNN and
is not counted) on 50 000 synthetic CIFAR-shaped images (`data.synthetic_images`, no
download) with the full profile's settings (batch 128, crop + flip, bf16 autocast on CUDA),
evaluating 10 000 test images each epoch as the experiments do. From the counted FLOPs of the
network (`plan.forward_flops`) it reports the TFLOP/s reached and the fraction of the GPU's
dense bf16 peak, which `lowdim-course plan --utilisation U` then uses for its estimate.

    python benchmarks/epoch_time.py                      # CUDA (refuses to run without it)
    python benchmarks/epoch_time.py --device cpu --images 512 --test-images 128   # a smoke run
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import torch

from lowdim_course import models, plan, results, runtime
from lowdim_course.data import synthetic_images
from lowdim_course.train import TrainConfig, train

# dense bf16 TFLOP/s: the plan's A100 and H100, and a few other GPUs
PEAKS = {**plan.PEAK_TFLOPS, "H200": 989.0, "L40S": 362.0, "A10": 125.0}


def peak_tflops(device: torch.device) -> tuple[str, float | None]:
    if device.type != "cuda":
        return "cpu", None
    name = torch.cuda.get_device_name(device)
    return name, next((v for k, v in PEAKS.items() if k in name), None)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cuda")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--test-images", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--out", type=Path, help="JSON path (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    device = runtime.setup(device=args.device, seed=0).device
    train_set = synthetic_images(args.images, seed=0).to(device)
    test_set = synthetic_images(args.test_images, seed=1).to(device)
    net = models.build("resnet18", (3, 32, 32), 10).to(device)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=0.05, augment=True)
    history = train(net, train_set, config, test_data=test_set, progress=False)
    seconds = [b["seconds"] - a["seconds"] for a, b in zip(history, history[1:])]
    per_epoch = min(seconds) if seconds else history[-1]["seconds"]
    flops = plan.Run("one epoch", "resnet18", 1, images=args.images).flops()
    flops += (args.test_images - plan.TEST_IMAGES) * plan.forward_flops("resnet18")
    name, peak = peak_tflops(device)
    achieved = flops / per_epoch / 1e12
    report = {
        "device": name,
        "torch": torch.__version__,
        "model": "resnet18",
        "batch_size": args.batch_size,
        "images": args.images,
        "test_images": args.test_images,
        "seconds_per_epoch": round(per_epoch, 3),
        "images_per_second": round(args.images / per_epoch, 1),
        "tflops_achieved": round(achieved, 2),
        "peak_tflops": peak,
        "utilisation": round(achieved / peak, 4) if peak else None,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": results.git_commit(),
    }
    out = args.out or Path(__file__).parent / "results" / f"epoch_time_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
