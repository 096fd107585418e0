"""`modeldeck deployments list`: what is served, where, by whom, and whether it is alive."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from modeldeck.client import fluent
from modeldeck.core.deployment import HEARTBEAT_SECONDS, Deployment
from modeldeck.storage.metadata import deployments as deployment_rows


def start(model: str = "churn", **extra: object) -> Deployment:
    fields: dict[str, object] = {
        "model": model,
        "reference": f"models:/{model}@champion",
        "version": 3,
        "host": "0.0.0.0",
        "port": 8080,
        "workers": 4,
        **extra,
    }
    return fluent.client().start_deployment(**fields)  # type: ignore[arg-type]


def test_a_running_deployment_is_listed_with_what_it_serves(cli) -> None:
    d = start(
        canary_reference="models:/churn@challenger",
        canary_version=4,
        canary_share=0.1,
        shadow_reference="models:/churn/5",
        shadow_version=5,
    )
    shown = cli("deployments", "list")
    assert shown.exit_code == 0, shown.output
    (line,) = [row for row in shown.stdout.splitlines() if d.id[:8] in row]
    assert d.id not in shown.stdout  # ids are shortened to 8 characters
    for cell in (
        "churn",
        "models:/churn@champion → 3",
        "models:/churn@challenger → 4 (10%)",
        "models:/churn/5 → 5",
        "http://0.0.0.0:8080",
        "alice",
        datetime.fromtimestamp(d.started_at / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "running",
    ):
        assert cell in line, (cell, line)
    assert "started (UTC)" in shown.stdout


def test_a_deployment_without_heartbeats_is_lost(cli) -> None:
    d = start()
    silent_since = d.last_seen - 4 * HEARTBEAT_SECONDS * 1000
    with fluent.client().store.db.write() as conn:
        deployment_rows.update(conn, d.id, {"last_seen": silent_since})
    (row,) = json.loads(cli("deployments", "list", "--json").stdout)
    assert row["status"] == "lost"
    assert "lost" in cli("deployments", "list").stdout


def test_json_output_and_filters(cli) -> None:
    churn = start("churn")
    fraud = start("fraud", version=None)
    fluent.client().stop_deployment(churn.id)
    listed = json.loads(cli("deployments", "list", "--json").stdout)
    assert [(d["id"], d["model"], d["version"], d["status"]) for d in listed] == [
        (fraud.id, "fraud", None, "running")
    ]
    assert listed[0]["started_by"] == "alice" and listed[0]["workers"] == 4
    everything = json.loads(cli("deployments", "list", "--all", "--json").stdout)
    assert {d["id"]: d["status"] for d in everything} == {
        churn.id: "stopped",
        fraud.id: "running",
    }
    table = cli("deployments", "list", "--all")
    assert "stopped" in table.stdout and churn.id[:8] in table.stdout
    assert "models:/fraud@champion → —" in table.stdout  # nothing resolved yet
    only = json.loads(cli("deployments", "list", "--all", "--model", "churn", "--json").stdout)
    assert [d["id"] for d in only] == [churn.id]


def test_no_deployments(cli) -> None:
    shown = cli("deployments", "list")
    assert shown.exit_code == 0 and "no running deployments" in shown.stdout
    assert json.loads(cli("deployments", "list", "--json").stdout) == []
