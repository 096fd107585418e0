"""INSERT ... ON CONFLICT for the two dialects modeldeck supports."""

from __future__ import annotations

import functools
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

    ``where`` is a module-level callable taking the ``excluded`` pseudo-table (it is part of
    the key of a statement cache, so it must not be created per call). An empty ``update`` means
    "insert if absent". Returns how many rows were inserted or updated.
    """
    if not rows:
        return 0
    stmt = _statement(conn.dialect.name, table, tuple(keys), tuple(update), where)
    if len(rows) == 1:
        return conn.execute(stmt, rows[0]).rowcount
    return conn.execute(stmt, list(rows)).rowcount


@functools.cache
def _statement(
    dialect: str, table: sa.Table, keys: tuple[str, ...], update: tuple[str, ...], where: Any
) -> Any:
    # Built once per shape: constructing a statement costs more than executing a small one.
    stmt: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    if update:
        return stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={c: stmt.excluded[c] for c in update},
            where=where(stmt.excluded) if where is not None else None,
        )
    return stmt.on_conflict_do_nothing(index_elements=list(keys))
