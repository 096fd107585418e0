"""Objects in an S3 bucket (AWS S3, MinIO, Ceph, moto) under a key prefix.

Layout: ``<prefix>/ab/cdef…``, the local store's folders as key prefixes.

Writing. An object's key is its digest, so the digest is known before a byte is sent:
``put_file`` hashes the file in one local pass, asks S3 (HEAD) whether the object is there and
uploads only when it is not, straight to its final key: one PUT up to ``part_size``, a
multipart upload of ``part_size`` parts above it. The bytes are hashed again as they are sent
and the upload completes only if they still hash to the digest, so a file edited meanwhile
never lands under the wrong address. A stream cannot be read twice, so ``put_stream`` spools it
to a local temporary file (in memory up to ``part_size``) while hashing it, then uploads that
the same way. This beats streaming to a temporary key and copying it: a duplicate is never
uploaded at all, there is no server-side copy (CopyObject stops at 5 GiB) and a killed process
leaves no stray temporary key. Writes carry ``If-None-Match: *``, so an object is never
rewritten; losing that race to a concurrent writer of the same bytes counts as success.

Reading streams the body through the digest-checking reader of ``modeldeck.core.hashing``.

Remote clients: ``presigned_get``, ``presigned_put`` and ``start_multipart`` /
``complete_multipart`` / ``abort_multipart`` let a server hand out URLs, so bytes travel
between the client and the bucket directly.

Errors: a missing bucket, refused credentials or an unreachable endpoint raise StoreError
naming the bucket and the endpoint; the bucket is checked once, on first use. Credentials need
s3:ListBucket besides Get/Put/DeleteObject: without it S3 answers 403, not 404, for a missing
key.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from modeldeck.core.errors import IntegrityError, InvalidInput, ModeldeckError, NotFound, StoreError
from modeldeck.core.hashing import (
    CHUNK_SIZE,
    HashingReader,
    copy_hashing,
    corrupt_object,
    is_digest,
    sha256_bytes,
)
from modeldeck.storage.objects.base import ObjectInfo, check_digest
from modeldeck.storage.objects.manifest import (
    Manifest,
    decode_manifest,
)
from modeldeck.storage.objects.tree import store_tree, tree_targets, write_verified

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MiB = 1 << 20
DEFAULT_PART_SIZE = 8 * MiB
MIN_PART_SIZE = 5 * MiB  # S3's smallest part but the last
MAX_PARTS = 10_000
MAX_PUT = 5 << 30  # the largest single PUT S3 accepts
MAX_EXPIRES = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live

ENDPOINT_ENV = "MODELDECK_S3_ENDPOINT_URL"
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]")
_DENIED = frozenset(
    {
        "403",
        "AccessDenied",
        "AllAccessDisabled",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "InvalidToken",
        "SignatureDoesNotMatch",
    }
)


def open_store(uri: str) -> S3ObjectStore:
    """The store at ``s3://bucket/prefix``.

    The endpoint is ``$MODELDECK_S3_ENDPOINT_URL`` when set (MinIO, Ceph, moto), else boto3's
    own choice (``AWS_ENDPOINT_URL_S3``, the profile, AWS); region and credentials come from
    boto3's usual environment and files.
    """
    parts = urlsplit(uri)
    if parts.scheme.lower() != "s3" or parts.query or parts.fragment:
        raise InvalidInput(f"not an S3 store URI (s3://bucket/prefix): {uri!r}")
    endpoint = os.environ.get(ENDPOINT_ENV) or None
    return S3ObjectStore(parts.netloc, parts.path, endpoint_url=endpoint)


@dataclass(frozen=True, slots=True)
class PresignedRequest:
    """An HTTP request anyone may send, without credentials, until its URL expires.

    Send ``headers`` exactly as given: they are part of the signature.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    """A multipart upload to the key of ``digest``: PUT part ``i`` (bytes ``i * part_size`` up
    to ``part_size`` long) to ``parts[i]``, keep each response's ``ETag`` header as it is,
    quotes included, and hand them in order to ``complete_multipart``."""

    digest: str
    size: int
    upload_id: str
    part_size: int
    parts: tuple[PresignedRequest, ...]


class _Absent(Exception):
    """S3 said 404 (no such key or upload); callers turn it into NotFound or False."""


