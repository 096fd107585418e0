"""Unauthenticated endpoints for load balancers and scrapers: /health and /metrics."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, Response

from modeldeck._version import __version__
from modeldeck.core.errors import StoreError
from modeldeck.server.state import Services, services
from modeldeck.server.telemetry import CONTENT_TYPE

router = APIRouter(tags=["system"])


@router.get("/health")
def health(svc: Annotated[Services, Depends(services)]) -> dict[str, str]:
    """200 when the metadata database answers a trivial query."""
    try:
        with svc.db.read() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError("the metadata database does not answer") from exc
    return {"status": "ok", "version": __version__}


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(request.app.state.request_metrics.render(), media_type=CONTENT_TYPE)
