"""Schemas of governance: the audit log, roles, users, API tokens and model cards.

Tokens and model cards are dataclasses of the governance services, which this layer may not
import: their schemas read any object with the right attributes (``of``) and give back the
keyword arguments of the dataclass (``to_fields``), as :mod:`modeldeck.wire.registry` does.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from modeldeck.core.governance import AuditRecord, ChainCheck, Role, TokenScope
from modeldeck.wire.base import StrictIn, conditions
from modeldeck.wire.registry import MAX_TEXT, Name

MAX_AUDIT_LIMIT = 10_000
Days = Annotated[float, Field(gt=0, le=36_500, allow_inf_nan=False)]
# as governance.tokens.check_user_name. Patterns the services check are stated here as schema
# only (json_schema_extra): their 400 says what is wrong, where a 422 would only name a regex
USER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,249}$"
UserName = Annotated[str, Field(json_schema_extra={"pattern": USER_PATTERN})]
# the names cards.CardStatus and card_sections.SECTIONS give, which
# this layer may not import; tests/wire pins them equal
CardStatus = Literal["draft", "in_review", "approved"]
CardSection = Literal[
    "model_details",
    "intended_use",
    "factors",
    "metrics",
    "evaluation_data",
    "training_data",
    "quantitative_analyses",
    "ethical_considerations",
    "caveats_and_recommendations",
]


# --- audit -------------------------------------------------------------------------------------


class AuditRecordOut(BaseModel):
    seq: int
    at: int
    actor: str
    action: str
    subject: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, r: AuditRecord) -> AuditRecordOut:
        return cls(
            seq=r.seq,
            at=r.at,
            actor=r.actor,
            action=r.action,
            subject=r.subject,
            before=None if r.before is None else dict(r.before),
            after=None if r.after is None else dict(r.after),
            prev_hash=r.prev_hash,
            hash=r.hash,
        )

    def to_entity(self) -> AuditRecord:
        return AuditRecord(**dict(self))


class AuditLog(BaseModel):
    records: list[AuditRecordOut]  # newest first


class ChainCheckOut(BaseModel):
    records: int
    ok: bool
    first_bad_seq: int | None = None
    reason: str | None = None

    @classmethod
    def of(cls, c: ChainCheck) -> ChainCheckOut:
        return cls(records=c.records, ok=c.ok, first_bad_seq=c.first_bad_seq, reason=c.reason)

    def to_entity(self) -> ChainCheck:
        return ChainCheck(self.records, self.ok, self.first_bad_seq, self.reason)


# --- roles, users and tokens -------------------------------------------------------------------


class RoleIn(StrictIn):
    # FastAPI validates parsed JSON in Python mode, where a strict enum wants a Role instance
    role: Annotated[Role, Field(strict=False)]


class Grants(BaseModel):
    project: str
    roles: dict[str, Role]  # user -> role; empty: the project is open, everyone acts as admin


class WhoAmI(BaseModel):
    user: str
    project: str
    role: Role


class UserIn(StrictIn):
    name: UserName


class DisabledIn(StrictIn):
    disabled: bool = True


class UserOut(BaseModel):
    name: str
    created_by: str
    created_at: int
    disabled_at: int | None = None

    @classmethod
    def of(cls, row: Any) -> UserOut:
        """From a row of the users table."""
        return cls(
            name=row.name,
            created_by=row.created_by,
            created_at=row.created_at,
            disabled_at=row.disabled_at,
        )


class UserList(BaseModel):
    users: list[UserOut]


RunId = Annotated[str, Field(pattern="^[0-9a-f]{32}$")]
MAX_SCOPE_ITEMS = TokenScope.MAX_ITEMS


class TokenScopeIn(StrictIn):
    """What a limited token may touch; anything else is refused with 403."""

    runs: Annotated[list[RunId], Field(max_length=MAX_SCOPE_ITEMS)] = Field(default_factory=list)
    models: Annotated[list[Name], Field(max_length=MAX_SCOPE_ITEMS)] = Field(default_factory=list)

    def to_entity(self) -> TokenScope:
        return TokenScope(tuple(self.runs), tuple(self.models))


class TokenScopeOut(BaseModel):
    runs: list[str]
    models: list[str]


class TokenIn(StrictIn):
    """A limited token (``scope``) expires within a day (governance.tokens.SCOPED_MAX_DAYS)."""

    model_config = conditions(
        {
            "if": {"required": ["scope"], "properties": {"scope": {"type": "object"}}},
            "then": {
                "required": ["expires_in_days"],
                "properties": {"expires_in_days": {"type": "number", "maximum": 1}},
            },
        }
    )

    user: Name | None = None  # None: the caller
    expires_in_days: Days | None = 90  # None: never
    description: Annotated[str | None, Field(max_length=1000)] = None
    scope: TokenScopeIn | None = None  # None: the user's roles everywhere


class TokenInfoOut(BaseModel):
    id: str
    user: str
    description: str | None = None
    created_by: str
    created_at: int
    expires_at: int | None = None
    revoked_at: int | None = None
    last_used_at: int | None = None
    scope: TokenScopeOut | None = None

    @classmethod
    def of(cls, info: Any) -> TokenInfoOut:
        """From a :class:`~modeldeck.governance.tokens.TokenInfo`."""
        scope = None if info.scope is None else TokenScopeOut(**info.scope.to_dict())
        return cls(
            id=info.id,
            user=info.user,
            description=info.description,
            created_by=info.created_by,
            created_at=info.created_at,
            expires_at=info.expires_at,
            revoked_at=info.revoked_at,
            last_used_at=info.last_used_at,
            scope=scope,
        )

    def to_fields(self) -> dict[str, Any]:
        """The arguments of :class:`~modeldeck.governance.tokens.TokenInfo`."""
        fields = dict(self)
        if self.scope is not None:
            fields["scope"] = TokenScope.from_dict(self.scope.model_dump())
        return fields


class TokenList(BaseModel):
    tokens: list[TokenInfoOut]


class IssuedTokenOut(BaseModel):
    """A new token: ``token`` is its secret, sent this once and kept nowhere."""

    info: TokenInfoOut
    token: str

    @classmethod
    def of(cls, issued: Any) -> IssuedTokenOut:
        """From a :class:`~modeldeck.governance.tokens.IssuedToken`."""
        return cls(info=TokenInfoOut.of(issued.info), token=issued.token)


# --- model cards -------------------------------------------------------------------------------


class ModelCardOut(BaseModel):
    name: str
    version: int
    sections: dict[str, str]  # key -> Markdown, in the paper's order
    status: str
    generated: dict[str, Any]
    edited: list[str] = Field(default_factory=list)
    updated_by: str | None = None
    updated_at: int | None = None

    @classmethod
    def of(cls, card: Any) -> ModelCardOut:
        """From a :class:`~modeldeck.governance.cards.ModelCard`."""
        return cls(
            name=card.name,
            version=card.version,
            sections=dict(card.sections),
            status=str(card.status),
            generated=dict(card.generated),
            edited=list(card.edited),
            updated_by=card.updated_by,
            updated_at=card.updated_at,
        )

    def to_fields(self) -> dict[str, Any]:
        """The arguments of :class:`~modeldeck.governance.cards.ModelCard`."""
        return {**dict(self), "edited": tuple(self.edited)}


class CardSectionsIn(StrictIn):
    """Human sections to write (an empty text restores the placeholder)."""

    sections: Annotated[
        dict[CardSection, Annotated[str, Field(max_length=MAX_TEXT)]],
        Field(min_length=1, max_length=20),
    ]


class CardStatusIn(StrictIn):
    status: CardStatus


class CardText(BaseModel):
    format: str  # markdown or html
    text: str


# --- server settings ---------------------------------------------------------------------------

# each setting's entries as governance.config.KEYS checks them (stripped), refused here as
# before with a 422 when they do not match; tests/wire pins them
HOST_PATTERN = r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]{1,253})(:[0-9]{1,5})?$"
_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
LOADER_PATTERN = rf"^{_DOTTED}(:{_DOTTED}|\.\*)$"
MAX_ENTRIES = 200


class HostsIn(StrictIn):
    """``webhook_hosts``: hosts (``name`` or ``name:port``) webhooks may reach on internal
    addresses."""

    values: Annotated[
        list[Annotated[str, Field(max_length=300, pattern=HOST_PATTERN)]],
        Field(max_length=MAX_ENTRIES),
    ]


class LoadersIn(StrictIn):
    """``python_loaders``: loaders python-flavor models may name (``module:qualname``, or
    ``module.*``)."""

    values: Annotated[
        list[Annotated[str, Field(max_length=300, pattern=LOADER_PATTERN)]],
        Field(max_length=MAX_ENTRIES),
    ]


class ConfigOut(BaseModel):
    """Every server setting an admin can change, with its entries."""

    settings: dict[str, list[str]]
