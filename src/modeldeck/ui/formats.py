"""How the pages write numbers, times and durations, the same way on every page."""

from __future__ import annotations

import datetime as dt
from typing import Any


def number(value: Any, digits: int = 4) -> str:
    """Floats to ``digits`` significant digits; None and "" as nothing; anything else as text."""
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def duration(ms: int | None) -> str:
    if ms is None:
        return "running"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def utc(ms: int | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime(pattern)
