"""Production: what is deployed (traffic split, liveness), and per model its requests and
latency from the prediction log, drift per column over closed windows, quality, alerts and
the HTML report.

The monitoring services are the server's (``monitors_of``): the page reads what the API
reads, and the report is the API's report route, called with the signed-in user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from modeldeck.core.deployment import Deployment
from modeldeck.core.errors import InvalidInput, NotFound
from modeldeck.core.monitoring import PERFORMANCE_METRICS, Alert, Monitor, WindowResult
from modeldeck.monitoring.overview import Status
from modeldeck.server.routes.monitoring import Mons
from modeldeck.server.state import Services, services
from modeldeck.serving.deployments import Deployments
from modeldeck.storage.metadata import predictions as prediction_rows
from modeldeck.ui.router import render
from modeldeck.ui.session import Signed

router = APIRouter(include_in_schema=False)
Svc = Annotated[Services, Depends(services)]
ModelParam = Annotated[str, PathParam(min_length=1, max_length=250)]
Millis = Annotated[int | None, Query(ge=0, le=2**53)]

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
# bucket widths a period is cut into, the narrowest giving at most TARGET_BUCKETS
BUCKETS = (MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY)
TARGET_BUCKETS = 120
DEFAULT_SPAN = 7 * DAY
DRIFT_COLUMNS_WINDOWS = 12
MAX_WINDOWS = 1000
MAX_ALERTS = 50
MAX_DEPLOYMENTS = 200
# what the performance chart draws: how right the model is (not how many rows had labels)
MODEL_METRICS = PERFORMANCE_METRICS - {"rows", "label_coverage"}


# --- pages -------------------------------------------------------------------------------------


@router.get("/ui/production", response_class=HTMLResponse)
def production_page(request: Request, viewer: Signed, svc: Svc, monitors: Mons) -> HTMLResponse:
    now = svc.clock()
    found = Deployments(svc.db, svc.clock).search(include_stopped=True)[:MAX_DEPLOYMENTS]
    watched = []
    for monitor in monitors.all():
        windows = monitors.windows(monitor.model, limit=DRIFT_COLUMNS_WINDOWS)
        latest = Status(monitor, windows, []).latest
        watched.append(
            {
                "model": monitor.model,
                "window": monitor.window,
                "deployment": monitor.deployment_id,
                "rules": len(monitor.rules),
                "latest": _window_line(latest),
                "drifted": bool(latest and latest.metrics.get("dataset_drift")),
            }
        )
    return render(
        request,
        viewer,
        "production.html",
        section="production",
        deployments=[_deployment(d, now) for d in found],
        monitors=watched,
    )


@router.get("/ui/production/{model}", response_class=HTMLResponse)
def model_page(
    request: Request, viewer: Signed, svc: Svc, monitors: Mons, model: ModelParam
) -> HTMLResponse:
    now = svc.clock()
    monitor = _monitor_or_none(monitors, model)
    deployed = Deployments(svc.db, svc.clock).search(include_stopped=True, model=model)
    with svc.db.read() as conn:
        logged = prediction_rows.time_range(conn, model=model) is not None
    if monitor is None and not deployed and not logged:
        return render(
            request,
            viewer,
            "production_model.html",
            section="production",
            status_code=404,
            model=model,
            missing=True,
        )
    windows = _windows(monitors, model) if monitor is not None else []
    alerts = monitors.alerts(model, limit=MAX_ALERTS) if monitor is not None else []
    latest = Status(monitor, windows, alerts).latest if monitor is not None else None
    return render(
        request,
        viewer,
        "production_model.html",
        section="production",
        model=model,
        missing=False,
        monitor=_monitor_facts(monitor) if monitor is not None else None,
        deployments=[_deployment(d, now) for d in deployed[:MAX_DEPLOYMENTS]],
        drift=_drift_table(windows),
        latest=_window_line(latest),
        quality=_quality(latest),
        alerts=[_alert(a) for a in alerts],
        performance=_performance_metrics(windows),
    )


@router.get("/ui/production/{model}/report", response_class=HTMLResponse)
def report_page(
    viewer: Signed,
    monitors: Mons,
    model: ModelParam,
    window_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> HTMLResponse:
    """The monitor's self-contained HTML report, as ``/api/v1/monitors/{model}/report``."""
    from modeldeck.monitoring.reports import render_html

    report = HTMLResponse(render_html(monitors.report(model, window_id=window_id)))
    # a document with nothing to fetch: it may not run scripts or load anything
    report.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    )
    return report


# --- JSON for the charts -----------------------------------------------------------------------