class _Exists(Exception):
    """A conditional write found the key already there (412)."""


class S3ObjectStore:
    """A content-addressed object store in an S3 bucket (see the module docstring).

    The constructor makes a boto3 client, which reads configuration but sends nothing; pass
    ``client`` to use one made elsewhere.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        if not _BUCKET.fullmatch(bucket):
            raise InvalidInput(f"not an S3 bucket name: {bucket!r}")
        if part_size < MIN_PART_SIZE:
            raise InvalidInput(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        self.bucket = bucket
        self.prefix = _check_prefix(prefix)
        self.part_size = part_size
        self._base = f"{self.prefix}/" if self.prefix else ""
        self._client: Any = client if client is not None else _make_client(endpoint_url, region)
        self.endpoint: str = str(self._client.meta.endpoint_url)
        self._bucket_checked = False

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.uri!r}, endpoint={self.endpoint!r})"

    # -- writing ---------------------------------------------------------------------------

    def put_file(self, path: Path) -> ObjectInfo:
        path = Path(path)
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed by the with below
        except FileNotFoundError:
            raise NotFound(f"no such file: {path}") from None
        except IsADirectoryError:
            raise InvalidInput(f"{path} is a folder; store it with put_dir") from None
        with f:
            digest, size = copy_hashing(f, None)
            if not self.exists(digest):
                f.seek(0)
                self._upload(f, digest, size, str(path))
        return ObjectInfo(digest, size)

    def put_bytes(self, data: bytes) -> ObjectInfo:
        digest = sha256_bytes(data)
        if not self.exists(digest):
            self._upload(io.BytesIO(data), digest, len(data), "bytes")
        return ObjectInfo(digest, len(data))

    def put_stream(self, stream: BinaryIO) -> ObjectInfo:
        """Store everything left in ``stream``; the stream is read to its end, not closed."""
        with tempfile.SpooledTemporaryFile(max_size=self.part_size) as spool:
            digest, size = copy_hashing(stream, cast(BinaryIO, spool))
            if not self.exists(digest):
                spool.seek(0)
                self._upload(cast(BinaryIO, spool), digest, size, "stream")
        return ObjectInfo(digest, size)

    def put_dir(self, path: Path) -> ObjectInfo:
        """Store every regular file under ``path``, then a manifest; as the local store does.

        A symlink to a file is stored as the file's content; symlinked folders, empty folders,
        fifos, sockets and devices are skipped.
        """
        return store_tree(Path(path), self.put_file, self.put_bytes)

    def _upload(self, f: BinaryIO, digest: str, size: int, source: str) -> None:
        """Upload ``size`` bytes of buffered ``f`` to the key of ``digest``, if they hash to it."""
        key = self._key(digest)
        if size <= self.part_size:
            data = f.read(size + 1)
            if len(data) != size or sha256_bytes(data) != digest:
                raise _changed(source)
            with contextlib.suppress(_Exists):
                self._call("put_object", Key=key, Body=data, IfNoneMatch="*")
            return
        part_size = _part_size_for(size, self.part_size)
        upload_id = str(self._call("create_multipart_upload", Key=key)["UploadId"])
        completed = False
        try:
            h = hashlib.sha256()
            sent = 0
            parts: list[dict[str, Any]] = []
            while sent < size:
                # One part in memory at a time: the name is dropped before the next read.
                data = f.read(min(part_size, size - sent))
                if not data:
                    break
                h.update(data)
                sent += len(data)
                number = len(parts) + 1
                reply = self._call(
                    "upload_part", Key=key, UploadId=upload_id, PartNumber=number, Body=data
                )
                del data
                parts.append({"ETag": reply["ETag"], "PartNumber": number})
            if sent != size or f.read(1) or h.hexdigest() != digest:
                raise _changed(source)
            with contextlib.suppress(_Exists):
                self._call(
                    "complete_multipart_upload",
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                    IfNoneMatch="*",
                )
                completed = True
        finally:
            if not completed:
                self._abort(key, upload_id)

    def _abort(self, key: str, upload_id: str) -> None:
        # Best effort: the error that brought us here matters more than one from the abort.
        with contextlib.suppress(ModeldeckError, _Absent, _Exists):
            self._call("abort_multipart_upload", Key=key, UploadId=upload_id)

    # -- reading ---------------------------------------------------------------------------

    def exists(self, digest: str) -> bool:
        try:
            self._head(digest)
        except _Absent:
            return False
        return True

    def size(self, digest: str) -> int:
        try:
            return int(self._head(digest)["ContentLength"])
        except _Absent:
            raise _not_found(digest) from None

    def open(self, digest: str) -> BinaryIO:
        """A reader that raises IntegrityError if the bytes read to the end are corrupt."""
        body, _ = self._get(digest)
        return io.BufferedReader(HashingReader(body, digest), CHUNK_SIZE)

    def read_bytes(self, digest: str) -> bytes:
        """The whole object in memory, verified; for small objects such as manifests."""
        body, _ = self._get(digest)
        with body:
            data = body.read()
        actual = sha256_bytes(data)
        if actual != digest:
            raise corrupt_object(digest, actual)
        return data

    def get_file(self, digest: str, dest: Path) -> Path:
        """Copy the object to ``dest`` atomically (temp file + rename beside it), verified."""
        dest = Path(dest)
        self._materialise(digest, dest, 0o666)
        return dest

    def read_manifest(self, digest: str) -> Manifest:
        return decode_manifest(self.read_bytes(digest), digest)

    def get_dir(self, digest: str, dest: Path) -> Path:
        """Recreate the folder of manifest ``digest`` under ``dest``, as the local store does.

        Each file lands atomically, the folder as a whole does not. Paths that would land
        outside ``dest`` raise InvalidInput.
        """
        for rel, entry, target, mode in tree_targets(digest, self.read_manifest(digest), dest):
            self._materialise(entry.digest, target, mode, (digest, rel, entry.size))
        return Path(dest)

    def _materialise(
        self, digest: str, dest: Path, mode: int, listed: tuple[str, str, int] | None = None
    ) -> None:
        if dest.is_dir():
            raise InvalidInput(f"{dest} is a folder; give the path of the file to write")
        src, size = self._get(digest)
        with src:
            if listed is not None and listed[2] != size:
                raise IntegrityError(f"manifest {listed[0]}: size of {listed[1]!r} does not match")
            write_verified(src, digest, dest, mode)

    def _head(self, digest: str) -> Any:
        key = self._key(check_digest(digest))
        self._ensure_bucket()
        return self._call("head_object", Key=key)

    def _get(self, digest: str) -> tuple[BinaryIO, int]:
        key = self._key(check_digest(digest))
        self._ensure_bucket()
        try:
            reply = self._call("get_object", Key=key)
        except _Absent:
            raise _not_found(digest) from None
        body = _Body(reply["Body"], self, digest)
        return cast(BinaryIO, body), int(reply["ContentLength"])

    # -- housekeeping ----------------------------------------------------------------------

    def delete(self, digest: str) -> None:
        if not self.exists(digest):  # S3 deletes a missing key without a word
            raise _not_found(digest)
        self._call("delete_object", Key=self._key(digest))

    def iter_digests(self) -> Iterator[str]:
        """Every stored digest, page by page, in key order; stray keys are ignored."""
        self._ensure_bucket()
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._base
        )
        try:
            for page in pages:
                for item in page.get("Contents", ()):
                    head, sep, tail = str(item["Key"])[len(self._base) :].partition("/")
                    if sep and len(head) == 2 and is_digest(head + tail):
                        yield head + tail
        except (ClientError, BotoCoreError) as e:
            raise self._error(e, "list objects") from None

    # -- presigned requests for remote clients ---------------------------------------------

    def presigned_get(self, digest: str, expires: int = 3600) -> PresignedRequest:
        """A GET of the object's bytes; the client checks them against ``digest``."""
        key = self._key(check_digest(digest))
        url = self._presign("get_object", {"Key": key}, expires)
        return PresignedRequest("GET", url)

    def presigned_put(self, digest: str, size: int, expires: int = 3600) -> PresignedRequest:
        """A PUT of exactly ``size`` bytes to the object's key, for objects up to 5 GiB.

        The signed ``x-amz-checksum-sha256`` header makes S3 (and MinIO) refuse bytes with
        another sha256; a backend that ignores it (moto, older Ceph) stores them, and a reader
        then gets IntegrityError.
        """
        key = self._key(check_digest(digest))
        _check_size(size)
        if size > MAX_PUT:
            raise InvalidInput(f"{size} bytes is over S3's 5 GiB for one PUT; use start_multipart")
        checksum = base64.b64encode(bytes.fromhex(digest)).decode("ascii")
        headers = {
            "Content-Length": str(size),
            "Content-Type": "application/octet-stream",
            "x-amz-checksum-sha256": checksum,
        }
        params = {
            "Key": key,
            "ContentLength": size,
            "ContentType": headers["Content-Type"],
            "ChecksumSHA256": checksum,
        }
        url = self._presign("put_object", params, expires)
        return PresignedRequest("PUT", url, headers)

    def start_multipart(self, digest: str, size: int, expires: int = 3600) -> MultipartUpload:
        """Begin a multipart upload of ``size`` bytes to the object's key; presign its parts."""
        key = self._key(check_digest(digest))
        _check_size(size)
        if size == 0:
            raise InvalidInput("an empty object has no parts; use presigned_put")
        _check_expires(expires)
        part_size = _part_size_for(size, self.part_size)
        self._ensure_bucket()
        upload_id = str(self._call("create_multipart_upload", Key=key)["UploadId"])
        count = -(-size // part_size)
        parts = tuple(
            PresignedRequest(
                "PUT",
                self._presign(
                    "upload_part",
                    {"Key": key, "UploadId": upload_id, "PartNumber": n},
                    expires,
                ),
            )
            for n in range(1, count + 1)
        )
        return MultipartUpload(digest, size, upload_id, part_size, parts)

    def complete_multipart(
        self, digest: str, upload_id: str, etags: Sequence[str], *, verify: bool = True
    ) -> ObjectInfo:
        """Finish an upload from ``start_multipart`` with the parts' ETags, in order.

        With ``verify`` the new object is read back once (bucket to this process) and deleted
        if it does not hash to ``digest``, raising IntegrityError: S3 checks each part but
        has no whole-object sha256 for a multipart upload.
        """
        key = self._key(check_digest(digest))
        if not etags:
            raise InvalidInput("complete_multipart needs the ETag of every part")
        parts = [{"ETag": etag, "PartNumber": n} for n, etag in enumerate(etags, 1)]
        self._ensure_bucket()
        try:
            self._call(
                "complete_multipart_upload",
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except _Exists:
            self._abort(key, upload_id)  # the object was already stored: keep that one
            return ObjectInfo(digest, self.size(digest))
        except _Absent:
            raise NotFound(f"no multipart upload {upload_id!r} for object {digest}") from None
        if verify:
            try:
                with self.open(digest) as f:
                    copy_hashing(f, None)
            except IntegrityError:
                self._call("delete_object", Key=key)
                raise
        return ObjectInfo(digest, self.size(digest))

    def abort_multipart(self, digest: str, upload_id: str) -> None:
        """Drop an unfinished upload and its parts; an unknown or finished one is ignored."""
        self._abort(self._key(check_digest(digest)), upload_id)

    def _presign(self, operation: str, params: dict[str, Any], expires: int) -> str:
        _check_expires(expires)
        try:
            url = self._client.generate_presigned_url(
                operation, Params={"Bucket": self.bucket, **params}, ExpiresIn=expires
            )
        except (ClientError, BotoCoreError) as e:
            raise self._error(e, "presign a URL") from None
        return str(url)

    # -- talking to S3 ---------------------------------------------------------------------

    def _key(self, digest: str) -> str:
        return f"{self._base}{digest[:2]}/{digest[2:]}"

    def _ensure_bucket(self) -> None:
        """Check once that the bucket is there and ours, so later 404s mean missing keys."""
        if self._bucket_checked:
            return
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as e:
            if _status(e) == 404:
                raise StoreError(
                    f"S3 bucket {self.bucket!r} does not exist at {self.endpoint}"
                ) from None
            raise self._error(e, "check the bucket") from None
        except BotoCoreError as e:
            raise self._error(e, "check the bucket") from None
        self._bucket_checked = True

    def _call(self, operation: str, **params: Any) -> Any:
        """One S3 request on this bucket; 404 → _Absent, 412 → _Exists, else StoreError."""
        try:
            return getattr(self._client, operation)(Bucket=self.bucket, **params)
        except ClientError as e:
            status = _status(e)
            if status == 404 and _code(e) != "NoSuchBucket":
                raise _Absent() from None
            if status == 412:
                raise _Exists() from None
            raise self._error(e, operation.replace("_", " ")) from None
        except BotoCoreError as e:
            raise self._error(e, operation.replace("_", " ")) from None

    def _error(self, e: Exception, action: str) -> StoreError:
        where = f"S3 bucket {self.bucket!r} at {self.endpoint}"
        if isinstance(e, ClientError):
            code = _code(e)
            message = str(e.response.get("Error", {}).get("Message") or "").strip()
            if code == "NoSuchBucket":
                return StoreError(f"{where} does not exist")
            if code in _DENIED:
                return StoreError(
                    f"{where} refused access ({code}"
                    f"{': ' + message if message else ''}); check the credentials "
                    "(AWS_ACCESS_KEY_ID / AWS_PROFILE) and that they may list, read, write and "
                    "delete objects in it"
                )
            return StoreError(f"{where}: could not {action}: {code} {message}".rstrip())
        if isinstance(e, NoCredentialsError | PartialCredentialsError):
            return StoreError(
                f"{where}: no usable AWS credentials ({e}); set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
            )
        if isinstance(e, EndpointConnectionError | ConnectTimeoutError):
            return StoreError(f"{where}: cannot reach the endpoint: {e}")
        return StoreError(f"{where}: could not {action}: {e}")


class _Body(io.RawIOBase):
    """An S3 response body whose network errors surface as StoreError."""

    def __init__(self, body: Any, store: S3ObjectStore, digest: str) -> None:
        super().__init__()
        self._body = body
        self._store = store
        self._digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        data = self._read(len(view))
        view[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self._read(None)

    def _read(self, amount: int | None) -> bytes:
        try:
            return bytes(self._body.read(amount))
        except (BotoCoreError, OSError) as e:
            error = self._store._error(e, f"read object {self._digest}")
            raise error from None

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _make_client(endpoint_url: str | None, region: str | None, session: Any = None) -> Any:
    """An S3 client for MinIO, Ceph and moto as much as AWS; ``session`` defaults to a new
    boto3 session (boto3's default one is not safe to share between threads)."""
    options: dict[str, Any] = {
        "signature_version": "s3v4",
        "retries": {"mode": "standard", "max_attempts": 4},
        "connect_timeout": 10,
        "read_timeout": 60,
    }
    if endpoint_url:
        # MinIO and Ceph are usually reached by host name only, so virtual-host style fails.
        options["s3"] = {"addressing_style": "path"}
    try:
        # We verify sha256 ourselves; botocore's default CRC32 trailers (1.36+) are refused
        # by some S3-compatible servers.
        config = Config(
            **options,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
    except TypeError:  # botocore before 1.36 has neither option nor those trailers
        config = Config(**options)
    try:
        session = session if session is not None else boto3.session.Session()
        return session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
    except ValueError as e:
        raise InvalidInput(f"bad S3 endpoint URL {endpoint_url!r}: {e}") from None
    except BotoCoreError as e:
        raise InvalidInput(f"cannot configure an S3 client: {e}") from None


def _check_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    if not prefix:
        return ""
    segments = prefix.split("/")
    if any(s in ("", ".", "..") for s in segments) or any(ord(c) < 32 for c in prefix):
        raise InvalidInput(f"S3 key prefix must be plain path segments: {prefix!r}")
    return prefix


def _part_size_for(size: int, part_size: int) -> int:
    """``part_size``, or larger (whole MiB) when the object needs more than 10,000 parts."""
    needed = -(-size // MAX_PARTS)
    return max(part_size, -(-needed // MiB) * MiB)


def _check_size(size: int) -> None:
    if type(size) is not int or size < 0:
        raise InvalidInput(f"size must be a whole number of bytes, not {size!r}")


def _check_expires(expires: int) -> None:
    if type(expires) is not int or not 1 <= expires <= MAX_EXPIRES:
        raise InvalidInput(f"expires must be 1 to {MAX_EXPIRES} seconds, not {expires!r}")


def _status(e: ClientError) -> int:
    return int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code") or "")


def _changed(source: str) -> InvalidInput:
    return InvalidInput(f"{source} changed while it was being stored; nothing was stored")


def _not_found(digest: str) -> NotFound:
    return NotFound(f"object {digest} not found")
