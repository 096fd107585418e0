"""The manifest object that stands for a directory, and its one canonical encoding.

A manifest is canonical JSON (sorted keys, no spaces, utf-8)::

    {"entries": {"rel/posix/path": {"digest": "…", "mode": 420, "size": 12}},
     "kind": "modeldeck.manifest", "version": 1}

so the same tree always yields the same bytes and therefore the same digest. Modes are only
0o644 or 0o755: the executable bit is the one permission worth carrying between machines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PureWindowsPath
from types import MappingProxyType
from typing import Any

from modeldeck.core.errors import InvalidInput
from modeldeck.core.hashing import is_digest

KIND = "modeldeck.manifest"
VERSION = 1
MODE_FILE = 0o644
MODE_EXEC = 0o755


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    digest: str
    size: int
    mode: int = MODE_FILE


@dataclass(frozen=True, slots=True)
class Manifest:
    """A directory: relative posix path → entry. ``entries`` is read-only."""

    entries: Mapping[str, ManifestEntry]
    total_size: int = field(init=False)

    def __post_init__(self) -> None:
        frozen = MappingProxyType(dict(sorted(self.entries.items())))
        object.__setattr__(self, "entries", frozen)
        object.__setattr__(self, "total_size", sum(e.size for e in frozen.values()))


def mode_of(st_mode: int) -> int:
    """0o755 when the owner may execute the file, else 0o644."""
    return MODE_EXEC if st_mode & 0o100 else MODE_FILE


def check_rel_path(path: str) -> str:
    """Return ``path`` if it stays inside the directory it is relative to.

    Rejects absolute paths, drive letters, backslashes, ``.``/``..``/empty segments and NUL,
    so a hand-made manifest cannot make ``get_dir`` write outside its destination.
    """
    parts = path.split("/")
    if (
        not path
        or "\\" in path
        or "\x00" in path
        or PureWindowsPath(path).drive
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise InvalidInput(f"manifest path must be relative and stay inside its folder: {path!r}")
    return path


def encode_manifest(manifest: Manifest) -> bytes:
    doc = {
        "kind": KIND,
        "version": VERSION,
        "entries": {
            path: {"digest": e.digest, "size": e.size, "mode": e.mode}
            for path, e in manifest.entries.items()
        },
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def decode_manifest(data: bytes, digest: str) -> Manifest:
    """Parse and validate a manifest; InvalidInput if object ``digest`` is not one."""
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, ValueError) as e:
        raise InvalidInput(f"object {digest} is not a manifest: {e}") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise InvalidInput(f"object {digest} is not a manifest")
    if doc.get("version") != VERSION:
        raise InvalidInput(f"manifest {digest} has unsupported version {doc.get('version')!r}")
    raw_entries = doc.get("entries")
    if not isinstance(raw_entries, dict):
        raise InvalidInput(f"manifest {digest} has no entries mapping")
    entries = {check_rel_path(p): _entry(digest, p, v) for p, v in raw_entries.items()}
    _check_no_file_as_folder(digest, entries)
    return Manifest(entries)


def _entry(digest: str, path: str, value: Any) -> ManifestEntry:
    ok = (
        isinstance(value, dict)
        and is_digest(value.get("digest"))
        and type(value.get("size")) is int
        and value["size"] >= 0
        and value.get("mode") in (MODE_FILE, MODE_EXEC)
    )
    if not ok:
        raise InvalidInput(f"manifest {digest} has a malformed entry for {path!r}: {value!r}")
    return ManifestEntry(digest=value["digest"], size=value["size"], mode=value["mode"])


def _check_no_file_as_folder(digest: str, entries: Mapping[str, ManifestEntry]) -> None:
    folders = {
        "/".join(parts[:i])
        for p in entries
        for parts in [p.split("/")]
        for i in range(1, len(parts))
    }
    clash = sorted(folders & entries.keys())
    if clash:
        raise InvalidInput(f"manifest {digest} uses {clash[0]!r} as both file and folder")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out
