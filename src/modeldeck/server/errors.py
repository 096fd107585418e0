"""The one place errors become HTTP responses.

Every error body is ``{"error": {"code": ..., "message": ...}}`` (:class:`ErrorBody`). Errors
modeldeck raises on purpose keep their stable ``code`` and message; anything else is logged
here with its traceback and answered with a generic 500, so no stack trace reaches a client.
Logs name the method and path, never headers, so tokens stay out of them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from modeldeck.core import errors
from modeldeck.wire.errors import ErrorBody

log = logging.getLogger("modeldeck.server")

STATUS: tuple[tuple[type[errors.ModeldeckError], int], ...] = (
    (errors.Unauthenticated, 401),
    (errors.PermissionDenied, 403),
    (errors.NotFound, 404),
    (errors.AlreadyExists, 409),
    (errors.Conflict, 409),
    (errors.GateFailed, 409),
    (errors.InvalidInput, 400),  # FilterSyntaxError included
    (errors.StoreError, 503),
)
# Declared for every operation of the OpenAPI schema (FastAPI(responses=RESPONSES)), so the
# documented error shape is the one sent, 422 included (FastAPI would document its own).
RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "Refused: the request, the caller or the state"},
    "5XX": {"model": ErrorBody, "description": "The server or its store failed"},
}
_HTTP_CODES = {
    400: "BAD_REQUEST",  # a body FastAPI cannot read at all (not UTF-8, say)
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def status_of(exc: errors.ModeldeckError) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    sent = dict(headers or {})
    if status == 401:
        sent["WWW-Authenticate"] = "Bearer"
    body = ErrorBody.of(code, message).model_dump()
    return JSONResponse(body, status_code=status, headers=sent)


async def _modeldeck_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.ModeldeckError)
    status = status_of(exc)
    if status == 500:
        # an IntegrityError or an unexpected ModeldeckError: the message may be internal
        log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
        return error_response(500, "INTERNAL", "internal server error")
    if status == 503:
        log.error("%s %s: store unavailable: %s", request.method, request.url.path, exc)
    return error_response(status, exc.code, str(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for item in exc.errors():
        where = ".".join(str(part) for part in item.get("loc", ()))
        problems.append(f"{where}: {item.get('msg', 'invalid')}")
    return error_response(422, "VALIDATION_ERROR", "; ".join(problems) or "invalid request")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return error_response(exc.status_code, code, str(exc.detail), headers)


def _allowed_methods(request: Request) -> str:
    """What a 405 must list (RFC 9110): the methods of the path's most specific template
    (:mod:`modeldeck.server.methods`)."""
    from modeldeck.server.methods import Templates

    allowed = Templates(request.app.openapi()).allowed(request.url.path)
    return ", ".join(allowed or [])


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "INTERNAL", "internal server error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.ModeldeckError, _modeldeck_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
