"""Schemas of experiments, runs, params, tags and metrics.

JSON has no NaN or infinity: metric values travel as numbers or as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"``, as :meth:`modeldeck.core.entities.Run.to_dict` spells them.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modeldeck.core.entities import (
    Artifact,
    Dataset,
    Experiment,
    Metric,
    Run,
    RunInput,
    RunStatus,
    json_number,
)
from modeldeck.wire.base import StrictIn
from modeldeck.wire.numbers import Count, Int
from modeldeck.wire.search import Filter, Order
from modeldeck.wire.text import Key, Name

JsonNumber = float | str
MetricValue = float | Literal["NaN", "Infinity", "-Infinity"]  # as a request sends one
MAX_RESULTS = 50_000  # runs per search page, as tracking.tracker.MAX_RESULTS_LIMIT
_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class ExperimentOut(BaseModel):
    id: str
    name: str
    created_at: int
    description: str | None = None

    @classmethod
    def of(cls, e: Experiment) -> ExperimentOut:
        return cls(id=e.id, name=e.name, created_at=e.created_at, description=e.description)

    def to_entity(self) -> Experiment:
        return Experiment(self.id, self.name, self.created_at, self.description)


class ExperimentList(BaseModel):
    experiments: list[ExperimentOut]


class GitIn(StrictIn):
    commit: str
    dirty: bool = False
    diff: str | None = None


class RunCreate(StrictIn):
    """A new run; the context fields describe the client's process, as the SDK captures it."""

    id: Annotated[str | None, Field(pattern="^[0-9a-f]{32}$")] = None  # chosen by the client
    experiment: Name = "Default"
    name: Name | None = None
    parent_id: str | None = None
    tags: dict[Key, str] = Field(default_factory=dict)
    source: str = "<remote>"
    entry_point: str = "<remote>"
    python_version: str = ""
    host: str = ""
    pid: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0  # an INTEGER column
    git: GitIn | None = None
    environment: str = "{}"  # canonical JSON of python, platform and installed packages


class DatasetOut(BaseModel):
    id: str
    name: str
    digest: str
    source: str | None = None
    num_rows: int | None = None
    schema_: dict[str, str] = Field(default_factory=dict, alias="schema")
    profile: dict[str, Any] = Field(default_factory=dict)
    object_digest: str | None = None
    created_at: int = 0

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    @classmethod
    def of(cls, d: Dataset) -> DatasetOut:
        return cls(
            id=d.id,
            name=d.name,
            digest=d.digest,
            source=d.source,
            num_rows=d.num_rows,
            schema=dict(d.schema),
            profile=dict(d.profile),
            object_digest=d.object_digest,
            created_at=d.created_at,
        )

    def to_entity(self) -> Dataset:
        return Dataset(
            self.id,
            self.name,
            self.digest,
            self.source,
            self.num_rows,
            self.schema_,
            self.profile,
            self.object_digest,
            self.created_at,
        )


class RunInputOut(BaseModel):
    dataset: DatasetOut
    context: str


class RunOut(BaseModel):
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
    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, JsonNumber] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    inputs: list[RunInputOut] = Field(default_factory=list)

    @classmethod
    def of(cls, run: Run) -> RunOut:
        data: dict[str, Any] = run.to_dict()
        data["inputs"] = [
            RunInputOut(dataset=DatasetOut.of(i.dataset), context=i.context) for i in run.inputs
        ]
        return cls(**data)

    def to_entity(self) -> Run:
        data = self.model_dump(exclude={"inputs", "metrics", "status"})
        return Run(
            **data,
            status=self.status,
            metrics={k: _number(v) for k, v in self.metrics.items()},
            inputs=tuple(RunInput(i.dataset.to_entity(), i.context) for i in self.inputs),
        )


_RUN_SCALARS = tuple(
    f for f in RunOut.model_fields if f not in ("params", "metrics", "tags", "inputs")
)


