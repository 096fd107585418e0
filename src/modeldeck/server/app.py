"""``create_app(settings)``: the FastAPI application of the team server."""

from __future__ import annotations

from fastapi import FastAPI

from modeldeck._version import __version__
from modeldeck.core.settings import Settings
from modeldeck.server import errors
from modeldeck.server.routes import runs, system
from modeldeck.server.state import Services
from modeldeck.server.telemetry import MetricsMiddleware, RequestMetrics
from modeldeck.tracking.stores import open_tracker


def create_app(settings: Settings) -> FastAPI:
    """An app over the store ``settings`` names; connecting is its only I/O.

    A shared database must already be at the current schema (`modeldeck server init` or
    `modeldeck db upgrade`); the embedded SQLite store migrates itself.
    """
    tracker = open_tracker(settings)
    app = FastAPI(
        title="modeldeck",
        version=__version__,
        description="Track experiments, register and review models: the team server's API.",
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.services = Services(tracker)
    app.state.request_metrics = RequestMetrics()
    errors.install(app)
    app.include_router(system.router)
    app.include_router(runs.router)
    app.add_middleware(MetricsMiddleware, metrics=app.state.request_metrics)
    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn workers call: settings come from MODELDECK_* variables."""
    return create_app(Settings.load())
