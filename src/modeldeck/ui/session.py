"""Who is looking: a session token, kept in an HttpOnly cookie after sign-in, checked on every
page exactly as the API checks a bearer token (same service, same audit of refusals).

The token pasted at sign-in is not what the cookie holds: it is exchanged for a new API token
of the same user that expires in :data:`SESSION_HOURS` (:func:`open_session`), and signing out
revokes that one server-side (:func:`close_session`), so a cookie copied before sign-out is
refused after it. A limited (scoped) token, made for one job, cannot sign in.

The cookie is ``SameSite=Strict``, and every form post must come from this origin (the
``Origin`` or ``Referer`` header is checked), so another site cannot post as the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request

from modeldeck.core.errors import ModeldeckError, PermissionDenied
from modeldeck.core.governance import Role
from modeldeck.governance import tokens
from modeldeck.governance.access import DEFAULT_PROJECT, effective_role
from modeldeck.server.state import Services, services

COOKIE = "modeldeck_token"
SESSION_HOURS = 12
SESSION_DESCRIPTION = "web UI session"


class SignInNeeded(ModeldeckError):
    """No valid token: the page redirects to the sign-in form, then back to ``next``."""

    def __init__(self, next_url: str, reason: str | None = None) -> None:
        super().__init__(reason or "sign in")
        self.next_url = next_url
        self.reason = reason


@dataclass(frozen=True)
class Viewer:
    """The signed-in user and their role in the default project."""

    user: str
    role: Role

    def can(self, needed: Role) -> bool:
        return self.role.allows(needed)


def viewer(request: Request, svc: Annotated[Services, Depends(services)]) -> Viewer:
    token = request.cookies.get(COOKIE)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise SignInNeeded(here)
    try:
        user = signed_in_user(svc, token)
    except ModeldeckError as refused:
        raise SignInNeeded(here, str(refused)) from None
    with svc.db.read() as conn:
        role = effective_role(conn, DEFAULT_PROJECT, user)
    return Viewer(user, role)


Signed = Annotated[Viewer, Depends(viewer)]


def signed_in_user(svc: Services, token: str) -> str:
    """The user of an unlimited token; Unauthenticated (audited) otherwise."""
    try:
        principal = tokens.identify(svc.db, svc.clock, token)
        if principal.scope is not None:
            raise tokens.Refused(
                f"token {principal.token_id} is limited to some runs and models; sign in to "
                "the UI with a token of your own",
                principal.user,
                principal.token_id,
            )
    except tokens.Refused as refused:
        with svc.db.write() as conn:
            tokens.record_refusal(conn, refused, svc.clock())
        raise
    return principal.user


def open_session(svc: Services, pasted: str) -> str:
    """A new session token for the user of ``pasted`` (which must be valid and unlimited)."""
    user = signed_in_user(svc, pasted)
    issued = tokens.create_token(
        svc.db,
        svc.clock,
        user,
        user,
        expires_in_days=SESSION_HOURS / 24,
        description=SESSION_DESCRIPTION,
    )
    return issued.token


def close_session(svc: Services, token: str | None) -> None:
    """Revoke the session token of the cookie (audited as ``token.revoke``); a cookie that is
    already refused has nothing left to revoke."""
    if not token:
        return
    try:
        principal = tokens.identify(svc.db, svc.clock, token)
    except tokens.Refused:
        return
    mine = {t.id: t for t in tokens.list_tokens(svc.db, principal.user)}
    found = mine.get(principal.token_id or "")
    if found is not None and found.description == SESSION_DESCRIPTION:  # never a pasted one
        tokens.revoke_token(svc.db, svc.clock, found.id, principal.user)


def same_origin(request: Request) -> None:
    """Refuse a form post that another site's page sent."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return  # not a browser (curl, tests): the cookie is what authenticates
    if urlsplit(source).netloc != request.url.netloc:
        raise PermissionDenied("this form was posted from another site; reload the page")


def signin_url(next_url: str) -> str:
    return "/ui/signin?next=" + quote(next_url, safe="/")


def safe_next(next_url: str | None) -> str:
    """Only a path of this site (no scheme, no host, no //) may follow sign-in."""
    if not next_url or not next_url.startswith("/") or next_url.startswith("//"):
        return "/ui/runs"
    return next_url
