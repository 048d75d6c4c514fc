"""The seed's CIFAR-10N table: published test accuracies, kept as data in one place.

Test accuracy (%) on CIFAR-10's clean test set, mean +- std over runs, for networks trained on
CIFAR-10's clean labels and on the five CIFAR-10N human label sets (Wei et al. 2022, whose
benchmark is ResNet34; the SOP row from Liu, Zhu, Qu & You 2022, trained with PreActResNet18
and two augmented views, reported as SOP+ there). Each cell is the seed's text verbatim,
'mean +- std', or None where the seed writes N/A. The method names and attributions are the
seed's; `cite` is the bibtex key of the paper (its venue year can differ from the seed's
year, which follows the preprint).

The numbers of every row but SOP's are those of Wei et al.'s benchmark; SOP's are Liu et al.'s.
Each method also carries its family in a short taxonomy (after Song et al. 2022's survey, in
the four groups of the lecture): `FAMILIES` says what each family changes. The course's own
runs (the full profile of `robust_sop`) are read from a result dict by `course_rows`, and
`markdown_table` sets them beside the published rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..claims import claim

# The table's columns: the training label set (CIFAR-10's clean labels, then CIFAR-10N's sets).
COLUMNS = ("clean", "aggregate", "random1", "random2", "random3", "worst")
COLUMN_TITLES = {
    "clean": "Clean",
    "aggregate": "Aggregate",
    "random1": "Random 1",
    "random2": "Random 2",
    "random3": "Random 3",
    "worst": "Worst",
}

# Each CIFAR-10N label set's noise rate (%), as the seed (after Wei et al. 2022) gives it.
CIFAR10N_NOISE_RATES = {
    "aggregate": 9.03,
    "random1": 17.23,
    "random2": 18.12,
    "random3": 17.64,
    "worst": 40.21,
}

FAMILIES = {
    "baseline": "plain cross-entropy on the noisy labels",
    "loss correction": "change the loss so wrong labels do less harm: through an estimated "
    "noise transition matrix T (Forward/Backward T, T-Revision, VolMinNet) or a loss robust "
    "by design (GCE, Peer Loss, F-Div, CAL)",
    "sample selection": "train on the samples that look clean (small loss, agreement of two "
    "networks, a sieve), drop or down-weight the rest",
    "regularisation": "keep the network from fitting the wrong labels: early-learning "
    "targets, positive or negative label smoothing",
    "semi-supervised": "treat the suspected samples as unlabelled and train on them with "
    "pseudo-labels and consistency (MixMatch-style), usually with two networks",
    "sparse over-parameterisation": "this lecture: model the label noise as a sparse "
    "per-sample correction u o u - v o v and let gradient descent find it",
}


@dataclass(frozen=True)
class Published:
    """One published row: the seed's name and attribution, the bibtex key, the family, and
    one cell per column of `COLUMNS` ('mean +- std' as the seed writes it, None for N/A)."""

    method: str
    source: str
    cite: str
    family: str
    cells: tuple


def _row(method, source, cite, family, cells):
    """A row from its cells written as the seed's text, comma-separated."""
    cells = tuple(None if c == "N/A" else c for c in cells.split(", "))
    return Published(method, source, cite, family, cells)


