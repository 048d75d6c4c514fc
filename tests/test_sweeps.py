"""Sweeps (issue 22): --set overrides, --seeds with their aggregate, and submitit's executors:
the local one against the in-process run, Slurm through a stub `sbatch` (no cluster needed)."""

import json
import pickle
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from lowdim_course import aggregate, cli, experiments, overrides, sweeps
from lowdim_course.robust import SOPConfig
from lowdim_course.train import CheckpointError

# robust_sop at seconds-long size (tests/test_robust.py's TINY), as overrides on the command line
TINY = ["train.epochs=2", "width=16", "rates=0,0.4", "compare_logit=false"]
TINY_ARGS = [a for s in TINY for a in ("--set", s)]


def test_parse_seeds():
    assert sweeps.parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert sweeps.parse_seeds("0,2,5") == [0, 2, 5]
    assert sweeps.parse_seeds("3,0-2,2") == [0, 1, 2, 3]
    for bad in ("4-2", "a", "0-", "1.5"):
        with pytest.raises(sweeps.SweepError, match="0-4 or 0,1,2"):
            sweeps.parse_seeds(bad)


def test_overrides_are_typed_nested_and_keyed():
    quick = SOPConfig.quick()
    config, changed = overrides.apply(quick, TINY + ["epochs=2", "lr=0.1"])
    assert config.train.epochs == 2 and config.width == 16 and config.compare_logit is False
    assert config.rates == (0.0, 0.4) and all(isinstance(r, float) for r in config.rates)
    # `epochs` is the only field of that name (train.epochs); lr=0.1 is the quick value: dropped
    assert changed == {"compare_logit": False, "rates": (0.0, 0.4), "train.epochs": 2, "width": 16}
    assert config == replace(quick, width=16, rates=(0.0, 0.4), compare_logit=False,
                             train=replace(quick.train, epochs=2))  # fmt: skip
    key = overrides.key(changed)
    assert len(key) == 8 and overrides.variant("quick", changed) == f"quick-{key}"
    assert overrides.variant("quick", {}) == "quick"  # no override: the folder of today
    # the same settings spelt differently key the same folder; other settings another one
    assert overrides.apply(quick, ["train.epochs=2"])[1] == overrides.apply(quick, ["epochs=2"])[1]
    assert overrides.key(overrides.apply(quick, ["train.epochs=3"])[1]) != overrides.key(
        overrides.apply(quick, ["train.epochs=2"])[1]
    )
    assert overrides.apply(quick, ["cifar10n_sets=worst,random1"])[0].cifar10n_sets == (
        "worst",
        "random1",
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["robust_sop", "--set", "epoch=5"], "no field 'epoch' (did you mean"),
        (["robust_sop", "--set", "train.epochs=2.5"], "train.epochs is a whole number"),
        (["robust_sop", "--set", "train.epochs=0"], "train.epochs must be a whole number >= 1"),
        (["robust_sop", "--set", "train.schedule=warp"], "one of constant, step, cosine"),
        (["robust_sop", "--set", "compare_logit=maybe"], "compare_logit is true or false"),
        (["robust_sop", "--set", "width"], "write FIELD=VALUE"),
        (["manifolds_depth", "--set", "pair=spiral"], "pair must be one of"),  # __post_init__
        (["robust_sop", "--seeds", "4-2"], "--seeds '4-2'"),
        (["robust_sop", "--seeds", "0-1", "--seed", "3"], "not both"),
        (["robust_sop", "--partition", "gpu"], "needs --executor"),
        (["robust_sop", "--executor", "local", "--partition", "gpu"], "slurm only"),
    ],
)
def test_bad_settings_stop_with_one_line_before_any_training(argv, message, capsys):
    assert cli.main(["run", *argv, "--profile", "quick"]) == 2
    out, err = capsys.readouterr()
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert "lowdim-course |" not in out  # stopped before the runtime banner: nothing ran


