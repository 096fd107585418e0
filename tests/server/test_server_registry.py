"""The registry, governance and audit API of a real server process, and the remote client's
registry half against it: who may register, review and promote, what the audit log keeps,
tokens and users, idempotent retries, and the same answers as the embedded store gives."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pandas as pd
import pytest

from modeldeck.client.http import Http
from modeldeck.client.remote_registry import RemoteRegistryMethods
from modeldeck.core.errors import GateFailed, InvalidInput, NotFound, PermissionDenied
from modeldeck.core.governance import Decision, Role
from server_support import Server, within_a_second

API = "/api/v1"
PASSING = {"checks": [{"name": "metric:auc>=0.7", "verdict": "pass", "value": 0.8}]}
PNG = b"\x89PNG\r\n\x1a\nnot really a picture"


@dataclass
class People:
    """One user per role, each with a token, and the server's admin."""

    admin: str
    contributor: str
    reviewer: str
    viewer: str
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def people(server: Server) -> People:
    tag = uuid.uuid4().hex[:6]
    names = {role: f"{role[:4]}-{tag}" for role in ("contributor", "reviewer", "viewer")}
    tokens = {name: server.token_for(name, role) for role, name in names.items()}
    tokens["root"] = server.admin_token
    return People("root", names["contributor"], names["reviewer"], names["viewer"], tokens)


@pytest.fixture(scope="module")
def source(server: Server) -> str:
    """A finished run of the admin's that used a dataset and logged a small sklearn model."""
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "y": [0, 0, 0, 1, 1, 1]})
    owner = server.admin()
    try:
        run = owner.create_run("registry-api", name="train")
        owner.log_dataset(run.id, frame, name=f"customers-{run.id[:6]}", context="train")
        model = LogisticRegression().fit(frame[["x"]], frame["y"])
        owner.log_model(run.id, model, "model", input_example=frame[["x"]])
        owner.end_run(run.id)
    finally:
        owner.close()
    return f"runs:/{run.id}/model"


@pytest.fixture
def as_user(server: Server, people: People) -> Iterator[Any]:
    opened: list[httpx.Client] = []

    def client(name: str) -> httpx.Client:
        http = server.client(people.tokens[name])
        opened.append(http)
        return http

    yield client
    for http in opened:
        http.close()


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    if code is not None:
        assert body["error"]["code"] == code
    assert "Traceback" not in response.text
    return dict(body["error"])


def model_name() -> str:
    return f"churn-{uuid.uuid4().hex[:8]}"


