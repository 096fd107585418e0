"""``/api/v1``: model cards, the audit log, roles, users and API tokens.

The governance services check roles inside their transactions with the token's owner as the
actor. What they leave to their callers is checked here, before they run, and refusals are
audited like theirs: other users' tokens and the user list are for admins; a non-admin reads
the audit trail of models (what every reader sees through the registry anyway), not that of
users, tokens and roles; a viewer cannot give themselves a token, and a project without grants
is opened by an admin of "default" only, so a viewer cannot make themselves admin of one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import Response

from modeldeck.core.errors import Conflict
from modeldeck.core.governance import Role
from modeldeck.governance import access, auditing, cards, config, tokens
from modeldeck.governance.access import DEFAULT_PROJECT, denials_recorded, require
from modeldeck.server.auth import Reader
from modeldeck.server.replay import IdempotencyKey, once
from modeldeck.server.state import Services, services
from modeldeck.storage.metadata import roles as role_rows
from modeldeck.storage.metadata import tokens as token_rows
from modeldeck.wire import governance as wire
from modeldeck.wire.registry import MAX_VERSION

router = APIRouter(prefix="/api/v1", tags=["governance"])
Svc = Annotated[Services, Depends(services)]
VersionParam = Annotated[int, PathParam(ge=1, le=MAX_VERSION)]
ProjectParam = Annotated[str, PathParam(min_length=1, max_length=250)]
UserParam = Annotated[str, PathParam(min_length=1, max_length=250)]
CARD = "/models/{name}/versions/{version}/card"
MODELS = "models:"  # as an audit subject: every record under models:/


SELF_SERVICE_DAYS = 90  # the longest token a non-admin may give themselves


def require_role(
    svc: Services,
    user: str,
    role: Role,
    action: str,
    subject: str,
    *,
    project: str = DEFAULT_PROJECT,
) -> None:
    """PermissionDenied, audited as ``denied:<action>``, unless ``user`` holds ``role``."""
    with denials_recorded(svc.db, svc.clock, user, action, subject), svc.db.read() as conn:
        require(conn, project, user, role, action.replace(".", " "))


def is_admin(svc: Services, user: str) -> bool:
    return tokens.role_of(svc.db, user).allows(Role.ADMIN)


# --- model cards -------------------------------------------------------------------------------


@router.get(CARD)
def model_card(name: str, version: VersionParam, user: Reader, svc: Svc) -> wire.ModelCardOut:
    """Generated sections rebuilt from today's records, and the ones people wrote."""
    return wire.ModelCardOut.of(cards.generate(svc.db, name, version))


