"""Plain, frozen records that every layer passes around.

Storage rows become these through ``to_entity`` functions; the HTTP API has its own schemas.
Times are integer milliseconds since the Unix epoch, as MLflow spells them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


@dataclass(frozen=True, slots=True)
class Experiment:
    id: str
    name: str
    created_at: int
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float
    step: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class Dataset:
    """A version of a dataset, identified by the digest of its content."""

    id: str
    name: str
    digest: str
    source: str | None
    num_rows: int | None
    schema: Mapping[str, str]
    profile: Mapping[str, Any]
    object_digest: str | None = None
    created_at: int = 0


@dataclass(frozen=True, slots=True)
class RunInput:
    dataset: Dataset
    context: str


@dataclass(frozen=True, slots=True)
class Artifact:
    """A name in a run that points at stored bytes (a file) or a manifest (a directory)."""

    path: str
    digest: str
    size: int
    is_dir: bool = False


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    experiment_id: str
    name: str
    status: RunStatus
    user: str
    start_time: int
    end_time: int | None = None
    parent_id: str | None = None
    source: str | None = None
    entry_point: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    git_diff_digest: str | None = None
    python_version: str | None = None
    environment_digest: str | None = None
    host: str | None = None
    pid: int | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    inputs: tuple[RunInput, ...] = ()

    @property
    def duration_ms(self) -> int | None:
        return None if self.end_time is None else self.end_time - self.start_time

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; NaN and infinities become the strings MLflow prints."""
        out = dataclasses.asdict(self)
        out["status"] = self.status.value
        out["metrics"] = {k: json_number(v) for k, v in self.metrics.items()}
        return out


def json_number(value: float) -> float | str:
    """JSON has no NaN or infinity: spell them as strings so they survive a round trip."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value
