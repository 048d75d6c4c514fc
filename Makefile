# Two commands for everything:  `make book` builds the website, `make test` runs every test.
# Both create .venv and install the package with its dev extra when needed.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The book and the tests always use the quick profile, quietly. The book's kernels must keep
# Jupyter's inline matplotlib backend (MPLBACKEND=agg there would drop every figure from the
# pages); the tests draw off screen.
QUICK := LOWDIM_PROFILE=quick LOWDIM_PROGRESS=0

.PHONY: install book test lint format figures lab clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[dev]" 2>&1 | { grep -v 'is neither a file nor a directory' || true; }
	touch $(STAMP)

# The website in _build/html, every notebook executed; any warning or cell error fails it.
# LOWDIM_WIDGETS=static: a widget cell puts its default output on the page (a static page
# cannot run Python, so its sliders would do nothing); see lowdim_course/sliders.py.
BOOK_ENV := $(QUICK) LOWDIM_WIDGETS=static
book: $(STAMP)
	env -u MPLBACKEND $(BOOK_ENV) $(BIN)/jupyter-book build . --builder html -W -n --keep-going

# ruff, unit tests, nbval over every lecture notebook, and the browser test of the site.
# Two pytest workers (pytest-xdist): most tests and notebook kernels use one thread, so on
# CI's two cores the site test's book build runs beside the rest instead of after it.
# --dist loadfile keeps each notebook's cells (one kernel) and each test file on one worker.
# pytest exits 5 when it collected nothing: that is a broken suite, so say so and fail.
TEST_WORKERS ?= 2
# One torch (OpenMP) thread per process under test: the workers, the notebook kernels and the
# site test's book build share the cores, and two threads each made a 3.5 s training cell take
# 295 s (threads spinning while they wait for each other), close to nbval's cell timeout.
TEST_THREADS ?= 1
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(QUICK) LOWDIM_THREADS=$(TEST_THREADS) OMP_NUM_THREADS=$(TEST_THREADS) MPLBACKEND=agg $(BIN)/pytest tests lectures --nbval-lax --nbval-cell-timeout=300 --durations=10 \
		-n $(TEST_WORKERS) --dist loadfile \
		|| { s=$$?; [ $$s -eq 5 ] && echo "pytest collected no tests: the suite is missing"; exit $$s; }

lint:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

figures: $(STAMP)
	$(BIN)/lowdim-course figures --profile quick

lab: $(STAMP)
	$(BIN)/jupyter lab lectures/

clean:
	rm -rf _build .pytest_cache
