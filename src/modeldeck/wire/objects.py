"""Schemas of object transfers: which objects a client must upload, and where to send them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from modeldeck.wire.base import StrictIn

Digest = Annotated[str, Field(pattern="^[0-9a-f]{64}$")]
Size = Annotated[int, Field(ge=0, le=5 * 2**40)]  # S3's largest object: 5 TiB


class ObjectRef(StrictIn):
    digest: Digest
    size: Size


class UploadsIn(StrictIn):
    objects: Annotated[list[ObjectRef], Field(max_length=10_000)]


class Request(BaseModel):
    """An HTTP request to send as given; a relative ``url`` goes to the modeldeck server (with
    the token), an absolute one is presigned for the object store (send no token there)."""

    method: str
    url: str
    headers: dict[str, str] = Field(default_factory=dict)


class Multipart(BaseModel):
    """PUT part ``i`` (bytes ``i * part_size`` …) to ``parts[i]``, then complete the upload
    with every part's ETag header, in order."""

    upload_id: str
    part_size: int
    parts: list[Request]


class Upload(BaseModel):
    digest: str
    present: bool  # already stored: nothing to send
    request: Request | None = None
    multipart: Multipart | None = None


class UploadsOut(BaseModel):
    objects: list[Upload]


class CompleteIn(StrictIn):
    upload_id: Annotated[str, Field(min_length=1, max_length=2000)]
    etags: Annotated[
        list[Annotated[str, Field(max_length=200)]], Field(min_length=1, max_length=10_000)
    ]


class ObjectOut(BaseModel):
    digest: str
    size: int
