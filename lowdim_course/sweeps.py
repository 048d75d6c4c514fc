"""Sweeps: one experiment over several seeds, in this process or as jobs through submitit.

    lowdim-course run robust_sop --profile quick --seeds 0-2                    # in this process
    lowdim-course run robust_sop --profile quick --seeds 0-2 --executor local   # local processes
    lowdim-course run robust_sop --profile full --seeds 0-4 --executor slurm \\
        --partition gpu --gpus-per-job 1 --timeout-min 600                       # a Slurm array
    lowdim-course status robust_sop --profile full                              # which finished

A sweep lives in one folder (default results/NAME/PROFILE[-HASH]/seeds/, HASH the overrides'):
`seed-S/` holds seed S's results.json, figures and (full profile) checkpoints, exactly what
`lowdim-course run NAME --seed S --out seed-S` writes; `sweep.json` records the config, the
overrides, the seeds and the jobs; `gather` then writes the mean, std and count of every scalar
metric over the seeds (aggregate.json, .csv, .md and the papers' table layouts, see
aggregate.py). Each seed is one job (`SeedJob`; a Slurm job array for several), so the jobs run
the same code as the in-process sweep and the gathered files are the same. A job that Slurm
preempts or that reaches its time limit is requeued by submitit and resumes from the
experiment's checkpoints; resubmitting the same command later does the same. On Slurm the
gather step is a job of its own that starts when the whole array has finished (afterok).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import aggregate, experiments, results, runtime
from .train import CheckpointError

SWEEP_FILE = "sweep.json"
JOBS_DIR = "submitit"  # submitit's pickles, results and logs: JOB_submitted.pkl, JOB_0_log.out
EXECUTORS = ("local", "slurm")


class SweepError(RuntimeError):
    """A sweep that cannot be started, gathered or found; the message says what to do."""


def parse_seeds(text: str) -> list[int]:
    """'0-4' -> [0, 1, 2, 3, 4]; '0,2,5' and '0-2,7' likewise (sorted, without repeats)."""
    seeds = set()
    for part in (p.strip() for p in str(text).split(",")):
        try:
            first, sep, last = part.partition("-")
            if sep and first:
                if int(last) < int(first):
                    raise ValueError(part)
                seeds.update(range(int(first), int(last) + 1))
            else:
                seeds.add(int(part))
        except ValueError:
            raise SweepError(
                f"--seeds {text!r}: write a range or a list of whole numbers, e.g. 0-4 or 0,1,2"
            ) from None
    return sorted(seeds)


@dataclass(frozen=True)
class Sweep:
    name: str
    profile: str | None  # as given (None: $LOWDIM_PROFILE or auto; see resolved_profile)
    device: str | None
    seeds: list
    overrides: dict  # {field path: value}, only those that change the config
    rehearse: bool
    root: Path
    config: object = field(repr=False)
    kind: str = "quick"  # 'quick', 'full' or 'rehearsal'

    def seed_dir(self, seed: int) -> Path:
        return self.root / f"seed-{seed}"

    @property
    def resolved_profile(self) -> str:
        """The profile the runs use, as resolved where the sweep was planned (a job on a GPU
        node would otherwise resolve 'auto' to full where the login node said quick)."""
        return "full" if self.rehearse else self.kind

    def job(self, seed: int) -> SeedJob:
        return SeedJob(
            self.name,
            self.resolved_profile,
            self.device,
            seed,
            self.overrides,
            self.rehearse,
            self.root,
        )


def plan(name, profile=None, device=None, seeds=(0,), overrides=None, rehearse=False, out=None):
    """The sweep of NAME over `seeds` with `overrides` ({field path: value}): its config and
    folder (checked before anything runs: bad overrides raise here)."""
    config, changed, folder_name = experiments.resolve_config(name, profile, rehearse, overrides)
    root = Path(out) if out else results.results_dir(name, folder_name) / "seeds"
    kind = "rehearsal" if rehearse else runtime.resolve_profile(profile)
    return Sweep(name, profile, device, list(seeds), changed, rehearse, root, config, kind)


def find(name: str, root: Path | str | None = None) -> list[Path]:
    """The sweep folders of NAME under the results root (results/NAME/*/seeds/)."""
    base = Path(root or results.results_root()) / name
    return sorted(p.parent for p in base.glob(f"*/seeds/{SWEEP_FILE}"))


def load_record(root: Path) -> dict:
    path = Path(root) / SWEEP_FILE
    if not path.exists():
        raise SweepError(f"no sweep at {root} (no {SWEEP_FILE}); start one with --seeds")
    return json.loads(path.read_text())


def record(sweep: Sweep, executor: str, jobs: dict) -> dict:
    """Write sweep.json: this sweep's settings, and the seeds and jobs of every submission to
    this folder so far. A folder holding a sweep of other settings is refused."""
    path = sweep.root / SWEEP_FILE
    config = results.to_jsonable(sweep.config)
    saved = json.loads(path.read_text()) if path.exists() else {}
    if saved and (saved["name"], saved["config"]) != (sweep.name, config):
        raise CheckpointError(
            f"{sweep.root} holds a sweep of {saved['name']} with other settings; delete that "
            "folder, or choose another output folder with --out"
        )
    done = dict(saved.get("jobs", {}))
    date = results.now()
    done |= {
        str(s): {"executor": executor, "job_id": j, "submitted": date} for s, j in jobs.items()
    }
    payload = {
        "name": sweep.name,
        "profile": sweep.kind,
        "config": config,
        "overrides": results.to_jsonable(sweep.overrides),
        "seeds": sorted(set(saved.get("seeds", [])) | set(sweep.seeds)),
        "device": sweep.device,
        "jobs": dict(sorted(done.items(), key=lambda kv: int(kv[0]))),
    }
    sweep.root.mkdir(parents=True, exist_ok=True)
    results.write_json(path, payload)
    return payload


class SeedJob:
    """One seed of a sweep, as a submitit job: `run_experiment` into the sweep's seed-S folder.
    Its `checkpoint` method makes submitit requeue it (same arguments) when Slurm preempts it or
    its time runs out; the rerun resumes from the experiment's own checkpoints."""

    def __init__(self, name, profile, device, seed, overrides, rehearse, root):
        self.name, self.profile, self.device, self.seed = name, profile, device, seed
        self.overrides, self.rehearse, self.root = overrides, rehearse, Path(root)

    def __call__(self) -> str:
        folder = experiments.run_experiment(
            self.name,
            self.profile,
            self.device,
            self.seed,
            self.root / f"seed-{self.seed}",
            progress=False,
            rehearse=self.rehearse,
            overrides=self.overrides,
        )
        return str(folder)

    def checkpoint(self, *args, **kwargs):
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, *args, **kwargs)

    def __repr__(self) -> str:
        return f"SeedJob({self.name!r}, seed={self.seed}, overrides={self.overrides})"


