"""Monitoring, attacked by a contributor: retraining jobs (code run by whoever runs the
monitor), webhooks (requests the server sends where it is told) and alert outcomes.

alice owns the model and its monitor; mallory is another contributor; root is the admin.
Each attack is refused (4xx), changes nothing (read back as alice or root), and its refusal is
in the audit log. The receivers are real HTTP servers on 127.0.0.1, which the server process
reaches only once root allowlists them."""

from __future__ import annotations

import json
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import monitoring_support
from attack_support import Team, unique
from modeldeck.client.remote import RemoteClient
from modeldeck.core.errors import PermissionDenied
from modeldeck.core.settings import Settings
from monitoring_support import FEATURES, LABEL, START, Receiver, make
from server_support import within_a_second

TESTS = Path(monitoring_support.__file__).parent


@dataclass
class Watched:
    """A model of alice's with a monitor of hers."""

    model: str
    alice: RemoteClient

    @property
    def path(self) -> str:
        return f"/api/v1/monitors/{self.model}"


def client_of(team: Team, who: str, home: Path) -> RemoteClient:
    settings = Settings(home, team.server.url, team.server.settings.artifacts_uri, who)
    return RemoteClient(settings, token=team.tokens[who])


@pytest.fixture
def watched(team: Team, tmp_path: Path) -> Iterator[Watched]:
    alice = client_of(team, "alice", tmp_path / "alice")
    model = unique("churn")
    train = make(300, seed=1)
    run = alice.create_run(unique("attack-monitoring"))
    alice.log_dataset(run.id, train, name="train", context="train")
    fitted = monitoring_support.build().fit(train[FEATURES], train[LABEL])
    alice.log_model(run.id, fitted, "model", input_example=train[FEATURES])
    alice.end_run(run.id)
    alice.register_model(f"runs:/{run.id}/model", model)
    alice.create_monitor(model, window="1d", origin=START)
    yield Watched(model, alice)
    alice.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def serve_rows(watched: Watched, prefix: str, rows: int = 20) -> None:
    """Predictions of version 1 on day 0, so a pass at START + 1 day closes one window."""
    frame = make(rows, seed=2)
    monitoring_support.serve(watched.alice, frame, 0, prefix, model=watched.model)


