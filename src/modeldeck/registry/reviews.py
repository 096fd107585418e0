"""Evidence, review decisions and alias moves — the rules that guard protected aliases.

A protected alias (``champion`` unless an admin says otherwise) moves to a version only when
its latest evaluation passed every gate and a reviewer other than its author approved it with
no rejection outstanding. A refused move lists every unmet condition and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Connection

from modeldeck.core.errors import Conflict, GateFailed, PermissionDenied
from modeldeck.core.governance import Approval, Decision, Role
from modeldeck.core.registry import AliasEvent, Evaluation
from modeldeck.governance.access import effective_role, guarded_write, require
from modeldeck.registry.names import check_alias, check_version
from modeldeck.registry.service import subject
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import audit, evidence
from modeldeck.storage.metadata import registry as rows
from modeldeck.storage.objects.base import ObjectStore


class Reviews:
    def __init__(self, db: Database, objects: ObjectStore, clock: Callable[[], int]) -> None:
        self.db = db
        self.objects = objects
        self.clock = clock

    # evidence ---------------------------------------------------------------------------------

    def record_evaluation(
        self,
        name: str,
        version: int,
        *,
        result: Mapping[str, Any],
        policy: Mapping[str, Any],
        passed: bool,
        plots: Mapping[str, bytes],
        actor: str,
        dataset_digest: str | None = None,
        champion_version: int | None = None,
    ) -> Evaluation:
        number = check_version(version)
        stored_plots = {plot: self.objects.put_bytes(png).digest for plot, png in plots.items()}
        evaluation_id = uuid.uuid4().hex
        with guarded_write(
            self.db, self.clock, actor, "version.evaluate", subject(name, number)
        ) as conn:
            model = rows.model_row(conn, name)
            require(conn, model.project, actor, Role.CONTRIBUTOR, "record evaluations")
            row = rows.version_row(conn, name, number)
            now = self.clock()
            evidence.insert_evaluation(
                conn,
                {
                    "id": evaluation_id,
                    "version_id": row.id,
                    "dataset_digest": dataset_digest,
                    "policy": dict(policy),
                    "result": dict(result),
                    "plots": stored_plots,
                    "passed": passed,
                    "champion_version": champion_version,
                    "actor": actor,
                    "created_at": now,
                },
            )
            failed = [
                c.get("name")
                for c in result.get("checks", [])
                if c.get("verdict") in ("fail", "error")
            ]
            audit.append(
                conn,
                actor=actor,
                action="version.evaluate",
                subject=subject(name, number),
                at=now,
                after={
                    "evaluation": evaluation_id,
                    "passed": passed,
                    "failed_checks": failed,
                    "dataset_digest": dataset_digest,
                },
            )
            return evidence.evaluations_of(conn, name, number, row.id)[0]

    def evaluations(self, name: str, version: int) -> list[Evaluation]:
        number = check_version(version)
        with self.db.read() as conn:
            row = rows.version_row(conn, name, number)
            return evidence.evaluations_of(conn, name, number, row.id)

    # decisions --------------------------------------------------------------------------------

    def approve(self, name: str, version: int, actor: str, comment: str | None = None) -> Approval:
        return self._decide(name, version, actor, Decision.APPROVED, comment)

    def reject(self, name: str, version: int, actor: str, comment: str | None = None) -> Approval:
        return self._decide(name, version, actor, Decision.REJECTED, comment)

    def decisions(self, name: str, version: int) -> list[Approval]:
        number = check_version(version)
        with self.db.read() as conn:
            row = rows.version_row(conn, name, number)
            return evidence.decisions(conn, name, number, row.id)

    def _decide(
        self, name: str, version: int, actor: str, decision: Decision, comment: str | None
    ) -> Approval:
        number = check_version(version)
        action = "version.approve" if decision is Decision.APPROVED else "version.reject"
        with guarded_write(self.db, self.clock, actor, action, subject(name, number)) as conn:
            model = rows.model_row(conn, name)
            row = rows.version_row(conn, name, number)
            require(conn, model.project, actor, Role.REVIEWER, f"{decision.value[:-1]} versions")
            if decision is Decision.APPROVED and actor == row.created_by:
                raise PermissionDenied(
                    f"{actor} registered {name} version {number} and cannot approve it: "
                    "another reviewer must"
                )
            current = _current_decisions(conn, name, number, row.id).get(actor)
            if current is not None and current.decision is decision:
                raise Conflict(
                    f"{actor} already {decision.value} {name} version {number}; "
                    "a decision is recorded once"
                )
            now = self.clock()
            evidence.insert_decision(conn, row.id, actor, decision, comment, now)
            audit.append(
                conn,
                actor=actor,
                action=action,
                subject=subject(name, number),
                at=now,
                before={"decision": current.decision.value} if current else None,
                after={"decision": decision.value, "comment": comment},
            )
            return Approval(name, number, actor, decision, comment, now)

    # aliases ----------------------------------------------------------------------------------

    def move_alias(self, name: str, version: int, alias: str, actor: str) -> AliasEvent | None:
        """Point ``alias`` at ``version``; protected aliases need passed gates and an approval.

        Returns the recorded move, or None when the alias already points there.
        """
        check_alias(alias)
        number = check_version(version)
        with guarded_write(self.db, self.clock, actor, "alias.move", subject(name, number)) as conn:
            model = rows.model_row(conn, name, lock=True)
            require(conn, model.project, actor, Role.CONTRIBUTOR, "move aliases")
            row = rows.version_row(conn, name, number)
            previous = rows.alias_version(conn, model.id, alias)
            if previous == number:
                return None
            if alias in model.protected_aliases:
                unmet = self._blockers(conn, model.project, name, number, row)
                if unmet:
                    raise GateFailed(
                        f"cannot move {alias!r} of {name} to version {number}:\n"
                        + "\n".join(f"  - {reason}" for reason in unmet)
                    )
            after = {"version": number, "protected": alias in model.protected_aliases}
            now = self._record_move(
                conn, name, model.id, alias, (row.id, number), previous, actor, after
            )
            return AliasEvent(name, alias, number, previous, actor, now)

    def remove_alias(self, name: str, alias: str, actor: str) -> None:
        check_alias(alias)
        with guarded_write(self.db, self.clock, actor, "alias.remove", subject(name)) as conn:
            model = rows.model_row(conn, name, lock=True)
            needed = Role.ADMIN if alias in model.protected_aliases else Role.CONTRIBUTOR
            require(conn, model.project, actor, needed, f"remove the alias {alias!r}")
            previous = rows.alias_version(conn, model.id, alias)
            if previous is None:
                return
            self._record_move(conn, name, model.id, alias, None, previous, actor, None)

    def _record_move(
        self,
        conn: Connection,
        name: str,
        model_id: int,
        alias: str,
        target: tuple[int, int] | None,  # (version id, version number); None removes the alias
        previous: int | None,
        actor: str,
        after: dict[str, Any] | None,
    ) -> int:
        """Move (or remove) the alias, keep the move in its history, audit it; returns the time."""
        now = self.clock()
        rows.move_alias(
            conn,
            model_id=model_id,
            alias=alias,
            version_id=target[0] if target else None,
            version=target[1] if target else None,
            previous=previous,
            actor=actor,
            at=now,
        )
        audit.append(
            conn,
            actor=actor,
            action="alias.move" if target else "alias.remove",
            subject=f"{subject(name)}@{alias}",
            at=now,
            before={"version": previous},
            after=after,
        )
        return now

    def blockers(self, name: str, version: int) -> list[str]:
        """What stands between ``version`` and a protected alias (empty: nothing)."""
        number = check_version(version)
        with self.db.read() as conn:
            model = rows.model_row(conn, name)
            return self._blockers(
                conn, model.project, name, number, rows.version_row(conn, name, number)
            )

    def _blockers(
        self, conn: Connection, project: str, name: str, number: int, row: Any
    ) -> list[str]:
        unmet = []
        runs_of = evidence.evaluations_of(conn, name, number, row.id)
        if not runs_of:
            unmet.append(
                f"no gate evidence: run `modeldeck models evaluate {name} {number} --data FILE`"
            )
        elif not runs_of[0].passed:
            failed = ", ".join(str(c.get("name")) for c in runs_of[0].failed_checks())
            unmet.append(f"the latest evaluation failed its gates: {failed}")
        current = _current_decisions(conn, name, number, row.id)
        approvers = [
            reviewer
            for reviewer, decision in current.items()
            if decision.decision is Decision.APPROVED
            and reviewer != row.created_by
            and effective_role(conn, project, reviewer).allows(Role.REVIEWER)
        ]
        if not approvers:
            unmet.append(
                f"no approval by a reviewer other than its author ({row.created_by}): "
                f"`modeldeck models approve {name} {number}` as a reviewer"
            )
        for reviewer, decision in current.items():
            if decision.decision is Decision.REJECTED:
                why = f": {decision.comment}" if decision.comment else ""
                unmet.append(f"rejected by {reviewer}{why}")
        return unmet


def _current_decisions(
    conn: Connection, name: str, number: int, version_id: int
) -> dict[str, Approval]:
    """Each reviewer's latest decision."""
    latest: dict[str, Approval] = {}
    for decision in evidence.decisions(conn, name, number, version_id):
        latest[decision.reviewer] = decision
    return latest
