"""`lowdim-course`: the command line of the course.

    lowdim-course info                          the runtime banner (profile, device, versions)
    lowdim-course list                          experiments with their quick and full configs
    lowdim-course run NAME [--profile P] [--device D] [--seed S] [--out DIR] [--rehearse]
                      [--set FIELD=VALUE ...] [--seeds 0-4] [--executor local|slurm ...]
    lowdim-course figures [--profile P]         regenerate every book figure into book/figures/
    lowdim-course check [NAME...] [--profile P] run the claims on stored results (default full)
    lowdim-course status [NAME]                 where each experiment's full results stand;
                                                with NAME: which seeds of its sweeps finished
    lowdim-course gather NAME [--profile P]     assemble a sweep's aggregate once its seeds ran
    lowdim-course plan [--utilisation U]        GPU cost of the full profile (FLOPs counted)
    lowdim-course download cifar10|cifar10n|mnist  fetch a full-profile data set, verify it
    lowdim-course student-copies DIR            lecture notebooks with solutions stubbed out

Mistakes (bad arguments, no CUDA, missing data) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from . import data, exercises, experiments, full_results, overrides, plots, results, runtime, sweeps
from .train import CheckpointError

USER_ERRORS = (
    runtime.RuntimeSetupError,
    data.DatasetNotFound,
    CheckpointError,
    experiments.UnknownExperiment,
    FileNotFoundError,
    ConnectionError,
    ValueError,
    sweeps.SweepError,
)
LECTURES_DIR = Path(__file__).resolve().parent.parent / "lectures"


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit status 2 (argparse prints the whole usage)
        self.exit(2, f"lowdim-course: error: {message} (see `lowdim-course --help`)\n")


def _describe(config, indent="      ") -> str:
    fields = dataclasses.asdict(config)
    return "\n".join(f"{indent}{k} = {v}" for k, v in fields.items())


def cmd_info(args) -> None:
    import torch

    rt = runtime.setup(args.profile, args.device, args.seed)
    print(f"data root: {data.data_root()}  results root: {results.results_root()}")
    print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")
    del rt


def cmd_list(args) -> None:
    for exp in experiments.EXPERIMENTS.values():
        print(f"{exp.name}: {exp.summary}  [{exp.lecture}]")
        print("  quick:\n" + _describe(exp.config.quick()))
        print("  full:\n" + _describe(exp.config.full()))


def _overrides(args) -> dict:
    """--set FIELD=VALUE as {field path: value}, checked against the experiment's config."""
    if not getattr(args, "set", None):
        return {}
    base, _, _ = experiments.resolve_config(args.name, args.profile, args.rehearse)
    return overrides.parse(base, args.set)


SLURM_ONLY = ("partition", "account", "qos", "constraint", "max_parallel", "slurm_arg")
JOB_OPTIONS = ("gpus_per_job", "cpus_per_job", "mem_gb", "timeout_min", "setup") + SLURM_ONLY


def _job_options(args) -> sweeps.JobOptions:
    given = [o for o in JOB_OPTIONS if getattr(args, o) not in (None, [])]
    flag = lambda o: "--" + o.replace("_", "-")  # noqa: E731
    if given and not args.executor:
        raise ValueError(f"{flag(given[0])} sets what a job asks for: it needs --executor")
    if args.wait and args.executor != "slurm":
        raise ValueError("--wait applies to --executor slurm (local jobs are always waited for)")
    local_only = [o for o in given if o in SLURM_ONLY and args.executor == "local"]
    if local_only:
        raise ValueError(f"{flag(local_only[0])} applies to --executor slurm only")
    extra = dict(overrides.parse_assignment(a) for a in args.slurm_arg or [])
    return sweeps.JobOptions(
        partition=args.partition,
        gpus_per_job=args.gpus_per_job,
        cpus_per_job=args.cpus_per_job,
        mem_gb=args.mem_gb,
        timeout_min=args.timeout_min,
        account=args.account,
        qos=args.qos,
        constraint=args.constraint,
        max_parallel=args.max_parallel,
        setup=tuple(args.setup or ()),
        slurm_args=extra,
    )