def settled(team: Team, model: str, alert_id: int, timeout_s: float = 20) -> dict[str, Any]:
    """The alert once the server's outbox has finished its deliveries."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = team.http("root").get("/api/v1/alerts", params={"model": model}).json()
        (alert,) = [a for a in found["alerts"] if a["id"] == alert_id]
        states = {d.get("state") for d in alert["detail"].get("deliveries", [])}
        if "queued" not in states or time.monotonic() > deadline:
            return dict(alert)
        time.sleep(0.05)


# --- retraining jobs ----------------------------------------------------------------------


def test_a_contributor_cannot_set_a_job_on_anothers_monitor(team: Team, watched: Watched) -> None:
    before = watched.alice.get_monitor(watched.model).retraining
    seq = team.audit_seq()
    sentinel = Path("/tmp") / unique("pwned")
    evil = {"kind": "command", "target": f"touch {sentinel}"}
    refused = team.http("mallory").put(f"{watched.path}/retraining", json=evil)
    assert refused.status_code == 403, refused.text
    pin = team.http("mallory").post(
        f"{watched.path}/retraining/pin", json={"digest": "sha256:" + "0" * 64}
    )
    assert pin.status_code == 403, pin.text
    assert watched.alice.get_monitor(watched.model).retraining == before  # unchanged
    denied = {d["action"] for d in team.denials_since(seq, "mallory")}
    assert {"denied:monitor.retraining.set", "denied:monitor.retraining.pin"} <= denied
    assert not sentinel.exists()


def test_an_unpinned_job_is_refused_by_the_client(
    team: Team, watched: Watched, tmp_path: Path
) -> None:
    """alice (the owner) may set a job, but it does not run until an admin pins it; the
    client refuses it before anything runs, and an admin pins exactly what they saw."""
    sentinel = tmp_path / "ran"
    set_by_owner = watched.alice.set_retraining(
        watched.model, command=shlex.join([sys.executable, "-c", f"open({str(sentinel)!r}, 'w')"])
    )
    job = set_by_owner.retraining
    assert job is not None and job["pinned"] is None and job["set_by"] == "alice"
    seq = team.audit_seq()
    with pytest.raises(PermissionDenied, match="not pinned by an admin"):
        watched.alice.retrain(watched.model)
    assert not sentinel.exists()
    assert "retrain.start" not in {r["action"] for r in team.audit_since(seq)}  # nothing began
    # a pin names the digest the admin reviewed: a job changed since is not pinned by it
    stale = team.http("root").post(
        f"{watched.path}/retraining/pin", json={"digest": "sha256:" + "1" * 64}
    )
    assert stale.status_code == 409, stale.text
    assert watched.alice.get_monitor(watched.model).retraining["pinned"] is None
    actions = {r["action"] for r in team.audit_since(seq)}
    assert "denied:monitor.retraining.pin" in actions  # the stale pin is on record too
    pinned = team.http("root").post(
        f"{watched.path}/retraining/pin", json={"digest": job["digest"]}
    )
    assert pinned.status_code == 200, pinned.text
    # changing the job drops the pin: the owner's new job waits for a new one
    watched.alice.set_retraining(watched.model, entry_point="monitoring_support:broken")
    changed = watched.alice.get_monitor(watched.model).retraining
    assert changed is not None and changed["pinned"] is None
    assert [s["action"] for s in changed["history"]] == ["set", "pin", "set"]
    with pytest.raises(PermissionDenied, match="not pinned"):
        watched.alice.retrain(watched.model)


def test_a_job_runs_with_a_token_of_its_own_never_the_callers(
    team: Team, watched: Watched, tmp_path: Path
) -> None:
    """A pinned command job: started from an argv list, its environment holds the job's own
    token (limited to its run and model, revoked after), never alice's."""
    seen = tmp_path / "env.json"
    script = tmp_path / "job.py"
    script.write_text(
        "import json, os, sys, modeldeck, monitoring_support as s\n"
        "open(sys.argv[1], 'w').write(json.dumps(dict(os.environ)))\n"
        "train = s.make(200, seed=5)\n"
        "with modeldeck.start_run() as run:\n"
        "    assert run.id == os.environ['MODELDECK_RUN_ID']\n"
        "    modeldeck.log_dataset(train, name='from-job', context='train')\n"
        "    model = s.build().fit(train[s.FEATURES], train[s.LABEL])\n"
        "    modeldeck.log_model(model, 'model', input_example=train[s.FEATURES])\n"
    )
    path = f"PYTHONPATH={TESTS}:{Path(__file__).parents[2] / 'src'}"
    command = shlex.join(["env", path, sys.executable, str(script), str(seen)])
    job = watched.alice.set_retraining(watched.model, command=command).retraining
    assert job is not None
    assert (
        team.http("root")
        .post(f"{watched.path}/retraining/pin", json={"digest": job["digest"]})
        .is_success
    )

    retrained = watched.alice.retrain(watched.model)
    assert retrained.version == 2
    env = json.loads(seen.read_text())
    alices = team.tokens["alice"]
    assert alices not in json.dumps(env)
    token = env["MODELDECK_TOKEN"]
    assert token.startswith("mdk_") and token != alices
    assert env["MODELDECK_RUN_ID"] == retrained.run_id
    tokens = team.http("root").get("/api/v1/tokens", params={"user": "alice"}).json()["tokens"]
    (issued,) = [t for t in tokens if token.split("_")[1] == t["id"]]
    assert issued["scope"] == {"runs": [retrained.run_id], "models": [watched.model]}
    assert issued["revoked_at"] is not None  # revoked when the job ended
    with team.server.client(token) as job_token:
        assert within_a_second(lambda: job_token.get("/api/v1/whoami"), 401).status_code == 401


# --- webhooks ----------------------------------------------------------------------------


def test_a_webhook_to_a_literal_internal_address_is_refused(
    team: Team, watched: Watched, receiver: Receiver
) -> None:
    seq = team.audit_seq()
    alice = team.http("alice")
    for url in (
        receiver.url,
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://[::1]:9/hook",
    ):
        refused = alice.post(f"{watched.path}/webhooks", json={"url": url})
        assert refused.status_code == 403, (url, refused.text)
        assert "internal address" in refused.json()["error"]["message"]
    assert watched.alice.get_monitor(watched.model).webhooks == []
    denials = [d for d in team.denials_since(seq, "alice")]
    assert len([d for d in denials if d["action"] == "denied:monitor.webhook.add"]) == 5
    assert receiver.requests == []


