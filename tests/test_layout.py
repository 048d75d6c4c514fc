"""The package's layout rules (README, "Contributing"): one subpackage per lecture with its
experiments and plots apart from its mathematics, short files with docstrings, no lecture
importing another, and notebooks that use only public names."""

import ast
import importlib
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lowdim_course"
LECTURES = ["sparse", "manifolds", "collapse", "parsimony", "robust", "overparam"]
MAX_LINES = 500


def package_files():
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", package_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_is_short_and_says_what_it_holds(path):
    lines = path.read_text().count("\n")
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines (at most {MAX_LINES})"
    assert ast.get_docstring(ast.parse(path.read_text())), f"{path.relative_to(ROOT)}: no docstring"


@pytest.mark.parametrize("lecture", LECTURES)
def test_each_lecture_is_a_package_of_math_experiments_and_plots(lecture):
    folder = PACKAGE / lecture
    assert (folder / "__init__.py").exists(), f"lowdim_course/{lecture}/ is not a package"
    assert not (PACKAGE / f"{lecture}.py").exists(), f"lowdim_course/{lecture}.py is left over"
    names = {p.stem for p in folder.glob("*.py")}
    assert "plots" in names and any(n.startswith("experiments") for n in names), names
    math = names - {"__init__", "plots"} - {n for n in names if n.startswith("experiments")}
    assert math, f"{lecture}: no module of its own mathematics"
    module = importlib.import_module(f"lowdim_course.{lecture}")
    assert module.EXPERIMENTS, f"{lecture} re-exports no EXPERIMENTS"


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the lowdim_course modules that `path` imports."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    package = parts[:-1]  # the package `path` sits in (a module's own level-1 base)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("lowdim_course")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith("lowdim_course"):
                found.add(module)
                found |= {f"{module}.{a.name}" for a in node.names}
    return found


def test_no_lecture_imports_another_and_the_core_imports_none():
    registry = {"experiments", "cli"}  # the registry and the CLI import every lecture
    for path in package_files():
        rel = path.relative_to(PACKAGE)
        own = rel.parts[0] if len(rel.parts) > 1 else None
        if own is None and path.stem in registry:
            continue
        for module in imported_modules(path):
            parts = module.split(".")
            other = parts[1] if len(parts) > 1 else None
            if other in LECTURES and other != own:
                raise AssertionError(f"lowdim_course/{rel} imports lecture {other} ({module})")


def notebook_trees(path: Path) -> list[ast.Module]:
    cells = json.loads(path.read_text())["cells"]
    return [ast.parse("".join(c["source"])) for c in cells if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", sorted((ROOT / "lectures").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_use_only_public_names_of_the_package(path):
    trees = notebook_trees(path)
    aliases = {}  # name in the notebook -> lowdim_course module
    for node in (n for tree in trees for n in ast.walk(tree)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lowdim_course"):
            for a in node.names:
                assert not a.name.startswith("_"), f"{path.name} imports the private {a.name}"
                full = f"{node.module}.{a.name}"
                if importlib.util.find_spec(full) if node.module == "lowdim_course" else False:
                    aliases[a.asname or a.name] = full
    assert aliases, f"{path.name} imports no lowdim_course module"
    for node in (n for tree in trees for n in ast.walk(tree)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module_name = aliases.get(node.value.id)
            if module_name is None:
                continue
            where = f"{path.name}: {node.value.id}.{node.attr}"
            assert not node.attr.startswith("_"), f"{where} is a private name"
            assert hasattr(importlib.import_module(module_name), node.attr), f"{where} is unknown"
