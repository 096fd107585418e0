"""The registry pages over the real app in process: who sees which form, what a decision
writes, and what the server refuses whatever the page shows."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from modeldeck.client.local import LocalClient
from modeldeck.core.settings import Settings
from modeldeck.governance import auditing, cards
from modeldeck.registry.reviews import Reviews
from modeldeck.registry.service import PackageInfo, Registry
from modeldeck.server.app import create_app
from modeldeck.server.state import Services
from modeldeck.serving.deployments import Deployments
from modeldeck.ui.registry import pending_count
from modeldeck.ui.session import COOKIE

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
CHECKS = {
    "checks": [
        {"name": "metric:auc>=0.7", "verdict": "pass", "value": 0.81, "threshold": ">= 0.7"},
        {"name": "slice:region:auc", "verdict": "skip", "value": None, "threshold": ">= 0.6"},
    ],
    "metrics": {"auc": 0.81},
}
VERSION_PAGE = "/ui/models/churn/2"
DECIDE = "/ui/models/churn/2/decision"


@dataclass
class Site:
    app_client: TestClient
    registry: Registry
    reviews: Reviews
    tokens: dict[str, str]
    plot_digest: str

    def as_user(self, user: str | None) -> TestClient:
        self.app_client.cookies.clear()
        if user is not None:
            self.app_client.cookies.set(COOKIE, self.tokens[user])
        return self.app_client

    def audit(self, action: str) -> list[auditing.AuditRecord]:
        return list(auditing.log(self.registry.db, action=action, limit=100))


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """alice (admin) registered churn 1 and 2 (2 replaces 1, gates passed, a plot, served by
    a deployment); bob is a reviewer; vic a viewer."""
    settings = Settings(
        home=tmp_path / "md",
        tracking_uri=f"sqlite:///{tmp_path / 'md' / 'modeldeck.db'}",
        artifacts_uri=str(tmp_path / "objects"),
        user="alice",
    )
    owner = LocalClient(settings)
    tokens = {}
    try:
        for user, role in (("alice", "admin"), ("bob", "reviewer"), ("vic", None)):
            owner.add_user(user)
            if role:
                owner.grant(user, role)
            tokens[user] = owner.create_token(user).token
        run = owner.create_run("churn", name="train")
        frame = pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]})
        owner.log_dataset(run.id, frame, name="customers", context="train")
        run_id = run.id
    finally:
        owner.close()
    app = create_app(settings)
    tracker = app.state.services.tracker
    registry = Registry(tracker.db, tracker.objects, tracker.clock)
    reviews = Reviews(tracker.db, tracker.objects, tracker.clock)
    package = PackageInfo("ab" * 32, run_id, "model", "sklearn", None)
    registry.register("churn", package, "alice")
    registry.register("churn", package, "alice", replaces=1)
    evaluation = reviews.record_evaluation(
        "churn",
        2,
        result=CHECKS,
        policy={"checks": []},
        passed=True,
        plots={"roc": PNG},
        actor="alice",
    )
    Deployments(tracker.db, tracker.clock).start(
        "alice",
        model="churn",
        reference="models:/churn/2",
        version=2,
        host="127.0.0.1",
        port=8100,
        workers=1,
    )
    with TestClient(app, follow_redirects=False) as http:
        yield Site(http, registry, reviews, tokens, evaluation.plots["roc"])
    tracker.db.dispose()


def approve_form(page: str) -> bool:
    return 'class="approve' in page and 'value="approve"' in page


def test_without_a_cookie_the_pages_send_to_signin(site: Site) -> None:
    http = site.as_user(None)
    for url in ("/ui/models", "/ui/models/churn", VERSION_PAGE, "/ui/approvals"):
        response = http.get(url)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/ui/signin?next=")


def test_models_and_model_pages(site: Site) -> None:
    http = site.as_user("vic")
    listing = http.get("/ui/models")
    assert listing.status_code == 200
    assert 'id="models"' in listing.text and 'href="/ui/models/churn"' in listing.text
    assert '<span class="badge">1</span>' in listing.text  # version 2 waits for a reviewer
    model = http.get("/ui/models/churn")
    assert model.status_code == 200
    assert 'id="versions"' in model.text and 'id="alias-history"' in model.text
    assert re.search(r'href="/ui/runs/[0-9a-f]+"', model.text)
    assert "gates-passed" in model.text and "gates-none" in model.text


def test_a_viewer_sees_no_approve_form(site: Site) -> None:
    http = site.as_user("vic")
    for url in (VERSION_PAGE, "/ui/approvals"):
        page = http.get(url)
        assert page.status_code == 200
        assert not approve_form(page.text), url
    version = http.get(VERSION_PAGE).text
    assert 'id="evidence"' in version and "metric:auc&gt;=0.7" in version
    assert f'<img src="/ui/objects/{site.plot_digest}"' in version
    assert 'class="promote"' not in version  # promoting needs a contributor


def test_a_reviewer_sees_the_form_on_the_version_and_in_the_inbox(site: Site) -> None:
    http = site.as_user("bob")
    version = http.get(VERSION_PAGE).text
    assert approve_form(version)
    assert 'action="/ui/models/churn/2/decision"' in version
    assert '<textarea name="comment"' in version
    assert '<button type="submit" name="decision" value="reject"' in version
    inbox = http.get("/ui/approvals").text
    assert 'id="inbox"' in inbox and 'href="/ui/models/churn/2"' in inbox
    assert approve_form(inbox)
    assert "/ui/models/churn/1/decision" not in inbox  # no evidence, so not in the inbox


def test_the_author_sees_no_form_and_is_refused_anyway(site: Site) -> None:
    http = site.as_user("alice")
    assert not approve_form(http.get(VERSION_PAGE).text)
    refused = http.post(DECIDE, data={"decision": "approve", "comment": "mine"})
    assert refused.status_code == 403
    assert "alice registered churn version 2 and cannot approve it" in refused.text
    assert site.reviews.decisions("churn", 2) == []
    assert [r.actor for r in site.audit("denied:version.approve")] == ["alice"]


def test_a_reviewer_approves_with_a_comment(site: Site) -> None:
    http = site.as_user("bob")
    done = http.post(DECIDE, data={"decision": "approve", "comment": "solid evidence"})
    assert done.status_code == 303
    assert done.headers["location"] == "/ui/models/churn/2?done=approved%20churn%20version%202"
    [record] = site.audit("version.approve")
    assert record.actor == "bob" and record.after == {
        "decision": "approved",
        "comment": "solid evidence",
        "evaluation": site.reviews.evaluations("churn", 2)[0].id,  # what it was given on
    }
    page = http.get(done.headers["location"]).text
    assert "approved churn version 2" in page and "solid evidence" in page
    assert '<span class="badge">' not in page  # nothing waits any more
    assert 'id="inbox"' in http.get("/ui/approvals").text


def test_a_viewer_posting_a_decision_is_refused_and_the_denial_audited(site: Site) -> None:
    http = site.as_user("vic")
    refused = http.post(DECIDE, data={"decision": "approve", "comment": "sneaky"})
    assert refused.status_code == 403
    assert "needs the reviewer role" in refused.text
    assert site.reviews.decisions("churn", 2) == []
    assert site.audit("version.approve") == []
    assert [r.actor for r in site.audit("denied:version.approve")] == ["vic"]


def test_a_post_from_another_site_is_refused(site: Site) -> None:
    http = site.as_user("bob")
    refused = http.post(
        DECIDE,
        data={"decision": "approve"},
        headers={"Origin": "https://evil.example"},
    )
    assert refused.status_code == 403 and "another site" in refused.text
    assert site.reviews.decisions("churn", 2) == []
    ok = http.post(DECIDE, data={"decision": "reject"}, headers={"Origin": "http://testserver"})
    assert ok.status_code == 303


def test_promotion_blocked_by_gates_shows_the_reasons(site: Site) -> None:
    http = site.as_user("alice")
    blocked = http.post("/ui/models/churn/1/promote", data={"alias": "champion"})
    assert blocked.status_code == 409
    assert "no gate evidence" in blocked.text and "no approval by a reviewer" in blocked.text
    site.reviews.approve("churn", 2, "bob")
    # alice's own evidence does not count; bob's does
    blocked = http.post("/ui/models/churn/2/promote", data={"alias": "champion"})
    assert blocked.status_code == 409 and "no gate evidence that counts" in blocked.text
    site.reviews.record_evaluation(
        "churn", 2, result=CHECKS, policy={"checks": []}, passed=True, plots={}, actor="bob"
    )
    moved = http.post("/ui/models/churn/2/promote", data={"alias": "champion"})
    assert moved.status_code == 303
    assert site.registry.by_alias("churn", "champion").version == 2
    history = http.get("/ui/models/churn").text
    assert "version 2</a>" in history.split('id="alias-history"')[1]


def test_lineage_is_an_svg_of_dataset_run_versions_and_deployment(site: Site) -> None:
    page = site.as_user("vic").get(VERSION_PAGE).text
    svg = page[page.index('<svg id="lineage"') : page.index("</svg>") + len("</svg>")]
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    links = {a.get("href") for a in root.iter(f"{ns}a")}
    assert "/ui/models/churn/1" in links  # the generation it replaces
    assert "/ui/production/churn" in links  # the deployment serving it
    assert any(link and link.startswith("/ui/runs/") for link in links)
    labels = " ".join(t.text or "" for t in root.iter(f"{ns}text"))
    assert "customers" in labels and "127.0.0.1:8100" in labels


def test_the_model_card_is_rendered_escaped(site: Site) -> None:
    db, clock = site.registry.db, site.registry.clock
    cards.edit(db, clock, "churn", 2, {"intended_use": "<script>alert(1)</script>"}, "alice")
    page = site.as_user("vic").get(VERSION_PAGE).text
    card = page[page.index('<section id="card"') :]
    assert "Intended use" in card and "&lt;script&gt;alert(1)" in card
    assert "<script>alert" not in page


def test_evidence_plots_are_served_as_png_only(site: Site) -> None:
    http = site.as_user("vic")
    plot = http.get(f"/ui/objects/{site.plot_digest}")
    assert plot.status_code == 200 and plot.content == PNG
    assert plot.headers["content-type"] == "image/png"
    assert plot.headers["x-content-type-options"] == "nosniff"
    assert http.get("/ui/objects/not-a-digest").status_code == 404
    other = site.registry.objects.put_bytes(b"<html><script>x</script></html>").digest
    assert http.get(f"/ui/objects/{other}").status_code == 404
    assert site.as_user(None).get(f"/ui/objects/{site.plot_digest}").status_code == 303


def test_the_pending_count_on_every_backend(client: LocalClient) -> None:
    """The inbox is one query (every page's badge runs it): the same answer on each backend."""
    tracker = client.store
    registry = Registry(tracker.db, tracker.objects, tracker.clock)
    reviews = Reviews(tracker.db, tracker.objects, tracker.clock)
    request = SimpleNamespace(
        app=SimpleNamespace(state=SimpleNamespace(services=Services(tracker)))
    )
    count = partial(pending_count, request)  # type: ignore[arg-type]
    package = PackageInfo("ab" * 32, client.create_run("churn").id, "model", None, None)
    for _ in range(3):
        registry.register("churn", package, "alice")
    assert count() == 0  # no evidence yet

    def checks(passed: bool) -> dict[str, object]:
        return {"checks": [{"name": "m", "verdict": "pass" if passed else "fail"}]}

    for version, passed in ((1, True), (2, True), (3, False)):
        reviews.record_evaluation(
            "churn", version, result=checks(passed), policy={}, passed=passed, plots={}, actor="b"
        )
    assert count() == 2
    reviews.record_evaluation(
        "churn", 2, result=checks(False), policy={}, passed=False, plots={}, actor="a"
    )
    assert count() == 1  # the latest evaluation decides
    reviews.reject("churn", 1, "bob", "not yet")
    assert count() == 0
