"""Datasets (one row per name and content digest) and the runs that used them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.entities import Dataset, RunInput
from modeldeck.core.errors import NotFound
from modeldeck.storage.db.tables import datasets, run_inputs, runs
from modeldeck.storage.metadata.upsert import upsert


def to_entity(row: Any) -> Dataset:
    return Dataset(
        id=row.id,
        name=row.name,
        digest=row.digest,
        source=row.source,
        num_rows=row.num_rows,
        schema=row.schema,
        profile=row.profile,
        object_digest=row.object_digest,
        created_at=row.created_at,
    )


def get_or_create(conn: Connection, values: Mapping[str, Any]) -> Dataset:
    """The dataset with this name and digest, recorded once however many runs use it."""
    where = (datasets.c.name == values["name"], datasets.c.digest == values["digest"])
    row = conn.execute(sa.select(datasets).where(*where)).first()
    if row is None:
        upsert(
            conn,
            datasets,
            [{"id": uuid.uuid4().hex, **values}],
            keys=("name", "digest"),
            update=(),
        )
        row = conn.execute(sa.select(datasets).where(*where)).one()
    return to_entity(row)


def link(conn: Connection, run_id: str, dataset_id: str, context: str) -> None:
    upsert(
        conn,
        run_inputs,
        [{"run_id": run_id, "dataset_id": dataset_id, "context": context}],
        keys=("run_id", "dataset_id", "context"),
        update=(),
    )


def inputs_of(conn: Connection, run_ids: Sequence[str]) -> dict[str, list[RunInput]]:
    query = (
        sa.select(run_inputs.c.run_id, run_inputs.c.context, datasets)
        .join(datasets, datasets.c.id == run_inputs.c.dataset_id)
        .where(run_inputs.c.run_id.in_(list(run_ids)))
        .order_by(run_inputs.c.context, datasets.c.name)
    )
    out: dict[str, list[RunInput]] = defaultdict(list)
    for row in conn.execute(query):
        out[row.run_id].append(RunInput(dataset=to_entity(row), context=row.context))
    return out


def find(conn: Connection, name_or_digest: str) -> list[Dataset]:
    """Versions of a dataset by name (newest first), or the one with a digest (or its prefix)."""
    query = sa.select(datasets).where(
        sa.or_(datasets.c.name == name_or_digest, datasets.c.digest.startswith(name_or_digest))
    )
    rows = conn.execute(query.order_by(datasets.c.created_at.desc())).all()
    if not rows:
        raise NotFound(f"no dataset named {name_or_digest!r} and none with that digest")
    return [to_entity(r) for r in rows]


def runs_using(conn: Connection, dataset_id: str) -> list[tuple[str, str]]:
    """(run id, context) of every run that used a dataset, oldest first."""
    query = (
        sa.select(run_inputs.c.run_id, run_inputs.c.context)
        .join(runs, runs.c.id == run_inputs.c.run_id)
        .where(run_inputs.c.dataset_id == dataset_id)
        .order_by(runs.c.start_time)
    )
    return [(r.run_id, r.context) for r in conn.execute(query)]
