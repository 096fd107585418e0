"""Audit: the hash-chained log with filters, and whether the chain still verifies.

Who reads what is the API's rule (``GET /api/v1/audit``, called here with the signed-in
user): admins read every record, others the records about models.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from modeldeck.core.errors import PermissionDenied
from modeldeck.governance import auditing
from modeldeck.server.routes import governance as governance_routes
from modeldeck.server.state import Services, services
from modeldeck.ui.router import render
from modeldeck.ui.session import Signed
from modeldeck.wire.governance import AuditRecordOut

router = APIRouter(include_in_schema=False)
Svc = Annotated[Services, Depends(services)]
LIMITS = (50, 100, 200, 500, 1000)


@router.get("/ui/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    viewer: Signed,
    svc: Svc,
    actor: Annotated[str, Query(max_length=250)] = "",
    action: Annotated[str, Query(max_length=250)] = "",
    subject: Annotated[str, Query(max_length=1000)] = "",
    limit: int = 100,
) -> HTMLResponse:
    limit = limit if limit in LIMITS else 100
    error = None
    try:
        found = governance_routes.audit_log(
            viewer.user,
            svc,
            subject=subject.strip() or None,
            actor=actor.strip() or None,
            action=action.strip() or None,
            limit=limit,
        ).records
    except PermissionDenied as refused:
        found, error = [], str(refused)
    chain = auditing.verify(svc.db)
    return render(
        request,
        viewer,
        "audit.html",
        section="audit",
        records=[_record(r) for r in found],
        actor=actor,
        action=action,
        subject=subject,
        limit=limit,
        limits=LIMITS,
        error=error,
        chain=chain,
    )


def _record(r: AuditRecordOut) -> dict[str, Any]:
    return {
        "seq": r.seq,
        "at": dt.datetime.fromtimestamp(r.at / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "actor": r.actor,
        "action": r.action,
        "subject": r.subject,
        "before": _pretty(r.before),
        "after": _pretty(r.after),
        "hash": r.hash,
    }


def _pretty(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, indent=2, sort_keys=True, default=str)
