"""A client over the stores themselves: the embedded default, or a shared PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeck.client.deployments import DeploymentMethods
from modeldeck.client.monitoring import MonitoringMethods
from modeldeck.client.registry import RegistryMethods
from modeldeck.core import validation as check
from modeldeck.core.entities import Artifact, Dataset, Experiment, Metric, Run, RunStatus
from modeldeck.core.errors import InvalidInput
from modeldeck.core.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

    from modeldeck.models.package import ModelInfo
    from modeldeck.models.predictor import Predictor
    from modeldeck.models.signature import Signature
    from modeldeck.tracking.buffer import MetricBuffer, MetricRow
    from modeldeck.tracking.port import TrackingPort
    from modeldeck.tracking.tracker import Page, Tracker


class LocalClient(MonitoringMethods, DeploymentMethods, RegistryMethods):
    """Everything the SDK does, against the stores named by ``settings``.

    Opening is lazy: constructing a client does no I/O, the first call connects (and, for the
    embedded SQLite store only, migrates the schema).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.load()
        self._open_lock = threading.Lock()

    @cached_property
    def store(self) -> Tracker:
        """The tracking service over the stores themselves (the registry half uses its db)."""
        with self._open_lock:
            from modeldeck.tracking.stores import open_tracker

            return open_tracker(self.settings)

    @cached_property
    def tracker(self) -> TrackingPort:
        return self.store

    @cached_property
    def buffer(self) -> MetricBuffer:
        from modeldeck.tracking.buffer import MetricBuffer

        return MetricBuffer(self.tracker.log_metrics)

    # runs ----------------------------------------------------------------------------------

    def create_run(
        self,
        experiment: str | None = None,
        name: str | None = None,
        parent_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> Run:
        from modeldeck.tracking.environment import capture

        return self.tracker.create_run(
            experiment=experiment or self.settings.experiment,
            user=self.settings.user,
            context=capture(),
            name=name,
            parent_id=parent_id,
            tags=tags,
        )

    def end_run(self, run_id: str, status: RunStatus | str = RunStatus.FINISHED) -> None:
        """Store the metrics still queued and the run's end in one transaction."""
        final = _status(status)

        def last(batch: Sequence[MetricRow]) -> None:
            self.tracker.end_run(run_id, final, batch)

        if "buffer" in self.__dict__:
            self.buffer.flush(last=last)
        else:
            last(())

    def get_run(self, run_id: str) -> Run:
        run = self.tracker.get_run(run_id)
        if run.status is RunStatus.RUNNING and self._is_dead(run):
            self.tracker.reap_dead_runs(socket.gethostname(), pid_alive)
            run = self.tracker.get_run(run_id)
        return run

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self.tracker.log_params(run_id, params)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.tracker.set_tags(run_id, tags)

    def log_metric_rows(self, rows: Sequence[MetricRow]) -> None:
        """Queue validated rows for the background writer."""
        self.buffer.add(rows)

    def log_metrics(
        self, run_id: str, metrics: Mapping[str, Any], step: int = 0, timestamp: int | None = None
    ) -> None:
        from modeldeck.tracking.tracker import now_ms

        ts = now_ms() if timestamp is None else timestamp
        step = check.check_step(step)
        rows = [
            (run_id, check.check_key(k, "metric key"), check.check_metric_value(k, v), step, ts)
            for k, v in metrics.items()
        ]
        self.buffer.add(rows)

    def flush(self) -> None:
        if "buffer" in self.__dict__:
            self.buffer.flush()

    def close(self) -> None:
        if "buffer" in self.__dict__:
            self.buffer.close()
        if "store" in self.__dict__:
            self.store.db.dispose()

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        self.flush()
        return self.tracker.metric_history(run_id, key)

    def search_runs(
        self,
        experiments: str | Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        max_results: int = 1000,
        offset: int = 0,
    ) -> Page:
        self.flush()
        return self.tracker.search(experiments, filter, order_by, max_results, offset)

    def children(self, run_id: str) -> list[str]:
        return self.tracker.children(run_id)

    def reap_dead_runs(self) -> list[str]:
        return self.tracker.reap_dead_runs(socket.gethostname(), pid_alive)

    def experiments(self) -> list[Experiment]:
        return self.tracker.experiments()

    def experiment(self, name: str) -> Experiment:
        return self.tracker.experiment(name, create=False)

    # artifacts and datasets ------------------------------------------------------------------

    def log_artifact(
        self, run_id: str, path: str | os.PathLike[str], name: str | None = None
    ) -> Artifact:
        return self.tracker.log_artifact(run_id, path, name)

    def log_bytes(self, run_id: str, data: bytes, name: str) -> Artifact:
        return self.tracker.log_bytes(run_id, data, name)

    def log_text(self, run_id: str, text: str, name: str) -> Artifact:
        return self.log_bytes(run_id, text.encode("utf-8"), name)

    def log_dict(self, run_id: str, data: Mapping[str, Any], name: str) -> Artifact:
        if name.endswith((".yaml", ".yml")):
            import yaml

            text = yaml.safe_dump(dict(data), sort_keys=False)
        else:
            text = json.dumps(data, indent=2, sort_keys=True, default=str)
        return self.log_text(run_id, text, name)

    def log_figure(self, run_id: str, figure: Any, name: str) -> Artifact:
        import io

        if not hasattr(figure, "savefig"):
            raise InvalidInput(f"log_figure needs a matplotlib Figure, got {type(figure).__name__}")
        buf = io.BytesIO()
        fmt = Path(name).suffix.lstrip(".") or "png"
        figure.savefig(buf, format=fmt, bbox_inches="tight")
        return self.log_bytes(run_id, buf.getvalue(), name)

    def log_dataset(
        self,
        run_id: str,
        data: pd.DataFrame | str | os.PathLike[str],
        name: str | None = None,
        context: str = "train",
        store: bool = True,
        source: str | None = None,
    ) -> Dataset:
        return self.tracker.log_dataset(
            run_id, data, name=name, context=context, store=store, source=source
        )

    def artifacts(self, run_id: str) -> list[Artifact]:
        return self.tracker.artifacts(run_id)

    def download_artifact(self, run_id: str, path: str, dest: str | os.PathLike[str]) -> Path:
        return self.tracker.download_artifact(run_id, path, Path(dest))

    def read_object(self, digest: str) -> bytes:
        return self.tracker.objects.read_bytes(digest)

    def _is_dead(self, run: Run) -> bool:
        return (
            run.host == socket.gethostname()
            and run.pid is not None
            and run.pid != os.getpid()
            and not pid_alive(run.pid)
        )

    # models (packages, loading) ---------------------------------------------------------------

    def log_model(
        self,
        run_id: str,
        model: Any,
        name: str = "model",
        *,
        input_example: Any = None,
        signature: Signature | Mapping[str, Any] | None = None,
        serialization: str | None = None,
        requirements: Sequence[str] | None = None,
    ) -> ModelInfo:
        from modeldeck.models.package import log_model

        return log_model(
            self.tracker,
            run_id,
            model,
            name,
            input_example=input_example,
            signature=signature,
            serialization=serialization,
            requirements=requirements,
        )

    def load_model(self, uri: str, *, allow_pickle: bool = False) -> Predictor:
        """Load ``runs:/<run>/<path>``, ``models:/<name>/<version>`` or ``models:/<name>@<alias>``.

        ``models:/`` URIs go through the registry's ``resolve_model_uri(uri) -> ModelSource``.
        """
        from modeldeck.models.loading import load_model

        return load_model(
            uri,
            self.tracker,
            cache_dir=self.settings.home / "cache",
            allow_pickle=allow_pickle,
            resolve=self.resolve_model_uri,
        )


def pid_alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie (a killed child not yet waited for)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _status(status: RunStatus | str) -> RunStatus:
    try:
        return RunStatus(str(status).upper())
    except ValueError:
        raise InvalidInput(
            f"unknown run status {status!r}; use one of {', '.join(s.value for s in RunStatus)}"
        ) from None
