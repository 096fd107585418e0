"""Records of monitoring: what a model version is compared against, the monitor that watches
its predictions, the windows it closed and the alerts its rules fired."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ACTIONS: tuple[str, ...] = ("notify", "retrain")
SOURCES: tuple[str, ...] = ("predictions", "batch")

# What an alert rule may name (monitoring/rules.py parses rules; wire/rules.py states them
# in the OpenAPI document): each metric with what it measures.
RULE_METRICS: dict[str, str] = {
    "drift_share": "share of feature columns that drifted in the window (0..1)",
    "dataset_drift": "1 when dataset drift is detected in the window, else 0",
    "drifted_columns": "number of feature columns that drifted in the window",
    "prediction_drift": "1 when the predictions drifted in the window, else 0",
    "prediction_drift_score": "drift score of the predictions (p-value or distance)",
    "missing_share": "share of input values that are missing in the window (0..1)",
    "out_of_range_share": "share of numeric input values outside the reference range (0..1)",
    "unseen_category_share": "share of categorical input values not seen in the reference (0..1)",
    "signature_violations": "number of requests that did not match the model signature",
    "rows": "number of predictions in the window (or span, with 'over')",
    "auc": "ROC AUC of the labelled predictions",
    "accuracy": "accuracy of the labelled predictions",
    "f1": "F1 score of the labelled predictions",
    "precision": "precision of the labelled predictions",
    "recall": "recall of the labelled predictions",
    "log_loss": "log loss of the labelled predictions",
    "rmse": "root mean squared error of the labelled predictions",
    "mae": "mean absolute error of the labelled predictions",
    "r2": "coefficient of determination (R²) of the labelled predictions",
    "label_coverage": "share of predictions that have a label (0..1)",
}

# Metrics that may be aggregated over a trailing span with ``over``.
PERFORMANCE_METRICS = frozenset(
    {
        "auc",
        "accuracy",
        "f1",
        "precision",
        "recall",
        "log_loss",
        "rmse",
        "mae",
        "r2",
        "label_coverage",
        "rows",
    }
)
COLUMN_METRICS: dict[str, str] = {
    "drift_score": "drift score of one column (p-value or distance, per its method)",
    "drifted": "1 when one column drifted in the window, else 0",
}


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