def run_json(run: Run) -> dict[str, Any]:
    """What ``RunOut.of(run).model_dump(mode="json")`` gives, without pydantic: searches send
    hundreds of runs, and building then validating a model for each costs more than the query."""
    out: dict[str, Any] = {name: getattr(run, name) for name in _RUN_SCALARS}
    out["status"] = run.status.value
    out["params"] = dict(run.params)
    out["metrics"] = {k: json_number(v) for k, v in run.metrics.items()}
    out["tags"] = dict(run.tags)
    out["inputs"] = [
        RunInputOut(dataset=DatasetOut.of(i.dataset), context=i.context).model_dump(mode="json")
        for i in run.inputs
    ]
    return out


class ValuesIn(StrictIn):
    """Params or tags: a mapping of key to text."""

    values: dict[Key, str]


class MetricIn(StrictIn):
    key: Key
    value: MetricValue
    step: Int = 0
    timestamp: Int | None = None

    @field_validator("value")
    @classmethod
    def _number(cls, value: float | str) -> float:
        return _number(value)


def _number(value: float | str) -> float:
    if isinstance(value, str):
        if value in _SPECIAL:
            return _SPECIAL[value]
        raise ValueError("a metric value is a number, 'NaN', 'Infinity' or '-Infinity'")
    return float(value)


class MetricBatch(StrictIn):
    metrics: Annotated[list[MetricIn], Field(max_length=100_000)]


METRICS_PER_REQUEST = 10_000
"""Metric values a client sends per request (a batch may hold up to 100,000)."""


class RunEnd(StrictIn):
    status: Literal["FINISHED", "FAILED", "KILLED"] = "FINISHED"
    # the run's last values, stored in the end's transaction (Idempotency-Key makes a retry safe)
    metrics: Annotated[list[MetricIn], Field(default_factory=list, max_length=METRICS_PER_REQUEST)]


class MetricBatchResult(BaseModel):
    stored: int
    replayed: bool  # True when the Idempotency-Key was seen before and nothing was stored


class MetricOut(BaseModel):
    key: str
    value: JsonNumber
    step: int
    timestamp: int

    @classmethod
    def of(cls, m: Metric) -> MetricOut:
        return cls(key=m.key, value=json_number(m.value), step=m.step, timestamp=m.timestamp)

    def to_entity(self) -> Metric:
        return Metric(self.key, _number(self.value), self.step, self.timestamp)


class MetricHistory(BaseModel):
    metrics: list[MetricOut]


class SearchIn(StrictIn):
    experiments: list[str] | None = None
    filter: Filter | None = None
    order_by: list[Order] | None = None
    # the tracker answers 400 past these bounds itself; the document states them
    max_results: Annotated[int, Field(json_schema_extra={"minimum": 1, "maximum": MAX_RESULTS})] = (
        1000
    )
    offset: Count = 0


class SearchOut(BaseModel):
    runs: list[RunOut]
    next_offset: int | None


class RunIds(BaseModel):
    run_ids: list[str]


Digest = Annotated[str, Field(pattern="^[0-9a-f]{64}$")]


class DatasetIn(StrictIn):
    """A dataset the client described (digest, schema, profile) and whose bytes it stored."""

    name: Annotated[str, Field(min_length=1, max_length=250)]
    context: Annotated[str, Field(min_length=1, max_length=250)] = "train"
    digest: Annotated[str, Field(min_length=1, max_length=250)]
    source: Annotated[str | None, Field(max_length=4000)] = None
    num_rows: Count | None = None
    schema_: dict[str, str] = Field(default_factory=dict, alias="schema")
    profile: dict[str, Any] = Field(default_factory=dict)
    object_digest: Digest | None = None


class DatasetList(BaseModel):
    datasets: list[DatasetOut]


class ArtifactIn(StrictIn):
    """Stored bytes (``is_dir``: a stored manifest) to record under ``path`` in a run."""

    path: Annotated[str, Field(min_length=1, max_length=1000)]
    digest: Digest
    size: Count
    is_dir: bool = False


class ArtifactOut(BaseModel):
    path: str
    digest: str
    size: int
    is_dir: bool

    @classmethod
    def of(cls, a: Artifact) -> ArtifactOut:
        return cls(path=a.path, digest=a.digest, size=a.size, is_dir=a.is_dir)

    def to_entity(self) -> Artifact:
        return Artifact(self.path, self.digest, self.size, self.is_dir)


class ArtifactList(BaseModel):
    artifacts: list[ArtifactOut]
