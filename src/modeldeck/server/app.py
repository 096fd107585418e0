"""``create_app(settings)``: the FastAPI application of the team server."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

from modeldeck._version import __version__
from modeldeck.core.errors import InvalidInput
from modeldeck.core.settings import Settings
from modeldeck.server import errors
from modeldeck.server.auth import run_guard
from modeldeck.server.gate import AUDIT_EVERY_S, AuthGate, Refusals
from modeldeck.server.intake import Intake
from modeldeck.server.methods import MethodGate, documented_paths
from modeldeck.server.routes import (
    artifacts,
    deployments,
    governance,
    monitoring,
    objects,
    registry,
    runs,
    system,
)
from modeldeck.server.state import Services
from modeldeck.server.telemetry import MetricsMiddleware, RequestMetrics
from modeldeck.storage.metadata import idempotency
from modeldeck.tracking.stores import open_tracker
from modeldeck.wire.text import NO_SURROGATES, link_json, stamp

KEEP_IDEMPOTENCY_KEYS_MS = 7 * 24 * 3600 * 1000  # retries come within minutes; keep a week


def create_app(settings: Settings, *, refusal_audit_s: float = AUDIT_EVERY_S) -> FastAPI:
    """An app over the store ``settings`` names. Its only I/O: connecting, and forgetting
    idempotency keys older than a week.

    A shared database must already be at the current schema (`modeldeck server init` or
    `modeldeck db upgrade`); the embedded SQLite store migrates itself.
    """
    tracker = open_tracker(settings, guard=run_guard)  # who may write to a run: auth.py
    with tracker.db.write() as conn:
        idempotency.prune(conn, tracker.clock() - KEEP_IDEMPOTENCY_KEYS_MS)
    app = FastAPI(
        title="modeldeck",
        version=__version__,
        description="Track experiments, register and review models: the team server's API. "
        + NO_SURROGATES,
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
        responses=errors.RESPONSES,
    )
    app.state.services = Services(tracker)
    app.state.model_cache = settings.home / "cache"  # models loaded to capture references
    app.state.request_metrics = RequestMetrics()
    errors.install(app)
    app.include_router(system.router)
    app.include_router(runs.router)
    app.include_router(objects.router)
    app.include_router(artifacts.router)
    app.include_router(registry.router)
    app.include_router(governance.router)
    app.include_router(deployments.router)
    app.include_router(monitoring.router)
    from modeldeck.ui.router import install

    install(app)
    services = app.state.services
    app.state.refusals = Refusals(audit_every_s=refusal_audit_s)
    app.add_middleware(MethodGate, document=lambda: _route_methods(app))
    app.add_middleware(Intake)  # inside the gate: a caller is known before a 413
    app.add_middleware(
        AuthGate,
        db=services.db,
        clock=services.clock,
        counter=app.state.request_metrics.refused,
        refusals=app.state.refusals,
    )
    app.add_middleware(MetricsMiddleware, metrics=app.state.request_metrics)
    _document_text_rule(app)
    return app


def _route_methods(app: FastAPI) -> dict[str, Any]:
    """The paths and methods of the OpenAPI document, read off the routes where that works
    (cheap), else from the document (late-bound: _document_text_rule replaces app.openapi)."""
    return documented_paths(app.routes) or app.openapi()


def _document_text_rule(app: FastAPI) -> None:
    """Every string parameter (path, query, header) of the OpenAPI document gets the pattern
    :class:`~modeldeck.server.intake.Intake` enforces on URLs (bodies get it from
    :class:`~modeldeck.wire.base.StrictIn`), so the document states what is refused."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        for item in document.get("paths", {}).values():
            for operation in item.values():
                for parameter in operation.get("parameters", []):
                    stamp(parameter.get("schema"))
        link_json(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_env() -> FastAPI:
    """The factory uvicorn workers call: settings come from MODELDECK_* variables, and
    ``MODELDECK_SERVER_REFUSAL_AUDIT_S`` sets how often refused tokens are audited (in
    aggregate: one record per caller per interval; default 10 s)."""
    interval = os.environ.get("MODELDECK_SERVER_REFUSAL_AUDIT_S")
    try:
        every = AUDIT_EVERY_S if not interval else float(interval)
    except ValueError:
        raise InvalidInput(
            f"MODELDECK_SERVER_REFUSAL_AUDIT_S must be a number of seconds, got {interval!r}"
        ) from None
    return create_app(Settings.load(), refusal_audit_s=every)
