"""The website as a reader sees it: build the book (or reuse a fresh build), open every page of
the table of contents in a real headless Chromium, and check what a reader would notice.

The browser has no network: every host but 127.0.0.1 fails to resolve, and every request a page
makes is logged and counted, so the site must carry all it loads (MathJax included).

Per page: it loads with a title and an h1, no request leaves the machine, every image has loaded,
the math is typeset (every math element rendered by MathJax, no raw \\( \\[ or $$ left in the
text, and typeset math wherever the source has math), no cell output holds a traceback or a
`<function ...>` repr, no glyph needs an emoji font, no printed line or code line needs sideways
scrolling, every exercise solution is folded away until clicked (and opens when clicked). Lecture
pages also have a Colab link, a solution when they pose an exercise, and a visible figure with a
note in every widget cell (`sliders.show`). The status page marks each notebook in words.
A screenshot of each page goes to _build/screenshots/, taken once the math is typeset. Needs
Debian's `chromium` and `chromium-driver` (`.ci/install_browser.sh`); without them the test
skips, except in CI, where it fails.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml

import lowdim_course

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
HTML = BUILD / "html"
SHOTS = BUILD / "screenshots"
# Written after each build this test runs: "passed" or "failed". Its time counts as the build's
# (a change Sphinx ignores, say to lowdim_course/*.py, rewrites no page); after a failure the next
# run rebuilds every page (`--all`), since Sphinx does not repeat an unchanged page's warnings.
STAMP = BUILD / ".site-test-build"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")
SUFFIXES = (".md", ".ipynb", ".rst", ".myst")

# myst-nb renders a cell error as <div class="output traceback highlight-ipythontb">; classic
# Jupyter/nbconvert HTML uses .output_error. Any output that prints a traceback is caught by text.
ERROR_OUTPUTS = ".cell_output .output.traceback, .cell_output .highlight-ipythontb, .output_error"
TRACEBACK = "Traceback (most recent call last)"
COLAB = "a[href^='https://colab.research.google.com/github/']"
# sphinx-exercise renders {exercise}/{exercise-start} as div.exercise and {solution}/
# {solution-start} as div.solution; `:class: dropdown` adds .dropdown, which sphinx-togglebutton
# turns into a title with a button.toggle-button and hides every other child until clicked.
SOLUTION_BODY = (
    "./*[not(contains(concat(' ', normalize-space(@class), ' '), ' admonition-title '))]"
)


def toc_pages() -> list[str]:
    """The root and every `file:` of _toc.yml, in reading order, without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(node) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if "file" in node:
                pages.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                walk(node.get(key))

    walk(toc)
    return [p[: -len(s)] if (s := Path(p).suffix) in SUFFIXES else p for p in map(str, pages)]


PAGES = toc_pages()


def sources() -> list[Path]:
    patterns = ["_config.yml", "_toc.yml", "book/**/*", "lectures/*.ipynb", "lowdim_course/**/*.py"]
    skip = {".ipynb_checkpoints", "__pycache__"}
    paths = (p for pattern in patterns for p in ROOT.glob(pattern))
    return [p for p in paths if p.is_file() and not skip & set(p.parts)]


def last_build_failed() -> bool:
    return STAMP.exists() and STAMP.read_text().strip() == "failed"


def build_is_fresh() -> bool:
    """A complete build, newer than every source, not marked as failed by this test.

    The build time is the newest of the files Sphinx rewrites on every (non-empty) build:
    jupyter-book writes index.html only when it is missing, so its own time is the first build's.
    """
    index = HTML / "index.html"
    if last_build_failed() or not index.exists():
        return False
    if not all((HTML / f"{page}.html").exists() for page in PAGES):
        return False
    outputs = [index, HTML / ".buildinfo", HTML / "searchindex.js", HTML / "objects.inv", STAMP]
    built = max(p.stat().st_mtime for p in outputs if p.exists())
    return all(p.stat().st_mtime <= built for p in sources())


