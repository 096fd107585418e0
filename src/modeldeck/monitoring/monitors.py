"""Monitors: one per model, closing windows over its prediction log (or checking a batch),
recording what each window measured and the alerts its rules fired.

A window closes when its end has passed (time windows, aligned on the monitor's origin) or
when it holds its number of rows (count windows). Its drift and quality are computed then
and never change; its performance is computed again whenever more of its labels have
arrived, since labels come late. Rules are evaluated on every window that closed or gained
labels, and fire at most once per window. Configuration changes are audited; windows and
alerts are records of measurement, not changes of state, and are not.

Who may change what: any contributor configures windows and rules; the monitor's owner (who
created it) or an admin adds and removes webhooks and sets the retraining job, and only an
admin pins a job (see :mod:`modeldeck.monitoring.retraining`). A retraining's outcome is
written once, by whoever ran the pass that asked for it, the owner or an admin. Every change is
audited, and so is every refusal (``denied:<action>``, in a transaction of its own). Roles come
from the ``role_of`` the caller's layer passes in (governance's rule), read inside the write.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from modeldeck.core import validation as check
from modeldeck.core.errors import AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied
from modeldeck.core.governance import Role
from modeldeck.core.monitoring import ACTIONS, PERFORMANCE_METRICS, Alert, Monitor, WindowResult
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
from modeldeck.monitoring.rules import LABELLED_METRICS, Rule, parse_rule
from modeldeck.monitoring.webhooks import check_destination, check_url
from modeldeck.monitoring.windows import parse_window, time_windows
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import audit, server_config
from modeldeck.storage.metadata import monitoring as rows
from modeldeck.storage.metadata import registry as registry_rows

if TYPE_CHECKING:
    import pandas as pd

    from modeldeck.monitoring import reports
    from modeldeck.monitoring.sources import Source

DAY_MS = 86_400_000
MAX_WINDOW_ROWS = 1_000_000
DEFAULT_WINDOW = "1d"
WEBHOOK_HOSTS = "webhook_hosts"  # the admin's allowlist (governance.config), read from storage
MIN_LABELED = 30  # labelled rows a window needs before a performance rule may fire on it
RoleOf = Callable[[Connection, str], Role]


def subject(model: str) -> str:
    return f"models:/{model}"


@dataclass(frozen=True)
class Pass:
    """What one pass of a monitor did: the windows it closed, the earlier windows whose
    performance it updated with new labels, and the alerts that fired."""

    closed: list[WindowResult]
    refreshed: list[WindowResult]
    alerts: list[Alert]
    held: list[dict[str, Any]] = field(default_factory=list)  # rules held for too few labels


class Monitors:
    def __init__(
        self,
        db: Database,
        clock: Callable[[], int],
        references: References,
        role_of: RoleOf,
    ) -> None:
        self.db = db
        self.clock = clock
        self.references = references
        self.role_of = role_of

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
        min_labeled: int = MIN_LABELED,
    ) -> Monitor:
        spec = parse_window(window)
        if origin is not None:
            check_millis(origin, "origin")
        config = {
            "share_threshold": _share(share_threshold),
            "methods": _methods(methods),
            "thresholds": _thresholds(thresholds, methods),
            "min_labeled": check_min_labeled(min_labeled),
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

    def add_rule(
        self,
        model: str,
        text: str,
        actor: str,
        *,
        action: str = "notify",
        min_labeled: int | None = None,
    ) -> Monitor:
        """``min_labeled`` overrides the monitor's for this rule (performance rules only)."""
        if action not in ACTIONS:
            raise InvalidInput(f"unknown rule action {action!r}; use one of {', '.join(ACTIONS)}")
        rule = parse_rule(text)
        if min_labeled is not None:
            check_min_labeled(min_labeled)

        def change(config: dict[str, Any], role: Role) -> dict[str, Any]:
            if any(r["rule"] == rule.text for r in config["rules"]):
                raise AlreadyExists(f"model {model!r} already has the rule {rule.text!r}")
            if action == "retrain" and not config.get("retraining"):
                raise InvalidInput(
                    f"a retrain rule needs a retraining job: register one first with "
                    f"`modeldeck monitor retraining {model} --entry-point module:function`"
                )
            entry: dict[str, Any] = {"rule": rule.text, "action": action}
            if min_labeled is not None:
                entry["min_labeled"] = min_labeled
            config["rules"].append(entry)
            return entry

        return self._configure(model, actor, "monitor.rule.add", change)

    def remove_rule(self, model: str, text: str, actor: str) -> Monitor:
        wanted = parse_rule(text).text

        def change(config: dict[str, Any], role: Role) -> dict[str, Any]:
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

        def change(config: dict[str, Any], role: Role) -> dict[str, Any]:
            config["webhooks"] = [w for w in config["webhooks"] if w["url"] != url]
            config["webhooks"].append({"url": url, "secret": secret})
            return {"url": url, "signed": secret is not None}  # never the secret itself

        def destination(conn: Connection) -> None:
            check_destination(url, _hosts(conn))  # a literal internal address, unless allowed

        return self._configure(
            model, actor, "monitor.webhook.add", change, owner_only=True, check=destination
        )

    def remove_webhook(self, model: str, url: str, actor: str) -> Monitor:
        def change(config: dict[str, Any], role: Role) -> dict[str, Any]:
            kept = [w for w in config["webhooks"] if w["url"] != url]
            if len(kept) == len(config["webhooks"]):
                raise NotFound(f"model {model!r} has no webhook {url!r}")
            config["webhooks"] = kept
            return {"url": url}

        return self._configure(model, actor, "monitor.webhook.remove", change, owner_only=True)

    def webhook_hosts(self) -> list[str]:
        """The hosts an admin allowed webhooks to reach on internal addresses."""
        with self.db.read() as conn:
            return _hosts(conn)

    def set_retraining(self, model: str, job: Mapping[str, Any], actor: str) -> Monitor:
        """Set the job (the owner or an admin). An admin's job is pinned at once; the owner's
        waits for an admin's :meth:`pin_retraining` (unless it is exactly the pinned job)."""
        from modeldeck.monitoring.retraining import HISTORY, check_job, digest

        clean = check_job(job)
        sealed = digest(clean)

        def change(config: dict[str, Any], role: Role) -> dict[str, Any]:
            now = self.clock()
            before = config.get("retraining") or {}
            pinned = before.get("pinned")
            if role is Role.ADMIN:
                pinned = {"digest": sealed, "by": actor, "at": now}
            elif not (isinstance(pinned, Mapping) and pinned.get("digest") == sealed):
                pinned = None
            step = {"action": "set", "by": actor, "at": now, "digest": sealed}
            config["retraining"] = {
                **clean,
                "digest": sealed,
                "set_by": actor,
                "set_at": now,
                "pinned": pinned,
                "history": [*before.get("history", []), step][-HISTORY:],
            }
            return {k: v for k, v in clean.items() if k != "policy"} | {
                "policy": clean.get("policy") is not None,
                "digest": sealed,
                "pinned": pinned is not None,
            }

        return self._configure(model, actor, "monitor.retraining.set", change, owner_only=True)

    def pin_retraining(self, model: str, sealed: str, actor: str) -> Monitor:
        """An admin vouches for the job whose digest is ``sealed`` (what they reviewed): the
        clients run it from now on, and nothing else."""
        from modeldeck.monitoring.retraining import HISTORY, digest

        def change(config: dict[str, Any], role: Role) -> dict[str, Any]:
            if role is not Role.ADMIN:
                raise PermissionDenied(
                    f"{actor} cannot pin the retraining job of {model!r}: it needs the admin "
                    f"role and {actor} is {role.value}"
                )
            job = config.get("retraining")
            if not job:
                raise NotFound(f"model {model!r} has no retraining job to pin")
            current = digest(job)
            if sealed != current:
                raise Conflict(
                    f"the retraining job of {model!r} is {current}, not {sealed}: it changed "
                    f"since you saw it; review it again with `modeldeck monitor status {model}`"
                )
            now = self.clock()
            job["pinned"] = {"digest": current, "by": actor, "at": now}
            step = {"action": "pin", "by": actor, "at": now, "digest": current}
            job["history"] = [*job.get("history", []), step][-HISTORY:]
            return {"digest": current, "target": job.get("target"), "kind": job.get("kind")}

        # a stale pin (the job changed since the admin saw it) is on record too
        return self._configure(model, actor, "monitor.retraining.pin", change, refusals=(Conflict,))

    def set_options(
        self,
        model: str,
        actor: str,
        *,
        share_threshold: float | None = None,
        methods: Mapping[str, str] | None = None,
        thresholds: Mapping[str, float] | None = None,
        min_labeled: int | None = None,
    ) -> Monitor:
        def change(config: dict[str, Any], role: Role) -> dict[str, Any]:
            changed: dict[str, Any] = {}
            if min_labeled is not None:
                config["min_labeled"] = changed["min_labeled"] = check_min_labeled(min_labeled)
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
        change: Callable[[dict[str, Any], Role], dict[str, Any]],
        *,
        owner_only: bool = False,
        check: Callable[[Connection], None] | None = None,
        refusals: tuple[type[Exception], ...] = (),
    ) -> Monitor:
        with self._denials(actor, action, subject(model), *refusals), self.db.write() as conn:
            found = rows.monitor(conn, model, lock=True)
            role = self.role_of(conn, actor)
            if owner_only:
                _owner_or_admin(found, actor, role, action)
            if check is not None:
                check(conn)
            config = json.loads(json.dumps(found.config))  # a deep copy to edit
            after = change(config, role)
            now = self.clock()
            rows.update_monitor(conn, found.id, {"config": config, "updated_at": now})
            audit.append(
                conn, actor=actor, action=action, subject=subject(model), at=now, after=after
            )
            return rows.monitor(conn, model)

    @contextmanager
    def _denials(
        self, actor: str, action: str, what: str, *also: type[Exception]
    ) -> Iterator[None]:
        """A refused change rolls its transaction back; the refusal is audited in another."""
        refusals: tuple[type[Exception], ...] = (PermissionDenied, *also)
        try:
            yield
        except refusals as refused:
            with self.db.write() as conn:
                audit.append(
                    conn,
                    actor=actor,
                    action=f"denied:{action}",
                    subject=what,
                    at=self.clock(),
                    after={"reason": str(refused)[:1000]},
                )
            raise

    # windows ---------------------------------------------------------------------------------

    def evaluate(self, model: str, now: int | None = None) -> Pass:
        """Close every window that has ended, update the performance of windows that gained
        labels, and fire the rules on both."""
        monitor = self.get(model)  # closing moves its cursor, which the later steps do not read
        closed = self._close(monitor, self.clock() if now is None else now)
        refreshed = self._refresh(monitor, {w.id for w in closed})
        held: list[dict[str, Any]] = []
        fired = self._fire(monitor, [*closed, *refreshed], held)
        return Pass(closed, refreshed, fired, held)

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
        held: list[dict[str, Any]] | None = None,
    ) -> tuple[WindowResult, list[Alert]]:
        """Analyse a batch (its predictions already computed) as a window of its own; a
        :class:`~modeldeck.monitoring.sources.Source` is read column by column.
        ``predictions`` cover the rows the model accepted; ``refused`` counts the others;
        ``held`` receives the performance rules the batch had too few labels to judge."""
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
        return result, self._fire(monitor, [result], held)

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
        """Store what happened after an alert fired (deliveries, retraining), as the process
        that acted on it; callers over the API go through :meth:`record_retraining`."""
        with self.db.write() as conn:
            current = rows.alert(conn, alert_id, lock=True)
            rows.update_alert(conn, alert_id, {**current.detail, **detail})
            return rows.alert(conn, alert_id)

    def record_deliveries(
        self, alert: Alert, deliveries: Sequence[Mapping[str, Any]], actor: str
    ) -> Alert:
        """Store how an alert's deliveries ended; each one refused for its destination (an
        internal address) is audited as ``denied:webhook.deliver``, as ``actor`` (who ran the
        pass)."""
        with self.db.write() as conn:
            current = rows.alert(conn, alert.id, lock=True)
            rows.update_alert(conn, alert.id, {**current.detail, "deliveries": list(deliveries)})
            for sent in deliveries:
                if sent.get("state") == "refused":
                    audit.append(
                        conn,
                        actor=actor,
                        action="denied:webhook.deliver",
                        subject=subject(alert.model),
                        at=self.clock(),
                        after={
                            "alert": alert.id,
                            "url": sent.get("url"),
                            "reason": str(sent.get("error"))[:1000],
                        },
                    )
            return rows.alert(conn, alert.id)

    def record_retraining(self, alert_id: int, outcome: Mapping[str, Any], actor: str) -> Alert:
        """Write once what the retraining a ``retrain`` alert asked for did: by whoever ran the
        pass that fired it, the monitor's owner or an admin; audited, refusals too."""
        what = f"alerts:/{alert_id}"
        action = "alert.retraining.record"
        with self._denials(actor, action, what, Conflict), self.db.write() as conn:
            alert = rows.alert(conn, alert_id, lock=True)
            if alert.action != "retrain":
                raise InvalidInput(
                    f"alert {alert_id} ({alert.rule!r}) is a {alert.action} alert; only a "
                    "retrain alert records a retraining"
                )
            found = rows.monitor(conn, alert.model)
            role = self.role_of(conn, actor)
            pending = alert.detail.get("retraining")
            runner = pending.get("by") if isinstance(pending, Mapping) else None
            if role is not Role.ADMIN and actor not in {found.created_by, runner}:
                raise PermissionDenied(
                    f"{actor} cannot record the retraining of alert {alert_id}: only who ran "
                    f"its pass ({runner or 'unknown'}), the monitor's owner "
                    f"({found.created_by}) or an admin can"
                )
            if not (isinstance(pending, Mapping) and pending.get("pending") is True):
                raise Conflict(
                    f"alert {alert_id} already records its retraining; an outcome is written once"
                )
            now = self.clock()
            rows.update_alert(conn, alert_id, {**alert.detail, "retraining": dict(outcome)})
            audit.append(
                conn,
                actor=actor,
                action=action,
                subject=subject(alert.model),
                at=now,
                after={"alert": alert_id, **{k: v for k, v in outcome.items() if v is not None}},
            )
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

    def _fire(
        self,
        monitor: Monitor,
        windows: Sequence[WindowResult],
        held: list[dict[str, Any]] | None = None,
    ) -> list[Alert]:
        """Fire the rules on ``windows``; a performance rule on a window (or span) with fewer
        labelled rows than its minimum does not fire, and is reported in ``held``."""
        fired = []
        default = int(monitor.config.get("min_labeled", MIN_LABELED))
        for window in windows:
            for entry in monitor.rules:
                rule = parse_rule(entry["rule"])
                value, labeled = self._value(monitor, rule, window)
                needed = int(entry.get("min_labeled", default))
                if rule.metric in LABELLED_METRICS and labeled < needed:
                    if held is not None:
                        held.append(
                            {
                                "window_id": window.id,
                                "rule": rule.text,
                                "labeled": labeled,
                                "needed": needed,
                                "reason": f"too few labels ({labeled} of {needed} needed)",
                            }
                        )
                    continue
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

    def _value(
        self, monitor: Monitor, rule: Rule, window: WindowResult
    ) -> tuple[float | None, int]:
        """The rule's value on ``window`` (or its trailing span) and the labelled rows it
        was computed from."""
        if (
            rule.over_ms is None
            or rule.metric not in PERFORMANCE_METRICS
            or window.source != "predictions"
            or window.version is None
        ):
            return window.metrics.get(rule.metric), window.labeled
        reference = self.references.load(monitor.model, window.version)
        found = self._rows(monitor, window.end - rule.over_ms, window.end)
        labels = [None if r.label is None else json.loads(r.label) for r in found]
        labeled = sum(label is not None for label in labels)
        if rule.metric == "rows":
            return float(len(found)), labeled
        outputs = [json.loads(r.outputs) for r in found]
        value = performance(reference.task, reference.classes, outputs, labels).get(rule.metric)
        return value, labeled


def check_min_labeled(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_WINDOW_ROWS:
        raise InvalidInput(
            f"the minimum of labelled rows per window must be a whole number from 0 to "
            f"{MAX_WINDOW_ROWS}, got {value!r}"
        )
    return value


def _owner_or_admin(found: Monitor, actor: str, role: Role, action: str) -> None:
    if role is Role.ADMIN or (actor == found.created_by and role.allows(Role.CONTRIBUTOR)):
        return
    raise PermissionDenied(
        f"{actor} cannot {action.removeprefix('monitor.').replace('.', ' ')} on the monitor of "
        f"{found.model!r}: only its owner ({found.created_by}) or an admin can"
    )


def _hosts(conn: Connection) -> list[str]:
    found = server_config.value(conn, WEBHOOK_HOSTS)
    return [str(h) for h in found] if isinstance(found, list) else []


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
