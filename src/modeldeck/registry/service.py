"""The registry service. Each public method is one transaction, audited in that transaction."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from modeldeck.core import validation as check
from modeldeck.core.errors import InvalidInput, NotFound, PermissionDenied
from modeldeck.core.governance import Role
from modeldeck.core.refs import RunModelRef, parse_model_uri
from modeldeck.core.registry import AliasEvent, ModelVersion, RegisteredModel
from modeldeck.governance import config
from modeldeck.governance.access import DEFAULT_PROJECT, guarded_write, require
from modeldeck.registry.names import check_alias, check_model_name, check_version
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import audit
from modeldeck.storage.metadata import registry as rows
from modeldeck.storage.metadata import roles as role_rows
from modeldeck.storage.objects.base import ObjectStore

if TYPE_CHECKING:
    from modeldeck.tracking.port import TrackingPort

DEFAULT_PROTECTED = ("champion",)


@dataclass(frozen=True, slots=True)
class PackageInfo:
    """What the registry needs to know of a logged model package."""

    package_digest: str
    run_id: str | None
    artifact_path: str | None
    flavor: str | None
    signature: Mapping[str, Any] | None
    # ``module:qualname`` a python-flavor package imports to load itself (None: no import)
    loader: str | None = None


def loader_of(manifest: Mapping[str, Any]) -> str | None:
    """The code a package would import when loaded: a python-flavor package saved with its
    class's own save/load names it ``module:qualname`` (anything else there is refused)."""
    if manifest.get("flavor") != "python":
        return None
    options = manifest.get("flavor_options") or {}
    loader = options.get("loader") if isinstance(options, Mapping) else None
    if manifest.get("serialization") != "custom" and loader is None:
        return None
    if not isinstance(loader, str) or not _LOADER.match(loader):
        raise InvalidInput(
            f"the package's loader {loader!r} is not 'module:qualname' (a class with a "
            "classmethod load)"
        )
    return loader


_LOADER = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def package_from_run(tracker: TrackingPort, source: str) -> PackageInfo:
    """The model package a run logged at ``runs:/<run id>/<path>``, checked to be one."""
    from modeldeck.models.loading import inspect_package

    ref = parse_model_uri(source)
    if not isinstance(ref, RunModelRef):
        raise InvalidInput(f"register a run's model (runs:/<run id>/<path>), not {source}")
    found, manifest = inspect_package(tracker, ref.run_id, ref.path)
    return PackageInfo(
        package_digest=found.package_digest or "",
        run_id=ref.run_id,
        artifact_path=found.artifact_path,
        flavor=manifest.get("flavor"),
        signature=manifest.get("signature"),
        loader=loader_of(manifest),
    )


def check_loader(conn: Connection, project: str, loader: str) -> None:
    """Refuse a loader the admins have not allowed (``python_loaders``), without importing it.

    Loading such a package imports its module, which runs the module's top-level code, so on
    a team store only the code an admin listed may be named. An open store (no role granted:
    everyone acts as admin there, as on a laptop) takes any loader.
    """
    if not role_rows.any_grant(conn, project):
        return
    if not config.loader_allowed(loader, config.read(conn, config.PYTHON_LOADERS)):
        raise PermissionDenied(
            f"the package's loader {loader} is not in the server's python_loaders allowlist: "
            "loading it would import (run) that code; an admin can allow it by adding it to "
            f"`modeldeck server config set python_loaders ... {loader}` (the list is replaced)"
        )


def subject(name: str, version: int | None = None) -> str:
    return f"models:/{name}" if version is None else f"models:/{name}/{version}"


