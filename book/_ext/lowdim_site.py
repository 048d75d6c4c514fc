"""The website's own Sphinx extension: everything a page needs is served from the site itself.

- Math: MathJax 3.2.2 from the PyPI package `sphinx-mathjax-offline` (in the dev extra), copied
  into _build/html/_static/mathjax/, instead of Sphinx's default CDN URL.
- Widgets: no widget manager or require.js is loaded (`nb_ipywidgets_js: {}` in _config.yml);
  widget cells show their default output on the page (see lowdim_course/sliders.py).
- The status page: myst-nb's execution table marks a notebook with an emoji, which shows as an
  empty box where no emoji font is installed; here it reads "ran" or "failed", in colour.
- lowdim.css: long output lines wrap instead of scrolling sideways.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

STATIC = Path(__file__).parent / "static"
MARKS = {"✅": ("ran", "exec-ok"), "❌": ("failed", "exec-failed")}


class PlainStatusMarks(SphinxPostTransform):
    """Replace the ✅/❌ of myst-nb's execution table (made at priority 8) with words."""

    default_priority = 9

    def run(self, **kwargs) -> None:
        for table in self.document.findall(nodes.table):
            for text in list(table.findall(nodes.Text)):
                if text.astext() in MARKS:
                    word, css_class = MARKS[text.astext()]
                    text.parent.replace(text, nodes.inline(text=word, classes=[css_class]))


def add_static_path(app) -> None:
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.setup_extension("sphinx-mathjax-offline")
    app.connect("builder-inited", add_static_path)
    app.add_css_file("lowdim.css")
    app.add_post_transform(PlainStatusMarks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
