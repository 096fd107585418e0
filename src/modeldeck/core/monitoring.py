"""Records of monitoring: what a model version is compared against, the monitor that watches
its predictions, the windows it closed and the alerts its rules fired."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ACTIONS: tuple[str, ...] = ("notify", "retrain")
SOURCES: tuple[str, ...] = ("predictions", "batch")


@dataclass(frozen=True, slots=True)
class Reference:
    """A version's reference: the rows of its training dataset (``data_digest``, a parquet
    object of the signature's input columns), the model's outputs on them
    (``predictions_digest``) and their profile."""

    model: str
    version: int
    dataset_name: str
    dataset_digest: str
    data_digest: str
    predictions_digest: str | None
    rows: int
    profile: Mapping[str, Any]
    created_at: int


@dataclass(frozen=True, slots=True)
class Monitor:
    """What watches a model's predictions. ``window`` is canonical text (``7d``, ``1000
    rows``); time windows are aligned on ``origin``. ``config`` holds the drift settings
    (``share_threshold``, per-column ``methods`` and ``thresholds``), ``rules``,
    ``webhooks`` and the ``retraining`` job. ``cursor_end`` / ``cursor_id`` say how far the
    prediction log has been read (time windows / count windows)."""

    id: str
    model: str
    deployment_id: str | None
    window: str
    origin: int
    config: Mapping[str, Any]
    created_by: str
    created_at: int
    updated_at: int
    cursor_end: int | None = None
    cursor_id: int | None = None

    @property
    def rules(self) -> list[Mapping[str, Any]]:
        return list(self.config.get("rules", []))

    @property
    def webhooks(self) -> list[Mapping[str, Any]]:
        return list(self.config.get("webhooks", []))

    @property
    def retraining(self) -> Mapping[str, Any] | None:
        job = self.config.get("retraining")
        return job if isinstance(job, Mapping) else None


@dataclass(frozen=True, slots=True)
class WindowResult:
    """A closed window. ``metrics`` is flat (what rules read: ``drift_share``, ``auc``,
    ``drift_score.<column>``, …); ``detail`` is what a report draws. ``labeled`` counts the
    rows that had a label when performance was last computed."""

    id: int
    monitor_id: str
    model: str
    version: int | None
    source: str
    start: int
    end: int
    rows: int
    metrics: Mapping[str, float | None]
    detail: Mapping[str, Any]
    labeled: int
    computed_at: int


@dataclass(frozen=True, slots=True)
class Alert:
    """A rule that fired on a window; ``detail`` records deliveries and retraining."""

    id: int
    monitor_id: str
    model: str
    window_id: int
    rule: str
    action: str
    value: float | None
    fired_at: int
    detail: Mapping[str, Any] = field(default_factory=dict)
