"""Schema migrations through Alembic, with a fast path when the schema is already current.

Importing Alembic costs ~100 ms, so a process first reads the stored revision with one query
and only runs Alembic when it differs from ``HEAD`` (a test keeps ``HEAD`` equal to Alembic's).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from modeldeck.core.errors import StoreError
from modeldeck.storage.db.engine import Database

HEAD = "0013"
MIGRATIONS = Path(__file__).with_name("migrations")


def current_revision(db: Database) -> str | None:
    with db.read() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to call from several processes at once."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _lock(db), db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def ensure_current(db: Database, *, auto_upgrade: bool) -> None:
    """Upgrade an embedded store on first use; refuse a shared one that is behind."""
    revision = current_revision(db)
    if revision == HEAD:
        return
    if auto_upgrade:
        upgrade(db)
        return
    where = db.engine.url.render_as_string(hide_password=True)
    if revision is None:
        raise StoreError(
            f"the database {where} has no modeldeck schema: run `modeldeck db upgrade`"
        )
    raise StoreError(
        f"the database {where} is at schema revision {revision}, this modeldeck needs {HEAD}: "
        "run `modeldeck db upgrade`"
    )


@contextlib.contextmanager
def _lock(db: Database) -> Iterator[None]:
    """Serialise concurrent upgrades of one SQLite file (PostgreSQL uses an advisory lock)."""
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(720413)"))
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(720413)"))
                conn.commit()
        return
    database = db.engine.url.database
    if not database or database == ":memory:":
        yield
        return
    import fcntl

    with open(f"{database}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
