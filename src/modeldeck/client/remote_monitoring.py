"""The monitoring half of the remote client: the same methods as the local one, over ``/api/v1``.

The server closes windows, refreshes performance, fires rules and delivers webhooks (from its
outbox, after answering). Training jobs never run in the server's process: a ``retrain``
alert comes back pending, and this client runs the job itself with the retraining code it
shares with the local client (reading labeled rows and training data from the server,
auditing each step there), then records the outcome on the alert. The job runs only when an
admin pinned exactly it, and never with this client's token: it gets a token of its own,
limited to its run and its model and revoked when it ends. Arguments are checked here with
the services' own checks, so a mistake reads the same on every backend and costs no request.
A webhook's secret is sent, never read back: a remote monitor's webhooks are
``{"url", "signed"}``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeck.client.http import segment
from modeldeck.client.monitoring import MonitoringMethods, MonitorRun
from modeldeck.core import validation as check
from modeldeck.core.errors import InvalidInput
from modeldeck.core.monitoring import ACTIONS, Alert, Monitor, WindowResult
from modeldeck.wire import monitoring as wire

if TYPE_CHECKING:
    import pandas as pd

    from modeldeck.client.http import Http
    from modeldeck.monitoring.labels import Labels, LabelsLogged
    from modeldeck.monitoring.monitors import Monitors
    from modeldeck.monitoring.overview import Status
    from modeldeck.monitoring.references import References
    from modeldeck.monitoring.retraining import Retrained
    from modeldeck.registry.lineage import Lineage
    from modeldeck.tracking.port import TrackingPort

API = "/api/v1"


class RemoteMonitoringMethods(MonitoringMethods):
    """Mixed into RemoteClient, which provides ``http``, ``tracker`` (its object store is the
    server's) and the registry and tracking methods retraining drives."""

    if TYPE_CHECKING:

        @property
        def http(self) -> Http: ...

        def lineage(self, name: str, version: int) -> Lineage: ...

        @property
        def tracker(self) -> TrackingPort: ...

    @property
    def references(self) -> References:
        raise InvalidInput(
            "a remote client has no reference store of its own: the server captures and keeps "
            "references. Use the client's methods (run_monitor, monitor_status, ...), which "
            "call the server."
        )

    @property
    def monitors(self) -> Monitors:
        raise InvalidInput(
            "a remote client has no monitor service of its own: the server runs it. Use the "
            "client's methods (create_monitor, run_monitor, monitor_status, ...), which call "
            "the server."
        )

    @property
    def labels(self) -> Labels:
        raise InvalidInput(
            "a remote client has no label store of its own: the server keeps labels. Use "
            "log_labels, which calls the server."
        )

    # configuration ---------------------------------------------------------------------------

    def create_monitor(
        self,
        model: str,
        *,
        window: str = "1d",
        deployment_id: str | None = None,
        origin: int | None = None,
        share_threshold: float = 0.5,
        methods: Mapping[str, str] | None = None,
        thresholds: Mapping[str, float] | None = None,
        min_labeled: int = 30,
    ) -> Monitor:
        from modeldeck.monitoring.monitors import (
            _methods,
            _share,
            _thresholds,
            check_millis,
            check_min_labeled,
        )
        from modeldeck.monitoring.windows import parse_window

        body: dict[str, Any] = {
            "model": check.check_name(model, "model name"),
            "window": str(parse_window(window)),
            "share_threshold": _share(share_threshold),
            "min_labeled": check_min_labeled(min_labeled),
        }
        if origin is not None:
            body["origin"] = check_millis(origin, "origin")
        if deployment_id is not None:
            body["deployment_id"] = deployment_id
        if methods is not None:
            body["methods"] = _methods(methods)
        if thresholds is not None:
            body["thresholds"] = _thresholds(thresholds, methods)
        return _monitor(self.http.post(f"{API}/monitors", body))

    def get_monitor(self, model: str) -> Monitor:
        return _monitor(self.http.get(_path(model)))

    def list_monitors(self) -> list[Monitor]:
        found = wire.MonitorList.model_validate(self.http.get(f"{API}/monitors"))
        return [m.to_entity() for m in found.monitors]

    def add_alert_rule(
        self, model: str, rule: str, *, action: str = "notify", min_labeled: int | None = None
    ) -> Monitor:
        from modeldeck.monitoring.monitors import check_min_labeled
        from modeldeck.monitoring.rules import parse_rule

        if action not in ACTIONS:
            raise InvalidInput(f"unknown rule action {action!r}; use one of {', '.join(ACTIONS)}")
        body: dict[str, Any] = {"rule": parse_rule(rule).text, "action": action}
        if min_labeled is not None:
            body["min_labeled"] = check_min_labeled(min_labeled)
        return _monitor(self.http.post(f"{_path(model)}/rules", body))

    def remove_alert_rule(self, model: str, rule: str) -> Monitor:
        from modeldeck.monitoring.rules import parse_rule

        text = parse_rule(rule).text
        return _monitor(
            self.http.call("DELETE", f"{_path(model)}/rules", params={"rule": text}).json()
        )

    def add_webhook(self, model: str, url: str, *, secret: str | None = None) -> Monitor:
        from modeldeck.monitoring.webhooks import check_url

        body = {"url": check_url(url), "secret": secret}
        return _monitor(self.http.post(f"{_path(model)}/webhooks", body))

    def remove_webhook(self, model: str, url: str) -> Monitor:
        response = self.http.call("DELETE", f"{_path(model)}/webhooks", params={"url": url})
        return _monitor(response.json())

    def set_retraining(
        self,
        model: str,
        *,
        entry_point: str | None = None,
        command: str | None = None,
        policy: str | os.PathLike[str] | None = None,
        label: str | None = None,
        experiment: str | None = None,
    ) -> Monitor:
        """Register the job that retrains ``model``; it runs in the process that runs the
        monitor (this client), so ``entry_point`` must be importable here."""
        from modeldeck.monitoring.retraining import check_job, job_of

        job = job_of(
            entry_point=entry_point,
            command=command,
            policy=policy,
            label=label,
            experiment=experiment,
        )
        return _monitor(self.http.put(f"{_path(model)}/retraining", check_job(job)))

    def pin_retraining(self, model: str, digest: str) -> Monitor:
        return _monitor(self.http.post(f"{_path(model)}/retraining/pin", {"digest": digest}))

    # data in ---------------------------------------------------------------------------------

    def log_labels(
        self,
        request_ids: Sequence[Any],
        labels: Sequence[Any],
        *,
        rows: Sequence[int] | None = None,
    ) -> LabelsLogged:
        from modeldeck.monitoring.labels import LabelsLogged, check_labels

        checked = check_labels(request_ids, labels, rows)
        if not checked:
            return LabelsLogged(0, 0)
        body = {
            "request_ids": [r for r, _, _ in checked],
            "labels": [label for _, _, label in checked],
            "rows": [n for _, n, _ in checked],
        }
        found = wire.LabelsOut.model_validate(self.http.post(f"{API}/labels", body))
        return LabelsLogged(found.stored, found.unmatched)

    # the loop --------------------------------------------------------------------------------

    def run_monitor(self, model: str, *, now: int | None = None) -> MonitorRun:
        """The server closes windows, refreshes performance, fires rules and delivers the
        webhooks; a ``retrain`` alert's job then runs here, and its outcome is recorded."""
        from modeldeck.monitoring.monitors import check_millis

        if now is not None:
            check_millis(now, "now")
        found = wire.RunOut.model_validate(self.http.post(f"{_path(model)}/run", {"now": now}))
        alerts: list[Alert] = []
        retrained: list[Retrained] = []
        for sent in found.alerts:
            alert = sent.to_entity()
            pending = alert.detail.get("retraining")
            waiting = isinstance(pending, Mapping) and pending.get("pending") is True
            if alert.action == "retrain" and waiting:
                outcome, result = self._retrain_after(model, alert)
                alert = self._record_alert(alert.id, {"retraining": outcome})
                if result is not None:
                    retrained.append(result)
            alerts.append(alert)
        return MonitorRun(
            [w.to_entity() for w in found.closed],
            [w.to_entity() for w in found.refreshed],
            alerts,
            retrained,
            list(found.held),
        )

    def check_batch(
        self,
        model: str,
        data: Any,
        *,
        version: int | None = None,
        label: str | None = None,
    ) -> MonitorRun:
        raise InvalidInput(
            "checking a batch is not available through a modeldeck server yet: run "
            "`modeldeck monitor check` against the store itself (MODELDECK_TRACKING_URI set to "
            "the database), or log the batch's predictions and let the monitor's windows "
            "cover them"
        )

    def monitor_status(self, model: str, *, windows: int = 12, alerts: int = 20) -> Status:
        from modeldeck.monitoring.overview import Status

        return Status(
            monitor=self.get_monitor(model),
            windows=self.monitor_windows(model, limit=windows),
            alerts=self.monitor_alerts(model, limit=alerts),
        )

    def monitor_alerts(self, model: str | None = None, *, limit: int = 100) -> list[Alert]:
        params: dict[str, Any] = {"limit": limit}
        if model is not None:
            params["model"] = model
        found = wire.AlertList.model_validate(self.http.get(f"{API}/alerts", params))
        return [a.to_entity() for a in found.alerts]

    def monitor_windows(self, model: str, *, limit: int = 1000) -> list[WindowResult]:
        found = self.http.get(f"{_path(model)}/windows", {"limit": limit})
        return [w.to_entity() for w in wire.WindowList.model_validate(found).windows]

    def monitor_report(
        self, model: str, out: str | os.PathLike[str], *, window_id: int | None = None
    ) -> Path:
        """Download the server's HTML report of the latest window (or ``window_id``) to
        ``out``; readers never see half a file."""
        params = {} if window_id is None else {"window_id": window_id}
        response = self.http.call("GET", f"{_path(model)}/report", params=params)
        from modeldeck.monitoring.reports import write_file

        return write_file(response.content, out)

    def shadow_comparison(
        self, model: str, *, since: int | None = None, until: int | None = None
    ) -> dict[str, Any]:
        wanted = {"since": since, "until": until}
        params = {k: v for k, v in wanted.items() if v is not None}
        found = wire.Shadow.model_validate(self.http.get(f"{_path(model)}/shadow", params))
        return found.comparison

    # what the shared retraining code reads and records -------------------------------------

    def labeled_rows(self, model: str, *, since: int | None = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        offset: int | None = 0
        while offset is not None:
            params: dict[str, Any] = {"offset": offset}
            if since is not None:
                params["since"] = since
            page = wire.LabeledPage.model_validate(self.http.get(f"{_path(model)}/labeled", params))
            rows.extend(r.model_dump() for r in page.rows)
            offset = page.next_offset
        return rows

    def training_data(self, model: str, version: int) -> pd.DataFrame:
        """The stored training dataset of ``model`` ``version``, found by its lineage and read
        from the server's object store."""
        import io

        import pandas as pd

        from modeldeck.monitoring.references import TRAIN

        for used in self.lineage(model, version).inputs:
            if used.context == TRAIN and used.dataset.object_digest is not None:
                data = self.tracker.objects.read_bytes(used.dataset.object_digest)
                return pd.read_parquet(io.BytesIO(data))
        raise InvalidInput(
            f"{model} version {version} has no stored training dataset to retrain from; log it "
            "in its run with `modeldeck.log_dataset(frame, context='train')`"
        )

    @contextmanager
    def _job_access(self, model: str, run_id: str) -> Iterator[tuple[Any, dict[str, str]]]:
        """A token limited to the job's run and model (expiring with the longest a command may
        run, revoked when the job ends): a client over it for an entry point, and
        ``MODELDECK_TOKEN`` for a command. This client's own token is never handed on."""
        from modeldeck.core.governance import TokenScope
        from modeldeck.monitoring.retraining import COMMAND_TIMEOUT_S

        issued = self.create_token(  # type: ignore[attr-defined]
            expires_in_days=COMMAND_TIMEOUT_S / 86_400,
            description=f"retraining {model}: run {run_id}",
            scope=TokenScope(runs=(run_id,), models=(model,)),
        )
        worker = type(self)(self.settings, token=issued.token)  # type: ignore[call-arg]
        env = {
            "MODELDECK_TRACKING_URI": self.settings.tracking_uri,
            "MODELDECK_USER": self.settings.user,
            "MODELDECK_TOKEN": issued.token,
        }
        try:
            yield worker, env
        finally:
            worker.close()  # type: ignore[attr-defined]
            self.revoke_token(issued.info.id)  # type: ignore[attr-defined]

    def _note(self, model: str, action: str, after: Mapping[str, Any]) -> None:
        self.http.post(f"{_path(model)}/notes", {"action": action, "after": dict(after)})

    def _record_alert(self, alert_id: int, detail: Mapping[str, Any]) -> Alert:
        if set(detail) != {"retraining"}:
            raise InvalidInput(
                "a remote client records only an alert's retraining; the server records its "
                "deliveries"
            )
        found = self.http.post(f"{API}/alerts/{int(alert_id)}/retraining", detail["retraining"])
        return wire.AlertOut.model_validate(found).to_entity()


def _path(model: str) -> str:
    return f"{API}/monitors/{segment(model)}"


def _monitor(data: Any) -> Monitor:
    return wire.MonitorOut.model_validate(data).to_entity()
