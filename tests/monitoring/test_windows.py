"""Window sizes as text, aligned tumbling time windows, count windows, look-back periods."""

from __future__ import annotations

import pytest

from modeldeck.core.errors import InvalidInput
from modeldeck.monitoring.windows import (
    DAY,
    HOUR,
    MAX_WINDOWS,
    MINUTE,
    WEEK,
    Window,
    WindowSpec,
    count_windows,
    parse_window,
    time_windows,
    window_bounds_over,
)

# --- parse_window ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "size", "canonical"),
    [
        ("7d", "time", 7 * DAY, "7d"),
        ("12h", "time", 12 * HOUR, "12h"),
        ("30m", "time", 30 * MINUTE, "30m"),
        ("1w", "time", WEEK, "7d"),
        ("2 weeks", "time", 2 * WEEK, "14d"),
        ("1 day", "time", DAY, "1d"),
        ("24h", "time", DAY, "1d"),
        ("90 minutes", "time", 90 * MINUTE, "90m"),
        ("45s", "time", 45_000, "45s"),
        (" 1000 rows ", "count", 1000, "1000 rows"),
        ("500", "count", 500, "500 rows"),
        ("1 row", "count", 1, "1 row"),
        ("7D", "time", 7 * DAY, "7d"),
    ],
)
def test_parse_window(text: str, kind: str, size: int, canonical: str) -> None:
    spec = parse_window(text)
    assert (spec.kind, spec.size) == (kind, size)
    assert str(spec) == canonical
    assert parse_window(str(spec)) == spec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "cannot read window"),
        ("d", "cannot read window"),
        ("1.5d", "cannot read window"),
        ("-3d", "cannot read window"),
        ("7 fortnights", "unknown unit 'fortnights'"),
        ("1mo", "unknown unit"),
        ("0d", "at least 1"),
        ("0", "at least 1"),
        ("99999w", "at most ten years"),
    ],
)
def test_parse_window_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_window(text)


def test_parse_window_needs_text() -> None:
    with pytest.raises(InvalidInput, match="text such as"):
        parse_window(7)  # type: ignore[arg-type]


def test_window_spec_validates() -> None:
    with pytest.raises(InvalidInput):
        WindowSpec("hourly", 3)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        WindowSpec("time", 0)
    with pytest.raises(InvalidInput):
        WindowSpec("count", True)
    assert str(WindowSpec("time", 1500)) == "1500ms"


# --- Window ---------------------------------------------------------------------------------


def test_window_contains_start_not_end() -> None:
    w = Window(100, 200)
    assert w.contains(100) and w.contains(199)
    assert not w.contains(200) and not w.contains(99)
    assert w.duration == 100
    with pytest.raises(InvalidInput, match="end after it starts"):
        Window(5, 5)


# --- time_windows ---------------------------------------------------------------------------


def test_time_windows_aligned_on_origin_and_closed_only() -> None:
    origin = 1_000
    got = time_windows(100, origin, None, now=1_350)
    assert got == [Window(1000, 1100), Window(1100, 1200), Window(1200, 1300)]
    # the window ending exactly at now has closed
    assert time_windows(100, origin, None, now=1_300)[-1] == Window(1200, 1300)
    assert time_windows(100, origin, None, now=1_299)[-1] == Window(1100, 1200)


def test_time_windows_before_first_close() -> None:
    assert time_windows(100, 1_000, None, now=1_099) == []
    assert time_windows(100, 1_000, None, now=500) == []


def test_time_windows_resume_after_last_processed() -> None:
    assert time_windows(100, 1_000, 1_200, now=1_450) == [Window(1200, 1300), Window(1300, 1400)]
    assert time_windows(100, 1_000, 1_400, now=1_450) == []
    # an unaligned `after` skips the window it falls in: windows start at or after it
    assert time_windows(100, 1_000, 1_150, now=1_450) == [Window(1200, 1300), Window(1300, 1400)]
    # `after` before the origin: windows still start at the origin
    assert time_windows(100, 1_000, 0, now=1_100) == [Window(1000, 1100)]


def test_time_windows_cap_then_catch_up() -> None:
    now = MAX_WINDOWS * 3 + 50
    first = time_windows(1, 0, None, now)
    assert len(first) == MAX_WINDOWS
    assert first[0] == Window(0, 1) and first[-1] == Window(MAX_WINDOWS - 1, MAX_WINDOWS)
    second = time_windows(1, 0, first[-1].end, now)
    assert second[0].start == first[-1].end and len(second) == MAX_WINDOWS


def test_time_windows_real_days() -> None:
    origin = 1_700_000_000_000
    got = time_windows(DAY, origin, None, origin + 3 * DAY + 5)
    assert [w.start for w in got] == [origin, origin + DAY, origin + 2 * DAY]
    assert all(w.duration == DAY for w in got)


def test_time_windows_validates() -> None:
    with pytest.raises(InvalidInput, match="at least 1 ms"):
        time_windows(0, 0, None, 10)
    with pytest.raises(InvalidInput, match="must be an integer"):
        time_windows(10, 0.5, None, 10)  # type: ignore[arg-type]


# --- count_windows --------------------------------------------------------------------------


def test_count_windows_leaves_the_remainder() -> None:
    times = [10, 11, 11, 12, 20, 21, 22]
    got = count_windows(times, 3)
    assert got == [(0, 3, Window(10, 12)), (3, 6, Window(12, 22))]
    assert count_windows(times, 8) == []
    assert count_windows([], 3) == []


def test_count_windows_rows_with_equal_times_may_split() -> None:
    got = count_windows([5, 5, 5, 5], 2)
    assert got == [(0, 2, Window(5, 6)), (2, 4, Window(5, 6))]


def test_count_windows_validates() -> None:
    with pytest.raises(InvalidInput, match="sorted ascending"):
        count_windows([3, 2, 1], 1)
    with pytest.raises(InvalidInput, match="at least 1 row"):
        count_windows([1, 2], 0)


# --- window_bounds_over ---------------------------------------------------------------------


def test_window_bounds_over() -> None:
    end = 1_700_000_000_000
    w = window_bounds_over(end, 7 * DAY)
    assert w == Window(end - 7 * DAY, end)
    assert not w.contains(end) and w.contains(end - 1)
    with pytest.raises(InvalidInput):
        window_bounds_over(end, 0)
