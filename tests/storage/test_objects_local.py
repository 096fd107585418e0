"""The local content-addressed object store, on real files."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import threading
import tracemalloc
from pathlib import Path

import pytest

from modeldeck.core.errors import IntegrityError, InvalidInput, NotFound
from modeldeck.core.hashing import HashingReader, is_digest, sha256_bytes, sha256_file
from modeldeck.storage.objects import (
    LocalObjectStore,
    Manifest,
    ManifestEntry,
    ObjectStore,
    open_object_store,
)
from modeldeck.storage.objects.manifest import encode_manifest

MISSING = "0" * 64


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


def object_files(store: LocalObjectStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file() and p.parent.name != "tmp")


def leftovers(store: LocalObjectStore) -> list[Path]:
    tmp = store.root / "tmp"
    return list(tmp.iterdir()) if tmp.exists() else []


def corrupt(store: LocalObjectStore, digest: str) -> None:
    path = store.root / digest[:2] / digest[2:]
    path.chmod(0o644)
    with path.open("r+b") as f:
        first = f.read(1)
        f.seek(0)
        f.write(bytes([first[0] ^ 0xFF]))


def make_tree(root: Path, order: list[str]) -> Path:
    files = {
        "a.txt": b"alpha",
        "sub/b.bin": b"\x00\x01beta",
        "sub/deeper/c.txt": b"gamma",
        "run.sh": b"#!/bin/sh\necho hi\n",
    }
    for rel in order:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[rel])
    (root / "run.sh").chmod(0o755)
    return root


# -- writing ----------------------------------------------------------------------------------


def test_digest_is_plain_sha256_and_layout_fans_out(store: LocalObjectStore) -> None:
    data = b"hello modeldeck"
    info = store.put_bytes(data)
    assert info.digest == hashlib.sha256(data).hexdigest()
    assert info.size == len(data)
    assert (store.root / info.digest[:2] / info.digest[2:]).read_bytes() == data
    assert isinstance(store, ObjectStore)


def test_same_bytes_are_stored_once(store: LocalObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(b"x" * 1000)
    a = store.put_file(src)
    b = store.put_bytes(b"x" * 1000)
    c = store.put_stream(io.BytesIO(b"x" * 1000))
    d = store.put_file(src)
    assert a == b == c == d
    assert len(object_files(store)) == 1
    assert leftovers(store) == []
    assert list(store.iter_digests()) == [a.digest]


def test_object_is_read_only_and_never_rewritten(store: LocalObjectStore) -> None:
    info = store.put_bytes(b"immutable")
    path = store.root / info.digest[:2] / info.digest[2:]
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    inode = path.stat().st_ino
    store.put_stream(io.BytesIO(b"immutable"))
    assert path.stat().st_ino == inode


def test_empty_object(store: LocalObjectStore) -> None:
    info = store.put_bytes(b"")
    assert info.digest == hashlib.sha256(b"").hexdigest()
    assert store.read_bytes(info.digest) == b""
    assert store.size(info.digest) == 0


def test_constructor_does_no_io(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "not-yet")
    assert not store.exists(MISSING)
    assert list(store.iter_digests()) == []
    assert not (tmp_path / "not-yet").exists()
    store.put_bytes(b"now")
    assert (tmp_path / "not-yet" / "tmp").is_dir()


def test_put_file_errors(store: LocalObjectStore, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        store.put_file(tmp_path / "nope")
    with pytest.raises(InvalidInput):
        store.put_file(tmp_path)


def test_concurrent_puts_of_the_same_content(store: LocalObjectStore) -> None:
    data = os.urandom(3 * (1 << 20) + 17)
    barrier = threading.Barrier(4)
    results: list[str] = []
    errors: list[BaseException] = []

    def put() -> None:
        try:
            barrier.wait()
            results.append(store.put_stream(io.BytesIO(data)).digest)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=put) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [sha256_bytes(data)] * 4
    assert len(object_files(store)) == 1
    assert leftovers(store) == []
    assert store.read_bytes(results[0]) == data


# -- reading ----------------------------------------------------------------------------------


def test_reads_round_trip(store: LocalObjectStore, tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 5)
    info = store.put_bytes(data)
    assert store.exists(info.digest)
    assert store.size(info.digest) == len(data)
    assert store.read_bytes(info.digest) == data
    with store.open(info.digest) as f:
        assert f.read(10) == data[:10]
        assert f.read() == data[10:]
    dest = store.get_file(info.digest, tmp_path / "out" / "copy.bin")
    assert dest.read_bytes() == data
    assert stat.S_IMODE(dest.stat().st_mode) & 0o200  # the copy is the caller's to edit


def test_tampered_object_is_detected(store: LocalObjectStore, tmp_path: Path) -> None:
    digest = store.put_bytes(b"precious weights" * 1000).digest
    corrupt(store, digest)
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


def test_get_file_on_corrupt_object_keeps_existing_dest(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    digest = store.put_bytes(b"new").digest
    corrupt(store, digest)
    dest = tmp_path / "keep.txt"
    dest.write_bytes(b"old")
    with pytest.raises(IntegrityError):
        store.get_file(digest, dest)
    assert dest.read_bytes() == b"old"
    assert list(tmp_path.glob(".keep.txt.*")) == []


def test_hashing_reader_only_judges_what_it_read() -> None:
    data = b"abc" * 10
    reader = HashingReader(io.BytesIO(data), expected=sha256_bytes(b"other"))
    assert reader.read(3) == b"abc"  # no verdict before the end
    with pytest.raises(IntegrityError):
        reader.read()


def test_delete_and_iter_digests(store: LocalObjectStore) -> None:
    digests = {store.put_bytes(bytes([i])).digest for i in range(5)}
    (store.root / "tmp" / "stray").write_bytes(b"ignored")
    assert set(store.iter_digests()) == digests
    victim = digests.pop()
    store.delete(victim)
    assert not store.exists(victim)
    assert set(store.iter_digests()) == digests
    with pytest.raises(NotFound, match=victim):
        store.delete(victim)


# -- bad digests ------------------------------------------------------------------------------

CALLS = {
    "size": lambda s, d, p: s.size(d),
    "open": lambda s, d, p: s.open(d),
    "read_bytes": lambda s, d, p: s.read_bytes(d),
    "get_file": lambda s, d, p: s.get_file(d, p / "f"),
    "read_manifest": lambda s, d, p: s.read_manifest(d),
    "get_dir": lambda s, d, p: s.get_dir(d, p / "d"),
    "delete": lambda s, d, p: s.delete(d),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_missing_digest_is_not_found(store: LocalObjectStore, tmp_path: Path, call: str) -> None:
    store.put_bytes(b"something")
    with pytest.raises(NotFound, match=MISSING):
        CALLS[call](store, MISSING, tmp_path)
    assert not (tmp_path / "f").exists()


@pytest.mark.parametrize("call", [*sorted(CALLS), "exists"])
@pytest.mark.parametrize("bad", ["A" * 64, "a" * 63, "g" * 64, "a" * 64 + "\n", "../" + "a" * 61])
def test_malformed_digest_is_invalid(
    store: LocalObjectStore, tmp_path: Path, call: str, bad: str
) -> None:
    calls = {**CALLS, "exists": lambda s, d, p: s.exists(d)}
    with pytest.raises(InvalidInput):
        calls[call](store, bad, tmp_path)


# -- directories ------------------------------------------------------------------------------


def test_dir_round_trip_keeps_content_and_exec_bit(store: LocalObjectStore, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", ["a.txt", "sub/b.bin", "sub/deeper/c.txt", "run.sh"])
    (src / "empty").mkdir()
    info = store.put_dir(src)
    manifest = store.read_manifest(info.digest)
    assert sorted(manifest.entries) == ["a.txt", "run.sh", "sub/b.bin", "sub/deeper/c.txt"]
    assert manifest.entries["run.sh"].mode == 0o755
    assert manifest.entries["a.txt"] == ManifestEntry(sha256_bytes(b"alpha"), 5, 0o644)
    assert info.size == manifest.total_size == 5 + 6 + 5 + 18

    out = store.get_dir(info.digest, tmp_path / "out")
    for rel in manifest.entries:
        assert (out / rel).read_bytes() == (src / rel).read_bytes()
    assert os.access(out / "run.sh", os.X_OK)
    assert stat.S_IMODE((out / "run.sh").stat().st_mode) & 0o100
    assert not stat.S_IMODE((out / "a.txt").stat().st_mode) & 0o111


def test_manifest_is_canonical(store: LocalObjectStore, tmp_path: Path) -> None:
    names = ["a.txt", "sub/b.bin", "sub/deeper/c.txt", "run.sh"]
    one = store.put_dir(make_tree(tmp_path / "one", names))
    two = store.put_dir(make_tree(tmp_path / "two", names[::-1]))
    assert one == two
    raw = store.read_bytes(one.digest)
    doc = json.loads(raw)
    assert raw == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert doc["kind"] == "modeldeck.manifest" and doc["version"] == 1
    assert doc["entries"]["run.sh"]["mode"] == 0o755


def test_symlinked_files_are_stored_as_content_and_folders_skipped(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"outside")
    src = tmp_path / "src"
    src.mkdir()
    (src / "real.txt").write_bytes(b"real")
    (src / "link.txt").symlink_to(src / "real.txt")
    (src / "linked-dir").symlink_to(outside, target_is_directory=True)
    manifest = store.read_manifest(store.put_dir(src).digest)
    assert sorted(manifest.entries) == ["link.txt", "real.txt"]
    assert manifest.entries["link.txt"].digest == sha256_bytes(b"real")


def _forged(store: LocalObjectStore, path: str) -> str:
    digest = store.put_bytes(b"evil").digest
    entries = {"ok.txt": ManifestEntry(digest, 4), path: ManifestEntry(digest, 4)}
    return store.put_bytes(encode_manifest(Manifest(entries))).digest


@pytest.mark.parametrize("path", ["../evil", "a/../../evil", "/tmp/evil", "a//b", "./x", "a\\b"])
def test_manifest_escaping_dest_is_rejected(
    store: LocalObjectStore, tmp_path: Path, path: str
) -> None:
    forged = _forged(store, path)
    with pytest.raises(InvalidInput):
        store.read_manifest(forged)
    with pytest.raises(InvalidInput):
        store.get_dir(forged, tmp_path / "dest" / "inner")
    assert not (tmp_path / "dest" / "evil").exists()
    assert not (tmp_path / "dest" / "inner" / "ok.txt").exists()


def test_get_dir_does_not_follow_symlinks_out_of_dest(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    forged = _forged(store, "escape/evil")
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "escape").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidInput, match="outside"):
        store.get_dir(forged, dest)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    "doc",
    [
        b"not json",
        b'{"kind":"other","version":1,"entries":{}}',
        b'{"kind":"modeldeck.manifest","version":2,"entries":{}}',
        b'{"entries":{"a":{"digest":"x","mode":420,"size":1}},"kind":"modeldeck.manifest",'
        b'"version":1}',
        b'{"entries":{"a":{"digest":"' + b"a" * 64 + b'","mode":511,"size":1}},'
        b'"kind":"modeldeck.manifest","version":1}',
    ],
)
def test_non_manifests_are_rejected(store: LocalObjectStore, doc: bytes) -> None:
    with pytest.raises(InvalidInput):
        store.read_manifest(store.put_bytes(doc).digest)


def test_manifest_with_file_used_as_folder_is_rejected(store: LocalObjectStore) -> None:
    d = store.put_bytes(b"x").digest
    bad = Manifest({"a": ManifestEntry(d, 1), "a/b": ManifestEntry(d, 1)})
    with pytest.raises(InvalidInput, match="both file and folder"):
        store.read_manifest(store.put_bytes(encode_manifest(bad)).digest)


# -- memory -----------------------------------------------------------------------------------


def test_large_files_stream_in_bounded_memory(store: LocalObjectStore, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    block = os.urandom(1 << 20)
    with big.open("wb") as f:
        for i in range(64):
            f.write(block[i:] + block[:i])
    del block
    tracemalloc.start()
    try:
        info = store.put_file(big)
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        out = store.get_file(info.digest, tmp_path / "back.bin")
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == 64 << 20
    assert put_peak < 8 << 20, put_peak
    assert get_peak < 8 << 20, get_peak
    assert sha256_file(out) == (info.digest, info.size)


# -- helpers and URIs -------------------------------------------------------------------------


def test_hashing_helpers(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc" * 1000)
    assert sha256_file(path, chunk=7) == (hashlib.sha256(b"abc" * 1000).hexdigest(), 3000)
    assert is_digest(sha256_bytes(b""))
    assert not is_digest("A" * 64)
    assert not is_digest("a" * 64 + "\n")
    assert not is_digest(None)


def test_open_object_store_schemes(tmp_path: Path) -> None:
    for uri in (tmp_path, str(tmp_path), tmp_path.as_uri()):
        store = open_object_store(uri)
        assert isinstance(store, LocalObjectStore)
        assert store.root == tmp_path
    with pytest.raises(InvalidInput, match="file://"):
        open_object_store("gs://bucket/prefix")
    with pytest.raises(InvalidInput):
        open_object_store("file://otherhost/x")
