"""The prediction log: every row a deployment predicted, stored once per (request, row, role).

Rows arrive in batches from serving processes that retry; the insert ignores rows already
stored and counts the new ones with RETURNING (psycopg reports no useful rowcount for an
executemany of INSERT ... ON CONFLICT DO NOTHING). A batch is one statement, not one a row:
multi-row VALUES on SQLite (SQLAlchemy's "insertmanyvalues"), unnest() of arrays on
PostgreSQL.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.deployment import Prediction
from modeldeck.storage.db.tables import predictions as P

KEYS = ("request_id", "row", "role")


def insert_new(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert ``rows`` (the table's columns, inputs/outputs as JSON text) that are not stored
    yet; return how many were new."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        # one statement over arrays, a column each: 3x faster than the 11,000 parameters of
        # a multi-row VALUES (SQLAlchemy's executemany with RETURNING) for 1,000 rows
        params = {name: [r[name] for r in rows] for name in _PG_TYPES}
        return len(conn.execute(_PG_UNNEST, params).all())
    return len(conn.execute(_sqlite_insert(), list(rows)).all())


_PG_TYPES = {
    "request_id": "text",
    "row": "int4",
    "role": "text",
    "model": "text",
    "version": "int4",
    "deployment_id": "text",
    "time": "int8",
    "latency_ms": "float8",
    "inputs": "text",
    "outputs": "text",
}
_PG_COLUMNS = ", ".join(f'"{c}"' for c in _PG_TYPES)
_PG_ARRAYS = ", ".join(f"CAST(:{c} AS {t}[])" for c, t in _PG_TYPES.items())
_PG_UNNEST = sa.text(
    f"INSERT INTO predictions ({_PG_COLUMNS}) SELECT * FROM unnest({_PG_ARRAYS}) "
    'ON CONFLICT (request_id, "row", role) DO NOTHING RETURNING id'
)


@functools.cache
def _sqlite_insert() -> Any:
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    stmt = sqlite_insert(P).on_conflict_do_nothing(index_elements=list(KEYS))
    return stmt.returning(P.c.id)


def search(
    conn: Connection,
    *,
    model: str | None = None,
    version: int | None = None,
    deployment_id: str | None = None,
    role: str | None = None,
    since: int | None = None,
    until: int | None = None,
    limit: int = 10_000,
) -> list[Prediction]:
    """Ordered by time, then request id and row; ``since`` inclusive, ``until`` exclusive."""
    query = sa.select(P)
    if model is not None:
        query = query.where(P.c.model == model)
    if version is not None:
        query = query.where(P.c.version == version)
    if deployment_id is not None:
        query = query.where(P.c.deployment_id == deployment_id)
    if role is not None:
        query = query.where(P.c.role == role)
    if since is not None:
        query = query.where(P.c.time >= since)
    if until is not None:
        query = query.where(P.c.time < until)
    query = query.order_by(P.c.time, P.c.request_id, P.c.row, P.c.role).limit(limit)
    return [to_entity(r) for r in conn.execute(query)]


def to_entity(r: Any) -> Prediction:
    return Prediction(
        request_id=r.request_id,
        row=r.row,
        model=r.model,
        version=r.version,
        role=r.role,
        time=r.time,
        latency_ms=r.latency_ms,
        inputs=json.loads(r.inputs),
        outputs=json.loads(r.outputs),
        deployment_id=r.deployment_id,
    )