def cmd_run(args) -> None:
    # --quiet silences the bars; without it, $LOWDIM_PROGRESS decides (train.progress_enabled).
    progress = False if args.quiet else None
    values = _overrides(args)  # a bad --set stops here, before the banner
    options = _job_options(args)
    if args.seeds is not None and args.seed is not None:
        raise ValueError("give --seed S for one run or --seeds for a sweep, not both")
    seed = args.seed or 0
    if args.seeds is None and not args.executor:
        experiments.run_experiment(
            args.name,
            args.profile,
            args.device,
            seed,
            args.out,
            progress=progress,
            rehearse=args.rehearse,
            **({"overrides": values} if values else {}),
        )
        return
    seeds = sweeps.parse_seeds(args.seeds) if args.seeds is not None else [seed]
    sweep = sweeps.plan(
        args.name, args.profile, args.device, seeds, values, args.rehearse, args.out
    )
    if args.executor:
        sweeps.submit(sweep, args.executor, options, wait=args.wait or None)
    else:
        sweeps.run_in_process(sweep, progress)


def _sweep_root(args) -> Path:
    """The sweep folder `status NAME` / `gather NAME` mean: --out, else the one of --profile
    (and --set), else the only sweep of NAME there is."""
    if args.out:
        return Path(args.out)
    if args.profile or args.set or args.rehearse:
        values = _overrides(args)
        return sweeps.plan(args.name, args.profile, None, [0], values, args.rehearse).root
    found = sweeps.find(args.name)
    if len(found) == 1:
        return found[0]
    if not found:
        raise sweeps.SweepError(
            f"no sweep of {experiments.get(args.name).name} under {results.results_root()}; "
            f"start one with `lowdim-course run {args.name} --seeds 0-4`"
        )
    raise sweeps.SweepError(
        f"{args.name} has {len(found)} sweeps ({', '.join(p.parent.name for p in found)}): "
        "name one with --profile (and --set)"
    )


def cmd_gather(args) -> None:
    sweeps.gather(_sweep_root(args))


def cmd_figures(args) -> None:
    """quick: re-run each experiment; full: plot the committed full-profile results."""
    profile = runtime.resolve_profile(args.profile)
    out = Path(args.out) if args.out else plots.FIGURES_DIR
    for exp in experiments.EXPERIMENTS.values():
        if profile == "quick":
            folder = experiments.run_experiment(exp.name, "quick", args.device, args.seed)
            result = results.load_results(exp.name, "quick", folder.parent.parent)["metrics"]
        else:
            try:
                result = results.load_results(exp.name, "full")["metrics"]
            except FileNotFoundError as err:
                print(f"skipped {exp.name}: {err}")
                continue
        for path in experiments.save_figures(exp, result, out, prefix=f"{exp.name}_{profile}_"):
            print(f"wrote {path}")


def cmd_check(args) -> int:
    """Run each experiment's claims on its stored results and record the outcome in its
    results.json (a check changed since the run is re-applied, not trusted from the run)."""
    names = args.names or [
        n for n in experiments.EXPERIMENTS if results.find_results(n, args.profile) is not None
    ]
    failed = []
    for name in names:
        experiment = experiments.get(name)
        payload = results.load_results(name, args.profile)
        print(f"{name} ({args.profile}, {payload['path']}):")
        outcome = experiments.check_claims(experiment, payload["metrics"], args.profile)
        if outcome["failed"]:
            failed.append(name)
        path = Path(payload.pop("path"))
        if results.BUNDLED_DIR not in path.parents:  # a wheel's copy stays as shipped
            payload["provenance"]["claims"] = outcome | {
                "checked": {"commit": results.git_commit(), "date": results.now()}
            }
            results.write_json(path, payload)
    if failed:
        print(f"claims failed for {', '.join(failed)}")
    return 1 if failed else 0


def cmd_status(args) -> None:
    if not args.name:
        print(full_results.status_table())
        return
    if args.out or args.profile or args.set or args.rehearse:
        roots = [_sweep_root(args)]
    else:
        roots = sweeps.find(experiments.get(args.name).name) or [_sweep_root(args)]
    print("\n".join(sweeps.status(root) for root in roots))


def cmd_plan(args) -> None:
    from . import plan

    print(plan.table(args.utilisation))


def cmd_download(args) -> None:
    folder = data.download(args.name, args.root)
    print(f"{args.name} is ready in {folder}")


def cmd_student_copies(args) -> None:
    source = Path(args.lectures)
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks in {source}")
    for nb in notebooks:
        n = exercises.student_copy(nb, Path(args.dir) / nb.name)
        print(f"{nb.name}: {n} solution cell(s) replaced by stubs")


