# Set-up and checks. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
PIP := $(PYTHON) -m pip install --quiet --disable-pip-version-check

.PHONY: install demo tour test

install:
	$(PIP) torch==2.13.0
	$(PIP) -e ".[test,experiments]"

demo: install
	$(PYTHON) -m experiments.grokking --preset demo --out out/grokking-demo

tour: install
	$(PYTHON) -m experiments.schedule_tour --out out/schedule_tour

test: install
	$(PYTHON) -m pytest -q
