"""Who is calling, and may they: ``Authorization: Bearer <token>`` → user → role check.

Roles are per project; this round's routes all act in project "default". Every authenticated
user is at least a viewer, so reads cost no role query. Refusals are audited by
:func:`~modeldeck.governance.tokens.authenticate` and :func:`denials_recorded`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from modeldeck.core.governance import Role
from modeldeck.governance.access import DEFAULT_PROJECT, denials_recorded, require
from modeldeck.governance.tokens import authenticate
from modeldeck.server.state import Services, services


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else header


def current_user(request: Request, svc: Annotated[Services, Depends(services)]) -> str:
    return authenticate(svc.db, svc.clock, bearer(request))


def requires(role: Role, action: str) -> Callable[..., str]:
    """A dependency giving the acting user once they hold ``role`` in the default project."""

    def check(
        request: Request,
        user: Annotated[str, Depends(current_user)],
        svc: Annotated[Services, Depends(services)],
    ) -> str:
        if role is Role.VIEWER:
            return user
        subject = f"http:{request.method} {request.url.path}"
        with denials_recorded(svc.db, svc.clock, user, action, subject), svc.db.read() as conn:
            require(conn, DEFAULT_PROJECT, user, role, action)
        return user

    return check


Reader = Annotated[str, Depends(requires(Role.VIEWER, "read"))]
Writer = Annotated[str, Depends(requires(Role.CONTRIBUTOR, "write runs"))]