CIFAR10N_TABLE = (
    _row(
        "CE (Standard)",
        "",
        "",
        "baseline",
        "92.92 ± 0.11, 87.77 ± 0.38, 85.02 ± 0.65, 86.46 ± 1.79, 85.16 ± 0.61, 77.69 ± 1.55",
    ),
    _row(
        "Forward T",
        "Patrini et al., 2017",
        "patrini2017making",
        "loss correction",
        "93.02 ± 0.12, 88.24 ± 0.22, 86.88 ± 0.50, 86.14 ± 0.24, 87.04 ± 0.35, 79.79 ± 0.46",
    ),
    _row(
        "Backward T",
        "Patrini et al., 2017",
        "patrini2017making",
        "loss correction",
        "93.10 ± 0.05, 88.13 ± 0.29, 87.14 ± 0.34, 86.28 ± 0.80, 86.86 ± 0.41, 77.61 ± 1.05",
    ),
    _row(
        "GCE",
        "Zhang & Sabuncu, 2018",
        "zhang2018generalized",
        "loss correction",
        "92.83 ± 0.16, 87.85 ± 0.70, 87.61 ± 0.28, 87.70 ± 0.56, 87.58 ± 0.29, 80.66 ± 0.35",
    ),
    _row(
        "Co-teaching",
        "Han et al., 2018",
        "han2018coteaching",
        "sample selection",
        "93.35 ± 0.14, 91.20 ± 0.13, 90.33 ± 0.13, 90.30 ± 0.17, 90.15 ± 0.18, 83.83 ± 0.13",
    ),
    _row(
        "Co-teaching+",
        "Yu et al., 2019",
        "yu2019does",
        "sample selection",
        "92.41 ± 0.20, 90.61 ± 0.22, 89.70 ± 0.27, 89.47 ± 0.18, 89.54 ± 0.22, 83.26 ± 0.17",
    ),
    _row(
        "T-Revision",
        "Xia et al., 2019",
        "xia2019anchor",
        "loss correction",
        "93.35 ± 0.23, 88.52 ± 0.17, 88.33 ± 0.32, 87.71 ± 1.02, 87.79 ± 0.67, 80.48 ± 1.20",
    ),
    _row(
        "Peer Loss",
        "Liu & Guo, 2020",
        "liu2020peer",
        "loss correction",
        "93.99 ± 0.13, 90.75 ± 0.25, 89.06 ± 0.11, 88.76 ± 0.19, 88.57 ± 0.09, 82.00 ± 0.60",
    ),
    _row(
        "ELR",
        "Liu et al., 2020",
        "liu2020early",
        "regularisation",
        "93.45 ± 0.65, 92.38 ± 0.64, 91.46 ± 0.38, 91.61 ± 0.16, 91.41 ± 0.44, 83.58 ± 1.13",
    ),
    _row(
        "ELR+",
        "Liu et al., 2020",
        "liu2020early",
        "semi-supervised",
        "95.39 ± 0.05, 94.83 ± 0.10, 94.43 ± 0.41, 94.20 ± 0.24, 94.34 ± 0.22, 91.09 ± 1.60",
    ),
    _row(
        "Positive-LS",
        "Lukasik et al., 2020",
        "lukasik2020does",
        "regularisation",
        "94.77 ± 0.17, 91.57 ± 0.07, 89.80 ± 0.28, 89.35 ± 0.33, 89.82 ± 0.14, 82.76 ± 0.53",
    ),
    _row(
        "F-Div",
        "Wei & Liu, 2020",
        "wei2021when",
        "loss correction",
        "94.88 ± 0.12, 91.64 ± 0.34, 89.70 ± 0.40, 89.79 ± 0.12, 89.55 ± 0.49, 82.53 ± 0.52",
    ),
    _row(
        "Divide-Mix",
        "Li et al., 2020",
        "li2020dividemix",
        "semi-supervised",
        "95.37 ± 0.14, 95.01 ± 0.71, 95.16 ± 0.19, 95.23 ± 0.07, 95.21 ± 0.14, 92.56 ± 0.42",
    ),
    _row(
        "Negative-LS",
        "Wei et al., 2021",
        "wei2022smooth",
        "regularisation",
        "94.92 ± 0.25, 91.97 ± 0.46, 90.29 ± 0.32, 90.37 ± 0.12, 90.13 ± 0.19, 82.99 ± 0.36",
    ),
    _row(
        "JoCoR",
        "Wei et al., 2020",
        "wei2020combating",
        "sample selection",
        "93.40 ± 0.24, 91.44 ± 0.05, 90.30 ± 0.20, 90.21 ± 0.19, 90.11 ± 0.21, 83.37 ± 0.30",
    ),
    _row(
        "CORES²",
        "Cheng et al., 2021",
        "cheng2021learning",
        "sample selection",
        "93.43 ± 0.24, 91.23 ± 0.11, 89.66 ± 0.32, 89.91 ± 0.45, 89.79 ± 0.50, 83.60 ± 0.53",
    ),
    _row(
        "CORES*",
        "Cheng et al., 2021",
        "cheng2021learning",
        "semi-supervised",
        "94.16 ± 0.11, 95.25 ± 0.09, 94.45 ± 0.14, 94.88 ± 0.31, 94.74 ± 0.03, 91.66 ± 0.09",
    ),
    _row(
        "VolMinNet",
        "Li et al., 2021",
        "li2021provably",
        "loss correction",
        "92.14 ± 0.30, 89.70 ± 0.21, 88.30 ± 0.12, 88.27 ± 0.09, 88.19 ± 0.41, 80.53 ± 0.20",
    ),
    _row(
        "CAL",
        "Zhu et al., 2021a",
        "zhu2021second",
        "loss correction",
        "94.50 ± 0.31, 91.97 ± 0.32, 90.93 ± 0.31, 90.75 ± 0.30, 90.74 ± 0.24, 85.36 ± 0.16",
    ),
    _row(
        "PES (Semi)",
        "Bai et al., 2021",
        "bai2021understanding",
        "semi-supervised",
        "94.76 ± 0.2, 94.66 ± 0.18, 95.06 ± 0.15, 95.19 ± 0.23, 95.22 ± 0.13, 92.68 ± 0.22",
    ),
    _row(
        "SOP",
        "Liu et al., 2022",
        "liu2022robust",
        "sparse over-parameterisation",
        "N/A, 95.61 ± 0.13, 95.28 ± 0.13, 95.31 ± 0.10, 95.39 ± 0.11, 93.24 ± 0.21",
    ),
)


