"""Users and API tokens of a shared store, on every backend."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
import sqlalchemy as sa

from modeldeck.client.local import LocalClient
from modeldeck.core.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from modeldeck.governance.tokens import DAY_MS


@pytest.fixture
def admin(client: LocalClient) -> LocalClient:
    """alice, admin of a closed project, with a fake clock she can move."""
    tick = itertools.count(1_700_000_000_000, 1000)
    client.store.clock = lambda: next(tick)
    client.grant("bob", "contributor")  # closes the project; alice becomes admin
    client.add_user("alice")
    client.add_user("bob")
    return client


def as_user(admin: LocalClient, name: str) -> LocalClient:
    other = LocalClient(replace(admin.settings, user=name))
    other.store.clock = admin.store.clock
    return other


def test_token_authenticates_its_user_and_is_shown_once(admin: LocalClient) -> None:
    issued = admin.create_token("bob", description="laptop")
    assert issued.token.startswith(f"mdk_{issued.info.id}_")
    assert issued.token not in repr(issued)  # never printed by accident
    assert admin.authenticate(issued.token) == "bob"
    listed = admin.list_tokens("bob")
    assert [t.id for t in listed] == [issued.info.id] and listed[0].last_used_at is not None
    with admin.store.db.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT secret_hash FROM api_tokens")).scalar()
        dumped = " ".join(str(r) for r in conn.execute(sa.text("SELECT * FROM audit_log")))
    secret = issued.token.split("_", 2)[2]  # the secret itself may contain "_"
    assert secret not in stored and secret not in dumped


@pytest.mark.parametrize(
    "presented",
    [None, "", "Bearer nope", "mdk_000000000000_" + "x" * 43, "mdk_short_secret"],
)
def test_missing_or_unknown_tokens_are_refused_and_audited(
    admin: LocalClient, presented: str | None
) -> None:
    with pytest.raises(Unauthenticated):
        admin.authenticate(presented)
    assert admin.audit_log(action="denied:auth", limit=1)


def test_wrong_secret_for_a_real_id_is_refused(admin: LocalClient) -> None:
    issued = admin.create_token("bob")
    forged = issued.token[:-4] + "AAAA"
    with pytest.raises(Unauthenticated, match="unknown or malformed"):
        admin.authenticate(forged)


def test_revoked_expired_and_disabled_tokens_stop_working(admin: LocalClient) -> None:
    bob = as_user(admin, "bob")
    revoked = bob.create_token()
    bob.revoke_token(revoked.info.id)
    with pytest.raises(Unauthenticated, match="was revoked"):
        admin.authenticate(revoked.token)
    short = admin.create_token("bob", expires_in_days=1)
    assert admin.authenticate(short.token) == "bob"
    admin.store.clock = lambda: short.info.created_at + DAY_MS + 1
    with pytest.raises(Unauthenticated, match="expired"):
        admin.authenticate(short.token)
    lasting = admin.create_token("bob", expires_in_days=None)
    admin.set_user_disabled("bob")
    with pytest.raises(Unauthenticated, match="disabled"):
        admin.authenticate(lasting.token)
    admin.set_user_disabled("bob", disabled=False)
    assert admin.authenticate(lasting.token) == "bob"


def test_who_may_create_and_revoke_tokens(admin: LocalClient) -> None:
    bob = as_user(admin, "bob")
    mine = bob.create_token()  # anyone may have tokens of their own
    with pytest.raises(PermissionDenied, match="create tokens for other users"):
        bob.create_token("alice")
    alices = admin.create_token("alice")
    with pytest.raises(PermissionDenied, match="revoke other users' tokens"):
        bob.revoke_token(alices.info.id)
    admin.revoke_token(mine.info.id)  # an admin may revoke anyone's
    with pytest.raises(PermissionDenied, match="add users"):
        bob.add_user("carol")
    with pytest.raises(AlreadyExists):
        admin.add_user("bob")
    with pytest.raises(NotFound, match="no user named 'zed'"):
        admin.create_token("zed")
    with pytest.raises(InvalidInput, match="invalid user name"):
        admin.add_user("has space")
    with pytest.raises(InvalidInput, match="must be positive"):
        admin.create_token(expires_in_days=0)
    actions = [r.action for r in admin.audit_log(limit=100)]
    assert {"user.add", "token.create", "token.revoke", "denied:token.create"} <= set(actions)
