"""Monitoring rows: labels, model references, monitors, their windows and alerts.

JSON columns are read whole and never queried inside, so they are plain text on both
databases. Window metrics hold ``null`` for a metric that could not be computed (no labels,
one class), never NaN.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.errors import NotFound
from modeldeck.core.monitoring import Alert, Monitor, Reference, WindowResult
from modeldeck.storage.db.tables import alerts as A
from modeldeck.storage.db.tables import labels as L
from modeldeck.storage.db.tables import model_references as R
from modeldeck.storage.db.tables import monitor_windows as W
from modeldeck.storage.db.tables import monitors as M
from modeldeck.storage.db.tables import predictions as P
from modeldeck.storage.metadata.upsert import upsert


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# labels ----------------------------------------------------------------------------------------


def upsert_labels(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert or replace labels (``request_id``, ``row``, ``label`` as JSON text, ...)."""
    return upsert(conn, L, rows, ("request_id", "row"), ("label", "logged_at", "logged_by"))


def labeled_window(
    conn: Connection,
    *,
    model: str,
    deployment_id: str | None,
    since: int | None,
    until: int | None,
    after_id: int | None = None,
    limit: int | None = None,
    role: str = "primary",
) -> Iterator[Any]:
    """Predictions of a window with their label (None when none arrived), by time then id;
    rows carry ``id, request_id, row, version, time, inputs, outputs, label``."""
    query = (
        sa.select(
            P.c.id,
            P.c.request_id,
            P.c.row,
            P.c.version,
            P.c.time,
            P.c.inputs,
            P.c.outputs,
            L.c.label,
        )
        .select_from(P.outerjoin(L, sa.and_(L.c.request_id == P.c.request_id, L.c.row == P.c.row)))
        .where(P.c.model == model, P.c.role == role)
    )
    if deployment_id is not None:
        query = query.where(P.c.deployment_id == deployment_id)
    if since is not None:
        query = query.where(P.c.time >= since)
    if until is not None:
        query = query.where(P.c.time < until)
    if after_id is not None:
        query = query.where(P.c.id > after_id).order_by(P.c.id)
    else:
        query = query.order_by(P.c.time, P.c.id)
    if limit is not None:
        query = query.limit(limit)
    yield from conn.execute(query)


def first_prediction_time(conn: Connection, model: str, deployment_id: str | None) -> int | None:
    query = sa.select(sa.func.min(P.c.time)).where(P.c.model == model, P.c.role == "primary")
    if deployment_id is not None:
        query = query.where(P.c.deployment_id == deployment_id)
    return conn.execute(query).scalar()


def label_counts(conn: Connection, window_ids: Sequence[int]) -> dict[int, int]:
    """How many rows of each stored window have a label now (for prediction windows)."""
    if not window_ids:
        return {}
    join = (
        W.join(M, M.c.id == W.c.monitor_id)
        .join(
            P,
            sa.and_(
                P.c.model == W.c.model,
                P.c.role == "primary",
                P.c.time >= W.c.window_start,
                P.c.time < W.c.window_end,
                sa.or_(M.c.deployment_id.is_(None), P.c.deployment_id == M.c.deployment_id),
            ),
        )
        .join(L, sa.and_(L.c.request_id == P.c.request_id, L.c.row == P.c.row))
    )
    query = (
        sa.select(W.c.id, sa.func.count())
        .select_from(join)
        .where(W.c.id.in_(list(window_ids)))
        .group_by(W.c.id)
    )
    return {int(i): int(n) for i, n in conn.execute(query)}


# references ------------------------------------------------------------------------------------


def insert_reference(conn: Connection, values: Mapping[str, Any]) -> None:
    upsert(conn, R, [{**values, "profile": dumps(values["profile"])}], ("model", "version"), ())


def reference(conn: Connection, model: str, version: int) -> Reference | None:
    found = conn.execute(sa.select(R).where(R.c.model == model, R.c.version == version)).first()
    if found is None:
        return None
    return Reference(
        model=found.model,
        version=found.version,
        dataset_name=found.dataset_name,
        dataset_digest=found.dataset_digest,
        data_digest=found.data_digest,
        predictions_digest=found.predictions_digest,
        rows=found.rows,
        profile=json.loads(found.profile),
        created_at=found.created_at,
    )


# monitors --------------------------------------------------------------------------------------


