"""Schemas of monitoring: monitors, their rules, webhooks and retraining job, labels, the
windows they close and the alerts they fire.

Bounds here keep what a request may carry to what the stores can hold; the services check the
meaning (a rule's grammar, a window's length, a webhook's scheme), so a request and an SDK
call fail alike. A webhook's secret goes in and never comes out: a monitor's webhooks are sent
as their ``url`` and whether they are ``signed``. Free-form JSON (metrics, details) goes out
with non-finite numbers as ``null``, as pydantic writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from modeldeck.core.monitoring import Alert, Monitor, WindowResult
from modeldeck.wire.base import StrictIn
from modeldeck.wire.numbers import Millis
from modeldeck.wire.rules import RuleText
from modeldeck.wire.text import Name

MAX_VERSION = 2**31 - 1
MAX_LABELS = 100_000  # labels per request, as monitoring.labels.MAX_BATCH
MAX_ROW = 2**31 - 1
MAX_WINDOWS = 10_000
MAX_ALERTS = 10_000
MAX_LABELED_PAGE = 50_000
MAX_COLUMNS = 10_000
MAX_MIN_LABELED = 1_000_000  # as monitoring.monitors.MAX_WINDOW_ROWS
NOTE_ACTIONS = ("retrain.start", "retrain.finish", "retrain.fail")
Source = Literal["predictions", "batch"]  # core.monitoring.SOURCES; tests/wire pins them

# what monitoring.webhooks.check_url accepts, less userinfo, IPv6 literals and non-ASCII hosts
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
_HOST = r"[A-Za-z0-9._~%!$&'()*+,;=\-]+"
_REST = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*"
URL_PATTERN = rf"^[Hh][Tt][Tt][Pp][Ss]?://{_HOST}(?::{_PORT})?(?:[/?#]{_REST})?$"
Url = Annotated[
    str, Field(min_length=1, max_length=2000, json_schema_extra={"pattern": URL_PATTERN})
]
# core.monitoring.ACTIONS and monitoring.drift.METHODS; tests/wire pins them
Action = Literal["notify", "retrain"]
DriftMethod = Literal["ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi"]
Short = Annotated[str, Field(min_length=1, max_length=500)]
Label = (
    bool
    | int
    | Annotated[float, Field(allow_inf_nan=False)]
    | Annotated[str, Field(max_length=10_000)]
)
Scalar = (
    Annotated[str, Field(max_length=1000)]
    | bool
    | int
    | Annotated[float, Field(allow_inf_nan=False)]
    | None
)


# --- monitors ----------------------------------------------------------------------------------


# what monitoring.windows.parse_window reads, in lower case and within its limits (ten years,
# a billion rows): a time, or a count of rows
_TIME_UNIT = "ms|msec|millisecond|milliseconds|s|sec|secs|second|seconds|m|min|mins|minute|minutes"
_TIME_UNIT += "|h|hr|hrs|hour|hours|d|day|days"
_WEEK_UNIT = "w|wk|wks|week|weeks"
_ROW_UNIT = "row|rows|r|prediction|predictions"
WINDOW_PATTERN = (
    rf"^(?:[1-9][0-9]{{0,2}} ?(?:{_TIME_UNIT})|[1-9][0-9]? ?(?:{_WEEK_UNIT})"
    rf"|[1-9][0-9]{{0,8}}(?: ?(?:{_ROW_UNIT}))?)$"
)


class MonitorIn(StrictIn):
    model: Name
    window: Annotated[str, Field(max_length=64, json_schema_extra={"pattern": WINDOW_PATTERN})] = (
        "1d"
    )
    deployment_id: Annotated[
        str | None, Field(min_length=1, max_length=32, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")
    ] = None
    origin: Millis | None = None
    share_threshold: Annotated[float, Field(allow_inf_nan=False)] = 0.5
    methods: Annotated[dict[Name, DriftMethod], Field(max_length=MAX_COLUMNS)] | None = None
    thresholds: (
        Annotated[
            dict[Name, Annotated[float, Field(allow_inf_nan=False)]], Field(max_length=MAX_COLUMNS)
        ]
        | None
    ) = None
    min_labeled: Annotated[int | None, Field(ge=0, le=MAX_MIN_LABELED)] = None


class MonitorOut(BaseModel):
    """A monitor; ``config.webhooks`` as ``{"url", "signed"}``, never with their secrets."""

    id: str
    model: str
    deployment_id: str | None = None
    window: str
    origin: int
    config: dict[str, Any]
    created_by: str
    created_at: int
    updated_at: int
    cursor_end: int | None = None
    cursor_id: int | None = None

    @classmethod
    def of(cls, m: Monitor) -> MonitorOut:
        return cls(
            id=m.id,
            model=m.model,
            deployment_id=m.deployment_id,
            window=m.window,
            origin=m.origin,
            config=public_config(m.config),
            created_by=m.created_by,
            created_at=m.created_at,
            updated_at=m.updated_at,
            cursor_end=m.cursor_end,
            cursor_id=m.cursor_id,
        )

    def to_entity(self) -> Monitor:
        return Monitor(**self.model_dump())


def public_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with each webhook's secret replaced by whether it has one."""
    out = dict(config)
    out["webhooks"] = [
        {"url": hook.get("url"), "signed": hook.get("secret") is not None}
        for hook in config.get("webhooks", [])
    ]
    return out


