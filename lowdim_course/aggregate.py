"""Mean and spread over seeds: the aggregate that `lowdim-course run NAME --seeds 0-4` writes
beside the per-seed results.

`scalars(metrics)` flattens one run's metrics to {key: number}: nested dicts by their keys,
lists of records (dicts) by the field that tells the records apart (`runs/width=16/test_error`,
`history/epoch=3/train_loss`); lists of numbers (curves) and strings are not scalars. `summarise`
turns the seeds' scalars into the mean, the standard deviation (over seeds, ddof=1; none for
one seed) and the count of every scalar metric; `write` saves them as aggregate.json,
aggregate.csv and aggregate.md, with, for the experiments listed in `TABLES`, the table in the
layout of the papers' tables (method x label set for SOP, widen factor x error for the width
experiment) as markdown, csv and a bar chart with error bars.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from . import plots, results
from .overrides import describe_value

SEP = "/"


def _number(value):
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _record_labels(records: list[dict]) -> list[str]:
    """A label per record: 'KEY=VALUE' for the first field whose values tell them apart."""
    for field in records[0]:
        values = [r.get(field) for r in records]
        if all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in values):
            if len(set(values)) == len(values):
                return [f"{field}={v}" for v in values]
    return [str(i) for i in range(len(records))]


def scalars(metrics, prefix: str = "") -> dict:
    """{flat key: float} of every scalar in `metrics` (a run's results.json metrics)."""
    found = {}
    if isinstance(metrics, dict):
        for key, value in metrics.items():
            found |= scalars(value, f"{prefix}{key}{SEP}")
    elif isinstance(metrics, list) and metrics and all(isinstance(v, dict) for v in metrics):
        for label, value in zip(_record_labels(metrics), metrics):
            found |= scalars(value, f"{prefix}{label}{SEP}")
    else:
        number = _number(metrics)
        if number is not None:
            found[prefix.rstrip(SEP)] = number
    return found


def summarise(per_seed: dict) -> dict:
    """{seed: metrics} -> {flat key: {mean, std, count}} over the seeds where the key is a
    finite number (std: over seeds with ddof=1, None for fewer than two)."""
    flat = {seed: scalars(metrics) for seed, metrics in per_seed.items()}
    keys = list(dict.fromkeys(k for f in flat.values() for k in f))
    summary = {}
    for key in keys:
        values = [f[key] for f in flat.values() if key in f and math.isfinite(f[key])]
        summary[key] = {
            "mean": float(np.mean(values)) if values else None,
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
            "count": len(values),
        }
    return summary


@dataclass(frozen=True)
class Table:
    """A table in the papers' layout: each flat key that `pattern` matches (a regex with the
    groups `row` and `col`) is one cell; rows and columns keep the order they first appear."""

    slug: str
    title: str
    rows: str  # what a row is, e.g. "method"
    cols: str  # what a column is, e.g. "label set"
    pattern: str

    def cells(self, summary: dict) -> tuple[list, list, dict]:
        rows, cols, cells = [], [], {}
        for key, stats in summary.items():
            match = re.fullmatch(self.pattern, key)
            if match is None:
                continue
            row, col = match.group("row"), match.group("col")
            rows += [row] if row not in rows else []
            cols += [col] if col not in cols else []
            cells[row, col] = stats
        return rows, cols, cells


_SOP = r"runs/(?P<row>\S+) (?P<col>[^/]+)/"  # run_sop's runs: "METHOD RATE" or "METHOD SET"
_LABELS = "label set (noise rate or CIFAR-10N set)"
TABLES = {
    "robust_sop": [
        Table("final_test_acc", "final test accuracy", "method", _LABELS, _SOP + "final_test_acc"),
        Table("best_test_acc", "best test accuracy", "method", _LABELS, _SOP + "best_test_acc"),
    ],
    "overparam_width": [
        Table(
            "error",
            "final error",
            "width",
            "error",
            r"runs/width=(?P<row>[^/]+)/(?P<col>train_error|test_error)",
        )
    ],
}


def _fmt(value, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}g}"


def _cell(stats) -> str:
    if stats is None or stats["mean"] is None:
        return ""
    spread = f" ± {_fmt(stats['std'], 2)}" if stats["std"] is not None else ""
    return f"{_fmt(stats['mean'])}{spread}"


