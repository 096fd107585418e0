"""Rows of ``server_config``: one JSON value per setting an admin changes on a running store."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.storage.db.tables import server_config


def value(conn: Connection, key: str) -> Any:
    """The stored value of ``key``, None when it was never set."""
    text = conn.execute(sa.select(server_config.c.value).where(server_config.c.key == key)).scalar()
    return None if text is None else json.loads(text)


def put(conn: Connection, key: str, data: Any, actor: str, at: int) -> None:
    conn.execute(sa.delete(server_config).where(server_config.c.key == key))
    conn.execute(
        sa.insert(server_config).values(
            key=key, value=json.dumps(data), updated_by=actor, updated_at=at
        )
    )
