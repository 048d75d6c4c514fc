"""Show on the page the very code an experiment runs, without copying it into the notebook.

    from lowdim_course.source import show_source
    show_source(sparse.ista)

The cell's output is the function's (or class's) source as a Python code block, headed by the
file and lines it comes from. It is Markdown, so JupyterLab and Colab highlight it, and the
book build (myst-nb) turns it into the same highlighted code block as any other on the site.
Because the text is read from the package at run time, the page can never drift from the code.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class Source:
    """A block of source code that renders as Markdown in a notebook and as text elsewhere."""

    def __init__(self, code: str, where: str):
        self.code, self.where = code, where

    def _repr_markdown_(self) -> str:
        # A fence longer than any run of backticks in the code, so the block cannot end early.
        fence = "`" * max(3, 1 + max(map(len, re.findall("`+", self.code)), default=0))
        return f"*{self.where}*\n\n{fence}python\n{self.code}\n{fence}\n"

    def __repr__(self) -> str:
        return f"# {self.where}\n{self.code}"


def where(obj) -> str:
    """'lowdim_course/sparse/ista.py, lines 12-30': where a reader finds obj in the package."""
    path = Path(inspect.getsourcefile(obj)).resolve()
    lines, first = inspect.getsourcelines(obj)
    try:
        path = path.relative_to(PACKAGE_ROOT)
    except ValueError:  # installed from a wheel: name it from the package down
        path = Path(*path.parts[path.parts.index("lowdim_course") :])
    return f"{path.as_posix()}, lines {first}-{first + len(lines) - 1}"


def show_source(obj, *, docstring: bool = True, max_lines: int = 80) -> Source:
    """The source of a package function or class, to display as a notebook cell's output.

    docstring=False drops the docstring, for a function whose docstring the page already
    explains. A source longer than max_lines is refused: a page shows what a reader reads
    in a minute, so show a shorter function (the helper it calls) instead."""
    code = textwrap.dedent(inspect.getsource(obj)).rstrip()
    if not docstring and inspect.getdoc(obj):
        code = _without_docstring(code, inspect.getdoc(obj))
    count = code.count("\n") + 1
    if count > max_lines:
        raise ValueError(
            f"{obj.__qualname__} is {count} lines, over max_lines={max_lines}: "
            "show a shorter function, or raise max_lines if the page really needs it all"
        )
    return Source(code, where(obj))


def _without_docstring(code: str, doc: str) -> str:
    """code with its first triple-quoted string (the docstring) removed."""
    for quote in ('"""', "'''"):
        start = code.find(quote)
        if start < 0:
            continue
        end = code.find(quote, start + 3)
        if end < 0:
            continue
        line_start = code.rfind("\n", 0, start) + 1
        line_end = code.find("\n", end + 3)
        line_end = len(code) if line_end < 0 else line_end + 1
        return (code[:line_start] + code[line_end:]).rstrip()
    return code