def test_an_override_keys_its_own_folder_and_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWDIM_RESULTS", str(tmp_path))
    assert cli.main(["run", "robust_sop", "--profile", "quick", "--quiet", *TINY_ARGS]) == 0
    changed = {"compare_logit": False, "rates": [0.0, 0.4], "train.epochs": 2, "width": 16}
    folder = tmp_path / "robust_sop" / overrides.variant("quick", changed)
    meta = json.loads((folder / "results.json").read_text())["provenance"]
    assert meta["overrides"] == changed and meta["config"]["train"]["epochs"] == 2
    assert (folder / "sop.png").exists()
    assert not (tmp_path / "robust_sop" / "quick").exists()  # never where plain runs go


def test_a_plain_run_keeps_its_meaning(monkeypatch):
    """`run NAME --profile full --device cpu --quiet --out DIR` (the queue's command) still
    calls run_experiment exactly as before: no overrides, no sweep."""
    calls = []
    monkeypatch.setattr(experiments, "run_experiment", lambda *a, **kw: calls.append((a, kw)))
    argv = ["run", "sparse_rates", "--profile", "full", "--device", "cpu", "--quiet"]
    assert cli.main([*argv, "--out", "DIR"]) == 0
    assert calls == [
        (("sparse_rates", "full", "cpu", 0, "DIR"), {"progress": False, "rehearse": False})
    ]


def test_aggregate_of_scalars():
    seeds = {
        0: {"acc": 0.5, "ok": True, "curve": [1.0, 2.0], "name": "x",
            "runs": [{"width": 2, "err": 0.1}, {"width": 4, "err": 0.3}]},
        1: {"acc": 0.7, "ok": False, "curve": [1.0, 2.0], "name": "x",
            "runs": [{"width": 2, "err": 0.2}, {"width": 4, "err": float("nan")}]},
    }  # fmt: skip
    summary = aggregate.summarise(seeds)
    assert list(summary) == ["acc", "ok", "runs/width=2/width", "runs/width=2/err",
                             "runs/width=4/width", "runs/width=4/err"]  # fmt: skip
    assert summary["acc"]["mean"] == pytest.approx(0.6) and summary["acc"]["count"] == 2
    assert summary["acc"]["std"] == pytest.approx(0.1414213562)  # over seeds, ddof=1
    assert summary["runs/width=4/err"] == {"mean": 0.3, "std": None, "count": 1}  # NaN left out
    table = aggregate.Table("e", "error", "width", "what", r"runs/width=(?P<row>\d+)/(?P<col>err)")
    rows, cols, cells = table.cells(summary)
    assert rows == ["2", "4"] and cols == ["err"] and cells["2", "err"]["count"] == 2


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text())["metrics"]


def test_local_executor_gathers_what_the_in_process_sweep_does(tmp_path, capsys):
    """Two seeds of robust_sop through submitit's local executor (one process per seed) and
    in this process: the same per-seed numbers and figures, the same aggregate tables."""
    base = ["run", "robust_sop", "--profile", "quick", "--quiet", *TINY_ARGS, "--seeds", "0-1"]
    assert cli.main([*base, "--out", str(tmp_path / "here")]) == 0
    assert cli.main([*base, "--out", str(tmp_path / "jobs"), "--executor", "local"]) == 0
    here, jobs = tmp_path / "here", tmp_path / "jobs"
    for seed in (0, 1):
        a, b = _metrics(here / f"seed-{seed}"), _metrics(jobs / f"seed-{seed}")
        assert a == b
        assert (here / f"seed-{seed}" / "sop.png").read_bytes() == (
            jobs / f"seed-{seed}" / "sop.png"
        ).read_bytes()
    assert _metrics(here / "seed-0") != _metrics(here / "seed-1")  # the seeds differ
    for name in ("aggregate.md", "aggregate.csv", "table-final_test_acc.csv",
                 "table-final_test_acc.png", "table-best_test_acc.png"):  # fmt: skip
        assert (here / name).read_bytes() == (jobs / name).read_bytes(), name
    summary = json.loads((jobs / "aggregate.json").read_text())
    assert summary["seeds"] == [0, 1] and summary["provenance"]["overrides"]["width"] == 16
    stats = summary["metrics"]["runs/sop 0.4/final_test_acc"]
    assert stats["count"] == 2 and stats["std"] is not None
    assert "| sop |" in (jobs / "aggregate.md").read_text()
    record = json.loads((jobs / sweeps.SWEEP_FILE).read_text())
    assert {j["executor"] for j in record["jobs"].values()} == {"local"}
    capsys.readouterr()
    assert cli.main(["status", "robust_sop", "--out", str(jobs)]) == 0
    out = capsys.readouterr().out
    assert "seed 0: done" in out and "seed 1: done" in out and "2 of 2 seeds done" in out


