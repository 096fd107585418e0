"""The page routers, in navigation order (each module owns its pages and their JSON)."""

from __future__ import annotations

from fastapi import APIRouter

from modeldeck.ui import audit, compare, production, registry, run, runs

ROUTERS: list[APIRouter] = [
    runs.router,
    run.router,
    compare.router,
    registry.router,
    production.router,
    audit.router,
]
