"""pyproject.toml and environment.yml name the same packages, so the two set-ups can't drift."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0].lower()


def pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    return {_name(r) for r in requirements}


def environment_names() -> set[str]:
    names = set()
    for line in (ROOT / "environment.yml").read_text().splitlines():
        item = re.match(r"^\s+-\s+([A-Za-z0-9_.\-]+)", line)
        if item and not line.strip().startswith("- -e"):
            names.add(_name(item.group(1)))
    return names


def test_every_pyproject_dependency_is_in_environment_yml():
    missing = pyproject_names() - environment_names()
    assert not missing, f"environment.yml lacks {sorted(missing)}: add them to its pip list"


def test_environment_yml_installs_the_package_with_dev_extra():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r'-\s+-e\s+"?\.\[dev\]"?', text), "environment.yml must pip install -e .[dev]"


def test_versions_are_pinned_in_pyproject_only():
    # Every version bound lives in pyproject.toml (STYLE.md habit 10).
    pins = [
        line
        for line in (ROOT / "environment.yml").read_text().splitlines()
        if re.search(r"[A-Za-z]\s*(==|>=|<=|~=|<|>)", line) and "python=" not in line
    ]
    assert not pins, f"environment.yml pins versions; keep them in pyproject.toml: {pins}"


def test_console_script_points_at_main():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["lowdim-course"] == "lowdim_course.cli:main"