@router.get("/ui/api/production/{model}/traffic")
def traffic(
    viewer: Signed,
    svc: Svc,
    model: ModelParam,
    since: Millis = None,
    until: Millis = None,
    role: Annotated[str, Query(pattern="^(primary|canary|shadow)$")] = "primary",
) -> dict[str, Any]:
    """Requests and latency per bucket of the period (by default the last 7 days of logged
    predictions), the bucket width chosen from the period."""
    with svc.db.read() as conn:
        start, end = _period(conn, model, role, since, until, svc.clock())
        bucket = bucket_for(end - start)
        found = prediction_rows.traffic(
            conn, model=model, since=start, until=end, bucket_ms=bucket, role=role
        )
    minutes = bucket / MINUTE
    return {
        "model": model,
        "role": role,
        "since": start,
        "until": end,
        "bucket_ms": bucket,
        "buckets": [
            {
                "start": b.start,
                "requests": b.requests,
                "rows": b.rows,
                "rate_per_min": b.requests / minutes,
                "latency_avg": b.latency_avg,
                "latency_p50": b.latency_p50,
                "latency_p95": b.latency_p95,
                "latency_max": b.latency_max,
            }
            for b in found
        ],
    }


@router.get("/ui/api/production/{model}/drift")
def drift(viewer: Signed, monitors: Mons, model: ModelParam) -> dict[str, Any]:
    """Every closed window of the prediction log (oldest first) with its drift share and
    performance, the threshold, and the drift score per column of the latest windows."""
    monitor = monitors.get(model)
    windows = _windows(monitors, model)
    return {
        "model": model,
        "threshold": _threshold(monitor),
        "windows": [
            {
                "id": w.id,
                "start": w.start,
                "end": w.end,
                "rows": w.rows,
                "version": w.version,
                "drift_share": w.metrics.get("drift_share"),
                "dataset_drift": w.metrics.get("dataset_drift"),
                "metrics": {
                    k: w.metrics.get(k)
                    for k in sorted(PERFORMANCE_METRICS - {"rows"})
                    if k in w.metrics
                },
            }
            for w in windows
        ],
        "columns": _drift_table(windows)["columns"],
    }


# --- helpers -----------------------------------------------------------------------------------


