# The test command of README.md: lint, format check, types, then the test suite.
PYTHON ?= python

.PHONY: test lint pytest bench

test: lint pytest

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

# one worker per core (real servers and browsers wait on I/O, so tests balance by stealing)
PYTEST_WORKERS ?= auto

pytest:
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) --dist worksteal

bench:
	$(PYTHON) bench/tracking.py
