"""Artifacts: names in a run pointing at object digests."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.entities import Artifact
from modeldeck.core.errors import NotFound
from modeldeck.storage.db.tables import artifacts
from modeldeck.storage.metadata.upsert import upsert


def put(conn: Connection, run_id: str, artifact: Artifact, now: int) -> None:
    """Record (or re-point) ``artifact.path`` in a run; the bytes are already stored."""
    row = {
        "run_id": run_id,
        "path": artifact.path,
        "digest": artifact.digest,
        "size": artifact.size,
        "is_dir": artifact.is_dir,
        "created_at": now,
    }
    upsert(
        conn,
        artifacts,
        [row],
        keys=("run_id", "path"),
        update=("digest", "size", "is_dir", "created_at"),
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
