"""The monitoring loop, the same on every backend: embedded SQLite, PostgreSQL, and HTTP to a
real server process (tests/contract/conftest.py).

Over HTTP the server closes windows and delivers webhooks from its outbox, after answering
(the receiver below listens on 127.0.0.1, so the server process reaches it too, once the admin
allowlists it), and the retraining job runs in this test process, as the remote client runs
it: ``monitoring_support`` is importable here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import monitoring_support
from modeldeck.client.local import LocalClient
from modeldeck.client.remote import RemoteClient
from modeldeck.core.errors import AlreadyExists, InvalidInput, NotFound
from modeldeck.core.monitoring import Alert
from modeldeck.monitoring.webhooks import verify
from monitoring_support import DAY, MODEL, POLICY, START, Receiver, make, register, serve

SECRET = "s3cret-s3cret-s3cret"


def delivered(client: LocalClient, alert: Alert, timeout_s: float = 20.0) -> Alert:
    """The alert once its deliveries are done (at once in process; a server queues them)."""
    deadline = time.monotonic() + timeout_s
    while True:
        (found,) = [a for a in client.monitor_alerts(MODEL) if a.id == alert.id]
        states = {d.get("state") for d in found.detail.get("deliveries", [])}
        if "queued" not in states or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def test_windows_labels_alerts_webhooks_and_the_report(
    client: LocalClient, receiver: Receiver, tmp_path: Path
) -> None:
    register(client, rows=400)
    created = client.create_monitor(MODEL, window="1d", origin=START)
    assert (created.model, created.window, created.origin) == (MODEL, "1d", START)
    client.add_alert_rule(MODEL, "drift_share>0.3")
    client.add_alert_rule(MODEL, "rows < 1")
    client.remove_alert_rule(MODEL, "rows < 1")
    client.set_server_config("webhook_hosts", ["127.0.0.1"])  # the receiver is on loopback
    monitor = client.add_webhook(MODEL, receiver.url, secret=SECRET)
    assert monitor.rules == [{"rule": "drift_share > 0.3", "action": "notify"}]
    (hook,) = client.monitor_status(MODEL).monitor.webhooks
    assert hook["url"] == receiver.url
    if isinstance(client, RemoteClient):  # the server never sends a secret back
        assert hook == {"url": receiver.url, "signed": True}
        assert SECRET not in json.dumps(dict(client.get_monitor(MODEL).config))

    calm = make(300, seed=2)
    ids = serve(client, calm, day=0, prefix="calm")
    serve(client, make(300, seed=3, shift=1.0), day=1, prefix="shift")
    assert client.run_monitor(MODEL, now=START + DAY - 1).closed == []
    run = client.run_monitor(MODEL, now=START + 2 * DAY)
    assert [(w.start, w.end, w.rows, w.version) for w in run.closed] == [
        (START, START + DAY, 300, 1),
        (START + DAY, START + 2 * DAY, 300, 1),
    ]
    assert run.closed[1].metrics["drifted.x1"] == 1.0
    (alert,) = run.alerts
    assert alert.rule == "drift_share > 0.3" and alert.detail["window_start"] == START + DAY
    assert delivered(client, alert).detail["deliveries"][0]["delivered"] is True
    assert run.retrained == []
    assert client.run_monitor(MODEL, now=START + 2 * DAY).alerts == []  # once per window
    (request,) = receiver.requests
    headers = request["headers"]
    assert verify(
        SECRET, request["body"], headers["X-Modeldeck-Timestamp"], headers["X-Modeldeck-Signature"]
    )
    assert json.loads(request["body"])["alert"]["id"] == alert.id

    # labels arrive late and move the first window's performance
    logged = client.log_labels([*ids[:200], "nobody"], [*calm["label"][:200].tolist(), 1])
    assert (logged.stored, logged.unmatched) == (201, 1)
    (refreshed,) = client.run_monitor(MODEL, now=START + 2 * DAY).refreshed
    assert refreshed.id == run.closed[0].id and refreshed.labeled == 200
    assert refreshed.metrics["label_coverage"] == pytest.approx(200 / 300)
    assert refreshed.metrics["auc"] is not None

    assert [w.id for w in client.monitor_windows(MODEL)] == [w.id for w in run.closed]
    assert [a.id for a in client.monitor_alerts(MODEL)] == [alert.id]
    status = client.monitor_status(MODEL, windows=1)
    assert [w.id for w in status.windows] == [run.closed[1].id]
    assert status.latest is not None and status.latest.id == run.closed[1].id

    path = client.monitor_report(MODEL, tmp_path / "out" / "report.html")
    text = path.read_text()
    assert "x1" in text and "segment" in text and "drift_share &gt; 0.3" in text
    assert "http://" not in text and "https://" not in text and "<script src" not in text
    first = client.monitor_report(
        MODEL, tmp_path / "first.html", window_id=run.closed[0].id
    ).read_text()
    assert first != text
    with pytest.raises(InvalidInput, match="no window"):
        client.monitor_report(MODEL, tmp_path / "nope.html", window_id=10**9)

    actions = [r.action for r in client.audit_log(subject=f"models:/{MODEL}", limit=50)]
    assert {"monitor.create", "monitor.rule.add", "monitor.webhook.add"} <= set(actions)


def test_a_retrain_rule_produces_a_gated_challenger(client: LocalClient, tmp_path: Path) -> None:
    train = register(client, rows=400)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    client.create_monitor(MODEL, window="1d", origin=START)
    client.set_retraining(MODEL, entry_point="monitoring_support:retrain", policy=policy)
    job = client.get_monitor(MODEL).retraining
    assert job is not None
    assert {k: job.get(k) for k in ("kind", "target", "policy")} == {
        "kind": "python",
        "target": "monitoring_support:retrain",
        "policy": POLICY,
    }
    assert job["digest"].startswith("sha256:") and job["pinned"]["digest"] == job["digest"]
    client.add_alert_rule(MODEL, "drift_share > 0.3", action="retrain")
    shifted = make(300, seed=3, shift=1.0)
    ids = serve(client, shifted, day=0, prefix="s")
    client.log_labels(ids, shifted["label"].tolist())

    run = client.run_monitor(MODEL, now=START + DAY)
    (retrained,) = run.retrained
    assert (retrained.version, retrained.replaces) == (2, 1)
    assert retrained.passed is True and retrained.alias == "challenger"
    assert monitoring_support.CALLS[-1] == {"replaces": 1, "old": len(train), "new": 300}
    (alert,) = run.alerts
    assert alert.detail["retraining"] == {
        "run_id": retrained.run_id,
        "version": 2,
        "passed": True,
        "alias": "challenger",
    }
    assert client.monitor_alerts(MODEL)[0].detail["retraining"]["version"] == 2
    assert client.get_model_version(MODEL, 2).replaces_version == 1
    assert client.get_registered_model(MODEL).aliases == {"champion": 1, "challenger": 2}
    lineage = client.lineage(MODEL, 2)
    assert lineage.run is not None and lineage.run.status.value == "FINISHED"
    assert lineage.run.tags["retraining_of"] == f"models:/{MODEL}/1"
    assert client.evaluations(MODEL, 2)[-1].passed is True
    actions = [r.action for r in client.audit_log(subject=f"models:/{MODEL}", limit=100)]
    assert "retrain.start" in actions and "retrain.finish" in actions
    if isinstance(client, RemoteClient):  # the labeled rows come a page at a time
        page = client.http.get(f"/api/v1/monitors/{MODEL}/labeled", {"limit": 120, "offset": 240})
        assert len(page["rows"]) == 60 and page["next_offset"] is None
        assert set(page["rows"][0]) == {"time", "inputs", "label"}


def test_a_failing_retraining_job_is_recorded_not_hidden(client: LocalClient) -> None:
    register(client, rows=400)
    client.create_monitor(MODEL, window="1d", origin=START)
    client.set_retraining(MODEL, entry_point="monitoring_support:broken")
    client.add_alert_rule(MODEL, "rows >= 1", action="retrain")
    client.add_alert_rule(MODEL, "rows >= 2")
    serve(client, make(20, seed=2), day=0, prefix="x")
    run = client.run_monitor(MODEL, now=START + DAY)
    assert run.retrained == []
    retrain, notify = sorted(run.alerts, key=lambda a: a.action != "retrain")
    assert "feature store is down" in retrain.detail["retraining"]["error"]
    assert "retraining" not in notify.detail and notify.detail["deliveries"] == []
    assert [v.version for v in client.model_versions(MODEL)] == [1]
    actions = [r.action for r in client.audit_log(subject=f"models:/{MODEL}", limit=50)]
    assert "retrain.start" in actions and "retrain.fail" in actions
    if isinstance(client, RemoteClient):  # only retrain alerts record a retraining
        with pytest.raises(InvalidInput, match="only a retrain alert"):
            client.http.post(f"/api/v1/alerts/{notify.id}/retraining", {"error": "x"})


def test_errors_read_the_same(client: LocalClient) -> None:
    register(client, rows=400)
    with pytest.raises(NotFound, match="modeldeck monitor create"):
        client.run_monitor(MODEL)
    with pytest.raises(NotFound, match="modeldeck monitor create"):
        client.get_monitor(MODEL)
    with pytest.raises(InvalidInput):
        client.create_monitor(MODEL, window="fortnightly")
    with pytest.raises(NotFound):
        client.create_monitor("nobody")
    client.create_monitor(MODEL)
    with pytest.raises(AlreadyExists, match="already has a monitor"):
        client.create_monitor(MODEL)
    with pytest.raises(InvalidInput, match="unknown metric"):
        client.add_alert_rule(MODEL, "happiness < 3")
    with pytest.raises(InvalidInput, match="unknown rule action"):
        client.add_alert_rule(MODEL, "rows < 3", action="panic")
    with pytest.raises(InvalidInput, match="retraining job"):
        client.add_alert_rule(MODEL, "rows < 3", action="retrain")
    client.add_alert_rule(MODEL, "rows < 3")
    with pytest.raises(AlreadyExists):
        client.add_alert_rule(MODEL, "rows<3")
    with pytest.raises(NotFound, match="no rule"):
        client.remove_alert_rule(MODEL, "rows > 3")
    with pytest.raises(InvalidInput):
        client.add_webhook(MODEL, "ftp://example.com/hook")
    with pytest.raises(InvalidInput, match="16 characters"):
        client.add_webhook(MODEL, "http://127.0.0.1:9/hook", secret="short")
    with pytest.raises(NotFound, match="no webhook"):
        client.remove_webhook(MODEL, "http://127.0.0.1:9/hook")
    with pytest.raises(InvalidInput, match="module:function"):
        client.set_retraining(MODEL, entry_point="not an entry point")
    with pytest.raises(InvalidInput, match="one label per request id"):
        client.log_labels(["a", "b"], [1])
    with pytest.raises(InvalidInput, match="missing"):
        client.log_labels(["a"], [None])
    with pytest.raises(InvalidInput, match="has no retraining job"):
        client.retrain(MODEL)
    if isinstance(client, RemoteClient):
        with pytest.raises(InvalidInput, match="server"):
            _ = client.monitors
        with pytest.raises(InvalidInput, match="modeldeck monitor check"):
            client.check_batch(MODEL, make(10, seed=1))
        with pytest.raises(InvalidInput, match=r"retrain\.start"):  # notes: retraining only
            client.http.post(
                f"/api/v1/monitors/{MODEL}/notes", {"action": "model.delete", "after": {}}
            )
