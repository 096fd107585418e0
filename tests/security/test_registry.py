"""Promotion's evidence and registration's loaders, attacked by a contributor.

Forged gate evidence (a ``passed`` that its checks contradict) is refused; evidence an author
posts for their own version never promotes it, whoever approves; a python-flavor package that
names code to import (``os:system``, a module with side effects) is refused at registration
unless an admin allowed that loader, and registering never imports it."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from attack_support import Team, unique
from server_support import start_server

API = "/api/v1"
FRAME = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0] * 5, "y": [0, 0, 0, 1, 1, 1] * 5})
CHECK = {"type": "metric", "metric": "accuracy", "min": 0.5}


def remote(team: Team, who: str, home: Path) -> Any:
    from modeldeck.client.remote import RemoteClient

    settings = dataclasses.replace(
        team.server.settings, tracking_uri=team.server.url, home=home / who, user=who
    )
    return RemoteClient(settings, team.tokens[who], retries=1)


def logged_model(team: Team, who: str, home: Path) -> str:
    """A run of ``who``'s with a small scikit-learn model logged under ``model``."""
    from sklearn.linear_model import LogisticRegression

    client = remote(team, who, home)
    try:
        run = client.create_run(unique("registry-attack"), name="train")
        model = LogisticRegression().fit(FRAME[["x"]], FRAME["y"])
        client.log_model(run.id, model, "model", input_example=FRAME[["x"]])
        client.end_run(run.id)
    finally:
        client.close()
    return f"runs:/{run.id}/model"


def register(team: Team, who: str, name: str, source: str) -> Any:
    return team.http(who).post(f"{API}/models/{name}/versions", json={"source": source})


def evidence(checks: list[dict[str, Any]], passed: bool) -> dict[str, Any]:
    return {
        "result": {"checks": checks, "passed": passed, "metrics": {"accuracy": 0.9}},
        "policy": {"model": "x", "label": "y", "checks": [CHECK]},
        "passed": passed,
    }


def accuracy(verdict: str, value: float) -> dict[str, Any]:
    return {
        "name": "metric:accuracy>=0.5",
        "type": "metric",
        "verdict": verdict,
        "value": value,
        "threshold": ">= 0.5",
        "detail": "",
    }


@pytest.fixture
def mallorys_version(team: Team, tmp_path: Path) -> str:
    """A model mallory registered (version 1): the name of it."""
    name = unique("forged")
    made = register(team, "mallory", name, logged_model(team, "mallory", tmp_path))
    assert made.status_code == 201, made.text
    return name


def test_evidence_that_contradicts_itself_is_refused(team: Team, mallorys_version: str) -> None:
    url = f"{API}/models/{mallorys_version}/versions/1/evaluations"
    mallory = team.http("mallory")
    before = team.audit_seq()
    forged = [
        # passed, though a check failed
        evidence([accuracy("pass", 0.9), accuracy("fail", 0.2) | {"name": "slice"}], True),
        # a check that "passed" below its own threshold
        evidence([accuracy("pass", 0.1)], True),
        # nothing was checked, yet it passed
        evidence([], True),
        # a verdict that is none
        evidence([accuracy("great", 0.9)], True),
    ]
    answers = [mallory.post(url, json=body) for body in forged]
    assert [a.status_code for a in answers] == [422] * len(forged), [a.text for a in answers]
    assert "contradicts itself" in answers[0].json()["error"]["message"]
    assert "says pass but its value 0.1 is below 0.5" in answers[1].json()["error"]["message"]
    assert team.http("root").get(url).json()["evaluations"] == []  # nothing stored
    denials = team.denials_since(before, actor="mallory")
    assert [d["action"] for d in denials] == ["denied:version.evaluate"] * len(forged)
    assert "passed is True but the checks give False" in denials[0]["after"]["reason"]


