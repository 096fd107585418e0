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
    evaluation: str | None = None  # the id of the evidence the decision was given on


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


@dataclass(frozen=True, slots=True)
class TokenScope:
    """What a limited token may touch: its runs (log to them, read them, upload their bytes)
    and its models (register versions of them, read them). Anything else is refused. A
    retraining job gets one, never the token of whoever runs the monitor."""

    runs: tuple[str, ...] = ()
    models: tuple[str, ...] = ()

    MAX_ITEMS = 16

    def __post_init__(self) -> None:
        if not self.runs and not self.models:
            raise InvalidInput("a token scope names at least one run or one model")
        for what, items in (("runs", self.runs), ("models", self.models)):
            if len(items) > self.MAX_ITEMS:
                raise InvalidInput(f"a token scope names at most {self.MAX_ITEMS} {what}")
            for item in items:
                if not isinstance(item, str) or not item or "/" in item or len(item) > 250:
                    raise InvalidInput(f"token scope {what}: {item!r} is not a name or id")

    def to_dict(self) -> dict[str, list[str]]:
        return {"runs": list(self.runs), "models": list(self.models)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenScope:
        unknown = set(data) - {"runs", "models"}
        if unknown:
            raise InvalidInput(f"unknown token scope field(s): {', '.join(sorted(unknown))}")
        return cls(tuple(data.get("runs") or ()), tuple(data.get("models") or ()))


@dataclass(frozen=True, slots=True)
class Principal:
    """Who an authenticated request acts as: the token's user, the token, and its scope
    (None: the user's roles, everywhere)."""

    user: str
    token_id: str | None = None
    scope: TokenScope | None = None
