"""Roles, approvals and audit records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from modeldeck.core.errors import InvalidInput


class Role(StrEnum):
    """Ordered: each role can do what the ones before it can."""

    VIEWER = "viewer"
    CONTRIBUTOR = "contributor"
    REVIEWER = "reviewer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls(text.lower())
        except ValueError:
            raise InvalidInput(
                f"unknown role {text!r}; roles are {', '.join(r.value for r in cls)}"
            ) from None


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Approval:
    name: str
    version: int
    reviewer: str
    decision: Decision
    comment: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: int
    actor: str
    action: str
    subject: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The result of recomputing the audit chain."""

    records: int
    ok: bool
    first_bad_seq: int | None = None
    reason: str | None = None
