"""Content-addressed object store: the bytes of artifacts, models and datasets, by sha256.

``open_object_store`` picks the backend from a URI. Remote backends are listed by name and
imported only when chosen, so their optional libraries never load otherwise.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from modeldeck.core.errors import InvalidInput
from modeldeck.storage.objects.base import ObjectInfo, ObjectStore
from modeldeck.storage.objects.local import LocalObjectStore
from modeldeck.storage.objects.manifest import Manifest, ManifestEntry

__all__ = [
    "LocalObjectStore",
    "Manifest",
    "ManifestEntry",
    "ObjectInfo",
    "ObjectStore",
    "open_object_store",
]

# scheme -> ("module:factory" taking the URI, the pip extra that brings its libraries)
BACKENDS: dict[str, tuple[str, str]] = {
    "s3": ("modeldeck.storage.objects.s3:open_store", "s3"),
}


def open_object_store(uri: str | Path) -> ObjectStore:
    """The object store at ``uri``: a folder path, a ``file://`` URI or ``s3://bucket/prefix``."""
    if isinstance(uri, Path):
        return LocalObjectStore(uri)
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    # A one-letter scheme is a Windows drive ("C:\\store"), not a URI.
    if not scheme or len(scheme) == 1:
        return LocalObjectStore(Path(uri).expanduser())
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InvalidInput(f"file:// URI must name a local path, not host {parts.netloc!r}")
        if not parts.path:
            raise InvalidInput(f"file:// URI has no path: {uri!r}")
        return LocalObjectStore(Path(url2pathname(unquote(parts.path))))
    if scheme in BACKENDS:
        return _load_backend(scheme, uri)
    supported = ", ".join(["a folder path", "file://", *(f"{s}://" for s in sorted(BACKENDS))])
    raise InvalidInput(f"unsupported object store URI {uri!r}; supported: {supported}")


def _load_backend(scheme: str, uri: str) -> ObjectStore:
    target, extra = BACKENDS[scheme]
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            raise InvalidInput(
                f"{scheme}:// object stores are not part of this modeldeck installation"
            ) from None
        raise InvalidInput(
            f"{scheme}:// object stores need the [{extra}] extra: "
            f"pip install 'modeldeck[{extra}]' (missing {e.name})"
        ) from None
    return cast(ObjectStore, getattr(module, attr)(uri))
