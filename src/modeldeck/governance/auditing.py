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
    _seal(db)
    with db.read() as conn:
        return audit.records(conn, subject=subject, actor=actor, action=action, limit=limit)


def verify(db: Database) -> ChainCheck:
    _seal(db)
    with db.read() as conn:
        return audit.verify(conn)


def _seal(db: Database) -> None:
    """Readers see the chain whole: records committed but not yet sealed are sealed first
    (PostgreSQL; SQLite chains each record as it is appended)."""
    if db.dialect == "postgresql":
        with db.write() as conn:
            audit.seal(conn, wait=True)
