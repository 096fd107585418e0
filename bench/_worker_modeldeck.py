"""modeldeck's side of the benchmark: ``python _worker_modeldeck.py SCENARIO ARGS...``.

Runs in modeldeck's venv, cwd = a fresh temp dir, MODELDECK_HOME in it (see ``_common.py``).
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from typing import Any

import modeldeck
from _common import EXPERIMENT, FILTER, ORDER_BY, OTHER_EXPERIMENT, TOP, log_runs, main


def warm_up() -> None:
    with modeldeck.start_run(experiment="warmup", name="warmup"):
        modeldeck.log_metric("x", 0.0)
    modeldeck.flush()


def start_run(experiment: str, name: str) -> AbstractContextManager[Any]:
    return modeldeck.start_run(experiment=experiment, name=name)


def log_metric(key: str, value: float, step: int, mode: str) -> None:
    modeldeck.log_metric(key, value, step=step)


def log_metrics(values: dict[str, float], step: int | None, mode: str) -> None:
    modeldeck.log_metrics(values, step=step)


def log_params(params: dict[str, str]) -> None:
    modeldeck.log_params(params)


def flush(mode: str) -> None:
    modeldeck.flush()


def populate(n: int, other: int) -> None:
    """The big store goes through the ordinary SDK (no bulk shortcut)."""
    fill(EXPERIMENT, 0, n)
    fill(OTHER_EXPERIMENT, 0, other)


def fill(experiment: str, start: int, stop: int) -> None:
    log_runs(sys.modules[__name__], experiment, stop, start)


def search() -> list[Any]:
    return modeldeck.search_runs(
        experiment=EXPERIMENT, filter=FILTER, order_by=[ORDER_BY], max_results=TOP
    )


def m0(runs: list[Any]) -> list[float]:
    return [run.metrics["m0"] for run in runs]


if __name__ == "__main__":
    main(sys.modules[__name__])
