"""``/api/v1/objects``: moving the bytes of artifacts, models and datasets.

With an S3 object store the bytes never pass through the server: it hands out presigned PUTs
(one per object, or one per part of a multipart upload for objects over a part) and answers a
download with a redirect to a presigned GET. With a local object store the server streams them
in chunks. Digests are checked on both sides: the client hashes before it sends and after it
receives; the server hashes what it streams, S3 checks the signed sha256 of a single PUT, and a
multipart upload is read back once at completion.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from modeldeck.core.errors import Conflict
from modeldeck.core.hashing import CHUNK_SIZE
from modeldeck.server.auth import Reader, Writer
from modeldeck.server.state import Services, services
from modeldeck.storage.objects.base import ObjectStore
from modeldeck.storage.objects.local import LocalObjectStore
from modeldeck.wire import objects as wire

router = APIRouter(prefix="/api/v1/objects", tags=["objects"])
Svc = Annotated[Services, Depends(services)]
DigestParam = Annotated[str, PathParam(pattern="^[0-9a-f]{64}$")]
PRESIGN_SECONDS = 3600


def presigning(store: ObjectStore) -> Any | None:
    """The store when it can presign requests (S3), else None (bytes go through the server)."""
    return store if hasattr(store, "presigned_put") else None


@router.post("/uploads")
def plan_uploads(body: wire.UploadsIn, user: Writer, svc: Svc) -> wire.UploadsOut:
    """For each object: already stored, or where to send its bytes."""
    store = svc.tracker.objects
    s3 = presigning(store)
    planned = []
    for ref in body.objects:
        if store.exists(ref.digest):
            planned.append(wire.Upload(digest=ref.digest, present=True))
        elif s3 is None:
            request = wire.Request(method="PUT", url=f"{router.prefix}/{ref.digest}")
            planned.append(wire.Upload(digest=ref.digest, present=False, request=request))
        elif ref.size > s3.part_size:
            started = s3.start_multipart(ref.digest, ref.size, PRESIGN_SECONDS)
            parts = [wire.Request(method=p.method, url=p.url) for p in started.parts]
            multipart = wire.Multipart(
                upload_id=started.upload_id, part_size=started.part_size, parts=parts
            )
            planned.append(wire.Upload(digest=ref.digest, present=False, multipart=multipart))
        else:
            signed = s3.presigned_put(ref.digest, ref.size, PRESIGN_SECONDS)
            request = wire.Request(method="PUT", url=signed.url, headers=dict(signed.headers))
            planned.append(wire.Upload(digest=ref.digest, present=False, request=request))
    return wire.UploadsOut(objects=planned)


@router.put("/{digest}", status_code=201)
async def upload(digest: DigestParam, request: Request, user: Writer, svc: Svc) -> wire.ObjectOut:
    """The bytes of one object, streamed to a temporary file while hashed; stored only when
    they hash to ``digest``."""
    store = svc.tracker.objects
    hasher = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(prefix="modeldeck-upload-")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                hasher.update(chunk)
                size += len(chunk)
                out.write(chunk)
        if hasher.hexdigest() != digest:  # 409: the bytes contradict their name
            raise Conflict(
                f"the uploaded bytes hash to {hasher.hexdigest()}, not {digest}: the upload was "
                "corrupted or named wrongly; nothing was stored"
            )
        info = await run_in_threadpool(store.put_file, tmp)
    finally:
        tmp.unlink(missing_ok=True)
    return wire.ObjectOut(digest=info.digest, size=info.size)


@router.post("/{digest}/multipart")
def complete_multipart(
    digest: DigestParam, body: wire.CompleteIn, user: Writer, svc: Svc
) -> wire.ObjectOut:
    """Finish a multipart upload; the object is read back once and kept only if it matches."""
    s3 = presigning(svc.tracker.objects)
    if s3 is None:
        # 409: a well-formed request this server's state cannot take
        raise Conflict("this server's object store is local: upload with one PUT")
    info = s3.complete_multipart(digest, body.upload_id, body.etags)
    return wire.ObjectOut(digest=info.digest, size=info.size)


@router.get("/{digest}/info")
def object_info(digest: DigestParam, user: Reader, svc: Svc) -> wire.ObjectOut:
    return wire.ObjectOut(digest=digest, size=svc.tracker.objects.size(digest))


@router.get(
    "/{digest}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, 307: {}},
)
def download(digest: DigestParam, user: Reader, svc: Svc) -> Response:
    """The object's bytes (local store), or a redirect to a presigned GET (S3)."""
    store = svc.tracker.objects
    s3 = presigning(store)
    if s3 is not None:
        s3.size(digest)  # 404 for an unknown object rather than a redirect to one
        return RedirectResponse(s3.presigned_get(digest, PRESIGN_SECONDS).url, status_code=307)
    size = store.size(digest)
    # sent as stored: the client hashes what it receives and refuses corrupt bytes
    reader = (
        store.open_unverified(digest) if isinstance(store, LocalObjectStore) else store.open(digest)
    )

    def chunks() -> Any:
        with reader:
            while block := reader.read(CHUNK_SIZE):
                yield block

    headers = {"Content-Length": str(size)}
    return StreamingResponse(chunks(), media_type="application/octet-stream", headers=headers)
