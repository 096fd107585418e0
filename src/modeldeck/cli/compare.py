"""Runs side by side: which params and metrics differ, and which run has the best of each metric.

Whether a metric is better high or low is not stored, so it is guessed from its name (loss,
error, rmse, time, ... are lower-is-better) unless the caller names it with ``--lower``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from modeldeck.cli import render

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

    from modeldeck.core.entities import Run

DIFFERS = "bold yellow"
BEST = "bold green"
_LOWER_IS_BETTER = re.compile(
    r"(?:^|[^a-z])(loss|logloss|err|error|errors|mse|rmse|mae|mape|smape|brier|deviance|"
    r"entropy|perplexity|latency|time|duration|seconds|fpr|fnr|cost|regret|std|var|variance)(?:[^a-z]|$)"
)


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    values: tuple[Any, ...]  # one per run; None where the run lacks the key
    differs: bool
    goal: Literal["max", "min"] | None = None  # metrics only
    best: frozenset[int] = frozenset()  # indexes of the runs holding the best value


@dataclass(frozen=True, slots=True)
class Comparison:
    runs: tuple[Run, ...]
    params: tuple[Row, ...]
    metrics: tuple[Row, ...]


def build(runs: Sequence[Run], lower_better: Collection[str] = ()) -> Comparison:
    def param_row(key: str) -> Row:
        values = tuple(run.params.get(key) for run in runs)
        return Row(key, values, len(set(values)) > 1)

    def metric_row(key: str) -> Row:
        values = tuple(run.metrics.get(key) for run in runs)
        goal: Literal["max", "min"] = "min" if lower_is_better(key, lower_better) else "max"
        return Row(key, values, _differ(values), goal, _best(values, goal))

    return Comparison(
        tuple(runs),
        tuple(param_row(k) for k in _keys(run.params for run in runs)),
        tuple(metric_row(k) for k in _keys(run.metrics for run in runs)),
    )


def lower_is_better(key: str, named: Collection[str] = ()) -> bool:
    return key in named or _LOWER_IS_BETTER.search(key.lower()) is not None


def to_json(comparison: Comparison) -> dict[str, Any]:
    ids = [run.id for run in comparison.runs]

    def row(item: Row) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": item.key,
            "values": dict(zip(ids, item.values, strict=True)),
            "differs": item.differs,
        }
        if item.goal is not None:
            out["goal"] = item.goal
            out["best"] = [ids[i] for i in sorted(item.best)]
        return out

    return {
        "runs": [{"id": r.id, "name": r.name, "status": r.status.value} for r in comparison.runs],
        "params": [row(item) for item in comparison.params],
        "metrics": [row(item) for item in comparison.metrics],
    }


def to_table(comparison: Comparison) -> RenderableType:
    from rich.console import Group
    from rich.table import Table

    table = Table(header_style="bold")
    table.add_column("")
    for run in comparison.runs:
        table.add_column(render.plain(f"{run.name}\n{render.short_id(run.id)}"), justify="right")
    _section(table, "params", comparison.params, lambda v: render.MISSING if v is None else str(v))
    _section(table, "metrics", comparison.metrics, render.number)
    legend = (
        f"[{DIFFERS}]yellow[/]: values differ · [{BEST}]★[/] best value "
        "(lower is better for loss, error, time…; name others with --lower)"
    )
    return Group(table, legend)


def _section(table: Table, title: str, rows: Sequence[Row], show: Callable[[Any], str]) -> None:
    from rich.text import Text

    table.add_row(Text(title, style="bold underline"))
    if not rows:
        table.add_row(render.plain("none", "dim"))
    for row in rows:
        style = DIFFERS if row.differs else ""
        cells = [
            Text(f"★ {show(value)}", style=BEST)
            if index in row.best
            else render.plain(show(value), style)
            for index, value in enumerate(row.values)
        ]
        table.add_row(render.plain(row.key, style), *cells)
    table.add_section()


def _keys(mappings: Iterable[Mapping[str, Any]]) -> list[str]:
    return sorted({key for mapping in mappings for key in mapping})


def _differ(values: Sequence[float | None]) -> bool:
    # NaN != NaN, so a set would keep every NaN apart; two NaNs are the same value here.
    return len({"NaN" if v is not None and math.isnan(v) else v for v in values}) > 1


def _best(values: Sequence[float | None], goal: Literal["max", "min"]) -> frozenset[int]:
    """Runs holding the best finite value; none when every run has the same value."""
    finite: Mapping[int, float] = {
        i: v for i, v in enumerate(values) if v is not None and not math.isnan(v)
    }
    if not _differ(values) or not finite:
        return frozenset()
    target = (max if goal == "max" else min)(finite.values())
    return frozenset(i for i, v in finite.items() if v == target)
