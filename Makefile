# Set-up and checks. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
PIP := $(PYTHON) -m pip install --quiet --disable-pip-version-check

.PHONY: install demo tour test docs lint

# torch==2.13.0 first (the CPU build), and pinned again with the extras: transformers and timm ask
# for an unpinned torch, which would pull several GB of CUDA packages. Debian's chromium and
# chromedriver (as root) for the browser tests, unless both are on PATH already.
install:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver; \
	fi
	$(PIP) torch==2.13.0
	$(PIP) -e ".[test,experiments,docs,dev]" "torch==2.13.0"

demo: install
	$(PYTHON) -m experiments.grokking --preset demo --out out/grokking-demo

tour: install
	$(PYTHON) -m experiments.schedule_tour --out out/schedule_tour

# Lint first (seconds), then the suite, which also builds the documentation site strictly.
test: install lint
	$(PYTHON) -m pytest -q -n auto --dist loadfile

# The documentation site, into site/; any warning (a broken reference in a docstring) fails it.
docs:
	$(PIP) -e ".[docs]"
	$(PYTHON) -m sphinx -W --keep-going -q -b html docs site
	@echo "wrote site/index.html"

# ruff (lint, then the format check: nothing is rewritten) and mypy; runs all three, then fails
# if any failed.
lint:
	$(PIP) -e ".[dev]" "torch==2.13.0"
	@status=0; \
	$(PYTHON) -m ruff check . || status=1; \
	$(PYTHON) -m ruff format --check . || status=1; \
	$(PYTHON) -m mypy || status=1; \
	exit $$status