def build_parser() -> Parser:
    parser = Parser(prog="lowdim-course", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def runtime_options(p):
        p.add_argument(
            "--profile", choices=runtime.PROFILES, help="default: $LOWDIM_PROFILE or auto"
        )
        p.add_argument("--device", choices=runtime.DEVICES, help="default: $LOWDIM_DEVICE or auto")
        p.add_argument("--seed", type=int, default=0)

    def sweep_options(p):
        p.add_argument(
            "--set",
            action="append",
            metavar="FIELD=VALUE",
            help="change a config field (train.lr=0.05; repeatable); the run then goes to "
            "results/NAME/PROFILE-HASH/",
        )

    def sweep_folder_options(p):
        p.add_argument("--profile", choices=("quick", "full"), help="the sweep's profile")
        sweep_options(p)
        p.add_argument("--rehearse", action="store_true", help="a rehearsal's sweep")
        p.add_argument("--out", help="the sweep's folder (its --out)")

    p = sub.add_parser("info", help="print the runtime banner")
    runtime_options(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("list", help="list experiments and their configs")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("run", help="run one experiment, write results.json and figures")
    p.add_argument("name", help="experiment name (see `lowdim-course list`)")
    runtime_options(p)
    p.add_argument("--out", help="output folder (default results/NAME/PROFILE)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--rehearse",
        action="store_true",
        help="the full profile shrunk to miniature scale (fewer epochs, samples and runs, the "
        "same code and models), written to results/NAME/rehearsal/",
    )
    sweep_options(p)
    p.add_argument(
        "--seeds", help="a sweep: one run per seed (0-4 or 0,1,2) and their mean/std tables"
    )
    p.add_argument(
        "--executor", choices=sweeps.EXECUTORS, help="run each seed as a submitit job (a sweep)"
    )
    jobs = p.add_argument_group("what each job asks for (with --executor)")
    jobs.add_argument("--gpus-per-job", type=int, help="local default: every GPU shown")
    jobs.add_argument("--cpus-per-job", type=int)
    jobs.add_argument("--mem-gb", type=float)
    jobs.add_argument("--timeout-min", type=int, help="default 240 on Slurm, 1440 locally")
    jobs.add_argument("--setup", action="append", help="a shell line run before each job")
    jobs.add_argument("--partition", help="Slurm partition")
    jobs.add_argument("--account", help="Slurm account")
    jobs.add_argument("--qos", help="Slurm quality of service")
    jobs.add_argument("--constraint", help="Slurm node constraint")
    jobs.add_argument("--max-parallel", type=int, help="Slurm: array jobs running at once")
    jobs.add_argument("--slurm-arg", action="append", help="any other sbatch option as KEY=VALUE")
    jobs.add_argument(
        "--wait", action="store_true", help="Slurm: wait for the jobs here and gather"
    )
    p.set_defaults(func=cmd_run, seed=None)

    p = sub.add_parser("figures", help="regenerate every book figure")
    runtime_options(p)
    p.add_argument("--out", help=f"output folder (default {plots.FIGURES_DIR})")
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("check", help="run the claims on stored results, record the outcome")
    p.add_argument("names", nargs="*", help="experiments (default: every one with results)")
    p.add_argument("--profile", choices=("quick", "full"), default="full")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("status", help="where each experiment's full-profile results stand")
    p.add_argument("name", nargs="?", help="an experiment: which seeds of its sweeps finished")
    sweep_folder_options(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("gather", help="assemble a sweep's aggregate once its seeds have run")
    p.add_argument("name", help="experiment name")
    sweep_folder_options(p)
    p.set_defaults(func=cmd_gather)

    p = sub.add_parser("plan", help="GPU cost of every full experiment (FLOPs counted)")
    p.add_argument("--utilisation", type=float, default=0.25, help="of the bf16 peak (0.25)")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("download", help="download a full-profile data set")
    p.add_argument("name", choices=sorted(data.SOURCES))
    p.add_argument("--root", help="data folder (default $LOWDIM_DATA or the user cache)")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("student-copies", help="write notebooks with solutions stubbed out")
    p.add_argument("dir", help="output folder")
    p.add_argument("--lectures", default=str(LECTURES_DIR), help="folder of lecture notebooks")
    p.set_defaults(func=cmd_student_copies)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except USER_ERRORS as err:
        print(f"lowdim-course: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lowdim-course: interrupted (a full-profile run resumes from its checkpoint)")
        return 130
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
