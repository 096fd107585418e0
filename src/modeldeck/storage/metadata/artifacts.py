"""Artifacts: names in a run pointing at object digests."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.entities import Artifact
from modeldeck.core.errors import NotFound
from modeldeck.storage.db.tables import artifacts


def put(conn: Connection, run_id: str, artifact: Artifact, now: int) -> Artifact | None:
    """Record ``artifact.path`` in a run (the bytes are already stored) unless the run has that
    path already: paths are write-once. None when recorded, else what the path holds."""
    row = {
        "run_id": run_id,
        "path": artifact.path,
        "digest": artifact.digest,
        "size": artifact.size,
        "is_dir": artifact.is_dir,
        "created_at": now,
    }
    if conn.execute(_insert_if_absent(conn.dialect.name), row).first() is not None:
        return None
    return get(conn, run_id, artifact.path)


@functools.cache
def _insert_if_absent(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: a row back means it was inserted (the
    rowcount of such an insert is -1 under psycopg)."""
    stmt: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(artifacts)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(artifacts)
    return stmt.on_conflict_do_nothing(index_elements=["run_id", "path"]).returning(
        artifacts.c.run_id
    )


def list_for(conn: Connection, run_id: str) -> list[Artifact]:
    rows = conn.execute(
        sa.select(artifacts).where(artifacts.c.run_id == run_id).order_by(artifacts.c.path)
    )
    return [Artifact(path=r.path, digest=r.digest, size=r.size, is_dir=r.is_dir) for r in rows]


def get(conn: Connection, run_id: str, path: str) -> Artifact:
    row = conn.execute(
        sa.select(artifacts).where(artifacts.c.run_id == run_id, artifacts.c.path == path)
    ).first()
    if row is None:
        raise NotFound(
            f"run {run_id} has no artifact {path!r}; `modeldeck artifacts list {run_id}` lists them"
        )
    return Artifact(path=row.path, digest=row.digest, size=row.size, is_dir=row.is_dir)
