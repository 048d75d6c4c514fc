"""Colab runs the release a notebook belongs to, not whatever `main` is that day.

The repository URL is set once, in _config.yml (`repository.url`); the version once, in
lowdim_course/__init__.py. From the two: every notebook's first cell installs
`git+URL@vVERSION` on Colab, and the launch buttons open the notebooks of tag vVERSION
(`repository.branch`). After changing either, run `python tests/test_colab.py --write`, which
rewrites both, then tag the release (see book/instructors.md).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import lowdim_course  # noqa: E402

NOTEBOOKS = sorted((ROOT / "lectures").glob("*.ipynb"))
CONFIG = ROOT / "_config.yml"
# The install block of a notebook's first code cell, from its `if` to the closing parenthesis.
BLOCK = re.compile(r'if "google\.colab" in sys\.modules:.*?check=True,\n    \)\n', re.S)


def repository_url() -> str:
    return yaml.safe_load(CONFIG.read_text())["repository"]["url"].rstrip("/")


def release_tag() -> str:
    return f"v{lowdim_course.__version__}"


def install_block() -> str:
    return (
        'if "google.colab" in sys.modules:  # Colab: install this release, once per session\n'
        "    subprocess.run(\n"
        "        [\n"
        "            sys.executable,\n"
        '            "-m",\n'
        '            "pip",\n'
        '            "install",\n'
        '            "-q",\n'
        f'            "git+{repository_url()}@{release_tag()}",\n'
        "        ],\n"
        "        check=True,\n"
        "    )\n"
    )


def first_code_cell(notebook: Path) -> dict:
    cells = json.loads(notebook.read_text())["cells"]
    return next(c for c in cells if c["cell_type"] == "code")


def test_every_notebook_installs_this_release_on_colab():
    expected = install_block()
    for notebook in NOTEBOOKS:
        source = "".join(first_code_cell(notebook)["source"])
        assert expected in source, (
            f"{notebook.name}: its first code cell must install {repository_url()}@"
            f"{release_tag()} on Colab; run `python tests/test_colab.py --write`"
        )


def test_the_launch_buttons_open_this_release():
    branch = yaml.safe_load(CONFIG.read_text())["repository"]["branch"]
    assert branch == release_tag(), (
        f"_config.yml repository.branch is {branch!r}: the Colab buttons would open notebooks "
        f"that the installed {release_tag()} may not run; run `python tests/test_colab.py --write`"
    )


def test_the_repository_url_is_written_once():
    """Every link to the course's GitHub repository names the URL of _config.yml."""
    url = repository_url()
    files = [ROOT / "README.md", *ROOT.glob("book/*.md"), *NOTEBOOKS]
    for path in files:
        for found in re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", path.read_text()):
            if "lowdim" in found:
                assert found == url, f"{path.name} links {found}, _config.yml says {url}"


def write() -> None:
    """Rewrite every notebook's install block and the launch buttons' branch."""
    for notebook in NOTEBOOKS:
        content = json.loads(notebook.read_text())
        cell = next(c for c in content["cells"] if c["cell_type"] == "code")
        source, count = BLOCK.subn(install_block(), "".join(cell["source"]))
        if count != 1:
            raise SystemExit(f"{notebook.name}: no Colab install block in its first code cell")
        cell["source"] = source.splitlines(keepends=True)
        notebook.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")
    text = re.sub(r"(?m)^(  branch: ).*$", rf"\g<1>{release_tag()}", CONFIG.read_text())
    CONFIG.write_text(text)
    print(f"{len(NOTEBOOKS)} notebooks and _config.yml now install and open {release_tag()}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python tests/test_colab.py --write")
    write()
