"""Windows a monitor looks at: fixed time spans, or fixed numbers of rows.

A time window is ``[start, end)`` in milliseconds since the epoch. Tumbling time windows are
aligned on the monitor's ``origin`` (its first window starts there), so the same rows fall in
the same window however often the monitor runs, and a window is only handed out once it has
closed (``end <= now``): a window is computed once, never recomputed as late rows trickle in.

A count window is a range of rows: ``size`` consecutive rows of the prediction log in time
order. Its ``Window`` (first row's time to last row's time + 1) is for display and for rules
that look back in time; rows that share a timestamp can fall into two windows.

Window sizes are written ``7d``, ``12h``, ``30m``, ``45s``, ``1w``, ``1 day``, ``1000 rows``
or just ``500`` (rows); :func:`parse_window` reads them and ``str(spec)`` writes them back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from modeldeck.core.errors import InvalidInput

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY

# One call hands out at most this many windows, oldest first: a monitor that was off for
# a long time (or a 1-minute monitor started years after its origin) catches up over several
# runs, each resuming at the end of the last window it processed, instead of allocating
# millions of windows at once.
MAX_WINDOWS = 10_000
MAX_TIME_WINDOW = 3660 * DAY  # ten years; anything longer is a typo
MAX_COUNT_WINDOW = 1_000_000_000

_TIME_UNITS: dict[str, int] = {
    **dict.fromkeys(["ms", "msec", "millisecond", "milliseconds"], 1),
    **dict.fromkeys(["s", "sec", "secs", "second", "seconds"], SECOND),
    **dict.fromkeys(["m", "min", "mins", "minute", "minutes"], MINUTE),
    **dict.fromkeys(["h", "hr", "hrs", "hour", "hours"], HOUR),
    **dict.fromkeys(["d", "day", "days"], DAY),
    **dict.fromkeys(["w", "wk", "wks", "week", "weeks"], WEEK),
}
_ROW_UNITS = frozenset({"", "row", "rows", "r", "prediction", "predictions"})
# Weeks are read but not written: "7d" reads better in a monitor's settings than "1w".
_CANONICAL = (("d", DAY), ("h", HOUR), ("m", MINUTE), ("s", SECOND), ("ms", 1))
_WINDOW = re.compile(r"\s*(\d+)\s*([a-z]*)\s*", re.IGNORECASE)
_EXAMPLES = "write it like '7d', '12h', '30m', '1w', '1 day' or '1000 rows'"


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in milliseconds since the epoch."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput(f"a window must end after it starts, got [{self.start}, {self.end})")

    def contains(self, t: int) -> bool:
        return self.start <= t < self.end

    @property
    def duration(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class WindowSpec:
    """How big a monitor's windows are: ``size`` milliseconds (``time``) or rows (``count``)."""

    kind: Literal["time", "count"]
    size: int

    def __post_init__(self) -> None:
        if self.kind not in ("time", "count"):
            raise InvalidInput(f"a window is 'time' or 'count', got {self.kind!r}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise InvalidInput(f"a window size must be a positive integer, got {self.size!r}")
        limit = MAX_TIME_WINDOW if self.kind == "time" else MAX_COUNT_WINDOW
        if self.size > limit:
            what = "ten years" if self.kind == "time" else f"{limit:,} rows"
            raise InvalidInput(f"a window may be at most {what}, got {self}")

    def __str__(self) -> str:
        if self.kind == "count":
            return f"{self.size} row" if self.size == 1 else f"{self.size} rows"
        unit, ms = next((u, ms) for u, ms in _CANONICAL if self.size % ms == 0)  # ms always
        return f"{self.size // ms}{unit}"


def parse_window(text: str) -> WindowSpec:
    """``"7d"`` → ``WindowSpec("time", 604800000)``; ``"1000 rows"`` or ``"500"`` → count."""
    if not isinstance(text, str):
        raise InvalidInput(f"a window is text such as '7d' or '1000 rows', got {text!r}")
    match = _WINDOW.fullmatch(text)
    if match is None:
        raise InvalidInput(f"cannot read window {text!r}: {_EXAMPLES}")
    number, unit = int(match.group(1)), match.group(2).lower()
    if number < 1:
        raise InvalidInput(f"window {text!r} is empty: the size must be at least 1")
    if unit in _ROW_UNITS:
        return WindowSpec("count", number)
    ms = _TIME_UNITS.get(unit)
    if ms is None:
        raise InvalidInput(
            f"unknown unit {match.group(2)!r} in window {text!r}: use ms, s, m (minutes), h, d, w "
            "or rows (months and years vary in length; use days)"
        )
    return WindowSpec("time", number * ms)


def time_windows(spec_ms: int, origin: int, after: int | None, now: int) -> list[Window]:
    """Every closed tumbling window of ``spec_ms`` aligned on ``origin`` that starts at or
    after ``after`` (the end of the last processed window; ``None``: from ``origin``), oldest
    first, at most ``MAX_WINDOWS`` of them (call again from the last one's end for the rest).
    A window that has not closed by ``now`` is never returned."""
    spec_ms, origin, now = _int("spec_ms", spec_ms), _int("origin", origin), _int("now", now)
    after = None if after is None else _int("after", after)
    if spec_ms < 1:
        raise InvalidInput(f"a time window must be at least 1 ms long, got {spec_ms}")
    first = 0 if after is None or after <= origin else -(-(after - origin) // spec_ms)
    closed = (now - origin) // spec_ms  # windows 0 .. closed-1 have end <= now
    last = min(closed, first + MAX_WINDOWS)
    return [Window(origin + k * spec_ms, origin + (k + 1) * spec_ms) for k in range(first, last)]


def count_windows(times: Sequence[int], size: int) -> list[tuple[int, int, Window]]:
    """Consecutive groups of exactly ``size`` rows as ``(first index, end index exclusive,
    Window)``; ``times`` are the ascending times of the rows not yet in a window. The
    remainder that does not fill a window is left for later. The ``Window`` runs from the
    first row's time to the last row's time + 1 and is for display: the window *is* the row
    range, and rows with equal times may be split across two windows."""
    size = _int("size", size)
    if size < 1:
        raise InvalidInput(f"a count window must hold at least 1 row, got {size}")
    stamps = np.asarray(times, dtype=np.int64)
    if stamps.ndim != 1:
        raise InvalidInput("times must be a flat sequence of milliseconds")
    if stamps.size > 1 and bool(np.any(np.diff(stamps) < 0)):
        raise InvalidInput("times must be sorted ascending; read the rows in time order")
    full = stamps.size // size
    starts = stamps[0 : full * size : size].tolist()
    ends = stamps[size - 1 : full * size : size].tolist()
    return [
        (k * size, (k + 1) * size, Window(int(s), int(e) + 1))
        for k, (s, e) in enumerate(zip(starts, ends, strict=True))
    ]


def window_bounds_over(end: int, over_ms: int) -> Window:
    """The trailing period of ``over_ms`` ending at ``end``, for rules such as
    ``auc < 0.75 over 7 days`` evaluated at a window's end."""
    end, over_ms = _int("end", end), _int("over_ms", over_ms)
    if over_ms < 1:
        raise InvalidInput(f"a look-back period must be at least 1 ms long, got {over_ms}")
    return Window(end - over_ms, end)


def _int(name: str, value: object) -> int:
    """``value`` as a Python int (no int64 overflow in the arithmetic), or InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidInput(f"{name} must be an integer, got {value!r}")
    return int(value)
