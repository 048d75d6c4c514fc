"""The website as a reader sees it: build the book (or reuse a fresh build), open every page of
the table of contents in a real headless Chromium, and check what a reader would notice.

Per page: it loads with a title, every image has loaded, no cell output holds a traceback;
lecture pages have a Colab link, and their exercise solutions are folded away. A screenshot of
each page goes to _build/screenshots/. Needs Debian's `chromium` and `chromium-driver`
(`.ci/install_browser.sh`); without them the test skips, except in CI, where it fails.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def toc_pages() -> list[str]:
    """Every file of _toc.yml, root first, in reading order (without suffix)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [str(Path(p).with_suffix("")) for p in pages]


PAGES = toc_pages()


def sources() -> list[Path]:
    patterns = ["_config.yml", "_toc.yml", "book/**/*", "lectures/*.ipynb", "lowdim_course/*.py"]
    return [p for pattern in patterns for p in ROOT.glob(pattern) if p.is_file()]


def build_is_fresh() -> bool:
    index = HTML / "index.html"
    if not index.exists():
        return False
    built = index.stat().st_mtime
    return all(p.stat().st_mtime <= built for p in sources() if "figures" not in p.parts)


@pytest.fixture(scope="module")
def site() -> Path:
    if not build_is_fresh():
        command = [
            str(Path(sys.executable).parent / "jupyter-book"),
            "build",
            str(ROOT),
            "--builder",
            "html",
            "-W",
            "-n",
            "--keep-going",
        ]
        env = dict(os.environ, LOWDIM_PROFILE="quick", LOWDIM_PROGRESS="0", MPLBACKEND="agg")
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"the book build failed:\n{(done.stdout + done.stderr)[-4000:]}")
    return HTML


@pytest.fixture(scope="module")
def server(site):
    """Serve the built site on a free loopback port (as a reader's browser would get it)."""
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        reason = f"no headless browser ({', '.join(missing)} missing): run .ci/install_browser.sh"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="lowdim-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # A closed network: keep Chromium from reaching out (it retries forever otherwise).
    for flag in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,2000",
        f"--user-data-dir={profile}",
    ]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for_images(driver, timeout: float = 20.0) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script(
            "return document.readyState === 'complete' && "
            "Array.from(document.images).every(img => img.complete)"
        )
    )


@pytest.mark.parametrize("page", PAGES)
def test_page(page, server, browser):
    from selenium.webdriver.common.by import By

    browser.get(f"{server}/{page}.html")
    wait_for_images(browser)
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / f"{page.replace('/', '__')}.png"))

    assert "404" not in browser.title, f"{page}: not found"
    headings = [h.text.strip() for h in browser.find_elements(By.TAG_NAME, "h1")]
    assert browser.title.strip() and any(headings), f"{page}: no title or h1"

    broken = browser.execute_script(
        "return Array.from(document.images)"
        ".filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src)"
    )
    assert not broken, f"{page}: images that did not load: {broken}"

    outputs = browser.find_elements(By.CSS_SELECTOR, ".cell_output")
    errors = browser.find_elements(By.CSS_SELECTOR, ".cell_output .traceback, .cell_output .error")
    tracebacks = [o for o in outputs if "Traceback (most recent call last)" in o.text]
    assert not errors and not tracebacks, f"{page}: a cell output holds an error or a traceback"

    if page.startswith("lectures/"):
        colab = browser.find_elements(
            By.CSS_SELECTOR, "a[href^='https://colab.research.google.com/github/']"
        )
        assert colab, f"{page}: no Colab launch link"
        exercises = browser.find_elements(By.CSS_SELECTOR, "div.exercise")
        solutions = browser.find_elements(By.CSS_SELECTOR, "div.solution")
        assert len(solutions) >= len(exercises), f"{page}: an exercise has no solution"
        for solution in solutions:
            body = solution.find_elements(
                By.CSS_SELECTOR, "section, .cell, p:not(.admonition-title)"
            )
            assert "dropdown" in solution.get_attribute("class"), f"{page}: solution not a dropdown"
            assert body and not any(b.is_displayed() for b in body), (
                f"{page}: a solution is visible before the reader opens it"
            )
            # ... and opens when clicked.
            solution.find_element(By.CSS_SELECTOR, ".admonition-title, button").click()
            assert any(b.is_displayed() for b in body), f"{page}: a solution does not open"
