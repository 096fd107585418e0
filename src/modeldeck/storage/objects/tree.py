"""What every object store does the same way on the local side: walking a folder into a
manifest, checking where each entry of a manifest may be written back, and writing an object's
bytes to a file atomically and verified."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from modeldeck.core.errors import InvalidInput, NotFound
from modeldeck.core.hashing import copy_hashing, corrupt_object
from modeldeck.storage.objects.base import ObjectInfo
from modeldeck.storage.objects.manifest import (
    MODE_EXEC,
    Manifest,
    ManifestEntry,
    check_rel_path,
    encode_manifest,
    mode_of,
)


def store_tree(
    top: Path,
    put_file: Callable[[Path], ObjectInfo],
    put_bytes: Callable[[bytes], ObjectInfo],
) -> ObjectInfo:
    """Store every regular file under ``top``, then a manifest; return the manifest's digest.

    A symlink to a file is stored as the content of the file it points to (its mode comes from
    that file); symlinked folders are skipped, so a link cannot pull in a tree outside ``top``
    or loop. Empty folders, fifos, sockets and devices are skipped too.
    """
    top = Path(top)
    if not top.exists():
        raise NotFound(f"no such folder: {top}")
    if not top.is_dir():
        raise InvalidInput(f"{top} is not a folder; store it with put_file")
    entries: dict[str, ManifestEntry] = {}
    for dirpath, _dirnames, filenames in os.walk(top, onerror=_raise):
        for name in filenames:
            full = Path(dirpath, name)
            rel = check_rel_path(full.relative_to(top).as_posix())
            try:
                st = full.stat()
            except FileNotFoundError:
                raise InvalidInput(f"cannot store {full}: broken symlink or removed") from None
            if not stat.S_ISREG(st.st_mode):
                continue
            info = put_file(full)
            entries[rel] = ManifestEntry(info.digest, info.size, mode_of(st.st_mode))
    manifest = Manifest(entries)
    stored = put_bytes(encode_manifest(manifest))
    return ObjectInfo(stored.digest, manifest.total_size)


def tree_targets(
    digest: str, manifest: Manifest, dest: Path
) -> Iterator[tuple[str, ManifestEntry, Path, int]]:
    """(path, entry, where to write it, file mode) for each entry, refusing any that would land
    outside ``dest`` — also through a symlink already in ``dest``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    base = dest.resolve()
    for rel, entry in manifest.entries.items():
        target = dest.joinpath(*check_rel_path(rel).split("/"))
        if not target.parent.resolve().is_relative_to(base):
            raise InvalidInput(f"manifest {digest}: {rel!r} would be written outside {dest}")
        target.parent.mkdir(parents=True, exist_ok=True)
        yield rel, entry, target, 0o777 if entry.mode == MODE_EXEC else 0o666


_O_BINARY: int = getattr(os, "O_BINARY", 0)  # Windows would otherwise translate newlines


def write_verified(src: BinaryIO, digest: str, dest: Path, mode: int) -> None:
    """Copy ``src`` to ``dest`` through a temp file beside it, renamed only if the bytes hash to
    ``digest``: a corrupt object never leaves a partial or wrong file behind."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.part")
    # os.open applies the umask to mode, as any new file would have it.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            actual, _ = copy_hashing(src, out)
            if actual != digest:
                raise corrupt_object(digest, actual)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _raise(error: OSError) -> None:
    raise error
