import json

import numpy as np
import pytest
import torch

from lowdim_course import exercises


def square(x):
    return x**2


def test_check_function_accepts_a_correct_answer(capsys):
    exercises.check_function(lambda x: x * x, square, [(torch.arange(4.0),), (torch.ones(2, 2),)])
    assert "\u2713" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda x: x**2 + (x == 3).float(), "1 of 4 entries differ; at index (3,)"),
        (lambda x: x[:2] ** 2, "shape (2,), expected (4,)"),
        (lambda x: None, "forget to `return`"),
    ],
)
def test_check_function_says_what_is_wrong(answer, message):
    with pytest.raises(
        exercises.ExerciseError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        exercises.check_function(answer, square, [(torch.arange(4.0),)], hint="square it")


def test_not_implemented_gives_instructions():
    def stub(x):
        raise NotImplementedError

    with pytest.raises(exercises.ExerciseError, match="not implemented yet"):
        exercises.check_function(stub, square, [(torch.ones(1),)])


def test_integer_answers_must_be_integers():
    with pytest.raises(exercises.ExerciseError, match="expected integers"):
        exercises.check_value("labels", np.array([1.0, 2.0]), np.array([1, 2]))


def test_stub_source_keeps_signature_and_docstring():
    source = 'import torch\n\n\ndef f(a, b=2):\n    """Add."""\n    c = a + b\n    return c\n'
    stub = exercises.stub_source(source)
    assert stub.startswith("def f(a, b=2):\n")
    assert '"""Add."""' in stub and "return c" not in stub
    namespace = {}
    exec(stub, namespace)
    with pytest.raises(NotImplementedError):
        namespace["f"](1)


def _cell(kind, text, tags=None):
    cell = {"cell_type": kind, "metadata": {"tags": tags or []}, "source": text}
    if kind == "code":
        cell.update(outputs=[{"output_type": "stream", "text": "x"}], execution_count=3)
    return cell


def test_student_copy_removes_solutions(tmp_path):
    nb = {
        "cells": [
            _cell("markdown", "```{exercise}\n:label: e\nDo it.\n```"),
            _cell("markdown", "```{solution-start} e\n:class: dropdown\n```"),
            _cell("markdown", "The trick is to square."),
            _cell("code", "def f(x):\n    return x**2\n", ["solution"]),
            _cell("markdown", "```{solution-end}\n```"),
            _cell("code", "check(f)"),
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    source = tmp_path / "lecture.ipynb"
    source.write_text(json.dumps(nb))
    assert exercises.student_copy(source, tmp_path / "out" / "lecture.ipynb") == 1
    cells = json.loads((tmp_path / "out" / "lecture.ipynb").read_text())["cells"]
    texts = ["".join(c["source"]) for c in cells]
    assert len(cells) == 3 and "The trick" not in "".join(texts)
    assert "NotImplementedError" in texts[1] and "return x**2" not in texts[1]
    assert texts[2] == "check(f)" and cells[2]["outputs"] == []
