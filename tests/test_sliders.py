"""lowdim_course.sliders: live widgets in a notebook, the default output on the website."""

import json
import re
from pathlib import Path

import ipywidgets as widgets
import pytest

from lowdim_course import sliders

ROOT = Path(__file__).resolve().parent.parent


def test_static_mode_runs_the_defaults_once_and_notes_the_sliders(monkeypatch):
    monkeypatch.setenv("LOWDIM_WIDGETS", "static")
    calls, shown = [], []
    monkeypatch.setattr("IPython.display.display", shown.append)

    def draw(lam=0.1, m=50, loss="ce"):
        calls.append((lam, m, loss))

    result = sliders.show(
        draw,
        lam=widgets.FloatLogSlider(value=0.3, base=10, min=-3, max=0.5),
        m=(10, 95, 5),
        loss=widgets.Dropdown(options=["ce", "mse"], value="mse"),
    )
    assert result is None
    assert calls == [(0.3, 50, "mse")]  # the widgets' values; a tuple takes the default
    (note,) = shown
    assert "lam = 0.3, m = 50, loss = mse" in note.text
    assert "lam 0.001 to 3.16; m 10 to 95; loss (ce, mse)" in note.text
    assert "Colab" in note.text and "JupyterLab" in note.text
    assert note._repr_html_().startswith(f'<p class="{sliders.NOTE_CLASS}">')


def test_static_mode_needs_a_default_for_every_control(monkeypatch):
    monkeypatch.setenv("LOWDIM_WIDGETS", "static")
    with pytest.raises(ValueError, match="give 'k' a default"):
        sliders.show(lambda k: None, k=(1, 5))


def test_live_mode_is_interact_and_returns_nothing(monkeypatch):
    monkeypatch.delenv("LOWDIM_WIDGETS", raising=False)
    used = []
    monkeypatch.setattr(widgets, "interact", lambda f, **c: used.append(("interact", c)) or f)
    monkeypatch.setattr(widgets, "interact_manual", lambda f, **c: used.append(("manual", c)))
    assert sliders.show(lambda k=1: None, k=(1, 5)) is None  # no <function ...> repr
    sliders.show(lambda k=1: None, manual=True, k=(1, 5))
    assert used == [("interact", {"k": (1, 5)}), ("manual", {"k": (1, 5)})]


def test_an_unknown_mode_is_refused(monkeypatch):
    monkeypatch.setenv("LOWDIM_WIDGETS", "html")
    with pytest.raises(ValueError, match="choose one of live, static"):
        sliders.mode()


def test_every_notebook_widget_goes_through_sliders_show():
    """A direct `interact(...)` would print a repr and show a dead slider on the website."""
    for notebook in sorted((ROOT / "lectures").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code":
                assert not re.search(r"\binteract(_manual)?\(", source), notebook.name
