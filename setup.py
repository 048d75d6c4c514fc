"""setuptools reads everything from pyproject.toml; this file only adds one step to the build:
the committed full-profile results (`results/NAME/full/results.json` and its figures, the runs
that take hours on a GPU or here) are copied into the wheel as `lowdim_course/bundled_results/`,
so that `results.load_results(name, "full")` finds them after `pip install` from a wheel or a
git URL (Colab), not only in a clone. Quick results are never shipped: they take seconds."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESULTS = Path(__file__).resolve().parent / "results"
SHIPPED = {".json", ".png"}


class BuildWithFullResults(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads results/ itself
            return
        target = Path(self.build_lib) / "lowdim_course" / "bundled_results"
        for path in sorted(RESULTS.glob("*/full/*")):
            if path.is_file() and path.suffix in SHIPPED:
                dest = target / path.relative_to(RESULTS)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)


setup(cmdclass={"build_py": BuildWithFullResults})
