"""Experiments."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from modeldeck.core.entities import Experiment
from modeldeck.core.errors import NotFound
from modeldeck.storage.db.tables import experiments


def to_entity(row: Row[tuple[int, str, str | None, int]]) -> Experiment:
    return Experiment(
        id=str(row.id), name=row.name, description=row.description, created_at=row.created_at
    )


def get_or_create(conn: Connection, name: str, now: int) -> Experiment:
    row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).first()
    if row is None:
        conn.execute(sa.insert(experiments).values(name=name, created_at=now))
        row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).one()
    return to_entity(row)


def find(conn: Connection, name_or_id: str) -> Experiment:
    """By name, or by id when no experiment has that name."""
    row = conn.execute(sa.select(experiments).where(experiments.c.name == name_or_id)).first()
    if row is None and name_or_id.isdigit():
        row = conn.execute(
            sa.select(experiments).where(experiments.c.id == int(name_or_id))
        ).first()
    if row is None:
        raise NotFound(
            f"no experiment named {name_or_id!r}; `modeldeck experiments list` shows them"
        )
    return to_entity(row)


def list_all(conn: Connection) -> list[Experiment]:
    rows = conn.execute(sa.select(experiments).order_by(experiments.c.id)).all()
    return [to_entity(r) for r in rows]


def by_ids(conn: Connection, ids: list[int]) -> dict[str, Experiment]:
    rows = conn.execute(sa.select(experiments).where(experiments.c.id.in_(ids))).all()
    return {str(r.id): to_entity(r) for r in rows}
