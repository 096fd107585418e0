"""Schemas of the registry: models, versions, evidence, reviews, aliases and lineage.

Entities of ``modeldeck.core`` convert both ways (``Out.of(entity)``, ``out.to_entity()``).
Lineage and dataset uses are dataclasses of the registry service, which this layer may not
import: their schemas read any object with the right attributes (``of``) and give back the
keyword arguments of the dataclass, its core entities already rebuilt (``to_fields``).

JSON has no NaN or infinity: evidence sent with them is refused, and a stored non-finite number
in a free-form JSON field (results, signatures, audit changes, card facts) goes out as ``null``,
as pydantic writes it.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

from modeldeck.core.entities import RunInput
from modeldeck.core.governance import Approval, Decision
from modeldeck.core.registry import AliasEvent, Evaluation, ModelVersion, RegisteredModel
from modeldeck.wire.base import StrictIn
from modeldeck.wire.tracking import DatasetOut, RunInputOut, RunOut

MAX_VERSION = 2**31 - 1
MAX_TEXT = 100_000  # descriptions and card sections, as cards.MAX_SECTION_CHARS
MAX_COMMENT = 10_000
MAX_PLOTS = 64
MAX_PLOT_BASE64 = 22_369_624  # 16 MiB of PNG, base64-encoded
# what base64.b64decode(validate=True) reads: whole quanta, padding only last
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
MAX_JSON_DEPTH = 64
MAX_JSON_NODES = 1_000_000

Name = Annotated[str, Field(min_length=1, max_length=250)]
ALIAS_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$"  # as core.refs.check_alias
Alias = Annotated[str, Field(json_schema_extra={"pattern": ALIAS_PATTERN})]
# runs:/<run id>/<path>, as core.refs.parse_model_uri reads it; path segments plain names
_SEGMENT = r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]*"
RUN_MODEL_URI = rf"^runs:/[A-Za-z0-9_\-]{{1,64}}/{_SEGMENT}(?:/{_SEGMENT})*$"
Version = Annotated[int, Field(ge=1, le=MAX_VERSION)]
Tags = Annotated[
    dict[Annotated[str, Field(max_length=250)], Annotated[str, Field(max_length=8000)]],
    Field(max_length=1000),
]
Comment = Annotated[str | None, Field(max_length=MAX_COMMENT)]


def finite_json(value: Any, what: str) -> Any:
    """``value`` when it is JSON with only finite numbers, bounded in depth and size."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > MAX_JSON_NODES or depth > MAX_JSON_DEPTH:
            raise ValueError(f"{what} is nested too deeply or too large")
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{what} holds {item}; JSON numbers are finite (write null)")
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return value


# --- models and versions -----------------------------------------------------------------------


class RegisteredModelOut(BaseModel):
    name: str
    project: str
    description: str | None = None
    protected_aliases: list[str] = Field(default_factory=list)
    created_by: str
    created_at: int
    tags: dict[str, str] = Field(default_factory=dict)
    aliases: dict[str, int] = Field(default_factory=dict)
    latest_version: int | None = None

    @classmethod
    def of(cls, m: RegisteredModel) -> RegisteredModelOut:
        return cls(
            name=m.name,
            project=m.project,
            description=m.description,
            protected_aliases=list(m.protected_aliases),
            created_by=m.created_by,
            created_at=m.created_at,
            tags=dict(m.tags),
            aliases=dict(m.aliases),
            latest_version=m.latest_version,
        )

    def to_entity(self) -> RegisteredModel:
        return RegisteredModel(
            self.name,
            self.project,
            self.description,
            tuple(self.protected_aliases),
            self.created_by,
            self.created_at,
            self.tags,
            self.aliases,
            self.latest_version,
        )


class ModelList(BaseModel):
    models: list[RegisteredModelOut]


