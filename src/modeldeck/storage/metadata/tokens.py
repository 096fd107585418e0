"""Users of a shared store and their API tokens (only hashes of secrets are stored)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.storage.db.tables import api_tokens, users


def user_row(conn: Connection, name: str) -> Any:
    return conn.execute(sa.select(users).where(users.c.name == name)).first()


def add_user(conn: Connection, name: str, actor: str, at: int) -> None:
    conn.execute(sa.insert(users).values(name=name, created_by=actor, created_at=at))


def set_disabled(conn: Connection, name: str, at: int | None) -> None:
    conn.execute(sa.update(users).where(users.c.name == name).values(disabled_at=at))


def list_users(conn: Connection) -> list[Any]:
    return list(conn.execute(sa.select(users).order_by(users.c.name)).all())


def insert_token(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(sa.insert(api_tokens).values(**values))


def token_row(conn: Connection, token_id: str) -> Any:
    return conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).first()


def tokens_of(conn: Connection, user: str | None) -> list[Any]:
    query = sa.select(api_tokens).order_by(api_tokens.c.created_at)
    if user is not None:
        query = query.where(api_tokens.c.user == user)
    return list(conn.execute(query).all())


def revoke(conn: Connection, token_id: str, at: int) -> None:
    conn.execute(sa.update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=at))


def touch(conn: Connection, token_id: str, at: int) -> None:
    conn.execute(sa.update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=at))
