"""Who may do what: roles per project, checked inside the transaction of the action.

A store with no grants at all in a project is *open*: everyone acts as admin there, as on a
laptop. The first grant closes it; from then on a user without a grant is a viewer. The rule
that an author cannot approve their own version holds in both modes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

from modeldeck.core.errors import Conflict, PermissionDenied
from modeldeck.core.governance import Role
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import audit
from modeldeck.storage.metadata import roles as role_rows
from modeldeck.storage.metadata import tokens as user_rows

DEFAULT_PROJECT = "default"


def effective_role(conn: Connection, project: str, user: str) -> Role:
    """An open project (no grants yet) makes everyone admin; else the grant, or viewer."""
    role, granted = role_rows.role_and_any_grant(conn, project, user)
    if not granted:
        return Role.ADMIN
    return role or Role.VIEWER


def require(conn: Connection, project: str, user: str, needed: Role, action: str) -> Role:
    role = effective_role(conn, project, user)
    if not role.allows(needed):
        raise PermissionDenied(
            f"{user} cannot {action}: it needs the {needed.value} role in project "
            f"{project!r} and {user} is {role.value}. An admin can grant it with "
            f"`modeldeck users grant {user} {needed.value}`."
        )
    return role


class LastAdmin(Conflict):
    """The change would leave a project with grants and no enabled admin: nobody could grant
    roles, enable users or issue tokens there again without the store's files."""

    code = "LAST_ADMIN"


def enabled_admins(conn: Connection, project: str) -> list[str]:
    admins = [u for u, role in role_rows.grants(conn, project).items() if role is Role.ADMIN]
    found = []
    for name in admins:
        row = user_rows.user_row(conn, name)
        if row is None or row.disabled_at is None:  # a grant to an unknown name still counts
            found.append(name)
    return found


def keep_an_admin(conn: Connection, project: str, user: str, change: str) -> None:
    """LastAdmin if ``user`` is the only enabled admin of ``project`` (a project with grants;
    an open one has no admin to lose) and ``change`` would take that away."""
    if not role_rows.any_grant(conn, project):
        return
    if enabled_admins(conn, project) == [user]:
        raise LastAdmin(
            f"{user} is the only enabled admin of project {project!r}: {change} would leave "
            "nobody able to grant roles, enable users or issue tokens. Grant admin to someone "
            f"else first (`modeldeck users grant USER admin --project {project}`)."
        )


def keep_admins_everywhere(conn: Connection, user: str, change: str) -> None:
    """:func:`keep_an_admin` for every project ``user`` is an admin of (disabling a user)."""
    for project in role_rows.projects_of(conn, user, Role.ADMIN):
        keep_an_admin(conn, project, user, change)


@contextmanager
def denials_recorded(
    db: Database, clock: Callable[[], int], actor: str, action: str, subject: str
) -> Iterator[None]:
    """A refused action rolls its own transaction back; the refusal is audited in another."""
    try:
        yield
    except (PermissionDenied, LastAdmin) as exc:
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
        if before is Role.ADMIN and role is not Role.ADMIN:
            keep_an_admin(conn, project, user, f"making {user} {role.value}")
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
        if before is Role.ADMIN:
            keep_an_admin(conn, project, user, f"revoking {user}'s role")
        role_rows.revoke(conn, project, user)
        audit.append(
            conn,
            actor=actor,
            action="role.revoke",
            subject=subject,
            at=clock(),
            before={"role": before.value} if before else None,
        )
