"""Role grants per project."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.governance import Role
from modeldeck.storage.db.tables import role_grants
from modeldeck.storage.metadata.upsert import upsert


def role_of(conn: Connection, project: str, user: str) -> Role | None:
    role = conn.execute(
        sa.select(role_grants.c.role).where(
            role_grants.c.project == project, role_grants.c.user == user
        )
    ).scalar()
    return None if role is None else Role(role)


def role_and_any_grant(conn: Connection, project: str, user: str) -> tuple[Role | None, bool]:
    """``user``'s role in ``project`` and whether the project has any grant: one round trip,
    for the check that runs inside every guarded write."""
    in_project = role_grants.c.project == project
    mine = sa.select(role_grants.c.role).where(in_project, role_grants.c.user == user)
    anyone = sa.select(role_grants.c.user).where(in_project).limit(1)
    row = conn.execute(sa.select(mine.scalar_subquery(), sa.exists(anyone))).one()
    return (None if row[0] is None else Role(row[0])), bool(row[1])


def any_grant(conn: Connection, project: str) -> bool:
    query = sa.select(role_grants.c.user).where(role_grants.c.project == project).limit(1)
    return conn.execute(query).first() is not None


def grant(conn: Connection, project: str, user: str, role: Role, actor: str, at: int) -> None:
    row = {
        "project": project,
        "user": user,
        "role": role.value,
        "granted_by": actor,
        "granted_at": at,
    }
    upsert(
        conn,
        role_grants,
        [row],
        keys=("project", "user"),
        update=("role", "granted_by", "granted_at"),
    )


def revoke(conn: Connection, project: str, user: str) -> None:
    conn.execute(
        sa.delete(role_grants).where(role_grants.c.project == project, role_grants.c.user == user)
    )


def grants(conn: Connection, project: str) -> dict[str, Role]:
    rows = conn.execute(
        sa.select(role_grants.c.user, role_grants.c.role)
        .where(role_grants.c.project == project)
        .order_by(role_grants.c.user)
    )
    return {user: Role(role) for user, role in rows}


def projects_of(conn: Connection, user: str, role: Role) -> list[str]:
    rows = conn.execute(
        sa.select(role_grants.c.project).where(
            role_grants.c.user == user, role_grants.c.role == role.value
        )
    )
    return [project for (project,) in rows]
