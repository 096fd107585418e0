"""The front door: no body is read without a valid token, anonymous floods are counted and
rate-limited rather than audited one by one, and a limited token stays inside its scope."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from attack_support import Team, unique


def test_a_request_without_a_token_is_refused_before_its_body_is_read(team: Team) -> None:
    """Headers announcing a gigabyte, no body sent: the answer comes at once, not after a
    gigabyte (or a timeout)."""
    where = urlsplit(team.server.url)
    with socket.create_connection((where.hostname, where.port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000\r\n\r\n"
        )
        started = time.monotonic()
        answer = sock.recv(4096)
    assert answer.startswith((b"HTTP/1.1 401", b"HTTP/1.1 429")), answer[:200]
    assert time.monotonic() - started < 2


def test_an_anonymous_flood_adds_no_audit_row_per_request(team: Team) -> None:
    before = team.audit_seq()
    with team.anonymous() as anonymous:
        statuses = [
            anonymous.post("/api/v1/runs", json={"experiment": "flood"}).status_code
            for _ in range(200)
        ]
    assert set(statuses) <= {401, 429} and 401 in statuses
    assert 429 in statuses  # the address spent its budget of refusals
    # at most one aggregated record per worker (two) per interval (one second here)
    assert len(team.denials_since(before)) <= 4
    # a valid token from the same address is never limited
    made = team.http("alice").post("/api/v1/runs", json={"experiment": unique("after-flood")})
    assert made.status_code == 201, made.text
    time.sleep(1.5)  # the interval passes: each worker writes what it counted
    denials = team.denials_since(before)
    assert 1 <= len(denials) <= 6, denials
    assert {(d["actor"], d["action"]) for d in denials} == {("anonymous", "denied:auth")}
    assert sum(d["after"].get("count", 1) for d in denials) == 200
    metrics = team.anonymous().get("/metrics").text
    assert "modeldeck_auth_refused_total" in metrics


def test_a_limited_token_stays_inside_its_run(team: Team) -> None:
    alice = team.http("alice")
    mine = alice.post("/api/v1/runs", json={"experiment": unique("scoped")}).json()["id"]
    other = alice.post("/api/v1/runs", json={"experiment": unique("scoped")}).json()["id"]
    made = alice.post(
        "/api/v1/tokens",
        json={"expires_in_days": 0.1, "scope": {"runs": [mine], "models": ["churn-scoped"]}},
    )
    assert made.status_code == 201, made.text
    assert made.json()["info"]["scope"] == {"runs": [mine], "models": ["churn-scoped"]}
    limited = team.server.client(made.json()["token"])
    ok = limited.post(f"/api/v1/runs/{mine}/params", json={"values": {"lr": "0.1"}})
    assert ok.status_code == 204, ok.text
    before = team.audit_seq()
    attempts = [
        limited.post(f"/api/v1/runs/{other}/params", json={"values": {"lr": "9"}}),
        limited.post("/api/v1/tokens", json={"expires_in_days": 1}),
        limited.post("/api/v1/runs", json={"experiment": "escape"}),
        limited.put("/api/v1/models/other-model/aliases/champion", json={"version": 1}),
        limited.get("/api/v1/audit"),
    ]
    assert [a.status_code for a in attempts] == [403] * len(attempts)
    assert alice.get(f"/api/v1/runs/{other}").json()["params"] == {}
    denials = team.denials_since(before, actor="alice")
    assert len(denials) == len(attempts) and {d["action"] for d in denials} == {"denied:scope"}
    limited.close()


def test_a_limited_token_must_expire_within_a_day(team: Team) -> None:
    run = team.http("alice").post("/api/v1/runs", json={"experiment": unique("scoped")}).json()
    refused = team.http("alice").post(
        "/api/v1/tokens", json={"expires_in_days": 30, "scope": {"runs": [run["id"]]}}
    )
    assert refused.status_code == 400 and "within 1 day" in refused.text