@router.put(f"{CARD}/sections", response_model=wire.ModelCardOut)
def edit_model_card(
    name: str,
    version: VersionParam,
    body: wire.CardSectionsIn,
    user: Reader,
    svc: Svc,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Write human sections (contributors); a change sends the card back to draft."""

    def write() -> wire.ModelCardOut:
        sections: dict[str, str] = {key: text for key, text in body.sections.items()}
        card = cards.edit(svc.db, svc.clock, name, version, sections, user)
        return wire.ModelCardOut.of(card)

    return once(svc, user, idempotency_key, [name, version, body], write)


@router.put(f"{CARD}/status", response_model=wire.ModelCardOut)
def set_model_card_status(
    name: str,
    version: VersionParam,
    body: wire.CardStatusIn,
    user: Reader,
    svc: Svc,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """draft → in_review → approved (a reviewer other than the author), or back to draft."""

    def write() -> wire.ModelCardOut:
        card = cards.set_status(svc.db, svc.clock, name, version, body.status, user)
        return wire.ModelCardOut.of(card)

    return once(svc, user, idempotency_key, [name, version, body], write)


@router.get(f"{CARD}/render")
def render_model_card(
    name: str,
    version: VersionParam,
    user: Reader,
    svc: Svc,
    format: Literal["markdown", "md", "html"] = "markdown",
) -> wire.CardText:
    """The card as Markdown or a self-contained HTML page, inside JSON (never served as a
    page from the API's origin)."""
    kind = format
    card = cards.generate(svc.db, name, version)
    text = cards.render_html(card) if kind == "html" else cards.render_markdown(card)
    return wire.CardText(format="html" if kind == "html" else "markdown", text=text)


# --- audit -------------------------------------------------------------------------------------


@router.get("/audit")
def audit_log(
    user: Reader,
    svc: Svc,
    subject: Annotated[str | None, Query(max_length=1000)] = None,
    actor: Annotated[str | None, Query(max_length=250)] = None,
    action: Annotated[str | None, Query(max_length=250)] = None,
    limit: Annotated[int, Query(ge=1, le=wire.MAX_AUDIT_LIMIT)] = 100,
) -> wire.AuditLog:
    """Newest first. ``subject`` covers what is under it (``models:/churn``: its versions and
    aliases). Admins read every record; others the records about models."""
    if not is_admin(svc, user):
        if subject is None:
            subject = MODELS
        elif subject != MODELS and not subject.startswith(MODELS + "/"):
            require_role(svc, user, Role.ADMIN, "audit.read", subject)
    found = auditing.log(svc.db, subject=subject, actor=actor, action=action, limit=limit)
    return wire.AuditLog(records=[wire.AuditRecordOut.of(r) for r in found])


@router.get("/audit/verify")
def verify_audit(user: Reader, svc: Svc) -> wire.ChainCheckOut:
    """Recompute the hash chain; ``first_bad_seq`` names the first record that does not match."""
    return wire.ChainCheckOut.of(auditing.verify(svc.db))


# --- roles -------------------------------------------------------------------------------------


@router.get("/whoami")
def whoami(
    user: Reader,
    svc: Svc,
    project: Annotated[str, Query(min_length=1, max_length=250)] = DEFAULT_PROJECT,
) -> wire.WhoAmI:
    """The token's owner and their role in ``project``."""
    return wire.WhoAmI(user=user, project=project, role=tokens.role_of(svc.db, user, project))


@router.get("/projects/{project}/roles")
def list_roles(project: ProjectParam, user: Reader, svc: Svc) -> wire.Grants:
    """Who holds which role, so people can find a reviewer; no grants: the project is open."""
    with svc.db.read() as conn:
        return wire.Grants(project=project, roles=role_rows.grants(conn, project))


def _guard_open_project(svc: Services, user: str, project: str, action: str) -> None:
    """In a project without grants everyone acts as admin; only an admin of the default
    project may act there first."""
    with svc.db.read() as conn:
        opened = role_rows.any_grant(conn, project)
    if not opened:
        require_role(svc, user, Role.ADMIN, action, f"projects:/{project}")


@router.put("/projects/{project}/roles/{name}", status_code=204)
def grant_role(
    project: ProjectParam,
    name: UserParam,
    body: wire.RoleIn,
    user: Reader,
    svc: Svc,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Give ``name`` a role in ``project`` (admins of the project)."""
    _guard_open_project(svc, user, project, "role.grant")

    def write() -> None:
        access.grant(svc.db, svc.clock, project, name, body.role, user)

    return once(svc, user, idempotency_key, [project, name, body], write, status=204)


@router.delete("/projects/{project}/roles/{name}", status_code=204)
def revoke_role(
    project: ProjectParam,
    name: UserParam,
    user: Reader,
    svc: Svc,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Take ``name``'s role away: they become a viewer (admins of the project)."""
    _guard_open_project(svc, user, project, "role.revoke")

    def write() -> None:
        access.revoke(svc.db, svc.clock, project, name, user)

    return once(svc, user, idempotency_key, [project, name, "revoke"], write, status=204)


# --- users -------------------------------------------------------------------------------------


@router.get("/users")
def list_users(user: Reader, svc: Svc) -> wire.UserList:
    """Every user of the store (admins only)."""
    require_role(svc, user, Role.ADMIN, "user.list", "users:/")
    with svc.db.read() as conn:
        return wire.UserList(users=[wire.UserOut.of(row) for row in token_rows.list_users(conn)])


@router.post("/users", status_code=201, response_model=wire.UserOut)
def add_user(
    body: wire.UserIn, user: Reader, svc: Svc, idempotency_key: IdempotencyKey = None
) -> Response:
    """Add a user, who can then be given tokens (admins only)."""

    def write() -> wire.UserOut:
        tokens.add_user(svc.db, svc.clock, body.name, user)
        with svc.db.read() as conn:
            return wire.UserOut.of(token_rows.user_row(conn, body.name))

    return once(svc, user, idempotency_key, body, write, status=201)


@router.put("/users/{name}/disabled", status_code=204)
def set_user_disabled(
    name: UserParam,
    body: wire.DisabledIn,
    user: Reader,
    svc: Svc,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Disable a user, refusing every token of theirs at once, or enable them (admins only)."""

    def write() -> None:
        tokens.set_disabled(svc.db, svc.clock, name, user, body.disabled)

    return once(svc, user, idempotency_key, [name, body], write, status=204)


# --- tokens ------------------------------------------------------------------------------------


@router.get("/tokens")
def list_tokens(
    user: Reader,
    svc: Svc,
    owner: Annotated[str | None, Query(alias="user", max_length=250)] = None,
) -> wire.TokenList:
    """Tokens, never their secrets. Without ``user``: an admin gets everyone's, anyone else
    their own; another user's are for admins."""
    if owner is None and not is_admin(svc, user):
        owner = user
    elif owner is not None and owner != user:
        require_role(svc, user, Role.ADMIN, "token.list", f"users:/{owner}")
    return wire.TokenList(
        tokens=[wire.TokenInfoOut.of(t) for t in tokens.list_tokens(svc.db, owner)]
    )


@router.post("/tokens", status_code=201, response_model=wire.IssuedTokenOut)
def create_token(
    body: wire.TokenIn, user: Reader, svc: Svc, idempotency_key: IdempotencyKey = None
) -> Response:
    """A new token for the caller (contributors and up: a viewer writes nothing), or for anyone
    as an admin; its secret is in this answer only.

    The secret is never stored, so a retry with the same Idempotency-Key cannot be answered
    with it: it is refused (409) and names the token the first attempt made.
    """
    owner = body.user or user
    if owner == user:
        require_role(svc, user, Role.CONTRIBUTOR, "token.create", f"users:/{user}")
    days = body.expires_in_days
    if days is None or days > SELF_SERVICE_DAYS:
        # a leaked token must not be able to mint a lasting one that outlives its revocation
        action = f"token.create without expiry or for over {SELF_SERVICE_DAYS} days"
        require_role(svc, user, Role.ADMIN, action, f"users:/{owner}")

    def issue() -> wire.IssuedTokenOut:
        issued = tokens.create_token(
            svc.db,
            svc.clock,
            owner,
            user,
            expires_in_days=body.expires_in_days,
            description=body.description,
            scope=None if body.scope is None else body.scope.to_entity(),
        )
        return wire.IssuedTokenOut.of(issued)

    return once(
        svc,
        user,
        idempotency_key,
        body,
        issue,
        status=201,
        keep=lambda out: out.info if isinstance(out, wire.IssuedTokenOut) else out,
        replay=_already_made(idempotency_key),
    )


def _already_made(key: str | None) -> Callable[[Any], Response]:
    """The answer to a retried token request: the token it made, never its secret."""

    def refuse(made: Any) -> Response:
        raise Conflict(
            f"this request (idempotency key {key!r}) already made token {made['id']}; its "
            "secret was shown once and is not kept. Revoke it if the answer was lost, and "
            "create another."
        )

    return refuse


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(
    token_id: Annotated[str, PathParam(min_length=1, max_length=64)],
    user: Reader,
    svc: Svc,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Revoke a token at once: your own, or anyone's as an admin."""

    def write() -> None:
        tokens.revoke_token(svc.db, svc.clock, token_id, user)

    return once(svc, user, idempotency_key, [token_id, "revoke"], write, status=204)


# --- server settings ---------------------------------------------------------------------------


@router.get("/config")
def server_config(user: Reader, svc: Svc) -> wire.ConfigOut:
    """The allowlists an admin sets (admins only: they name internal hosts)."""
    require_role(svc, user, Role.ADMIN, "config.read", "config:/")
    return wire.ConfigOut(settings=config.get_all(svc.db))


# one route a setting, so that the document states each one's entries
@router.put(f"/config/{config.WEBHOOK_HOSTS}", response_model=wire.ConfigOut)
def set_webhook_hosts(
    body: wire.HostsIn, user: Reader, svc: Svc, idempotency_key: IdempotencyKey = None
) -> Response:
    """Replace the hosts webhooks may reach on internal addresses; audited."""
    return _set_config(config.WEBHOOK_HOSTS, body, user, svc, idempotency_key)


@router.put(f"/config/{config.PYTHON_LOADERS}", response_model=wire.ConfigOut)
def set_python_loaders(
    body: wire.LoadersIn, user: Reader, svc: Svc, idempotency_key: IdempotencyKey = None
) -> Response:
    """Replace the loaders python-flavor models may name; audited."""
    return _set_config(config.PYTHON_LOADERS, body, user, svc, idempotency_key)


def _set_config(
    key: str, body: wire.HostsIn | wire.LoadersIn, user: str, svc: Services, idempotency: str | None
) -> Response:
    def write() -> wire.ConfigOut:
        config.set_values(svc.db, svc.clock, key, body.values, user)
        return wire.ConfigOut(settings=config.get_all(svc.db))

    return once(svc, user, idempotency, [key, body], write)