@pytest.fixture(scope="module")
def site() -> Path:
    """The built site, built here (like `make book`) unless a fresh build is already there."""
    if build_is_fresh():
        return HTML
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", "."]
    command += ["--builder", "html", "-W", "-n", "--keep-going"]
    if last_build_failed():
        command.append("--all")
    BUILD.mkdir(exist_ok=True)
    env = dict(os.environ, LOWDIM_PROFILE="quick", LOWDIM_PROGRESS="0", LOWDIM_WIDGETS="static")
    # The kernels need Jupyter's inline backend to put figures on the pages; agg draws nothing.
    env.pop("MPLBACKEND", None)
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800
        )
    except subprocess.TimeoutExpired as timeout:
        STAMP.write_text("failed\n")
        pytest.fail(f"the book build took over {timeout.timeout:.0f} s: {' '.join(command)}")
    if done.returncode != 0:
        STAMP.write_text("failed\n")
        log = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr).splitlines()
        warnings = [line for line in log if re.search(r"WARNING|ERROR|Error|Exception", line)]
        report = "\n".join(["warnings and errors:", *warnings[:40], "...", "end of the log:"])
        report += "\n" + "\n".join(log[-25:])
        pytest.fail(f"the book build failed ({' '.join(command)}):\n{report}", pytrace=False)
    STAMP.write_text("passed\n")
    return HTML


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server(site):
    """Serve the built site on a free loopback port, as a reader's browser would get it."""
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def no_browser(reason: str) -> None:
    reason += ": run .ci/install_browser.sh (Debian's chromium and chromium-driver)"
    if IN_CI:
        pytest.fail(f"{reason} [CI is set, so a missing browser is a failure]", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through its system driver, with a throwaway profile."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        no_browser(f"no headless browser ({', '.join(missing)} missing)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        no_browser("selenium is not installed")

    profile = tempfile.mkdtemp(prefix="lowdim-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # Every request, to be counted per page (Network.requestWillBeSent in the performance log).
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    # A closed network: no host but the loopback resolves, as on a train with no signal, and
    # Chromium's own background traffic is off.
    for flag in [
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ]:
        options.add_argument(flag)
    driver = None
    try:
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_until(condition, timeout: float, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(step)


def screenshot(driver, path: Path, max_height: int = 12000) -> None:
    """The whole page (up to max_height CSS pixels), not just the window."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script(
        "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)"
    )
    width = driver.execute_script("return document.documentElement.clientWidth")
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": min(height, max_height), "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def check_solutions(driver) -> list[str]:
    """Every solution is a dropdown whose body is hidden, and shows when its title is clicked."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    problems = []
    for n, solution in enumerate(driver.find_elements(By.CSS_SELECTOR, "div.solution"), 1):
        name = f"solution {n} ({solution.get_attribute('id')})"
        if "dropdown" not in solution.get_attribute("class").split():
            problems.append(f"{name} is not a dropdown (add `:class: dropdown`): readers see it")
            continue
        body = solution.find_elements(By.XPATH, SOLUTION_BODY)
        if not body:
            problems.append(f"{name} is empty")
            continue
        shown = [b for b in body if b.is_displayed()]
        if shown:
            problems.append(f"{name} is shown before it is clicked: {shown[0].text[:80]!r}")
            continue
        buttons = solution.find_elements(By.CSS_SELECTOR, "button.toggle-button")
        if not buttons:
            problems.append(f"{name} has no toggle button (did sphinx-togglebutton load?)")
            continue
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", buttons[0])
        try:
            buttons[0].click()
        except WebDriverException:  # covered by the sticky header: click it as a script would
            driver.execute_script("arguments[0].click()", buttons[0])
        if not wait_until(lambda body=body: any(b.is_displayed() for b in body), timeout=3):
            problems.append(f"{name} does not open when its button is clicked")
    return problems


def expected_figures(notebook: Path) -> int:
    """The number of top-level `plt.show()` calls in a notebook's code cells (those inside a
    function, such as a widget's, draw only when a reader moves the widget)."""
    cells = json.loads(notebook.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    return sum(line == "plt.show()" for source in code for line in source.splitlines())


def source_path(page: str) -> Path:
    for suffix in SUFFIXES:
        if (path := ROOT / f"{page}{suffix}").exists():
            return path
    raise FileNotFoundError(f"no source for {page}")


def source_has_math(page: str) -> bool:
    """Whether the page's prose (markdown, not code) has inline or display math."""
    path = source_path(page)
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = path.read_text()
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code fences and code-cell blocks
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code
    return bool(re.search(r"\$[^$\s]|\\\(|\\\[|\{math\}", text))


def widget_cells(page: str) -> int:
    """The code cells of a notebook that call `sliders.show` (one widget each)."""
    path = source_path(page)
    if path.suffix != ".ipynb":
        return 0
    cells = json.loads(path.read_text())["cells"]
    return sum("sliders.show(" in "".join(c["source"]) for c in cells if c["cell_type"] == "code")


def requests_elsewhere(driver, origin: str) -> list[str]:
    """The network URLs requested since the last call that are not on the local server (the
    performance log is emptied by each read; Chromium's own chrome:// pages are not network)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if re.match(r"(https?|wss?|ftp)://", url) and not url.startswith(origin):
                urls.append(url)
    return sorted(set(urls))


def wait_for_math(driver) -> str | None:
    """Wait until MathJax has typeset the page (if the page has math); None when done, else
    what went wrong."""
    if not driver.execute_script("return document.querySelector('.math') !== null"):
        return None
    started = wait_until(
        lambda: driver.execute_script(
            "return !!(window.MathJax && MathJax.startup && MathJax.startup.promise)"
        ),
        timeout=10,
    )
    if not started:
        loaded = driver.execute_script(
            "return Array.from(document.scripts).map(s => s.src).filter(s => /mathjax/i.test(s))"
        )
        return f"MathJax never started (its scripts: {loaded or 'none'})"
    driver.set_script_timeout(30)
    outcome = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "MathJax.startup.promise.then(() => done('ok'), e => done('failed: ' + e));"
    )
    return None if outcome == "ok" else f"MathJax {outcome}"


# The text a reader reads: every text node outside code, scripts and typeset math.
READER_TEXT = """
const skip = 'pre, code, script, style, textarea, mjx-container, .highlight';
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const parts = [];
while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.parentElement.closest(skip)) parts.push(node.textContent);
}
return parts.join(' ');
"""
RAW_MATH = re.compile(r"\\\(|\\\[|\$\$|\\begin\{")
# Pictographs and dingbats (such as U+2705, the check mark myst-nb uses) need an emoji font.
EMOJI = re.compile("[\u2600-\u27bf\U0001f000-\U0001faff]")


def check_math(driver, page: str) -> list[str]:
    problems = []
    if failure := wait_for_math(driver):
        problems.append(failure)
    pending = driver.execute_script(
        "return Array.from(document.querySelectorAll('.math'))"
        ".filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60))"
    )
    if pending:
        problems.append(f"{len(pending)} math element(s) not typeset, the first {pending[0]!r}")
    typeset = driver.execute_script("return document.querySelectorAll('mjx-container').length")
    if source_has_math(page) and not typeset:
        problems.append("the source has math but the page shows no typeset formula")
    text = driver.execute_script(READER_TEXT)
    for match in list(RAW_MATH.finditer(text))[:3]:
        around = text[max(0, match.start() - 30) : match.end() + 30].replace("\n", " ")
        problems.append(f"raw LaTeX in the text: {around!r}")
    if found := sorted(set(EMOJI.findall(text))):
        problems.append(f"glyphs that need an emoji font: {' '.join(found)}")
    return problems


def check_outputs_read(driver) -> list[str]:
    """No stray reprs, and no printed or code line wider than its box (sideways scrolling)."""
    problems = []
    reprs = driver.execute_script(
        "return Array.from(document.querySelectorAll('.cell_output'))"
        ".map(e => e.textContent).filter(t => t.includes('<function '))"
    )
    problems += [f"a cell output shows a function repr: {t.strip()[:80]!r}" for t in reprs]
    wide = driver.execute_script(
        "return Array.from(document.querySelectorAll('div.cell pre'))"
        ".filter(p => p.offsetParent !== null && p.scrollWidth > p.clientWidth + 2)"
        ".map(p => p.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a))"
    )
    problems += [f"a line needs sideways scrolling: {line.strip()[:90]!r}" for line in wide]
    return problems


def check_widgets(driver, page: str) -> list[str]:
    """Every widget cell has its note and, in the same cell, a figure that loaded."""
    from selenium.webdriver.common.by import By

    from lowdim_course.sliders import NOTE_CLASS

    problems = []
    expected = widget_cells(page)
    notes = driver.find_elements(By.CSS_SELECTOR, f".cell_output .{NOTE_CLASS}")
    if len(notes) != expected:
        problems.append(
            f"{len(notes)} widget note(s) on the page, {expected} widget cell(s) in the notebook"
            " (was the book built with LOWDIM_WIDGETS=static, as `make book` does?)"
        )
    for n, note in enumerate(notes, 1):
        figures = driver.execute_script(
            "return Array.from(arguments[0].closest('div.cell').querySelectorAll('img'))"
            ".filter(img => img.naturalWidth > 0 && img.getBoundingClientRect().height > 0)"
            ".length",
            note,
        )
        if not figures:
            problems.append(f"widget cell {n} shows no figure (its note: {note.text[:60]!r})")
    return problems


def check_status_marks(driver) -> list[str]:
    """The execution table's status column reads "ran" or "failed", one per notebook."""
    from selenium.webdriver.common.by import By

    marks = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".exec-ok, .exec-failed")]
    notebooks = len(list((ROOT / "lectures").glob("*.ipynb")))
    if len(marks) < notebooks or set(marks) - {"ran", "failed"}:
        return [f"status marks {marks}: expected 'ran' or 'failed' for each of {notebooks}"]
    return []


