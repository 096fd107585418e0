"""Experiments and runs: the runs table (filter grammar, sorting, column chooser, pages)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from modeldeck.core.errors import InvalidInput
from modeldeck.core.governance import Role
from modeldeck.ui import formats
from modeldeck.ui.router import render
from modeldeck.ui.session import Signed

router = APIRouter(include_in_schema=False)
PAGE_SIZES = (25, 50, 100, 200)
BASE_COLUMNS = ("name", "status", "user", "start", "duration")
MAX_KEY_COLUMNS = 5


@router.get("/ui/runs", response_class=HTMLResponse)
def runs_page(
    request: Request,
    viewer: Signed,
    experiment: str | None = None,
    q: str = "",
    order: str = "start_time desc",
    offset: int = 0,
    size: int = 50,
    cols: str | None = None,
) -> HTMLResponse:
    tracker = request.app.state.services.tracker
    experiments = tracker.experiments()
    size = size if size in PAGE_SIZES else 50
    offset = max(0, offset)
    error = None
    try:
        page = tracker.search(
            experiments=experiment or None,
            filter=q or None,
            order_by=[order] if order else None,
            max_results=size,
            offset=offset,
        )
        runs, next_offset = page.runs, page.next_offset
    except InvalidInput as problem:
        runs, next_offset, error = [], None, str(problem)
    keys = _keys(runs)
    chosen = [c for c in (cols.split(",") if cols else keys[:MAX_KEY_COLUMNS]) if c]
    return render(
        request,
        viewer,
        "runs.html",
        section="runs",
        experiments=[e.name for e in experiments],
        experiment=experiment or "",
        q=q,
        order=order,
        offset=offset,
        size=size,
        sizes=PAGE_SIZES,
        next_offset=next_offset,
        runs=[_row(r, chosen) for r in runs],
        columns=chosen,
        keys=keys,
        error=error,
        can_write=viewer.can(Role.CONTRIBUTOR),
    )


def _keys(runs: list[Any]) -> list[str]:
    """Metric then param keys seen on this page, most common first."""
    counts: dict[str, int] = {}
    for run in runs:
        for key in run.metrics:
            counts[f"metrics.{key}"] = counts.get(f"metrics.{key}", 0) + 1
        for key in run.params:
            counts[f"params.{key}"] = counts.get(f"params.{key}", 0) + 1
    return sorted(counts, key=lambda k: (not k.startswith("metrics."), -counts[k], k))


def _row(run: Any, columns: list[str]) -> dict[str, Any]:
    values = {}
    for column in columns:
        kind, _, key = column.partition(".")
        source = run.metrics if kind == "metrics" else run.params if kind == "params" else run.tags
        value = source.get(key)
        values[column] = formats.number(value)
    return {
        "id": run.id,
        "name": run.name,
        "status": run.status.value,
        "user": run.user,
        "start": formats.utc(run.start_time),
        "duration": formats.duration(run.duration_ms),
        "values": values,
    }
