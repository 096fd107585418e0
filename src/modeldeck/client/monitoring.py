"""The monitoring half of the local client: references, monitors, labels, alerts and the
retraining loop.

``run_monitor`` is the loop's heartbeat: it closes the windows that ended, updates
performance with labels that arrived, and for every rule that fired records the alert, POSTs
it to the webhooks (signed, retried, public addresses or the admin's allowlisted hosts only)
and, for ``retrain`` rules, runs the retraining job, once it has checked that an admin pinned
exactly that job (its digest). A job runs with what :meth:`MonitoringMethods._job_access`
gives it: here the local store; a remote client gives it a token limited to its run and model,
never its own.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeck.core.errors import InvalidInput
from modeldeck.core.monitoring import Alert, Monitor, WindowResult

if TYPE_CHECKING:
    import pandas as pd

    from modeldeck.core.registry import AliasEvent, Evaluation, ModelVersion, RegisteredModel
    from modeldeck.core.settings import Settings
    from modeldeck.models.predictor import Predictor
    from modeldeck.monitoring.labels import Labels, LabelsLogged
    from modeldeck.monitoring.monitors import Monitors, Pass
    from modeldeck.monitoring.overview import Status
    from modeldeck.monitoring.references import References
    from modeldeck.monitoring.retraining import Retrained
    from modeldeck.tracking.tracker import Tracker


@dataclass(frozen=True)
class MonitorRun:
    """One pass of a monitor and what followed from its alerts."""

    closed: list[WindowResult]
    refreshed: list[WindowResult]
    alerts: list[Alert]
    retrained: list[Retrained] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)  # too few labels to judge


class MonitoringMethods:
    """Mixed into LocalClient, which provides ``settings``, ``store`` and the registry and
    tracking methods retraining drives."""

    settings: Settings

    if TYPE_CHECKING:

        @property
        def store(self) -> Tracker: ...

        def load_model(self, uri: str, *, allow_pickle: bool = False) -> Predictor: ...

        def get_model_version(self, name: str, version: int | str) -> ModelVersion: ...

        def get_registered_model(self, name: str) -> RegisteredModel: ...

        def flush(self) -> None: ...

        def end_run(self, run_id: str, status: Any = ...) -> None: ...

        def create_run(
            self,
            experiment: str | None = None,
            name: str | None = None,
            parent_id: str | None = None,
            tags: Mapping[str, Any] | None = None,
        ) -> Any: ...

        def evaluations(self, name: str, version: int) -> list[Evaluation]: ...

        def evaluate_model(
            self, name: str, version: int, data: Any, *, policy: Any = None
        ) -> Evaluation: ...

        def promote(
            self, name: str, version: int, alias: str = "champion"
        ) -> AliasEvent | None: ...

    @cached_property
    def references(self) -> References:
        from modeldeck.monitoring.references import References

        return References(self.store.db, self.store.objects, self.store.clock, self.load_model)

    @cached_property
    def monitors(self) -> Monitors:
        from modeldeck.governance.access import DEFAULT_PROJECT, effective_role
        from modeldeck.monitoring.monitors import Monitors

        return Monitors(
            self.store.db,
            self.store.clock,
            self.references,
            lambda conn, user: effective_role(conn, DEFAULT_PROJECT, user),
        )

    @cached_property
    def labels(self) -> Labels:
        from modeldeck.monitoring.labels import Labels

        return Labels(self.store.db, self.store.clock)

    # registration captures the reference -----------------------------------------------------

    def register_model(
        self,
        source: str,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        replaces: int | None = None,
    ) -> ModelVersion:
        version: ModelVersion = super().register_model(  # type: ignore[misc]
            source, name, description=description, tags=tags, replaces=replaces
        )
        try:
            self.references.capture(name, version.version)
        except Exception as problem:  # the version is registered; monitoring can retry later
            warnings.warn(
                f"{name} version {version.version} is registered, but its monitoring reference "
                f"could not be captured: {problem}",
                stacklevel=2,
            )
        return version

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
        """``min_labeled``: the labelled rows a window needs before a performance rule may
        fire on it (a window with fewer is reported as held, not judged)."""
        return self.monitors.create(
            model,
            self.settings.user,
            window=window,
            deployment_id=deployment_id,
            origin=origin,
            share_threshold=share_threshold,
            methods=methods,
            thresholds=thresholds,
            min_labeled=min_labeled,
        )

    def get_monitor(self, model: str) -> Monitor:
        return self.monitors.get(model)

    def list_monitors(self) -> list[Monitor]:
        return self.monitors.all()

    def add_alert_rule(
        self, model: str, rule: str, *, action: str = "notify", min_labeled: int | None = None
    ) -> Monitor:
        """``min_labeled`` overrides the monitor's minimum of labelled rows for this rule."""
        return self.monitors.add_rule(
            model, rule, self.settings.user, action=action, min_labeled=min_labeled
        )

    def remove_alert_rule(self, model: str, rule: str) -> Monitor:
        return self.monitors.remove_rule(model, rule, self.settings.user)

    def add_webhook(self, model: str, url: str, *, secret: str | None = None) -> Monitor:
        return self.monitors.add_webhook(model, url, self.settings.user, secret=secret)

    def remove_webhook(self, model: str, url: str) -> Monitor:
        return self.monitors.remove_webhook(model, url, self.settings.user)

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
        """Register the job that retrains ``model``: a Python ``entry_point``
        (``module:function``) or a ``command`` (split like a shell would, run by none);
        ``policy`` is a policy file (TOML) whose gates judge the result (default: the gates the
        replaced version passed). The monitor's owner or an admin sets it; it runs only once
        an admin pinned it (an admin's own job is pinned at once)."""
        from modeldeck.monitoring.retraining import job_of

        job = job_of(
            entry_point=entry_point,
            command=command,
            policy=policy,
            label=label,
            experiment=experiment,
        )
        return self.monitors.set_retraining(model, job, self.settings.user)

    def pin_retraining(self, model: str, digest: str) -> Monitor:
        """Admins: vouch for exactly the retraining job whose ``digest`` you reviewed."""
        return self.monitors.pin_retraining(model, digest, self.settings.user)

    # data in ---------------------------------------------------------------------------------

    def log_labels(
        self,
        request_ids: Sequence[Any],
        labels: Sequence[Any],
        *,
        rows: Sequence[int] | None = None,
    ) -> LabelsLogged:
        """Join ground truth to logged predictions by request id (and row, 0 by default)."""
        return self.labels.log(request_ids, labels, self.settings.user, rows_=rows)

    # the loop --------------------------------------------------------------------------------

    def run_monitor(self, model: str, *, now: int | None = None) -> MonitorRun:
        """Close ended windows, refresh performance, and act on the rules that fired."""
        evaluation: Pass = self.monitors.evaluate(model, now)
        alerts, retrained = self._act(model, evaluation.alerts)
        return MonitorRun(
            evaluation.closed, evaluation.refreshed, alerts, retrained, evaluation.held
        )

    def check_batch(
        self,
        model: str,
        data: Any,
        *,
        version: int | None = None,
        label: str | None = None,
    ) -> MonitorRun:
        """Predict a batch with ``version`` (the champion by default) and analyse it as a
        window of its own; ``label`` names a column of ground truth, if the batch has one.

        ``data`` is a pandas DataFrame, a parquet or CSV file, or a Dask DataFrame. Files and
        Dask frames are read chunk by chunk (partition by partition) and column by column,
        so memory holds one chunk or one column, never the whole batch."""
        from modeldeck.monitoring.references import predict_valid
        from modeldeck.monitoring.sources import source

        batch = source(data)
        number = version if version is not None else self._served(model)
        if label is not None and label not in batch.columns:
            raise InvalidInput(
                f"the batch has no label column {label!r}; its columns: {', '.join(batch.columns)}"
            )
        reference = self.references.load(model, number)
        predictor = self.load_model(f"models:/{model}/{number}")
        known = set(reference.frame.columns)
        wanted = [c for c in batch.columns if c in known]
        predictions: list[Any] = []
        chunks_proba: list[Any] = []
        labels: list[Any] | None = None if label is None else []
        refused = 0
        for chunk in batch.chunks([*wanted, *([label] if label else [])]):
            kept, predicted, proba = predict_valid(predictor, chunk[wanted], reference.task)
            refused += len(chunk) - len(kept)
            predictions += list(predicted)
            if proba is not None:
                chunks_proba.append(proba)
            if labels is not None and label is not None:
                truth = chunk[label].iloc[kept]
                labels += truth.astype(object).where(truth.notna(), None).tolist()
        probabilities = None
        if chunks_proba:
            import numpy as np

            probabilities = np.concatenate(chunks_proba)
        held: list[dict[str, Any]] = []
        window, fired = self.monitors.check_batch(
            model,
            batch,
            version=number,
            predictions=predictions,
            probabilities=probabilities,
            labels=labels,
            refused=refused,
            held=held,
        )
        alerts, retrained = self._act(model, fired)
        return MonitorRun([window], [], alerts, retrained, held)

    def monitor_status(self, model: str, *, windows: int = 12, alerts: int = 20) -> Status:
        from modeldeck.monitoring.overview import Status

        return Status(
            monitor=self.monitors.get(model),
            windows=self.monitors.windows(model, limit=windows),
            alerts=self.monitors.alerts(model, limit=alerts),
        )

    def monitor_alerts(self, model: str | None = None, *, limit: int = 100) -> list[Alert]:
        return self.monitors.alerts(model, limit=limit)

    def monitor_windows(self, model: str, *, limit: int = 1000) -> list[WindowResult]:
        return self.monitors.windows(model, limit=limit)

    def monitor_report(
        self, model: str, out: str | os.PathLike[str], *, window_id: int | None = None
    ) -> Path:
        """Write the HTML report of the latest window (or ``window_id``) with the trend of
        every window and the alerts."""
        from modeldeck.monitoring.reports import write_html

        report = self.monitors.report(model, window_id=window_id)
        return write_html(report, out)

    def shadow_comparison(
        self, model: str, *, since: int | None = None, until: int | None = None
    ) -> dict[str, Any]:
        """The primary and shadow answers to the same requests, side by side."""
        from modeldeck.monitoring.shadow import compare

        return compare(self.store.db, self.references, model, since=since, until=until)

    def retrain(
        self, model: str, *, alert: Alert | None = None, replaces: int | None = None
    ) -> Retrained:
        """Run the registered retraining job now (an alert's ``retrain`` action calls this).

        The job runs in this process, whichever the backend: it reads its data and records
        every step through the client's own methods."""
        from modeldeck.monitoring.retraining import (
            CHALLENGER,
            RetrainContext,
            Retrained,
            check_pinned,
            run_job,
        )

        monitor = self.get_monitor(model)
        job = monitor.retraining
        if job is None:
            raise InvalidInput(
                f"model {model!r} has no retraining job; register one with "
                f"`modeldeck monitor retraining {model} --entry-point module:function`"
            )
        sealed = check_pinned(model, job)  # before anything runs or is recorded
        if replaces is None and alert is not None:
            replaces = alert.detail.get("version")
        number = int(replaces) if replaces is not None else self._served(model)
        replaced = self.get_model_version(model, number)
        policy = self._retraining_policy(model, number, job)
        label = job.get("label") or (policy.label if policy is not None else None) or "label"
        trigger = {"alert": alert.id, "rule": alert.rule} if alert is not None else {"manual": True}
        self._note(model, "retrain.start", {"replaces": number, **trigger})
        run = self.create_run(
            job.get("experiment") or f"{model}-retraining",
            f"retrain-{model}-v{number}",
            None,
            {
                "retraining_of": f"models:/{model}/{number}",
                "trigger": str(trigger.get("rule", "manual")),
                "job": job["target"],
                "job_digest": sealed,
            },
        )
        features = list((replaced.signature or {}).get("inputs", []))
        try:
            with self._job_access(model, run.id) as (worker, env):
                context = RetrainContext(
                    client=worker,
                    run_id=run.id,
                    model=model,
                    replaces=number,
                    label=label,
                    _labeled=lambda since: self._labeled_frame(model, label, since),
                    _training=lambda: self.training_data(model, number),
                )
                run_job(job, context, [f["name"] for f in features], env)
                worker.flush()
            self.flush()
            self.end_run(run.id, "FINISHED")
        except BaseException as failed:
            self.end_run(run.id, "FAILED")
            self._note(model, "retrain.fail", {"run_id": run.id, "error": str(failed)[:500]})
            raise
        version = self.register_model(
            f"runs:/{run.id}/model",
            model,
            description=f"retrained from version {number}"
            + (f" after the alert {alert.rule!r}" if alert is not None else ""),
            tags={"retrained_from": number, "retraining_run": run.id},
            replaces=number,
        )
        passed: bool | None = None
        rows = 0
        if policy is not None:
            data = context.evaluation
            if data is None:
                data = self._labeled_frame(model, label, None)
            rows = len(data)
            if rows:
                passed = bool(
                    self.evaluate_model(model, version.version, data, policy=policy).passed
                )
        alias = None
        if passed:
            self.promote(model, version.version, alias=CHALLENGER)
            alias = CHALLENGER
        result = Retrained(run.id, version.version, number, passed, alias, rows)
        self._note(
            model,
            "retrain.finish",
            {
                "run_id": run.id,
                "version": version.version,
                "replaces": number,
                "passed": passed,
                "alias": alias,
            },
        )
        return result

    def labeled_rows(self, model: str, *, since: int | None = None) -> list[dict[str, Any]]:
        """Logged inputs of ``model``'s monitored deployment with the labels that arrived,
        oldest first: ``{"time", "inputs", "label"}`` per row (what retraining learns from)."""
        return self.monitors.labeled_rows(model, since=since)

    def training_data(self, model: str, version: int) -> pd.DataFrame:
        """The whole stored training dataset of ``model`` ``version`` (labels included)."""
        from modeldeck.monitoring.references import training_frame

        return training_frame(self.store.db, self.store.objects, model, version)

    def _note(self, model: str, action: str, after: Mapping[str, Any]) -> None:
        """Audit a step of the retraining loop (``retrain.start``, ``.finish``, ``.fail``)."""
        from modeldeck.monitoring.monitors import note

        note(self.store.db, self.store.clock, model, action, self.settings.user, after)

    def _record_alert(self, alert_id: int, detail: Mapping[str, Any]) -> Alert:
        """Merge ``detail`` (deliveries, retraining) into what the alert records."""
        return self.monitors.record(alert_id, detail)

    def _act(self, model: str, fired: list[Alert]) -> tuple[list[Alert], list[Retrained]]:
        from modeldeck.monitoring.alerts import deliver_alert

        if not fired:
            return [], []
        monitor = self.monitors.get(model)
        allowlist = self.monitors.webhook_hosts()
        done: list[Alert] = []
        retrained: list[Retrained] = []
        for alert in fired:
            sent = deliver_alert(monitor, alert, allowlist)
            if sent:
                self.monitors.record_deliveries(alert, sent, self.settings.user)
            detail: dict[str, Any] = {"deliveries": sent}
            if alert.action == "retrain":
                detail["retraining"], result = self._retrain_after(model, alert)
                if result is not None:
                    retrained.append(result)
            done.append(self._record_alert(alert.id, detail))
        return done, retrained

    def _retrain_after(self, model: str, alert: Alert) -> tuple[dict[str, Any], Retrained | None]:
        """Run the retraining a ``retrain`` alert asks for, unless a challenger retrained from
        the same version waits for a decision; what happened, as the alert records it."""
        pending = self._pending_challenger(model, alert.detail.get("version"))
        if pending is not None:
            return {
                "skipped": f"version {pending} (challenger) already replaces version "
                f"{alert.detail.get('version')}; promote or drop it first"
            }, None
        try:
            result = self.retrain(model, alert=alert)
        except Exception as failed:  # a broken job must not stop the monitor
            return {"error": f"{type(failed).__name__}: {failed}"[:500]}, None
        return {
            "run_id": result.run_id,
            "version": result.version,
            "passed": result.passed,
            "alias": result.alias,
        }, result

    def _store_env(self) -> dict[str, str]:
        """The variables that point a retraining command's SDK at this client's store."""
        settings = self.settings
        return {
            "MODELDECK_HOME": str(settings.home),
            "MODELDECK_TRACKING_URI": settings.tracking_uri,
            "MODELDECK_ARTIFACTS": settings.artifacts_uri,
            "MODELDECK_USER": settings.user,
        }

    @contextmanager
    def _job_access(self, model: str, run_id: str) -> Iterator[tuple[Any, dict[str, str]]]:
        """What a retraining job acts with: the client its entry point is handed and the
        variables of a command. Here, the local store (there is no token to withhold)."""
        yield self, self._store_env()

    def _pending_challenger(self, model: str, version: Any) -> int | None:
        """The challenger already retrained from ``version``, if there is one."""
        from modeldeck.monitoring.retraining import CHALLENGER

        challenger = self.get_registered_model(model).aliases.get(CHALLENGER)
        if challenger is None or version is None:
            return None
        found = self.get_model_version(model, challenger)
        return challenger if found.replaces_version == int(version) else None

    def _served(self, model: str) -> int:
        registered = self.get_registered_model(model)
        champion = registered.aliases.get("champion")
        if champion is not None:
            return int(champion)
        versions = getattr(registered, "latest_version", None)
        if versions:
            return int(versions)
        raise InvalidInput(f"model {model!r} has no champion; name the version to use")

    def _retraining_policy(self, model: str, version: int, job: Mapping[str, Any]) -> Any:
        from modeldeck.validation.policy import Policy, parse_policy

        if job.get("policy"):
            import tomllib

            return parse_policy(tomllib.loads(job["policy"]), model, "the retraining job's policy")
        for evaluation in reversed(self.evaluations(model, version)):
            if evaluation.policy:
                return Policy.from_dict(evaluation.policy)
        return None

    def _labeled_frame(self, model: str, label: str, since: int | None) -> pd.DataFrame:
        import pandas as pd

        found = self.labeled_rows(model, since=since)
        frame = pd.DataFrame.from_records([r["inputs"] for r in found])
        frame[label] = [r["label"] for r in found]
        frame["prediction_time"] = [r["time"] for r in found]
        return frame
