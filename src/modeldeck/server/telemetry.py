"""Prometheus counters and a latency histogram per route template and status.

Each app owns its registry (tests start several apps in one process). With several workers
(``modeldeck server --workers N``, ``modeldeck serve --workers N``) a scrape reaches one of
them, so each worker's counts go to files in one folder (prometheus_client's multiprocess
mode, ``PROMETHEUS_MULTIPROC_DIR``) and every scrape sums them all: :func:`shared_by_workers`
makes the folder for the server's life, :func:`render` reads it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = CONTENT_TYPE_LATEST
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


class RequestMetrics:
    def __init__(self) -> None:
        self.folder = multiprocess_folder()
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "modeldeck_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "modeldeck_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template, method and status.",
            ("route", "method", "status"),
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.refused = Counter(
            "modeldeck_auth_refused",
            "API requests refused before their body was read (no, unknown, revoked or expired "
            "token; disabled user), by reason and the status answered (401, or 429 once a "
            "client address has spent its budget of refusals).",
            ("reason", "status"),
            registry=self.registry,
        )

    def render(self) -> bytes:
        return render(self.registry, self.folder)


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware), so it adds microseconds, not a task per request."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            # the template (/api/v1/runs/{run_id}), never the raw path: labels stay few
            name = getattr(route, "path", None) or "<unmatched>"
            labels = (name, scope["method"], str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - start)