def register(http: httpx.Client, name: str, source: str, **extra: Any) -> dict[str, Any]:
    response = http.post(f"{API}/models/{name}/versions", json={"source": source, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def evidence(passed: bool = True) -> dict[str, Any]:
    return {
        "result": PASSING,
        "policy": {"checks": []},
        "passed": passed,
        "plots": {"roc": base64.b64encode(PNG).decode()},
    }


def audit(server: Server, **filters: Any) -> list[dict[str, Any]]:
    with server.client(server.admin_token) as http:
        response = http.get(f"{API}/audit", params=filters)
    assert response.status_code == 200, response.text
    return list(response.json()["records"])


# --- registering and reviewing ------------------------------------------------------------------


def test_a_contributor_registers_and_a_reviewer_approves(
    as_user: Any, people: People, source: str
) -> None:
    name = model_name()
    author, reviewer = as_user(people.contributor), as_user(people.reviewer)
    version = register(author, name, source, description="first", tags={"stage": "dev"})
    assert version["version"] == 1 and version["created_by"] == people.contributor
    assert version["flavor"] == "sklearn" and version["tags"] == {"stage": "dev"}
    assert version["run_id"] == source.split("/")[1]
    url = f"{API}/models/{name}/versions/1"
    approval = reviewer.post(f"{url}/approve", json={"comment": "fine"})
    assert approval.status_code == 200, approval.text
    assert approval.json()["reviewer"] == people.reviewer
    assert approval.json()["decision"] == "approved"
    decisions = author.get(f"{url}/decisions").json()["decisions"]
    assert [(d["reviewer"], d["decision"]) for d in decisions] == [(people.reviewer, "approved")]
    assert author.get(f"{API}/models/{name}").json()["latest_version"] == 1
    assert author.put(f"{url}/description", json={"text": "second"}).status_code == 204
    assert author.post(f"{url}/tags", json={"tags": {"owner": "ml"}}).status_code == 204
    got = author.get(url).json()
    assert got["description"] == "second" and got["tags"] == {"stage": "dev", "owner": "ml"}
    listed = author.get(f"{API}/models", params={"name_like": name}).json()["models"]
    assert [m["name"] for m in listed] == [name]


def test_an_author_cannot_approve_their_own_version(
    as_user: Any, people: People, source: str
) -> None:
    name = model_name()
    reviewer = as_user(people.reviewer)
    register(reviewer, name, source)
    response = reviewer.post(f"{API}/models/{name}/versions/1/approve", json={})
    error = assert_error(response, 403, "PERMISSION_DENIED")
    assert "cannot approve" in error["message"]


def test_a_contributor_cannot_approve(as_user: Any, people: People, source: str) -> None:
    name = model_name()
    register(as_user(people.reviewer), name, source)
    response = as_user(people.contributor).post(f"{API}/models/{name}/versions/1/approve", json={})
    error = assert_error(response, 403, "PERMISSION_DENIED")
    assert "reviewer" in error["message"]


def test_a_viewer_reads_but_writes_nothing_and_each_refusal_is_audited(
    server: Server, as_user: Any, people: People, source: str
) -> None:
    name = model_name()
    register(as_user(people.contributor), name, source)
    viewer = as_user(people.viewer)
    url = f"{API}/models/{name}/versions/1"
    assert viewer.get(url).status_code == 200
    refused = [
        viewer.post(f"{API}/models/{name}/versions", json={"source": source}),
        viewer.post(f"{url}/approve", json={}),
        viewer.post(f"{url}/reject", json={}),
        viewer.put(f"{API}/models/{name}/aliases/staging", json={"version": 1}),
        viewer.post(f"{url}/evaluations", json=evidence()),
        viewer.put(f"{url}/description", json={"text": "mine now"}),
        viewer.put(f"{url}/card/sections", json={"sections": {"intended_use": "anything"}}),
        viewer.put(f"{API}/models/{name}/protected-aliases", json={"aliases": []}),
        viewer.put(f"{API}/projects/default/roles/{people.viewer}", json={"role": "admin"}),
        viewer.put(f"{API}/projects/fresh-{name}/roles/{people.viewer}", json={"role": "admin"}),
        viewer.post(f"{API}/users", json={"name": f"sock-{name}"}),
        viewer.post(f"{API}/tokens", json={}),
    ]
    for response in refused:
        assert_error(response, 403, "PERMISSION_DENIED")
    assert [
        v["version"] for v in viewer.get(f"{API}/models/{name}/versions").json()["versions"]
    ] == [1]
    assert viewer.get(f"{url}/evaluations").json()["evaluations"] == []
    assert viewer.get(f"{url}/decisions").json()["decisions"] == []
    assert viewer.get(f"{API}/models/{name}").json()["aliases"] == {}
    denied = {r["action"] for r in audit(server, actor=people.viewer, limit=1000)}
    assert {
        "denied:version.register",
        "denied:version.approve",
        "denied:version.reject",
        "denied:alias.move",
        "denied:version.evaluate",
        "denied:version.describe",
        "denied:card.edit",
        "denied:model.protect",
        "denied:role.grant",
        "denied:user.add",
        "denied:token.create",
    } <= denied
    promote = audit(server, actor=people.viewer, action="denied:alias.move")[0]
    assert promote["subject"] == f"models:/{name}/1"
    assert "viewer" in promote["after"]["reason"]


# --- promotion ---------------------------------------------------------------------------------


def test_a_protected_alias_moves_only_with_passed_gates_and_an_approval(
    as_user: Any, people: People, source: str
) -> None:
    name = model_name()
    author, reviewer = as_user(people.contributor), as_user(people.reviewer)
    register(author, name, source)
    url = f"{API}/models/{name}/versions/1"
    champion = f"{API}/models/{name}/aliases/champion"
    error = assert_error(author.put(champion, json={"version": 1}), 409, "GATE_FAILED")
    assert "no gate evidence" in error["message"] and "no approval" in error["message"]
    assert len(author.get(f"{url}/blockers").json()["blockers"]) == 2

    recorded = author.post(f"{url}/evaluations", json=evidence())
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["passed"] is True and set(recorded.json()["plots"]) == {"roc"}
    assert len(author.get(f"{url}/evaluations").json()["evaluations"]) == 1
    assert reviewer.post(f"{url}/approve", json={}).status_code == 200
    # the author's own evidence is kept but cannot promote
    (blocker,) = author.get(f"{url}/blockers").json()["blockers"]
    assert "no gate evidence that counts" in blocker
    assert reviewer.post(f"{url}/evaluations", json=evidence()).status_code == 201
    assert author.get(f"{url}/blockers").json() == {"blockers": []}

    moved = author.put(champion, json={"version": 1})
    assert moved.status_code == 200, moved.text
    event = moved.json()["event"]
    assert (event["version"], event["previous_version"], event["actor"]) == (
        1,
        None,
        people.contributor,
    )
    assert author.put(champion, json={"version": 1}).json() == {"event": None}
    assert author.get(champion).json()["version"] == 1
    history = author.get(f"{API}/models/{name}/alias-history", params={"alias": "champion"})
    assert [e["version"] for e in history.json()["events"]] == [1]
    now = int(time.time() * 1000) + 1000
    at = f"{champion}/version-at"
    assert author.get(at, params={"at": now}).json() == {"version": 1}
    assert author.get(at, params={"at": 0}).json() == {"version": None}
    # a protected alias is removed by admins only; an unprotected one moves freely
    assert_error(author.delete(champion), 403, "PERMISSION_DENIED")
    challenger = f"{API}/models/{name}/aliases/challenger"
    assert author.put(challenger, json={"version": 1}).status_code == 200
    assert author.delete(challenger).status_code == 204
    assert_error(author.get(challenger), 404, "NOT_FOUND")


def test_a_rejection_blocks_the_protected_alias(as_user: Any, people: People, source: str) -> None:
    name = model_name()
    author, reviewer = as_user(people.contributor), as_user(people.reviewer)
    register(author, name, source)
    url = f"{API}/models/{name}/versions/1"
    author.post(f"{url}/evaluations", json=evidence())
    reviewer.post(f"{url}/reject", json={"comment": "bias in the south"})
    blockers = author.get(f"{url}/blockers").json()["blockers"]
    assert any("bias in the south" in b for b in blockers)
    moved = author.put(f"{API}/models/{name}/aliases/champion", json={"version": 1})
    assert_error(moved, 409, "GATE_FAILED")


# --- idempotency and errors --------------------------------------------------------------------


def test_a_retried_register_with_the_same_key_makes_one_version(
    as_user: Any, people: People, source: str
) -> None:
    name = model_name()
    author = as_user(people.contributor)
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    url = f"{API}/models/{name}/versions"
    first = author.post(url, json={"source": source}, headers=headers)
    again = author.post(url, json={"source": source}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert [v["version"] for v in author.get(url).json()["versions"]] == [1]
    other = author.post(url, json={"source": source, "description": "x"}, headers=headers)
    assert_error(other, 409, "CONFLICT")
    assert author.post(url, json={"source": source}).json()["version"] == 2  # no key: a new one


def test_unknown_models_and_versions_are_404_with_the_error_shape(
    as_user: Any, people: People
) -> None:
    http = as_user(people.viewer)
    assert_error(http.get(f"{API}/models/no-such-model"), 404, "NOT_FOUND")
    assert_error(http.get(f"{API}/models/no-such-model/versions/1"), 404, "NOT_FOUND")
    assert_error(http.get(f"{API}/models/no-such-model/versions/1/lineage"), 404, "NOT_FOUND")
    assert_error(http.get(f"{API}/models/no-such-model/aliases/champion"), 404, "NOT_FOUND")
    reviewer = as_user(people.reviewer)
    assert_error(reviewer.post(f"{API}/models/no-such-model/versions/1/approve", json={}), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"source": "models:/churn/1"},
        {"source": "runs:/0123/model"},
        {"source": "runs:/" + "0" * 32 + "/model"},
    ],
)
def test_a_source_that_is_not_a_logged_package_is_refused(
    as_user: Any, people: People, body: dict[str, Any]
) -> None:
    response = as_user(people.contributor).post(f"{API}/models/{model_name()}/versions", json=body)
    assert response.status_code in (400, 404), response.text
    assert_error(response, response.status_code)


@pytest.mark.parametrize(
    "body",
    [
        {**evidence(), "plots": {"roc": "not base64!"}},
        {**evidence(), "result": {"auc": [1.0, float("nan")]}},
        {**evidence(), "surprise": True},
    ],
    ids=["bad-base64", "nan", "extra-field"],
)
def test_malformed_evidence_is_422(
    as_user: Any, people: People, source: str, body: dict[str, Any]
) -> None:
    name = model_name()
    author = as_user(people.contributor)
    register(author, name, source)
    # httpx refuses NaN in json=, so the body is written by hand as a lax client would
    content = json.dumps(body).encode()
    response = author.post(
        f"{API}/models/{name}/versions/1/evaluations",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 422, "VALIDATION_ERROR")


# --- audit -------------------------------------------------------------------------------------


def test_the_audit_chain_verifies(as_user: Any, people: People) -> None:
    check = as_user(people.viewer).get(f"{API}/audit/verify").json()
    assert check["ok"] is True and check["records"] > 0 and check["first_bad_seq"] is None


def test_non_admins_read_the_trail_of_models_only(
    server: Server, as_user: Any, people: People, source: str
) -> None:
    name = model_name()
    author = as_user(people.contributor)
    register(author, name, source)
    mine = author.get(f"{API}/audit", params={"subject": f"models:/{name}"}).json()["records"]
    assert [r["action"] for r in mine] == ["version.register", "model.create"]
    everything = author.get(f"{API}/audit", params={"limit": 200}).json()["records"]
    assert everything and all(r["subject"].startswith("models:/") for r in everything)
    assert_error(author.get(f"{API}/audit", params={"subject": "users:/root"}), 403)
    assert audit(server, subject="users:/root")  # an admin reads everything
    assert_error(author.get(f"{API}/audit", params={"limit": 10**6}), 422)


# --- roles, users and tokens -------------------------------------------------------------------


def test_whoami_and_roles(as_user: Any, people: People) -> None:
    viewer = as_user(people.viewer)
    assert viewer.get(f"{API}/whoami").json() == {
        "user": people.viewer,
        "project": "default",
        "role": "viewer",
    }
    roles = viewer.get(f"{API}/projects/default/roles").json()["roles"]
    assert roles[people.reviewer] == "reviewer" and roles["root"] == "admin"
    admin = as_user(people.admin)
    project = f"team-{uuid.uuid4().hex[:6]}"
    grant = admin.put(f"{API}/projects/{project}/roles/{people.viewer}", json={"role": "reviewer"})
    assert grant.status_code == 204, grant.text
    assert viewer.get(f"{API}/whoami", params={"project": project}).json()["role"] == "reviewer"
    assert_error(
        as_user(people.contributor).delete(f"{API}/projects/{project}/roles/{people.viewer}"), 403
    )
    assert admin.delete(f"{API}/projects/{project}/roles/{people.viewer}").status_code == 204
    assert viewer.get(f"{API}/whoami", params={"project": project}).json()["role"] == "viewer"


def test_users_are_managed_by_admins(server: Server, as_user: Any, people: People) -> None:
    contributor, admin = as_user(people.contributor), as_user(people.admin)
    assert_error(contributor.get(f"{API}/users"), 403, "PERMISSION_DENIED")
    name = f"dana-{uuid.uuid4().hex[:6]}"
    added = admin.post(f"{API}/users", json={"name": name})
    assert added.status_code == 201 and added.json()["name"] == name
    assert name in [u["name"] for u in admin.get(f"{API}/users").json()["users"]]
    assert_error(admin.post(f"{API}/users", json={"name": name}), 409, "ALREADY_EXISTS")
    issued = admin.post(f"{API}/tokens", json={"user": name}).json()["token"]
    with server.client(issued) as dana:
        assert dana.get(f"{API}/whoami").status_code == 200
        assert_error(contributor.put(f"{API}/users/{name}/disabled", json={"disabled": True}), 403)
        assert admin.put(f"{API}/users/{name}/disabled", json={"disabled": True}).status_code == 204
        assert_error(within_a_second(lambda: dana.get(f"{API}/whoami"), 401), 401)


def test_tokens_are_the_owners_own_and_admins_see_all(
    server: Server, as_user: Any, people: People
) -> None:
    contributor, admin = as_user(people.contributor), as_user(people.admin)
    created = contributor.post(f"{API}/tokens", json={"description": "ci", "expires_in_days": 1})
    assert created.status_code == 201, created.text
    secret, token_id = created.json()["token"], created.json()["info"]["id"]
    assert created.json()["info"]["user"] == people.contributor
    with server.client(secret) as ci:
        assert ci.get(f"{API}/whoami").json()["user"] == people.contributor
    own = contributor.get(f"{API}/tokens").json()["tokens"]
    assert own and {t["user"] for t in own} == {people.contributor}
    assert all("token" not in t and "secret" not in str(t) for t in own)
    assert_error(contributor.get(f"{API}/tokens", params={"user": "root"}), 403)
    assert_error(contributor.post(f"{API}/tokens", json={"user": people.reviewer}), 403)
    reviewer_tokens = admin.get(f"{API}/tokens", params={"user": people.reviewer}).json()["tokens"]
    assert_error(contributor.delete(f"{API}/tokens/{reviewer_tokens[0]['id']}"), 403)
    everyone = {t["user"] for t in admin.get(f"{API}/tokens").json()["tokens"]}
    assert {people.contributor, people.reviewer, "root"} <= everyone
    assert contributor.delete(f"{API}/tokens/{token_id}").status_code == 204
    with server.client(secret) as ci:
        assert_error(within_a_second(lambda: ci.get(f"{API}/whoami"), 401), 401)
    assert_error(contributor.post(f"{API}/tokens", json={"expires_in_days": 0}), 422)
    assert secret not in server.log.read_text()


def test_only_admins_give_tokens_without_expiry_or_over_90_days(
    as_user: Any, people: People
) -> None:
    """A leaked token must not mint a lasting one that survives the leak's revocation."""
    contributor, admin = as_user(people.contributor), as_user(people.admin)
    for days in (None, 91):
        refused = contributor.post(f"{API}/tokens", json={"expires_in_days": days})
        assert_error(refused, 403, "PERMISSION_DENIED")
    assert contributor.post(f"{API}/tokens", json={"expires_in_days": 90}).status_code == 201
    lasting = admin.post(
        f"{API}/tokens", json={"user": people.contributor, "expires_in_days": None}
    )
    assert lasting.status_code == 201 and lasting.json()["info"]["expires_at"] is None
    denied = admin.get(f"{API}/audit", params={"actor": people.contributor}).json()["records"]
    assert any(r["action"].startswith("denied:token.create without expiry") for r in denied)


def test_a_retried_token_request_makes_one_token_and_never_repeats_its_secret(
    as_user: Any, people: People
) -> None:
    contributor = as_user(people.contributor)
    before = len(contributor.get(f"{API}/tokens").json()["tokens"])
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    first = contributor.post(f"{API}/tokens", json={"description": "retry"}, headers=headers)
    again = contributor.post(f"{API}/tokens", json={"description": "retry"}, headers=headers)
    assert first.status_code == 201
    error = assert_error(again, 409, "CONFLICT")
    assert first.json()["info"]["id"] in error["message"]
    assert first.json()["token"] not in again.text
    assert len(contributor.get(f"{API}/tokens").json()["tokens"]) == before + 1


# --- model cards -------------------------------------------------------------------------------


def test_a_model_card_is_edited_reviewed_and_rendered(
    as_user: Any, people: People, source: str
) -> None:
    name = model_name()
    author, reviewer = as_user(people.contributor), as_user(people.reviewer)
    register(author, name, source)
    card = f"{API}/models/{name}/versions/1/card"
    assert author.get(card).json()["status"] == "draft"
    edited = author.put(f"{card}/sections", json={"sections": {"intended_use": "churn triage"}})
    assert edited.status_code == 200, edited.text
    assert edited.json()["sections"]["intended_use"] == "churn triage"
    assert edited.json()["edited"] == ["intended_use"]
    assert author.put(f"{card}/status", json={"status": "in_review"}).status_code == 200
    assert_error(author.put(f"{card}/status", json={"status": "approved"}), 403)
    assert (
        reviewer.put(f"{card}/status", json={"status": "approved"}).json()["status"] == "approved"
    )
    text = author.get(f"{card}/render").json()
    assert text["format"] == "markdown" and "churn triage" in text["text"]
    assert (
        author.get(f"{card}/render", params={"format": "html"})
        .json()["text"]
        .startswith("<!DOCTYPE html>")
    )
    assert_error(author.get(f"{card}/render", params={"format": "pdf"}), 422, "VALIDATION_ERROR")


# --- the remote client's registry half ----------------------------------------------------------


class Remote(RemoteRegistryMethods):
    """The registry half of a remote client, alone: what RemoteClient mixes it into."""

    def __init__(self, server: Server, token: str) -> None:
        self.http = Http(server.url, token, retries=1)
        self.settings = server.settings

    def flush(self) -> None:
        pass


@pytest.fixture
def remote(server: Server, people: People) -> Iterator[Any]:
    made: list[Remote] = []

    def client(name: str) -> Remote:
        made.append(Remote(server, people.tokens[name]))
        return made[-1]

    yield client
    for each in made:
        each.http.close()


def test_the_remote_registry_answers_as_the_embedded_store_does(
    server: Server, remote: Any, people: People, source: str
) -> None:
    name = model_name()
    author, reviewer, admin = (
        remote(people.contributor),
        remote(people.reviewer),
        remote(people.admin),
    )
    local = server.admin()
    try:
        version = author.register_model(source, name, description="v1", tags={"seed": 7})
        assert version == local.get_model_version(name, 1)
        assert version.tags == {"seed": "7"} and version.created_by == people.contributor
        assert author.get_registered_model(name) == local.get_registered_model(name)
        assert author.model_versions(name) == local.model_versions(name)
        assert author.search_models(name) == local.search_models(name)

        evaluation = reviewer.record_evaluation(
            name, 1, result=PASSING, policy={"checks": []}, passed=True, plots={"roc": PNG}
        )
        assert author.evaluations(name, 1) == local.evaluations(name, 1) == [evaluation]
        assert local.read_object(evaluation.plots["roc"]) == PNG
        approval = reviewer.approve(name, 1, "ok")
        assert approval.decision is Decision.APPROVED
        assert author.decisions(name, 1) == local.decisions(name, 1) == [approval]
        assert author.promotion_blockers(name, 1) == []

        event = author.promote(name, 1)
        assert event is not None and event.version == 1 and event.actor == people.contributor
        assert author.promote(name, 1) is None
        assert author.alias_history(name) == local.alias_history(name) == [event]
        champion = dataclasses.replace(version, aliases=("champion",))
        assert author.resolve_model_version(f"models:/{name}@champion") == champion
        assert author.resolve_model_uri(f"models:/{name}/1") == local.resolve_model_uri(
            f"models:/{name}/1"
        )
        assert author.version_at(name, "champion", event.at) == 1
        assert author.version_at(name, "champion", 0) is None

        assert author.lineage(name, 1) == local.lineage(name, 1)
        dataset = author.lineage(name, 1).inputs[0].dataset.name
        assert author.trained_on(dataset) == local.trained_on(dataset)
        assert admin.audit_log(limit=50) == local.audit_log(limit=50)
        assert author.audit_log(subject=f"models:/{name}") == local.audit_log(
            subject=f"models:/{name}"
        )
        assert admin.verify_audit() == local.verify_audit()
        assert author.roles() == local.roles()
        assert author.model_card(name, 1) == local.model_card(name, 1)
        assert author.render_model_card(name, 1) == local.render_model_card(name, 1)
        edited = author.edit_model_card(name, 1, {"intended_use": "triage"})
        assert edited == local.model_card(name, 1)
        assert author.set_model_card_status(name, 1, "in_review").status == "in_review"
    finally:
        local.close()


def test_the_remote_registry_raises_what_the_embedded_store_raises(
    remote: Any, people: People, source: str
) -> None:
    name = model_name()
    author, viewer = remote(people.contributor), remote(people.viewer)
    author.register_model(source, name)
    with pytest.raises(NotFound):
        viewer.get_model_version(name, 2)
    with pytest.raises(PermissionDenied):
        viewer.promote(name, 1, "staging")
    with pytest.raises(PermissionDenied, match="reviewer"):
        author.approve(name, 1)
    with pytest.raises(GateFailed, match="no gate evidence"):
        author.promote(name, 1)
    with pytest.raises(InvalidInput):
        author.get_model_version(name, "latest")
    with pytest.raises(InvalidInput, match="remote client has no registry service"):
        _ = author.registry


def test_the_remote_client_manages_tokens_users_and_roles(
    server: Server, remote: Any, people: People
) -> None:
    author, admin = remote(people.contributor), remote(people.admin)
    issued = author.create_token(description="laptop", expires_in_days=1)
    assert issued.info.user == people.contributor
    assert author.authenticate(issued.token) == people.contributor
    assert issued.info.id in [t.id for t in author.list_tokens()]
    author.revoke_token(issued.info.id)
    assert [
        t.state(int(time.time() * 1000)) for t in author.list_tokens() if t.id == issued.info.id
    ] == ["revoked"]
    name = f"eve-{uuid.uuid4().hex[:6]}"
    admin.add_user(name)
    assert name in [u.name for u in admin.list_users()]
    admin.grant(name, "reviewer")
    assert admin.roles()[name] is Role.REVIEWER
    admin.revoke(name)
    assert name not in admin.roles()
    admin.set_user_disabled(name)
    with pytest.raises(PermissionDenied):
        author.list_users()


def test_evaluate_model_runs_here_and_stores_its_evidence_on_the_server(
    server: Server, people: People, source: str, tmp_path: Any
) -> None:
    """RemoteClient's evaluate_model is the local one: load, score and plot here, send evidence."""
    from modeldeck.client.remote import RemoteClient
    from modeldeck.validation.policy import Policy

    name = model_name()
    settings = dataclasses.replace(server.settings, tracking_uri=server.url, home=tmp_path)
    client = RemoteClient(settings, people.tokens[people.contributor], retries=1)
    local = server.admin()
    try:
        client.register_model(source, name)
        frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0] * 5, "y": [0, 0, 0, 1, 1, 1] * 5})
        check = {"type": "metric", "metric": "accuracy", "min": 0.5}
        policy = Policy.from_dict({"model": name, "label": "y", "checks": [check]})
        evaluation = client.evaluate_model(name, 1, frame, policy=policy)
        assert evaluation.passed and evaluation.actor == people.contributor
        assert local.evaluations(name, 1) == [evaluation]
        assert all(local.read_object(d).startswith(b"\x89PNG") for d in evaluation.plots.values())
    finally:
        client.close()
        local.close()
