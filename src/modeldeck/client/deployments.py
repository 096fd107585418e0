"""The serving half of the local client: deployment records and the prediction log.

``modeldeck serve`` calls these: each process registers itself, beats, reports alias moves and
its stop, and logs the rows it predicted. The remote half
(:mod:`modeldeck.client.remote_deployments`) sends the same calls to a server.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from modeldeck.core.deployment import Deployment, Prediction

if TYPE_CHECKING:
    from modeldeck.core.settings import Settings
    from modeldeck.monitoring.predictions import PredictionLog
    from modeldeck.serving.deployments import Deployments
    from modeldeck.tracking.tracker import Tracker


class DeploymentMethods:
    """Mixed into LocalClient, which provides ``settings`` and ``store`` (whose database the
    deployment records and the prediction log share)."""

    settings: Settings

    if TYPE_CHECKING:

        @property
        def store(self) -> Tracker: ...

    @cached_property
    def deployments(self) -> Deployments:
        from modeldeck.serving.deployments import Deployments

        return Deployments(self.store.db, self.store.clock)

    @cached_property
    def prediction_log(self) -> PredictionLog:
        from modeldeck.monitoring.predictions import PredictionLog

        return PredictionLog(self.store.db, self.store.clock)

    # deployments ----------------------------------------------------------------------------

    def start_deployment(
        self,
        *,
        model: str,
        reference: str,
        version: int | None,
        host: str,
        port: int,
        workers: int,
        canary_reference: str | None = None,
        canary_version: int | None = None,
        canary_share: float = 0.0,
        shadow_reference: str | None = None,
        shadow_version: int | None = None,
    ) -> Deployment:
        """Record a serving process that starts, as this client's user."""
        return self.deployments.start(
            self.settings.user,
            model=model,
            reference=reference,
            version=version,
            host=host,
            port=port,
            workers=workers,
            canary_reference=canary_reference,
            canary_version=canary_version,
            canary_share=canary_share,
            shadow_reference=shadow_reference,
            shadow_version=shadow_version,
        )

    def deployment_heartbeat(self, deployment_id: str) -> None:
        """Say the deployment is alive (``last_seen`` = now)."""
        self.deployments.heartbeat(deployment_id, self.settings.user)

    def set_deployment_version(self, deployment_id: str, role: str, version: int | None) -> bool:
        """Point ``role`` (primary, canary, shadow) at ``version``; True only if it moved."""
        return self.deployments.set_version(deployment_id, role, version, self.settings.user)

    def stop_deployment(self, deployment_id: str) -> None:
        """Mark it stopped; a second call changes nothing."""
        self.deployments.stop(deployment_id, self.settings.user)

    def get_deployment(self, deployment_id: str) -> Deployment:
        return self.deployments.get(deployment_id)

    def list_deployments(
        self, *, include_stopped: bool = False, model: str | None = None
    ) -> list[Deployment]:
        """Newest first; stopped ones only with ``include_stopped``."""
        return self.deployments.search(include_stopped=include_stopped, model=model)

    # predictions ----------------------------------------------------------------------------

    def log_predictions(self, predictions: Sequence[Prediction]) -> int:
        """Store the rows not stored yet (by request id, row and role); how many were new."""
        return self.prediction_log.log(predictions)

    def predictions(
        self,
        *,
        model: str | None = None,
        version: int | None = None,
        deployment_id: str | None = None,
        role: str | None = None,
        since: int | None = None,
        until: int | None = None,
        limit: int = 10_000,
    ) -> list[Prediction]:
        """Ordered by time, then request id and row; ``since`` inclusive, ``until`` exclusive
        (epoch milliseconds)."""
        return self.prediction_log.search(
            model=model,
            version=version,
            deployment_id=deployment_id,
            role=role,
            since=since,
            until=until,
            limit=limit,
        )
