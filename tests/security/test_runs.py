"""Other people's runs: only a run's owner (or an admin) ends it, logs to it or adds artifacts
to it; a run's end is final; an artifact path is write-once; params, tags and metric writes
are audited, one record per request."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import httpx

from attack_support import Team, unique

API = "/api/v1"


def new_run(http: httpx.Client) -> str:
    made = http.post(f"{API}/runs", json={"experiment": unique("runs-attack")})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def upload(http: httpx.Client, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    put = http.put(f"{API}/objects/{digest}", content=data)
    assert put.status_code in (200, 201, 204), put.text
    return digest


def artifact(http: httpx.Client, run_id: str, path: str, data: bytes) -> httpx.Response:
    body = {"path": path, "digest": upload(http, data), "size": len(data)}
    return http.post(f"{API}/runs/{run_id}/artifacts", json=body)


def state(http: httpx.Client, run_id: str) -> dict[str, Any]:
    """What the attacks must leave as it was: the run, its history of m and its artifacts."""
    run = http.get(f"{API}/runs/{run_id}").json()
    history = http.get(f"{API}/runs/{run_id}/metrics/m").json()["metrics"]
    found = http.get(f"{API}/runs/{run_id}/artifacts").json()["artifacts"]
    keep = ("status", "end_time", "params", "tags", "metrics", "user")
    return {**{k: run[k] for k in keep}, "history": history, "artifacts": found}


def test_another_contributor_cannot_write_to_a_run(team: Team) -> None:
    alice, mallory = team.http("alice"), team.http("mallory")
    run_id = new_run(alice)
    assert alice.post(f"{API}/runs/{run_id}/params", json={"values": {"lr": "0.1"}}).is_success
    assert alice.post(f"{API}/runs/{run_id}/tags", json={"values": {"stage": "dev"}}).is_success
    metric = {"metrics": [{"key": "m", "value": 0.9, "step": 0}]}
    assert alice.post(f"{API}/runs/{run_id}/metrics", json=metric).is_success
    assert artifact(alice, run_id, "model.txt", b"alice's model").status_code == 201
    before_state = state(alice, run_id)
    before = team.audit_seq()
    attempts = {
        "run.end": mallory.post(f"{API}/runs/{run_id}/end", json={"status": "FAILED"}),
        "run.metrics": mallory.post(
            f"{API}/runs/{run_id}/metrics",
            json={"metrics": [{"key": "m", "value": 0.1, "step": 1}]},
        ),
        "run.params": mallory.post(f"{API}/runs/{run_id}/params", json={"values": {"x": "1"}}),
        "run.tags": mallory.post(f"{API}/runs/{run_id}/tags", json={"values": {"stage": "prod"}}),
        "artifact.log": artifact(mallory, run_id, "extra.txt", b"mallory's bytes"),
    }
    for action, answer in attempts.items():
        assert answer.status_code == 403, (action, answer.text)
        assert answer.json()["error"]["code"] == "PERMISSION_DENIED", answer.text
    assert state(alice, run_id) == before_state
    denials = team.denials_since(before, actor="mallory")
    assert sorted(d["action"] for d in denials) == sorted(f"denied:{a}" for a in attempts)
    assert {d["subject"] for d in denials} == {f"runs:/{run_id}"}


def test_a_run_of_a_contributor_is_written_by_an_admin(team: Team) -> None:
    run_id = new_run(team.http("alice"))
    root = team.http("root")
    assert root.post(f"{API}/runs/{run_id}/tags", json={"values": {"note": "ok"}}).is_success
    ended = root.post(f"{API}/runs/{run_id}/end", json={"status": "KILLED"})
    assert ended.status_code == 200, ended.text
    assert team.http("alice").get(f"{API}/runs/{run_id}").json()["status"] == "KILLED"


def test_a_finished_run_stays_finished(team: Team) -> None:
    alice = team.http("alice")
    run_id = new_run(alice)
    ended = alice.post(f"{API}/runs/{run_id}/end", json={"status": "FINISHED"})
    assert ended.status_code == 200, ended.text
    end_time = ended.json()["end_time"]
    before = team.audit_seq()
    again = alice.post(f"{API}/runs/{run_id}/end", json={"status": "FAILED"})
    assert again.status_code == 409, again.text
    reopened = alice.post(f"{API}/runs/{run_id}/end", json={"status": "RUNNING"})
    assert 400 <= reopened.status_code < 500, reopened.text
    retried = alice.post(f"{API}/runs/{run_id}/end", json={"status": "FINISHED"})
    assert retried.status_code == 200, retried.text  # a retry of the same end changes nothing
    run = alice.get(f"{API}/runs/{run_id}").json()
    assert (run["status"], run["end_time"]) == ("FINISHED", end_time)
    assert [r for r in team.audit_since(before) if r["action"] == "run.end"] == []


def test_an_artifact_path_is_written_once(team: Team) -> None:
    alice = team.http("alice")
    run_id = new_run(alice)
    first = artifact(alice, run_id, "model.bin", b"first bytes")
    assert first.status_code == 201, first.text
    digest = first.json()["digest"]
    assert artifact(alice, run_id, "model.bin", b"first bytes").status_code == 201  # a retry
    overwrite = artifact(alice, run_id, "model.bin", b"other bytes")
    assert overwrite.status_code == 409, overwrite.text
    assert (
        team.http("root")
        .post(
            f"{API}/runs/{run_id}/artifacts",
            json={"path": "model.bin", "digest": upload(alice, b"admin's"), "size": 7},
        )
        .status_code
        == 409
    )  # not even an admin re-points a path
    found = alice.get(f"{API}/runs/{run_id}/artifacts").json()["artifacts"]
    assert [(a["path"], a["digest"]) for a in found] == [("model.bin", digest)]
    assert alice.get(f"{API}/objects/{digest}", follow_redirects=True).content == b"first bytes"


def test_a_batch_of_metrics_is_one_audit_record(team: Team) -> None:
    alice = team.http("alice")
    run_id = new_run(alice)
    before = team.audit_seq()
    batch = {"metrics": [{"key": f"k{i}", "value": i, "step": 0} for i in range(100)]}
    logged = alice.post(f"{API}/runs/{run_id}/metrics", json=batch)
    assert logged.status_code == 200 and logged.json()["stored"] == 100, logged.text
    params = {"values": {f"p{i}": str(i) for i in range(20)}}
    assert alice.post(f"{API}/runs/{run_id}/params", json=params).status_code == 204
    assert alice.post(f"{API}/runs/{run_id}/tags", json=params).status_code == 204
    records = [r for r in team.audit_since(before) if r["subject"] == f"runs:/{run_id}"]
    assert [(r["actor"], r["action"]) for r in records] == [
        ("alice", "run.metrics"),
        ("alice", "run.params"),
        ("alice", "run.tags"),
    ]
    assert records[0]["after"]["count"] == 100 and len(records[0]["after"]["keys"]) == 100
    assert records[1]["after"]["keys"] == sorted(params["values"])


def test_a_revoked_role_stops_the_next_write(team: Team) -> None:
    """The role is checked in the write's own transaction: the server's role cache (up to a
    second old) does not let a write through once the role is gone."""
    name = unique("carol")
    carol = team.server.client(team.server.token_for(name, "contributor"))
    run_id = new_run(carol)
    # the role is now cached by the worker(s) that answered
    assert carol.post(f"{API}/runs/{run_id}/params", json={"values": {"a": "1"}}).is_success
    revoked = team.http("root").delete(f"{API}/projects/default/roles/{name}")
    assert revoked.status_code == 204, revoked.text
    before = team.audit_seq()
    started = time.monotonic()
    answer = carol.post(f"{API}/runs/{run_id}/params", json={"values": {"b": "2"}})
    assert answer.status_code == 403, answer.text
    assert time.monotonic() - started < 1
    assert team.http("root").get(f"{API}/runs/{run_id}").json()["params"] == {"a": "1"}
    # refused by the guard in the transaction, or at once by a worker that had not cached it
    denials = [d["action"] for d in team.denials_since(before, actor=name)]
    assert denials in (["denied:run.params"], ["denied:write runs"]), denials
    carol.close()


def test_a_limited_token_naming_anothers_run_does_not_make_it_yours(team: Team) -> None:
    alice, mallory = team.http("alice"), team.http("mallory")
    run_id = new_run(alice)
    made = mallory.post(
        f"{API}/tokens", json={"expires_in_days": 0.1, "scope": {"runs": [run_id], "models": []}}
    )
    assert made.status_code == 201, made.text
    before = team.audit_seq()
    with team.server.client(made.json()["token"]) as limited:
        answer = limited.post(f"{API}/runs/{run_id}/params", json={"values": {"x": "1"}})
    assert answer.status_code == 403, answer.text
    assert alice.get(f"{API}/runs/{run_id}").json()["params"] == {}
    denials = team.denials_since(before, actor="mallory")
    assert [d["action"] for d in denials] == ["denied:run.params"]
