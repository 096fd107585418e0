"""Prometheus metrics that add up across worker processes.

A scrape reaches one worker of ``modeldeck server --workers N`` or ``modeldeck serve --workers
N``; with more than one, each worker's counts go to files in one folder (prometheus_client's
multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``) and every scrape sums them all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def shared_by_workers(workers: int) -> Iterator[None]:
    """With more than one worker, a fresh metrics folder (removed afterwards) that workers
    started inside inherit; an operator's own ``PROMETHEUS_MULTIPROC_DIR`` is used as it is."""
    if workers <= 1 or os.environ.get(MULTIPROCESS_ENV):
        yield
        return
    folder = tempfile.mkdtemp(prefix="modeldeck-metrics-")
    os.environ[MULTIPROCESS_ENV] = folder
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)


def multiprocess_folder() -> str | None:
    """The folder every worker counts in, or None for one process counting in memory.

    prometheus_client picks how values are kept when it is first imported; a process that
    imported it before the folder was set (the CLI does, to check the store before it starts
    the workers) is switched here, before any metric of ours is made."""
    folder = os.environ.get(MULTIPROCESS_ENV)
    if folder and values.ValueClass is values.MutexValue:
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    return folder or None


def render(registry: CollectorRegistry, folder: str | None) -> bytes:
    """The exposition of ``registry``; with a multiprocess folder, of every worker's counts."""
    if folder is None:
        return generate_latest(registry)
    merged = CollectorRegistry()
    MultiProcessCollector(merged, path=folder)  # type: ignore[no-untyped-call]
    return generate_latest(merged)
