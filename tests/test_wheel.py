"""The committed full-profile results travel inside the package: build a wheel from the
committed files (as `pip install git+URL` does from a clone), install it into a fresh virtual
environment outside the repository, and load a full result there."""

import json
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = "wheel_probe"  # a planted result, so the test means something before any real one


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if (ROOT / line).is_file()]


def test_a_wheel_installed_outside_the_repository_loads_committed_full_results(tmp_path):
    source = tmp_path / "clone"
    files = tracked_files()
    for name in files:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    planted = source / "results" / PROBE / "full" / "results.json"
    planted.parent.mkdir(parents=True)
    planted.write_text(json.dumps({"name": PROBE, "profile": "full", "metrics": {"x": 1}}))
    (source / "results" / PROBE / "quick").mkdir()
    (source / "results" / PROBE / "quick" / "results.json").write_text("{}")  # never shipped
    committed = sorted(
        Path(f).parts[1]
        for f in files
        if f.startswith("results/") and f.endswith("/full/results.json")
    )

    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(wheels), str(source)],
        check=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = wheels.glob("lowdim_course-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # torch and the other dependencies come from this environment's site-packages (a .pth line),
    # which does not bring along the editable install of the checkout (that needs its own .pth).
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )

    script = textwrap.dedent(
        f"""
        import json, lowdim_course
        from lowdim_course import results
        names = [{PROBE!r}] + {committed[:2]!r}
        loaded = {{n: results.load_results(n, "full")["path"] for n in names}}
        print(json.dumps({{"package": lowdim_course.__file__, "loaded": loaded}}))
        try:
            results.load_results({PROBE!r}, "quick")
        except FileNotFoundError:
            print("quick not shipped")
        """
    )
    env = {"PATH": str(venv / "bin"), "HOME": str(tmp_path), "MPLBACKEND": "agg"}
    run = subprocess.run(
        [python, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    first, last = run.stdout.strip().splitlines()
    report = json.loads(first)
    assert report["package"].startswith(str(venv)), report  # the wheel, not the checkout
    for name, path in report["loaded"].items():
        assert path.startswith(str(venv)) and f"bundled_results/{name}/full" in path, path
    assert last == "quick not shipped"
