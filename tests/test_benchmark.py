"""The speed benchmark runs end to end (a few steps; the timing itself is not asserted)."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_train_speed_runs_and_writes_json(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "train_speed", ROOT / "benchmarks" / "train_speed.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "speed.json"
    argv = [
        "--device",
        "cpu",
        "--steps",
        "3",
        "--warmup",
        "1",
        "--batch-size",
        "8",
        "--out",
        str(out),
    ]
    report = bench.main(argv)
    saved = json.loads(out.read_text())
    assert saved == report
    assert saved["ours_images_per_s"] > 0 and saved["reference_images_per_s"] > 0
    assert saved["device"].startswith("cpu") and saved["model"] == "smallcnn"
    assert abs(saved["ratio"] - saved["ours_images_per_s"] / saved["reference_images_per_s"]) < 0.01
    assert "ratio ours/reference" in capsys.readouterr().out


def test_epoch_time_runs_and_reports_its_throughput(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "epoch_time", ROOT / "benchmarks" / "epoch_time.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "epoch.json"
    argv = ["--device", "cpu", "--images", "64", "--test-images", "16", "--batch-size", "32"]
    report = bench.main([*argv, "--out", str(out)])
    assert json.loads(out.read_text()) == report
    assert report["seconds_per_epoch"] > 0 and report["images_per_second"] > 0
    assert report["utilisation"] is None  # no peak to compare with on a CPU


def test_gpu_run_script_names_real_no_download_experiments():
    import subprocess

    from lowdim_course import experiments, full_results

    dry = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_run.sh"), "--dry-run"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    steps = [line for line in dry.stdout.splitlines() if line.startswith("[")]
    assert steps[0].startswith("[train_speed") and steps[1].startswith("[epoch_time")
    names = [line[1:].split(",")[0] for line in steps[2:]]
    assert names, "the script runs no experiment"
    for name in names:
        config = experiments.get(name).config.full()
        assert not full_results.downloads_needed(config), f"{name} needs a download"
    limits = [int(line.split("<= ")[1].split("s]")[0]) for line in steps]
    assert max(limits) <= 300  # no single step eats the session; the 540 s budget stops it
    without_gpu = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_run.sh")],
                                 capture_output=True, text=True)  # fmt: skip
    if not __import__("torch").cuda.is_available():
        assert without_gpu.returncode == 2 and "no CUDA GPU" in without_gpu.stdout
