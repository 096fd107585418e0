"""What a client needs of a tracking service, wherever it runs.

:class:`~modeldeck.tracking.tracker.Tracker` is it over the stores themselves;
:class:`~modeldeck.client.remote.RemoteTracker` over a modeldeck server. The SDK, model
packaging and model loading are written against this protocol, so they work unchanged on both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from modeldeck.core.entities import Artifact, Dataset, Experiment, Metric, Run, RunStatus
from modeldeck.storage.objects.base import ObjectStore

if TYPE_CHECKING:
    import pandas as pd

    from modeldeck.tracking.buffer import MetricRow
    from modeldeck.tracking.environment import RunContext
    from modeldeck.tracking.tracker import Page


class TrackingPort(Protocol):
    objects: ObjectStore
    clock: Callable[[], int]

    def experiment(self, name: str, *, create: bool = True) -> Experiment: ...

    def experiments(self) -> list[Experiment]: ...

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
    ) -> Run: ...

    def end_run(
        self,
        run_id: str,
        status: RunStatus = RunStatus.FINISHED,
        metrics: Sequence[MetricRow] = (),
        actor: str | None = None,
    ) -> None: ...

    def get_run(self, run_id: str) -> Run: ...

    def children(self, run_id: str) -> list[str]: ...

    def log_params(self, run_id: str, values: Mapping[str, Any]) -> None: ...

    def set_tags(self, run_id: str, values: Mapping[str, Any]) -> None: ...

    def log_metrics(self, batch: Sequence[MetricRow]) -> None: ...

    def metric_history(self, run_id: str, key: str) -> list[Metric]: ...

    def search(
        self,
        experiments: str | Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        max_results: int = 1000,
        offset: int = 0,
    ) -> Page: ...

    def reap_dead_runs(self, host: str, is_alive: Callable[[int], bool]) -> list[str]: ...

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
    ) -> Dataset: ...

    def datasets(self, name_or_digest: str) -> list[Dataset]: ...

    def log_artifact(
        self,
        run_id: str,
        local_path: str | os.PathLike[str],
        name: str | None,
        actor: str | None = None,
    ) -> Artifact: ...

    def log_bytes(
        self, run_id: str, data: bytes, name: str, actor: str | None = None
    ) -> Artifact: ...

    def artifacts(self, run_id: str) -> list[Artifact]: ...

    def artifact(self, run_id: str, path: str) -> tuple[Artifact, str | None]: ...

    def download_artifact(self, run_id: str, path: str, dest: Path) -> Path: ...