def insert_monitor(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(sa.insert(M).values(**{**values, "config": dumps(values["config"])}))


def update_monitor(conn: Connection, monitor_id: str, values: Mapping[str, Any]) -> None:
    changes = dict(values)
    if "config" in changes:
        changes["config"] = dumps(changes["config"])
    conn.execute(sa.update(M).where(M.c.id == monitor_id).values(**changes))


def monitor(conn: Connection, model: str, *, lock: bool = False) -> Monitor:
    found = find_monitor(conn, model, lock=lock)
    if found is None:
        raise NotFound(
            f"model {model!r} has no monitor; create one with `modeldeck monitor create {model}`"
        )
    return found


def find_monitor(conn: Connection, model: str, *, lock: bool = False) -> Monitor | None:
    query = sa.select(M).where(M.c.model == model)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    found = conn.execute(query).first()
    return None if found is None else _monitor(found)


def monitors(conn: Connection) -> list[Monitor]:
    return [_monitor(r) for r in conn.execute(sa.select(M).order_by(M.c.model))]


def _monitor(r: Any) -> Monitor:
    return Monitor(
        id=r.id,
        model=r.model,
        deployment_id=r.deployment_id,
        window=r.window,
        origin=r.origin,
        config=json.loads(r.config),
        created_by=r.created_by,
        created_at=r.created_at,
        updated_at=r.updated_at,
        cursor_end=r.cursor_end,
        cursor_id=r.cursor_id,
    )


# windows ---------------------------------------------------------------------------------------


def insert_window(conn: Connection, values: Mapping[str, Any]) -> int:
    """Store a closed window; return its id (an existing window of the same start is kept)."""
    row = {**values, "metrics": dumps(values["metrics"]), "detail": dumps(values["detail"])}
    upsert(conn, W, [row], ("monitor_id", "source", "window_start"), ())
    found = conn.execute(
        sa.select(W.c.id).where(
            W.c.monitor_id == values["monitor_id"],
            W.c.source == values["source"],
            W.c.window_start == values["window_start"],
        )
    ).scalar_one()
    return int(found)


def update_window(conn: Connection, window_id: int, values: Mapping[str, Any]) -> None:
    changes = dict(values)
    for key in ("metrics", "detail"):
        if key in changes:
            changes[key] = dumps(changes[key])
    conn.execute(sa.update(W).where(W.c.id == window_id).values(**changes))


def windows(
    conn: Connection,
    monitor_id: str,
    *,
    source: str | None = None,
    since: int | None = None,
    until: int | None = None,
    limit: int = 1000,
) -> list[WindowResult]:
    """Oldest first; ``since``/``until`` bound the window's end (inclusive/exclusive)."""
    query = sa.select(W).where(W.c.monitor_id == monitor_id)
    if source is not None:
        query = query.where(W.c.source == source)
    if since is not None:
        query = query.where(W.c.window_end >= since)
    if until is not None:
        query = query.where(W.c.window_end < until)
    latest = query.order_by(W.c.window_end.desc(), W.c.id.desc()).limit(limit)
    return [_window(r) for r in reversed(conn.execute(latest).all())]


def window(conn: Connection, window_id: int) -> WindowResult:
    found = conn.execute(sa.select(W).where(W.c.id == window_id)).first()
    if found is None:
        raise NotFound(f"no monitor window with id {window_id}")
    return _window(found)


def _window(r: Any) -> WindowResult:
    return WindowResult(
        id=r.id,
        monitor_id=r.monitor_id,
        model=r.model,
        version=r.version,
        source=r.source,
        start=r.window_start,
        end=r.window_end,
        rows=r.rows,
        metrics=json.loads(r.metrics),
        detail=json.loads(r.detail),
        labeled=r.labeled,
        computed_at=r.computed_at,
    )


# alerts ----------------------------------------------------------------------------------------


def insert_alert(conn: Connection, values: Mapping[str, Any]) -> int | None:
    """Record a firing; None when this rule already fired on this window."""
    inserted = upsert(
        conn, A, [{**values, "detail": dumps(values["detail"])}], ("window_id", "rule"), ()
    )
    if not inserted:
        return None
    found = conn.execute(
        sa.select(A.c.id).where(A.c.window_id == values["window_id"], A.c.rule == values["rule"])
    ).scalar_one()
    return int(found)


def update_alert(conn: Connection, alert_id: int, detail: Mapping[str, Any]) -> None:
    conn.execute(sa.update(A).where(A.c.id == alert_id).values(detail=dumps(detail)))


def alert(conn: Connection, alert_id: int, *, lock: bool = False) -> Alert:
    query = sa.select(A).where(A.c.id == alert_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    found = conn.execute(query).first()
    if found is None:
        raise NotFound(f"no alert with id {alert_id}")
    return _alert(found)


def alerts(
    conn: Connection, *, model: str | None = None, since: int | None = None, limit: int = 100
) -> list[Alert]:
    """Newest first."""
    query = sa.select(A)
    if model is not None:
        query = query.where(A.c.model == model)
    if since is not None:
        query = query.where(A.c.fired_at >= since)
    query = query.order_by(A.c.fired_at.desc(), A.c.id.desc()).limit(limit)
    return [_alert(r) for r in conn.execute(query)]


def _alert(r: Any) -> Alert:
    return Alert(
        id=r.id,
        monitor_id=r.monitor_id,
        model=r.model,
        window_id=r.window_id,
        rule=r.rule,
        action=r.action,
        value=r.value,
        fired_at=r.fired_at,
        detail=json.loads(r.detail),
    )