class Registry:
    def __init__(self, db: Database, objects: ObjectStore, clock: Callable[[], int]) -> None:
        self.db = db
        self.objects = objects
        self.clock = clock

    # models and versions ---------------------------------------------------------------------

    def register(
        self,
        name: str,
        package: PackageInfo,
        actor: str,
        *,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        replaces: int | None = None,
        project: str = DEFAULT_PROJECT,
    ) -> ModelVersion:
        check_model_name(name)
        clean_tags = {
            check.check_key(k, "tag key"): check.stringify(v, f"tag {k!r}", 8000)
            for k, v in (tags or {}).items()
        }
        with guarded_write(self.db, self.clock, actor, "version.register", subject(name)) as conn:
            require(conn, project, actor, Role.CONTRIBUTOR, "register model versions")
            if package.loader is not None:
                check_loader(conn, project, package.loader)
            now = self.clock()
            model = self._model_for_write(conn, name, project, actor, now)
            if replaces is not None:
                rows.version_row(conn, name, check_version(replaces))
            version = rows.next_version(conn, model.id)
            version_id = rows.insert_version(
                conn,
                {
                    "model_id": model.id,
                    "version": version,
                    "run_id": package.run_id,
                    "artifact_path": package.artifact_path,
                    "package_digest": package.package_digest,
                    "flavor": package.flavor,
                    "signature": dict(package.signature) if package.signature else None,
                    "description": description,
                    "replaces_version": replaces,
                    "created_by": actor,
                    "created_at": now,
                },
            )
            if clean_tags:
                rows.set_version_tags(conn, version_id, clean_tags)
            audit.append(
                conn,
                actor=actor,
                action="version.register",
                subject=subject(name, version),
                at=now,
                after={
                    "run_id": package.run_id,
                    "package_digest": package.package_digest,
                    "replaces_version": replaces,
                    **({"loader": package.loader} if package.loader else {}),
                },
            )
            return rows.get_version(conn, name, version)

    def model(self, name: str) -> RegisteredModel:
        with self.db.read() as conn:
            return rows.get_model(conn, name)

    def models(self, name_like: str | None = None) -> list[RegisteredModel]:
        with self.db.read() as conn:
            return rows.models(conn, name_like)

    def version(self, name: str, version: int | str) -> ModelVersion:
        with self.db.read() as conn:
            return rows.get_version(conn, name, check_version(version))

    def versions(self, name: str) -> list[ModelVersion]:
        with self.db.read() as conn:
            return rows.versions(conn, name)

    def by_alias(self, name: str, alias: str) -> ModelVersion:
        with self.db.read() as conn:
            model = rows.model_row(conn, name)
            version = rows.alias_version(conn, model.id, alias)
            if version is None:
                known = rows.get_model(conn, name).aliases
                have = ", ".join(f"{a}→{v}" for a, v in known.items()) or "none"
                raise NotFound(f"model {name!r} has no alias {alias!r} (aliases: {have})")
            return rows.get_version(conn, name, version)

    def set_description(self, name: str, version: int, text: str, actor: str) -> None:
        self._edit_version(name, version, actor, "version.describe", {"description": text})

    def set_tags(self, name: str, version: int, tags: Mapping[str, Any], actor: str) -> None:
        clean = {
            check.check_key(k, "tag key"): check.stringify(v, "tag", 8000) for k, v in tags.items()
        }
        self._edit_version(name, version, actor, "version.tag", {"tags": clean})

    def set_protected_aliases(self, name: str, protected: list[str], actor: str) -> None:
        for alias in protected:
            check_alias(alias)
        with guarded_write(self.db, self.clock, actor, "model.protect", subject(name)) as conn:
            model = rows.model_row(conn, name, lock=True)
            require(conn, model.project, actor, Role.ADMIN, "change protected aliases")
            from modeldeck.storage.db.tables import registered_models as table

            conn.execute(
                table.update().where(table.c.id == model.id).values(protected_aliases=protected)
            )
            audit.append(
                conn,
                actor=actor,
                action="model.protect",
                subject=subject(name),
                at=self.clock(),
                before={"protected_aliases": list(model.protected_aliases)},
                after={"protected_aliases": list(protected)},
            )

    # aliases ---------------------------------------------------------------------------------

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        with self.db.read() as conn:
            return rows.alias_history(conn, name, alias)

    def alias_at(self, name: str, alias: str, at: int) -> int | None:
        with self.db.read() as conn:
            return rows.alias_at(conn, name, alias, at)

    # internals -------------------------------------------------------------------------------

    def _model_for_write(
        self, conn: Connection, name: str, project: str, actor: str, now: int
    ) -> Any:
        try:
            return rows.model_row(conn, name, lock=True)
        except NotFound:
            rows.create_model(
                conn,
                {
                    "name": name,
                    "project": project,
                    "protected_aliases": list(DEFAULT_PROTECTED),
                    "created_by": actor,
                    "created_at": now,
                },
            )
            audit.append(
                conn,
                actor=actor,
                action="model.create",
                subject=subject(name),
                at=now,
                after={"project": project, "protected_aliases": list(DEFAULT_PROTECTED)},
            )
            return rows.model_row(conn, name, lock=True)

    def _edit_version(
        self, name: str, version: int, actor: str, action: str, change: dict[str, Any]
    ) -> None:
        number = check_version(version)
        with guarded_write(self.db, self.clock, actor, action, subject(name, number)) as conn:
            model = rows.model_row(conn, name)
            require(conn, model.project, actor, Role.CONTRIBUTOR, "edit model versions")
            row = rows.version_row(conn, name, number)
            before: dict[str, Any] = {}
            if "description" in change:
                before["description"] = row.description
                rows.set_description(conn, row.id, change["description"])
            if "tags" in change:
                rows.set_version_tags(conn, row.id, change["tags"])
            audit.append(
                conn,
                actor=actor,
                action=action,
                subject=subject(name, number),
                at=self.clock(),
                before=before or None,
                after=change,
            )
