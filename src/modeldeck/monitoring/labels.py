"""Labels: the ground truth of logged predictions, arriving late, joined by request id.

A label is a number, text or a boolean. The same (request id, row) sent again replaces the
earlier label, so a correction is a resend. Like predictions, labels are records of what
happened, not changes of state, and are not audited.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from modeldeck.core.errors import InvalidInput
from modeldeck.monitoring.predictions import MAX_ROW, _text
from modeldeck.storage.db.engine import Database
from modeldeck.storage.db.tables import predictions as P
from modeldeck.storage.metadata import monitoring as rows

MAX_BATCH = 100_000


@dataclass(frozen=True)
class LabelsLogged:
    """``stored`` labels; ``unmatched`` of them name no logged prediction (yet)."""

    stored: int
    unmatched: int


def check_labels(
    request_ids: Sequence[Any], labels: Sequence[Any], rows_: Sequence[Any] | None = None
) -> list[tuple[str, int, Any]]:
    if isinstance(request_ids, str) or isinstance(labels, str):
        raise InvalidInput("log_labels takes a list of request ids and a list of labels")
    ids, values = list(request_ids), list(labels)
    positions = [0] * len(ids) if rows_ is None else list(rows_)
    if not len(ids) == len(values) == len(positions):
        raise InvalidInput(
            f"log_labels got {len(ids)} request ids, {len(values)} labels"
            + ("" if rows_ is None else f" and {len(positions)} rows")
            + "; give one label per request id"
        )
    if len(ids) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH:,} labels per call, got {len(ids):,}; send batches")
    out = []
    for i, (given, row, label) in enumerate(zip(ids, positions, values, strict=True)):
        request_id = _text(given, f"request id #{i}")
        if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row <= MAX_ROW:
            raise InvalidInput(f"row #{i} must be a whole number of 0 or more, got {row!r}")
        out.append((request_id, row, _label(label, i)))
    return out


def _label(value: Any, i: int) -> Any:
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        value = value.item()
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        raise InvalidInput(f"label #{i} is missing; leave out the rows that have no label yet")
    if not isinstance(value, bool | int | float | str):
        raise InvalidInput(
            f"label #{i} must be a number, text or a boolean, got {type(value).__name__}"
        )
    return value


class Labels:
    def __init__(self, db: Database, clock: Callable[[], int]) -> None:
        self.db = db
        self.clock = clock

    def log(
        self,
        request_ids: Sequence[Any],
        labels: Sequence[Any],
        actor: str,
        *,
        rows_: Sequence[int] | None = None,
    ) -> LabelsLogged:
        checked = check_labels(request_ids, labels, rows_)
        if not checked:
            return LabelsLogged(0, 0)
        now = self.clock()
        batch = [
            {
                "request_id": request_id,
                "row": row,
                "label": json.dumps(label),
                "logged_at": now,
                "logged_by": actor,
            }
            for request_id, row, label in checked
        ]
        keys = {(r, n) for r, n, _ in checked}
        with self.db.write() as conn:
            rows.upsert_labels(conn, batch)
            matched: set[tuple[str, int]] = set()
            ids = sorted({r for r, _ in keys})
            for start in range(0, len(ids), 1000):
                query = sa.select(P.c.request_id, P.c.row).where(
                    P.c.request_id.in_(ids[start : start + 1000])
                )
                matched.update((r, n) for r, n in conn.execute(query))
        return LabelsLogged(len(keys), len(keys - matched))