class MonitorList(BaseModel):
    monitors: list[MonitorOut]


class RuleIn(StrictIn):
    rule: RuleText
    action: Action = "notify"
    min_labeled: Annotated[int | None, Field(ge=0, le=MAX_MIN_LABELED)] = None


class WebhookIn(StrictIn):
    url: Url
    secret: Annotated[str | None, Field(min_length=16, max_length=1000)] = None  # as monitors


class PinIn(StrictIn):
    """The digest of the job an admin reviewed (``sha256:<64 hex>``)."""

    digest: Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]


# --- labels ------------------------------------------------------------------------------------


class LabelsIn(StrictIn):
    request_ids: Annotated[list[Name], Field(max_length=MAX_LABELS)]
    labels: Annotated[list[Label], Field(max_length=MAX_LABELS)]
    rows: Annotated[
        list[Annotated[int, Field(ge=0, le=MAX_ROW)]] | None, Field(max_length=MAX_LABELS)
    ] = None


class LabelsOut(BaseModel):
    stored: int
    unmatched: int


class LabeledRow(BaseModel):
    time: int
    inputs: dict[str, Any]
    label: Any


class LabeledPage(BaseModel):
    """Oldest first; ``next_offset`` is where the next page starts, or null at the end."""

    rows: list[LabeledRow]
    next_offset: int | None = None


# --- the loop ----------------------------------------------------------------------------------


class RunIn(StrictIn):
    now: Millis | None = None


class WindowOut(BaseModel):
    id: int
    monitor_id: str
    model: str
    version: int | None = None
    source: str
    start: int
    end: int
    rows: int
    metrics: dict[str, Any]  # numbers or null; Any so a stored NaN goes out as null
    detail: dict[str, Any]
    labeled: int
    computed_at: int

    @classmethod
    def of(cls, w: WindowResult) -> WindowOut:
        return cls(
            id=w.id,
            monitor_id=w.monitor_id,
            model=w.model,
            version=w.version,
            source=w.source,
            start=w.start,
            end=w.end,
            rows=w.rows,
            metrics=dict(w.metrics),
            detail=dict(w.detail),
            labeled=w.labeled,
            computed_at=w.computed_at,
        )

    def to_entity(self) -> WindowResult:
        return WindowResult(**self.model_dump())


class WindowList(BaseModel):
    windows: list[WindowOut]


class AlertOut(BaseModel):
    id: int
    monitor_id: str
    model: str
    window_id: int
    rule: str
    action: str
    value: Any = None  # a number or null; Any so a NaN goes out as null
    fired_at: int
    detail: dict[str, Any]

    @classmethod
    def of(cls, a: Alert) -> AlertOut:
        return cls(
            id=a.id,
            monitor_id=a.monitor_id,
            model=a.model,
            window_id=a.window_id,
            rule=a.rule,
            action=a.action,
            value=a.value,
            fired_at=a.fired_at,
            detail=dict(a.detail),
        )

    def to_entity(self) -> Alert:
        fields = self.model_dump()
        value = fields["value"]
        fields["value"] = None if value is None else float(value)
        return Alert(**fields)


class AlertList(BaseModel):
    alerts: list[AlertOut]


class RunOut(BaseModel):
    """One pass on the server: windows closed and refreshed, alerts fired (their webhooks
    queued). A ``retrain`` alert says ``{"retraining": {"pending": true, "by": ...}}``: the
    caller runs the job and records its outcome (``POST /alerts/{id}/retraining``)."""

    closed: list[WindowOut]
    refreshed: list[WindowOut]
    alerts: list[AlertOut]
    held: list[dict[str, Any]] = []  # performance rules a window had too few labels to judge


class RetrainingOutcome(StrictIn):
    """What the caller's retraining did after a ``retrain`` alert, as the local loop records
    it: the new version (``run_id``, ``version``, ``passed``, ``alias``), an ``error``, or why it
    was ``skipped``."""

    run_id: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    version: Annotated[int | None, Field(ge=1, le=MAX_VERSION)] = None
    passed: bool | None = None
    alias: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    error: Annotated[str | None, Field(max_length=500)] = None
    skipped: Annotated[str | None, Field(max_length=500)] = None


class NoteIn(StrictIn):
    """A step of a retraining the caller runs, for the audit log."""

    action: Literal["retrain.start", "retrain.finish", "retrain.fail"]
    after: Annotated[
        dict[Annotated[str, Field(max_length=64)], Scalar],
        Field(max_length=32),
    ]


class Shadow(BaseModel):
    comparison: dict[str, Any]
