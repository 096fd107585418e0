"""The serving half of the remote client: the same methods as the local one, over ``/api/v1``.

The server records the token's owner as the one who started a deployment. Arguments are
checked here with the services' own checks, so a mistake reads the same on every backend and
costs no request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from modeldeck.client.deployments import DeploymentMethods
from modeldeck.client.http import segment
from modeldeck.core.deployment import Deployment, Prediction
from modeldeck.core.errors import InvalidInput
from modeldeck.monitoring.predictions import check_filters, check_prediction
from modeldeck.serving.deployments import check_role, check_start, check_version
from modeldeck.wire import serving as wire

if TYPE_CHECKING:
    from modeldeck.client.http import Http
    from modeldeck.monitoring.predictions import PredictionLog
    from modeldeck.serving.deployments import Deployments

API = "/api/v1"
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"), ensure_ascii=False)


class RemoteDeploymentMethods(DeploymentMethods):
    """Mixed into RemoteClient, which provides ``http``."""

    if TYPE_CHECKING:

        @property
        def http(self) -> Http: ...

    @property
    def deployments(self) -> Deployments:
        raise InvalidInput(
            "a remote client has no deployment service of its own: the server runs it. Use the "
            "client's methods (start_deployment, list_deployments, ...), which call the server."
        )

    @property
    def prediction_log(self) -> PredictionLog:
        raise InvalidInput(
            "a remote client has no prediction log of its own: the server keeps it. Use "
            "log_predictions and predictions, which call the server."
        )

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
        body = check_start(
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
        return _deployment(self.http.post(f"{API}/deployments", body))

    def deployment_heartbeat(self, deployment_id: str) -> None:
        self.http.post(f"{_path(deployment_id)}/heartbeat")

    def set_deployment_version(self, deployment_id: str, role: str, version: int | None) -> bool:
        path = f"{_path(deployment_id)}/versions/{segment(check_role(role))}"
        found = self.http.put(path, {"version": check_version(version)})
        return wire.VersionChange.model_validate(found).changed

    def stop_deployment(self, deployment_id: str) -> None:
        self.http.post(f"{_path(deployment_id)}/stop")

    def get_deployment(self, deployment_id: str) -> Deployment:
        return _deployment(self.http.get(_path(deployment_id)))

    def list_deployments(
        self, *, include_stopped: bool = False, model: str | None = None
    ) -> list[Deployment]:
        params: dict[str, Any] = {"include_stopped": include_stopped}
        if model is not None:
            params["model"] = model
        found = wire.DeploymentList.model_validate(self.http.get(f"{API}/deployments", params))
        return [d.to_entity() for d in found.deployments]

    # predictions ----------------------------------------------------------------------------

    def log_predictions(self, predictions: Sequence[Prediction]) -> int:
        """One request per 10,000 rows; each is stored in one transaction on the server."""
        rows = [_prediction_json(p) for p in predictions]
        stored = 0
        for start in range(0, len(rows), wire.MAX_PREDICTIONS):
            chunk = ",".join(rows[start : start + wire.MAX_PREDICTIONS])
            response = self.http.call(
                "POST",
                f"{API}/predictions",
                content=f'{{"predictions":[{chunk}]}}'.encode(),
                headers={"Content-Type": "application/json"},
            )
            stored += wire.Stored.model_validate(response.json()).stored
        return stored

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
        check_filters(role=role, version=version, since=since, until=until, limit=limit)
        wanted = {
            "model": model,
            "version": version,
            "deployment_id": deployment_id,
            "role": role,
            "since": since,
            "until": until,
            "limit": limit,
        }
        params = {k: v for k, v in wanted.items() if v is not None}
        found = wire.PredictionList.model_validate(self.http.get(f"{API}/predictions", params))
        return [p.to_entity() for p in found.predictions]


def _path(deployment_id: str) -> str:
    return f"{API}/deployments/{segment(deployment_id)}"


def _deployment(data: Any) -> Deployment:
    return wire.DeploymentOut.model_validate(data).to_entity()


def _prediction_json(p: Prediction) -> str:
    """The JSON text of one row, its inputs and outputs encoded once, as they are stored."""
    row = check_prediction(p)
    inputs, outputs = row.pop("inputs"), row.pop("outputs")
    return f'{_ENCODER.encode(row)[:-1]},"inputs":{inputs},"outputs":{outputs}}}'
