"""The append-only, hash-chained audit log.

Each record's hash covers the previous record's hash and the record's own fields, so editing,
inserting or deleting a record in the middle breaks every hash after it. Records are appended
inside the transaction of the change they describe: both happen or neither does.

Chaining needs one writer at a time. SQLite has one anyway, so there a record is chained as it
is appended. On PostgreSQL an append is a plain insert, and the record is *sealed* (given its
``position``, ``prev_hash`` and ``hash``) after its transaction commits, by whichever sealer
holds the advisory lock: a thread of the writing process, woken by the commit, which seals
everything pending a few milliseconds later in one short transaction (so that a busy server
seals in batches; it tries again later when another process holds the lock), and every reader
of the log, which waits for the lock so that what it reads is chained. Holding a global lock
from the append to the commit made every audited write on a busy server wait for every other
one; now only sealers wait for each other, in short transactions of their own. Readers see
sealed records only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.governance import AuditRecord, ChainCheck
from modeldeck.storage.db.engine import Database, after_commit
from modeldeck.storage.db.tables import audit_log

log = logging.getLogger("modeldeck.audit")
GENESIS = "0" * 64
_LOCK_KEY = 720414  # PostgreSQL advisory lock serialising sealers (SQLite serialises writers)
_SEALED = audit_log.c.position.is_not(None)
_LAST = (
    sa.select(audit_log.c.position, audit_log.c.hash)
    .where(_SEALED)
    .order_by(audit_log.c.position.desc())
    .limit(1)
)
_INSERT = sa.insert(audit_log)
_SEAL = (
    sa.update(audit_log)
    .where(audit_log.c.seq == sa.bindparam("b_seq"))
    .values(
        position=sa.bindparam("b_position"),
        prev_hash=sa.bindparam("b_prev"),
        hash=sa.bindparam("b_hash"),
    )
)
SEAL_BATCH = 2000


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
    before_text, after_text = canonical(before), canonical(after)
    row: dict[str, Any] = {
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "before": before_text,
        "after": after_text,
        "position": None,
        "prev_hash": None,
        "hash": None,
    }
    if conn.dialect.name == "postgresql":
        conn.execute(_INSERT, row)
        after_commit(conn, _wake_sealer)
        return
    position, prev = _last(conn)
    row["position"], row["prev_hash"] = position + 1, prev
    row["hash"] = record_hash(prev, at, actor, action, subject, before_text, after_text)
    conn.execute(_INSERT, row)


def seal(conn: Connection, *, wait: bool = True) -> int:
    """Chain the committed records that have no position yet, oldest ``seq`` first; the
    number sealed. ``wait=False`` gives up at once when another sealer holds the lock."""
    if conn.dialect.name == "postgresql":
        if wait:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        elif not conn.execute(
            sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}
        ).scalar():
            return 0
    position, prev = _last(conn)
    sealed = 0
    while True:
        pending = conn.execute(
            sa.select(audit_log)
            .where(audit_log.c.position.is_(None))
            .order_by(audit_log.c.seq)
            .limit(SEAL_BATCH)
        ).all()
        if not pending:
            return sealed
        updates = []
        for r in pending:
            position += 1
            digest = record_hash(prev, r.at, r.actor, r.action, r.subject, r.before, r.after)
            updates.append(
                {"b_seq": r.seq, "b_position": position, "b_prev": prev, "b_hash": digest}
            )
            prev = digest
        conn.execute(_SEAL, updates)
        sealed += len(updates)


class Sealer:
    """One daemon thread per database and process that seals what its commits appended."""

    DELAY_S = 0.02  # gather the commits of a burst into one sealing transaction
    RETRY_S = 0.2  # another process holds the lock: its select may predate our commit

    def __init__(self, db: Database) -> None:
        self.db = weakref.ref(db)  # the thread must not keep a disposed store alive
        self.pid = os.getpid()
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            time.sleep(self.DELAY_S)
            self.wake.clear()
            db = self.db()
            if db is None:
                return
            try:
                with db.write() as conn:
                    done = seal(conn, wait=False) or not _pending(conn)
            except Exception:  # the database is away: records stay pending for the next try
                log.warning("sealing the audit log failed; retrying", exc_info=True)
                done = False
            del db
            if not done:
                time.sleep(self.RETRY_S)
                self.wake.set()


_sealers: weakref.WeakKeyDictionary[Database, Sealer] = weakref.WeakKeyDictionary()
_sealers_lock = threading.Lock()


def _wake_sealer(db: Database) -> None:
    with _sealers_lock:
        sealer = _sealers.get(db)
        if sealer is None or sealer.pid != os.getpid():  # a forked worker starts its own
            sealer = _sealers[db] = Sealer(db)
    sealer.wake.set()


def _pending(conn: Connection) -> bool:
    query = sa.select(audit_log.c.seq).where(audit_log.c.position.is_(None)).limit(1)
    return conn.execute(query).first() is not None


def _last(conn: Connection) -> tuple[int, str]:
    last = conn.execute(_LAST).first()
    return (0, GENESIS) if last is None else (int(last.position), str(last.hash))


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
    query = sa.select(audit_log).where(_SEALED)
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
    order = audit_log.c.position.desc() if newest_first else audit_log.c.position.asc()
    return [_entity(r) for r in conn.execute(query.order_by(order).limit(limit))]


def verify(conn: Connection, chunk: int = 5000) -> ChainCheck:
    """Recompute every hash in chain order; name the first record that does not match.

    Records not sealed yet are not in the chain: readers seal before they verify."""
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
            .where(audit_log.c.position > last)
            .order_by(audit_log.c.position)
            .limit(chunk)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].position


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
