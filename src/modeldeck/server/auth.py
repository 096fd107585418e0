"""Who is calling, and may they: the principal :mod:`modeldeck.server.gate` identified from
the bearer token before the body was read → user → role check.

Roles are per project; this round's routes all act in project "default". Every authenticated
user is at least a viewer, so reads cost no role query. Refusals are audited by the gate (in
aggregate) and by :func:`denials_recorded`.

Runs are written by their owner (a contributor) or an admin: :func:`run_guard`, which the
tracker runs inside each write's transaction. The routes of runs refuse a caller without the
contributor role before any work (:data:`RunWriter`, from the process's role cache, at most a
second old); the guard then decides with the role as the transaction sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from anyio import to_thread
from fastapi import Depends, Request
from sqlalchemy.engine import Connection

from modeldeck.core.errors import PermissionDenied, Unauthenticated
from modeldeck.core.governance import Principal, Role
from modeldeck.governance.access import (
    DEFAULT_PROJECT,
    denials_recorded,
    effective_role,
    require,
)
from modeldeck.governance.tokens import IdentityCache
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


def run_guard(conn: Connection, actor: str, owner: str | None) -> None:
    """The team server's :data:`~modeldeck.tracking.tracker.RunGuard`: a contributor creates
    runs and writes to their own; only an admin writes to another user's run."""
    role = effective_role(conn, DEFAULT_PROJECT, actor)
    if owner is None or owner == actor:
        if not role.allows(Role.CONTRIBUTOR):
            raise PermissionDenied(
                f"{actor} cannot write runs: it needs the contributor role in project "
                f"{DEFAULT_PROJECT!r} and {actor} is {role.value}"
            )
    elif not role.allows(Role.ADMIN):
        raise PermissionDenied(
            f"{actor} cannot write to a run of {owner}: only a run's owner or an admin may end "
            "it, log to it or add artifacts to it"
        )


async def writes_runs(
    request: Request,
    user: Annotated[str, Depends(current_user)],
    svc: Annotated[Services, Depends(services)],
) -> str:
    """The caller, unless the role cache says they cannot write runs at all (audited).

    Async: a cached role costs no thread hop; a lookup goes to a thread."""
    identities = getattr(request.state, "identities", None)
    if not isinstance(identities, IdentityCache):  # an app without the gate: ask the store
        identities = IdentityCache(svc.db, svc.clock, ttl_s=0)
    role = identities.cached_role(user)
    if role is None:
        role = await to_thread.run_sync(identities.role, user)
    if not role.allows(Role.CONTRIBUTOR):
        subject = f"http:{request.method} {request.url.path}"
        await to_thread.run_sync(_refuse_writer, svc, user, role, subject)
    return user


def _refuse_writer(svc: Services, user: str, role: Role, subject: str) -> None:
    with denials_recorded(svc.db, svc.clock, user, "write runs", subject):
        raise PermissionDenied(
            f"{user} cannot write runs: it needs the contributor role in project "
            f"{DEFAULT_PROJECT!r} and {user} is {role.value}. An admin can grant it with "
            f"`modeldeck users grant {user} contributor`."
        )


RunWriter = Annotated[str, Depends(writes_runs)]
