"""Sliders that explore one figure: live in a notebook, the default setting on the website.

    sliders.show(show_lasso, lam=widgets.FloatLogSlider(value=0.1, base=10, min=-3, max=0.5))

In JupyterLab or Colab this is `ipywidgets.interact` (moving a slider redraws the figure).
A static web page cannot run Python, so a slider there would move and change nothing. When the
book is built (`make book` sets LOWDIM_WIDGETS=static) the function instead runs once at its
default setting, its figure and numbers go on the page, and one line says which sliders the
notebook has and where they work. Either way nothing is returned, so no `<function ...>` repr
is printed under the cell.
"""

from __future__ import annotations

import html
import inspect
import os

MODES = ("live", "static")
NOTE_CLASS = "lowdim-sliders"  # the site test finds each widget cell by this class


def mode() -> str:
    """'live' (ipywidgets) unless $LOWDIM_WIDGETS says 'static' (the book build)."""
    chosen = os.environ.get("LOWDIM_WIDGETS", "live").strip().lower() or "live"
    if chosen not in MODES:
        raise ValueError(f"LOWDIM_WIDGETS={chosen!r}: choose one of {', '.join(MODES)}")
    return chosen


def default_value(name: str, control, function):
    """The value interact would start from: the widget's value, else the function's default."""
    if hasattr(control, "value"):
        return control.value
    parameter = inspect.signature(function).parameters.get(name)
    if parameter is None or parameter.default is inspect.Parameter.empty:
        raise ValueError(f"{function.__name__}: give {name!r} a default or pass a widget")
    return parameter.default


def describe(name: str, control) -> str:
    """One control in words, such as 'lam 0.001 to 3.16' or 'loss (ce, mse)'."""
    if hasattr(control, "options"):
        labels = [o[0] if isinstance(o, tuple) else o for o in control.options]
        return f"{name} ({', '.join(map(str, labels))})"
    if hasattr(control, "base"):  # FloatLogSlider: min and max are exponents
        low, high = control.base**control.min, control.base**control.max
    elif hasattr(control, "min"):
        low, high = control.min, control.max
    elif isinstance(control, tuple):
        low, high = control[:2]
    else:
        return name
    return f"{name} {low:.3g} to {high:.3g}"


class Note:
    """The one-line note under a widget cell on the website (HTML there, text elsewhere)."""

    def __init__(self, controls: dict, defaults: dict):
        ranges = "; ".join(describe(name, control) for name, control in controls.items())
        setting = ", ".join(
            f"{name} = {value:.3g}" if isinstance(value, float) else f"{name} = {value}"
            for name, value in defaults.items()
        )
        self.text = (
            f"Shown at the default setting ({setting}). The sliders ({ranges}) work when the "
            "notebook runs: open it in Colab (the rocket icon above) or in JupyterLab."
        )

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f'<p class="{NOTE_CLASS}">{html.escape(self.text)}</p>'


def show(function, *, manual: bool = False, **controls) -> None:
    """`ipywidgets.interact(function, **controls)` in a notebook (`interact_manual` when
    `manual`, for a function that takes seconds); on the website, `function` at its defaults."""
    if mode() == "static":
        from IPython.display import display

        defaults = {name: default_value(name, c, function) for name, c in controls.items()}
        function(**defaults)
        display(Note(controls, defaults))
        return
    import ipywidgets

    (ipywidgets.interact_manual if manual else ipywidgets.interact)(function, **controls)
