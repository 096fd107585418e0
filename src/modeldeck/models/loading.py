"""From a model URI to a ready ``Predictor``.

``runs:/<run>/<path>`` is resolved here, through the run's artifacts; ``models:/…`` URIs are
resolved by the registry, which the caller passes in as ``resolve(uri) -> ModelSource``. The
package is materialised once per digest in a local cache (``<home>/cache/models/<digest>/``),
written to a temporary folder and renamed into place, so a reader never sees half a package.
Every file is verified against its digest on the way into the cache, and again when a cached
package is reused, so tampered bytes are an IntegrityError rather than a model.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeck.core.errors import IntegrityError, InvalidInput, NotFound
from modeldeck.core.hashing import sha256_file
from modeldeck.core.refs import ModelSource, RunModelRef, parse_model_uri
from modeldeck.models.flavors import get_flavor
from modeldeck.models.package import MANIFEST_FILE, parse_manifest, read_manifest
from modeldeck.models.predictor import Predictor

if TYPE_CHECKING:
    from modeldeck.storage.objects.base import ObjectStore
    from modeldeck.tracking.port import TrackingPort

__all__ = ["ModelSource", "Resolver", "load_folder", "load_model", "locate", "materialise"]

Resolver = Callable[[str], ModelSource]


def load_model(
    uri: str,
    tracker: TrackingPort,
    *,
    cache_dir: Path,
    allow_pickle: bool = False,
    resolve: Resolver | None = None,
) -> Predictor:
    """Load the model ``uri`` names. ``allow_pickle`` permits packages that run code from their
    files (joblib and pickled Python models); leave it off unless you trust their author."""
    ref = parse_model_uri(uri)
    if isinstance(ref, RunModelRef):
        source = locate(tracker, ref.run_id, ref.path)
    else:
        if resolve is None:
            raise NotFound(f"cannot resolve {uri}: the model registry is not available")
        source = resolve(str(ref))
        if not isinstance(source, ModelSource):
            raise TypeError(f"the registry resolved {uri} to {source!r}, not a ModelSource")
    return load_source(source, tracker, cache_dir=cache_dir, allow_pickle=allow_pickle)


def load_source(
    source: ModelSource, tracker: TrackingPort, *, cache_dir: Path, allow_pickle: bool = False
) -> Predictor:
    digest = source.package_digest
    if digest is None:
        assert source.run_id is not None and source.artifact_path is not None
        digest = locate(tracker, source.run_id, source.artifact_path).package_digest
        assert digest is not None
    return load_folder(materialise(tracker.objects, digest, cache_dir), allow_pickle=allow_pickle)


def load_folder(folder: str | os.PathLike[str], *, allow_pickle: bool = False) -> Predictor:
    """Load the model package in a local folder (an exported bundle's ``model/``, say).

    Nothing checks the files against a digest here: the folder is trusted as it is.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    model = get_flavor(manifest["flavor"]).load(folder, manifest, allow_pickle)
    return Predictor(model, manifest, folder)


def locate(tracker: TrackingPort, run_id: str, path: str) -> ModelSource:
    """The package a run logged under ``path``; InvalidInput if that artifact is not one."""
    return inspect_package(tracker, run_id, path)[0]


def inspect_package(
    tracker: TrackingPort, run_id: str, path: str
) -> tuple[ModelSource, dict[str, Any]]:
    """The package a run logged under ``path`` and its validated manifest (flavor, signature…).

    The registry uses this to check a ``runs:/`` URI before registering it.
    """
    artifact, inner = tracker.artifact(run_id, path)
    if inner is not None or not artifact.is_dir:
        raise InvalidInput(
            f"runs:/{run_id}/{path} is not a model package: it names a file, not a folder "
            "logged with log_model"
        )
    entry = tracker.objects.read_manifest(artifact.digest).entries.get(MANIFEST_FILE)
    if entry is None:
        raise InvalidInput(
            f"runs:/{run_id}/{path} is a folder but not a model package (it has no "
            f"{MANIFEST_FILE}); log models with log_model"
        )
    manifest = parse_manifest(
        tracker.objects.read_bytes(entry.digest), where=f"runs:/{run_id}/{path}"
    )
    source = ModelSource(run_id=run_id, artifact_path=artifact.path, package_digest=artifact.digest)
    return source, manifest


def materialise(objects: ObjectStore, digest: str, cache_dir: Path) -> Path:
    """The package folder of ``digest`` under ``cache_dir/models/``, verified, made once."""
    manifest = objects.read_manifest(digest)  # verifies the manifest object itself
    root = Path(cache_dir) / "models"
    final = root / digest
    if final.is_dir():
        if _matches(final, {rel: e.digest for rel, e in manifest.entries.items()}):
            return final
        _discard(final)  # the cache was edited; the object store is the truth
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{digest[:16]}-{secrets.token_hex(4)}"
    try:
        objects.get_dir(digest, tmp)  # raises IntegrityError on any corrupt object
        _read_only(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # not a concurrent loader winning the race
                raise
    finally:
        if tmp.exists():
            _discard(tmp)
    return final


def _matches(folder: Path, expected: dict[str, str]) -> bool:
    found = {
        path.relative_to(folder).as_posix(): path
        for path in folder.rglob("*")
        if path.is_file() or path.is_symlink()
    }
    if found.keys() != expected.keys():
        return False
    for rel, path in found.items():
        if path.is_symlink() or sha256_file(path)[0] != expected[rel]:
            return False
    return True


def _read_only(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(path.stat().st_mode & 0o555)


def _discard(folder: Path) -> None:
    try:
        for path in [folder, *folder.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o700 if path.is_dir() else 0o600)
        shutil.rmtree(folder)
    except FileNotFoundError:
        pass
    if folder.exists():
        raise IntegrityError(f"cannot replace the cached package {folder}")
