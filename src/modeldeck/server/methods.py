"""Which methods a path answers, decided by the most specific route template that matches it.

Two templates can match one path: ``/runs/search`` and ``/runs/{run_id}``, ``/objects/uploads``
and ``/objects/{digest}``. A literal segment wins over a parameter, so ``GET /runs/search`` is
405 (Allow: POST), not a lookup of a run named "search", and ``PUT /objects/uploads`` is 405,
not a 422 about a malformed digest: the methods allowed at a path are exactly the ones the
OpenAPI document lists under its template, and the ``Allow`` header of a 405 says so.

Those templates are read off the routes (:func:`documented_paths`), not off the document:
FastAPI builds the document by generating every route's schemas, which is most of a worker's
first request (0.7 s on two busy cores).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class Templates:
    """The path templates of an OpenAPI document, compiled once, with their methods."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.templates: list[tuple[re.Pattern[str], int, frozenset[str]]] = []
        for path, item in document.get("paths", {}).items():
            pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path))
            methods = {m.upper() for m in item if m.upper() in _ORDER}
            if "GET" in methods:
                methods.add("HEAD")
            self.templates.append((re.compile(f"^{pattern}$"), path.count("{"), frozenset(methods)))

    def allowed(self, path: str) -> list[str] | None:
        """The methods of the most specific templates matching ``path``; None if none does."""
        best: int | None = None
        methods: set[str] = set()
        for pattern, params, served in self.templates:
            if not pattern.match(path):
                continue
            if best is None or params < best:
                best, methods = params, set(served)
            elif params == best:
                methods |= served
        return None if best is None else [m for m in _ORDER if m in methods]


def documented_paths(routes: Iterable[Any]) -> dict[str, Any] | None:
    """``{"paths": {template: {method: {}}}}`` for the routes the OpenAPI document describes,
    from the routes themselves (routers included with their own prefixes), or None where a
    route is of a kind this does not know how to read, so the caller asks the document."""
    from fastapi.routing import APIRoute
    from starlette.routing import Mount, Route

    paths: dict[str, dict[str, Any]] = {}
    pending = list(routes)
    while pending:
        route = pending.pop()
        if isinstance(route, APIRoute):
            if route.include_in_schema:
                item = paths.setdefault(route.path_format, {})
                item.update({m.lower(): {} for m in route.methods or ()})
        elif hasattr(route, "original_router"):  # FastAPI 0.16x keeps included routers
            context = getattr(route, "include_context", None)
            if getattr(context, "prefix", None) != "":
                return None  # a prefix given at include time (or no context): not read here
            if getattr(context, "include_in_schema", True):
                pending.extend(route.original_router.routes)
        elif not isinstance(route, (Route, Mount)):  # plain routes and mounts: not documented
            return None
    return {"paths": paths}


class MethodGate:
    """405, with the ``Allow`` of :meth:`Templates.allowed`, for a method the path's most
    specific template does not serve. Paths the document does not describe (the UI) pass."""

    def __init__(self, app: ASGIApp, document: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self.document = document
        self.templates: Templates | None = None

    def allowed(self, path: str) -> list[str] | None:
        if self.templates is None:
            self.templates = Templates(self.document())
        return self.templates.allowed(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            allowed = self.allowed(scope["path"])
            if allowed is not None and scope["method"] not in allowed:
                await _not_allowed(send, allowed)
                return
        await self.app(scope, receive, send)


async def _not_allowed(send: Send, allowed: list[str]) -> None:
    from modeldeck.server.errors import error_response

    response = error_response(
        405, "METHOD_NOT_ALLOWED", "Method Not Allowed", {"Allow": ", ".join(allowed)}
    )
    start: dict[str, Any] = {
        "type": "http.response.start",
        "status": 405,
        "headers": response.raw_headers,
    }
    await send(start)
    await send({"type": "http.response.body", "body": response.body})
