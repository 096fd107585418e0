"""Schemas of deployments and the prediction log.

Bounds here keep what a request may carry to what the stores can hold; the services check the
meaning (a known role, a share from 0 to 1), so a request and an SDK call fail alike.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from modeldeck.core.deployment import Deployment, Prediction
from modeldeck.wire.base import StrictIn, conditions
from modeldeck.wire.numbers import Millis
from modeldeck.wire.registry import MAX_VERSION
from modeldeck.wire.text import named

MAX_PREDICTIONS = 10_000  # rows per request
MAX_ID = 32

Role = Literal["primary", "canary", "shadow"]  # core.deployment.ROLES; tests/wire pins them
Text = Annotated[str, named()]
Reference = Annotated[str, named(1000)]
Host = Annotated[str, named(255)]
Version = Annotated[int | None, Field(ge=1, le=MAX_VERSION)]


# --- deployments -------------------------------------------------------------------------------


class DeploymentIn(StrictIn):
    """A canary share above 0 needs a canary reference to send traffic to."""

    model_config = conditions(
        {
            "if": {
                "required": ["canary_share"],
                "properties": {"canary_share": {"exclusiveMinimum": 0}},
            },
            "then": {
                "required": ["canary_reference"],
                "properties": {"canary_reference": {"type": "string"}},
            },
        }
    )

    model: Text
    reference: Reference
    version: Version = None
    host: Host
    port: Annotated[int, Field(ge=0, le=65535)]
    workers: Annotated[int, Field(ge=1, le=1024)] = 1
    canary_reference: Reference | None = None
    canary_version: Version = None
    canary_share: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.0
    shadow_reference: Reference | None = None
    shadow_version: Version = None


class DeploymentOut(BaseModel):
    id: str
    model: str
    reference: str
    version: int | None = None
    started_by: str
    started_at: int
    last_seen: int
    host: str
    port: int
    workers: int
    canary_reference: str | None = None
    canary_version: int | None = None
    canary_share: float = 0.0
    shadow_reference: str | None = None
    shadow_version: int | None = None
    stopped_at: int | None = None

    @classmethod
    def of(cls, d: Deployment) -> DeploymentOut:
        return cls(
            id=d.id,
            model=d.model,
            reference=d.reference,
            version=d.version,
            started_by=d.started_by,
            started_at=d.started_at,
            last_seen=d.last_seen,
            host=d.host,
            port=d.port,
            workers=d.workers,
            canary_reference=d.canary_reference,
            canary_version=d.canary_version,
            canary_share=d.canary_share,
            shadow_reference=d.shadow_reference,
            shadow_version=d.shadow_version,
            stopped_at=d.stopped_at,
        )

    def to_entity(self) -> Deployment:
        return Deployment(**self.model_dump())


class DeploymentList(BaseModel):
    deployments: list[DeploymentOut]


class VersionIn(StrictIn):
    version: Version


class VersionChange(BaseModel):
    changed: bool


# --- predictions -------------------------------------------------------------------------------


class PredictionIn(StrictIn):
    """One row. ``inputs`` and ``outputs`` are stored as the embedded store stores them: a
    non-finite number (which JSON has not, though some parsers read it) becomes null. They are
    not walked here: at 10,000 rows a request, a check per value costs more than the insert."""

    request_id: Text
    row: Annotated[int, Field(ge=0, le=2**31 - 1)]
    model: Text
    version: Version = None
    role: Role = "primary"
    time: Millis
    latency_ms: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    deployment_id: Annotated[str, named(MAX_ID)] | None = None

    def to_entity(self) -> Prediction:
        return Prediction(
            self.request_id,
            self.row,
            self.model,
            self.version,
            self.role,
            self.time,
            self.latency_ms,
            self.inputs,
            self.outputs,
            self.deployment_id,
        )


class PredictionsIn(StrictIn):
    predictions: Annotated[list[PredictionIn], Field(max_length=MAX_PREDICTIONS)]


class PredictionOut(BaseModel):
    request_id: str
    row: int
    model: str
    version: int | None = None
    role: str
    time: int
    latency_ms: float
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    deployment_id: str | None = None

    @classmethod
    def of(cls, p: Prediction) -> PredictionOut:
        return cls(
            request_id=p.request_id,
            row=p.row,
            model=p.model,
            version=p.version,
            role=p.role,
            time=p.time,
            latency_ms=p.latency_ms,
            inputs=dict(p.inputs),
            outputs=dict(p.outputs),
            deployment_id=p.deployment_id,
        )

    def to_entity(self) -> Prediction:
        return Prediction(**self.model_dump())


class PredictionList(BaseModel):
    predictions: list[PredictionOut]


class Stored(BaseModel):
    stored: int