class ModelVersionOut(BaseModel):
    name: str
    version: int
    package_digest: str
    created_by: str
    created_at: int
    run_id: str | None = None
    artifact_path: str | None = None
    flavor: str | None = None
    signature: dict[str, Any] | None = None
    description: str | None = None
    replaces_version: int | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, v: ModelVersion) -> ModelVersionOut:
        return cls(
            name=v.name,
            version=v.version,
            package_digest=v.package_digest,
            created_by=v.created_by,
            created_at=v.created_at,
            run_id=v.run_id,
            artifact_path=v.artifact_path,
            flavor=v.flavor,
            signature=None if v.signature is None else dict(v.signature),
            description=v.description,
            replaces_version=v.replaces_version,
            tags=dict(v.tags),
            aliases=list(v.aliases),
        )

    def to_entity(self) -> ModelVersion:
        return ModelVersion(
            name=self.name,
            version=self.version,
            package_digest=self.package_digest,
            created_by=self.created_by,
            created_at=self.created_at,
            run_id=self.run_id,
            artifact_path=self.artifact_path,
            flavor=self.flavor,
            signature=self.signature,
            description=self.description,
            replaces_version=self.replaces_version,
            tags=self.tags,
            aliases=tuple(self.aliases),
        )


class VersionList(BaseModel):
    versions: list[ModelVersionOut]


class RegisterIn(StrictIn):
    """A new version from the package a run logged: ``runs:/<run id>/<path>``."""

    source: Annotated[str, Field(max_length=2000, json_schema_extra={"pattern": RUN_MODEL_URI})]
    description: Annotated[str | None, Field(max_length=MAX_TEXT)] = None
    tags: Tags = Field(default_factory=dict)
    replaces: Version | None = None


class DescriptionIn(StrictIn):
    text: Annotated[str, Field(max_length=MAX_TEXT)]


class TagsIn(StrictIn):
    tags: Tags


class ProtectedAliasesIn(StrictIn):
    aliases: Annotated[list[Alias], Field(max_length=100)]


# --- evidence and decisions --------------------------------------------------------------------


class EvaluationIn(StrictIn):
    """Gate evidence as ``evaluate_model`` records it; plots are PNG bytes, base64-encoded."""

    result: dict[str, Any]
    policy: dict[str, Any]
    passed: bool
    plots: Annotated[
        dict[
            Name,
            Annotated[
                str,
                Field(max_length=MAX_PLOT_BASE64, json_schema_extra={"pattern": BASE64_PATTERN}),
            ],
        ],
        Field(max_length=MAX_PLOTS),
    ] = Field(default_factory=dict)
    dataset_digest: Annotated[str | None, Field(max_length=250)] = None
    champion_version: Version | None = None

    @field_validator("result", "policy")
    @classmethod
    def _finite(cls, value: dict[str, Any]) -> dict[str, Any]:
        return dict(finite_json(value, "the evidence"))

    @field_validator("plots")
    @classmethod
    def _base64(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            try:
                base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"plot {name!r} is not base64") from None
        return value

    def plot_bytes(self) -> dict[str, bytes]:
        return {name: base64.b64decode(text) for name, text in self.plots.items()}

    @staticmethod
    def encode_plots(plots: Mapping[str, bytes]) -> dict[str, str]:
        return {str(name): base64.b64encode(png).decode("ascii") for name, png in plots.items()}


class EvaluationOut(BaseModel):
    id: str
    name: str
    version: int
    passed: bool
    result: dict[str, Any]
    policy: dict[str, Any]
    plots: dict[str, str]  # plot name -> object digest of its PNG
    dataset_digest: str | None = None
    champion_version: int | None = None
    actor: str
    created_at: int
    origin: str = "client"  # "server" when the server ran the evaluation

    @classmethod
    def of(cls, e: Evaluation) -> EvaluationOut:
        return cls(
            id=e.id,
            name=e.name,
            version=e.version,
            passed=e.passed,
            result=dict(e.result),
            policy=dict(e.policy),
            plots=dict(e.plots),
            dataset_digest=e.dataset_digest,
            champion_version=e.champion_version,
            actor=e.actor,
            created_at=e.created_at,
            origin=e.origin,
        )

    def to_entity(self) -> Evaluation:
        return Evaluation(**dict(self))


class EvaluationList(BaseModel):
    evaluations: list[EvaluationOut]


