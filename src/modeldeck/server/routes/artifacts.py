"""``/api/v1``: a run's artifacts and datasets, whose bytes went to ``/objects`` first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from modeldeck.core.entities import Artifact
from modeldeck.core.errors import InvalidInput
from modeldeck.server.auth import Reader, RunWriter
from modeldeck.server.replay import IdempotencyKey, once
from modeldeck.server.routes.runs import refused
from modeldeck.server.state import Services, services
from modeldeck.storage.objects.base import ObjectStore
from modeldeck.tracking.tracker import artifact_path
from modeldeck.wire import tracking as wire

router = APIRouter(prefix="/api/v1", tags=["artifacts"])
Svc = Annotated[Services, Depends(services)]


@router.post("/runs/{run_id}/artifacts", status_code=201, response_model=wire.ArtifactOut)
def log_artifact(
    run_id: str,
    body: wire.ArtifactIn,
    user: RunWriter,
    svc: Svc,
    idempotency_key: IdempotencyKey = None,
) -> object:
    """Record uploaded bytes as an artifact; every object it names must be stored already."""
    artifact = Artifact(artifact_path(body.path), body.digest, body.size, body.is_dir)
    check_stored(svc.tracker.objects, artifact)

    def write() -> wire.ArtifactOut:
        with refused(svc, user, "artifact.log", run_id):
            svc.tracker.add_artifact(run_id, artifact, actor=user)
        return wire.ArtifactOut.of(artifact)

    return once(svc, user, idempotency_key, [run_id, body], write, status=201)


@router.get("/runs/{run_id}/artifacts")
def list_artifacts(run_id: str, user: Reader, svc: Svc) -> wire.ArtifactList:
    found = svc.tracker.artifacts(run_id)
    return wire.ArtifactList(artifacts=[wire.ArtifactOut.of(a) for a in found])


@router.post("/runs/{run_id}/datasets", status_code=201, response_model=wire.DatasetOut)
def log_dataset(
    run_id: str,
    body: wire.DatasetIn,
    user: RunWriter,
    svc: Svc,
    idempotency_key: IdempotencyKey = None,
) -> object:
    if body.object_digest is not None:
        svc.tracker.objects.size(body.object_digest)  # NotFound unless uploaded first
    values = body.model_dump(exclude={"context"}, by_alias=True)

    def write() -> wire.DatasetOut:
        with refused(svc, user, "dataset.log", run_id):
            found = svc.tracker.add_dataset(run_id, values, body.context, user)
        return wire.DatasetOut.of(found)

    return once(svc, user, idempotency_key, [run_id, body], write, status=201)


@router.get("/datasets")
def find_datasets(
    user: Reader, svc: Svc, name: Annotated[str, Query(min_length=1, max_length=250)]
) -> wire.DatasetList:
    """The versions of a dataset, by name or by digest."""
    return wire.DatasetList(datasets=[wire.DatasetOut.of(d) for d in svc.tracker.datasets(name)])


def check_stored(objects: ObjectStore, artifact: Artifact) -> None:
    """Refuse an artifact whose bytes are not all in the store, or whose size is wrong."""
    if not artifact.is_dir:
        size = objects.size(artifact.digest)
    else:
        manifest = objects.read_manifest(artifact.digest)
        missing = [p for p, e in manifest.entries.items() if not objects.exists(e.digest)]
        if missing:
            raise InvalidInput(
                f"folder artifact {artifact.path!r}: {len(missing)} file(s) were not uploaded "
                f"(first: {missing[0]!r}); upload them through /api/v1/objects first"
            )
        size = manifest.total_size
    if size != artifact.size:
        raise InvalidInput(
            f"artifact {artifact.path!r} says {artifact.size} bytes but its object holds {size}"
        )
