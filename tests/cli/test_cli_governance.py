"""`modeldeck audit log|verify` and `modeldeck users grant|revoke|list`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from modeldeck.cli.audit import change
from modeldeck.client import fluent


@pytest.fixture
def churn(cli, tmp_path: Path) -> str:
    """churn version 1 registered by alice from a run that logged a model package."""
    from test_cli_models import train_run

    run_id = train_run(tmp_path)
    result = cli("models", "register", run_id, "churn")
    assert result.exit_code == 0, result.output
    return run_id


def act_as(monkeypatch: pytest.MonkeyPatch, user: str) -> None:
    monkeypatch.setenv("MODELDECK_USER", user)
    fluent.reset()


def test_audit_log_shows_the_actions_newest_first(cli, churn, monkeypatch):
    cli("models", "approve", "churn", "1")  # refused: alice is the author
    act_as(monkeypatch, "bob")
    cli("models", "approve", "churn", "1", "-m", "ok")
    cli("models", "alias", "churn", "challenger", "1")

    result = cli("audit", "log", "--subject", "models:/churn")
    assert result.exit_code == 0, result.output
    for text in ("alias.move", "denied:version.approve", "models:/churn@challenger", "bob"):
        assert text in result.stdout
    about_churn = json.loads(cli("audit", "log", "--subject", "models:/churn", "--json").stdout)
    assert [r["action"] for r in about_churn] == [
        "alias.move",
        "version.approve",
        "denied:version.approve",
        "version.register",
        "model.create",
    ]
    assert "version: — → 1" in result.stdout and "decision=approved" in result.stdout
    assert "runs:/" not in result.stdout  # the run's own records are another subject

    records = json.loads(cli("audit", "log", "--actor", "bob", "--json").stdout)
    assert [(r["action"], r["subject"]) for r in records] == [
        ("alias.move", "models:/churn@challenger"),
        ("version.approve", "models:/churn/1"),
    ]
    assert records[1]["after"] == {"decision": "approved", "comment": "ok", "evaluation": None}
    only = json.loads(cli("audit", "log", "--action", "run.create", "--json").stdout)
    assert len(only) == 1 and only[0]["subject"] == f"runs:/{churn}"
    assert len(json.loads(cli("audit", "log", "-n", "2", "--json").stdout)) == 2
    assert "No audit records match" in cli("audit", "log", "--actor", "nobody").stdout


def test_audit_verify_then_tamper(cli, churn, home):
    ok = cli("audit", "verify")
    assert ok.exit_code == 0, ok.output
    total = json.loads(cli("audit", "verify", "--json").stdout)["records"]
    assert f"audit chain intact: {total} records" in ok.stdout

    db = sqlite3.connect(home / "modeldeck.db")
    with db:
        seq = db.execute("SELECT seq FROM audit_log WHERE action = 'version.register'").fetchone()[
            0
        ]
        db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = ?", (seq,))
    db.close()
    broken = cli("audit", "verify")
    assert broken.exit_code == 1
    assert f"audit chain broken at record seq {seq}" in broken.stderr
    assert "does not match its hash (edited)" in broken.stderr
    check = json.loads(cli("audit", "verify", "--json").stdout)
    assert (check["ok"], check["first_bad_seq"]) == (False, seq)


def test_audit_verify_names_a_deleted_record(cli, churn, home):
    db = sqlite3.connect(home / "modeldeck.db")
    with db:
        db.execute("DELETE FROM audit_log WHERE seq = 2")
    db.close()
    broken = cli("audit", "verify")
    assert broken.exit_code == 1
    assert "broken at record seq 3" in broken.stderr and "was deleted" in broken.stderr


def test_audit_verify_on_an_empty_store(cli):
    result = cli("audit", "verify")
    assert result.exit_code == 0 and "audit chain intact: 0 records" in result.stdout


def test_change_summaries():
    assert change({"version": 1}, {"version": 2, "protected": True}) == (
        "version: 1 → 2, protected=True"
    )
    assert change({"version": 2}, None) == "version: 2 → —"
    assert change(None, {"run_id": "a" * 32, "replaces_version": None}) == "run_id=aaaaaaaa"
    assert change(None, {"reason": "x" * 100}).endswith("…")
    assert len(change(None, {"reason": "x" * 100})) == 60


def test_users_grant_list_revoke(cli, monkeypatch):
    assert "it is open, everyone is admin" in cli("users", "list").stdout
    granted = cli("users", "grant", "bob", "Reviewer")
    assert granted.exit_code == 0, granted.output
    assert "bob is now reviewer in project 'default'" in granted.stdout
    assert "alice became its admin" in granted.stdout
    cli("users", "grant", "carol", "viewer")

    table = cli("users", "list").stdout
    assert "alice (you)" in table and "admin" in table and "reviewer" in table
    data = json.loads(cli("users", "list", "--json").stdout)
    assert data == {
        "project": "default",
        "open": False,
        "you": "alice",
        "grants": [
            {"user": "alice", "role": "admin"},
            {"user": "bob", "role": "reviewer"},
            {"user": "carol", "role": "viewer"},
        ],
    }
    revoked = cli("users", "revoke", "bob")
    assert revoked.exit_code == 0, revoked.output
    assert "bob is no longer reviewer" in revoked.stdout
    assert "bob" not in [
        g["user"] for g in json.loads(cli("users", "list", "--json").stdout)["grants"]
    ]

    act_as(monkeypatch, "carol")
    refused = cli("users", "grant", "carol", "admin")
    assert refused.exit_code == 1
    assert "carol cannot grant roles: it needs the admin role" in refused.stderr
    assert "You (carol) have no grant" not in cli("users", "list").stdout


def test_unknown_role_exits_1(cli):
    result = cli("users", "grant", "bob", "overlord")
    assert result.exit_code == 1
    assert "unknown role 'overlord'" in result.stderr


def test_a_viewer_is_refused_and_the_refusal_is_audited(cli, churn, monkeypatch):
    cli("users", "grant", "bob", "viewer")
    act_as(monkeypatch, "bob")
    result = cli("models", "alias", "churn", "challenger", "1")
    assert result.exit_code == 1
    assert "bob cannot move aliases: it needs the contributor role" in result.stderr
    denied = json.loads(cli("audit", "log", "--action", "denied:alias.move", "--json").stdout)
    assert [r["actor"] for r in denied] == ["bob"]
