"""Deployments: one row per serving process, with the versions it serves now."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.deployment import Deployment
from modeldeck.core.errors import NotFound
from modeldeck.storage.db.tables import deployments as D

# the column of the version each role serves
VERSION_COLUMNS = {"primary": "version", "canary": "canary_version", "shadow": "shadow_version"}


def insert(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(sa.insert(D).values(**values))


def row(conn: Connection, deployment_id: str, *, lock: bool = False) -> Any:
    """The row of a deployment; ``lock`` serialises writers on it (PostgreSQL)."""
    query = sa.select(D).where(D.c.id == deployment_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    found = conn.execute(query).first()
    if found is None:
        raise NotFound(
            f"no deployment with id {deployment_id!r}; `modeldeck deployments list --all` "
            "shows them"
        )
    return found


def get(conn: Connection, deployment_id: str) -> Deployment:
    return to_entity(row(conn, deployment_id))


def update(conn: Connection, deployment_id: str, values: Mapping[str, Any]) -> int:
    return conn.execute(sa.update(D).where(D.c.id == deployment_id).values(**values)).rowcount


def update_own(
    conn: Connection, deployment_id: str, values: Mapping[str, Any], started_by: str
) -> int:
    """``update`` of a live deployment (not stopped) that ``started_by`` started."""
    query = sa.update(D).where(
        D.c.id == deployment_id, D.c.stopped_at.is_(None), D.c.started_by == started_by
    )
    return conn.execute(query.values(**values)).rowcount


def search(
    conn: Connection, *, include_stopped: bool = False, model: str | None = None
) -> list[Deployment]:
    """Newest first."""
    query = sa.select(D).order_by(D.c.started_at.desc(), D.c.id.desc())
    if not include_stopped:
        query = query.where(D.c.stopped_at.is_(None))
    if model is not None:
        query = query.where(D.c.model == model)
    return [to_entity(r) for r in conn.execute(query)]


def to_entity(r: Any) -> Deployment:
    return Deployment(
        id=r.id,
        model=r.model,
        reference=r.reference,
        version=r.version,
        started_by=r.started_by,
        started_at=r.started_at,
        last_seen=r.last_seen,
        host=r.host,
        port=r.port,
        workers=r.workers,
        canary_reference=r.canary_reference,
        canary_version=r.canary_version,
        canary_share=r.canary_share,
        shadow_reference=r.shadow_reference,
        shadow_version=r.shadow_version,
        stopped_at=r.stopped_at,
    )
