"""Users of a shared store and their API tokens.

A token reads ``mdk_<id>_<secret>``: the id finds the row, the secret is compared with the
stored sha256 in constant time. Secrets are shown once, never stored, logged or audited.
Unknown, malformed, expired and revoked tokens, and those of disabled users, are refused with
Unauthenticated, and the refusal is audited (by token id, never by secret).

A server process remembers who a token is, and the role of a user, for at most
:data:`CACHE_TTL_S` (:class:`IdentityCache`): a revoked token, a disabled user or a changed
role takes effect everywhere within that time, and a write that needs a role checks it again
inside its own transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modeldeck.core.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from modeldeck.core.governance import Principal, Role, TokenScope
from modeldeck.governance.access import (
    DEFAULT_PROJECT,
    effective_role,
    guarded_write,
    keep_admins_everywhere,
    require,
)
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import audit
from modeldeck.storage.metadata import tokens as rows

PREFIX = "mdk_"
DAY_MS = 86_400_000
TOUCH_EVERY_MS = 60_000  # last-use time is written at most once a minute per token
SCOPED_MAX_DAYS = 1.0  # a limited token is for one job: it expires within a day
CACHE_TTL_S = 1.0  # how long a server process trusts what it learnt of a token or a role
CACHE_MAX = 10_000  # entries per cache; past it, the cache starts again empty
NO_TOKEN = (
    "no token: send 'Authorization: Bearer mdk_…' (create one with `modeldeck tokens create`)"
)
_USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,249}$")
_TOKEN_RE = re.compile(r"^mdk_([0-9a-f]{12})_([A-Za-z0-9_\-]{20,100})$")


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    user: str
    description: str | None
    created_by: str
    created_at: int
    expires_at: int | None
    revoked_at: int | None
    last_used_at: int | None
    scope: TokenScope | None = None

    def state(self, now: int) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    info: TokenInfo
    token: str = field(repr=False)  # the only time the secret exists outside the caller


def check_user_name(name: object) -> str:
    if not isinstance(name, str) or not _USER_RE.match(name):
        raise InvalidInput(
            f"invalid user name {name!r}: use letters, digits and '_ . @ -', starting with a "
            "letter or digit"
        )
    return name


def add_user(db: Database, clock: Callable[[], int], name: str, actor: str) -> None:
    check_user_name(name)
    with guarded_write(db, clock, actor, "user.add", f"users:/{name}") as conn:
        require(conn, DEFAULT_PROJECT, actor, Role.ADMIN, "add users")
        if rows.user_row(conn, name) is not None:
            raise AlreadyExists(f"user {name!r} already exists")
        now = clock()
        rows.add_user(conn, name, actor, now)
        audit.append(conn, actor=actor, action="user.add", subject=f"users:/{name}", at=now)


def set_disabled(
    db: Database, clock: Callable[[], int], name: str, actor: str, disabled: bool
) -> None:
    action = "user.disable" if disabled else "user.enable"
    with guarded_write(db, clock, actor, action, f"users:/{name}") as conn:
        require(conn, DEFAULT_PROJECT, actor, Role.ADMIN, "disable or enable users")
        if rows.user_row(conn, name) is None:
            raise NotFound(f"no user named {name!r}; `modeldeck users add {name}` adds one")
        if disabled:
            keep_admins_everywhere(conn, name, f"disabling {name}")
        now = clock()
        rows.set_disabled(conn, name, now if disabled else None)
        audit.append(conn, actor=actor, action=action, subject=f"users:/{name}", at=now)


def create_token(
    db: Database,
    clock: Callable[[], int],
    user: str,
    actor: str,
    *,
    expires_in_days: float | None = 90,
    description: str | None = None,
    scope: TokenScope | None = None,
) -> IssuedToken:
    """A new token for ``user`` (themselves, or anyone when ``actor`` is an admin).

    A ``scope`` limits it to some runs and models (see :class:`TokenScope`); such a token
    must expire within :data:`SCOPED_MAX_DAYS`."""
    if expires_in_days is not None and expires_in_days <= 0:
        raise InvalidInput("expires_in_days must be positive (or None for no expiry)")
    if scope is not None and (expires_in_days is None or expires_in_days > SCOPED_MAX_DAYS):
        raise InvalidInput(
            f"a limited (scoped) token must expire within {SCOPED_MAX_DAYS:g} day(s); "
            "give expires_in_days"
        )
    with guarded_write(db, clock, actor, "token.create", f"users:/{user}") as conn:
        if actor != user:
            require(conn, DEFAULT_PROJECT, actor, Role.ADMIN, "create tokens for other users")
        found = rows.user_row(conn, user)
        if found is None:
            raise NotFound(f"no user named {user!r}; an admin adds one with `modeldeck users add`")
        if found.disabled_at is not None:
            raise PermissionDenied(f"user {user!r} is disabled and cannot get tokens")
        now = clock()
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        expires = None if expires_in_days is None else now + int(expires_in_days * DAY_MS)
        values = {
            "id": token_id,
            "user": user,
            "secret_hash": _hash(secret),
            "description": description,
            "created_by": actor,
            "created_at": now,
            "expires_at": expires,
            "scope": None if scope is None else json.dumps(scope.to_dict(), sort_keys=True),
        }
        rows.insert_token(conn, values)
        audit.append(
            conn,
            actor=actor,
            action="token.create",
            subject=f"users:/{user}/tokens/{token_id}",
            at=now,
            after={
                "expires_at": expires,
                "description": description,
                **({"scope": scope.to_dict()} if scope is not None else {}),
            },
        )
    info = TokenInfo(token_id, user, description, actor, now, expires, None, None, scope)
    return IssuedToken(info, f"{PREFIX}{token_id}_{secret}")


def revoke_token(db: Database, clock: Callable[[], int], token_id: str, actor: str) -> None:
    with guarded_write(db, clock, actor, "token.revoke", f"tokens:/{token_id}") as conn:
        row = rows.token_row(conn, token_id)
        if row is None:
            raise NotFound(f"no token with id {token_id!r}; `modeldeck tokens list` shows them")
        if row.user != actor:
            require(conn, DEFAULT_PROJECT, actor, Role.ADMIN, "revoke other users' tokens")
        now = clock()
        rows.revoke(conn, token_id, now)
        audit.append(
            conn,
            actor=actor,
            action="token.revoke",
            subject=f"users:/{row.user}/tokens/{token_id}",
            at=now,
        )


def list_tokens(db: Database, user: str | None = None) -> list[TokenInfo]:
    with db.read() as conn:
        return [_info(r) for r in rows.tokens_of(conn, user)]


def authenticate(db: Database, clock: Callable[[], int], presented: str | None) -> str:
    """The user a bearer token belongs to; Unauthenticated (audited) otherwise."""
    try:
        return identify(db, clock, presented).user
    except Refused as refused:
        with db.write() as conn:
            record_refusal(conn, refused, clock())
        raise


class Refused(Unauthenticated):
    """A token refused by :func:`identify`; ``actor`` is its owner when the token is known
    (revoked, expired, disabled user), else "anonymous"."""

    def __init__(self, reason: str, actor: str, token_id: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.actor = actor
        self.token_id = token_id


def record_refusal(conn: Any, refused: Refused, at: int, count: int = 1) -> None:
    """Audit a refused token (``count`` refusals alike, when a caller aggregates them)."""
    after: dict[str, Any] = {"reason": refused.reason}
    if count != 1:
        after["count"] = count
    audit.append(
        conn,
        actor=refused.actor,
        action="denied:auth",
        subject=f"tokens:/{refused.token_id or '-'}",
        at=at,
        after=after,
    )


def identify(db: Database, clock: Callable[[], int], presented: str | None) -> Principal:
    """Who a bearer token acts as; :class:`Refused` (not audited: the caller decides) when it
    is missing, unknown, malformed, revoked or expired, or its user is disabled."""
    now = clock()
    match = _TOKEN_RE.match(presented or "")
    token_id = match.group(1) if match else None
    if not presented:
        raise Refused(NO_TOKEN, "anonymous", None)
    if match is None:
        raise Refused("unknown or malformed token", "anonymous", None)
    with db.read() as conn:
        row = rows.token_row(conn, token_id) if token_id else None
        if row is None or not hmac.compare_digest(row.secret_hash, _hash(match.group(2))):
            raise Refused("unknown or malformed token", "anonymous", token_id)
        if row.revoked_at is not None:
            raise Refused(f"token {token_id} was revoked", row.user, token_id)
        if row.expires_at is not None and row.expires_at <= now:
            raise Refused(
                f"token {token_id} expired; create a new one with `modeldeck tokens create`",
                row.user,
                token_id,
            )
        owner = rows.user_row(conn, row.user)
        if owner is None or owner.disabled_at is not None:
            raise Refused(f"user {row.user!r} is disabled", row.user, token_id)
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY_MS:
        with db.write() as conn:
            rows.touch(conn, row.id, now)
    return Principal(str(row.user), str(row.id), _scope(row.scope))


class IdentityCache:
    """Token → principal and user → role, each remembered for at most ``ttl_s`` seconds by one
    server process, so that most requests need no authentication query at all.

    Only what was found valid is remembered (a refused token is looked up every time, and
    rate-limited by the gate). Entries are keyed by the token's hash, never by its secret.
    ``forget`` drops everything, for a change this process made itself.
    """

    def __init__(self, db: Database, clock: Callable[[], int], ttl_s: float = CACHE_TTL_S) -> None:
        if not 0 <= ttl_s <= CACHE_TTL_S:
            raise InvalidInput(f"the identity cache may keep entries 0..{CACHE_TTL_S:g} s")
        self.db = db
        self.clock = clock
        self.ttl_s = ttl_s
        self._principals: dict[str, tuple[float, Principal]] = {}
        self._roles: dict[tuple[str, str], tuple[float, Role]] = {}
        self._lock = threading.Lock()

    def cached(self, presented: str) -> Principal | None:
        """Who ``presented`` is, if this process learnt it less than ``ttl_s`` ago (no I/O)."""
        found = self._principals.get(_hash(presented))
        if found is not None and time.monotonic() - found[0] < self.ttl_s:
            return found[1]
        return None

    def identify(self, presented: str | None) -> Principal:
        """:func:`identify`, answered from memory while the entry is fresh."""
        if not self.ttl_s or not presented:
            return identify(self.db, self.clock, presented)
        found = self.cached(presented)
        if found is not None:
            return found
        now = time.monotonic()
        principal = identify(self.db, self.clock, presented)
        key = _hash(presented)
        with self._lock:
            if len(self._principals) >= CACHE_MAX:
                self._principals.clear()
            self._principals[key] = (now, principal)
        return principal

    def cached_role(self, user: str, project: str = DEFAULT_PROJECT) -> Role | None:
        """The role of ``user``, if this process learnt it less than ``ttl_s`` ago (no I/O)."""
        found = self._roles.get((project, user))
        if found is not None and time.monotonic() - found[0] < self.ttl_s:
            return found[1]
        return None

    def role(self, user: str, project: str = DEFAULT_PROJECT) -> Role:
        """:func:`role_of`, answered from memory while the entry is fresh."""
        if not self.ttl_s:
            return role_of(self.db, user, project)
        found = self.cached_role(user, project)
        if found is not None:
            return found
        now = time.monotonic()
        role = role_of(self.db, user, project)
        with self._lock:
            if len(self._roles) >= CACHE_MAX:
                self._roles.clear()
            self._roles[(project, user)] = (now, role)
        return role

    def forget(self) -> None:
        with self._lock:
            self._principals.clear()
            self._roles.clear()


def well_formed(presented: str) -> bool:
    """Whether ``presented`` has a token's shape (``mdk_<id>_<secret>``): checked for free."""
    return _TOKEN_RE.match(presented) is not None


def _scope(text: str | None) -> TokenScope | None:
    return None if not text else TokenScope.from_dict(json.loads(text))


def role_of(db: Database, user: str, project: str = DEFAULT_PROJECT) -> Role:
    with db.read() as conn:
        return effective_role(conn, project, user)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(row: object) -> TokenInfo:
    return TokenInfo(
        row.id,  # type: ignore[attr-defined]
        row.user,  # type: ignore[attr-defined]
        row.description,  # type: ignore[attr-defined]
        row.created_by,  # type: ignore[attr-defined]
        row.created_at,  # type: ignore[attr-defined]
        row.expires_at,  # type: ignore[attr-defined]
        row.revoked_at,  # type: ignore[attr-defined]
        row.last_used_at,  # type: ignore[attr-defined]
        _scope(row.scope),  # type: ignore[attr-defined]
    )
