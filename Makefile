# The test command of README.md: lint, format check, types, then the test suite.
PYTHON ?= python

.PHONY: test lint pytest bench

test: lint pytest

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

pytest:
	$(PYTHON) -m pytest

bench:
	$(PYTHON) bench/tracking.py
