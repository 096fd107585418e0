"""sha256 helpers that stream, so no file is ever held whole in memory.

A digest is plain lowercase sha256 hex, 64 characters, with no algorithm prefix.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from typing import TYPE_CHECKING, BinaryIO

from modeldeck.core.errors import IntegrityError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

CHUNK_SIZE = 1 << 20

_DIGEST = re.compile(r"[0-9a-f]{64}")


def is_digest(s: object) -> bool:
    """True for a 64-character lowercase sha256 hex string."""
    return isinstance(s, str) and _DIGEST.fullmatch(s) is not None


def sha256_bytes(data: bytes | bytearray | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str], chunk: int = CHUNK_SIZE) -> tuple[str, int]:
    """Hex digest and size of the file at ``path``, read ``chunk`` bytes at a time."""
    with open(path, "rb", buffering=0) as f:
        return copy_hashing(f, None, chunk)


def copy_hashing(src: BinaryIO, dst: BinaryIO | None, chunk: int = CHUNK_SIZE) -> tuple[str, int]:
    """Copy ``src`` to ``dst`` (or just read it when ``dst`` is None); return (digest, size).

    One buffer is reused for the whole copy, so memory stays at ``chunk`` bytes.
    """
    h = hashlib.sha256()
    size = 0
    buf = bytearray(chunk)
    view = memoryview(buf)
    readinto = getattr(src, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(view)
            # A non-blocking raw stream returns None when no data is ready yet.
            if n is None:
                continue
        else:
            data = src.read(chunk)
            n = len(data)
            view[:n] = data
        if not n:
            break
        part = view[:n]
        h.update(part)
        if dst is not None:
            dst.write(part)
        size += n
    return h.hexdigest(), size


class HashingReader(io.RawIOBase):
    """A read-only stream that hashes what passes through it.

    With ``expected`` set, reaching end of stream with another digest raises IntegrityError,
    so a caller that reads to the end never silently gets corrupt bytes. A caller that stops
    early gets no check: nothing can be said about bytes that were never read.
    """

    def __init__(self, raw: BinaryIO, expected: str | None = None) -> None:
        super().__init__()
        self._raw = raw
        self._hash = hashlib.sha256()
        self._expected = expected
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int | None:
        view = memoryview(buffer).cast("B")
        readinto = getattr(self._raw, "readinto", None)
        if readinto is not None:
            n: int | None = readinto(view)
            if n is None:
                return None
        else:
            data = self._raw.read(len(view))
            n = len(data)
            view[:n] = data
        if n == 0 and len(view) > 0:
            self._check()
            return 0
        self._hash.update(view[:n])
        self.size += n
        return n

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()

    def _check(self) -> None:
        actual = self._hash.hexdigest()
        if self._expected is not None and actual != self._expected:
            raise corrupt_object(self._expected, actual)


def corrupt_object(digest: str, actual: str) -> IntegrityError:
    """The error for stored bytes that no longer hash to their address."""
    return IntegrityError(f"object {digest} is corrupt: its bytes hash to {actual}")
