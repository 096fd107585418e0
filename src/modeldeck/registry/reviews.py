"""Evidence, review decisions and alias moves — the rules that guard protected aliases.

A protected alias (``champion`` unless an admin says otherwise) moves to a version only when
its latest *counted* evaluation ran at least one check and passed every gate, and a reviewer
other than its author approved it with no rejection outstanding. A refused move lists every
unmet condition, changes nothing and is audited (``denied:alias.move``).

Evidence counts when the server ran the evaluation (origin ``server``) or when a user other
than the version's author, with the reviewer role or above, posted it (their client ran
``models evaluate``). The author's own evidence is kept and shown, but cannot promote: an
author could post whatever numbers they like. Posted evidence must hold together — ``passed``
is computed from the checks and a body that says otherwise is refused (422, audited).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection

from modeldeck.core.errors import Conflict, GateFailed, InvalidInput, NotFound, PermissionDenied
from modeldeck.core.governance import Approval, Decision, Role
from modeldeck.core.registry import AliasEvent, Evaluation
from modeldeck.governance.access import effective_role, guarded_write, require
from modeldeck.registry.names import check_alias, check_version
from modeldeck.registry.service import subject
from modeldeck.storage.db.engine import Database
from modeldeck.storage.metadata import audit, evidence
from modeldeck.storage.metadata import registry as rows
from modeldeck.storage.objects.base import ObjectStore
from modeldeck.validation.evidence import contradictions, gate_passed

ORIGINS = ("client", "server")


class ContradictoryEvidence(InvalidInput):
    """Posted evidence whose ``passed`` or verdicts its own checks contradict (HTTP 422)."""


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
        origin: str = "client",
    ) -> Evaluation:
        """Store gate evidence; ``passed`` must be what its checks give (else InvalidInput,
        with nothing stored and the refusal audited). ``origin`` is ``server`` only for an
        evaluation the server itself ran."""
        number = check_version(version)
        if origin not in ORIGINS:
            raise InvalidInput(f"origin {origin!r} is not one of {ORIGINS}")
        problems = contradictions(result, passed)
        if problems:
            reason = "the evidence contradicts itself: " + "; ".join(problems)
            self._audit_denial(actor, "version.evaluate", subject(name, number), reason)
            raise ContradictoryEvidence(
                f"{reason}. Post what `modeldeck models evaluate` computed; the server "
                "computes passed from the checks"
            )
        passed = gate_passed(str(c.get("verdict")) for c in result.get("checks", []))
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
                    "origin": origin,
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
                    "origin": origin,
                },
            )
            return evidence.evaluations_of(conn, name, number, row.id)[0]

    def evaluations(self, name: str, version: int) -> list[Evaluation]:
        number = check_version(version)
        with self.db.read() as conn:
            row = rows.version_row(conn, name, number)
            return evidence.evaluations_of(conn, name, number, row.id)

    # decisions --------------------------------------------------------------------------------

    def approve(
        self,
        name: str,
        version: int,
        actor: str,
        comment: str | None = None,
        evaluation: str | None = None,
    ) -> Approval:
        """Approve, on the evaluation ``evaluation`` (default: the version's latest one)."""
        return self._decide(name, version, actor, Decision.APPROVED, comment, evaluation)

    def reject(
        self,
        name: str,
        version: int,
        actor: str,
        comment: str | None = None,
        evaluation: str | None = None,
    ) -> Approval:
        return self._decide(name, version, actor, Decision.REJECTED, comment, evaluation)

    def decisions(self, name: str, version: int) -> list[Approval]:
        number = check_version(version)
        with self.db.read() as conn:
            row = rows.version_row(conn, name, number)
            return evidence.decisions(conn, name, number, row.id)

    def _decide(
        self,
        name: str,
        version: int,
        actor: str,
        decision: Decision,
        comment: str | None,
        evaluation: str | None,
    ) -> Approval:
        number = check_version(version)
        action = "version.approve" if decision is Decision.APPROVED else "version.reject"
        with guarded_write(self.db, self.clock, actor, action, subject(name, number)) as conn:
            model = rows.model_row(conn, name)
            row = rows.version_row(conn, name, number)
            verb = "approve" if decision is Decision.APPROVED else "reject"
            require(conn, model.project, actor, Role.REVIEWER, f"{verb} versions")
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
            given_on = _evaluation_of(conn, name, number, row.id, evaluation)
            now = self.clock()
            evidence.insert_decision(conn, row.id, actor, decision, comment, now, given_on)
            audit.append(
                conn,
                actor=actor,
                action=action,
                subject=subject(name, number),
                at=now,
                before={"decision": current.decision.value} if current else None,
                after={"decision": decision.value, "comment": comment, "evaluation": given_on},
            )
            return Approval(name, number, actor, decision, comment, now, given_on)

    # aliases ----------------------------------------------------------------------------------

    def move_alias(self, name: str, version: int, alias: str, actor: str) -> AliasEvent | None:
        """Point ``alias`` at ``version``; protected aliases need passed gates and an approval.

        Returns the recorded move, or None when the alias already points there.
        """
        check_alias(alias)
        number = check_version(version)
        where = subject(name, number)
        with (
            self._refusals_audited(actor, "alias.move", where),
            guarded_write(self.db, self.clock, actor, "alias.move", where) as conn,
        ):
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

    def _audit_denial(self, actor: str, action: str, where: str, reason: str) -> None:
        with self.db.write() as conn:
            audit.append(
                conn,
                actor=actor,
                action=f"denied:{action}",
                subject=where,
                at=self.clock(),
                after={"reason": reason},
            )

    @contextmanager
    def _refusals_audited(self, actor: str, action: str, where: str) -> Iterator[None]:
        """A move refused by its gates is audited like one refused by a role (which
        ``guarded_write`` audits): after the rollback, in a transaction of its own."""
        try:
            yield
        except GateFailed as refused:
            self._audit_denial(actor, action, where, str(refused))
            raise

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
        counted = [e for e in runs_of if _counts(conn, project, e, row.created_by)]
        evaluate = f"`modeldeck models evaluate {name} {number} --data FILE`"
        if not runs_of:
            unmet.append(f"no gate evidence: run {evaluate}")
        elif not counted:
            unmet.append(
                f"no gate evidence that counts: the evaluations were posted by its author "
                f"({row.created_by}), whose own evidence cannot promote; a reviewer other than "
                f"the author must run {evaluate}, or the server evaluate it"
            )
        else:
            latest = counted[0]
            verdicts = [str(c.get("verdict")) for c in latest.result.get("checks", [])]
            failed = ", ".join(str(c.get("name")) for c in latest.failed_checks())
            by = f"evaluation {latest.id[:8]} by {latest.actor}"
            if failed:
                unmet.append(f"the latest counted {by} failed its gates: {failed}")
            elif not (latest.passed and gate_passed(verdicts)):
                unmet.append(
                    f"no check ran in the latest counted {by} ({len(verdicts)} checks, none "
                    "passed): a protected alias needs a policy with at least one check that ran"
                )
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


def _counts(conn: Connection, project: str, found: Evaluation, author: str) -> bool:
    """Whether evidence may promote: run by the server, or posted by a reviewer (or above)
    who is not the version's author."""
    if found.origin == "server":
        return True
    return found.actor != author and effective_role(conn, project, found.actor).allows(
        Role.REVIEWER
    )


def _evaluation_of(
    conn: Connection, name: str, number: int, version_id: int, wanted: str | None
) -> str | None:
    """The evaluation a decision is given on: ``wanted`` (one of the version's), else the
    latest one, else None."""
    found = evidence.evaluations_of(conn, name, number, version_id)
    if wanted is None:
        return found[0].id if found else None
    if not any(e.id == wanted for e in found):
        raise NotFound(f"{name} version {number} has no evaluation {wanted!r}")
    return wanted


def _current_decisions(
    conn: Connection, name: str, number: int, version_id: int
) -> dict[str, Approval]:
    """Each reviewer's latest decision."""
    latest: dict[str, Approval] = {}
    for decision in evidence.decisions(conn, name, number, version_id):
        latest[decision.reviewer] = decision
    return latest
