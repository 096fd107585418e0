"""Model cards: the sections people wrote for a version, and the card's review status.

Only human text is stored; the sections generated from lineage and evidence are rebuilt
from those facts each time a card is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.storage.db.tables import model_cards
from modeldeck.storage.metadata.upsert import upsert


@dataclass(frozen=True, slots=True)
class StoredCard:
    sections: Mapping[str, str] = field(default_factory=dict)
    status: str = "draft"
    updated_by: str | None = None
    updated_at: int | None = None


def get(conn: Connection, version_id: int) -> StoredCard | None:
    row = conn.execute(sa.select(model_cards).where(model_cards.c.version_id == version_id)).first()
    if row is None:
        return None
    return StoredCard(
        sections={str(k): str(v) for k, v in (row.sections or {}).items()},
        status=row.status,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def put(
    conn: Connection,
    version_id: int,
    *,
    sections: Mapping[str, str],
    status: str,
    actor: str,
    at: int,
) -> None:
    row = {
        "version_id": version_id,
        "sections": dict(sections),
        "status": status,
        "updated_by": actor,
        "updated_at": at,
    }
    upsert(
        conn,
        model_cards,
        [row],
        keys=("version_id",),
        update=("sections", "status", "updated_by", "updated_at"),
    )
