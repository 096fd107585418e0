"""Who is calling, and may they: the principal :mod:`modeldeck.server.gate` identified from
the bearer token before the body was read → user → role check.

Roles are per project; this round's routes all act in project "default". Every authenticated
user is at least a viewer, so reads cost no role query. Refusals are audited by the gate (in
aggregate) and by :func:`denials_recorded`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from modeldeck.core.errors import Unauthenticated
from modeldeck.core.governance import Principal, Role
from modeldeck.governance.access import DEFAULT_PROJECT, denials_recorded, require
from modeldeck.server.gate import principal_of
from modeldeck.server.state import Services, services


async def current_principal(request: Request) -> Principal:
    """The caller the gate identified (async: no thread hop for a dict lookup)."""
    found = principal_of(request.state)
    if found is None:  # a route outside /api/, or an app built without the gate: a bug
        raise Unauthenticated("this route is not behind the authentication gate")
    return found


async def current_user(principal: Annotated[Principal, Depends(current_principal)]) -> str:
    return principal.user


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
