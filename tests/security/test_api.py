"""The API's own defences: bodies over a route's limit, text that no store or terminal should
get, the last admin locking everyone out, a UI cookie outliving its sign-out, and UI pages
that another site could frame or inject scripts into."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from attack_support import Team, unique

MiB = 1024 * 1024


def raw_json(value: Any) -> bytes:
    """JSON with every non-ASCII character escaped, so a lone surrogate travels as ``\\ud800``
    (httpx's own encoder writes UTF-8, which cannot carry one)."""
    return json.dumps(value, ensure_ascii=True).encode("ascii")


def experiment_exists(team: Team, name: str) -> bool:
    found = team.http("root").get(f"/api/v1/experiments/{quote(name, safe='')}")
    assert found.status_code in (200, 404), found.text
    return found.status_code == 200


# --- body size -------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_at_once_and_stores_nothing(team: Team) -> None:
    name = unique("too-large")
    body = raw_json({"experiment": name, "tags": {"padding": "x" * (9 * MiB)}})
    started = time.monotonic()
    refused = team.http("mallory").post(
        "/api/v1/runs", content=body, headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"]["code"] == "TOO_LARGE"
    assert time.monotonic() - started < 5
    assert not experiment_exists(team, name)


def test_a_chunked_body_is_cut_off_at_the_limit(team: Team) -> None:
    """No Content-Length to check: the bytes are counted as they are read."""
    name = unique("chunked")

    def chunks() -> Iterator[bytes]:
        yield raw_json({"experiment": name, "tags": {"padding": ""}})[:-3]
        for _ in range(10):
            yield b"x" * MiB
        yield b'"}}'

    refused = team.http("mallory").post(
        "/api/v1/runs", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 413, refused.text
    assert not experiment_exists(team, name)


def test_a_declared_length_over_the_limit_is_answered_before_the_body_is_sent(team: Team) -> None:
    where = urlsplit(team.server.url)
    token = team.tokens["mallory"].encode()
    with socket.create_connection((where.hostname, where.port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + token + b"\r\nContent-Length: 1000000000\r\n\r\n"
        )
        started = time.monotonic()
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 2


# --- text ------------------------------------------------------------------------------------

BAD_TEXT = ["lone \ud800 surrogate", "nul \x00 byte", "escape \x1b[31m", "c1 \x85 next line"]


@pytest.mark.parametrize("bad", BAD_TEXT, ids=["surrogate", "nul", "escape", "c1"])
def test_bad_text_in_an_experiment_name_is_refused(team: Team, bad: str) -> None:
    name = unique("bad-name") + bad
    refused = team.http("mallory").post(
        "/api/v1/runs",
        content=raw_json({"experiment": name}),
        headers={"Content-Type": "application/json"},
    )
    assert refused.status_code == 422, refused.text
    assert "experiment" in refused.json()["error"]["message"]
    clean = name.encode("utf-8", "replace").decode("utf-8")
    listed = team.http("root").get("/api/v1/experiments").json()["experiments"]
    assert not any(e["name"] in (name, clean) for e in listed)


@pytest.mark.parametrize("bad", BAD_TEXT, ids=["surrogate", "nul", "escape", "c1"])
def test_bad_text_in_a_tag_is_refused(team: Team, bad: str) -> None:
    alice = team.http("alice")
    run = alice.post("/api/v1/runs", json={"experiment": unique("tags")}).json()["id"]
    for tags in ({"note": bad}, {bad: "value"}):
        refused = alice.post(
            f"/api/v1/runs/{run}/tags",
            content=raw_json({"tags": tags}),
            headers={"Content-Type": "application/json"},
        )
        assert refused.status_code == 422, refused.text
    assert team.http("root").get(f"/api/v1/runs/{run}").json()["tags"] == {}


@pytest.mark.parametrize("bad", BAD_TEXT, ids=["surrogate", "nul", "escape", "c1"])
def test_bad_text_in_an_artifact_path_is_refused(team: Team, bad: str) -> None:
    alice = team.http("alice")
    run = alice.post("/api/v1/runs", json={"experiment": unique("artifacts")}).json()["id"]
    refused = alice.post(
        f"/api/v1/runs/{run}/artifacts",
        content=raw_json({"path": f"model/{bad}.pkl", "digest": "0" * 64, "size": 1}),
        headers={"Content-Type": "application/json"},
    )
    assert refused.status_code == 422, refused.text
    assert team.http("root").get(f"/api/v1/runs/{run}/artifacts").json()["artifacts"] == []


def test_bad_text_in_a_path_or_query_parameter_is_refused(team: Team) -> None:
    mallory = team.http("mallory")
    assert mallory.get("/api/v1/experiments/a%00b").status_code == 422
    assert mallory.get("/api/v1/models/a%1Bb").status_code == 422
    found = mallory.get("/api/v1/models", params={"filter": "x\x07"})
    assert found.status_code == 422, found.text


# --- the last admin --------------------------------------------------------------------------


def test_the_only_admin_cannot_disable_themselves(team: Team) -> None:
    root = team.http("root")
    before = team.audit_seq()
    refused = root.put("/api/v1/users/root/disabled", json={"disabled": True})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "LAST_ADMIN"
    assert "only enabled admin" in refused.json()["error"]["message"]
    mine = root.get("/api/v1/whoami")
    assert mine.status_code == 200 and mine.json()["role"] == "admin"
    denials = team.denials_since(before, "root")
    assert [d["action"] for d in denials] == ["denied:user.disable"]


def test_the_only_admin_cannot_drop_their_admin_role(team: Team) -> None:
    root = team.http("root")
    before = team.audit_seq()
    demoted = root.put("/api/v1/projects/default/roles/root", json={"role": "contributor"})
    assert demoted.status_code == 409, demoted.text
    revoked = root.delete("/api/v1/projects/default/roles/root")
    assert revoked.status_code == 409, revoked.text
    assert root.get("/api/v1/whoami").json()["role"] == "admin"
    actions = [d["action"] for d in team.denials_since(before, "root")]
    assert actions == ["denied:role.grant", "denied:role.revoke"]


# --- the UI ----------------------------------------------------------------------------------


def sign_in(team: Team, who: str) -> str:
    """The session cookie the UI sets for ``who``'s pasted token."""
    with httpx.Client(base_url=team.server.url, follow_redirects=False) as browser:
        answer = browser.post("/ui/signin", data={"token": team.tokens[who], "next": "/ui/runs"})
        assert answer.status_code == 303, answer.text
        return str(browser.cookies["modeldeck_token"])


def test_a_ui_cookie_is_refused_after_sign_out(team: Team) -> None:
    cookie = sign_in(team, "alice")
    assert cookie != team.tokens["alice"]  # a session token of its own, not the pasted one
    before = team.audit_seq()
    with httpx.Client(base_url=team.server.url, cookies={"modeldeck_token": cookie}) as stolen:
        assert stolen.get("/ui/runs").status_code == 200
        out = stolen.post("/ui/signout")
        assert out.status_code == 303
    with httpx.Client(base_url=team.server.url, cookies={"modeldeck_token": cookie}) as stolen:
        again = stolen.get("/ui/runs")
        assert again.status_code == 303
        assert again.headers["location"].startswith("/ui/signin")
    api = team.server.client(cookie).get("/api/v1/whoami")
    assert api.status_code == 401
    assert [r["action"] for r in team.audit_since(before) if r["actor"] == "alice"][:1] == [
        "token.revoke"
    ]
    # the token alice pasted is hers to keep
    assert team.http("alice").get("/api/v1/whoami").status_code == 200


def test_ui_responses_forbid_framing_and_foreign_scripts(team: Team) -> None:
    cookie = sign_in(team, "victor")
    with httpx.Client(base_url=team.server.url, cookies={"modeldeck_token": cookie}) as browser:
        for path in ("/ui/signin", "/ui/runs", "/ui/static/ui.css", "/"):
            answer = browser.get(path)
            csp = answer.headers.get("content-security-policy", "")
            assert "frame-ancestors 'none'" in csp, path
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
            assert answer.headers.get("x-frame-options") == "DENY", path
            assert answer.headers.get("x-content-type-options") == "nosniff", path
            assert answer.headers.get("referrer-policy") == "same-origin", path
        page = browser.get("/ui/runs")
        nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"])
        assert nonce is not None
        for tag in re.findall(r"<script[^>]*>", page.text):
            assert "src=" in tag or f'nonce="{nonce.group(1)}"' in tag, tag
