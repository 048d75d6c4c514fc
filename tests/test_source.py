"""The source-showing helper: the page shows the package's own code, headed by where it lives."""

import inspect

import pytest

from lowdim_course import sliders
from lowdim_course.source import Source, show_source, where


def test_shows_the_function_it_is_given_with_its_file_and_lines():
    shown = show_source(sliders.default_value)
    markdown = shown._repr_markdown_()
    lines, first = inspect.getsourcelines(sliders.default_value)
    assert markdown.startswith(
        f"*lowdim_course/sliders.py, lines {first}-{first + len(lines) - 1}*"
    )
    assert "```python\ndef default_value(name: str, control, function):" in markdown
    assert markdown.rstrip().endswith("```")
    assert "".join(lines).strip() in markdown


def test_docstring_can_be_left_out():
    code = show_source(sliders.default_value, docstring=False).code
    assert "The value interact would start from" not in code
    assert code.startswith("def default_value(") and "return control.value" in code


def test_a_long_function_is_refused_with_its_length():
    with pytest.raises(ValueError, match="over max_lines=5"):
        show_source(sliders.default_value, max_lines=5)


def test_a_backtick_fence_in_the_code_cannot_end_the_block():
    markdown = Source("x = '```'", "here")._repr_markdown_()
    assert "````python\nx = '```'\n````" in markdown


def test_where_names_a_class_too():
    assert where(Source).startswith("lowdim_course/source.py, lines ")
