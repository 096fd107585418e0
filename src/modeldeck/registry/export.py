"""A deployment bundle of one registered model version: a folder ``docker build`` accepts.

Layout::

    model/                   the model package, byte for byte (verified against its digest)
    requirements.txt         the package's pinned requirements plus modeldeck[server]
    Dockerfile               python slim image serving /model on port 8080
    .dockerignore
    modeldeck-bundle.json    which version this is: name, version, digest, run, flavor…

The package keeps its own folder because it carries a ``requirements.txt`` of its own, and
because its digest must keep naming exactly its files. The bundle is written to a temporary
folder beside the destination and renamed into place, so a reader never sees half of one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeck._version import __version__
from modeldeck.core.errors import InvalidInput
from modeldeck.core.refs import expand_model_ref
from modeldeck.models.package import read_manifest
from modeldeck.models.requirements import merge

if TYPE_CHECKING:
    from modeldeck.core.registry import ModelVersion
    from modeldeck.storage.objects.base import ObjectStore

__all__ = ["BUNDLE_FILE", "PACKAGE_DIR", "Bundle", "export_bundle", "registry_uri"]

BUNDLE_FILE = "modeldeck-bundle.json"
PACKAGE_DIR = "model"
FORMAT = "modeldeck.bundle"
FORMAT_VERSION = 1
PORT = 8080
DEFAULT_PYTHON = "3.11"

_DOCKERIGNORE = """\
**/__pycache__
**/*.pyc
.git
.dockerignore
"""


@dataclass(frozen=True, slots=True)
class Bundle:
    """What ``export_bundle`` wrote, and where."""

    path: Path
    metadata: dict[str, Any]
    requirements: list[str]


def registry_uri(text: str) -> str:
    """``churn@champion`` and ``churn/3`` as ``models:/…`` (a registry reference: no runs:/)."""
    uri = expand_model_ref(text)
    if not uri.startswith("models:/"):
        raise InvalidInput(f"export a registered version (NAME@ALIAS, NAME/VERSION), not {text}")
    return uri


def export_bundle(
    version: ModelVersion,
    objects: ObjectStore,
    out: str | os.PathLike[str],
    *,
    exported_by: str,
    now_ms: int | None = None,
    force: bool = False,
) -> Bundle:
    """Write the deployment bundle of ``version`` into ``out``.

    A non-empty ``out`` is refused unless ``force``, in which case it is replaced whole.
    ``now_ms`` (milliseconds since the epoch) is the ``created_at`` recorded; now by default.
    """
    dest = Path(out).absolute()
    _check_destination(dest, force)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.tmp-{secrets.token_hex(4)}"
    try:
        tmp.mkdir()
        package = tmp / PACKAGE_DIR
        objects.get_dir(version.package_digest, package)  # IntegrityError on corrupt bytes
        manifest = read_manifest(package)
        requirements = merge(manifest["requirements"], [f"modeldeck[server]=={__version__}"])
        python = _python(manifest.get("python_version"))
        created = (
            dt.datetime.now(dt.UTC)
            if now_ms is None
            else dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC)
        )
        metadata = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": version.name,
            "version": version.version,
            "uri": version.uri,
            "package_digest": version.package_digest,
            "run_id": version.run_id,
            "artifact_path": version.artifact_path,
            "flavor": manifest["flavor"],
            "signature": manifest["signature"],
            "python_version": manifest["python_version"],
            "requirements": requirements,
            "modeldeck_version": __version__,
            "created_at": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "exported_by": exported_by,
        }
        _write(tmp / "requirements.txt", "".join(f"{r}\n" for r in requirements))
        _write(tmp / "Dockerfile", dockerfile(version, python))
        _write(tmp / ".dockerignore", _DOCKERIGNORE)
        text = json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        _write(tmp / BUNDLE_FILE, text)
        _move_into_place(tmp, dest, force)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return Bundle(dest, metadata, requirements)


def dockerfile(version: ModelVersion, python: str = DEFAULT_PYTHON) -> str:
    return f"""\
# {version.uri} (package {version.package_digest[:12]}), exported by modeldeck {__version__}
ARG PYTHON_VERSION={python}
FROM python:${{PYTHON_VERSION}}-slim

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /bundle
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY {BUNDLE_FILE} ./
COPY {PACKAGE_DIR}/ /model/

RUN useradd --create-home --uid 10001 modeldeck
USER modeldeck

EXPOSE {PORT}
CMD ["modeldeck", "serve", "/model", "--host", "0.0.0.0", "--port", "{PORT}"]
"""


def _check_destination(dest: Path, force: bool) -> None:
    if not dest.exists() and not dest.is_symlink():
        return
    if not dest.is_dir() or dest.is_symlink():
        raise InvalidInput(f"cannot export into {dest}: it exists and is not a folder")
    if any(dest.iterdir()) and not force:
        raise InvalidInput(
            f"cannot export into {dest}: the folder is not empty (--force replaces it)"
        )


def _move_into_place(tmp: Path, dest: Path, force: bool) -> None:
    """Rename ``tmp`` to ``dest``; an existing ``dest`` is set aside first and removed after."""
    old = None
    if dest.exists():
        if any(dest.iterdir()) and not force:  # filled while we wrote
            raise InvalidInput(
                f"cannot export into {dest}: the folder is not empty (--force replaces it)"
            )
        old = dest.parent / f".{dest.name}.old-{secrets.token_hex(4)}"
        os.rename(dest, old)
    try:
        os.rename(tmp, dest)
    except OSError:
        if old is not None:
            os.rename(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _python(version: object) -> str:
    """``3.12`` from the package's ``3.12.4``; the default when it is older or unreadable."""
    parts = str(version).split(".")
    try:
        major, minor = int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return DEFAULT_PYTHON
    return f"{major}.{minor}" if (major, minor) >= (3, 11) else DEFAULT_PYTHON


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
