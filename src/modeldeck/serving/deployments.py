"""Deployment records: which process serves which versions, started by whom, still alive.

Each public method is one transaction; the state changes (start, version swap, stop) are
audited in it. Heartbeats are not: they say nothing new but "still here". As with runs, the
contributor role is checked by the server's routes. A record belongs to whoever started it:
only they (or an admin) beat, swap or stop it, checked inside the write transaction; a refusal
is rolled back and audited (``denied:deployment.*``) in a transaction of its own. A stopped
deployment's record is final: it swaps no more and a late heartbeat changes nothing.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection

from modeldeck.core import validation as check
from modeldeck.core.deployment import ROLES, Deployment
from modeldeck.core.errors import Conflict, InvalidInput, PermissionDenied
from modeldeck.core.governance import Role
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import audit
from modeldeck.storage.metadata import deployments as rows
from modeldeck.storage.metadata import roles as role_rows

MAX_VERSION = 2**31 - 1
MAX_WORKERS = 1024
MAX_REFERENCE = 1000
PROJECT = "default"  # deployments are not per project yet (governance.access.DEFAULT_PROJECT)


def subject(deployment_id: str) -> str:
    return f"deployments:/{deployment_id}"


def check_role(role: object) -> str:
    if role not in ROLES:
        raise InvalidInput(f"unknown deployment role {role!r}; use one of {', '.join(ROLES)}")
    assert isinstance(role, str)
    return role


def check_version(version: object, what: str = "version") -> int | None:
    """A served version: a positive whole number, or None when nothing is resolved yet."""
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise InvalidInput(f"{what} must be a positive whole number or None, got {version!r}")
    return version


def check_start(
    *,
    model: object,
    reference: object,
    version: object,
    host: object,
    port: object,
    workers: object,
    canary_reference: object = None,
    canary_version: object = None,
    canary_share: object = 0.0,
    shadow_reference: object = None,
    shadow_version: object = None,
) -> dict[str, Any]:
    """The checked fields of a new deployment (the same messages on every backend)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidInput(f"port must be a whole number from 0 to 65535, got {port!r}")
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise InvalidInput(f"workers must be a whole number, got {workers!r}")
    if not 1 <= workers <= MAX_WORKERS:
        raise InvalidInput(f"workers must be from 1 to {MAX_WORKERS}, got {workers}")
    if (
        isinstance(canary_share, bool)
        or not isinstance(canary_share, int | float)
        or not math.isfinite(canary_share)
        or not 0.0 <= canary_share <= 1.0
    ):
        raise InvalidInput(
            f"canary_share is a fraction from 0 to 1 (0.1 for 10%), got {canary_share!r}"
        )
    canary = _reference(canary_reference, "canary_reference")
    if canary_share > 0 and canary is None:
        raise InvalidInput("a canary_share above 0 needs a canary_reference to send traffic to")
    return {
        "model": check.check_name(model, "model"),
        "reference": _reference(reference, "reference", required=True),
        "version": check_version(version),
        "host": check.check_name(host, "host", 255),
        "port": port,
        "workers": workers,
        "canary_reference": canary,
        "canary_version": check_version(canary_version, "canary_version"),
        "canary_share": float(canary_share),
        "shadow_reference": _reference(shadow_reference, "shadow_reference"),
        "shadow_version": check_version(shadow_version, "shadow_version"),
    }


def check_id(deployment_id: object) -> str:
    if not isinstance(deployment_id, str) or not deployment_id:
        raise InvalidInput(f"a deployment id is a non-empty string, got {deployment_id!r}")
    return deployment_id


