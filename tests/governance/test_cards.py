"""Model cards, on every backend: generated from the records, edited by people, reviewed,
audited, and rendered safely to Markdown and HTML."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from modeldeck.client import fluent
from modeldeck.client.local import LocalClient
from modeldeck.core.errors import Conflict, InvalidInput, PermissionDenied
from modeldeck.core.governance import Role
from modeldeck.governance import auditing, cards
from modeldeck.governance.card_sections import HUMAN_SECTIONS, SECTIONS
from modeldeck.registry.reviews import Reviews
from modeldeck.registry.service import PackageInfo, Registry
from modeldeck.validation.evidence import gate_passed

THRESHOLD = "each slice of 30+ rows >= 0.7"


def evaluation_result(north: float = 0.83, south: float = 0.61) -> dict[str, object]:
    def slice_check(region: str, value: float, rows: int) -> dict[str, object]:
        verdict = "pass" if value >= 0.7 else "fail"
        judged = f"auc {value:.4g} (overall 0.81)" if verdict == "pass" else f"auc {value} < 0.7"
        return {
            "name": f"slice:region={region}:auc",
            "type": "slice",
            "verdict": verdict,
            "value": value,
            "threshold": THRESHOLD,
            "detail": f"slice region={region}: {judged} on {rows} rows",
        }

    return {
        "metrics": {"auc": 0.81, "accuracy": 0.77},
        "checks": [
            {
                "name": "metric:auc>=0.75",
                "type": "metric",
                "verdict": "pass",
                "value": 0.81,
                "threshold": ">= 0.75",
                "detail": "auc 0.81 >= 0.75",
            },
            slice_check("north", north, 400),
            slice_check("south", south, 380),
        ],
        "task": "binary",
        "rows": 780,
        "dataset_digest": "e" * 64,
    }


@dataclass
class World:
    client: LocalClient
    registry: Registry
    reviews: Reviews
    run_id: str
    train_digest: str

    def register(self, actor: str = "alice", run_id: str | None = "same") -> int:
        run = self.run_id if run_id == "same" else run_id
        package = PackageInfo("ab" * 32, run, "model", "sklearn", None)
        return self.registry.register("churn", package, actor).version

    def evaluate(self, version: int, **slices: float) -> None:
        result = evaluation_result(**slices)
        self.reviews.record_evaluation(
            "churn",
            version,
            result=result,
            policy={"checks": []},
            passed=gate_passed(c["verdict"] for c in result["checks"]),  # type: ignore[attr-defined]
            plots={},
            actor="alice",
            dataset_digest=str(result["dataset_digest"]),
        )

    def as_user(self, user: str) -> LocalClient:
        self.client.settings = dataclasses.replace(self.client.settings, user=user)
        return self.client


@pytest.fixture
def world(client: LocalClient) -> World:
    tick = itertools.count(1_700_000_000_000, 1000)
    tracker = client.store
    tracker.clock = lambda: next(tick)
    run = client.create_run("churn", name="train")
    client.log_params(run.id, {"C": "0.5", "penalty": "l2"})
    client.log_metrics(run.id, {"train_auc": 0.9})  # queued: model_card must flush it
    frame = pd.DataFrame({"tenure": [1, 2, 3], "region": ["north", "south", "east"]})
    dataset = client.log_dataset(run.id, frame, name="customers", context="train")
    return World(
        client,
        Registry(tracker.db, tracker.objects, tracker.clock),
        Reviews(tracker.db, tracker.objects, tracker.clock),
        run.id,
        dataset.digest,
    )


def test_generated_sections_come_from_the_records(world: World) -> None:
    version = world.register()
    world.evaluate(version)
    card = world.client.model_card("churn", version)
    assert list(card.sections) == list(SECTIONS) == list(card.titles)
    assert card.status == "draft" and card.edited == ()
    details = card.sections["model_details"]
    assert "`models:/churn/1`" in details and world.run_id in details
    assert "| `C` | 0.5 |" in details
    training = card.sections["training_data"]
    assert world.train_digest in training and "customers" in training and "`tenure`" in training
    metrics = card.sections["metrics"]
    assert "| `auc` | 0.81 |" in metrics and "| `train_auc` | 0.9 |" in metrics
    assert "`metric:auc>=0.75`" in metrics
    assert "e" * 64 in card.sections["evaluation_data"]
    quantitative = card.sections["quantitative_analyses"]
    assert "### By `region`" in quantitative and THRESHOLD in quantitative
    assert "| north | `auc` | 0.83 | 0.81 | 400 | pass |" in quantitative
    assert "| south | `auc` | 0.61 | 0.81 | 380 | **fail** |" in quantitative
    for key in HUMAN_SECTIONS:
        assert card.sections[key].startswith("_To be written by the model owner:")
    assert "`region`" in card.sections["factors"]  # the placeholder points at the slices
    assert card.generated["evaluation"]["dataset_digest"] == "e" * 64
    assert card.generated["datasets"][0]["digest"] == world.train_digest


def test_a_version_without_run_or_evaluation_says_so(world: World) -> None:
    version = world.register(run_id=None)
    card = world.client.model_card("churn", version)
    assert "none recorded" in card.sections["model_details"]
    assert card.sections["evaluation_data"].startswith("_No evaluation on record")
    assert card.sections["training_data"].startswith("_No training data on record")
    assert "no results by slice" in card.sections["quantitative_analyses"]


def test_human_edits_survive_regeneration(world: World) -> None:
    version = world.register()
    world.evaluate(version)
    edited = world.client.edit_model_card(
        "churn", version, {"intended_use": "Rank customers for retention calls."}
    )
    assert edited.edited == ("intended_use",)
    world.evaluate(version, south=0.74)  # new evidence: the generated sections change
    card = world.client.model_card("churn", version)
    assert card.sections["intended_use"] == "Rank customers for retention calls."
    assert "| south | `auc` | 0.74 |" in card.sections["quantitative_analyses"]
    assert card.generated["evaluations"] == 2
    # an editor round trip sends every section back; unchanged generated ones are ignored
    same = world.client.edit_model_card("churn", version, dict(card.sections))
    assert same.sections == card.sections
    with pytest.raises(InvalidInput, match="'metrics' is generated"):
        world.client.edit_model_card("churn", version, {"metrics": "auc is 0.99"})
    cleared = world.client.edit_model_card("churn", version, {"intended_use": ""})
    assert cleared.sections["intended_use"].startswith("_To be written by the model owner:")


def test_an_unknown_section_is_refused_and_nothing_is_written(world: World) -> None:
    version = world.register()
    with pytest.raises(InvalidInput) as info:
        world.client.edit_model_card("churn", version, {"intended_usage": "typo"})
    message = str(info.value)
    assert "'intended_usage'" in message
    assert all(key in message for key in SECTIONS)
    with pytest.raises(InvalidInput, match="must be text"):
        world.client.edit_model_card("churn", version, {"factors": 3})  # type: ignore[dict-item]
    assert world.client.audit_log(action="card.edit") == []


def test_status_moves_through_review_and_the_author_cannot_approve(world: World) -> None:
    version = world.register(actor="alice")
    alice = world.as_user("alice")
    with pytest.raises(Conflict, match="only a card in review can be approved"):
        alice.set_model_card_status("churn", version, "approved")
    assert alice.set_model_card_status("churn", version, "in review").status == "in_review"
    with pytest.raises(Conflict, match="already in_review"):
        alice.set_model_card_status("churn", version, "in_review")
    with pytest.raises(PermissionDenied, match="alice registered churn version 1"):
        alice.set_model_card_status("churn", version, "approved")
    with pytest.raises(InvalidInput, match="statuses are draft, in_review, approved"):
        alice.set_model_card_status("churn", version, "published")
    bob = world.as_user("bob")
    approved = bob.set_model_card_status("churn", version, "approved")
    assert approved.status == "approved" and approved.updated_by == "bob"
    with pytest.raises(Conflict, match="goes back to draft before a new review"):
        bob.set_model_card_status("churn", version, "in_review")
    # an edit sends an approved card back to draft
    edited = world.as_user("alice").edit_model_card("churn", version, {"factors": "Region."})
    assert edited.status == "draft"
    denied = world.client.audit_log(action="denied:card.status")
    assert [r.actor for r in denied] == ["alice"]


def test_roles_once_granted_limit_who_edits_and_approves(world: World) -> None:
    version = world.register(actor="alice")
    alice = world.as_user("alice")
    alice.grant("bob", Role.REVIEWER)  # alice becomes admin, the project is closed
    alice.grant("vic", Role.VIEWER)
    alice.grant("cora", Role.CONTRIBUTOR)
    with pytest.raises(PermissionDenied, match="vic cannot edit model cards"):
        world.as_user("vic").edit_model_card("churn", version, {"factors": "x"})
    with pytest.raises(PermissionDenied, match="vic cannot set model cards to in_review"):
        world.as_user("vic").set_model_card_status("churn", version, "in_review")
    cora = world.as_user("cora")
    cora.edit_model_card("churn", version, {"factors": "Region."})
    cora.set_model_card_status("churn", version, "in_review")
    with pytest.raises(PermissionDenied, match="needs the reviewer role"):
        cora.set_model_card_status("churn", version, "approved")
    assert world.as_user("bob").set_model_card_status("churn", version, "approved").status == (
        "approved"
    )
    assert world.client.model_card("churn", version).sections["factors"] == "Region."
    denied = world.client.audit_log(action="denied:card.edit")
    assert [r.actor for r in denied] == ["vic"]


def test_edits_and_status_changes_are_audited(world: World) -> None:
    version = world.register()
    client = world.as_user("alice")
    client.edit_model_card("churn", version, {"intended_use": "Retention."})
    client.edit_model_card("churn", version, {"intended_use": "Retention."})  # no change
    client.set_model_card_status("churn", version, "in_review")
    card = world.as_user("bob").set_model_card_status("churn", version, "approved")
    trail = client.audit_log(subject="models:/churn/1", limit=20)
    card_records = [r for r in trail if r.subject == "models:/churn/1/card"]
    assert [r.action for r in card_records] == ["card.status", "card.status", "card.edit"]
    edit = card_records[-1]
    assert edit.actor == "alice" and edit.before is not None and edit.after is not None
    assert edit.before["sections"] == {"intended_use": None}
    assert edit.after["sections"] == {"intended_use": "Retention."}
    approval = card_records[0]
    assert approval.actor == "bob" and approval.after is not None
    assert approval.after == {"status": "approved", "card_digest": card.digest}
    assert auditing.verify(world.client.store.db).ok


def test_renderings_hold_every_section_and_escape_html(world: World) -> None:
    version = world.register()
    world.evaluate(version)
    hostile = "Beware <script>alert('x')</script> and `<b>code</b>`.\n\n```\n<i>fenced"
    world.client.edit_model_card("churn", version, {"ethical_considerations": hostile})
    markdown = world.client.render_model_card("churn", version)
    for title in SECTIONS.values():
        assert f"\n## {title}\n" in markdown
    assert "<script>" not in markdown and "&lt;script>" in markdown
    assert "`<b>code</b>`" in markdown  # code is shown as written
    assert "<i>fenced\n```\n\n## Caveats" in markdown  # an open fence is closed in its section
    page = world.client.render_model_card("churn", version, format="html")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    for title in SECTIONS.values():
        assert f"<h2>{title}</h2>" in page
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "<table>" in page and "http" not in page.replace('name="viewport"', "")
    assert "src=" not in page and "<link" not in page
    with pytest.raises(InvalidInput, match="use markdown or html"):
        world.client.render_model_card("churn", version, format="pdf")


def test_render_markdown_of_a_card_built_by_hand() -> None:
    sections = dict.fromkeys(SECTIONS, "text")
    sections["factors"] = "a <b>bold</b> claim, 3 < 4"
    card = cards.ModelCard("churn", 2, sections, "approved", {}, updated_by="<bob>")
    text = cards.render_markdown(card)
    assert "a &lt;b>bold&lt;/b> claim, 3 < 4" in text
    assert "&lt;bob>" in text and "approved" in text
    assert "&lt;bob&gt;" in cards.render_html(card)


def test_the_sdk_edits_with_keywords(home: Path) -> None:
    client = fluent.client()
    run = client.create_run("churn", name="train")
    Registry(client.store.db, client.store.objects, client.store.clock).register(
        "churn", PackageInfo("ab" * 32, run.id, "model", "sklearn", None), "alice"
    )
    card = fluent.edit_model_card("churn", 1, {"factors": "Region."}, intended_use="Retention.")
    assert card.edited == ("intended_use", "factors")
    assert fluent.model_card("churn", 1).sections["intended_use"] == "Retention."
