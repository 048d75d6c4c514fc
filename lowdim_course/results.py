"""Results with provenance: `results/NAME/PROFILE/results.json` holds an experiment's numbers
together with everything needed to trust and repeat them (config, seed, git commit, package
and torch versions, device name, wall time, date)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import subprocess
from pathlib import Path

import numpy as np
import torch

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def results_root() -> Path:
    """$LOWDIM_RESULTS, else the repository's results/ (an editable install), else ./results."""
    if os.environ.get("LOWDIM_RESULTS"):
        return Path(os.environ["LOWDIM_RESULTS"])
    if (REPO_DIR / "pyproject.toml").exists():
        return REPO_DIR / "results"
    return Path.cwd() / "results"


def results_dir(name: str, profile: str, root: Path | str | None = None) -> Path:
    return Path(root or results_root()) / name / profile


def git_commit() -> str | None:
    """The repository's HEAD commit (with '-dirty' if files changed), or None outside git."""
    try:
        run = lambda *args: subprocess.run(  # noqa: E731
            ["git", *args], cwd=REPO_DIR, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        commit = run("rev-parse", "HEAD")
        return commit + ("-dirty" if run("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return None


def to_jsonable(obj):
    """Tensors, arrays, dataclasses and tuples -> plain JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return to_jsonable(obj.detach().cpu().numpy())
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (torch.device, Path)):
        return str(obj)
    return obj


def provenance(config, seed: int, device: str, wall_time: float) -> dict:
    from . import __version__

    return {
        "config": to_jsonable(config),
        "seed": seed,
        "git_commit": git_commit(),
        "lowdim_course": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": device,
        "wall_time_s": round(wall_time, 3),
        "date": now(),
    }


def save_results(folder: Path | str, name: str, profile: str, metrics: dict, meta: dict) -> Path:
    """Write {name, profile, provenance, metrics} to folder/results.json atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    payload = {
        "name": name,
        "profile": profile,
        "provenance": meta,
        "metrics": to_jsonable(metrics),
    }
    return write_json(path, payload)


def write_json(path: Path, payload: dict) -> Path:
    """Write `payload` to `path` atomically (a crash never leaves half a file)."""
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def finished_stage(checkpoint_dir: Path | str | None, name: str, compute) -> dict:
    """`compute()`, kept as `checkpoint_dir/NAME.json` once it has finished, so that a restarted
    run skips the stages it already finished: for runs that loop over independent trainings
    (widths, schedules) too short to checkpoint inside but too many to redo. The runner ties the
    folder to the run's settings and seed (`experiments.claim_checkpoints`), so a stage of
    another run is never read back. Without a folder it only computes. The result is returned
    as it reads back from JSON, so a fresh and a resumed run give the same values."""
    if checkpoint_dir is None:
        return to_jsonable(compute())
    path = Path(checkpoint_dir) / f"{name}.json"
    if path.exists():
        # said, not silent: the run's wall time then leaves this stage out
        print(f"resuming: {name} finished earlier, read back from {path}")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, to_jsonable(compute()))
    return json.loads(path.read_text())


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# Where a wheel keeps the committed full-profile results (setup.py copies results/*/full/ there).
BUNDLED_DIR = PACKAGE_DIR / "bundled_results"


def find_results(name: str, profile: str, root: Path | str | None = None) -> Path | None:
    """The results.json of NAME/PROFILE: under `root` (default `results_root()`), else, for the
    full profile and no explicit root, the copy an installed wheel carries. None if neither."""
    path = results_dir(name, profile, root) / "results.json"
    if path.exists():
        return path
    bundled = results_dir(name, profile, BUNDLED_DIR) / "results.json"
    if root is None and profile == "full" and bundled.exists():
        return bundled
    return None


def load_results(name: str, profile: str, root: Path | str | None = None) -> dict:
    """Read results/NAME/PROFILE/results.json (for the full profile, from an installed wheel's
    copy of the committed results if there is none); a clear FileNotFoundError if never run."""
    path = find_results(name, profile, root)
    if path is None:
        raise FileNotFoundError(
            f"no {profile}-profile results for {name!r} at "
            f"{results_dir(name, profile, root) / 'results.json'}; "
            f"produce them with `lowdim-course run {name} --profile {profile}`"
        )
    payload = json.loads(path.read_text())
    if profile == "full" and payload.get("provenance", {}).get("rehearsal"):
        raise FileNotFoundError(
            f"{path} holds a rehearsal (the full profile at miniature scale), not full results"
        )
    payload["path"] = str(path)
    return payload
