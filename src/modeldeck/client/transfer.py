"""The object store of a remote client: the server's store, reached through ``/api/v1/objects``.

Uploads are planned in batches (one request says which objects the server lacks and where
each one goes), then sent straight to S3 through presigned URLs — one PUT, or parts of
``part_size`` bytes for a large object — or streamed to the server when its store is local.
Downloads follow the server's redirect to a presigned GET, or stream from the server. Every
byte is hashed on this side too: a download that does not match its digest raises
IntegrityError and leaves nothing behind.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, cast

from modeldeck.client.http import Http
from modeldeck.core.errors import InvalidInput, NotFound
from modeldeck.core.hashing import CHUNK_SIZE, copy_hashing, corrupt_object, sha256_bytes
from modeldeck.storage.objects.base import ObjectInfo, check_digest
from modeldeck.storage.objects.manifest import Manifest, decode_manifest
from modeldeck.storage.objects.tree import store_tree, tree_targets, write_verified
from modeldeck.wire import objects as wire

API = "/api/v1/objects"
PLAN_BATCH = 1000  # objects per planning request


class HttpObjectStore:
    """:class:`~modeldeck.storage.objects.base.ObjectStore` over a modeldeck server."""

    def __init__(self, http: Http) -> None:
        self.http = http

    def __repr__(self) -> str:
        return f"HttpObjectStore({self.http.base_url!r})"

    # writing -----------------------------------------------------------------------------

    def put_file(self, path: Path) -> ObjectInfo:
        digest, size = _hash_file(path)
        self.upload([(digest, size, Path(path))])
        return ObjectInfo(digest, size)

    def put_bytes(self, data: bytes) -> ObjectInfo:
        info = ObjectInfo(sha256_bytes(data), len(data))
        self.upload([(info.digest, info.size, bytes(data))])
        return info

    def put_stream(self, stream: BinaryIO) -> ObjectInfo:
        with tempfile.TemporaryDirectory(prefix="modeldeck-") as tmp:
            target = Path(tmp) / "stream"
            with target.open("wb") as out:
                shutil.copyfileobj(stream, out, CHUNK_SIZE)
            return self.put_file(target)

    def put_dir(self, path: Path) -> ObjectInfo:
        """Hash the whole folder first, then upload only what the server lacks, in batches."""
        pending: list[tuple[str, int, Path | bytes]] = []

        def hash_file(file: Path) -> ObjectInfo:
            digest, size = _hash_file(file)
            pending.append((digest, size, file))
            return ObjectInfo(digest, size)

        def hash_bytes(data: bytes) -> ObjectInfo:
            info = ObjectInfo(sha256_bytes(data), len(data))
            pending.append((info.digest, info.size, data))
            return info

        info = store_tree(Path(path), hash_file, hash_bytes)
        manifest_last = pending[-1:]  # a manifest is stored only after every file it names
        self.upload(pending[:-1])
        self.upload(manifest_last)
        return info

    def upload(self, items: Sequence[tuple[str, int, Path | bytes]]) -> None:
        """Send each (digest, size, file or bytes) the server does not hold yet."""
        unique = list({digest: (digest, size, src) for digest, size, src in items}.values())
        for start in range(0, len(unique), PLAN_BATCH):
            batch = unique[start : start + PLAN_BATCH]
            refs = [{"digest": d, "size": s} for d, s, _ in batch]
            plan = wire.UploadsOut.model_validate(
                self.http.post(f"{API}/uploads", {"objects": refs})
            )
            sources = {d: (s, src) for d, s, src in batch}
            for planned in plan.objects:
                if planned.present:
                    continue
                size, src = sources[planned.digest]
                if planned.multipart is not None:
                    self._multipart(planned.digest, src, planned.multipart)
                elif planned.request is not None:
                    self._put(planned.request, size, src)

    def _put(self, request: wire.Request, size: int, src: Path | bytes) -> None:
        if not isinstance(src, bytes) and Path(src).stat().st_size != size:
            raise InvalidInput(f"{src} changed while it was being uploaded; log it again")
        if _external(request.url):
            # a presigned PUT holds at most one part (8 MiB by default) in memory
            data = src if isinstance(src, bytes) else Path(src).read_bytes()
            self.http.send_external(request.method, request.url, data, request.headers)
        else:
            headers = {**request.headers, "Content-Type": "application/octet-stream"}
            self.http.call(request.method, request.url, content=src, headers=headers)

    def _multipart(self, digest: str, src: Path | bytes, plan: wire.Multipart) -> None:
        etags = []
        with io.BytesIO(src) if isinstance(src, bytes) else Path(src).open("rb") as reader:
            for part in plan.parts:
                chunk = reader.read(plan.part_size)
                answer = self.http.send_external(part.method, part.url, chunk, part.headers)
                etags.append(answer.headers["ETag"])
        body = {"upload_id": plan.upload_id, "etags": etags}
        self.http.post(f"{API}/{digest}/multipart", body)

    # reading -----------------------------------------------------------------------------

    def exists(self, digest: str) -> bool:
        try:
            self.size(digest)
        except NotFound:
            return False
        return True

    def size(self, digest: str) -> int:
        return int(self.http.get(f"{API}/{check_digest(digest)}/info")["size"])

    def open(self, digest: str) -> BinaryIO:
        """The verified bytes, spooled to memory (small) or a temporary file (large)."""
        # returned open: the caller closes it
        out = cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=8 * CHUNK_SIZE))  # noqa: SIM115
        try:
            self._download(digest, out)
        except BaseException:
            out.close()
            raise
        out.seek(0)
        return out

    def read_bytes(self, digest: str) -> bytes:
        buffer = io.BytesIO()
        self._download(digest, buffer)
        return buffer.getvalue()

    def get_file(self, digest: str, dest: Path) -> Path:
        dest = Path(dest)
        with self.open(digest) as verified:
            write_verified(verified, digest, dest, 0o666)
        return dest

    def read_manifest(self, digest: str) -> Manifest:
        return decode_manifest(self.read_bytes(digest), digest)

    def get_dir(self, digest: str, dest: Path) -> Path:
        manifest = self.read_manifest(digest)
        for _, entry, target, mode in tree_targets(digest, manifest, Path(dest)):
            with self.open(entry.digest) as verified:
                write_verified(verified, entry.digest, target, mode)
        return Path(dest)

    def delete(self, digest: str) -> None:
        raise InvalidInput("objects cannot be deleted through the server")

    def iter_digests(self) -> Iterator[str]:
        raise InvalidInput("the server does not list its objects")

    def _download(self, digest: str, out: BinaryIO) -> None:
        check_digest(digest)
        url, external = f"{API}/{digest}", False
        with self.http.stream("GET", url) as response:
            if response.status_code == 307:
                url, external = response.headers["location"], True
            else:
                _copy_checked(response.iter_bytes(CHUNK_SIZE), digest, out)
                return
        with self.http.stream("GET", url, external=external) as response:
            _copy_checked(response.iter_bytes(CHUNK_SIZE), digest, out)


def _copy_checked(chunks: Iterator[bytes], digest: str, out: BinaryIO) -> None:
    actual, _ = copy_hashing(cast(BinaryIO, _ChunkReader(chunks)), out)
    if actual != digest:
        raise corrupt_object(digest, actual)


class _ChunkReader(io.RawIOBase):
    """A file-like view of an iterator of byte chunks, for copy_hashing."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n


def _hash_file(path: Path) -> tuple[str, int]:
    with open(path, "rb", buffering=0) as f:
        return copy_hashing(f, None)


def _external(url: str) -> bool:
    return url.startswith(("http://", "https://"))
