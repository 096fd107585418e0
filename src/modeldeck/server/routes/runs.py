"""``/api/v1``: experiments, runs, params, tags and metrics.

A run is written by its owner or an admin (checked in the write's transaction:
:func:`~modeldeck.server.auth.run_guard`); a refusal is audited as ``denied:<action>``.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.responses import Response

from modeldeck.core import validation as check
from modeldeck.core.entities import RunStatus
from modeldeck.core.errors import Conflict, NotFound
from modeldeck.governance.access import denials_recorded
from modeldeck.server.auth import Reader, RunWriter
from modeldeck.server.replay import IdempotencyKey, once
from modeldeck.server.state import Services, services
from modeldeck.tracking.buffer import MetricRow
from modeldeck.tracking.environment import GitState, RunContext
from modeldeck.wire import tracking as wire
from modeldeck.wire.text import KEY_PATTERN

router = APIRouter(prefix="/api/v1", tags=["tracking"])
KeyParam = Annotated[
    str, PathParam(min_length=1, max_length=250, json_schema_extra={"pattern": KEY_PATTERN})
]
Svc = Annotated[Services, Depends(services)]


@router.get("/experiments")
def list_experiments(user: Reader, svc: Svc) -> wire.ExperimentList:
    found = svc.tracker.experiments()
    return wire.ExperimentList(experiments=[wire.ExperimentOut.of(e) for e in found])


@router.get("/experiments/{name}")
def get_experiment(name: str, user: Reader, svc: Svc) -> wire.ExperimentOut:
    return wire.ExperimentOut.of(svc.tracker.experiment(name, create=False))


@router.post("/runs", status_code=201)
def create_run(body: wire.RunCreate, user: RunWriter, svc: Svc) -> wire.RunOut:
    """A new run. A client that sends its own ``id`` may retry: the run it made comes back."""
    if body.id is not None:
        try:
            made = svc.tracker.get_run(body.id)
        except NotFound:
            pass
        else:
            if made.user != user:
                raise Conflict(f"run id {body.id} is taken; choose another")
            return wire.RunOut.of(made)
    git = None
    if body.git is not None:
        diff = body.git.diff.encode() if body.git.diff else None
        git = GitState(commit=body.git.commit, dirty=body.git.dirty, diff=diff)
    context = RunContext(
        source=body.source,
        entry_point=body.entry_point,
        python_version=body.python_version,
        host=body.host,
        pid=body.pid,
        git=git,
        environment=body.environment.encode(),
    )
    with denials_recorded(svc.db, svc.clock, user, "run.create", "runs:/"):
        run = svc.tracker.create_run(
            experiment=body.experiment,
            user=user,
            context=context,
            name=body.name,
            parent_id=body.parent_id,
            tags=body.tags,
            run_id=body.id,
        )
    return wire.RunOut.of(run)


@router.get("/runs/{run_id}")
def get_run(run_id: str, user: Reader, svc: Svc) -> wire.RunOut:
    return wire.RunOut.of(svc.tracker.get_run(run_id))


@router.get("/runs/{run_id}/children")
def children(run_id: str, user: Reader, svc: Svc) -> wire.RunIds:
    return wire.RunIds(run_ids=svc.tracker.children(run_id))


@router.post("/runs/{run_id}/end", response_model=wire.RunOut)
def end_run(
    run_id: str,
    body: wire.RunEnd,
    user: RunWriter,
    svc: Svc,
    idempotency_key: IdempotencyKey = None,
) -> object:
    def write() -> wire.RunOut:
        rows = metric_rows(run_id, body.metrics, svc.clock())
        with refused(svc, user, "run.end", run_id):
            ended = svc.tracker.ended_run(run_id, RunStatus(body.status), rows, actor=user)
        return wire.RunOut.of(ended)

    return once(svc, user, idempotency_key, [run_id, body], write)


@router.post("/runs/{run_id}/params", status_code=204)
def log_params(run_id: str, body: wire.ValuesIn, user: RunWriter, svc: Svc) -> None:
    """Write-once values: sending the same ones again is harmless, so retries need no key."""
    with refused(svc, user, "run.params", run_id):
        svc.tracker.log_params(run_id, body.values, actor=user)


@router.post("/runs/{run_id}/tags", status_code=204)
def set_tags(run_id: str, body: wire.ValuesIn, user: RunWriter, svc: Svc) -> None:
    """Setting the same tags again is harmless, so retries need no key."""
    with refused(svc, user, "run.tags", run_id):
        svc.tracker.set_tags(run_id, body.values, actor=user)


@router.post("/runs/{run_id}/metrics")
def log_metrics(
    run_id: str,
    body: wire.MetricBatch,
    user: RunWriter,
    svc: Svc,
    idempotency_key: IdempotencyKey = None,
) -> wire.MetricBatchResult:
    """One transaction per batch; a retry with the same Idempotency-Key stores nothing."""
    rows = metric_rows(run_id, body.metrics, svc.clock())
    with refused(svc, user, "run.metrics", run_id):
        if idempotency_key is None:
            svc.tracker.log_metrics(rows, actor=user)
            stored = True
        else:
            # the request as sent, before the server filled in missing timestamps
            sent = repr([run_id, *((m.key, m.value, m.step, m.timestamp) for m in body.metrics)])
            stored = svc.tracker.log_metrics_once(rows, idempotency_key, user, sent)
    return wire.MetricBatchResult(stored=len(rows) if stored else 0, replayed=not stored)


@router.get("/runs/{run_id}/metrics/{key:path}")
def metric_history(run_id: str, key: KeyParam, user: Reader, svc: Svc) -> wire.MetricHistory:
    history = svc.tracker.metric_history(run_id, check.check_key(key, "metric key"))
    return wire.MetricHistory(metrics=[wire.MetricOut.of(m) for m in history])


@router.post("/runs/search", response_model=wire.SearchOut)
def search_runs(body: wire.SearchIn, user: Reader, svc: Svc) -> Response:
    """Runs matching a filter (the SDK's grammar), ordered, a page at a time."""
    page = svc.tracker.search(
        experiments=body.experiments,
        filter=body.filter,
        order_by=body.order_by,
        max_results=body.max_results,
        offset=body.offset,
    )
    # encoded directly (the schema is SearchOut): validating each run again costs more
    # than the query itself for a page of hundreds
    found = {"runs": [wire.run_json(r) for r in page.runs], "next_offset": page.next_offset}
    return Response(json.dumps(found, separators=(",", ":")), media_type="application/json")


def metric_rows(run_id: str, metrics: list[wire.MetricIn], now: int) -> list[MetricRow]:
    """Checked rows of ``run_id``; values sent without a timestamp get ``now``."""
    return [
        (
            run_id,
            check.check_key(m.key, "metric key"),
            float(m.value),
            m.step,
            now if m.timestamp is None else m.timestamp,
        )
        for m in metrics
    ]


def refused(svc: Services, user: str, action: str, run_id: str) -> AbstractContextManager[None]:
    """Audit a write to ``run_id`` that the run guard refuses (as ``denied:<action>``)."""
    return denials_recorded(svc.db, svc.clock, user, action, f"runs:/{run_id}")
