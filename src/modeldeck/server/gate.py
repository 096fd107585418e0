"""The API's front door: who is calling, decided before a byte of the body is read.

An ASGI middleware in front of every ``/api/`` route. It reads the ``Authorization`` header,
identifies the token (:func:`~modeldeck.governance.tokens.identify`) and puts the
:class:`~modeldeck.core.governance.Principal` in the request's state, where the routes'
dependencies (:mod:`modeldeck.server.auth`) find it. A refused request is answered 401 at
once, its body unread, so a caller without a valid token cannot make the server parse,
buffer or store anything.

Refusals cost the server almost nothing, and an anonymous flood cannot fill the audit log:

- every refusal is counted in ``/metrics`` (``modeldeck_auth_refused_total`` by reason and
  the status answered);
- refusals are audited in aggregate: at most one ``denied:auth`` record per caller (its
  token's user, or "anonymous") every :data:`AUDIT_EVERY_S` seconds per worker, carrying the
  ``count`` of refusals it stands for (a count left over when a flood stops is written by a
  timer one interval later);
- each client address has a budget of refusals (a token bucket of :data:`BURST`, refilled at
  :data:`REFILL_PER_S` per second); past it, refused requests get 429 with ``Retry-After``
  instead of 401. A missing or malformed token is refused without a database lookup, and a
  valid token is never limited.

Who a valid token is stays known to the process for up to a second
(:class:`~modeldeck.governance.tokens.IdentityCache`, also in the request's state as
``identities``), so a request with a token seen recently costs no query here.

A limited token (one with a :class:`~modeldeck.core.governance.TokenScope`) may only reach
the routes of its runs, its models and the object store; anything else is 403, audited as
``denied:scope``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from modeldeck.core.governance import Principal, TokenScope
from modeldeck.governance import tokens
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import audit

log = logging.getLogger("modeldeck.server")
API_PREFIX = "/api/"
AUDIT_EVERY_S = 10.0
BURST = 60
REFILL_PER_S = 5.0
MAX_ADDRESSES = 10_000  # the refusal budgets kept; the oldest are forgotten first


def bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (a bare token is taken as it is)."""
    for name, value in headers:
        if name == b"authorization":
            text = value.decode("latin-1").strip()
            scheme, _, token = text.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else text
    return None


