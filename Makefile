# The test command of README.md: lint, format check, types, then the test suite.
PYTHON ?= python

.PHONY: test lint pytest bench

test: lint pytest

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

# one worker per core; the browser tests share one worker (xdist_group), so their quickstart
# store and Chromium are built once
PYTEST_WORKERS ?= auto

pytest:
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

bench:
	$(PYTHON) bench/tracking.py