class GatherJob:
    """The gather step as a job (Slurm: after the array, `afterok`)."""

    def __init__(self, root):
        self.root = Path(root)

    def __call__(self) -> list:
        return [str(p) for p in gather(self.root)]


def run_in_process(sweep: Sweep, progress=None) -> list[Path]:
    """Every seed one after the other in this process, then the gather step."""
    record(sweep, "process", {s: None for s in sweep.seeds})
    for seed in sweep.seeds:
        experiments.run_experiment(
            sweep.name,
            sweep.resolved_profile,
            sweep.device,
            seed,
            sweep.seed_dir(seed),
            progress=progress,
            rehearse=sweep.rehearse,
            overrides=sweep.overrides,
        )
    return gather(sweep.root)


def gather(root: Path | str) -> list[Path]:
    """Assemble the sweep in `root`: check every seed finished with the sweep's settings, then
    write the aggregate (aggregate.py) beside the seeds; return the paths written."""
    root = Path(root)
    sweep = load_record(root)
    per_seed, metas, missing = {}, [], []
    for seed in sweep["seeds"]:
        path = root / f"seed-{seed}" / "results.json"
        if seed_state(root, sweep, seed, ask_scheduler=False) != "done":
            missing.append(str(seed))
            continue
        payload = json.loads(path.read_text())
        per_seed[seed] = payload["metrics"]
        metas.append(payload["provenance"])
    if missing:
        raise SweepError(
            f"cannot gather {sweep['name']} in {root}: no results of its settings for seed(s) "
            f"{', '.join(missing)} (`lowdim-course status {sweep['name']} --out {root}` says "
            "why; rerun the sweep's command to run or resubmit them)"
        )
    meta = {
        "config": sweep["config"],
        "overrides": sweep["overrides"],
        "seeds": sweep["seeds"],
        "git_commits": sorted({str(m.get("git_commit")) for m in metas}),
        "devices": sorted({m["device"] for m in metas}),
        "wall_time_s": round(sum(float(m["wall_time_s"]) for m in metas), 3),
        "claims_failed": {
            str(s): m["claims"]["failed"]
            for s, m in zip(per_seed, metas)
            if (m.get("claims") or {}).get("failed")
        },
        "gathered": results.now(),
    }
    paths = aggregate.write(root, sweep["name"], sweep["profile"], per_seed, meta)
    print(f"wrote {root / 'aggregate.md'} ({len(per_seed)} seeds)")
    return paths


