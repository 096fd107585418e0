"""``/api/v1/monitors`` and ``/api/v1/alerts``: monitors, their labels, windows and alerts.

Reads need a token; writes the contributor role, the token's owner being the actor; webhooks
and the retraining job are the monitor owner's or an admin's, and only an admin pins a job
(``POST /monitors/{model}/retraining/pin``). A run (``POST /monitors/{model}/run``) does here
what the embedded client does in its own process: it closes the windows that ended, refreshes
performance with the labels that arrived and fires the rules, with two differences: webhooks
are delivered by a background outbox after the answer (the alert's deliveries say
``queued`` until then), and training jobs never run in the API process. A ``retrain`` alert is
recorded as ``{"retraining": {"pending": true, "by": <caller>}}`` and the caller (the remote
client) runs the job once it has checked an admin pinned it, with a token limited to the
job's run and model, reading what it needs through ``/monitors/{model}/labeled`` and the
object store, auditing its steps through ``/monitors/{model}/notes`` and recording the
outcome, once, with ``/alerts/{id}/retraining``.

A webhook's secret is accepted and never sent back. References are captured here when a
window first needs one, which loads the version's model in this process (a version's
package is verified against its digests, and pickles are refused, as in the SDK).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from modeldeck.core.errors import Conflict, InvalidInput
from modeldeck.core.governance import Role
from modeldeck.core.monitoring import Alert, Monitor
from modeldeck.governance.access import DEFAULT_PROJECT, effective_role
from modeldeck.monitoring.alerts import Outbox
from modeldeck.monitoring.labels import Labels
from modeldeck.monitoring.monitors import Monitors, note
from modeldeck.monitoring.references import References
from modeldeck.server.auth import Reader, requires
from modeldeck.server.replay import IdempotencyKey, once
from modeldeck.server.state import Services, services
from modeldeck.wire import monitoring as wire
from modeldeck.wire.numbers import MAX_EXACT, MAX_MILLIS
from modeldeck.wire.retraining import RetrainingIn
from modeldeck.wire.rules import RULE_PATTERN

if TYPE_CHECKING:
    from modeldeck.models.predictor import Predictor

router = APIRouter(prefix="/api/v1", tags=["monitoring"])
Svc = Annotated[Services, Depends(services)]
Writer = Annotated[str, Depends(requires(Role.CONTRIBUTOR, "write monitors"))]
ModelParam = Annotated[str, PathParam(min_length=1, max_length=250)]
MONITOR = "/monitors/{model}"
PENDING = {"pending": True}


def model_loader(request: Request, svc: Svc) -> Callable[[str], Predictor]:
    """``load_model(uri)`` over the server's stores: the SDK's loader, its registry resolver
    the registry service, its cache under the server's home."""
    from modeldeck.core.refs import AliasRef, ModelSource, VersionRef, parse_model_uri
    from modeldeck.models.loading import load_model
    from modeldeck.registry.service import Registry

    cache: Path = getattr(request.app.state, "model_cache", None) or Path(".modeldeck") / "cache"
    registry = Registry(svc.db, svc.tracker.objects, svc.clock)

    def resolve(uri: str) -> ModelSource:
        ref = parse_model_uri(uri)
        if isinstance(ref, VersionRef):
            found = registry.version(ref.name, ref.version)
        elif isinstance(ref, AliasRef):
            found = registry.by_alias(ref.name, ref.alias)
        else:
            raise InvalidInput(f"{uri} is not a registry reference (models:/name/3)")
        return ModelSource(found.run_id, found.artifact_path, found.package_digest)

    def load(uri: str) -> Predictor:
        return load_model(uri, svc.tracker, cache_dir=cache, resolve=resolve)

    return load


def references_of(
    svc: Svc, load: Annotated[Callable[[str], Any], Depends(model_loader)]
) -> References:
    return References(svc.db, svc.tracker.objects, svc.clock, load)


def role_of(conn: Any, user: str) -> Role:
    return effective_role(conn, DEFAULT_PROJECT, user)


