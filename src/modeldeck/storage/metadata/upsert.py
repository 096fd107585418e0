"""INSERT ... ON CONFLICT for the two dialects modeldeck supports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
    where: Any = None,
) -> int:
    """Insert ``rows``; on a key collision, copy the ``update`` columns if ``where`` holds.

    ``where`` is a callable taking the ``excluded`` pseudo-table. An empty ``update`` means
    "insert if absent". Returns how many rows were inserted or updated.
    """
    if not rows:
        return 0
    stmt: Any
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={c: stmt.excluded[c] for c in update},
            where=where(stmt.excluded) if where is not None else None,
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    if len(rows) == 1:
        return conn.execute(stmt, rows[0]).rowcount
    return conn.execute(stmt, list(rows)).rowcount
