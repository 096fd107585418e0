"""`modeldeck experiments list`, `db upgrade` and `quickstart` wiring."""

from __future__ import annotations

import json
from types import SimpleNamespace

import modeldeck
from modeldeck.storage.db.migrate import HEAD


def test_experiments_list(cli, two_runs):
    result = cli("experiments", "list")
    assert result.exit_code == 0, result.output
    assert " e " in result.stdout or "\ne " in result.stdout or " e\n" in result.stdout
    data = json.loads(cli("experiments", "list", "--json").stdout)
    assert [e["name"] for e in data] == ["e"]
    assert set(data[0]) == {"id", "name", "created_at", "description"}


def test_experiments_list_empty(cli):
    assert "No experiments yet" in cli("experiments", "list").stdout


def test_db_upgrade_reports_revisions(cli, home, monkeypatch):
    monkeypatch.setenv("MODELDECK_TRACKING_URI", f"sqlite:///{home / 'fresh.db'}")
    first = cli("db", "upgrade")
    assert first.exit_code == 0, first.output
    assert f"none → {HEAD}" in first.stdout
    again = cli("db", "upgrade")
    assert "already the latest" in again.stdout


def test_quickstart_passes_its_options(cli, monkeypatch):
    seen = {}

    def fake(console, *, n_rows, seed):
        seen.update(n_rows=n_rows, seed=seed)
        console.print("story told")
        return SimpleNamespace()

    monkeypatch.setattr("modeldeck.quickstart.story.run_quickstart", fake)
    result = cli("quickstart", "--rows", "300", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert seen == {"n_rows": 300, "seed": 3}
    assert "story told" in result.stdout


def test_quickstart_errors_are_clean(cli, monkeypatch):
    def broken(console, *, n_rows, seed):
        raise modeldeck.InvalidInput("metric value 'x' is not a number")

    monkeypatch.setattr("modeldeck.quickstart.story.run_quickstart", broken)
    result = cli("quickstart")
    assert result.exit_code == 1
    assert "Error: metric value 'x' is not a number" in result.stderr
