"""Writes that a retry cannot apply twice: ``Idempotency-Key`` → the first answer, replayed.

A write with a key first claims it (its own short transaction), then runs, then stores its
answer under the key. A retry with the same key gets that answer back and changes nothing; a
retry that arrives while the first attempt is still running, or after a crash between the
write and the storing of its answer, gets 409 and changes nothing either: a key is applied at
most once. Metric batches use the stricter path of
:meth:`~modeldeck.tracking.tracker.Tracker.log_metrics_once` (the claim in the write's own
transaction), so a retried batch is never stored twice and never refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from modeldeck.core import validation as check
from modeldeck.core.errors import Conflict
from modeldeck.core.hashing import sha256_bytes
from modeldeck.server.state import Services
from modeldeck.storage.metadata import idempotency
from modeldeck.wire.text import HEADER_KEY_PATTERN

# the constraints sit on the str, not on the Optional: FastAPI dropped them there, from both
# the document and the check ("" reached check_key)
HeaderKey = Annotated[str, Field(min_length=1, max_length=250, pattern=HEADER_KEY_PATTERN)]
IdempotencyKey = Annotated[
    HeaderKey | None,
    Header(description="Any unique text (a UUID): a retry with the same key is applied only once."),
]


def once(
    svc: Services,
    user: str,
    key: str | None,
    request: Any,
    write: Callable[[], BaseModel | None],
    status: int = 200,
    *,
    keep: Callable[[BaseModel], BaseModel] | None = None,
    replay: Callable[[Any], Response] | None = None,
) -> Response:
    """Run ``write`` (returning the response body, or None for 204) at most once per key.

    A retry gets the stored answer back. ``keep`` picks the part of the answer that is stored
    (default: all of it) and ``replay`` turns that part into the retry's answer (default: as
    stored): a new token's secret, say, is never stored, so its retry cannot be answered with it.
    """
    if key is None:
        return _response(status, write())
    check.check_key(key, "idempotency key")
    digest = sha256_bytes(json.dumps(jsonable_encoder(request), sort_keys=True).encode())
    with svc.db.write() as conn:
        if not idempotency.claim(conn, user, key, digest, svc.clock()):
            found = idempotency.reply(conn, user, key)
            assert found is not None
            _, stored_status, stored = found
            if stored_status is None:
                raise Conflict(
                    f"a request with idempotency key {key!r} is still running, or its answer "
                    "was lost in a crash; look at the stored state before sending it again "
                    "with a new key"
                )
            if stored_status == 204:
                return Response(status_code=204)
            if replay is not None:
                return replay(json.loads(stored or "null"))
            return JSONResponse(json.loads(stored or "null"), status_code=stored_status)
    try:
        body = write()
    except BaseException:
        with svc.db.write() as conn:
            idempotency.release(conn, user, key)
        raise
    kept = body if body is None or keep is None else keep(body)
    encoded = None if kept is None else kept.model_dump(mode="json")
    with svc.db.write() as conn:
        idempotency.answer(conn, user, key, 204 if body is None else status, json.dumps(encoded))
    return _response(status, body)


def _response(status: int, body: BaseModel | None) -> Response:
    if body is None:
        return Response(status_code=204)
    return JSONResponse(body.model_dump(mode="json"), status_code=status)