class DecisionIn(StrictIn):
    comment: Comment = None
    # the evidence the decision is given on (default: the version's latest evaluation)
    evaluation: Annotated[str | None, Field(pattern="^[0-9a-f]{32}$")] = None


class ApprovalOut(BaseModel):
    name: str
    version: int
    reviewer: str
    decision: Decision
    comment: str | None = None
    created_at: int
    evaluation: str | None = None  # the evidence the decision was given on

    @classmethod
    def of(cls, a: Approval) -> ApprovalOut:
        return cls(
            name=a.name,
            version=a.version,
            reviewer=a.reviewer,
            decision=a.decision,
            comment=a.comment,
            created_at=a.created_at,
            evaluation=a.evaluation,
        )

    def to_entity(self) -> Approval:
        return Approval(**dict(self))


class DecisionList(BaseModel):
    decisions: list[ApprovalOut]


class Blockers(BaseModel):
    """What stands between a version and a protected alias; empty when nothing does."""

    blockers: list[str]


# --- aliases -----------------------------------------------------------------------------------


class AliasMoveIn(StrictIn):
    version: Version


class AliasEventOut(BaseModel):
    name: str
    alias: str
    version: int | None = None  # None: the alias was removed
    previous_version: int | None = None
    actor: str
    at: int

    @classmethod
    def of(cls, e: AliasEvent) -> AliasEventOut:
        return cls(
            name=e.name,
            alias=e.alias,
            version=e.version,
            previous_version=e.previous_version,
            actor=e.actor,
            at=e.at,
        )

    def to_entity(self) -> AliasEvent:
        return AliasEvent(**dict(self))


class AliasMoveOut(BaseModel):
    event: AliasEventOut | None  # None: the alias already pointed at that version


class AliasHistory(BaseModel):
    events: list[AliasEventOut]


class VersionAt(BaseModel):
    version: int | None


# --- lineage -----------------------------------------------------------------------------------


class LineageOut(BaseModel):
    version: ModelVersionOut
    run: RunOut | None = None
    parents: list[RunOut] = Field(default_factory=list)
    inputs: list[RunInputOut] = Field(default_factory=list)
    replaces: list[ModelVersionOut] = Field(default_factory=list)

    @classmethod
    def of(cls, lineage: Any) -> LineageOut:
        """From a :class:`~modeldeck.registry.lineage.Lineage`."""
        return cls(
            version=ModelVersionOut.of(lineage.version),
            run=None if lineage.run is None else RunOut.of(lineage.run),
            parents=[RunOut.of(r) for r in lineage.parents],
            inputs=[_input_out(i) for i in lineage.inputs],
            replaces=[ModelVersionOut.of(v) for v in lineage.replaces],
        )

    def to_fields(self) -> dict[str, Any]:
        """The arguments of :class:`~modeldeck.registry.lineage.Lineage`."""
        return {
            "version": self.version.to_entity(),
            "run": None if self.run is None else self.run.to_entity(),
            "parents": [r.to_entity() for r in self.parents],
            "inputs": [RunInput(i.dataset.to_entity(), i.context) for i in self.inputs],
            "replaces": [v.to_entity() for v in self.replaces],
        }


class DatasetUseOut(BaseModel):
    dataset: DatasetOut
    run_id: str
    context: str
    versions: list[ModelVersionOut]

    @classmethod
    def of(cls, use: Any) -> DatasetUseOut:
        """From a :class:`~modeldeck.registry.lineage.DatasetUse`."""
        return cls(
            dataset=DatasetOut.of(use.dataset),
            run_id=use.run_id,
            context=use.context,
            versions=[ModelVersionOut.of(v) for v in use.versions],
        )

    def to_fields(self) -> dict[str, Any]:
        """The arguments of :class:`~modeldeck.registry.lineage.DatasetUse`."""
        return {
            "dataset": self.dataset.to_entity(),
            "run_id": self.run_id,
            "context": self.context,
            "versions": [v.to_entity() for v in self.versions],
        }


class DatasetUseList(BaseModel):
    uses: list[DatasetUseOut]


def _input_out(item: RunInput) -> RunInputOut:
    return RunInputOut(dataset=DatasetOut.of(item.dataset), context=item.context)
