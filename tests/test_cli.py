"""The command line: experiments end to end, and one-line errors with exit status 2."""

import json
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from lowdim_course import cli, experiments, plots

ROOT = Path(__file__).resolve().parent.parent


def test_run_quick_writes_results_with_provenance_and_figures(tmp_path, capsys):
    assert (
        cli.main(
            ["run", "getting_started", "--profile", "quick", "--quiet", "--out", str(tmp_path)]
        )
        == 0
    )
    payload = json.loads((tmp_path / "results.json").read_text())
    meta = payload["provenance"]
    assert payload["name"] == "getting_started" and payload["profile"] == "quick"
    assert meta["config"]["dataset"] == "digits" and meta["seed"] == 0
    assert meta["device"].startswith("cpu") and meta["wall_time_s"] > 0
    assert {"torch", "git_commit", "date", "lowdim_course"} <= set(meta)
    final = payload["metrics"]["final"]
    assert final["train_acc"] == 1.0 and final["test_acc"] > 0.95
    assert (tmp_path / "learning_curves.png").stat().st_size > 10_000
    assert (tmp_path / "features.png").stat().st_size > 10_000
    assert "profile=quick" in capsys.readouterr().out


def test_same_seed_same_results(tmp_path):
    for name in ("a", "b"):
        cli.main(
            [
                "run",
                "getting_started",
                "--profile",
                "quick",
                "--quiet",
                "--out",
                str(tmp_path / name),
            ]
        )
    a, b = (json.loads((tmp_path / n / "results.json").read_text())["metrics"] for n in "ab")
    assert a["history"][-1]["train_loss"] == b["history"][-1]["train_loss"]
    assert a["test_features_2d"] == b["test_features_2d"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "getting_started", "--device", "cuda"], "no CUDA GPU"),
        (["run", "getting_started", "--profile", "full"], "full profile needs a CUDA GPU"),
        (["run", "no_such_experiment", "--profile", "quick"], "unknown experiment"),
        (["run", "getting_started", "--profile", "fast"], "invalid choice"),
        (["download", "imagenet"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
        (["run"], "required"),
    ],
)
def test_mistakes_exit_2_with_one_line(argv, message, capsys, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    monkeypatch.delenv("LOWDIM_PROFILE", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        sys.exit(cli.main(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert "Traceback" not in err


def test_console_script_exits_2_without_cuda():
    # The installed entry point, as a user runs it (this machine has no CUDA).
    exe = Path(sys.executable).parent / "lowdim-course"
    done = subprocess.run(
        [str(exe), "run", "getting_started", "--device", "cuda"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "cuda" in done.stderr and "Traceback" not in done.stderr


def test_full_data_missing_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOWDIM_DATA", str(tmp_path))
    argv = [
        "run",
        "getting_started",
        "--profile",
        "full",
        "--device",
        "cpu",
        "--out",
        str(tmp_path / "o"),
    ]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "lowdim-course download cifar10" in err and str(tmp_path) in err


def test_list_shows_both_configs(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name, exp in experiments.EXPERIMENTS.items():
        assert name in out
        assert cli._describe(exp.config.quick()) in out
        assert cli._describe(exp.config.full()) in out


def test_every_lecture_module_is_registered():
    """Each lecture module's EXPERIMENTS reach the registry (and so the CLI and `figures`)."""
    import importlib
    import pkgutil

    import lowdim_course

    for info in pkgutil.iter_modules(lowdim_course.__path__):
        module = importlib.import_module(f"lowdim_course.{info.name}")
        for name in getattr(module, "EXPERIMENTS", {}):
            assert name in experiments.EXPERIMENTS, f"{info.name}.{name} is not registered"


def test_every_experiment_has_quick_and_full_configs_and_figures():
    for exp in experiments.EXPERIMENTS.values():
        quick, full = exp.config.quick(), exp.config.full()
        assert quick != full, f"{exp.name}: quick and full configs are identical"
        assert exp.figures and (ROOT / exp.lecture).exists()


def test_student_copies_of_the_real_lectures(tmp_path, capsys):
    assert cli.main(["student-copies", str(tmp_path)]) == 0
    copies = sorted(tmp_path.glob("*.ipynb"))
    assert [c.name for c in copies] == sorted(p.name for p in (ROOT / "lectures").glob("*.ipynb"))
    nb = json.loads((tmp_path / "00_getting_started.ipynb").read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert any("def ncm_predict(" in c and "NotImplementedError" in c for c in code)
    assert not any("torch.cdist(query, means)" in c for c in code), "the solution leaked"
    assert "solution cell(s) replaced" in capsys.readouterr().out


def tiny_config(experiment):
    """A seconds-long version of the experiment's quick config, from its lecture's tests (the
    quick configs themselves run in the notebooks, under nbval and in the book build)."""
    import importlib
    from dataclasses import replace

    quick = experiment.config.quick()
    if experiment.name == "getting_started":
        return replace(quick, train=replace(quick.train, epochs=2))
    module = importlib.import_module("test_" + experiment.name.split("_")[0])  # test_sparse, ...
    tiny = module.TINY[experiment.name]
    return replace(quick, **tiny) if isinstance(tiny, dict) else tiny


def test_figures_regenerates_every_figure(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOWDIM_RESULTS", str(tmp_path / "results"))
    monkeypatch.setattr(experiments, "config_for", lambda exp, profile: tiny_config(exp))
    assert cli.main(["figures", "--profile", "quick", "--out", str(tmp_path / "fig")]) == 0
    written = sorted(p.name for p in (tmp_path / "fig").glob("*.png"))
    expected = sorted(
        f"{n}_quick_{f}.png" for n, e in experiments.EXPERIMENTS.items() for f in e.figures
    )
    assert written == expected
    # A figure fits a page: at most 16 x 10 inches (a wider one is shrunk to unreadable text).
    from PIL import Image

    plots.use_style()
    dpi = plt.rcParams["savefig.dpi"]
    for png in (tmp_path / "fig").glob("*.png"):
        width, height = Image.open(png).size
        assert width <= 16 * dpi and height <= 10 * dpi, f"{png.name}: {width} x {height} px"
    # No committed full-profile results in this folder: says so instead of inventing figures.
    assert cli.main(["figures", "--profile", "full", "--out", str(tmp_path / "full")]) == 0
    assert "skipped getting_started" in capsys.readouterr().out
    assert not (tmp_path / "full").exists() or not list((tmp_path / "full").iterdir())


def test_info_prints_the_banner(capsys):
    assert cli.main(["info", "--profile", "quick", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "profile=quick" in out and "data root" in out


def test_run_leaves_progress_bars_to_lowdim_progress_unless_quiet(monkeypatch):
    """`run` without --quiet passes progress=None, so $LOWDIM_PROGRESS=0 silences the bars."""
    seen = []
    monkeypatch.setattr(experiments, "run_experiment", lambda *a, **kw: seen.append(kw["progress"]))
    assert cli.main(["run", "getting_started", "--profile", "quick"]) in (0, None)
    assert cli.main(["run", "getting_started", "--profile", "quick", "--quiet"]) in (0, None)
    assert seen == [None, False]


def test_provenance_names_the_threads_the_run_used(tmp_path):
    """An experiment whose config sets its own threads (here the lazy sweep's one thread) says
    so in its provenance, not the process's setting, which is back in place after the run."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        folder = experiments.run_experiment(
            "overparam_lazy",
            profile="quick",
            out=tmp_path,
            progress=False,
            overrides={"widths": (64, 128, 256), "max_steps": 20},
        )
    finally:
        torch.set_num_threads(before)
    meta = json.loads((folder / "results.json").read_text())["provenance"]
    assert meta["config"]["threads"] == 1
    assert meta["device"] == "cpu (1 thread)"
