"""What a request may bring, checked before routing: its size and the text of its URL.

A pure ASGI middleware. A path or query parameter holding a control character or a lone
surrogate (:mod:`modeldeck.wire.text`) is answered 422 before any route sees it, so every
parameter of every route, artifact paths included, obeys the rule the OpenAPI document states.

How many bytes a request body may have is set per route: 413 before the body is read. A
declared ``Content-Length`` over the route's limit is answered 413 at once, the body unread; a
body sent without one (chunked) is counted as the application reads it, and the read that
crosses the limit raises a 413 instead of handing the bytes over, so no route buffers, parses
or stores more than its limit. Object uploads are streamed to a temporary file and hashed,
never held in memory: they get a limit of their own, much larger than that of the JSON routes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modeldeck.wire.text import bad_character

MiB = 1024 * 1024
JSON_BYTES = 8 * MiB  # a batch of 1,000 metrics is ~100 KiB; a card section 100,000 chars
BATCH_BYTES = 64 * MiB  # prediction and label logs: up to 10,000 rows / 100,000 labels
UPLOAD_BYTES = 16 * 1024 * MiB  # one object (a model, a dataset), streamed to disk


@dataclass(frozen=True, slots=True)
class Limit:
    method: str
    path: re.Pattern[str]
    max_bytes: int


LIMITS: tuple[Limit, ...] = (
    Limit("PUT", re.compile(r"^/api/v1/objects/[^/]+$"), UPLOAD_BYTES),
    Limit("POST", re.compile(r"^/api/v1/(predictions|labels)$"), BATCH_BYTES),
)


def limit_for(method: str, path: str, limits: Sequence[Limit], default: int) -> int:
    for limit in limits:
        if limit.method == method and limit.path.match(path):
            return limit.max_bytes
    return default


class TooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is over this route's limit of {max_bytes} bytes")


class Intake:
    def __init__(
        self, app: ASGIApp, *, default: int = JSON_BYTES, limits: Sequence[Limit] = LIMITS
    ) -> None:
        self.app = app
        self.default = default
        self.limits = tuple(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = url_problem(scope)
        if problem is not None:
            await _answer(send, 422, "VALIDATION_ERROR", problem)
            return
        max_bytes = limit_for(scope["method"], scope["path"], self.limits, self.default)
        declared = _content_length(scope["headers"])
        if declared == -1:
            await _answer(send, 400, "BAD_REQUEST", "Content-Length is not a number of bytes")
            return
        if declared is not None and declared > max_bytes:
            await _answer(send, 413, "TOO_LARGE", TooLarge(max_bytes).detail)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise TooLarge(max_bytes)  # answered 413 by the app's error handler
            return message

        await self.app(scope, counted, send)


def url_problem(scope: Scope) -> str | None:
    """What is wrong with the decoded path or query parameters, if anything."""
    problem = bad_character(scope["path"])
    if problem is not None:
        return f"path: the URL path must not contain {problem}"
    for name, value in scope["headers"]:
        if name == b"idempotency-key":
            problem = bad_character(value.decode("latin-1"))
            if problem is not None:
                return f"header.idempotency-key: text must not contain {problem}"
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        for text in (name, value):
            problem = bad_character(text)
            if problem is not None:
                return f"query.{name}: text must not contain {problem}"
    return None


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The declared length; None when absent, -1 when it is not a number."""
    for name, value in headers:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else -1
    return None


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    from modeldeck.server.errors import error_response

    response = error_response(status, code, message)
    headers = [*response.raw_headers, (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
