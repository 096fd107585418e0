"""The SDK against a modeldeck server: ``MODELDECK_TRACKING_URI=http(s)://host:port`` plus
``MODELDECK_TOKEN``.

:class:`RemoteTracker` offers what :class:`~modeldeck.tracking.port.TrackingPort` asks, over
``/api/v1``; :class:`RemoteClient` is the local client with that tracker and the registry half
of :mod:`modeldeck.client.remote_registry`, so every SDK and CLI call works the same against
both. The work that needs no database stays on this side: the run's environment is captured
here, datasets are profiled here, model packages are built and loaded here, and bytes go to
the object store without passing through the server when it is S3.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from modeldeck.client.http import Http, segment
from modeldeck.client.local import LocalClient
from modeldeck.client.remote_deployments import RemoteDeploymentMethods
from modeldeck.client.remote_monitoring import RemoteMonitoringMethods
from modeldeck.client.remote_registry import RemoteRegistryMethods
from modeldeck.client.transfer import HttpObjectStore
from modeldeck.core import validation as check
from modeldeck.core.entities import (
    Artifact,
    Dataset,
    Experiment,
    Metric,
    Run,
    RunStatus,
    json_number,
)
from modeldeck.core.errors import InvalidInput
from modeldeck.core.settings import Settings
from modeldeck.storage.objects.base import ObjectStore
from modeldeck.tracking.tracker import (
    Page,
    artifact_path,
    describe_dataset,
    fetch_artifact,
    find_artifact,
    now_ms,
    text_map,
)
from modeldeck.wire import tracking as wire

if TYPE_CHECKING:
    import pandas as pd

    from modeldeck.tracking.buffer import MetricRow
    from modeldeck.tracking.environment import RunContext
    from modeldeck.tracking.port import TrackingPort
    from modeldeck.tracking.tracker import Tracker

API = "/api/v1"
TOKEN_ENV = "MODELDECK_TOKEN"
METRICS_PER_REQUEST = wire.METRICS_PER_REQUEST


class RemoteTracker:
    """The tracking service of a modeldeck server. The acting user is the token's owner."""

    def __init__(self, http: Http) -> None:
        self.http = http
        self.objects: ObjectStore = HttpObjectStore(http)
        self.clock: Callable[[], int] = now_ms

    # experiments ---------------------------------------------------------------------------

    def experiment(self, name: str, *, create: bool = True) -> Experiment:
        if create:
            raise InvalidInput("a remote client creates experiments by starting runs in them")
        found = self.http.get(f"{API}/experiments/{segment(name)}")
        return wire.ExperimentOut.model_validate(found).to_entity()

    def experiments(self) -> list[Experiment]:
        found = wire.ExperimentList.model_validate(self.http.get(f"{API}/experiments"))
        return [e.to_entity() for e in found.experiments]

    # runs ----------------------------------------------------------------------------------

    def create_run(
        self,
        *,
        experiment: str,
        user: str,
        context: RunContext,
        name: str | None = None,
        parent_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> Run:
        """``user`` is ignored: the server records the token's owner."""
        git = None
        if context.git is not None:
            diff = context.git.diff.decode("utf-8", "replace") if context.git.diff else None
            git = {"commit": context.git.commit, "dirty": context.git.dirty, "diff": diff}
        body = {
            # chosen here, so a retried create finds the run its first attempt made
            "id": run_id or uuid.uuid4().hex,
            "experiment": experiment,
            "name": name,
            "parent_id": parent_id,
            "tags": {str(k): str(v) for k, v in (tags or {}).items()},
            "source": context.source,
            "entry_point": context.entry_point,
            "python_version": context.python_version,
            "host": context.host,
            "pid": context.pid,
            "git": git,
            "environment": context.environment.decode("utf-8"),
        }
        return _run(self.http.post(f"{API}/runs", body))

    def end_run(
        self,
        run_id: str,
        status: RunStatus = RunStatus.FINISHED,
        metrics: Sequence[MetricRow] = (),
        actor: str | None = None,
    ) -> None:
        """The run's own last metrics travel with the end (one request, one transaction);
        others, and any beyond one request's worth, are sent before it."""
        own = [m for m in metrics if m[0] == run_id]
        last = own[-wire.METRICS_PER_REQUEST :] if own else []
        self.log_metrics([m for m in metrics if m[0] != run_id] + own[: len(own) - len(last)])
        body = {
            "status": RunStatus(status).value,
            "metrics": [
                {"key": key, "value": json_number(value), "step": step, "timestamp": timestamp}
                for _, key, value, step, timestamp in last
            ],
        }
        self.http.post(f"{API}/runs/{segment(run_id)}/end", body)

    def get_run(self, run_id: str) -> Run:
        return _run(self.http.get(f"{API}/runs/{segment(run_id)}"))

    def children(self, run_id: str) -> list[str]:
        return list(self.http.get(f"{API}/runs/{segment(run_id)}/children")["run_ids"])

    def log_params(self, run_id: str, values: Mapping[str, Any]) -> None:
        self.http.post(
            f"{API}/runs/{segment(run_id)}/params",
            {"values": text_map(values, "param", check.MAX_PARAM_VALUE_LENGTH)},
        )

    def set_tags(self, run_id: str, values: Mapping[str, Any]) -> None:
        self.http.post(
            f"{API}/runs/{segment(run_id)}/tags",
            {"values": text_map(values, "tag", check.MAX_TAG_VALUE_LENGTH)},
        )

    def log_metrics(self, batch: Sequence[MetricRow]) -> None:
        """One request per run and 10,000 values, each with its own Idempotency-Key."""
        by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for run_id, key, value, step, timestamp in batch:
            by_run[run_id].append(
                {"key": key, "value": json_number(value), "step": step, "timestamp": timestamp}
            )
        for run_id, rows in by_run.items():
            for start in range(0, len(rows), METRICS_PER_REQUEST):
                chunk = rows[start : start + METRICS_PER_REQUEST]
                self.http.post(f"{API}/runs/{segment(run_id)}/metrics", {"metrics": chunk})

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        found = self.http.get(f"{API}/runs/{segment(run_id)}/metrics/{quote(key)}")
        return [m.to_entity() for m in wire.MetricHistory.model_validate(found).metrics]

    def search(
        self,
        experiments: str | Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        max_results: int = 1000,
        offset: int = 0,
    ) -> Page:
        body = {
            "experiments": [experiments] if isinstance(experiments, str) else experiments,
            "filter": filter,
            "order_by": [order_by] if isinstance(order_by, str) else order_by,
            "max_results": max_results,
            "offset": offset,
        }
        found = wire.SearchOut.model_validate(self.http.post(f"{API}/runs/search", body))
        return Page([r.to_entity() for r in found.runs], found.next_offset)

    def reap_dead_runs(self, host: str, is_alive: Callable[[int], bool]) -> list[str]:
        """Nothing to do from here: a remote client's runs are ended by the client itself (the
        SDK ends them on exit, as FAILED after an exception)."""
        return []

    # datasets ------------------------------------------------------------------------------

    def log_dataset(
        self,
        run_id: str,
        data: pd.DataFrame | str | os.PathLike[str],
        *,
        name: str | None,
        context: str,
        store: bool = True,
        source: str | None = None,
        actor: str | None = None,
    ) -> Dataset:
        check.check_key(context, "dataset context")
        self.get_run(run_id)  # fail on an unknown run before profiling and uploading
        values = describe_dataset(self.objects, data, name=name, store=store, source=source)
        found = self.http.post(
            f"{API}/runs/{segment(run_id)}/datasets", {**values, "context": context}
        )
        return wire.DatasetOut.model_validate(found).to_entity()

    def datasets(self, name_or_digest: str) -> list[Dataset]:
        found = self.http.get(f"{API}/datasets", {"name": name_or_digest})
        return [d.to_entity() for d in wire.DatasetList.model_validate(found).datasets]

    # artifacts -----------------------------------------------------------------------------

    def log_artifact(
        self,
        run_id: str,
        local_path: str | os.PathLike[str],
        name: str | None,
        actor: str | None = None,
    ) -> Artifact:
        path = Path(local_path)
        if not path.exists():
            raise InvalidInput(f"cannot log artifact: {path} does not exist")
        where = artifact_path(name or path.name)
        self.get_run(run_id)
        info = self.objects.put_dir(path) if path.is_dir() else self.objects.put_file(path)
        return self._record(run_id, Artifact(where, info.digest, info.size, path.is_dir()))

    def log_bytes(self, run_id: str, data: bytes, name: str, actor: str | None = None) -> Artifact:
        where = artifact_path(name)
        self.get_run(run_id)
        info = self.objects.put_bytes(data)
        return self._record(run_id, Artifact(where, info.digest, info.size))

    def artifacts(self, run_id: str) -> list[Artifact]:
        found = self.http.get(f"{API}/runs/{segment(run_id)}/artifacts")
        return [a.to_entity() for a in wire.ArtifactList.model_validate(found).artifacts]

    def artifact(self, run_id: str, path: str) -> tuple[Artifact, str | None]:
        return find_artifact(self.artifacts(run_id), run_id, path)

    def download_artifact(self, run_id: str, path: str, dest: Path) -> Path:
        return fetch_artifact(self.objects, *self.artifact(run_id, path), run_id, dest)

    def _record(self, run_id: str, artifact: Artifact) -> Artifact:
        body = {
            "path": artifact.path,
            "digest": artifact.digest,
            "size": artifact.size,
            "is_dir": artifact.is_dir,
        }
        found = self.http.post(f"{API}/runs/{segment(run_id)}/artifacts", body)
        return wire.ArtifactOut.model_validate(found).to_entity()


class RemoteClient(
    RemoteMonitoringMethods, RemoteDeploymentMethods, RemoteRegistryMethods, LocalClient
):
    """Everything the SDK does, against the modeldeck server at ``settings.tracking_uri``.

    ``token`` defaults to ``$MODELDECK_TOKEN``. Constructing it sends nothing.
    """

    def __init__(
        self, settings: Settings | None = None, token: str | None = None, **http: Any
    ) -> None:
        super().__init__(settings)
        self._token = token if token is not None else os.environ.get(TOKEN_ENV)
        self._http_options = http

    @cached_property
    def http(self) -> Http:
        return Http(self.settings.tracking_uri, self._token, **self._http_options)

    @cached_property
    def tracker(self) -> TrackingPort:
        return RemoteTracker(self.http)

    @cached_property
    def store(self) -> Tracker:
        raise InvalidInput(
            f"this client talks to the server at {self.settings.tracking_uri}; its stores are "
            "the server's, and only reachable through its API"
        )

    def close(self) -> None:
        if "buffer" in self.__dict__:
            self.buffer.close()
        if "http" in self.__dict__:
            self.http.close()


def _run(data: Any) -> Run:
    return wire.RunOut.model_validate(data).to_entity()
