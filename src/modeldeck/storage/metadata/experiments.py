"""Experiments."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from modeldeck.core.entities import Experiment
from modeldeck.core.errors import NotFound
from modeldeck.storage.db.tables import experiments
from modeldeck.storage.metadata.upsert import upsert

MAX_ID = 2**63 - 1


def to_entity(row: Row[tuple[int, str, str | None, int]]) -> Experiment:
    return Experiment(
        id=str(row.id), name=row.name, description=row.description, created_at=row.created_at
    )


def get_or_create(conn: Connection, name: str, now: int) -> Experiment:
    row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).first()
    if row is None:
        # insert-if-absent: two PostgreSQL transactions creating the same new experiment both
        # find no row; a plain INSERT made the second fail on the unique name (a 500)
        upsert(conn, experiments, [{"name": name, "created_at": now}], keys=("name",), update=())
        row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).one()
    return to_entity(row)


def as_id(text: str) -> int | None:
    """The experiment id ``text`` spells, or None: ASCII digits only ("²".isdigit() is true, and
    int() refuses it) and within BIGINT, which the stores cannot compare past."""
    if text.isascii() and text.isdigit() and int(text) <= MAX_ID:
        return int(text)
    return None


def find(conn: Connection, name_or_id: str) -> Experiment:
    """By name, or by id when no experiment has that name."""
    row = conn.execute(sa.select(experiments).where(experiments.c.name == name_or_id)).first()
    experiment_id = as_id(name_or_id)
    if row is None and experiment_id is not None:
        row = conn.execute(sa.select(experiments).where(experiments.c.id == experiment_id)).first()
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
