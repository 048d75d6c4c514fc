"""Where each experiment's full-profile results stand, and how a lecture shows them.

The full profile is the paper-scale run. Its results are committed under
`results/NAME/full/` (and shipped inside the wheel, see `results.find_results`) once they were
really run; until then an experiment waits for what its full profile needs: a download
(CIFAR-10, CIFAR-10N, MNIST) and, for those, a GPU. `status(name)` says which, `status_table()`
lists every experiment for the instructors page, and `show(name)` puts a committed result on a
lecture page: its figures, the claims its check found to hold with their numbers, and the
device, date, commit and wall time of the run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from . import data, experiments, results

DATASET_NAMES = {"cifar10": "CIFAR-10", "cifar10n": "CIFAR-10N", "mnist": "MNIST"}


def downloads_needed(config) -> list[str]:
    """The downloadable data sets (`data.SOURCES`) a config names anywhere in its fields, e.g.
    `dataset="cifar10"`, `mlp_dataset="cifar10"` or a nested `images=ImagesConfig("cifar10")`;
    a non-empty `cifar10n_sets` field also needs CIFAR-10N."""
    found = set()

    def visit(key, value):
        if dataclasses.is_dataclass(value):
            for field in dataclasses.fields(value):
                visit(field.name, getattr(value, field.name))
        elif isinstance(value, str) and value in data.SOURCES:
            found.add(value)
        elif key.startswith("cifar10n") and value:
            found.add("cifar10n")

    visit("", config)
    return sorted(found)


def status(name: str) -> dict:
    """Where NAME's full-profile results stand: committed (with device, date, commit, wall time,
    the claims that held, and whether its config is still today's full config) or not."""
    experiment = experiments.get(name)
    config = experiment.config.full()
    needs = downloads_needed(config)
    row = {"name": name, "lecture": experiment.lecture, "needs": needs, "committed": False}
    path = results.find_results(name, "full")
    if path is None:
        return row
    payload = results.load_results(name, "full")
    meta = payload["provenance"]
    claims = meta.get("claims") or {}
    return {
        **row,
        "committed": True,
        "folder": str(Path(path).parent),
        "device": meta["device"],
        "date": meta["date"],
        "commit": (meta.get("git_commit") or "unknown")[:10],
        "wall_time_s": float(meta["wall_time_s"]),
        "claims_held": list(claims.get("held") or []),
        "claim_failed": claims.get("failed"),
        "current": meta["config"] == results.to_jsonable(config),
    }


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _waiting_for(needs: list[str]) -> str:
    if not needs:
        return "not run yet (needs no download: `lowdim-course run NAME --profile full`)"
    return "waiting for a GPU and " + " and ".join(DATASET_NAMES[n] for n in needs)


def status_table() -> str:
    """A Markdown table: every experiment, its lecture, and where its full results stand."""
    lines = [
        "| experiment | lecture | full-profile results |",
        "| --- | --- | --- |",
    ]
    for name in experiments.EXPERIMENTS:
        row = status(name)
        lecture = Path(row["lecture"]).stem
        if row["committed"]:
            where = (
                f"committed: {row['device']}, {row['date'][:10]}, "
                f"{_duration(row['wall_time_s'])}, commit `{row['commit']}`"
            )
            if not row["current"]:
                where += " (**stale**: the full config changed since; rerun it)"
        else:
            where = _waiting_for(row["needs"]).replace("NAME", name)
        lines.append(f"| `{name}` | {lecture} | {where} |")
    return "\n".join(lines)


def summary(name: str) -> str:
    """Markdown: what ran, where and when, and the claims that held (with their numbers)."""
    row = status(name)
    if not row["committed"]:
        return f"**`{name}`, full profile:** {_waiting_for(row['needs']).replace('NAME', name)}."
    when = dt.datetime.fromisoformat(row["date"]).strftime("%Y-%m-%d")
    text = [
        f"**`{name}`, full profile**: run on {row['device']} on {when} in "
        f"{_duration(row['wall_time_s'])}, at commit `{row['commit']}`"
        + ("" if row["current"] else " (**stale**: the full config has changed since)")
        + "."
    ]
    if row["claim_failed"]:
        text.append(f"- claim **failed**: {row['claim_failed']}")
    text += [f"- {line}" for line in row["claims_held"]]
    return "\n".join(text)


def figures(name: str) -> list[Path]:
    """The committed full-profile figures of NAME (empty when it has no committed results)."""
    path = results.find_results(name, "full")
    if path is None:
        return []
    folder = Path(path).parent
    return [folder / f"{fig}.png" for fig in experiments.get(name).figures]


def show(name: str) -> None:
    """In a notebook: the committed full-profile figures of NAME under its summary; elsewhere
    the summary as text and the figures' paths."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, Markdown, display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:  # not in a notebook
        print(summary(name))
        for path in figures(name):
            print(path)
        return
    display(Markdown(summary(name)))
    for path in figures(name):
        display(Image(filename=str(path)))