def test_an_authors_own_evidence_never_promotes(
    team: Team, mallorys_version: str, tmp_path: Path
) -> None:
    name = mallorys_version
    url = f"{API}/models/{name}/versions/1"
    champion = f"{API}/models/{name}/aliases/champion"
    mallory, rita, root = team.http("mallory"), team.http("rita"), team.http("root")
    # self-consistent, passing evidence of her own version: stored, but it does not count
    posted = mallory.post(f"{url}/evaluations", json=evidence([accuracy("pass", 0.99)], True))
    assert posted.status_code == 201, posted.text
    assert posted.json()["passed"] is True and posted.json()["origin"] == "client"
    approved = rita.post(f"{url}/approve", json={"comment": "numbers look fine"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["evaluation"] == posted.json()["id"]  # what it was given on

    before = team.audit_seq()
    refused = mallory.put(champion, json={"version": 1})
    assert refused.status_code == 409, refused.text
    assert "no gate evidence that counts" in refused.json()["error"]["message"]
    assert "posted by its author (mallory)" in refused.json()["error"]["message"]
    assert root.get(champion).status_code == 404  # nothing moved
    assert root.get(f"{API}/models/{name}").json()["aliases"] == {}
    (denial,) = team.denials_since(before, actor="mallory")
    assert denial["action"] == "denied:alias.move"
    assert "no gate evidence that counts" in denial["after"]["reason"]

    # a viewer's attempt is refused for its role, and audited as well
    before = team.audit_seq()
    assert team.http("victor").put(champion, json={"version": 1}).status_code == 403
    assert [d["action"] for d in team.denials_since(before, actor="victor")] == [
        "denied:alias.move"
    ]

    # the reviewer runs `models evaluate` on her own client: that evidence counts
    from modeldeck.validation.policy import Policy

    reviewer = remote(team, "rita", tmp_path)
    try:
        policy = Policy.from_dict({"model": name, "label": "y", "checks": [CHECK]})
        checked = reviewer.evaluate_model(name, 1, FRAME, policy=policy)
    finally:
        reviewer.close()
    assert checked.passed and checked.actor == "rita"
    assert mallory.get(f"{url}/blockers").json() == {"blockers": []}
    moved = mallory.put(champion, json={"version": 1})
    assert moved.status_code == 200, moved.text
    assert root.get(champion).json()["version"] == 1


def test_a_refused_move_is_audited_whatever_the_reason(team: Team, mallorys_version: str) -> None:
    """No evidence, no approval: a gate refusal is as much a denial as a role refusal."""
    champion = f"{API}/models/{mallorys_version}/aliases/champion"
    before = team.audit_seq()
    refused = team.http("mallory").put(champion, json={"version": 1})
    assert refused.status_code == 409
    (denial,) = team.denials_since(before, actor="mallory")
    assert denial["action"] == "denied:alias.move"
    assert denial["subject"] == f"models:/{mallorys_version}/1"
    assert "no gate evidence" in denial["after"]["reason"]
    assert "no approval by a reviewer" in denial["after"]["reason"]


def package_naming(loader: str, folder: Path) -> Path:
    """A model package whose manifest says: load me by importing ``loader``."""
    from sklearn.linear_model import LogisticRegression

    from modeldeck.models.package import MANIFEST_FILE, save_package

    save_package(LogisticRegression().fit(FRAME[["x"]], FRAME["y"]), folder)
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    (folder / "model").mkdir()
    (folder / "model" / "state.txt").write_text("nothing to see")
    manifest |= {
        "flavor": "python",
        "serialization": "custom",
        "model_file": "model",
        "flavor_options": {"loader": loader},
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    return folder


def log_package(team: Team, who: str, package: Path, home: Path) -> str:
    client = remote(team, who, home)
    try:
        run = client.create_run(unique("loader-attack"), name="train")
        client.log_artifact(run.id, package, "model")
        client.end_run(run.id)
    finally:
        client.close()
    return f"runs:/{run.id}/model"


def test_a_loader_outside_the_allowlist_is_refused_at_registration(
    team: Team, tmp_path: Path
) -> None:
    name = unique("loader")
    source = log_package(team, "mallory", package_naming("os:system", tmp_path / "pkg"), tmp_path)
    before = team.audit_seq()
    refused = register(team, "mallory", name, source)
    assert refused.status_code == 403, refused.text
    message = refused.json()["error"]["message"]
    assert "os:system is not in the server's python_loaders allowlist" in message
    assert team.http("root").get(f"{API}/models/{name}").status_code == 404  # no version made
    (denial,) = team.denials_since(before, actor="mallory")
    assert denial["action"] == "denied:version.register"


@pytest.fixture
def server_that_could_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A server whose Python path holds a module that writes a marker file when imported."""
    from attack_support import team_on

    module = f"mdevil_{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "imported.marker"
    code = tmp_path / "code"
    code.mkdir()
    (code / f"{module}.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\n\n"
        "class Model:\n"
        "    @classmethod\n"
        "    def load(cls, path):\n"
        "        return cls()\n\n"
        "    def predict(self, frame):\n"
        "        return [0] * len(frame)\n"
    )
    path = [str(code), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", ":".join(path))
    for server in start_server(tmp_path / "srv", f"sqlite:///{tmp_path / 'srv' / 'md.db'}"):
        team = team_on("sqlite", server)
        yield team, f"{module}:Model", marker
        team.close()


def test_registration_never_imports_the_loader(
    server_that_could_import: Any, tmp_path: Path
) -> None:
    team, loader, marker = server_that_could_import
    name = unique("loader")
    source = log_package(team, "mallory", package_naming(loader, tmp_path / "pkg"), tmp_path)
    before = team.audit_seq()
    refused = register(team, "mallory", name, source)
    assert refused.status_code == 403, refused.text
    assert not marker.exists()  # nothing was imported
    assert team.http("root").get(f"{API}/models/{name}").status_code == 404
    assert [d["action"] for d in team.denials_since(before, actor="mallory")] == [
        "denied:version.register"
    ]
    # once an admin allows it the version is made, and still nothing is imported to make it
    allowed = team.http("root").put(
        f"{API}/config/python_loaders", json={"values": [loader.split(":")[0] + ".*"]}
    )
    assert allowed.status_code == 200, allowed.text
    made = register(team, "mallory", name, source)
    assert made.status_code == 201, made.text
    assert not marker.exists()