def seed_state(root: Path, sweep: dict, seed: int, ask_scheduler: bool = True) -> str:
    """'done' when seed-S/results.json holds this seed's run at the sweep's config; otherwise
    what its job's files say ('failed: ...', 'submitted as job ...', 'not run')."""
    path = Path(root) / f"seed-{seed}" / "results.json"
    if path.exists():
        meta = json.loads(path.read_text())["provenance"]
        if meta["seed"] == seed and meta["config"] == sweep["config"]:
            return "done"
        return "holds a run of other settings"
    job = sweep.get("jobs", {}).get(str(seed)) or {}
    if not job.get("job_id"):
        return "not run"
    return job_state(Path(root) / JOBS_DIR, job["executor"], job["job_id"], ask_scheduler)


def job_state(folder: Path, executor: str, job_id: str, ask_scheduler: bool = True) -> str:
    """What submitit's files (and, on Slurm where `sacct` is at hand, the scheduler) say of a
    job without results."""
    outcome = folder / f"{job_id}_0_result.pkl"
    if outcome.exists():
        with open(outcome, "rb") as handle:
            kind, value = pickle.load(handle)
        if kind == "error":
            last = [line for line in str(value).strip().splitlines() if line.strip()]
            return f"failed: {last[-1] if last else 'see its log'} ({log(folder, job_id)})"
    state = ""
    if executor == "slurm" and ask_scheduler and shutil.which("sacct"):
        try:
            import submitit

            state = submitit.SlurmJob(folder, job_id).state
        except Exception:  # no sacct here, or submitit missing
            state = ""
    where = f"job {job_id}" + (f", {state}" if state and state != "UNKNOWN" else "")
    return f"not finished ({executor} {where}; log {log(folder, job_id)})"


def log(folder: Path, job_id: str) -> Path:
    """A job's output log (stderr beside it, .err)."""
    return Path(folder) / f"{job_id}_0_log.out"


def status(root: Path | str) -> str:
    """One line per seed of the sweep in `root` (done, failed, or not finished) and whether
    the aggregate was gathered."""
    root = Path(root)
    sweep = load_record(root)
    lines = [f"{sweep['name']} ({sweep['profile']}), sweep in {root}:"]
    if sweep["overrides"]:
        lines.append("  overrides: " + ", ".join(f"{k}={v}" for k, v in sweep["overrides"].items()))
    done = 0
    for seed in sweep["seeds"]:
        state = seed_state(root, sweep, seed)
        done += state == "done"
        lines.append(f"  seed {seed}: {state}")
    gathered = root / "aggregate.json"
    if gathered.exists():
        seeds = json.loads(gathered.read_text())["seeds"]
        lines.append(f"  aggregate: {root / 'aggregate.md'} (seeds {', '.join(map(str, seeds))})")
    else:
        lines.append("  aggregate: not gathered yet (`lowdim-course gather` once all are done)")
    lines.append(f"  {done} of {len(sweep['seeds'])} seeds done")
    return "\n".join(lines)


@dataclass(frozen=True)
class JobOptions:
    """What each job asks the scheduler for (the CLI's --partition, --gpus-per-job, ...)."""

    partition: str | None = None
    gpus_per_job: int | None = None  # local default: the GPUs this machine shows
    cpus_per_job: int | None = None
    mem_gb: float | None = None
    timeout_min: int | None = None  # default: 24 h locally, 4 h on Slurm
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    max_parallel: int | None = None  # Slurm: jobs of the array running at once
    setup: tuple = ()  # shell lines run before each job (module load, source venv/bin/activate)
    slurm_args: dict = field(default_factory=dict)  # any other sbatch option, KEY=VALUE

    def slurm_parameters(self, name: str) -> dict:
        params = {
            "name": name,
            "timeout_min": self.timeout_min or 240,
            "gpus_per_node": self.gpus_per_job,
            "cpus_per_task": self.cpus_per_job,
            "mem_gb": self.mem_gb,
            "slurm_partition": self.partition,
            "slurm_account": self.account,
            "slurm_qos": self.qos,
            "slurm_constraint": self.constraint,
            "slurm_array_parallelism": self.max_parallel,
            "slurm_setup": list(self.setup) or None,
            "slurm_additional_parameters": dict(self.slurm_args) or None,
        }
        return {k: v for k, v in params.items() if v is not None}