def mean_std(cell: str | None) -> tuple[float, float] | None:
    """'92.92 ± 0.11' -> (92.92, 0.11); None (N/A) stays None."""
    if cell is None:
        return None
    mean, std = cell.split("±")
    return float(mean), float(std)


# Method -> {column: mean}: the published means, for computing with (N/A columns left out).
CIFAR10N_PUBLISHED = {
    row.method: {c: mean_std(cell)[0] for c, cell in zip(COLUMNS, row.cells) if cell is not None}
    for row in CIFAR10N_TABLE
}


def course_rows(result: dict | None) -> dict:
    """The course's own column entries from `robust_sop`'s full result (its dict as
    `results.load_results` returns it, or None when it was never run): {'CE': {column: %},
    'SOP': {...}}, the final test accuracy of each run, the clean column from the 0% noise
    run; columns without a run are left out."""
    runs = (result or {}).get("metrics", {}).get("runs", {})
    rows = {}
    for method in ("ce", "sop"):
        keys = {c: f"{method} {'0' if c == 'clean' else c}" for c in COLUMNS}
        rows[method.upper()] = {
            c: 100 * float(runs[k]["final_test_acc"]) for c, k in keys.items() if k in runs
        }
    return rows


def markdown_table(result: dict | None = None) -> str:
    """The published table (method with its paper, family, one column per label set, where
    the numbers were published) with the course's full-profile rows beneath it, marked 'not
    yet run' where they have no number. Plain Markdown (no citation roles: the page's prose
    cites the papers)."""
    head = ["Method", "Family", *(COLUMN_TITLES[c] for c in COLUMNS), "Numbers"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rates = [f"{CIFAR10N_NOISE_RATES[c]:.2f}" for c in COLUMNS[1:]]
    lines.append("| *noise rate (%)* | | 0 | " + " | ".join(rates) + " | Wei et al. 2022 |")
    for row in CIFAR10N_TABLE:
        name = f"{row.method} ({row.source})" if row.source else row.method
        where = "Liu et al. 2022" if row.method == "SOP" else "Wei et al. 2022"
        cells = [c if c is not None else "N/A" for c in row.cells]
        lines.append(f"| {name} | {row.family} | " + " | ".join(cells)
                     + f" | published ({where}) |")  # fmt: skip
    for method, values in course_rows(result).items():
        cells = [f"{values[c]:.2f}" if c in values else "not yet run" for c in COLUMNS]
        lines.append(f"| **{method}, this course** | | " + " | ".join(cells)
                     + " | full profile of `robust_sop` (ResNet18, final epoch) |")  # fmt: skip
    return "\n".join(lines)


def check_published(table=CIFAR10N_TABLE) -> list[str]:
    """What the lecture reads from the published table, checked on its numbers (so a wrong
    transcription or a sentence that drifts from the data fails): on the aggregate labels the
    methods spread from plain cross-entropy, the lowest, to SOP, the highest, over more than
    seven points; on the worst labels (40% noise) every semi-supervised method and SOP are at
    least five points above the best method of the three other families, and thirteen above
    cross-entropy."""
    aggregate, worst = COLUMNS.index("aggregate"), COLUMNS.index("worst")

    def mean(row, column):
        return mean_std(row.cells[column])[0]

    low = min(table, key=lambda row: mean(row, aggregate))
    high = max(table, key=lambda row: mean(row, aggregate))
    ce = next(row for row in table if row.family == "baseline")
    leaders = [r for r in table if r.family in ("semi-supervised", "sparse over-parameterisation")]
    others = [r for r in table if r.family in ("loss correction", "sample selection",
                                               "regularisation")]  # fmt: skip
    best_other = max(others, key=lambda row: mean(row, worst))
    weakest = min(leaders, key=lambda row: mean(row, worst))
    spread = mean(high, aggregate) - mean(low, aggregate)
    return [
        claim(
            low is ce and high.method == "SOP" and spread > 7,
            "on the aggregate labels the methods spread over more than seven points, from "
            "cross-entropy (lowest) to SOP (highest)",
            f"lowest {low.method} {mean(low, aggregate):.2f}, highest {high.method} "
            f"{mean(high, aggregate):.2f}",
        ),
        claim(
            mean(weakest, worst) - mean(best_other, worst) >= 5,
            "on the worst labels every semi-supervised method and SOP is at least five points "
            "above the best loss-correction, sample-selection or regularisation method",
            f"weakest of them {weakest.method} {mean(weakest, worst):.2f}, best of the others "
            f"{best_other.method} {mean(best_other, worst):.2f}",
        ),
        claim(
            mean(weakest, worst) - mean(ce, worst) >= 13,
            "on the worst labels each of them is at least thirteen points above cross-entropy",
            f"{weakest.method} {mean(weakest, worst):.2f}, {ce.method} {mean(ce, worst):.2f}",
        ),
    ]