def bucket_for(span_ms: int) -> int:
    """The narrowest width that cuts ``span_ms`` into at most TARGET_BUCKETS buckets."""
    for width in BUCKETS:
        if span_ms <= width * TARGET_BUCKETS:
            return width
    days = -(-span_ms // (DAY * TARGET_BUCKETS))
    return days * DAY


def _period(
    conn: Any, model: str, role: str, since: int | None, until: int | None, now: int
) -> tuple[int, int]:
    """``since``/``until`` as asked; what is missing is taken from the log: the period ends
    after the last prediction (a stopped deployment still shows its traffic) and spans at
    most DEFAULT_SPAN."""
    if since is None or until is None:
        logged = prediction_rows.time_range(conn, model=model, role=role)
        if until is None:
            until = logged[1] + 1 if logged else now
        if since is None:
            first = logged[0] if logged else until - DAY
            since = max(first, until - DEFAULT_SPAN)
    if until <= since:
        raise InvalidInput(f"until ({until}) must be after since ({since})")
    return since, until


def _monitor_or_none(monitors: Any, model: str) -> Monitor | None:
    try:
        found: Monitor = monitors.get(model)
    except NotFound:
        return None
    return found


def _windows(monitors: Any, model: str) -> list[WindowResult]:
    found: list[WindowResult] = monitors.windows(model, source="predictions", limit=MAX_WINDOWS)
    return found


def _threshold(monitor: Monitor) -> float:
    return float(monitor.config.get("share_threshold", 0.5))


def _deployment(d: Deployment, now: int) -> dict[str, Any]:
    served = [{"role": "primary", "version": d.version, "reference": d.reference, "share": None}]
    if d.canary_reference:
        served.append(
            {
                "role": "canary",
                "version": d.canary_version,
                "reference": d.canary_reference,
                "share": f"{d.canary_share * 100:g}%",
            }
        )
        served[0]["share"] = f"{(1 - d.canary_share) * 100:g}%"
    if d.shadow_reference:
        served.append(
            {
                "role": "shadow",
                "version": d.shadow_version,
                "reference": d.shadow_reference,
                "share": "mirror",
            }
        )
    return {
        "id": d.id,
        "model": d.model,
        "reference": d.reference,
        "served": served,
        "status": d.status(now),
        "workers": d.workers,
        "address": d.address,
        "started_by": d.started_by,
        "started_at": when(d.started_at),
        "last_seen": when(d.last_seen),
    }


def _monitor_facts(monitor: Monitor) -> dict[str, Any]:
    return {
        "window": monitor.window,
        "deployment": monitor.deployment_id,
        "threshold": _threshold(monitor),
        "rules": [f"{r.get('rule')} → {r.get('action', 'notify')}" for r in monitor.rules],
        "webhooks": [str(w.get("url")) for w in monitor.webhooks],
        "retraining": bool(monitor.retraining),
        "created_by": monitor.created_by,
    }


def _window_line(window: WindowResult | None) -> dict[str, Any] | None:
    if window is None:
        return None
    share = window.metrics.get("drift_share")
    return {
        "id": window.id,
        "start": when(window.start),
        "end": when(window.end),
        "rows": window.rows,
        "version": window.version,
        "drift_share": None if share is None else f"{share:.0%}",
    }


def _drift_table(windows: Sequence[WindowResult]) -> dict[str, Any]:
    """Rows: columns; columns: the latest windows with rows (up to 12, oldest first)."""
    shown = [w for w in windows if w.rows and w.detail.get("columns")][-DRIFT_COLUMNS_WINDOWS:]
    names: list[str] = []
    cells: dict[str, dict[int, Mapping[str, Any]]] = {}
    for window in shown:
        for column in window.detail.get("columns", []):
            name = str(column.get("name"))
            if name not in cells:
                names.append(name)
                cells[name] = {}
            cells[name][window.id] = column
    return {
        "windows": [
            {"id": w.id, "start": w.start, "label": when(w.start, "%m-%d %H:%M")} for w in shown
        ],
        "columns": [
            {
                "name": name,
                "method": next((str(c.get("method")) for c in cells[name].values()), ""),
                "cells": [_cell(cells[name].get(w.id)) for w in shown],
            }
            for name in names
        ],
    }


def _cell(column: Mapping[str, Any] | None) -> dict[str, Any]:
    if column is None:
        return {"score": None, "drifted": None, "text": "–", "threshold": None}
    score = column.get("score")
    return {
        "score": score,
        "drifted": bool(column.get("drifted")),
        "threshold": column.get("threshold"),
        "text": "n/a" if score is None else f"{float(score):.3g}",
    }


def _quality(window: WindowResult | None) -> list[dict[str, Any]]:
    if window is None:
        return []
    return [
        {
            "column": q.get("column") or "(all)",
            "kind": q.get("kind"),
            "count": q.get("count"),
            "share": "" if q.get("share") is None else f"{float(q['share']):.1%}",
            "detail": q.get("detail") or "",
        }
        for q in window.detail.get("quality", [])
    ]


def _alert(alert: Alert) -> dict[str, Any]:
    deliveries = list(alert.detail.get("deliveries", []))
    delivered = sum(1 for d in deliveries if d.get("delivered"))
    return {
        "id": alert.id,
        "fired_at": when(alert.fired_at),
        "rule": alert.rule,
        "value": "" if alert.value is None else f"{alert.value:.4g}",
        "action": alert.action,
        "window": when(int(alert.detail.get("window_start", 0)), "%Y-%m-%d %H:%M"),
        "deliveries": f"{delivered}/{len(deliveries)} delivered" if deliveries else "none",
        "deliveries_ok": delivered == len(deliveries),
        "retraining": _retraining(alert.detail.get("retraining")),
    }


def _retraining(outcome: object) -> dict[str, str] | None:
    """What the retraining after an alert did, in words and a tone (ok, bad, pending)."""
    if not isinstance(outcome, Mapping):
        return None
    if outcome.get("pending"):
        return {"text": "pending", "tone": "warn"}
    if outcome.get("error"):
        return {"text": f"failed: {outcome['error']}", "tone": "bad"}
    if outcome.get("version") is None:
        return {"text": "no version registered", "tone": "warn"}
    passed = outcome.get("passed")
    gates = "gates passed" if passed is True else "gates failed" if passed is False else "no gates"
    alias = f", alias {outcome['alias']}" if outcome.get("alias") else ""
    return {
        "text": f"version {outcome['version']}, {gates}{alias}",
        "tone": "bad" if passed is False else "ok",
    }


def _performance_metrics(windows: Sequence[WindowResult]) -> list[str]:
    """The performance metrics some window has a value of, in a stable order."""
    seen = {k for w in windows for k, v in w.metrics.items() if v is not None}
    return sorted(seen & MODEL_METRICS)


def when(millis: int, pattern: str = "%Y-%m-%d %H:%M:%S") -> str:
    return dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC).strftime(pattern)
