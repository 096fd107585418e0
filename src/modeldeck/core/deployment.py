"""Records of serving: a deployment (what serves which version, started by whom) and the
predictions it logs for monitoring."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["primary", "canary", "shadow"]
ROLES: tuple[str, ...] = ("primary", "canary", "shadow")

HEARTBEAT_SECONDS = 10
"""How often a serving process says it is alive; three missed beats and it is ``lost``."""


@dataclass(frozen=True, slots=True)
class Deployment:
    """One ``modeldeck serve`` process (all its workers).

    ``reference`` is what the user asked for (``models:/churn@champion``); the ``*_version``
    fields are what it serves now and move when the alias does. ``canary_share`` is a fraction
    (0.1 for 10%). Times are milliseconds since the epoch.
    """

    id: str
    model: str
    reference: str
    version: int | None
    started_by: str
    started_at: int
    last_seen: int
    host: str = "127.0.0.1"
    port: int = 0
    workers: int = 1
    canary_reference: str | None = None
    canary_version: int | None = None
    canary_share: float = 0.0
    shadow_reference: str | None = None
    shadow_version: int | None = None
    stopped_at: int | None = None

    def status(self, now_ms: int) -> str:
        """``running``, ``stopped`` (it said so) or ``lost`` (no heartbeat for three beats)."""
        if self.stopped_at is not None:
            return "stopped"
        if now_ms - self.last_seen > 3 * HEARTBEAT_SECONDS * 1000:
            return "lost"
        return "running"

    @property
    def address(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Prediction:
    """One row a deployment predicted: ``inputs`` maps column to value, ``outputs`` holds
    ``prediction`` and, for classifiers, ``probabilities``. ``row`` is the row's index within
    its request; (``request_id``, ``row``, ``role``) is unique, so a retried batch is stored
    once."""

    request_id: str
    row: int
    model: str
    version: int | None
    role: str
    time: int
    latency_ms: float
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    deployment_id: str | None = None
