"""The S3 object store against a real S3-compatible endpoint (moto's server, see conftest)."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import socket
import stat
import sys
import tracemalloc
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from modeldeck.client.local import LocalClient
from modeldeck.core.errors import IntegrityError, InvalidInput, NotFound, StoreError
from modeldeck.core.hashing import sha256_bytes, sha256_file
from modeldeck.core.settings import Settings
from modeldeck.storage.objects import (
    LocalObjectStore,
    Manifest,
    ManifestEntry,
    ObjectStore,
    open_object_store,
)
from modeldeck.storage.objects.manifest import encode_manifest

if importlib.util.find_spec("boto3") is None:
    if os.environ.get("MODELDECK_REQUIRE_S3"):
        raise RuntimeError("MODELDECK_REQUIRE_S3 is set but boto3 is not installed")
    pytest.skip("boto3 not installed (pip install -e '.[dev]')", allow_module_level=True)

from modeldeck.storage.objects.s3 import MIN_PART_SIZE, S3ObjectStore, _make_client

MISSING = "0" * 64
MiB = 1 << 20


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3's standard environment pointed at the test endpoint, nothing from ~/.aws."""
    for var in list(os.environ):
        if var.startswith("AWS_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("MODELDECK_S3_ENDPOINT_URL", s3_endpoint)
    return s3_endpoint


@pytest.fixture
def store(s3_endpoint: str, s3_session: Any, s3_bucket: str) -> S3ObjectStore:
    """A store on a fresh bucket, with the client it would make itself, from a shared session."""
    client = _make_client(s3_endpoint, None, s3_session)
    return S3ObjectStore(s3_bucket, "objects", client=client, part_size=MIN_PART_SIZE)


def keys(s3_raw: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3_raw.list_objects_v2(Bucket=bucket).get("Contents", [])]


def pending_uploads(s3_raw: Any, bucket: str) -> list[Any]:
    return list(s3_raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def count_calls(store: S3ObjectStore, operation: str) -> list[str]:
    """A list that grows by one name each time ``store`` sends ``operation``."""
    calls: list[str] = []
    store._client.meta.events.register(
        f"before-call.s3.{operation}", lambda **kw: calls.append(operation)
    )
    return calls


def tamper(s3_raw: Any, store: S3ObjectStore, digest: str, data: bytes) -> None:
    s3_raw.put_object(Bucket=store.bucket, Key=store._key(digest), Body=data)


def make_tree(root: Path) -> Path:
    files = {
        "a.txt": b"alpha",
        "sub/b.bin": b"\x00\x01beta",
        "sub/deeper/c.txt": b"gamma",
        "run.sh": b"#!/bin/sh\necho hi\n",
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "run.sh").chmod(0o755)
    return root


def big_file(path: Path, mib: int, extra: int = 0) -> Path:
    block = os.urandom(MiB)
    with path.open("wb") as f:
        for i in range(mib):
            f.write(block[i:] + block[:i])
        f.write(block[:extra])
    return path


def http(request: Any, data: bytes | None = None) -> tuple[int, bytes, Any]:
    """Send a presigned request with plain urllib, as a client without boto3 would."""
    # urllib would otherwise label a body as a form, which moto's web server then swallows.
    headers = {"Content-Type": "application/octet-stream", **request.headers}
    req = urllib.request.Request(request.url, data=data, method=request.method, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as reply:
        return reply.status, reply.read(), reply.headers


# -- writing ----------------------------------------------------------------------------------


def test_digest_is_plain_sha256_and_layout_fans_out(
    store: S3ObjectStore, s3_raw: Any, s3_bucket: str
) -> None:
    data = b"hello modeldeck"
    info = store.put_bytes(data)
    assert info.digest == hashlib.sha256(data).hexdigest()
    assert info.size == len(data)
    key = f"objects/{info.digest[:2]}/{info.digest[2:]}"
    assert keys(s3_raw, s3_bucket) == [key]
    assert s3_raw.get_object(Bucket=s3_bucket, Key=key)["Body"].read() == data
    assert isinstance(store, ObjectStore)
    assert store.uri == f"s3://{s3_bucket}/objects"
    assert store.endpoint in repr(store)


def test_same_bytes_are_stored_once_and_uploaded_once(
    store: S3ObjectStore, s3_raw: Any, s3_bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(b"x" * 1000)
    a = store.put_file(src)
    puts = count_calls(store, "PutObject")
    b = store.put_bytes(b"x" * 1000)
    c = store.put_stream(io.BytesIO(b"x" * 1000))
    d = store.put_file(src)
    assert a == b == c == d
    assert puts == []  # a duplicate is never sent
    assert len(keys(s3_raw, s3_bucket)) == 1
    assert list(store.iter_digests()) == [a.digest]


def test_existing_object_is_never_rewritten(
    store: S3ObjectStore, s3_raw: Any, s3_bucket: str
) -> None:
    digest = store.put_bytes(b"immutable").digest
    etag = s3_raw.head_object(Bucket=s3_bucket, Key=store._key(digest))["ETag"]
    # Lose the HEAD race: the conditional PUT finds the key and leaves it alone.
    store.exists = lambda d: False  # type: ignore[method-assign]
    assert store.put_bytes(b"immutable").digest == digest
    assert s3_raw.head_object(Bucket=s3_bucket, Key=store._key(digest))["ETag"] == etag


def test_empty_object(store: S3ObjectStore) -> None:
    info = store.put_bytes(b"")
    assert info.digest == hashlib.sha256(b"").hexdigest()
    assert store.read_bytes(info.digest) == b""
    assert store.size(info.digest) == 0


def test_put_file_errors(store: S3ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        store.put_file(tmp_path / "nope")
    with pytest.raises(InvalidInput):
        store.put_file(tmp_path)


def test_multipart_upload_above_the_part_size(
    store: S3ObjectStore, s3_raw: Any, s3_bucket: str, tmp_path: Path
) -> None:
    src = big_file(tmp_path / "big.bin", 11, extra=3)  # 5 MiB parts: 5 + 5 + 1 MiB + 3 bytes
    parts = count_calls(store, "UploadPart")
    info = store.put_file(src)
    assert parts == ["UploadPart"] * 3
    assert (info.digest, info.size) == sha256_file(src)
    assert store.size(info.digest) == info.size
    out = store.get_file(info.digest, tmp_path / "back.bin")
    assert sha256_file(out) == (info.digest, info.size)
    assert pending_uploads(s3_raw, s3_bucket) == []

    # A stream cannot be read twice: it is spooled, then sent the same way.
    class OneWay(io.RawIOBase):
        def __init__(self, raw: io.BufferedReader) -> None:
            self.raw = raw

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            return self.raw.readinto(b)

    data = os.urandom(MIN_PART_SIZE + 17)
    with io.BufferedReader(io.BytesIO(data)) as raw:
        streamed = store.put_stream(OneWay(raw))  # type: ignore[arg-type]
    assert streamed.digest == sha256_bytes(data)
    assert store.read_bytes(streamed.digest) == data


@pytest.mark.parametrize("mib", [0, 6], ids=["single-put", "multipart"])
def test_file_changed_during_upload_stores_nothing(
    store: S3ObjectStore, s3_raw: Any, s3_bucket: str, tmp_path: Path, mib: int
) -> None:
    src = big_file(tmp_path / "f.bin", mib, extra=100)
    exists = store.exists

    def exists_then_edit(digest: str) -> bool:
        with src.open("r+b") as f:
            f.write(b"edited!")
        return exists(digest)

    store.exists = exists_then_edit  # type: ignore[method-assign]
    with pytest.raises(InvalidInput, match="changed while it was being stored"):
        store.put_file(src)
    assert keys(s3_raw, s3_bucket) == []
    assert pending_uploads(s3_raw, s3_bucket) == []


# -- reading ----------------------------------------------------------------------------------


def test_reads_round_trip(store: S3ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(3 * MiB + 5)
    info = store.put_bytes(data)
    assert store.exists(info.digest)
    assert store.size(info.digest) == len(data)
    assert store.read_bytes(info.digest) == data
    with store.open(info.digest) as f:
        assert f.read(10) == data[:10]
        assert f.read() == data[10:]
    dest = store.get_file(info.digest, tmp_path / "out" / "copy.bin")
    assert dest.read_bytes() == data
    assert stat.S_IMODE(dest.stat().st_mode) & 0o200


def test_tampered_object_is_detected(store: S3ObjectStore, s3_raw: Any, tmp_path: Path) -> None:
    data = b"precious weights" * 1000
    digest = store.put_bytes(data).digest
    tamper(s3_raw, store, digest, b"X" + data[1:])
    with pytest.raises(IntegrityError, match=f"{digest} is corrupt"):
        store.read_bytes(digest)
    with pytest.raises(IntegrityError, match=f"{digest} is corrupt"), store.open(digest) as f:
        f.read()
    with pytest.raises(IntegrityError, match=f"{digest} is corrupt"), store.open(digest) as f:
        while f.read(100):
            pass
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(IntegrityError, match=f"{digest} is corrupt"):
        store.get_file(digest, out / "w.bin")
    assert list(out.iterdir()) == []
    dest = tmp_path / "keep.txt"
    dest.write_bytes(b"old")
    with pytest.raises(IntegrityError):
        store.get_file(digest, dest)
    assert dest.read_bytes() == b"old"
    assert list(tmp_path.glob(".keep.txt.*")) == []


def test_delete_and_paginated_iter_digests(
    store: S3ObjectStore, s3_raw: Any, s3_bucket: str
) -> None:
    digests = {store.put_bytes(bytes([i])).digest for i in range(5)}
    d = next(iter(digests))
    for stray in ("objects/tmp/x", f"objects/{d[:2]}/{d[2:4]}/{d[4:]}", f"other/{d[:2]}/{d[2:]}"):
        s3_raw.put_object(Bucket=s3_bucket, Key=stray, Body=b"ignored")
    pages = count_calls(store, "ListObjectsV2")
    store._client.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2", lambda params, **kw: params.update(MaxKeys=2)
    )
    assert set(store.iter_digests()) == digests
    assert len(pages) >= 3
    victim = digests.pop()
    store.delete(victim)
    assert not store.exists(victim)
    assert set(store.iter_digests()) == digests
    with pytest.raises(NotFound, match=victim):
        store.delete(victim)


def test_prefix_may_be_empty(s3_env: str, s3_bucket: str, s3_raw: Any) -> None:
    store = S3ObjectStore(s3_bucket, "", endpoint_url=s3_env)
    digest = store.put_bytes(b"top").digest
    assert keys(s3_raw, s3_bucket) == [f"{digest[:2]}/{digest[2:]}"]
    assert list(store.iter_digests()) == [digest]


# -- bad digests ------------------------------------------------------------------------------

CALLS: dict[str, Callable[[S3ObjectStore, str, Path], object]] = {
    "size": lambda s, d, p: s.size(d),
    "open": lambda s, d, p: s.open(d),
    "read_bytes": lambda s, d, p: s.read_bytes(d),
    "get_file": lambda s, d, p: s.get_file(d, p / "f"),
    "read_manifest": lambda s, d, p: s.read_manifest(d),
    "get_dir": lambda s, d, p: s.get_dir(d, p / "d"),
    "delete": lambda s, d, p: s.delete(d),
}


def test_missing_digest_is_not_found(store: S3ObjectStore, tmp_path: Path) -> None:
    store.put_bytes(b"something")
    assert not store.exists(MISSING)
    for name, call in CALLS.items():
        with pytest.raises(NotFound, match=MISSING):
            call(store, MISSING, tmp_path)
        assert not (tmp_path / "f").exists(), name


@pytest.mark.parametrize("bad", ["A" * 64, "a" * 63, "g" * 64, "a" * 64 + "\n", "../" + "a" * 61])
def test_malformed_digest_is_invalid(store: S3ObjectStore, tmp_path: Path, bad: str) -> None:
    calls = {
        **CALLS,
        "exists": lambda s, d, p: s.exists(d),
        "presigned_get": lambda s, d, p: s.presigned_get(d),
        "presigned_put": lambda s, d, p: s.presigned_put(d, 1),
        "start_multipart": lambda s, d, p: s.start_multipart(d, 1),
    }
    sent = count_calls(store, "*")
    for name, call in calls.items():
        with pytest.raises(InvalidInput):
            call(store, bad, tmp_path)
        assert sent == [], name


# -- directories ------------------------------------------------------------------------------


def test_dir_round_trip_keeps_content_and_exec_bit(store: S3ObjectStore, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    (src / "empty").mkdir()
    info = store.put_dir(src)
    # The same tree has the same digest in every store.
    assert info == LocalObjectStore(tmp_path / "local").put_dir(src)
    manifest = store.read_manifest(info.digest)
    assert sorted(manifest.entries) == ["a.txt", "run.sh", "sub/b.bin", "sub/deeper/c.txt"]
    assert manifest.entries["run.sh"].mode == 0o755

    out = store.get_dir(info.digest, tmp_path / "out")
    for rel in manifest.entries:
        assert (out / rel).read_bytes() == (src / rel).read_bytes()
    assert stat.S_IMODE((out / "run.sh").stat().st_mode) & 0o100
    assert not stat.S_IMODE((out / "a.txt").stat().st_mode) & 0o111


def test_get_dir_checks_sizes_and_digests(
    store: S3ObjectStore, s3_raw: Any, tmp_path: Path
) -> None:
    info = store.put_dir(make_tree(tmp_path / "src"))
    entry = store.read_manifest(info.digest).entries["sub/b.bin"]
    tamper(s3_raw, store, entry.digest, b"longer than before")
    with pytest.raises(IntegrityError, match=r"size of 'sub/b\.bin'"):
        store.get_dir(info.digest, tmp_path / "out")
    tamper(s3_raw, store, entry.digest, b"\x00\x01BETA")
    with pytest.raises(IntegrityError, match="is corrupt"):
        store.get_dir(info.digest, tmp_path / "out2")
    assert not (tmp_path / "out2" / "sub" / "b.bin").exists()


def _forged(store: S3ObjectStore, path: str) -> str:
    digest = store.put_bytes(b"evil").digest
    entries = {"ok.txt": ManifestEntry(digest, 4), path: ManifestEntry(digest, 4)}
    return store.put_bytes(encode_manifest(Manifest(entries))).digest


@pytest.mark.parametrize("path", ["../evil", "a/../../evil", "/tmp/evil", "a\\b"])
def test_manifest_escaping_dest_is_rejected(
    store: S3ObjectStore, tmp_path: Path, path: str
) -> None:
    forged = _forged(store, path)
    with pytest.raises(InvalidInput):
        store.get_dir(forged, tmp_path / "dest" / "inner")
    assert not (tmp_path / "dest" / "evil").exists()
    assert not (tmp_path / "dest" / "inner" / "ok.txt").exists()


def test_get_dir_does_not_follow_symlinks_out_of_dest(store: S3ObjectStore, tmp_path: Path) -> None:
    forged = _forged(store, "escape/evil")
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "escape").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidInput, match="outside"):
        store.get_dir(forged, dest)
    assert list(outside.iterdir()) == []


def test_non_manifest_is_rejected(store: S3ObjectStore) -> None:
    with pytest.raises(InvalidInput, match="not a manifest"):
        store.read_manifest(store.put_bytes(b"not json").digest)


# -- memory -----------------------------------------------------------------------------------


def test_large_files_stream_in_bounded_memory(s3_env: str, s3_bucket: str, tmp_path: Path) -> None:
    store = S3ObjectStore(s3_bucket, "objects", endpoint_url=s3_env)  # default 8 MiB parts
    big = big_file(tmp_path / "big.bin", 64)
    tracemalloc.start()
    try:
        info = store.put_file(big)
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        out = store.get_file(info.digest, tmp_path / "back.bin")
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == 64 * MiB
    assert put_peak < store.part_size + 4 * MiB, put_peak  # one part in memory, not the file
    assert get_peak < 4 * MiB, get_peak
    assert sha256_file(out) == (info.digest, info.size)


# -- presigned requests -----------------------------------------------------------------------


def test_presigned_put_and_get(store: S3ObjectStore) -> None:
    data = b"bytes from a remote client"
    digest = sha256_bytes(data)
    put = store.presigned_put(digest, len(data), expires=60)
    assert put.method == "PUT" and "X-Amz-Signature=" in put.url
    assert put.headers["Content-Length"] == str(len(data))
    assert "x-amz-checksum-sha256" in put.headers
    status, _, _ = http(put, data)
    assert status == 200
    assert store.read_bytes(digest) == data
    status, body, _ = http(store.presigned_get(digest, expires=60))
    assert (status, body) == (200, data)


def test_presigned_multipart_upload(store: S3ObjectStore, s3_raw: Any, s3_bucket: str) -> None:
    data = os.urandom(MIN_PART_SIZE + MiB)
    digest = sha256_bytes(data)
    upload = store.start_multipart(digest, len(data), expires=60)
    assert upload.part_size == MIN_PART_SIZE and len(upload.parts) == 2
    etags = []
    for i, part in enumerate(upload.parts):
        chunk = data[i * upload.part_size : (i + 1) * upload.part_size]
        _, _, headers = http(part, chunk)
        etags.append(headers["ETag"])
    info = store.complete_multipart(digest, upload.upload_id, etags)
    assert (info.digest, info.size) == (digest, len(data))
    assert store.read_bytes(digest) == data
    assert pending_uploads(s3_raw, s3_bucket) == []


def test_presigned_multipart_with_wrong_bytes_is_deleted(store: S3ObjectStore) -> None:
    data = os.urandom(MiB)
    digest = sha256_bytes(b"something else")
    upload = store.start_multipart(digest, len(data))
    _, _, headers = http(upload.parts[0], data)
    with pytest.raises(IntegrityError, match="is corrupt"):
        store.complete_multipart(digest, upload.upload_id, [headers["ETag"]])
    assert not store.exists(digest)


def test_multipart_abort_and_bad_arguments(
    store: S3ObjectStore, s3_raw: Any, s3_bucket: str
) -> None:
    digest = sha256_bytes(b"x")
    upload = store.start_multipart(digest, 1)
    assert len(pending_uploads(s3_raw, s3_bucket)) == 1
    store.abort_multipart(digest, upload.upload_id)
    store.abort_multipart(digest, upload.upload_id)  # again: nothing to do
    assert pending_uploads(s3_raw, s3_bucket) == []
    with pytest.raises(InvalidInput, match="ETag"):
        store.complete_multipart(digest, upload.upload_id, [])
    with pytest.raises(InvalidInput, match="expires"):
        store.presigned_get(digest, expires=0)
    with pytest.raises(InvalidInput, match="expires"):
        store.presigned_get(digest, expires=8 * 24 * 3600)
    with pytest.raises(InvalidInput, match="5 GiB"):
        store.presigned_put(digest, 6 << 30)
    with pytest.raises(InvalidInput, match="size"):
        store.presigned_put(digest, -1)
    with pytest.raises(InvalidInput, match="empty"):
        store.start_multipart(digest, 0)


# -- configuration and errors -----------------------------------------------------------------


def test_open_object_store_reads_the_environment(s3_env: str, s3_bucket: str) -> None:
    store = open_object_store(f"s3://{s3_bucket}/team/objects/")
    assert isinstance(store, S3ObjectStore)
    assert (store.bucket, store.prefix, store.endpoint) == (s3_bucket, "team/objects", s3_env)
    digest = store.put_bytes(b"via the URI").digest
    assert store.read_bytes(digest) == b"via the URI"


@pytest.mark.parametrize(
    "uri", ["s3://", "s3://ab/x", "s3://bucket/a/../b", "s3://bucket/a//b", "s3://bucket/p?x=1"]
)
def test_malformed_s3_uris(s3_env: str, uri: str) -> None:
    with pytest.raises(InvalidInput):
        open_object_store(uri)


def test_constructor_checks_its_arguments(s3_env: str) -> None:
    with pytest.raises(InvalidInput, match="part_size"):
        S3ObjectStore("bucket", part_size=MiB)
    with pytest.raises(InvalidInput, match="endpoint"):
        S3ObjectStore("bucket", endpoint_url="not a url")


def test_missing_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("boto3", "botocore", "botocore.config", "botocore.exceptions"):
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "modeldeck.storage.objects.s3")
    with pytest.raises(InvalidInput, match=r"\[s3\] extra: pip install 'modeldeck\[s3\]'"):
        open_object_store("s3://bucket/prefix")


def test_missing_bucket_is_a_clear_error(s3_env: str, tmp_path: Path) -> None:
    store = S3ObjectStore("no-such-bucket", "objects", endpoint_url=s3_env)  # no I/O yet
    for call in (
        lambda: store.exists(MISSING),
        lambda: store.put_bytes(b"x"),
        lambda: list(store.iter_digests()),
        lambda: store.get_file(MISSING, tmp_path / "f"),
    ):
        with pytest.raises(StoreError, match=r"'no-such-bucket'.*does not exist") as info:
            call()
        assert s3_env in str(info.value)


def test_refused_credentials_are_a_clear_error(make_s3_client: Callable[..., Any]) -> None:
    from botocore.stub import Stubber

    client = make_s3_client()
    store = S3ObjectStore("locked", "objects", client=client)
    with Stubber(client) as stub:
        stub.add_client_error("head_bucket", "403", "Forbidden", 403)
        with pytest.raises(StoreError, match=r"'locked'.*refused access.*credentials"):
            store.exists(MISSING)
        stub.add_client_error("head_bucket", "SlowDown", "Please reduce your rate", 503)
        with pytest.raises(StoreError, match="SlowDown Please reduce your rate"):
            store.exists(MISSING)
        # moto answers 500 here; S3 answers 404 for an upload aborted or never started.
        stub.add_response("head_bucket", {})
        stub.add_client_error("complete_multipart_upload", "NoSuchUpload", "gone", 404)
        with pytest.raises(NotFound, match="no multipart upload 'u1'"):
            store.complete_multipart(MISSING, "u1", ['"etag"'])


def test_no_credentials_is_a_clear_error(
    s3_env: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = S3ObjectStore(s3_bucket, "objects", endpoint_url=s3_env)
    with pytest.raises(StoreError, match="no usable AWS credentials"):
        store.exists(MISSING)


def test_unreachable_endpoint_is_a_clear_error(s3_env: str) -> None:
    import boto3
    from botocore.config import Config

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    client = boto3.session.Session().client(
        "s3", endpoint_url=closed, config=Config(retries={"max_attempts": 1})
    )
    store = S3ObjectStore("bucket", "objects", client=client)
    with pytest.raises(StoreError, match="cannot reach the endpoint") as info:
        store.read_bytes(MISSING)
    assert closed in str(info.value) and "'bucket'" in str(info.value)


# -- end to end -------------------------------------------------------------------------------


def test_client_logs_and_downloads_through_s3(
    s3_env: str, s3_bucket: str, s3_raw: Any, tmp_path: Path
) -> None:
    settings = Settings(
        home=tmp_path / "md",
        tracking_uri=f"sqlite:///{tmp_path / 'md' / 'modeldeck.db'}",
        artifacts_uri=f"s3://{s3_bucket}/team",
        user="alice",
    )
    client = LocalClient(settings)
    try:
        run = client.create_run("e")
        model = tmp_path / "model.bin"
        model.write_bytes(os.urandom(100_000))
        report = make_tree(tmp_path / "report")
        client.log_artifact(run.id, model)
        client.log_artifact(run.id, report, "report")
        frame = pd.DataFrame({"age": [31, 45, 22], "plan": ["a", "b", "a"]})
        dataset = client.log_dataset(run.id, frame, name="customers")
        assert isinstance(client.tracker.objects, S3ObjectStore)
        assert all(k.startswith("team/") for k in keys(s3_raw, s3_bucket))

        back = client.download_artifact(run.id, "model.bin", tmp_path / "out" / "model.bin")
        assert back.read_bytes() == model.read_bytes()
        folder = client.download_artifact(run.id, "report", tmp_path / "out" / "report")
        assert (folder / "sub" / "deeper" / "c.txt").read_bytes() == b"gamma"
        assert os.access(folder / "run.sh", os.X_OK)
        one = client.download_artifact(run.id, "report/a.txt", tmp_path / "out" / "a.txt")
        assert one.read_bytes() == b"alpha"
        stored = pd.read_parquet(io.BytesIO(client.read_object(dataset.object_digest or "")))
        pd.testing.assert_frame_equal(stored, frame)
    finally:
        client.close()