def _submitit():
    try:
        import submitit
    except ImportError:
        raise runtime.RuntimeSetupError(
            "--executor needs submitit: pip install 'lowdim-course[cluster]' (or pip install "
            "submitit); without --executor the sweep runs in this process"
        ) from None
    return submitit


def make_executor(kind: str, folder: Path, options: JobOptions, name: str):
    """A submitit executor for `kind` ('local' or 'slurm') writing its files into `folder`."""
    submitit = _submitit()
    if kind == "local":
        executor = submitit.LocalExecutor(folder=folder)
        gpus = options.gpus_per_job
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
        params = {"timeout_min": options.timeout_min or 24 * 60}
        if gpus is None:  # the GPUs this machine shows (submitit hides the others)
            import torch

            gpus = torch.cuda.device_count()
        if visible and all(v.strip().isdigit() for v in visible.split(",")):
            params["visible_gpus"] = [int(v) for v in visible.split(",")]
        params["gpus_per_node"] = gpus
        if options.setup:
            params["setup"] = list(options.setup)
        executor.update_parameters(**params)
        return executor
    if kind == "slurm":
        executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
        executor.update_parameters(**options.slurm_parameters(name))
        return executor
    raise SweepError(f"unknown executor {kind!r}: choose one of {', '.join(EXECUTORS)}")


def submit(sweep: Sweep, kind: str, options: JobOptions | None = None, wait: bool | None = None):
    """Submit one job per seed (several: one job array) through submitit's `kind` executor and
    record them in sweep.json. 'local' waits for the jobs and gathers; 'slurm' also submits
    the gather job (after the array) and returns, unless `wait`. Returns the jobs."""
    options = options or JobOptions()
    folder = sweep.root / JOBS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    record(sweep, kind, {})  # a folder of other settings is refused before submitting
    executor = make_executor(kind, folder, options, f"{sweep.name}-seeds")
    with executor.batch():
        jobs = [executor.submit(sweep.job(s)) for s in sweep.seeds]
    record(sweep, kind, {s: str(j.job_id) for s, j in zip(sweep.seeds, jobs)})
    for seed, job in zip(sweep.seeds, jobs):
        print(f"seed {seed}: {kind} job {job.job_id} (log {log(folder, str(job.job_id))})")
    wait = (kind == "local") if wait is None else wait
    if kind == "slurm" and not wait:
        array_id = str(jobs[0].job_id).split("_")[0]
        gatherer = make_executor(kind, folder, _gather_options(options), f"{sweep.name}-gather")
        gatherer.update_parameters(
            slurm_additional_parameters={
                **options.slurm_args,
                "dependency": f"afterok:{array_id}",
                "kill-on-invalid-dep": "yes",
            }
        )
        job = gatherer.submit(GatherJob(sweep.root))
        print(
            f"gather: slurm job {job.job_id}, after job {array_id} finishes; "
            f"`lowdim-course status {sweep.name}` says where the seeds stand"
        )
        return jobs
    if wait:
        failed = []
        for seed, job in zip(sweep.seeds, jobs):
            try:
                job.result()
            except Exception as err:  # submitit's FailedJobError / UncompletedJobError
                lines = [line for line in str(err).strip().splitlines() if line.strip()]
                failed.append(f"seed {seed} ({lines[-1] if lines else type(err).__name__})")
        if failed:
            raise SweepError(f"jobs failed: {'; '.join(failed)}; logs in {folder}")
        gather(sweep.root)
    return jobs


def _gather_options(options: JobOptions) -> JobOptions:
    """The gather job's request: the sweep's partition and account, one CPU, no GPU, 30 min."""
    return JobOptions(
        partition=options.partition,
        cpus_per_job=1,
        timeout_min=30,
        account=options.account,
        qos=options.qos,
        setup=options.setup,
    )
