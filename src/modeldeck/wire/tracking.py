"""Schemas of experiments, runs, params, tags and metrics.

JSON has no NaN or infinity: metric values travel as numbers or as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"``, as :meth:`modeldeck.core.entities.Run.to_dict` spells them.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modeldeck.core.entities import Experiment, Metric, Run, RunStatus, json_number

JsonNumber = float | str
_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExperimentOut(BaseModel):
    id: str
    name: str
    created_at: int
    description: str | None = None

    @classmethod
    def of(cls, e: Experiment) -> ExperimentOut:
        return cls(id=e.id, name=e.name, created_at=e.created_at, description=e.description)


class ExperimentList(BaseModel):
    experiments: list[ExperimentOut]


class GitIn(_Strict):
    commit: str
    dirty: bool = False
    diff: str | None = None


class RunCreate(_Strict):
    """A new run; the context fields describe the client's process, as the SDK captures it."""

    experiment: str = "Default"
    name: str | None = None
    parent_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    source: str = "<remote>"
    entry_point: str = "<remote>"
    python_version: str = ""
    host: str = ""
    pid: int = 0
    git: GitIn | None = None
    environment: str = "{}"  # canonical JSON of python, platform and installed packages


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

    @classmethod
    def of(cls, run: Run) -> RunOut:
        data: dict[str, Any] = run.to_dict()
        data.pop("inputs", None)
        return cls(**data)


class RunEnd(_Strict):
    status: Literal["FINISHED", "FAILED", "KILLED"] = "FINISHED"


class ValuesIn(_Strict):
    """Params or tags: a mapping of key to text."""

    values: dict[str, str]


class MetricIn(_Strict):
    key: str
    value: JsonNumber
    step: int = 0
    timestamp: int | None = None

    @field_validator("value")
    @classmethod
    def _number(cls, value: float | str) -> float:
        if isinstance(value, str):
            if value in _SPECIAL:
                return _SPECIAL[value]
            raise ValueError("a metric value is a number, 'NaN', 'Infinity' or '-Infinity'")
        return float(value)


class MetricBatch(_Strict):
    metrics: Annotated[list[MetricIn], Field(max_length=100_000)]


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


class MetricHistory(BaseModel):
    metrics: list[MetricOut]


class SearchIn(_Strict):
    experiments: list[str] | None = None
    filter: str | None = None
    order_by: list[str] | None = None
    max_results: int = 1000
    offset: Annotated[int, Field(ge=0)] = 0


class SearchOut(BaseModel):
    runs: list[RunOut]
    next_offset: int | None
