"""Who is looking: the API token, kept in an HttpOnly cookie after sign-in, checked on every
page exactly as the API checks a bearer token (same service, same audit of refusals).

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
from modeldeck.governance.access import DEFAULT_PROJECT, effective_role
from modeldeck.governance.tokens import authenticate
from modeldeck.server.state import Services, services

COOKIE = "modeldeck_token"


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
        user = authenticate(svc.db, svc.clock, token)
    except ModeldeckError as refused:
        raise SignInNeeded(here, str(refused)) from None
    with svc.db.read() as conn:
        role = effective_role(conn, DEFAULT_PROJECT, user)
    return Viewer(user, role)


Signed = Annotated[Viewer, Depends(viewer)]


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
