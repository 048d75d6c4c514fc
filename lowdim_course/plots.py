"""One house style for every figure: labelled axes, titles, readable fonts, and the Okabe-Ito
palette (distinguishable with the common colour-vision deficiencies). `save` writes a figure
where the book and `lowdim-course figures` expect it."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
]
# Ten classes need ten colours: matplotlib's colour-blind-aware 'tab10' successor.
CLASS_CMAP = "tab10"

STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=OKABE_ITO),
    "lines.linewidth": 2.0,
}

FIGURES_DIR = Path(__file__).resolve().parent.parent / "book" / "figures"


def use_style() -> None:
    """Apply the house style to matplotlib globally (the notebooks call this once)."""
    mpl.rcParams.update(STYLE)


def subplots(nrows: int = 1, ncols: int = 1, width: float = 6.4, height: float = 4.0, **kwargs):
    """plt.subplots in the house style, sized per panel (width, height in inches)."""
    use_style()
    return plt.subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows), layout="constrained", **kwargs
    )


def save(fig, name: str, folder: Path | str | None = None) -> Path:
    """Save `fig` as folder/name.png (default book/figures) and return the path."""
    folder = Path(folder or FIGURES_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path)
    return path
