"""``/api/v1/deployments`` and ``/api/v1/predictions``: what is served, and what it predicted.

Serving processes call these: they register themselves, beat every few seconds, report alias
moves and stops, and send their prediction rows in batches. Writes need the contributor role
(checked here, as for runs); the token's owner is the actor. A deployment's record, and the
predictions logged for it, are its starter's (or an admin's) to write: the service checks that
inside the write transaction and audits a refusal. A retried prediction batch is
harmless without an ``Idempotency-Key`` replay: rows already stored are skipped.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import Response

from modeldeck.core.governance import Role
from modeldeck.monitoring.predictions import MAX_LIMIT, PredictionLog
from modeldeck.server.auth import Reader, requires
from modeldeck.server.replay import IdempotencyKey, once
from modeldeck.server.state import Services, services
from modeldeck.serving.deployments import Deployments
from modeldeck.wire import serving as wire
from modeldeck.wire.numbers import MAX_MILLIS
from modeldeck.wire.registry import MAX_VERSION

router = APIRouter(prefix="/api/v1", tags=["serving"])
Svc = Annotated[Services, Depends(services)]
Server = Annotated[str, Depends(requires(Role.CONTRIBUTOR, "write deployments"))]
IdParam = Annotated[str, PathParam(min_length=1, max_length=wire.MAX_ID)]
DEPLOYMENT = "/deployments/{deployment_id}"


def deployments_of(svc: Svc) -> Deployments:
    return Deployments(svc.db, svc.clock)


def predictions_of(svc: Svc) -> PredictionLog:
    return PredictionLog(svc.db, svc.clock)


Deps = Annotated[Deployments, Depends(deployments_of)]
Log = Annotated[PredictionLog, Depends(predictions_of)]


# --- deployments -------------------------------------------------------------------------------


@router.post("/deployments", status_code=201, response_model=wire.DeploymentOut)
def start_deployment(
    body: wire.DeploymentIn,
    user: Server,
    svc: Svc,
    deps: Deps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Record a serving process that starts; the token's owner is who started it."""

    def write() -> wire.DeploymentOut:
        return wire.DeploymentOut.of(deps.start(user, **body.model_dump()))

    return once(svc, user, idempotency_key, body, write, status=201)


@router.get("/deployments")
def list_deployments(
    user: Reader,
    deps: Deps,
    include_stopped: bool = False,
    model: Annotated[str | None, Query(min_length=1, max_length=250)] = None,
) -> wire.DeploymentList:
    """Newest first; stopped deployments only with ``include_stopped``."""
    found = deps.search(include_stopped=include_stopped, model=model)
    return wire.DeploymentList(deployments=[wire.DeploymentOut.of(d) for d in found])


@router.get(DEPLOYMENT)
def get_deployment(deployment_id: IdParam, user: Reader, deps: Deps) -> wire.DeploymentOut:
    return wire.DeploymentOut.of(deps.get(deployment_id))


@router.post(f"{DEPLOYMENT}/heartbeat", status_code=204)
def heartbeat(deployment_id: IdParam, user: Server, deps: Deps) -> Response:
    """The process is alive (``last_seen`` = now)."""
    deps.heartbeat(deployment_id, user)
    return Response(status_code=204)


@router.put(f"{DEPLOYMENT}/versions/{{role}}", response_model=wire.VersionChange)
def set_version(
    deployment_id: IdParam,
    role: wire.Role,
    body: wire.VersionIn,
    user: Server,
    svc: Svc,
    deps: Deps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Point ``role`` (primary, canary or shadow) at ``version``; ``changed`` says whether it
    moved (only then is it audited, so of several workers reporting one move, one is)."""

    def write() -> wire.VersionChange:
        return wire.VersionChange(changed=deps.set_version(deployment_id, role, body.version, user))

    return once(svc, user, idempotency_key, [deployment_id, role, body], write)


@router.post(f"{DEPLOYMENT}/stop", status_code=204)
def stop_deployment(deployment_id: IdParam, user: Server, deps: Deps) -> Response:
    """Mark it stopped; stopping it again changes nothing."""
    deps.stop(deployment_id, user)
    return Response(status_code=204)


# --- predictions -------------------------------------------------------------------------------


@router.post("/predictions")
def log_predictions(body: wire.PredictionsIn, user: Server, log: Log, deps: Deps) -> wire.Stored:
    """Store up to 10,000 rows in one transaction; ``stored`` counts the new ones (a row whose
    (request_id, row, role) is stored already is skipped, so a retried batch is stored once).
    Rows of a deployment come from whoever started it (or an admin): 403 else, audited."""
    deps.check_owner({p.deployment_id for p in body.predictions if p.deployment_id}, user)
    return wire.Stored(stored=log.log([p.to_entity() for p in body.predictions]))


@router.get("/predictions")
def list_predictions(
    user: Reader,
    log: Log,
    model: Annotated[str | None, Query(min_length=1, max_length=250)] = None,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
    deployment_id: Annotated[str | None, Query(min_length=1, max_length=wire.MAX_ID)] = None,
    role: wire.Role | None = None,
    since: Annotated[int | None, Query(ge=0, le=MAX_MILLIS)] = None,
    until: Annotated[int | None, Query(ge=0, le=MAX_MILLIS)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10_000,
) -> wire.PredictionList:
    """Ordered by time, then request id and row; ``since`` inclusive, ``until`` exclusive (ms)."""
    found = log.search(
        model=model,
        version=version,
        deployment_id=deployment_id,
        role=role,
        since=since,
        until=until,
        limit=limit,
    )
    return wire.PredictionList(predictions=[wire.PredictionOut.of(p) for p in found])
