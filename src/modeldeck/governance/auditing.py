"""Reading and verifying the audit log."""

from __future__ import annotations

from modeldeck.core.governance import AuditRecord, ChainCheck
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import audit


def log(
    db: Database,
    *,
    subject: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    with db.read() as conn:
        return audit.records(conn, subject=subject, actor=actor, action=action, limit=limit)


def verify(db: Database) -> ChainCheck:
    with db.read() as conn:
        return audit.verify(conn)
