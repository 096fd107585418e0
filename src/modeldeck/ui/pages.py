"""The page routers, in navigation order (each module owns its pages and their JSON)."""

from __future__ import annotations

from fastapi import APIRouter

from modeldeck.ui import runs

ROUTERS: list[APIRouter] = [runs.router]