@dataclass
class Budget:
    """Refusals one client address may still cause (a token bucket)."""

    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        self.tokens = min(BURST, self.tokens + (now - self.updated) * REFILL_PER_S)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class Refusals:
    """Per-process bookkeeping of refused requests: budgets per address, and the refusals
    counted but not yet audited, per caller."""

    audit_every_s: float = AUDIT_EVERY_S
    budgets: dict[str, Budget] = field(default_factory=dict)
    pending: dict[str, tuple[tokens.Refused, int, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    waiting: int = 0  # refusals counted and not yet audited, over every caller
    write: Callable[[tokens.Refused, int], None] | None = None  # audits a count
    timer: threading.Timer | None = None

    def allowed(self, address: str, now: float) -> bool:
        with self.lock:
            budget = self.budgets.get(address)
            if budget is None:
                if len(self.budgets) >= MAX_ADDRESSES:
                    self.budgets.pop(next(iter(self.budgets)))
                budget = self.budgets[address] = Budget(BURST, now)
            return budget.take(now)

    def note(self, refused: tokens.Refused, now: float) -> tuple[tokens.Refused, int] | None:
        """Count a refusal; the refusal and count to audit now, when one is due."""
        key = refused.actor
        with self.lock:
            _, count, since = self.pending.get(key, (refused, 0, -self.audit_every_s))
            count += 1
            if now - since >= self.audit_every_s:
                self.pending[key] = (refused, 0, now)
                return refused, count
            self.pending[key] = (refused, count, since)
            self.waiting += 1
            if self.write is not None and self.timer is None:
                # a flood that stops still gets its count audited, one interval later
                self.timer = threading.Timer(self.audit_every_s, self._flush)
                self.timer.daemon = True
                self.timer.start()
            return None

    def _flush(self) -> None:
        with self.lock:
            self.timer = None
        assert self.write is not None
        for refused, count in self.due(time.monotonic() + 0.001):
            try:
                self.write(refused, count)
            except Exception:  # the store is down: /metrics still has the count
                log.exception("could not audit %d refused request(s)", count)

    def due(self, now: float) -> list[tuple[tokens.Refused, int]]:
        """The counts whose interval has passed with no refusal to carry them."""
        if not self.waiting:
            return []
        out = []
        with self.lock:
            for key, (refused, count, since) in list(self.pending.items()):
                if count and now - since >= self.audit_every_s:
                    out.append((refused, count))
                    self.pending[key] = (refused, 0, now)
                    self.waiting -= count
        return out


# What a limited token may reach: its runs, its models, the object store, whoami.
_RUN = re.compile(r"^/api/v1/runs/(?P<run>[^/]+)(/.*)?$")
_MODEL = re.compile(r"^/api/v1/models/(?P<model>[^/]+)(/versions(/[0-9]+)?)?$")
_OBJECTS = re.compile(r"^/api/v1/objects(/.*)?$")
_READS = re.compile(r"^/api/v1/(whoami|experiments/[^/]+)$")
_READ = ("GET", "HEAD")


def scope_allows(scope: TokenScope, method: str, path: str) -> bool:
    """Whether a token limited to ``scope`` may send ``method path``."""
    if _OBJECTS.match(path):
        return method in (*_READ, "PUT", "POST")
    if _READS.match(path):
        return method in _READ
    found = _RUN.match(path)
    if found:
        return found.group("run") in scope.runs
    found = _MODEL.match(path)
    if found and found.group("model") in scope.models:
        return method in _READ or (method == "POST" and path.endswith("/versions"))
    return False


class AuthGate:
    """Pure ASGI, so a refusal never reaches FastAPI's body parsing."""

    def __init__(
        self,
        app: ASGIApp,
        db: Database,
        clock: Callable[[], int],
        counter: Any | None = None,
        refusals: Refusals | None = None,
        identities: tokens.IdentityCache | None = None,
    ) -> None:
        self.app = app
        self.db = db
        self.clock = clock
        self.identities = tokens.IdentityCache(db, clock) if identities is None else identities
        self.counter = counter  # prometheus Counter labelled by reason and status
        self.refusals = Refusals() if refusals is None else refusals  # shared with the UI
        self.refusals.write = self._audit_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("-", 0))[0]
        presented = bearer(scope["headers"])
        now = time.monotonic()
        try:
            if not presented:
                raise tokens.Refused(tokens.NO_TOKEN, "anonymous", None)
            if not tokens.well_formed(presented):  # refused without a lookup
                raise tokens.Refused("unknown or malformed token", "anonymous", None)
            principal = self.identities.cached(presented)
            if principal is None:
                principal = await to_thread.run_sync(self.identities.identify, presented)
        except tokens.Refused as refused:
            await self._refused(send, address, refused, now)
            return
        if principal.scope is not None and not scope_allows(
            principal.scope, scope["method"], scope["path"]
        ):
            await to_thread.run_sync(self._audit_scope, principal, scope["method"], scope["path"])
            message = (
                f"token {principal.token_id} is limited to runs {list(principal.scope.runs)} "
                f"and models {list(principal.scope.models)}; it cannot "
                f"{scope['method']} {scope['path']}"
            )
            await self._refuse(send, 403, "PERMISSION_DENIED", message)
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        state["identities"] = self.identities
        await self.app(scope, receive, send)

    async def _refused(self, send: Send, address: str, refused: tokens.Refused, now: float) -> None:
        due = self.refusals.note(refused, now)
        if due is not None:
            await to_thread.run_sync(self._audit_refusal, *due)
        status = 401 if self.refusals.allowed(address, now) else 429
        if self.counter is not None:
            self.counter.labels(_reason_kind(refused.reason), str(status)).inc()
        if status == 429:
            await self._refuse(send, 429, "RATE_LIMITED", "too many refused requests from here")
            return
        await self._refuse(send, 401, "UNAUTHENTICATED", refused.reason)

    def _audit_refusal(self, refused: tokens.Refused, count: int) -> None:
        with self.db.write() as conn:
            tokens.record_refusal(conn, refused, self.clock(), count)

    def _audit_scope(self, principal: Principal, method: str, path: str) -> None:
        with self.db.write() as conn:
            audit.append(
                conn,
                actor=principal.user,
                action="denied:scope",
                subject=f"http:{method} {path}"[:1000],
                at=self.clock(),
                after={"token": principal.token_id},
            )

    async def _refuse(self, send: Send, status: int, code: str, message: str) -> None:
        from modeldeck.server.errors import error_response

        if status == 429:
            response = error_response(429, code, f"{message}; retry later", {"Retry-After": "5"})
        else:
            response = error_response(status, code, message)
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        await send({"type": "http.response.body", "body": response.body})


def _reason_kind(reason: str) -> str:
    """A low-cardinality label for ``/metrics``."""
    for word in ("revoked", "expired", "disabled", "no token"):
        if word in reason:
            return word.replace(" ", "_")
    return "unknown"


def principal_of(state: Any) -> Principal | None:
    found = getattr(state, "principal", None)
    return found if isinstance(found, Principal) else None