STUB_SBATCH = """#!{python}
import os, shutil, sys, pathlib
log = pathlib.Path(os.environ["STUB_SBATCH_LOG"])
log.mkdir(exist_ok=True)
n = len(list(log.glob("*.sh")))
shutil.copy(sys.argv[-1], log / f"{{n}}.sh")
print(f"Submitted batch job {{4242 + n}}")
"""


@pytest.fixture
def stub_slurm(tmp_path, monkeypatch):
    """`sbatch` and `srun` on PATH that record the scripts instead of submitting them."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(STUB_SBATCH.format(python=sys.executable))
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("STUB_SBATCH_LOG", str(tmp_path / "sbatch"))
    return tmp_path / "sbatch"


def test_slurm_submits_one_array_job_per_seed_then_the_gather(stub_slurm, tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["run", "robust_sop", "--profile", "full", "--seeds", "0-4", "--executor", "slurm",
            "--partition", "gpu", "--gpus-per-job", "1", "--cpus-per-job", "8",
            "--timeout-min", "600", "--set", "train.epochs=200", "--out", str(out)]  # fmt: skip
    assert cli.main(argv) == 0
    array, gather = (stub_slurm / "0.sh").read_text(), (stub_slurm / "1.sh").read_text()
    for line in ("--array=0-4%5", "--gpus-per-node=1", "--partition=gpu", "--time=600",
                 "--cpus-per-task=8", "--job-name=robust_sop-seeds"):  # fmt: skip
        assert f"#SBATCH {line}\n" in array, line
    command = f"{sys.executable} -u -m submitit.core._submit {out / sweeps.JOBS_DIR}"
    assert command in array and "srun" in array
    # each array task runs one seed of the overridden full config
    jobs = sorted((out / sweeps.JOBS_DIR).glob("4242_*_submitted.pkl"))
    assert len(jobs) == 5
    tasks = [pickle.loads(p.read_bytes()).function for p in jobs]
    assert sorted(t.seed for t in tasks) == [0, 1, 2, 3, 4]
    assert {(t.name, t.profile, str(t.root)) for t in tasks} == {("robust_sop", "full", str(out))}
    assert all(t.overrides == {"train.epochs": 200} and hasattr(t, "checkpoint") for t in tasks)
    # the gather step: one CPU, no GPU, after the whole array succeeded
    assert "#SBATCH --dependency=afterok:4242\n" in gather and "gpus" not in gather
    assert "#SBATCH --job-name=robust_sop-gather\n" in gather
    capsys.readouterr()
    assert cli.main(["status", "robust_sop", "--out", str(out)]) == 0
    status = capsys.readouterr().out
    assert "seed 4: not finished (slurm job 4242_4" in status and "0 of 5 seeds done" in status
    assert cli.main(["gather", "robust_sop", "--out", str(out)]) == 2  # nothing to gather yet


def test_status_reports_a_failed_job_and_refuses_other_settings(tmp_path, capsys):
    sweep = sweeps.plan("robust_sop", "quick", seeds=[0, 1], overrides={"width": 16}, out=tmp_path)
    sweeps.record(sweep, "local", {0: "11", 1: "12"})
    jobs = tmp_path / sweeps.JOBS_DIR
    jobs.mkdir()
    error = "Traceback (most recent call last):\n  ...\nValueError: boom"
    (jobs / "11_0_result.pkl").write_bytes(pickle.dumps(("error", error)))
    text = sweeps.status(tmp_path)
    assert "seed 0: failed: ValueError: boom" in text and "seed 1: not finished" in text
    other = sweeps.plan("robust_sop", "quick", seeds=[0], overrides={"width": 32}, out=tmp_path)
    with pytest.raises(CheckpointError, match="other settings"):
        sweeps.record(other, "local", {})
    with pytest.raises(sweeps.SweepError, match="seed"):
        sweeps.gather(tmp_path)
