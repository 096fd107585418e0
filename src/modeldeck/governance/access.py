"""Who may do what: roles per project, checked inside the transaction of the action.

A store with no grants at all in a project is *open*: everyone acts as admin there, as on a
laptop. The first grant closes it; from then on a user without a grant is a viewer. The rule
that an author cannot approve their own version holds in both modes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

from modeldeck.core.errors import PermissionDenied
from modeldeck.core.governance import Role
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import audit
from modeldeck.storage.metadata import roles as role_rows

DEFAULT_PROJECT = "default"


def effective_role(conn: Connection, project: str, user: str) -> Role:
    if not role_rows.any_grant(conn, project):
        return Role.ADMIN
    return role_rows.role_of(conn, project, user) or Role.VIEWER


def require(conn: Connection, project: str, user: str, needed: Role, action: str) -> Role:
    role = effective_role(conn, project, user)
    if not role.allows(needed):
        raise PermissionDenied(
            f"{user} cannot {action}: it needs the {needed.value} role in project "
            f"{project!r} and {user} is {role.value}. An admin can grant it with "
            f"`modeldeck users grant {user} {needed.value}`."
        )
    return role


@contextmanager
def denials_recorded(
    db: Database, clock: Callable[[], int], actor: str, action: str, subject: str
) -> Iterator[None]:
    """A refused action rolls its own transaction back; the refusal is audited in another."""
    try:
        yield
    except PermissionDenied as exc:
        with db.write() as conn:
            audit.append(
                conn,
                actor=actor,
                action=f"denied:{action}",
                subject=subject,
                at=clock(),
                after={"reason": str(exc)},
            )
        raise


@contextmanager
def guarded_write(
    db: Database, clock: Callable[[], int], actor: str, action: str, subject: str
) -> Iterator[Connection]:
    """A write transaction whose PermissionDenied is audited after the rollback."""
    with denials_recorded(db, clock, actor, action, subject), db.write() as conn:
        yield conn


def grant(
    db: Database, clock: Callable[[], int], project: str, user: str, role: Role, actor: str
) -> None:
    subject = f"projects:/{project}/users/{user}"
    with guarded_write(db, clock, actor, "role.grant", subject) as conn:
        bootstrap = not role_rows.any_grant(conn, project)
        if not bootstrap:
            require(conn, project, actor, Role.ADMIN, "grant roles")
        before = role_rows.role_of(conn, project, user)
        now = clock()
        role_rows.grant(conn, project, user, role, actor, now)
        if bootstrap and user != actor:
            # the first grant closes an open project: its author keeps admin rights
            role_rows.grant(conn, project, actor, Role.ADMIN, actor, now)
            audit.append(
                conn,
                actor=actor,
                action="role.grant",
                subject=f"projects:/{project}/users/{actor}",
                at=now,
                after={"role": Role.ADMIN.value, "bootstrap": True},
            )
        audit.append(
            conn,
            actor=actor,
            action="role.grant",
            subject=subject,
            at=now,
            before={"role": before.value} if before else None,
            after={"role": role.value},
        )


def revoke(db: Database, clock: Callable[[], int], project: str, user: str, actor: str) -> None:
    subject = f"projects:/{project}/users/{user}"
    with guarded_write(db, clock, actor, "role.revoke", subject) as conn:
        require(conn, project, actor, Role.ADMIN, "revoke roles")
        before = role_rows.role_of(conn, project, user)
        role_rows.revoke(conn, project, user)
        audit.append(
            conn,
            actor=actor,
            action="role.revoke",
            subject=subject,
            at=clock(),
            before={"role": before.value} if before else None,
        )
