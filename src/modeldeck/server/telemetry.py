"""Prometheus counters and a latency histogram per route template and status.

Each app owns its registry (tests start several apps in one process). With several workers
(``modeldeck server --workers N``, ``modeldeck serve --workers N``) a scrape reaches one of
them, so each worker's counts go to files in one folder (prometheus_client's multiprocess
mode, ``PROMETHEUS_MULTIPROC_DIR``) and every scrape sums them all: :func:`shared_by_workers`
makes the folder for the server's life, :func:`render` reads it (both in
``serving.metrics``, which the model server uses too).
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modeldeck.serving.metrics import multiprocess_folder, render, shared_by_workers

CONTENT_TYPE = CONTENT_TYPE_LATEST
__all__ = ["CONTENT_TYPE", "MetricsMiddleware", "RequestMetrics", "shared_by_workers"]


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
