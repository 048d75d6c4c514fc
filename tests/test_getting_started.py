"""Lecture 0: the training loop the page shows is the loop train.train runs."""

import inspect
from pathlib import Path

from lowdim_course import getting_started, train


def test_training_loop_shows_the_epoch_loop_of_train_with_its_file_and_lines():
    shown = getting_started.training_loop()
    assert shown.code.startswith("for epoch in bar:")
    assert "optimizer.step()" in shown.code and "loss.backward()" in shown.code
    assert shown.code.count("\n") + 1 <= 80  # short enough to read on a page
    path, lines = shown.where.split(", lines ")
    first, last = (int(v) for v in lines.split(" ")[0].split("-"))
    text = (Path(inspect.getsourcefile(train)).read_text().splitlines())[first - 1 : last]
    assert text[0].strip() == "for epoch in bar:" and path.endswith("lowdim_course/train.py")
    assert "\n".join(t.strip() for t in text) == "\n".join(
        t.strip() for t in shown.code.splitlines()
    )
    assert "```python" in shown._repr_markdown_()
