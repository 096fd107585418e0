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
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.deployment import Prediction
from modeldeck.core.errors import InvalidInput
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


LATENCY_SAMPLE = 100_000
"""The most latencies :func:`traffic` reads to compute percentiles (the newest ones)."""
MAX_BUCKETS = 2000


@dataclass(frozen=True, slots=True)
class TrafficBucket:
    """Requests and latency of one bucket of the prediction log (``start`` inclusive, ms).

    ``rows``, ``requests`` (distinct request ids), ``latency_avg`` and ``latency_max`` are
    SQL aggregates over every row; ``latency_p50`` and ``latency_p95`` are computed from
    the rows themselves, and are None where the bucket is empty or older than the newest
    :data:`LATENCY_SAMPLE` rows of the period."""

    start: int
    rows: int
    requests: int
    latency_avg: float | None
    latency_max: float | None
    latency_p50: float | None
    latency_p95: float | None


def time_range(
    conn: Connection, *, model: str, role: str | None = None, deployment_id: str | None = None
) -> tuple[int, int] | None:
    """The times of the first and last logged predictions, or None when there are none."""
    query = sa.select(sa.func.min(P.c.time), sa.func.max(P.c.time)).where(
        *_traffic_filter(model, role, deployment_id)
    )
    first, last = conn.execute(query).one()
    return None if first is None else (int(first), int(last))


def traffic(
    conn: Connection,
    *,
    model: str,
    since: int,
    until: int,
    bucket_ms: int,
    role: str | None = "primary",
    deployment_id: str | None = None,
    sample: int = LATENCY_SAMPLE,
) -> list[TrafficBucket]:
    """Every bucket of ``bucket_ms`` from ``since`` (inclusive) to ``until`` (exclusive),
    empty ones included, oldest first.

    Percentiles differ between SQLite (none) and PostgreSQL (``percentile_cont``), so counts,
    means and maxima are aggregated in SQL over the whole period and the percentiles are
    computed here from at most ``sample`` latencies, the newest: a bucket gets them only
    when all its rows were read, so none is estimated from part of its rows."""
    if bucket_ms < 1 or until <= since:
        return []
    if (until - since) // bucket_ms > MAX_BUCKETS:
        raise InvalidInput(
            f"{(until - since) // bucket_ms} buckets asked for; at most {MAX_BUCKETS}: "
            "make the buckets wider or the period shorter"
        )
    where = [*_traffic_filter(model, role, deployment_id), P.c.time >= since, P.c.time < until]
    # grouped by the output name: PostgreSQL does not see two bound copies of one expression
    # as the same GROUP BY key
    bucket: Any = sa.literal_column("bucket")
    totals = conn.execute(
        sa.select(
            ((P.c.time - since) // bucket_ms).label("bucket"),
            sa.func.count().label("rows"),
            sa.func.count(sa.distinct(P.c.request_id)).label("requests"),
            sa.func.avg(P.c.latency_ms).label("avg"),
            sa.func.max(P.c.latency_ms).label("max"),
        )
        .where(*where)
        .group_by(bucket)
    ).all()
    latencies: dict[int, list[float]] = {}
    recent = (
        sa.select(P.c.time, P.c.latency_ms)
        .where(*where)
        .order_by(P.c.time.desc())
        .limit(max(sample, 0))
    )
    for time, latency in conn.execute(recent):
        latencies.setdefault((int(time) - since) // bucket_ms, []).append(float(latency))
    found = {int(r.bucket): r for r in totals}
    out = []
    for index in range((until - since + bucket_ms - 1) // bucket_ms):
        r = found.get(index)
        values = latencies.get(index, [])
        exact = r is not None and len(values) == r.rows
        out.append(
            TrafficBucket(
                start=since + index * bucket_ms,
                rows=int(r.rows) if r is not None else 0,
                requests=int(r.requests) if r is not None else 0,
                latency_avg=float(r.avg) if r is not None else None,
                latency_max=float(r.max) if r is not None else None,
                latency_p50=quantile(values, 0.5) if exact else None,
                latency_p95=quantile(values, 0.95) if exact else None,
            )
        )
    return out


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile, interpolated linearly between the closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _traffic_filter(model: str, role: str | None, deployment_id: str | None) -> list[Any]:
    where: list[Any] = [P.c.model == model]
    if role is not None:
        where.append(P.c.role == role)
    if deployment_id is not None:
        where.append(P.c.deployment_id == deployment_id)
    return where