class Deployments:
    def __init__(self, db: Database, clock: Callable[[], int]) -> None:
        self.db = db
        self.clock = clock

    def start(self, actor: str, **fields: Any) -> Deployment:
        """A new deployment of ``fields`` (see :func:`check_start`), started by ``actor``."""
        values = check_start(**fields)
        deployment_id = uuid.uuid4().hex
        where = subject(deployment_id)
        with self.db.write() as conn:
            now = self.clock()
            record = {
                **values,
                "id": deployment_id,
                "started_by": actor,
                "started_at": now,
                "last_seen": now,
            }
            rows.insert(conn, record)
            audit.append(
                conn, actor=actor, action="deployment.start", subject=where, at=now, after=values
            )
            return rows.get(conn, deployment_id)

    def heartbeat(self, deployment_id: str, actor: str) -> None:
        """``last_seen`` = now (not audited: it changes nothing but the liveness); a stopped
        deployment's record stays as it is."""
        check_id(deployment_id)
        with self._write(actor, "deployment.heartbeat", deployment_id) as conn:
            if rows.update_own(conn, deployment_id, {"last_seen": self.clock()}, actor):
                return  # the common case: one statement
            found = self._owned(conn, deployment_id, actor, "beat for")
            if found.stopped_at is None:
                rows.update(conn, deployment_id, {"last_seen": self.clock()})

    def set_version(self, deployment_id: str, role: str, version: int | None, actor: str) -> bool:
        """Point ``role`` at ``version``; True (and one audit record) only if it moved.

        Every worker of a deployment sees the alias move and calls this: the row is read and
        written in one transaction (locked on PostgreSQL; SQLite serialises writers), so
        exactly one call finds the old version and the others find nothing to do.
        """
        check_id(deployment_id)
        column = rows.VERSION_COLUMNS[check_role(role)]
        new = check_version(version)
        where = subject(deployment_id)
        with self._write(actor, "deployment.swap", deployment_id) as conn:
            found = self._owned(conn, deployment_id, actor, "change the versions of")
            old = getattr(found, column)
            if old == new:
                return False
            if found.stopped_at is not None:
                raise Conflict(
                    f"deployment {deployment_id} is stopped: its record is final "
                    "(a new `modeldeck serve` starts a new deployment)"
                )
            now = self.clock()
            rows.update(conn, deployment_id, {column: new, "last_seen": now})
            audit.append(
                conn,
                actor=actor,
                action="deployment.swap",
                subject=where,
                at=now,
                before={"role": role, "version": old},
                after={"role": role, "version": new},
            )
            return True

    def stop(self, deployment_id: str, actor: str) -> None:
        """Mark it stopped (audited); stopping a stopped deployment changes nothing."""
        check_id(deployment_id)
        where = subject(deployment_id)
        with self._write(actor, "deployment.stop", deployment_id) as conn:
            found = self._owned(conn, deployment_id, actor, "stop")
            if found.stopped_at is not None:
                return
            now = self.clock()
            rows.update(conn, deployment_id, {"stopped_at": now})
            audit.append(
                conn,
                actor=actor,
                action="deployment.stop",
                subject=where,
                at=now,
                before={"last_seen": found.last_seen},
                after={"stopped_at": now},
            )

    def check_owner(self, deployment_ids: set[str], actor: str) -> None:
        """PermissionDenied (audited as ``denied:predictions.log``) unless ``actor`` started
        every deployment of ``deployment_ids`` or is an admin: predictions are logged for a
        deployment by the process that serves it, so no one else can forge its traffic."""
        if not deployment_ids:
            return
        first = sorted(deployment_ids)[0]
        with self._write(actor, "predictions.log", first, read_only=True) as conn:
            for deployment_id in sorted(deployment_ids):
                self._owned(conn, deployment_id, actor, "log predictions for", lock=False)

    @contextmanager
    def _write(
        self, actor: str, action: str, deployment_id: str, *, read_only: bool = False
    ) -> Iterator[Connection]:
        """A transaction whose PermissionDenied is audited after its rollback."""
        try:
            with self.db.read() if read_only else self.db.write() as conn:
                yield conn
        except PermissionDenied as exc:
            with self.db.write() as conn:
                audit.append(
                    conn,
                    actor=actor,
                    action=f"denied:{action}",
                    subject=subject(deployment_id),
                    at=self.clock(),
                    after={"reason": str(exc)},
                )
            raise

    def _owned(
        self, conn: Connection, deployment_id: str, actor: str, what: str, *, lock: bool = True
    ) -> Any:
        """The row (locked for the write that follows, unless ``lock`` is False: a check only)
        if ``actor`` started it or is an admin; PermissionDenied else."""
        found = rows.row(conn, deployment_id, lock=lock)
        if found.started_by != actor and not _is_admin(conn, actor):
            raise PermissionDenied(
                f"{actor} cannot {what} deployment {deployment_id}: {found.started_by} started "
                "it, and only they or an admin may change its record"
            )
        return found

    def get(self, deployment_id: str) -> Deployment:
        check_id(deployment_id)
        with self.db.read() as conn:
            return rows.get(conn, deployment_id)

    def search(
        self, *, include_stopped: bool = False, model: str | None = None
    ) -> list[Deployment]:
        """Newest first; stopped ones only with ``include_stopped``."""
        with self.db.read() as conn:
            return rows.search(conn, include_stopped=include_stopped, model=model)


def _is_admin(conn: Connection, user: str) -> bool:
    """As ``governance.access.effective_role`` (which this layer may not import): a store with
    no grants is open, everyone acts as admin there."""
    if not role_rows.any_grant(conn, PROJECT):
        return True
    return role_rows.role_of(conn, PROJECT, user) is Role.ADMIN


def _reference(value: object, what: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    return check.check_name(value, what, MAX_REFERENCE)
