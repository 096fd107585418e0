"""`modeldeck users add|disable` and `modeldeck tokens create|list|revoke`."""

from __future__ import annotations

import json

from modeldeck.client import fluent


def test_token_lifecycle_from_the_command_line(cli) -> None:
    assert cli("users", "grant", "bob", "reviewer").exit_code == 0  # alice becomes admin
    assert cli("users", "add", "bob").exit_code == 0
    made = cli("tokens", "create", "--user", "bob", "-d", "ci job")
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("mdk_") and "\n" not in token  # stdout holds the token alone
    assert fluent.client().authenticate(token) == "bob"
    listed = json.loads(cli("tokens", "list", "--json").stdout)
    assert [(t["user"], t["state"], t["description"]) for t in listed] == [
        ("bob", "active", "ci job")
    ]
    assert token.split("_", 2)[2] not in cli("tokens", "list").stdout
    assert cli("tokens", "revoke", listed[0]["id"]).exit_code == 0
    assert json.loads(cli("tokens", "list", "--json").stdout)[0]["state"] == "revoked"


def test_disabled_user_and_unknown_token(cli) -> None:
    cli("users", "grant", "bob", "viewer")
    cli("users", "add", "bob")
    cli("users", "disable", "bob")
    refused = cli("tokens", "create", "--user", "bob")
    assert refused.exit_code == 1 and "is disabled" in refused.stderr
    missing = cli("tokens", "revoke", "000000000000")
    assert missing.exit_code == 1 and "no token with id" in missing.stderr