def monitors_of(svc: Svc, references: Annotated[References, Depends(references_of)]) -> Monitors:
    return Monitors(svc.db, svc.clock, references, role_of)


def outbox_of(request: Request) -> Outbox:
    """The app's webhook outbox (one delivery thread per server process)."""
    found = getattr(request.app.state, "webhook_outbox", None)
    if not isinstance(found, Outbox):
        found = request.app.state.webhook_outbox = Outbox()
    return found


def labels_of(svc: Svc) -> Labels:
    return Labels(svc.db, svc.clock)


Mons = Annotated[Monitors, Depends(monitors_of)]
Refs = Annotated[References, Depends(references_of)]
Labs = Annotated[Labels, Depends(labels_of)]


def _monitor(found: Monitor) -> wire.MonitorOut:
    return wire.MonitorOut.of(found)


# --- configuration -----------------------------------------------------------------------------


@router.post("/monitors", status_code=201, response_model=wire.MonitorOut)
def create_monitor(
    body: wire.MonitorIn,
    user: Writer,
    svc: Svc,
    monitors: Mons,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Watch a registered model's predictions in windows (``1d``, ``12h``, ``1000 rows``)."""

    def write() -> wire.MonitorOut:
        fields = body.model_dump(exclude={"model"}, exclude_none=True)
        return _monitor(monitors.create(body.model, user, **fields))

    return once(svc, user, idempotency_key, body, write, status=201)


@router.get("/monitors")
def list_monitors(user: Reader, monitors: Mons) -> wire.MonitorList:
    return wire.MonitorList(monitors=[_monitor(m) for m in monitors.all()])


@router.get(MONITOR)
def get_monitor(model: ModelParam, user: Reader, monitors: Mons) -> wire.MonitorOut:
    """The monitor of ``model``; its webhooks say whether they are signed, never the secret."""
    return _monitor(monitors.get(model))


@router.post(f"{MONITOR}/rules", response_model=wire.MonitorOut)
def add_rule(
    model: ModelParam,
    body: wire.RuleIn,
    user: Writer,
    svc: Svc,
    monitors: Mons,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Add an alert rule (``drift_share > 0.3``, ``auc < 0.7 over 7 days``); ``action`` is
    notify or retrain."""

    def write() -> wire.MonitorOut:
        found = monitors.add_rule(
            model, body.rule, user, action=body.action, min_labeled=body.min_labeled
        )
        return _monitor(found)

    return once(svc, user, idempotency_key, [model, body], write)


@router.delete(f"{MONITOR}/rules", response_model=wire.MonitorOut)
def remove_rule(
    model: ModelParam,
    rule: Annotated[
        str, Query(min_length=1, max_length=500, json_schema_extra={"pattern": RULE_PATTERN})
    ],
    user: Writer,
    svc: Svc,
    monitors: Mons,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def write() -> wire.MonitorOut:
        return _monitor(monitors.remove_rule(model, rule, user))

    return once(svc, user, idempotency_key, [model, rule], write)


@router.post(f"{MONITOR}/webhooks", response_model=wire.MonitorOut)
def add_webhook(
    model: ModelParam,
    body: wire.WebhookIn,
    user: Writer,
    svc: Svc,
    monitors: Mons,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Add (or replace) a webhook (the monitor's owner or an admin); with a ``secret``, its
    deliveries are signed. A literal internal address is refused (403) unless an admin
    allowlisted the host (server setting ``webhook_hosts``)."""

    def write() -> wire.MonitorOut:
        return _monitor(monitors.add_webhook(model, body.url, user, secret=body.secret))

    return once(svc, user, idempotency_key, [model, body], write)


@router.delete(f"{MONITOR}/webhooks", response_model=wire.MonitorOut)
def remove_webhook(
    model: ModelParam,
    url: Annotated[str, Query(min_length=1, max_length=2000)],
    user: Writer,
    svc: Svc,
    monitors: Mons,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def write() -> wire.MonitorOut:
        return _monitor(monitors.remove_webhook(model, url, user))

    return once(svc, user, idempotency_key, [model, url], write)


@router.put(f"{MONITOR}/retraining")
def set_retraining(
    model: ModelParam,
    body: Annotated[RetrainingIn, Body()],
    user: Writer,
    monitors: Mons,
) -> wire.MonitorOut:
    """Register the job that retrains ``model`` (setting it again replaces it): the monitor's
    owner or an admin. An admin's job is pinned at once; the owner's is not run until an
    admin pins its digest."""
    return _monitor(monitors.set_retraining(model, body.model_dump(exclude_none=True), user))


@router.post(f"{MONITOR}/retraining/pin")
def pin_retraining(
    model: ModelParam, body: wire.PinIn, user: Writer, monitors: Mons
) -> wire.MonitorOut:
    """Admins: vouch for exactly the job whose ``digest`` is given (as `monitor status` shows
    it); clients run a job only when its pin names its digest."""
    return _monitor(monitors.pin_retraining(model, body.digest, user))


# --- data in -----------------------------------------------------------------------------------


@router.post("/labels")
def log_labels(body: wire.LabelsIn, user: Writer, labels: Labs) -> wire.LabelsOut:
    """Join up to 100,000 labels to logged predictions by request id (and row, 0 by default);
    a label sent again replaces the first. ``unmatched`` name no logged prediction yet.

    Lists of unequal lengths are 409: each is well formed, which the document can say, but
    they contradict each other, which no JSON Schema can."""
    rows = body.request_ids if body.rows is None else body.rows
    if not len(body.request_ids) == len(body.labels) == len(rows):
        raise Conflict(
            f"got {len(body.request_ids)} request ids, {len(body.labels)} labels and "
            f"{len(rows)} rows; give one label (and one row, if any) per request id"
        )
    logged = labels.log(body.request_ids, body.labels, user, rows_=body.rows)
    return wire.LabelsOut(stored=logged.stored, unmatched=logged.unmatched)


# --- the loop ----------------------------------------------------------------------------------


@router.post(f"{MONITOR}/run", response_model=wire.RunOut)
def run_monitor(
    model: ModelParam,
    body: wire.RunIn,
    user: Writer,
    svc: Svc,
    monitors: Mons,
    outbox: Annotated[Outbox, Depends(outbox_of)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Close the windows that ended by ``now`` (default: the server's clock), refresh their
    performance and fire the rules; the webhooks are delivered after the answer (the alerts'
    deliveries say ``queued``). ``retrain`` alerts come back pending: the caller runs the
    job. ``held`` names the performance rules a window had too few labels to judge."""

    def write() -> wire.RunOut:
        done = monitors.evaluate(model, body.now)
        alerts = _act(monitors, outbox, model, done.alerts, user)
        return wire.RunOut(
            closed=[wire.WindowOut.of(w) for w in done.closed],
            refreshed=[wire.WindowOut.of(w) for w in done.refreshed],
            alerts=[wire.AlertOut.of(a) for a in alerts],
            held=done.held,
        )

    return once(svc, user, idempotency_key, [model, body], write)


def _act(
    monitors: Monitors, outbox: Outbox, model: str, fired: list[Alert], user: str
) -> list[Alert]:
    from modeldeck.monitoring.alerts import deliver_alert, queued

    if not fired:
        return []
    monitor = monitors.get(model)
    allowlist = monitors.webhook_hosts()
    done = []
    for alert in fired:
        detail: dict[str, Any] = {"deliveries": queued(monitor)}
        if alert.action == "retrain":
            detail["retraining"] = {**PENDING, "by": user}
        done.append(monitors.record(alert.id, detail))
        if monitor.webhooks:

            def send(alert: Alert = alert) -> None:
                sent = deliver_alert(monitor, alert, allowlist)
                monitors.record_deliveries(alert, sent, user)

            if not outbox.submit(send):
                full = [
                    {**d, "state": "failed", "error": "the webhook queue is full"}
                    for d in detail["deliveries"]
                ]
                done[-1] = monitors.record(alert.id, {"deliveries": full})
    return done


@router.get(f"{MONITOR}/windows")
def list_windows(
    model: ModelParam,
    user: Reader,
    monitors: Mons,
    limit: Annotated[int, Query(ge=1, le=wire.MAX_WINDOWS)] = 1000,
    source: wire.Source | None = None,
) -> wire.WindowList:
    """Oldest first: the latest ``limit`` windows, of one ``source`` (predictions, batch)."""
    found = monitors.windows(model, source=source, limit=limit)
    return wire.WindowList(windows=[wire.WindowOut.of(w) for w in found])


@router.get("/alerts")
def list_alerts(
    user: Reader,
    monitors: Mons,
    model: Annotated[str | None, Query(min_length=1, max_length=250)] = None,
    limit: Annotated[int, Query(ge=1, le=wire.MAX_ALERTS)] = 100,
) -> wire.AlertList:
    """Newest first."""
    return wire.AlertList(alerts=[wire.AlertOut.of(a) for a in monitors.alerts(model, limit=limit)])


@router.post("/alerts/{alert_id}/retraining")
def record_retraining(
    alert_id: Annotated[int, PathParam(ge=1, le=MAX_EXACT)],
    body: wire.RetrainingOutcome,
    user: Writer,
    monitors: Mons,
) -> wire.AlertOut:
    """Record what the caller's retraining did after a ``retrain`` alert: once (409 after),
    by who ran the pass that fired it, the monitor's owner or an admin; audited."""
    outcome = body.model_dump(exclude_unset=True)
    return wire.AlertOut.of(monitors.record_retraining(alert_id, outcome, user))


@router.get(f"{MONITOR}/labeled")
def labeled_rows(
    model: ModelParam,
    user: Reader,
    monitors: Mons,
    since: Annotated[int | None, Query(ge=0, le=MAX_MILLIS)] = None,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=wire.MAX_LABELED_PAGE)] = wire.MAX_LABELED_PAGE,
) -> wire.LabeledPage:
    """Logged inputs of the monitored deployment with their labels, oldest first, from
    ``since`` (ms, inclusive): what a retraining job learns from, a page at a time."""
    found = monitors.labeled_rows(model, since=since)
    page = found[offset : offset + limit]
    more = offset + limit < len(found)
    return wire.LabeledPage(
        rows=[wire.LabeledRow(**r) for r in page], next_offset=offset + limit if more else None
    )


@router.post(f"{MONITOR}/notes", status_code=204)
def add_note(
    model: ModelParam,
    body: wire.NoteIn,
    user: Writer,
    svc: Svc,
    monitors: Mons,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Audit a step of a retraining the caller runs (``retrain.start``, ``retrain.finish``,
    ``retrain.fail``); the model must have a monitor."""

    def write() -> None:
        monitors.get(model)
        note(svc.db, svc.clock, model, body.action, user, body.after)

    return once(svc, user, idempotency_key, [model, body], write, status=204)


@router.get(
    f"{MONITOR}/report",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "One self-contained page"}},
)
def monitor_report(
    model: ModelParam,
    user: Reader,
    monitors: Mons,
    window_id: Annotated[int | None, Query(ge=1, le=MAX_EXACT)] = None,
) -> HTMLResponse:
    """The HTML report of the latest window (or ``window_id``): drift per column, quality,
    the trend of every window and the alerts, in one file with nothing to fetch."""
    from modeldeck.monitoring.reports import render_html

    report = monitors.report(model, window_id=window_id)
    return HTMLResponse(render_html(report))


@router.get(f"{MONITOR}/shadow")
def shadow_comparison(
    model: ModelParam,
    user: Reader,
    svc: Svc,
    references: Refs,
    since: Annotated[int | None, Query(ge=0, le=MAX_MILLIS)] = None,
    until: Annotated[int | None, Query(ge=0, le=MAX_MILLIS)] = None,
) -> wire.Shadow:
    """The primary and shadow answers to the same requests, side by side."""
    from modeldeck.monitoring.shadow import compare

    return wire.Shadow(comparison=compare(svc.db, references, model, since=since, until=until))
