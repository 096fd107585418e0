"""What every object store offers, whatever holds the bytes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from modeldeck.core.errors import InvalidInput
from modeldeck.core.hashing import is_digest
from modeldeck.storage.objects.manifest import Manifest


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """A stored object: its sha256 hex digest and its size in bytes.

    For a directory the digest is the manifest's and the size is the total of its files.
    """

    digest: str
    size: int


def check_digest(digest: object) -> str:
    """Return ``digest`` if it is 64 lowercase hex characters, else raise InvalidInput."""
    if not is_digest(digest):
        raise InvalidInput(f"not a sha256 hex digest (64 lowercase hex characters): {digest!r}")
    assert isinstance(digest, str)
    return digest


@runtime_checkable
class ObjectStore(Protocol):
    """Content-addressed storage of immutable blobs, keyed by their sha256 hex digest.

    Every digest argument raises InvalidInput when malformed and NotFound when absent. Reads
    verify the bytes against the digest and raise IntegrityError on a mismatch.
    """

    def put_file(self, path: Path) -> ObjectInfo: ...

    def put_bytes(self, data: bytes) -> ObjectInfo: ...

    def put_stream(self, stream: BinaryIO) -> ObjectInfo: ...

    def put_dir(self, path: Path) -> ObjectInfo: ...

    def exists(self, digest: str) -> bool: ...

    def size(self, digest: str) -> int: ...

    def open(self, digest: str) -> BinaryIO:
        """A reader that raises IntegrityError on reaching the end of corrupt bytes."""
        ...

    def read_bytes(self, digest: str) -> bytes: ...

    def get_file(self, digest: str, dest: Path) -> Path: ...

    def read_manifest(self, digest: str) -> Manifest: ...

    def get_dir(self, digest: str, dest: Path) -> Path: ...

    def delete(self, digest: str) -> None: ...

    def iter_digests(self) -> Iterator[str]: ...