@pytest.mark.parametrize("page", PAGES)
def test_page(page, browser, server):
    """What a reader sees on one page of the table of contents."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By

    assert (HTML / f"{page}.html").exists(), f"{page}: no {page}.html in the built site"
    requests_elsewhere(browser, server)  # empty the log of the pages before
    try:
        browser.get(f"{server}/{page}.html")
    except TimeoutException:
        pytest.fail(f"{page}: the page did not finish loading in 30 s")
    # Load lazy images too, then wait for every image to finish (loaded or failed).
    browser.execute_script("for (const img of document.images) img.loading = 'eager';")
    wait_until(
        lambda: browser.execute_script(
            "return document.readyState === 'complete' && "
            "Array.from(document.images).every(img => img.complete)"
        ),
        timeout=20,
    )
    problems = check_math(browser, page)
    screenshot(browser, SHOTS / f"{page.replace('/', '__')}.png")

    title = browser.execute_script("return document.title").strip()
    h1 = [h.text.strip(" #¶\n") for h in browser.find_elements(By.TAG_NAME, "h1")]
    if not title or title.startswith(("Error response", "404")):
        problems.append(f"no usable <title>: {title!r}")
    if not any(h1):
        problems.append("no non-empty <h1>")

    broken = browser.execute_script(
        "return Array.from(document.images)"
        ".filter(img => !(img.complete && img.naturalWidth > 0))"
        ".map(img => img.getAttribute('src'))"
    )
    problems += [f"image did not load: {src}" for src in broken]
    problems += check_outputs_read(browser)

    # textContent, not .text: outputs inside folded solutions or hidden cells count too.
    errors = browser.execute_script(
        """
        const [selector, marker] = arguments;
        const found = new Set(document.querySelectorAll(selector));
        for (const out of document.querySelectorAll('.cell_output, .output'))
            if (out.textContent.includes(marker)) found.add(out);
        const all = Array.from(found);
        const innermost = all.filter(e => !all.some(f => f !== e && e.contains(f)));
        return innermost.map(e => (e.querySelector('pre') || e).textContent);
        """,
        ERROR_OUTPUTS,
        TRACEBACK,
    )
    for text in errors:  # the last line of a traceback names the exception
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        problems.append(f"a cell output holds a traceback ending {lines[-1][:120]!r}")

    if page.startswith("lectures/"):
        # Every top-level plt.show() of the notebook must have put a figure on the page.
        expected = expected_figures(ROOT / f"{page}.ipynb")
        shown = len(browser.find_elements(By.CSS_SELECTOR, ".cell_output img"))
        if shown < expected:
            problems.append(f"{shown} figure(s) in the cell outputs, expected {expected}")

    if page.startswith("lectures/"):
        links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, COLAB)]
        release = f"/blob/v{lowdim_course.__version__}/"
        if not links:
            problems.append(
                "no Colab launch link (a[href^='https://colab.research.google.com/github/'])"
            )
        elif not all(release in link for link in links):
            problems.append(f"the Colab link {links[0]} does not open release {release}")
    exercises = browser.find_elements(By.CSS_SELECTOR, "div.exercise")
    solutions = browser.find_elements(By.CSS_SELECTOR, "div.solution")
    if page.startswith("lectures/") and exercises and not solutions:
        problems.append(f"{len(exercises)} exercise(s) but no solution")
    problems += check_solutions(browser)
    if page.startswith("lectures/"):
        problems += check_widgets(browser, page)
    if page == "book/status":
        problems += check_status_marks(browser)
    # Last: every request the page made, the clicks above included.
    outside = requests_elsewhere(browser, server)
    if outside:
        problems.append(f"{len(outside)} request(s) left the machine: {', '.join(outside[:5])}")

    if problems:
        pytest.fail(f"{page}:\n  " + "\n  ".join(problems), pytrace=False)
