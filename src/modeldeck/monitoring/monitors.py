"""Monitors: one per model, closing windows over its prediction log (or checking a batch),
recording what each window measured and the alerts its rules fired.

A window closes when its end has passed (time windows, aligned on the monitor's origin) or
when it holds its number of rows (count windows). Its drift and quality are computed then
and never change; its performance is computed again whenever more of its labels have
arrived, since labels come late. Rules are evaluated on every window that closed or gained
labels, and fire at most once per window. Configuration changes are audited; windows and
alerts are records of measurement, not changes of state, and are not.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modeldeck.core import validation as check
from modeldeck.core.errors import AlreadyExists, InvalidInput, NotFound
from modeldeck.core.monitoring import ACTIONS, Alert, Monitor, WindowResult
from modeldeck.monitoring import drift
from modeldeck.monitoring.analysis import (
    ReferenceData,
    Settings,
    analyse,
    frame_from_inputs,
    performance,
    scores_of,
)
from modeldeck.monitoring.references import References
from modeldeck.monitoring.rules import PERFORMANCE_METRICS, Rule, parse_rule
from modeldeck.monitoring.webhooks import check_url
from modeldeck.monitoring.windows import parse_window, time_windows
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import audit
from modeldeck.storage.metadata import monitoring as rows
from modeldeck.storage.metadata import registry as registry_rows

if TYPE_CHECKING:
    import pandas as pd

    from modeldeck.monitoring import reports
    from modeldeck.monitoring.sources import Source

DAY_MS = 86_400_000
MAX_WINDOW_ROWS = 1_000_000
DEFAULT_WINDOW = "1d"


def subject(model: str) -> str:
    return f"models:/{model}"


@dataclass(frozen=True)
class Pass:
    """What one pass of a monitor did: the windows it closed, the earlier windows whose
    performance it updated with new labels, and the alerts that fired."""

    closed: list[WindowResult]
    refreshed: list[WindowResult]
    alerts: list[Alert]


class Monitors:
    def __init__(self, db: Database, clock: Callable[[], int], references: References) -> None:
        self.db = db
        self.clock = clock
        self.references = references

    # configuration ---------------------------------------------------------------------------

    def create(
        self,
        model: str,
        actor: str,
        *,
        window: str = DEFAULT_WINDOW,
        deployment_id: str | None = None,
        origin: int | None = None,
        share_threshold: float = drift.SHARE_THRESHOLD,
        methods: Mapping[str, str] | None = None,
        thresholds: Mapping[str, float] | None = None,
    ) -> Monitor:
        spec = parse_window(window)
        if origin is not None:
            check_millis(origin, "origin")
        config = {
            "share_threshold": _share(share_threshold),
            "methods": _methods(methods),
            "thresholds": _thresholds(thresholds, methods),
            "rules": [],
            "webhooks": [],
        }
        now = self.clock()
        with self.db.write() as conn:
            registry_rows.model_row(conn, check.check_name(model, "model name"))
            if rows.find_monitor(conn, model) is not None:
                raise AlreadyExists(
                    f"model {model!r} already has a monitor; see it with "
                    f"`modeldeck monitor status {model}` and change its rules with "
                    f"`modeldeck monitor rule add {model} ...`"
                )
            values = {
                "id": uuid.uuid4().hex,
                "model": model,
                "deployment_id": deployment_id,
                "window": str(spec),
                "origin": origin or 0,
                "config": config,
                "created_by": actor,
                "created_at": now,
                "updated_at": now,
            }
            rows.insert_monitor(conn, values)
            after = {k: values[k] for k in ("window", "deployment_id", "origin")}
            audit.append(
                conn,
                actor=actor,
                action="monitor.create",
                subject=subject(model),
                at=now,
                after={**after, "share_threshold": config["share_threshold"]},
            )
            return rows.monitor(conn, model)

    def get(self, model: str) -> Monitor:
        with self.db.read() as conn:
            return rows.monitor(conn, model)

    def all(self) -> list[Monitor]:
        with self.db.read() as conn:
            return rows.monitors(conn)

    def add_rule(self, model: str, text: str, actor: str, *, action: str = "notify") -> Monitor:
        if action not in ACTIONS:
            raise InvalidInput(f"unknown rule action {action!r}; use one of {', '.join(ACTIONS)}")
        rule = parse_rule(text)

        def change(config: dict[str, Any]) -> dict[str, Any]:
            if any(r["rule"] == rule.text for r in config["rules"]):
                raise AlreadyExists(f"model {model!r} already has the rule {rule.text!r}")
            if action == "retrain" and not config.get("retraining"):
                raise InvalidInput(
                    f"a retrain rule needs a retraining job: register one first with "
                    f"`modeldeck monitor retraining {model} --entry-point module:function`"
                )
            config["rules"].append({"rule": rule.text, "action": action})
            return {"rule": rule.text, "action": action}

        return self._configure(model, actor, "monitor.rule.add", change)

    def remove_rule(self, model: str, text: str, actor: str) -> Monitor:
        wanted = parse_rule(text).text

        def change(config: dict[str, Any]) -> dict[str, Any]:
            kept = [r for r in config["rules"] if r["rule"] != wanted]
            if len(kept) == len(config["rules"]):
                raise NotFound(f"model {model!r} has no rule {wanted!r}")
            config["rules"] = kept
            return {"rule": wanted}

        return self._configure(model, actor, "monitor.rule.remove", change)

    def add_webhook(
        self, model: str, url: str, actor: str, *, secret: str | None = None
    ) -> Monitor:
        url = check_url(url)
        if secret is not None and (not isinstance(secret, str) or len(secret) < 16):
            raise InvalidInput("a webhook secret must be text of at least 16 characters")

        def change(config: dict[str, Any]) -> dict[str, Any]:
            config["webhooks"] = [w for w in config["webhooks"] if w["url"] != url]
            config["webhooks"].append({"url": url, "secret": secret})
            return {"url": url, "signed": secret is not None}  # never the secret itself

        return self._configure(model, actor, "monitor.webhook.add", change)

    def remove_webhook(self, model: str, url: str, actor: str) -> Monitor:
        def change(config: dict[str, Any]) -> dict[str, Any]:
            kept = [w for w in config["webhooks"] if w["url"] != url]
            if len(kept) == len(config["webhooks"]):
                raise NotFound(f"model {model!r} has no webhook {url!r}")
            config["webhooks"] = kept
            return {"url": url}

        return self._configure(model, actor, "monitor.webhook.remove", change)

    def set_retraining(self, model: str, job: Mapping[str, Any], actor: str) -> Monitor:
        from modeldeck.monitoring.retraining import check_job

        clean = check_job(job)

        def change(config: dict[str, Any]) -> dict[str, Any]:
            config["retraining"] = clean
            return {k: v for k, v in clean.items() if k != "policy"} | {
                "policy": clean.get("policy") is not None
            }

        return self._configure(model, actor, "monitor.retraining.set", change)

    def set_options(
        self,
        model: str,
        actor: str,
        *,
        share_threshold: float | None = None,
        methods: Mapping[str, str] | None = None,
        thresholds: Mapping[str, float] | None = None,
    ) -> Monitor:
        def change(config: dict[str, Any]) -> dict[str, Any]:
            changed: dict[str, Any] = {}
            if share_threshold is not None:
                config["share_threshold"] = changed["share_threshold"] = _share(share_threshold)
            if methods is not None:
                config["methods"] = changed["methods"] = _methods(methods)
            if thresholds is not None:
                merged = {**config.get("methods", {}), **(methods or {})}
                config["thresholds"] = changed["thresholds"] = _thresholds(thresholds, merged)
            return changed

        return self._configure(model, actor, "monitor.update", change)

    def _configure(
        self,
        model: str,
        actor: str,
        action: str,
        change: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> Monitor:
        with self.db.write() as conn:
            found = rows.monitor(conn, model, lock=True)
            config = json.loads(json.dumps(found.config))  # a deep copy to edit
            after = change(config)
            now = self.clock()
            rows.update_monitor(conn, found.id, {"config": config, "updated_at": now})
            audit.append(
                conn, actor=actor, action=action, subject=subject(model), at=now, after=after
            )
            return rows.monitor(conn, model)

    # windows ---------------------------------------------------------------------------------

    def evaluate(self, model: str, now: int | None = None) -> Pass:
        """Close every window that has ended, update the performance of windows that gained
        labels, and fire the rules on both."""
        monitor = self.get(model)  # closing moves its cursor, which the later steps do not read
        closed = self._close(monitor, self.clock() if now is None else now)
        refreshed = self._refresh(monitor, {w.id for w in closed})
        fired = self._fire(monitor, [*closed, *refreshed])
        return Pass(closed, refreshed, fired)

    def check_batch(
        self,
        model: str,
        data: pd.DataFrame | Source,
        *,
        version: int,
        predictions: Sequence[Any],
        probabilities: Any,
        labels: Sequence[Any] | None = None,
        refused: int = 0,
    ) -> tuple[WindowResult, list[Alert]]:
        """Analyse a batch (its predictions already computed) as a window of its own; a
        :class:`~modeldeck.monitoring.sources.Source` is read column by column.
        ``predictions`` cover the rows the model accepted; ``refused`` counts the others."""
        from modeldeck.monitoring.sources import source

        monitor = self.get(model)
        reference = self.references.load(model, version)
        current = source(data)
        outputs = _outputs(predictions, probabilities)
        labels = list(labels) if labels is not None else [None] * len(outputs)
        now = self.clock()
        metrics, detail = self._analyse(monitor, reference, current, outputs, labels)
        detail["refused_rows"] = refused
        with self.db.write() as conn:
            last = rows.windows(conn, monitor.id, source="batch", limit=1)
            start = max(now, last[-1].start + 1) if last else now
            window_id = rows.insert_window(
                conn,
                {
                    "monitor_id": monitor.id,
                    "model": model,
                    "version": version,
                    "source": "batch",
                    "window_start": start,
                    "window_end": start + 1,
                    "rows": current.rows(),
                    "metrics": metrics,
                    "detail": detail,
                    "labeled": sum(label is not None for label in labels),
                    "computed_at": now,
                },
            )
            result = rows.window(conn, window_id)
        return result, self._fire(monitor, [result])

    def windows(
        self,
        model: str,
        *,
        source: str | None = None,
        since: int | None = None,
        until: int | None = None,
        limit: int = 1000,
    ) -> list[WindowResult]:
        with self.db.read() as conn:
            monitor = rows.monitor(conn, model)
            return rows.windows(
                conn, monitor.id, source=source, since=since, until=until, limit=limit
            )

    def report(self, model: str, *, window_id: int | None = None) -> reports.Report:
        """The report of the latest window with rows (or ``window_id``), with the trend of
        every window and the alerts."""
        from modeldeck.monitoring.overview import build_report

        monitor = self.get(model)
        windows = self.windows(model, limit=1000)
        focus = None
        if window_id is not None:
            focus = next((w for w in windows if w.id == window_id), None)
            if focus is None:
                raise InvalidInput(f"model {model!r} has no window {window_id}")
        found = self.alerts(model, limit=200)
        return build_report(monitor, windows, found, focus=focus, now=self.clock())

    def alerts(self, model: str | None = None, *, limit: int = 100) -> list[Alert]:
        with self.db.read() as conn:
            return rows.alerts(conn, model=model, limit=limit)

    def record(self, alert_id: int, detail: Mapping[str, Any]) -> Alert:
        """Store what happened after an alert fired (deliveries, retraining)."""
        with self.db.write() as conn:
            current = rows.alert(conn, alert_id)
            rows.update_alert(conn, alert_id, {**current.detail, **detail})
            return rows.alert(conn, alert_id)

    def labeled_rows(
        self, model: str, *, since: int | None = None, until: int | None = None
    ) -> list[dict[str, Any]]:
        """Logged inputs of the primary role with their labels, oldest first: the newest data
        a retraining job learns from."""
        monitor = self.get(model)
        with self.db.read() as conn:
            found = rows.labeled_window(
                conn, model=model, deployment_id=monitor.deployment_id, since=since, until=until
            )
            out = []
            for r in found:
                if r.label is None:
                    continue
                out.append(
                    {"time": r.time, "inputs": json.loads(r.inputs), "label": json.loads(r.label)}
                )
            return out

    def _close(self, monitor: Monitor, now: int) -> list[WindowResult]:
        spec = parse_window(monitor.window)
        if spec.kind == "count":
            return self._close_counts(monitor, spec.size)
        origin = monitor.origin
        if not origin:
            with self.db.read() as conn:
                first = rows.first_prediction_time(conn, monitor.model, monitor.deployment_id)
            if first is None:
                return []
            origin = first - first % DAY_MS
            with self.db.write() as conn:
                rows.update_monitor(conn, monitor.id, {"origin": origin})
        closed = []
        for window in time_windows(spec.size, origin, monitor.cursor_end, now):
            found = self._rows(monitor, window.start, window.end)
            closed.append(
                self._store(monitor, window.start, window.end, found, {"cursor_end": window.end})
            )
        return closed

    def _rows(self, monitor: Monitor, since: int | None, until: int | None) -> list[Any]:
        """The primary predictions of ``[since, until)`` with their labels, oldest first."""
        with self.db.read() as conn:
            return list(
                rows.labeled_window(
                    conn,
                    model=monitor.model,
                    deployment_id=monitor.deployment_id,
                    since=since,
                    until=until,
                    limit=MAX_WINDOW_ROWS,
                )
            )

    def _close_counts(self, monitor: Monitor, size: int) -> list[WindowResult]:
        closed: list[WindowResult] = []
        cursor_id, cursor_end = monitor.cursor_id, monitor.cursor_end
        while True:
            with self.db.read() as conn:
                found = list(
                    rows.labeled_window(
                        conn,
                        model=monitor.model,
                        deployment_id=monitor.deployment_id,
                        since=None,
                        until=None,
                        after_id=cursor_id or 0,
                        limit=size,
                    )
                )
            if len(found) < size:
                return closed
            # a count window is a range of rows; its times are for display, kept increasing
            start = max(min(r.time for r in found), cursor_end or 0)
            end = max(max(r.time for r in found) + 1, start + 1)
            cursor_id, cursor_end = max(r.id for r in found), end
            cursor = {"cursor_id": cursor_id, "cursor_end": end}
            closed.append(self._store(monitor, start, end, found, cursor))

    def _store(
        self, monitor: Monitor, start: int, end: int, found: list[Any], cursor: Mapping[str, Any]
    ) -> WindowResult:
        version = _served_version(found)
        metrics: dict[str, float | None] = {"rows": float(len(found))}
        detail: dict[str, Any] = {}
        labeled = 0
        if found and version is not None:
            reference = self.references.load(monitor.model, version)
            current = frame_from_inputs([json.loads(r.inputs) for r in found], reference)
            outputs = [json.loads(r.outputs) for r in found]
            labels = [None if r.label is None else json.loads(r.label) for r in found]
            labeled = sum(label is not None for label in labels)
            metrics, detail = self._analyse(monitor, reference, current, outputs, labels)
        with self.db.write() as conn:
            window_id = rows.insert_window(
                conn,
                {
                    "monitor_id": monitor.id,
                    "model": monitor.model,
                    "version": version,
                    "source": "predictions",
                    "window_start": start,
                    "window_end": end,
                    "rows": len(found),
                    "metrics": metrics,
                    "detail": detail,
                    "labeled": labeled,
                    "computed_at": self.clock(),
                },
            )
            rows.update_monitor(conn, monitor.id, dict(cursor))
            return rows.window(conn, window_id)

    def _analyse(
        self,
        monitor: Monitor,
        reference: ReferenceData,
        current: pd.DataFrame | Source,
        outputs: Sequence[Mapping[str, Any]],
        labels: Sequence[Any],
    ) -> tuple[dict[str, float | None], dict[str, Any]]:
        from modeldeck.monitoring.performance import extract_outputs

        predicted, proba = extract_outputs(outputs, reference.classes)
        scores = scores_of(list(predicted), proba, reference.task, reference.classes)
        metrics, detail = analyse(reference, current, scores, Settings.from_config(monitor.config))
        metrics.update(performance(reference.task, reference.classes, outputs, labels))
        detail["reference"] = reference.description
        return metrics, detail

    def _refresh(self, monitor: Monitor, skip: set[int]) -> list[WindowResult]:
        with self.db.read() as conn:
            stored = [
                w
                for w in rows.windows(conn, monitor.id, source="predictions", limit=10_000)
                if w.id not in skip and w.version is not None
            ]
            counts = rows.label_counts(conn, [w.id for w in stored])
        refreshed = []
        for window in stored:
            if counts.get(window.id, 0) <= window.labeled:
                continue
            reference = self.references.load(monitor.model, window.version or 0)
            found = self._rows(monitor, window.start, window.end)
            outputs = [json.loads(r.outputs) for r in found]
            labels = [None if r.label is None else json.loads(r.label) for r in found]
            updated = {
                **window.metrics,
                **performance(reference.task, reference.classes, outputs, labels),
            }
            with self.db.write() as conn:
                rows.update_window(
                    conn,
                    window.id,
                    {
                        "metrics": updated,
                        "labeled": sum(label is not None for label in labels),
                        "computed_at": self.clock(),
                    },
                )
                refreshed.append(rows.window(conn, window.id))
        return refreshed

    def _fire(self, monitor: Monitor, windows: Sequence[WindowResult]) -> list[Alert]:
        fired = []
        for window in windows:
            for entry in monitor.rules:
                rule = parse_rule(entry["rule"])
                value = self._value(monitor, rule, window)
                if not rule.fires(value):
                    continue
                with self.db.write() as conn:
                    alert_id = rows.insert_alert(
                        conn,
                        {
                            "monitor_id": monitor.id,
                            "model": monitor.model,
                            "window_id": window.id,
                            "rule": rule.text,
                            "action": entry.get("action", "notify"),
                            "value": value,
                            "fired_at": self.clock(),
                            "detail": {
                                "window_start": window.start,
                                "window_end": window.end,
                                "version": window.version,
                                "source": window.source,
                            },
                        },
                    )
                    if alert_id is not None:
                        fired.append(rows.alert(conn, alert_id))
        return fired

    def _value(self, monitor: Monitor, rule: Rule, window: WindowResult) -> float | None:
        if rule.over_ms is None or rule.metric not in PERFORMANCE_METRICS:
            return window.metrics.get(rule.metric)
        if window.source != "predictions" or window.version is None:
            return window.metrics.get(rule.metric)
        reference = self.references.load(monitor.model, window.version)
        found = self._rows(monitor, window.end - rule.over_ms, window.end)
        if rule.metric == "rows":
            return float(len(found))
        outputs = [json.loads(r.outputs) for r in found]
        labels = [None if r.label is None else json.loads(r.label) for r in found]
        return performance(reference.task, reference.classes, outputs, labels).get(rule.metric)


def check_millis(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
        raise InvalidInput(f"{what} must be milliseconds since the epoch, got {value!r}")
    return value


def _served_version(found: Sequence[Any]) -> int | None:
    counted = Counter(r.version for r in found if r.version is not None)
    return counted.most_common(1)[0][0] if counted else None


def _outputs(predictions: Sequence[Any], probabilities: Any) -> list[dict[str, Any]]:
    import numpy as np

    values = np.asarray(predictions).tolist()
    proba = None if probabilities is None else np.asarray(probabilities).tolist()
    return [
        {"prediction": p, **({"probabilities": proba[i]} if proba is not None else {})}
        for i, p in enumerate(values)
    ]


def _share(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise InvalidInput(
            f"the drift share threshold must be above 0 and at most 1, got {value!r}"
        )
    return float(value)


def _methods(methods: Mapping[str, str] | None) -> dict[str, str]:
    out = {}
    for column, method in (methods or {}).items():
        if method not in drift.METHODS:
            raise InvalidInput(
                f"unknown drift method {method!r} for column {column!r}; "
                f"use one of {', '.join(drift.METHODS)}"
            )
        out[str(column)] = method
    return out


def _thresholds(
    thresholds: Mapping[str, float] | None, methods: Mapping[str, str] | None
) -> dict[str, float]:
    out = {}
    for column, value in (thresholds or {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e6:
            raise InvalidInput(
                f"the drift threshold of column {column!r} must be a positive number"
            )
        method = (methods or {}).get(column)
        if method in drift.P_VALUE_METHODS and value >= 1:
            raise InvalidInput(
                f"column {column!r}: a p-value threshold must be below 1, got {value}"
            )
        out[str(column)] = float(value)
    return out


def note(
    db: Database,
    clock: Callable[[], int],
    model: str,
    action: str,
    actor: str,
    after: Mapping[str, Any],
) -> None:
    """Audit a step of the loop that is not itself a stored change (a retraining started)."""
    with db.write() as conn:
        audit.append(
            conn, actor=actor, action=action, subject=subject(model), at=clock(), after=dict(after)
        )
