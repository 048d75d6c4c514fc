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
