"""Output shared by every command: consoles, JSON, errors and the formatting of values."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

from modeldeck.core.entities import RunStatus

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

STATUS_STYLES = {
    RunStatus.RUNNING: "bold blue",
    RunStatus.FINISHED: "green",
    RunStatus.FAILED: "bold red",
    RunStatus.KILLED: "yellow",
}
MISSING = "—"
PIPE_WIDTH = 240


def console() -> Console:
    """A console on stdout; built per call so test runners that swap sys.stdout are seen.

    Piped into a file or another program, tables keep their natural width (up to
    ``PIPE_WIDTH``) instead of being cut to 80 columns, so ``| grep`` sees whole rows.
    """
    import os

    from rich.console import Console

    out = Console(highlight=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = PIPE_WIDTH
    return out


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def error(message: str) -> None:
    """One red paragraph on stderr; lines are never re-wrapped, so a caret stays aligned."""
    from rich.text import Text

    err_console().print(Text(f"Error: {message}", style="red"), soft_wrap=True)


def print_json(data: Any) -> None:
    """Valid JSON on stdout: NaN and infinities become "NaN", "Infinity", "-Infinity"."""
    typer.echo(json.dumps(jsonable(data), indent=2, allow_nan=False, ensure_ascii=False))


def jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        value = to_dict() if callable(to_dict) else dataclasses.asdict(value)
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


# values --------------------------------------------------------------------------------------


def status(value: RunStatus) -> Text:
    from rich.text import Text

    return Text(value.value, style=STATUS_STYLES.get(value, ""))


def local_time(ms: int | None, *, seconds: bool = True) -> str:
    if ms is None:
        return MISSING
    return datetime.fromtimestamp(ms / 1000).strftime(
        "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    )


def duration(start_ms: int, end_ms: int | None) -> str:
    """``1.2s``, ``3m 04s``, ``2h 05m``; a run still going shows its elapsed time and ``…``."""
    running = end_ms is None
    end = time.time_ns() // 1_000_000 if end_ms is None else end_ms
    seconds = max(end - start_ms, 0) / 1000
    if seconds < 60:
        text = f"{seconds:.1f}s"
    elif seconds < 3600:
        text = f"{int(seconds // 60)}m {int(seconds % 60):02d}s"
    else:
        text = f"{int(seconds // 3600)}h {int(seconds % 3600 // 60):02d}m"
    return text + "…" if running else text


def number(value: float | None, digits: int = 6) -> str:
    """A metric value in ``digits`` significant digits; NaN and infinities spelled out."""
    if value is None:
        return MISSING
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.{digits}g}"


def size(n: int) -> str:
    amount = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def short_id(run_id: str) -> str:
    return run_id[:8]


def plain(value: object, style: str = "") -> Text:
    """User data as a rich cell: never parsed as markup, whatever brackets it holds."""
    from rich.text import Text

    return Text(MISSING if value is None else str(value), style=style)
