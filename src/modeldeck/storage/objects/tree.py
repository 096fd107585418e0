"""Folders and manifests, the same for every object store: walking a folder into a manifest,
and checking where each entry of a manifest may be written back."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from modeldeck.core.errors import InvalidInput, NotFound
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


def _raise(error: OSError) -> None:
    raise error
