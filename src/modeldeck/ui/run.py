"""One run: params, latest metrics, metric charts, artifacts, datasets, environment, family.

The charts ask :func:`metric_series` for each key; a long series is cut to ``points`` points
with LTTB on the server, and a zoom asks again for its step range only, so a million-point
series costs the browser no more than a thousand-point one.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from modeldeck.core.entities import Artifact, Run
from modeldeck.core.errors import InvalidInput, ModeldeckError, NotFound
from modeldeck.tracking.tracker import find_artifact
from modeldeck.ui import formats
from modeldeck.ui.downsample import lttb
from modeldeck.ui.router import render
from modeldeck.ui.session import Signed

router = APIRouter(include_in_schema=False)
DEFAULT_POINTS = 1000
MAX_POINTS = 10_000
MAX_CHILDREN = 200  # listed on the page; a sweep's parent says how many more there are
MAX_LISTED_FILES = 1000  # of one directory artifact
CHUNK = 1 << 20


@router.get("/ui/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, viewer: Signed, run_id: str, dir: str | None = None) -> HTMLResponse:
    tracker = request.app.state.services.tracker
    try:
        run = tracker.get_run(run_id)
    except (NotFound, InvalidInput) as problem:
        missing = {"run": None, "error": str(problem)}
        return render(request, viewer, "run.html", section="runs", status_code=404, **missing)
    experiments = {e.id: e.name for e in tracker.experiments()}
    parent, children, child_count = tracker.family(run, MAX_CHILDREN)
    artifacts = [_artifact(tracker, a) for a in tracker.artifacts(run.id)]
    return render(
        request,
        viewer,
        "run.html",
        section="runs",
        run=run,
        experiment=experiments.get(run.experiment_id, run.experiment_id),
        started=_time(run.start_time),
        ended=_time(run.end_time) if run.end_time else None,
        duration=formats.duration(run.duration_ms),
        params=sorted(run.params.items()),
        metrics=[(k, formats.number(v)) for k, v in sorted(run.metrics.items())],
        tags=sorted(run.tags.items()),
        keys=sorted(run.metrics),
        artifacts=artifacts,
        open_dir=(dir or "").strip("/"),
        datasets=[_dataset(i.dataset, i.context) for i in run.inputs],
        environment=_environment(run),
        parent=_brief(parent) if parent else None,
        parent_id=run.parent_id,
        children=[_brief(c) for c in children],
        more_children=max(0, child_count - MAX_CHILDREN),
        points=DEFAULT_POINTS,
    )


@router.get("/ui/api/runs/{run_id}/metrics/{key:path}")
def metric_series(request: Request, viewer: Signed, run_id: str, key: str) -> Response:
    """``{"key", "x": steps, "y": values, "total": points in range}``: at most ``points``
    points picked by LTTB from the steps ``min``..``max`` (both optional, inclusive)."""
    query = request.query_params
    points = _int(query.get("points"), DEFAULT_POINTS, "points")
    points = min(max(points, 3), MAX_POINTS)
    lo, hi = _number(query.get("min"), "min"), _number(query.get("max"), "max")
    tracker = request.app.state.services.tracker
    steps, values = tracker.metric_arrays(run_id, key, lo, hi)
    total = len(steps)
    finite = np.isfinite(values)
    if not finite.all():  # NaN and infinities cannot be drawn (nor written in JSON)
        steps, values = steps[finite], values[finite]
    xs, ys = lttb(steps, values, points)
    body = {
        "key": key,
        "x": xs.astype(np.int64).tolist(),
        "y": ys.tolist(),
        "total": total,
        "skipped": int(total - len(steps)),
    }
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


@router.get("/ui/runs/{run_id}/artifacts/{path:path}")
def artifact_file(request: Request, viewer: Signed, run_id: str, path: str) -> Response:
    """The bytes of one file artifact (or one file of a directory artifact), as a download;
    a directory opens on the run page instead."""
    tracker = request.app.state.services.tracker
    artifact, inner = find_artifact(tracker.artifacts(run_id), run_id, path)
    objects = tracker.objects
    if artifact.is_dir:
        entries = objects.read_manifest(artifact.digest).entries
        entry = entries.get(inner) if inner is not None else None
        if entry is None:
            prefix = "" if inner is None else inner.rstrip("/") + "/"
            if inner is not None and not any(name.startswith(prefix) for name in entries):
                raise NotFound(f"artifact {artifact.path!r} of run {run_id} has no {inner!r}")
            target = f"/ui/runs/{run_id}?dir={_quote(artifact.path)}#artifacts"
            return RedirectResponse(target, status_code=303)
        digest, size = entry.digest, entry.size
    else:
        digest, size = artifact.digest, artifact.size
    name = PurePosixPath(path).name or "artifact"
    stream = objects.open(digest)

    def chunks() -> Any:
        with stream:
            while block := stream.read(CHUNK):
                yield block

    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_")
    headers = {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''"
        + _quote(name),
        "Content-Length": str(size),
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(chunks(), media_type="application/octet-stream", headers=headers)


# --- what the template shows ---------------------------------------------------------------


def _artifact(tracker: Any, artifact: Artifact) -> dict[str, Any]:
    files: list[tuple[str, int]] = []
    more = 0
    if artifact.is_dir:
        try:
            entries = tracker.objects.read_manifest(artifact.digest).entries
        except (ModeldeckError, OSError):  # a lost manifest must not hide the whole page
            entries = {}
        files = [(name, e.size) for name, e in list(entries.items())[:MAX_LISTED_FILES]]
        more = max(0, len(entries) - MAX_LISTED_FILES)
    return {
        "path": artifact.path,
        "size": _size(artifact.size),
        "digest": artifact.digest,
        "is_dir": artifact.is_dir,
        "files": [(name, _size(size)) for name, size in files],
        "more": more,
    }


def _dataset(dataset: Any, context: str) -> dict[str, Any]:
    profile = dict(dataset.profile or {})
    columns = []
    for name, found in (profile.get("columns") or {}).items():
        info = found if isinstance(found, dict) else {}
        columns.append(
            {
                "name": name,
                "kind": info.get("kind", ""),
                "dtype": info.get("dtype", ""),
                "missing": _percent(info.get("missing")),
                "distinct": info.get("distinct", ""),
                "mean": formats.number(info.get("mean")),
                "min": formats.number(info.get("min")),
                "max": formats.number(info.get("max")),
            }
        )
    return {
        "name": dataset.name,
        "digest": dataset.digest,
        "rows": dataset.num_rows,
        "source": dataset.source,
        "context": context,
        "schema": dict(dataset.schema or {}),
        "columns": columns,
        "profile": json.dumps(profile, indent=1, sort_keys=True, default=str),
    }


def _environment(run: Run) -> list[tuple[str, str]]:
    dirty = {True: "yes (uncommitted changes)", False: "no", None: ""}[run.git_dirty]
    facts = [
        ("Python", run.python_version),
        ("Host", run.host),
        ("Process", str(run.pid) if run.pid is not None else None),
        ("Git commit", run.git_commit),
        ("Dirty", dirty),
        ("Diff digest", run.git_diff_digest),
        ("Entry point", run.entry_point),
        ("Source", run.source),
        ("Environment digest", run.environment_digest),
    ]
    return [(label, value or "") for label, value in facts]


def _brief(run: Run) -> dict[str, str]:
    return {"id": run.id, "name": run.name, "status": run.status.value}


def _int(text: str | None, default: int, what: str) -> int:
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{what} must be an integer, got {text!r}") from None


def _number(text: str | None, what: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"{what} must be a number, got {text!r}") from None
    return value if math.isfinite(value) else None


def _quote(name: str) -> str:
    return quote(name, safe="")


def _time(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _percent(value: Any) -> str:
    return f"{value * 100:.1f}%" if isinstance(value, int | float) else ""


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    scaled = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        scaled /= 1024
        if scaled < 1024 or unit == "GiB":
            break
    return f"{scaled:.1f} {unit}"
