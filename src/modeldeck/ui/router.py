"""Mounting the UI on the server app: templates, static files, sign-in and the page routers.

``install(app)`` is all the server calls. Each page group lives in its own module with its
own ``router`` (runs, registry, production, audit); :func:`render` gives every page the same
frame: the user, their role, the navigation.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from modeldeck.core.errors import ModeldeckError
from modeldeck.ui.headers import UIHeaders, new_nonce, page_headers
from modeldeck.ui.session import (
    COOKIE,
    SESSION_HOURS,
    SignInNeeded,
    Viewer,
    close_session,
    open_session,
    safe_next,
    same_origin,
    signin_url,
)

HERE = Path(__file__).parent
STATIC = HERE / "static"
NAV = (
    ("/ui/runs", "Runs", "runs"),
    ("/ui/compare", "Compare", "compare"),
    ("/ui/models", "Registry", "models"),
    ("/ui/approvals", "Approvals", "approvals"),
    ("/ui/production", "Production", "production"),
    ("/ui/audit", "Audit", "audit"),
)

router = APIRouter(include_in_schema=False)


@cache
def templates() -> Any:
    from fastapi.templating import Jinja2Templates

    found = Jinja2Templates(directory=str(HERE / "templates"))
    found.env.globals["static"] = static_url
    found.env.globals["nav"] = NAV
    return found


@cache
def static_url(name: str) -> str:
    """``/ui/static/<name>?v=<digest>``: browsers cache it until the file changes."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    return f"/ui/static/{name}?v={digest}"


def render(
    request: Request,
    viewer: Viewer | None,
    template: str,
    *,
    section: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page in the common frame, with a Content-Security-Policy whose nonce its inline
    scripts carry (``<script nonce="{{ csp_nonce }}">``)."""
    nonce = new_nonce()
    values = {
        "csp_nonce": nonce,
        "request": request,
        "user": viewer.user if viewer else None,
        "role": viewer.role.value if viewer else None,
        "viewer": viewer,
        "section": section,
        "pending": context.pop("pending", None),
        "flash": _flash(request),
        **context,
    }
    response: HTMLResponse = templates().TemplateResponse(
        request, template, values, status_code=status_code, headers=page_headers(nonce)
    )
    return response


def _flash(request: Request) -> dict[str, str] | None:
    text = request.query_params.get("done")
    return {"kind": "ok", "text": text[:300]} if text else None


@router.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/ui/runs", status_code=303)


@router.get("/ui/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: str = "/ui/runs", error: str | None = None) -> Response:
    return render(request, None, "signin.html", next=safe_next(next), error=error)


@router.post("/ui/signin")
def signin(request: Request, token: str = Form(...), next: str = Form("/ui/runs")) -> Response:
    same_origin(request)
    svc = request.app.state.services
    try:
        session = open_session(svc, token.strip())
    except ModeldeckError as refused:
        return render(
            request, None, "signin.html", next=safe_next(next), error=str(refused), status_code=401
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        session,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=SESSION_HOURS * 3600,
        path="/",
    )
    return response


@router.post("/ui/signout")
def signout(request: Request) -> Response:
    same_origin(request)
    close_session(request.app.state.services, request.cookies.get(COOKIE))
    response = RedirectResponse("/ui/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def install(app: FastAPI) -> None:
    """Serve the UI from ``app``; needs Jinja2 (``pip install 'modeldeck[ui]'``)."""
    from fastapi.staticfiles import StaticFiles

    from modeldeck.ui import pages

    @app.exception_handler(SignInNeeded)
    def _to_signin(request: Request, exc: SignInNeeded) -> Response:
        if request.url.path.startswith("/ui/api/"):
            from fastapi.responses import JSONResponse

            return JSONResponse({"detail": exc.reason or "sign in"}, status_code=401)
        return RedirectResponse(signin_url(exc.next_url), status_code=303)

    app.add_middleware(UIHeaders)
    app.mount("/ui/static", StaticFiles(directory=str(STATIC)), name="ui-static")
    app.include_router(router)
    for page in pages.ROUTERS:
        app.include_router(page)
