"""The wire under the remote client: one keep-alive connection pool to a modeldeck server.

Every write carries an ``Idempotency-Key``, fixed before the first attempt, so a retry after a
lost answer is recognised by the server and never applied twice. Connection failures and the
answers that mean "try again" (429, 502, 503, 504) are retried with exponential backoff and
jitter; every other error body (``{"error": {"code", "message"}}``) becomes the matching
:class:`~modeldeck.core.errors.ModeldeckError`, so callers catch the same exceptions as with the
embedded store.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from modeldeck.core import errors
from modeldeck.core.hashing import CHUNK_SIZE

RETRY_STATUSES = frozenset({429, 502, 503, 504})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# error codes the server sends -> the exception the caller gets
_ERRORS: dict[str, type[errors.ModeldeckError]] = {
    cls.code: cls
    for cls in (
        errors.NotFound,
        errors.AlreadyExists,
        errors.InvalidInput,
        errors.Conflict,
        errors.Unauthenticated,
        errors.PermissionDenied,
        errors.GateFailed,
        errors.IntegrityError,
        errors.StoreError,
    )
}
_BY_STATUS: dict[int, type[errors.ModeldeckError]] = {
    400: errors.InvalidInput,
    401: errors.Unauthenticated,
    403: errors.PermissionDenied,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.InvalidInput,
    422: errors.InvalidInput,
}


class ServerError(errors.StoreError):
    """The server failed (5xx) or could not be reached after every retry."""

    code = "SERVER_ERROR"


class Http:
    """Requests to ``base_url`` with ``Authorization: Bearer <token>``.

    ``retries`` is how many times a failed attempt is repeated (so ``retries + 1`` attempts at
    most); the wait before retry *n* is ``backoff * 2**n`` seconds, jittered, capped at 10 s.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        retries: int = 5,
        backoff: float = 0.1,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        headers = {"User-Agent": "modeldeck-client"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_keepalive_connections=8, keepalive_expiry=60),
            transport=transport,
        )
        # presigned URLs point at the object store: no modeldeck token goes there
        self._bare = httpx.Client(timeout=httpx.Timeout(timeout, connect=10.0))

    def close(self) -> None:
        self._client.close()
        self._bare.close()

    # JSON calls ---------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.call("GET", path, params=params).json()

    def post(self, path: str, body: Any = None, *, key: str | None = None) -> Any:
        response = self.call("POST", path, json=body, key=key)
        return None if response.status_code == 204 else response.json()

    def put(self, path: str, body: Any = None) -> Any:
        response = self.call("PUT", path, json=body)
        return None if response.status_code == 204 else response.json()

    def delete(self, path: str) -> Any:
        response = self.call("DELETE", path)
        return None if response.status_code == 204 else response.json()

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | Path | None = None,
        headers: Mapping[str, str] | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        """Send with retries; return the 2xx/3xx response or raise the error it carries.

        A ``Path`` as ``content`` is streamed from the file, afresh for each attempt.
        """
        sent = dict(headers or {})
        if method in WRITE_METHODS:
            sent["Idempotency-Key"] = key or uuid.uuid4().hex
        if isinstance(content, Path):
            sent["Content-Length"] = str(content.stat().st_size)
        for attempt in self._attempts():
            body = _file_chunks(content) if isinstance(content, Path) else content
            try:
                response = self._client.request(
                    method, path, json=json, params=params, content=body, headers=sent
                )
            except httpx.TransportError as exc:
                if attempt.last:
                    raise ServerError(
                        f"cannot reach the modeldeck server at {self.base_url} ({exc}); is it "
                        "running, and is MODELDECK_TRACKING_URI right?"
                    ) from exc
                continue
            if response.status_code in RETRY_STATUSES and not attempt.last:
                continue
            raise_for_error(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def stream(self, method: str, url: str, *, external: bool = False) -> Iterator[httpx.Response]:
        """A streamed response (downloads); ``external`` URLs are presigned, sent token-free.

        Failures before the response starts are retried; once it is handed over, a failure
        while reading the body is the reader's to handle.
        """
        client = self._bare if external else self._client
        for attempt in self._attempts():
            try:
                response = client.send(client.build_request(method, url), stream=True)
            except httpx.TransportError as exc:
                if attempt.last:
                    raise ServerError(f"download from {_where(url)} failed: {exc}") from exc
                continue
            try:
                if response.status_code in RETRY_STATUSES and not attempt.last:
                    continue
                if response.status_code >= 400:
                    response.read()
                    raise_for_error(response)
                yield response
                return
            finally:
                response.close()

    def send_external(
        self, method: str, url: str, content: bytes, headers: Mapping[str, str]
    ) -> httpx.Response:
        """A presigned request to the object store (an upload), retried like the others."""
        for attempt in self._attempts():
            try:
                response = self._bare.request(method, url, content=content, headers=headers)
            except httpx.TransportError as exc:
                if attempt.last:
                    raise ServerError(f"upload to {_where(url)} failed: {exc}") from exc
                continue
            if response.status_code >= 500 and not attempt.last:
                continue
            if response.status_code >= 400:
                raise ServerError(
                    f"the object store refused an upload ({response.status_code}): "
                    f"{response.text[:300]}"
                )
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempts(self) -> Iterator[_Attempt]:
        for n in range(self.retries + 1):
            if n:
                delay = min(10.0, self.backoff * 2 ** (n - 1))
                time.sleep(delay * random.uniform(0.5, 1.5))
            yield _Attempt(last=n == self.retries)


class _Attempt:
    __slots__ = ("last",)

    def __init__(self, last: bool) -> None:
        self.last = last


def raise_for_error(response: httpx.Response) -> None:
    """Raise the ModeldeckError that an error response carries; do nothing for a success."""
    status = response.status_code
    if status < 400:
        return
    code, message = "", response.text[:500]
    try:
        body = response.json()
        code, message = str(body["error"]["code"]), str(body["error"]["message"])
    except (ValueError, KeyError, TypeError):
        pass
    if status >= 500:
        raise ServerError(f"the modeldeck server failed ({status} {code}): {message}")
    if code == errors.FilterSyntaxError.code:
        raise _filter_error(message)
    kind = _ERRORS.get(code) or _BY_STATUS.get(status, errors.InvalidInput)
    raise kind(message)


def _filter_error(message: str) -> errors.InvalidInput:
    """The same FilterSyntaxError (reason, text, position) the server raised, from its message."""
    found = _FILTER_MESSAGE.fullmatch(message)
    if found is None:
        return errors.InvalidInput(message)
    reason, position, text = found.groups()
    return errors.FilterSyntaxError(reason, text, int(position))


_FILTER_MESSAGE = re.compile(r"(.*) at position (\d+):\n  (.*)\n  *\^", re.DOTALL)


def segment(text: str) -> str:
    """One path segment: a name, alias or id, quoted so '/' and '?' stay inside it."""
    if not isinstance(text, str) or not text:
        raise errors.InvalidInput(f"expected a non-empty name or id, got {text!r}")
    return quote(text, safe="")


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while block := f.read(CHUNK_SIZE):
            yield block


def _where(url: str) -> str:
    return url.split("?", 1)[0]  # a presigned URL's query string is a credential
