"""Several runs side by side: one metric's curves on one chart, a param against that metric's
latest value, and a table of params and latest metrics with the differing rows marked.

The curves come from the run page's series endpoint (``/ui/api/runs/{id}/metrics/{key}``),
already cut down with LTTB, one request per run.
"""

from __future__ import annotations

import math
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from modeldeck.core.entities import Run
from modeldeck.core.errors import InvalidInput, NotFound
from modeldeck.ui import formats
from modeldeck.ui.router import render
from modeldeck.ui.session import Signed

router = APIRouter(include_in_schema=False)
MAX_RUNS = 20
_SPLIT = re.compile(r"[\s,]+")


@router.get("/ui/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    viewer: Signed,
    runs: str = "",
    metric: str = "",
    param: str = "",
) -> HTMLResponse:
    tracker = request.app.state.services.tracker
    wanted = list(dict.fromkeys(r for r in _SPLIT.split(runs) if r))
    errors: list[str] = []
    if len(wanted) > MAX_RUNS:
        errors.append(f"at most {MAX_RUNS} runs can be compared; showing the first {MAX_RUNS}")
        wanted = wanted[:MAX_RUNS]
    found: list[Run] = []
    for run_id in wanted:
        try:
            found.append(tracker.get_run(run_id))
        except (NotFound, InvalidInput) as problem:
            errors.append(str(problem))
    common, every = _metric_keys(found)
    keys = common or every
    chosen = metric if metric in every else (keys[0] if keys else "")
    params = sorted({k for r in found for k in r.params})
    numeric = [k for k in params if _numeric(r.params.get(k) for r in found)]
    chosen_param = param if param in params else (numeric or params or [""])[0]
    status = 200 if found or not wanted else 404
    return render(
        request,
        viewer,
        "compare.html",
        section="compare",
        status_code=status,
        runs_text=",".join(wanted),
        runs=[_brief(r) for r in found],
        keys=keys,
        metric=chosen,
        params=params,
        param=chosen_param,
        diff=_diff(found),
        errors=errors,
        max_runs=MAX_RUNS,
        data={
            "runs": [
                {
                    "id": r.id,
                    "name": r.name,
                    "params": dict(r.params),
                    "metrics": {k: v for k, v in r.metrics.items() if math.isfinite(v)},
                }
                for r in found
            ]
        },
    )


def _metric_keys(runs: list[Run]) -> tuple[list[str], list[str]]:
    """The metric keys every run has, and those any run has."""
    if not runs:
        return [], []
    common = set(runs[0].metrics)
    for run in runs[1:]:
        common &= set(run.metrics)
    every = {k for r in runs for k in r.metrics}
    return sorted(common), sorted(every)


def _diff(runs: list[Run]) -> list[dict[str, Any]]:
    """One row per param and per metric: each run's value, and whether they differ."""
    rows = []
    for kind in ("params", "metrics"):
        keys = sorted({k for r in runs for k in getattr(r, kind)})
        for key in keys:
            raw = [getattr(r, kind).get(key) for r in runs]
            shown = [formats.number(v, 6) for v in raw]
            rows.append(
                {
                    "kind": kind,
                    "key": key,
                    "values": shown,
                    "differs": len(set(shown)) > 1,
                }
            )
    return rows


def _numeric(values: Any) -> bool:
    present = [v for v in values if v is not None]
    if not present:
        return False
    try:
        for value in present:
            float(value)
    except ValueError:
        return False
    return True


def _brief(run: Run) -> dict[str, str]:
    return {"id": run.id, "name": run.name, "status": run.status.value}
