"""The prediction log: the rows deployments predicted, stored once, read back by window.

A batch is one transaction. Inputs and outputs are stored as JSON with plain values only:
numpy scalars and arrays become numbers and lists, dates ISO text, and NaN or infinities
``null`` (JSON has none; for monitoring a missing value is missing, whatever spelled it).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from modeldeck.core import validation as check
from modeldeck.core.deployment import ROLES, Prediction
from modeldeck.core.errors import InvalidInput
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import predictions as rows

MAX_ROW = 2**31 - 1
MAX_VERSION = 2**31 - 1
MAX_MILLIS = 2**62
MAX_LIMIT = 100_000
# built once: json.dumps with options other than the defaults builds an encoder per call
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"), ensure_ascii=False)
_LOOSE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_TEXT = re.compile(r"[^\x00-\x1f\x7f]{1,250}")


def plain_json(value: Any) -> Any:
    """``value`` as plain JSON values (see the module's docstring)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return plain_json(tolist())
    return str(value)


def encode(value: Mapping[str, Any], what: str) -> str:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be a mapping, got {type(value).__name__}")
    try:
        try:  # the common case: already plain
            return _ENCODER.encode(value)
        except (TypeError, ValueError):
            return _LOOSE.encode(plain_json(value))
    except RecursionError:
        raise InvalidInput(f"{what} is nested too deeply to store") from None


def check_prediction(p: Prediction) -> dict[str, Any]:
    """The table row of ``p``, checked."""
    if not isinstance(p, Prediction):
        raise InvalidInput(f"log_predictions takes Prediction records, got {type(p).__name__}")
    if p.role not in ROLES:
        raise InvalidInput(f"unknown prediction role {p.role!r}; use one of {', '.join(ROLES)}")
    _int(p.row, "row", 0, MAX_ROW)
    _int(p.time, "time", 0, MAX_MILLIS)
    if p.version is not None:
        _int(p.version, "version", 1, MAX_VERSION)
    latency = p.latency_ms
    if (
        isinstance(latency, bool)
        or not isinstance(latency, int | float)
        or not math.isfinite(latency)
        or latency < 0
    ):
        raise InvalidInput(f"latency_ms must be a finite number of 0 or more, got {latency!r}")
    if p.deployment_id is not None and len(_text(p.deployment_id, "deployment_id")) > 32:
        raise InvalidInput(f"deployment_id {p.deployment_id[:40]!r} is over 32 characters")
    return {
        "request_id": _text(p.request_id, "request_id"),
        "row": p.row,
        "role": p.role,
        "model": _text(p.model, "model"),
        "version": p.version,
        "deployment_id": p.deployment_id,
        "time": p.time,
        "latency_ms": float(latency),
        "inputs": encode(p.inputs, "inputs"),
        "outputs": encode(p.outputs, "outputs"),
    }


def check_filters(
    *, role: str | None, version: int | None, since: int | None, until: int | None, limit: int
) -> None:
    if role is not None and role not in ROLES:
        raise InvalidInput(f"unknown prediction role {role!r}; use one of {', '.join(ROLES)}")
    if version is not None:
        _int(version, "version", 1, MAX_VERSION)
    if since is not None:
        _int(since, "since", 0, MAX_MILLIS)
    if until is not None:
        _int(until, "until", 0, MAX_MILLIS)
    _int(limit, "limit", 1, MAX_LIMIT)


class PredictionLog:
    def __init__(self, db: Database, clock: Callable[[], int]) -> None:
        self.db = db
        self.clock = clock

    def log(self, predictions: Sequence[Prediction]) -> int:
        """Store the rows not stored yet, in one transaction; return how many were new.

        Not audited: a prediction is a record of serving, not a change of state."""
        batch = [check_prediction(p) for p in predictions]
        if not batch:
            return 0
        with self.db.write() as conn:
            return rows.insert_new(conn, batch)

    def search(
        self,
        *,
        model: str | None = None,
        version: int | None = None,
        deployment_id: str | None = None,
        role: str | None = None,
        since: int | None = None,
        until: int | None = None,
        limit: int = 10_000,
    ) -> list[Prediction]:
        """Ordered by time, then request id and row; ``since`` inclusive, ``until`` exclusive."""
        check_filters(role=role, version=version, since=since, until=until, limit=limit)
        with self.db.read() as conn:
            return rows.search(
                conn,
                model=model,
                version=version,
                deployment_id=deployment_id,
                role=role,
                since=since,
                until=until,
                limit=limit,
            )


def _text(value: object, what: str) -> str:
    """check.check_name, faster for the valid text of every row of a batch."""
    if type(value) is str and _TEXT.fullmatch(value) and not value.isspace():
        return value
    return check.check_name(value, what)


def _int(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{what} must be a whole number from {low} to {high}, got {value!r}")
    return value
