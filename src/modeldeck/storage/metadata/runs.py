"""Runs with their params, tags and metrics."""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.entities import Metric, Run, RunInput, RunStatus
from modeldeck.core.errors import Conflict, NotFound
from modeldeck.storage.db.tables import latest_metrics, metrics, params, runs, tags
from modeldeck.storage.metadata import datasets as dataset_rows
from modeldeck.storage.metadata.upsert import upsert

# (run_id, key, value, step, timestamp)
MetricRow = tuple[str, str, float, int, int]


# Statements on the hot path are built once; SQLAlchemy then reuses their compiled form.
_INSERT_RUN = sa.insert(runs)
_STATUS = sa.select(runs.c.status).where(runs.c.id == sa.bindparam("run_id"))
_STATUS_AND_USER = sa.select(runs.c.status, runs.c.user).where(runs.c.id == sa.bindparam("run_id"))
_SET_STATUS = (
    sa.update(runs)
    .where(runs.c.id == sa.bindparam("run_id"))
    .values(status=sa.bindparam("status"), end_time=sa.bindparam("end_time"))
)
_INSERT_METRICS = sa.insert(metrics)


def insert(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(_INSERT_RUN, dict(values))


def require(conn: Connection, run_id: str) -> RunStatus:
    """The status of ``run_id``; NotFound when there is no such run."""
    status = conn.execute(_STATUS, {"run_id": run_id}).scalar()
    if status is None:
        raise NotFound(f"no run with id {run_id!r}")
    return RunStatus(status)


def require_owned(conn: Connection, run_id: str) -> tuple[RunStatus, str]:
    """The status and the owner (the user who created it) of ``run_id``; NotFound when there is
    no such run."""
    row = conn.execute(_STATUS_AND_USER, {"run_id": run_id}).first()
    if row is None:
        raise NotFound(f"no run with id {run_id!r}")
    return RunStatus(row[0]), str(row[1])


def require_active(conn: Connection, run_id: str, action: str) -> None:
    status = require(conn, run_id)
    if status is not RunStatus.RUNNING:
        raise Conflict(f"cannot {action}: run {run_id} is {status.value}, not RUNNING")


def set_status(conn: Connection, run_id: str, status: RunStatus, end_time: int | None) -> None:
    done = conn.execute(
        _SET_STATUS, {"run_id": run_id, "status": status.value, "end_time": end_time}
    )
    if done.rowcount == 0:
        raise NotFound(f"no run with id {run_id!r}")


def log_params(conn: Connection, run_id: str, values: Mapping[str, str]) -> None:
    """Params are write-once: the same value again is fine, another value is a Conflict.

    The common case (all keys new) is one INSERT; existing keys are read only on a collision,
    and a Conflict rolls the whole batch back.
    """
    rows = [{"run_id": run_id, "key": k, "value": v} for k, v in values.items()]
    inserted = upsert(conn, params, rows, keys=("run_id", "key"), update=())
    if inserted == len(rows):
        return
    existing = dict(
        conn.execute(
            sa.select(params.c.key, params.c.value).where(
                params.c.run_id == run_id, params.c.key.in_(list(values))
            )
        ).all()
    )
    clashes = {k: (existing[k], v) for k, v in values.items() if k in existing and existing[k] != v}
    if clashes:
        detail = "; ".join(
            f"{k!r}: stored {old!r}, new {new!r}" for k, (old, new) in clashes.items()
        )
        raise Conflict(
            f"params are write-once and run {run_id} already has other values for {detail}. "
            "Log the new value under another key or start a new run."
        )
    new = [{"run_id": run_id, "key": k, "value": v} for k, v in values.items() if k not in existing]
    if new:
        conn.execute(sa.insert(params), new)


def set_tags(conn: Connection, run_id: str, values: Mapping[str, str]) -> None:
    rows = [{"run_id": run_id, "key": k, "value": v} for k, v in values.items()]
    upsert(conn, tags, rows, keys=("run_id", "key"), update=("value",))


def delete_tag(conn: Connection, run_id: str, key: str) -> None:
    conn.execute(sa.delete(tags).where(tags.c.run_id == run_id, tags.c.key == key))


def insert_metrics(conn: Connection, batch: Sequence[MetricRow]) -> None:
    """Append to the history and move each (run, key)'s latest value (caller's transaction)."""
    history = []
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for run_id, key, value, step, timestamp in batch:
        nan = math.isnan(value)
        row = {
            "run_id": run_id,
            "key": key,
            "value": 0.0 if nan else value,
            "is_nan": nan,
            "step": step,
            "timestamp": timestamp,
        }
        history.append(row)
        seen = latest.get((run_id, key))
        if seen is None or (step, timestamp) >= (seen["step"], seen["timestamp"]):
            latest[(run_id, key)] = row
    conn.execute(_INSERT_METRICS, history)
    upsert(
        conn,
        latest_metrics,
        list(latest.values()),
        keys=("run_id", "key"),
        update=("value", "is_nan", "step", "timestamp"),
        where=newer,
    )


def newer(excluded: Any) -> Any:
    """A value replaces the latest one from a higher step, or the same step and a later time."""
    return sa.or_(
        excluded.step > latest_metrics.c.step,
        sa.and_(
            excluded.step == latest_metrics.c.step,
            excluded.timestamp >= latest_metrics.c.timestamp,
        ),
    )


def metric_history(conn: Connection, run_id: str, key: str) -> list[Metric]:
    rows = conn.execute(
        sa.select(
            metrics.c.key, metrics.c.value, metrics.c.is_nan, metrics.c.step, metrics.c.timestamp
        )
        .where(metrics.c.run_id == run_id, metrics.c.key == key)
        .order_by(metrics.c.step, metrics.c.timestamp, metrics.c.id)
    ).all()
    return [
        Metric(
            key=r.key, value=math.nan if r.is_nan else r.value, step=r.step, timestamp=r.timestamp
        )
        for r in rows
    ]


def metric_keys(conn: Connection, run_id: str) -> list[str]:
    rows = conn.execute(
        sa.select(latest_metrics.c.key).where(latest_metrics.c.run_id == run_id).order_by("key")
    )
    return list(rows.scalars())


def load(conn: Connection, run_ids: Sequence[str], *, with_inputs: bool = True) -> list[Run]:
    """Whole runs, in the order of ``run_ids``, in four queries whatever their number.

    Rows are fetched whole and unpacked by position: this is the hot path of every search.
    """
    if not run_ids:
        return []
    ids = list(dict.fromkeys(run_ids))
    wanted = {"ids": ids}
    by_id, texts, latest = _by_ids(conn.dialect.name)
    rows = {r[0]: r for r in conn.execute(by_id, wanted).all()}
    run_params: dict[str, dict[str, str]] = defaultdict(dict)
    run_tags: dict[str, dict[str, str]] = defaultdict(dict)
    for kind, run_id, key, value in conn.execute(texts, wanted).all():
        (run_tags if kind else run_params)[run_id][key] = value
    run_metrics: dict[str, dict[str, float]] = defaultdict(dict)
    for run_id, key, value, is_nan in conn.execute(latest, wanted).all():
        run_metrics[run_id][key] = math.nan if is_nan else value
    inputs: Mapping[str, list[RunInput]] = dataset_rows.inputs_of(conn, ids) if with_inputs else {}
    out = []
    for run_id in ids:
        row = rows.get(run_id)
        if row is None:
            continue
        # _RUN_FIELDS are Run's leading fields, in order
        out.append(
            Run(
                row[0],
                str(row[1]),
                row[2],
                RunStatus(row[3]),
                *row[4:],  # type: ignore[misc]  # the row holds exactly the remaining fields
                params=run_params.get(run_id, {}),
                metrics=run_metrics.get(run_id, {}),
                tags=run_tags.get(run_id, {}),
                inputs=tuple(inputs.get(run_id, ())),
            )
        )
    return out


_RUN_FIELDS = (
    "id",
    "experiment_id",
    "name",
    "status",
    "user",
    "start_time",
    "end_time",
    "parent_id",
    "source",
    "entry_point",
    "git_commit",
    "git_dirty",
    "git_diff_digest",
    "python_version",
    "environment_digest",
    "host",
    "pid",
)


@functools.cache
def _by_ids(dialect: str) -> tuple[Any, Any, Any]:
    """The three statements of :func:`load`, for ``dialect``: PostgreSQL takes the ids as one
    array (``= ANY(:ids)``), which it plans as index lookups and SQLAlchemy need not re-render
    per call (100 ids: 15 → 7 ms); SQLite gets an expanding IN."""
    ids: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        array = sa.bindparam("ids", type_=ARRAY(sa.String))

        def among(column: Any) -> Any:
            return column == sa.func.any(array)
    else:
        ids = sa.bindparam("ids", expanding=True)

        def among(column: Any) -> Any:
            return column.in_(ids)

    by_id = sa.select(*(runs.c[name] for name in _RUN_FIELDS)).where(among(runs.c.id))
    texts = sa.union_all(
        sa.select(sa.literal(0), params.c.run_id, params.c.key, params.c.value).where(
            among(params.c.run_id)
        ),
        sa.select(sa.literal(1), tags.c.run_id, tags.c.key, tags.c.value).where(
            among(tags.c.run_id)
        ),
    )
    latest = sa.select(
        latest_metrics.c.run_id,
        latest_metrics.c.key,
        latest_metrics.c.value,
        latest_metrics.c.is_nan,
    ).where(among(latest_metrics.c.run_id))
    return by_id, texts, latest


def get(conn: Connection, run_id: str) -> Run:
    found = load(conn, [run_id])
    if not found:
        raise NotFound(f"no run with id {run_id!r}; `modeldeck runs list` shows recent runs")
    return found[0]


def children(conn: Connection, run_id: str) -> list[str]:
    rows = conn.execute(
        sa.select(runs.c.id).where(runs.c.parent_id == run_id).order_by(runs.c.start_time)
    )
    return list(rows.scalars())


def running(conn: Connection, host: str | None = None) -> list[tuple[str, str | None, int | None]]:
    """(run id, host, pid) of every RUNNING run, optionally on one host."""
    query = sa.select(runs.c.id, runs.c.host, runs.c.pid).where(
        runs.c.status == RunStatus.RUNNING.value
    )
    if host is not None:
        query = query.where(runs.c.host == host)
    return [(r.id, r.host, r.pid) for r in conn.execute(query)]


def _by_run(conn: Connection, table: sa.Table, ids: Iterable[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    query = sa.select(table.c.run_id, table.c.key, table.c.value).where(
        table.c.run_id.in_(list(ids))
    )
    for r in conn.execute(query):
        out[r.run_id][r.key] = r.value
    return out