def markdown(name: str, profile: str, seeds: list, summary: dict, overrides: dict) -> str:
    """The aggregate as a markdown page: the layout tables of `name`, then every scalar."""
    seed_list = ", ".join(map(str, seeds))
    settings = ", ".join(f"`{k}={describe_value(v)}`" for k, v in overrides.items()) or "none"
    lines = [
        f"# {name}, {profile} profile: mean ± std over {len(seeds)} seeds ({seed_list})",
        "",
        f"Overrides: {settings}. The std is over seeds (ddof=1).",
    ]
    for table in TABLES.get(name, []):
        rows, cols, cells = table.cells(summary)
        if not cells:
            continue
        lines += ["", f"## {table.title}: {table.rows} x {table.cols}", ""]
        lines += [f"| {table.rows} | " + " | ".join(cols) + " |"]
        lines += ["| --- |" + " --- |" * len(cols)]
        lines += [
            f"| {r} | " + " | ".join(_cell(cells.get((r, c))) for c in cols) + " |" for r in rows
        ]
    lines += [
        "",
        "## every scalar metric",
        "",
        "| metric | mean | std | count |",
        "| --- | --- | --- | --- |",
    ]
    for key, stats in summary.items():
        mean, std = _fmt(stats["mean"], 6), _fmt(stats["std"], 3)
        lines.append(f"| {key} | {mean} | {std} | {stats['count']} |")
    return "\n".join(lines) + "\n"


def _write_csv(path: Path, header: list, rows: list) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _plot(name: str, table: Table, rows, cols, cells, count: int):
    """Grouped bars: one group per column, one bar per row, error bars one std."""
    fig, ax = plots.subplots(width=max(6.4, 1.2 * len(cols) * max(1, len(rows)) / 2))
    x = np.arange(len(cols))
    step = 0.8 / max(1, len(rows))
    for i, row in enumerate(rows):
        stats = [cells.get((row, c)) for c in cols]
        means = [s["mean"] if s and s["mean"] is not None else np.nan for s in stats]
        errors = [s["std"] if s and s["std"] is not None else 0.0 for s in stats]
        offset = (i - (len(rows) - 1) / 2) * step
        ax.bar(x + offset, means, step, yerr=errors, capsize=3, label=row)
    ax.set_xticks(x, cols)
    ax.set(
        xlabel=table.cols,
        ylabel=table.title,
        title=f"{name}: {table.title}, mean ± std over {count} seeds",
    )
    ax.legend(title=table.rows, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def write(folder: Path, name: str, profile: str, per_seed: dict, meta: dict) -> list[Path]:
    """Write aggregate.json, aggregate.csv, aggregate.md and each layout table's csv and figure
    (table-SLUG.csv, table-SLUG.png) into `folder`; return the paths."""
    seeds = sorted(per_seed)
    summary = summarise(per_seed)
    overrides = meta.get("overrides", {})
    payload = {"name": name, "profile": profile, "seeds": seeds, "provenance": meta}
    paths = [results.write_json(folder / "aggregate.json", payload | {"metrics": summary})]
    rows = [[k, s["mean"], s["std"], s["count"]] for k, s in summary.items()]
    paths.append(_write_csv(folder / "aggregate.csv", ["metric", "mean", "std", "count"], rows))
    text = markdown(name, profile, seeds, summary, overrides)
    (folder / "aggregate.md").write_text(text)
    paths.append(folder / "aggregate.md")
    for table in TABLES.get(name, []):
        rows_, cols, cells = table.cells(summary)
        if not cells:
            continue
        header = [table.rows] + [f"{c} {what}" for c in cols for what in ("mean", "std")]
        body = [
            [r] + [(cells.get((r, c)) or {}).get(what) for c in cols for what in ("mean", "std")]
            for r in rows_
        ]
        paths.append(_write_csv(folder / f"table-{table.slug}.csv", header, body))
        fig = _plot(name, table, rows_, cols, cells, len(seeds))
        paths.append(plots.save(fig, f"table-{table.slug}", folder))
        plt.close(fig)
    return paths
