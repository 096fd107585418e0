"""From stored windows and alerts to what people read: the status of a monitor and the
HTML report (:mod:`modeldeck.monitoring.reports` renders it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modeldeck.core.monitoring import Alert, Monitor, WindowResult
from modeldeck.monitoring import reports


@dataclass(frozen=True)
class Status:
    """A monitor, its latest windows (oldest first) and its recent alerts (newest first)."""

    monitor: Monitor
    windows: list[WindowResult]
    alerts: list[Alert]

    @property
    def latest(self) -> WindowResult | None:
        with_rows = [w for w in self.windows if w.rows]
        return with_rows[-1] if with_rows else (self.windows[-1] if self.windows else None)


def build_report(
    monitor: Monitor,
    windows: Sequence[WindowResult],
    alerts: Sequence[Alert],
    *,
    focus: WindowResult | None,
    now: int,
) -> reports.Report:
    """The report of ``focus`` (the latest window with rows by default) with the trend of
    ``windows`` and the ``alerts``."""
    if focus is None:
        focus = next((w for w in reversed(windows) if w.rows), None)
    detail: Mapping[str, Any] = focus.detail if focus is not None else {}
    columns = [_section(c) for c in detail.get("columns", [])]
    prediction = _section(detail["prediction"]) if detail.get("prediction") else None
    metrics = focus.metrics if focus is not None else {}
    share = metrics.get("drift_share")
    threshold = float(detail.get("share_threshold", monitor.config.get("share_threshold", 0.5)))
    notes = [f"{name}: not compared ({why})" for name, why in detail.get("errors", {}).items()]
    if focus is None:
        notes.append("no window with predictions has closed yet")
    current = "no closed window yet"
    if focus is not None:
        where = (
            f"predictions of deployment {monitor.deployment_id}"
            if monitor.deployment_id
            else f"predictions of {monitor.model}"
        )
        if focus.source == "batch":
            where = "a batch checked with `modeldeck monitor check`"
        current = f"{where}, {_day(focus.start)} – {_day(focus.end - 1)}, {focus.rows:,} rows"
    return reports.Report(
        model=monitor.model,
        version=focus.version if focus is not None else None,
        reference=str(detail.get("reference", "the training data of the served version")),
        current=current,
        generated_at=now,
        window_start=focus.start if focus is not None else None,
        window_end=focus.end if focus is not None else None,
        columns=columns,
        share_drifted=float(share) if share is not None else 0.0,
        share_threshold=threshold,
        dataset_drifted=bool(metrics.get("dataset_drift")),
        prediction=prediction,
        quality=[
            reports.QualityIssue(
                column=q.get("column"),
                kind=str(q.get("kind")),
                count=int(q.get("count") or 0),
                share=float(q.get("share") or 0.0),
                detail=str(q.get("detail") or ""),
            )
            for q in detail.get("quality", [])
        ],
        trend=[
            reports.WindowPoint(
                start=w.start,
                end=w.end,
                rows=w.rows,
                drift_share=w.metrics.get("drift_share"),
                dataset_drift=None
                if w.metrics.get("dataset_drift") is None
                else bool(w.metrics.get("dataset_drift")),
                metrics={k: w.metrics.get(k) for k in TREND_METRICS if k in w.metrics},
            )
            for w in windows
            if w.source == "predictions"
        ],
        alerts=[
            reports.AlertLine(
                fired_at=a.fired_at,
                rule=a.rule,
                value=a.value,
                window_start=int(a.detail.get("window_start", 0)),
                window_end=int(a.detail.get("window_end", 0)),
                action=a.action,
                detail=_alert_detail(a),
            )
            for a in alerts
        ],
        notes=notes,
    )


TREND_METRICS = (
    "auc",
    "accuracy",
    "f1",
    "rmse",
    "mae",
    "r2",
    "label_coverage",
    "prediction_drift_score",
    "missing_share",
)


def _section(column: Mapping[str, Any]) -> reports.ColumnSection:
    raw = column.get("distribution") or {}
    distribution = None
    if raw.get("reference") is not None:
        distribution = reports.Distribution(
            kind=str(raw.get("kind", column.get("kind"))),
            edges=tuple(raw.get("edges", ())),
            labels=tuple(str(label) for label in raw.get("labels", ())),
            reference=tuple(raw.get("reference", ())),
            current=tuple(raw.get("current", ())),
        )
    score = column.get("score")
    return reports.ColumnSection(
        name=str(column.get("name")),
        kind=str(column.get("kind")),
        method=str(column.get("method")),
        score=float("nan") if score is None else float(score),
        threshold=float(column.get("threshold", 0.0)),
        drifted=bool(column.get("drifted")),
        distribution=distribution,
        reference_summary=dict(column.get("reference_summary", {})),
        current_summary=dict(column.get("current_summary", {})),
    )


def _alert_detail(alert: Alert) -> str:
    parts = []
    deliveries = alert.detail.get("deliveries", [])
    if deliveries:
        ok = sum(1 for d in deliveries if d.get("delivered"))
        parts.append(f"webhooks {ok}/{len(deliveries)} delivered")
    retraining = alert.detail.get("retraining")
    if isinstance(retraining, Mapping):
        if retraining.get("error"):
            parts.append(f"retraining failed: {retraining['error']}")
        elif retraining.get("version") is not None:
            gates = {True: "passed", False: "failed", None: "not evaluated"}[
                retraining.get("passed")
            ]
            parts.append(
                f"retrained: version {retraining['version']} "
                f"(run {str(retraining.get('run_id'))[:8]}), "
                f"gates {gates}"
                + (f", alias {retraining['alias']}" if retraining.get("alias") else "")
            )
    return "; ".join(parts)


def _day(millis: int) -> str:
    return dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC).strftime("%Y-%m-%d")
