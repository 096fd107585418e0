"""Idempotency keys: a write claims its key in its own transaction, so a retry is a no-op."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.errors import Conflict
from modeldeck.storage.db.tables import idempotency_keys


def claim(conn: Connection, user: str, key: str, request_digest: str, now: int) -> bool:
    """True if ``key`` is new for ``user`` (the write goes ahead), False for a retry.

    A key already used for a different request is a Conflict. On PostgreSQL a concurrent claim
    of the same key waits for the first transaction and then sees its row.
    """
    row = {"user": user, "key": key, "request_digest": request_digest, "created_at": now}
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING
    if conn.execute(_claim_statement(conn.dialect.name), row).first() is not None:
        return True
    stored = conn.execute(
        sa.select(idempotency_keys.c.request_digest).where(
            idempotency_keys.c.user == user, idempotency_keys.c.key == key
        )
    ).scalar_one()
    if stored != request_digest:
        raise Conflict(
            f"idempotency key {key!r} was already used for a different request; "
            "use a new key for a new request"
        )
    return False


@functools.cache
def _claim_statement(dialect: str) -> Any:
    stmt: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(idempotency_keys)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(idempotency_keys)
    stmt = stmt.on_conflict_do_nothing(index_elements=["user", "key"])
    return stmt.returning(idempotency_keys.c.key)


def reply(conn: Connection, user: str, key: str) -> tuple[str, int | None, str | None] | None:
    """(request digest, status, response) stored under ``key``, or None for a new key."""
    row = conn.execute(
        sa.select(
            idempotency_keys.c.request_digest,
            idempotency_keys.c.status,
            idempotency_keys.c.response,
        ).where(idempotency_keys.c.user == user, idempotency_keys.c.key == key)
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def answer(conn: Connection, user: str, key: str, status: int, response: str) -> None:
    """Keep the answer of the write that claimed ``key``, for its retries."""
    conn.execute(
        sa.update(idempotency_keys)
        .where(idempotency_keys.c.user == user, idempotency_keys.c.key == key)
        .values(status=status, response=response)
    )


def release(conn: Connection, user: str, key: str) -> None:
    """Forget a claim whose write failed, so a retry can try again."""
    conn.execute(
        sa.delete(idempotency_keys).where(
            idempotency_keys.c.user == user, idempotency_keys.c.key == key
        )
    )


def prune(conn: Connection, before: int) -> int:
    """Forget keys claimed before ``before`` (ms): a client retries for seconds, not days."""
    result = conn.execute(sa.delete(idempotency_keys).where(idempotency_keys.c.created_at < before))
    return int(result.rowcount or 0)
