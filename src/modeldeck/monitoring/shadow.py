"""Shadow comparison: the champion's and the shadow's answers to the same live requests.

A shadow deployment logs its predictions with role ``shadow`` under the request id of the
primary answer, so the two join row by row; with the labels that arrived, each side gets the
task's metrics on exactly the same rows.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import sqlalchemy as sa

from modeldeck.monitoring.analysis import performance
from modeldeck.monitoring.references import References
from modeldeck.storage.db.engine import Database
from modeldeck.storage.db.tables import labels as L
from modeldeck.storage.db.tables import predictions as P

MAX_ROWS = 1_000_000


def compare(
    db: Database,
    references: References,
    model: str,
    *,
    since: int | None = None,
    until: int | None = None,
) -> dict[str, Any]:
    """``rows`` answered by both, ``agreement`` (share of equal predictions), and per role
    its ``version`` and metrics over the labeled rows among them."""
    S = P.alias("shadow")
    query = (
        sa.select(
            P.c.version,
            P.c.outputs,
            S.c.model.label("shadow_model"),
            S.c.version.label("shadow_version"),
            S.c.outputs.label("shadow_outputs"),
            L.c.label,
        )
        .select_from(
            P.join(S, sa.and_(S.c.request_id == P.c.request_id, S.c.row == P.c.row)).outerjoin(
                L, sa.and_(L.c.request_id == P.c.request_id, L.c.row == P.c.row)
            )
        )
        .where(P.c.model == model, P.c.role == "primary", S.c.role == "shadow")
        .order_by(P.c.time)
        .limit(MAX_ROWS)
    )
    if since is not None:
        query = query.where(P.c.time >= since)
    if until is not None:
        query = query.where(P.c.time < until)
    with db.read() as conn:
        found = conn.execute(query).all()
    if not found:
        return {"rows": 0, "agreement": None, "primary": {}, "shadow": {}}
    primary = [json.loads(r.outputs) for r in found]
    shadow = [json.loads(r.shadow_outputs) for r in found]
    labels = [None if r.label is None else json.loads(r.label) for r in found]
    agree = sum(
        p.get("prediction") == s.get("prediction") for p, s in zip(primary, shadow, strict=True)
    )
    out: dict[str, Any] = {"rows": len(found), "agreement": agree / len(found)}
    for role, outputs, versions, name in (
        ("primary", primary, [r.version for r in found], model),
        ("shadow", shadow, [r.shadow_version for r in found], found[0].shadow_model),
    ):
        version = Counter(v for v in versions if v is not None).most_common(1)
        number = version[0][0] if version else None
        task = classes = None
        if number is not None:
            reference = references.load(name, number)
            task, classes = reference.task, reference.classes
        out[role] = {
            "model": name,
            "version": number,
            **performance(task, classes, outputs, labels),
        }
    return out
