"""The append-only, hash-chained audit log.

Each record's hash covers the previous record's hash and the record's own fields, so editing,
inserting or deleting a record in the middle breaks every hash after it. Records are appended
inside the transaction of the change they describe: both happen or neither does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.governance import AuditRecord, ChainCheck
from modeldeck.storage.db.tables import audit_log

GENESIS = "0" * 64
_LOCK_KEY = 720414  # PostgreSQL advisory lock serialising appends (SQLite serialises writers)
_LAST_HASH = sa.select(audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
_INSERT = sa.insert(audit_log)


def canonical(value: Mapping[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(
    prev_hash: str,
    at: int,
    actor: str,
    action: str,
    subject: str,
    before: str | None,
    after: str | None,
) -> str:
    fields = [prev_hash, str(at), actor, action, subject, before or "", after or ""]
    return hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()


def append(
    conn: Connection,
    *,
    actor: str,
    action: str,
    subject: str,
    at: int,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    prev = conn.execute(_LAST_HASH).scalar() or GENESIS
    before_text, after_text = canonical(before), canonical(after)
    conn.execute(
        _INSERT,
        {
            "at": at,
            "actor": actor,
            "action": action,
            "subject": subject,
            "before": before_text,
            "after": after_text,
            "prev_hash": prev,
            "hash": record_hash(prev, at, actor, action, subject, before_text, after_text),
        },
    )


def records(
    conn: Connection,
    *,
    subject: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 100,
    newest_first: bool = True,
) -> list[AuditRecord]:
    """Records about ``subject`` (or anything under it: ``models:/churn`` covers its versions)."""
    query = sa.select(audit_log)
    if subject:
        query = query.where(
            sa.or_(
                audit_log.c.subject == subject,
                audit_log.c.subject.startswith(subject + "/"),
                audit_log.c.subject.startswith(subject + "@"),
            )
        )
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if action:
        query = query.where(audit_log.c.action == action)
    order = audit_log.c.seq.desc() if newest_first else audit_log.c.seq.asc()
    return [_entity(r) for r in conn.execute(query.order_by(order).limit(limit))]


def verify(conn: Connection, chunk: int = 5000) -> ChainCheck:
    """Recompute every hash in order; name the first record that does not match."""
    prev = GENESIS
    count = 0
    for row in _all(conn, chunk):
        count += 1
        if row.prev_hash != prev:
            return ChainCheck(
                count,
                False,
                row.seq,
                "its prev_hash does not match the record before it "
                "(a record was deleted, inserted or reordered)",
            )
        expected = record_hash(
            row.prev_hash, row.at, row.actor, row.action, row.subject, row.before, row.after
        )
        if row.hash != expected:
            return ChainCheck(count, False, row.seq, "its content does not match its hash (edited)")
        prev = row.hash
    return ChainCheck(count, True)


def _all(conn: Connection, chunk: int) -> Iterator[Any]:
    last = 0
    while True:
        rows = conn.execute(
            sa.select(audit_log)
            .where(audit_log.c.seq > last)
            .order_by(audit_log.c.seq)
            .limit(chunk)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def _entity(row: Any) -> AuditRecord:
    return AuditRecord(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        before=json.loads(row.before) if row.before else None,
        after=json.loads(row.after) if row.after else None,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
