"""Exercise checkers and student copies.

A lecture's exercise asks for a function; its solution sits in a notebook cell tagged
`solution`, and the next cell calls a checker from here, e.g.

    check_function(my_answer, reference, cases=[(x1,), (x2,)], name="my_answer")

A checker prints one line starting with a check mark when the answer is right, and raises
`ExerciseError` with what is wrong (type, shape, which entries, by how much) and a hint when it
is not. `student_copy` turns a lecture notebook into a hand-out: solution cells become stubs
that raise NotImplementedError, and the written-out solutions disappear.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch


class ExerciseError(AssertionError):
    """The answer is not right yet; the message says what differs."""


def _as_array(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def compare(got, expected, rtol: float = 1e-6, atol: float = 1e-8) -> str | None:
    """None when `got` matches `expected`, else one sentence saying how it differs."""
    if got is None:
        return "got None: did the function forget to `return` its result?"
    g, e = _as_array(got), _as_array(expected)
    if g.shape != e.shape:
        return f"shape {g.shape}, expected {e.shape}"
    if e.dtype.kind in "biu" and g.dtype.kind not in "biu":
        return f"dtype {g.dtype}, expected integers ({e.dtype})"
    if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        bad = ~np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        first = tuple(int(i) for i in np.argwhere(bad)[0]) if g.ndim else ()
        return (
            f"{int(bad.sum())} of {bad.size} entries differ; at index {first}: "
            f"got {g[first]!r}, expected {e[first]!r}"
        )
    return None


def check_value(
    name: str, got, expected, rtol: float = 1e-6, atol: float = 1e-8, hint: str = ""
) -> None:
    """Check one computed value against the reference."""
    problem = compare(got, expected, rtol, atol)
    if problem:
        raise ExerciseError(f"{name}: {problem}." + (f" Hint: {hint}" if hint else ""))
    print(f"\u2713 {name} is correct.")


def check_function(
    fn: Callable,
    reference: Callable,
    cases: Sequence[tuple],
    name: str | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    hint: str = "",
) -> None:
    """Call `fn` and `reference` on each tuple of arguments in `cases` and compare the results."""
    name = name or getattr(fn, "__name__", "your function")
    for i, args in enumerate(cases):
        try:
            got = fn(*args)
        except NotImplementedError:
            raise ExerciseError(
                f"{name} is not implemented yet: replace the `raise NotImplementedError` in the "
                "exercise cell with your code, run that cell, then this one."
            ) from None
        problem = compare(got, reference(*args), rtol, atol)
        if problem:
            shapes = ", ".join(str(tuple(_as_array(a).shape)) for a in args)
            raise ExerciseError(
                f"{name}, test case {i + 1} of {len(cases)} (argument shapes {shapes}): "
                f"{problem}." + (f" Hint: {hint}" if hint else "")
            )
    print(f"\u2713 {name} agrees with the reference on all {len(cases)} test cases.")


# ---------------------------------------------------------------- student copies

STUB = (
    'raise NotImplementedError("Exercise: write your solution here, then run the checker below.")'
)


def stub_source(source: str) -> str:
    """Keep each top-level function's signature and docstring; replace its body with a stub.

    A cell without a function becomes a single stub line.
    """
    tree = ast.parse(source)
    lines = source.splitlines()
    out = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        header_end = node.body[0].lineno - 1  # lines before the first body statement
        keep = lines[node.lineno - 1 - len(node.decorator_list) : header_end]
        indent = " " * node.body[0].col_offset
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
            keep += lines[first.lineno - 1 : first.end_lineno]  # the docstring
        out.append("\n".join(keep + [indent + STUB]))
    return "\n\n\n".join(out) if out else "# Exercise: write your solution here.\n" + STUB


def student_copy(notebook: Path | str, target: Path | str) -> int:
    """Write `notebook` to `target` with solutions removed; return the number of stubbed cells.

    Cells tagged `solution` keep only their function signatures (see `stub_source`); markdown
    cells from a `{solution-start}` to its `{solution-end}` are dropped; outputs are cleared.
    """
    nb = json.loads(Path(notebook).read_text())
    cells, stubbed, inside_solution = [], 0, False
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            if "{solution-start}" in text:
                inside_solution = "{solution-end}" not in text
                continue
            if "{solution-end}" in text:
                inside_solution = False
                continue
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
            if "solution" in cell.get("metadata", {}).get("tags", []):
                cell["source"] = stub_source(text).splitlines(keepends=True)
                cell["metadata"]["tags"] = [t for t in cell["metadata"]["tags"] if t != "solution"]
                stubbed += 1
                cells.append(cell)
                continue
        if not inside_solution:
            cells.append(cell)
    nb["cells"] = cells
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return stubbed