def test_a_name_resolving_to_loopback_is_refused_when_sent(
    team: Team, watched: Watched, receiver: Receiver
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    url = f"http://localhost:{port}/hooks/modeldeck"
    added = team.http("alice").post(f"{watched.path}/webhooks", json={"url": url})
    assert added.status_code == 200, added.text  # a name: checked on what it resolves to
    team.http("alice").post(f"{watched.path}/rules", json={"rule": "rows >= 1"})
    serve_rows(watched, unique("p"))
    seq = team.audit_seq()
    started = time.monotonic()
    ran = team.http("alice").post(f"{watched.path}/run", json={"now": START + 86_400_000})
    assert ran.status_code == 200, ran.text
    assert time.monotonic() - started < 10
    (alert,) = ran.json()["alerts"]
    assert alert["detail"]["deliveries"] == [{"url": url, "state": "queued"}]  # not in-request
    (delivery,) = settled(team, watched.model, alert["id"])["detail"]["deliveries"]
    assert delivery["state"] == "refused" and not delivery["delivered"]
    assert "internal address" in delivery["error"]
    assert receiver.requests == []  # nothing reached it
    denials = team.denials_since(seq, "alice")
    assert [d["action"] for d in denials] == ["denied:webhook.deliver"]


def test_a_contributor_cannot_touch_anothers_webhooks(team: Team, watched: Watched) -> None:
    hook = "https://hooks.example.test/alice"
    watched.alice.add_webhook(watched.model, hook)
    seq = team.audit_seq()
    mallory = team.http("mallory")
    added = mallory.post(f"{watched.path}/webhooks", json={"url": "https://evil.example.test/"})
    assert added.status_code == 403, added.text
    removed = mallory.delete(f"{watched.path}/webhooks", params={"url": hook})
    assert removed.status_code == 403, removed.text
    assert watched.alice.get_monitor(watched.model).webhooks == [{"url": hook, "signed": False}]
    denied = [d["action"] for d in team.denials_since(seq, "mallory")]
    assert denied == ["denied:monitor.webhook.add", "denied:monitor.webhook.remove"]


def test_an_allowlisted_host_is_delivered_to(
    team: Team, watched: Watched, receiver: Receiver
) -> None:
    host = receiver.url.split("/")[2]
    before = team.http("root").get("/api/v1/config").json()["settings"]["webhook_hosts"]
    mallory = team.http("mallory").put("/api/v1/config/webhook_hosts", json={"values": [host]})
    assert mallory.status_code == 403
    allowed = team.http("root").put(
        "/api/v1/config/webhook_hosts", json={"values": [*before, host]}
    )
    assert allowed.status_code == 200, allowed.text
    try:
        watched.alice.add_webhook(watched.model, receiver.url, secret="s" * 20)
        watched.alice.add_alert_rule(watched.model, "rows >= 1")
        serve_rows(watched, unique("p"))
        ran = team.http("alice").post(f"{watched.path}/run", json={"now": START + 86_400_000})
        (alert,) = ran.json()["alerts"]
        (delivery,) = settled(team, watched.model, alert["id"])["detail"]["deliveries"]
        assert delivery["state"] == "delivered" and delivery["status"] == 200
        assert len(receiver.requests) == 1
    finally:
        team.http("root").put("/api/v1/config/webhook_hosts", json={"values": before})


# --- alert outcomes ----------------------------------------------------------------------


def test_an_alerts_retraining_outcome_is_written_once_by_its_runner(
    team: Team, watched: Watched
) -> None:
    watched.alice.set_retraining(watched.model, entry_point="monitoring_support:broken")
    team.http("alice").post(
        f"{watched.path}/rules", json={"rule": "rows >= 1", "action": "retrain"}
    )
    serve_rows(watched, unique("p"))
    ran = team.http("alice").post(f"{watched.path}/run", json={"now": START + 86_400_000})
    (alert,) = ran.json()["alerts"]
    assert alert["detail"]["retraining"] == {"pending": True, "by": "alice"}
    outcome = f"/api/v1/alerts/{alert['id']}/retraining"
    seq = team.audit_seq()
    forged = team.http("mallory").post(outcome, json={"version": 7, "passed": True})
    assert forged.status_code == 403, forged.text
    assert settled(team, watched.model, alert["id"])["detail"]["retraining"]["pending"] is True
    assert [d["action"] for d in team.denials_since(seq, "mallory")] == [
        "denied:alert.retraining.record"
    ]
    recorded = team.http("alice").post(outcome, json={"error": "feature store is down"})
    assert recorded.status_code == 200, recorded.text
    again = team.http("alice").post(outcome, json={"version": 7, "passed": True})
    assert again.status_code == 409, again.text
    final = settled(team, watched.model, alert["id"])["detail"]["retraining"]
    assert final == {"error": "feature store is down"}
    actions = [r["action"] for r in team.audit_since(seq)]
    assert "alert.retraining.record" in actions
    assert "denied:alert.retraining.record" in actions
