"""Records of the model registry: registered models, versions, alias moves, evaluations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    name: str
    project: str
    description: str | None
    protected_aliases: tuple[str, ...]
    created_by: str
    created_at: int
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, int] = field(default_factory=dict)
    latest_version: int | None = None


@dataclass(frozen=True, slots=True)
class ModelVersion:
    name: str
    version: int
    package_digest: str
    created_by: str
    created_at: int
    run_id: str | None = None
    artifact_path: str | None = None
    flavor: str | None = None
    signature: Mapping[str, Any] | None = None
    description: str | None = None
    replaces_version: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True, slots=True)
class AliasEvent:
    name: str
    alias: str
    version: int | None  # None: the alias was removed
    previous_version: int | None
    actor: str
    at: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Evidence: every check of a validation policy with its value, threshold and verdict."""

    id: str
    name: str
    version: int
    passed: bool
    result: Mapping[str, Any]
    policy: Mapping[str, Any]
    plots: Mapping[str, str]  # plot name -> object digest of its PNG
    dataset_digest: str | None
    champion_version: int | None
    actor: str
    created_at: int
    # "client": posted by whoever ran the evaluation; "server": the server ran it
    origin: str = "client"

    def failed_checks(self) -> list[Mapping[str, Any]]:
        return [c for c in self.result.get("checks", []) if c.get("verdict") in ("fail", "error")]
