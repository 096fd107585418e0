"""Evaluations (gate evidence) and review decisions on model versions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modeldeck.core.governance import Approval, Decision
from modeldeck.core.registry import Evaluation
from modeldeck.storage.db.tables import approvals, evaluations


def insert_evaluation(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(sa.insert(evaluations).values(**values))


def evaluations_of(conn: Connection, name: str, version: int, version_id: int) -> list[Evaluation]:
    """Newest first."""
    rows = conn.execute(
        sa.select(evaluations)
        .where(evaluations.c.version_id == version_id)
        .order_by(evaluations.c.created_at.desc(), evaluations.c.id)
    ).all()
    return [
        Evaluation(
            id=r.id,
            name=name,
            version=version,
            passed=r.passed,
            result=r.result,
            policy=r.policy,
            plots=r.plots,
            dataset_digest=r.dataset_digest,
            champion_version=r.champion_version,
            actor=r.actor,
            created_at=r.created_at,
            origin=r.origin,
        )
        for r in rows
    ]


def insert_decision(
    conn: Connection,
    version_id: int,
    reviewer: str,
    decision: Decision,
    comment: str | None,
    at: int,
    evaluation_id: str | None = None,
) -> None:
    conn.execute(
        sa.insert(approvals).values(
            version_id=version_id,
            reviewer=reviewer,
            decision=decision.value,
            comment=comment,
            created_at=at,
            evaluation_id=evaluation_id,
        )
    )


def decisions(conn: Connection, name: str, version: int, version_id: int) -> list[Approval]:
    """Every decision on a version, oldest first."""
    rows = conn.execute(
        sa.select(approvals)
        .where(approvals.c.version_id == version_id)
        .order_by(approvals.c.created_at, approvals.c.id)
    ).all()
    return [
        Approval(
            name,
            version,
            r.reviewer,
            Decision(r.decision),
            r.comment,
            r.created_at,
            r.evaluation_id,
        )
        for r in rows
    ]
