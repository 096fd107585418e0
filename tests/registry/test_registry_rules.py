"""Registry and governance rules, on every backend: who may approve, when an alias may move,
what the audit log keeps, and lineage both ways."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pandas as pd
import pytest
import sqlalchemy as sa

from modeldeck.client.local import LocalClient
from modeldeck.core.errors import Conflict, GateFailed, InvalidInput, NotFound, PermissionDenied
from modeldeck.core.governance import Role
from modeldeck.governance import access, auditing
from modeldeck.registry.lineage import lineage, trained_on
from modeldeck.registry.reviews import Reviews
from modeldeck.registry.service import PackageInfo, Registry

PASSING = {"checks": [{"name": "metric:auc>=0.7", "verdict": "pass", "value": 0.8}]}
FAILING = {"checks": [{"name": "slice:region=south", "verdict": "fail", "value": 0.6}]}


@dataclass
class World:
    client: LocalClient
    registry: Registry
    reviews: Reviews
    run_id: str

    def register(self, actor: str = "alice", **kwargs: object) -> int:
        package = PackageInfo("ab" * 32, self.run_id, "model", "sklearn", None)
        return self.registry.register("churn", package, actor, **kwargs).version  # type: ignore[arg-type]

    def evaluate(self, version: int, passed: bool, actor: str = "bob") -> None:
        """Evidence posted by bob, who reviews (alice, the author, cannot count for herself)."""
        self.reviews.record_evaluation(
            "churn",
            version,
            result=PASSING if passed else FAILING,
            policy={"checks": []},
            passed=passed,
            plots={"roc": b"\x89PNG fake"},
            actor=actor,
        )


@pytest.fixture
def world(client: LocalClient) -> World:
    tick = itertools.count(1_700_000_000_000, 1000)
    tracker = client.store
    tracker.clock = lambda: next(tick)
    run = client.create_run("churn", name="train")
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]})
    client.log_dataset(run.id, frame, name="customers", context="train")
    return World(
        client,
        Registry(tracker.db, tracker.objects, tracker.clock),
        Reviews(tracker.db, tracker.objects, tracker.clock),
        run.id,
    )


def test_versions_are_numbered_and_described(world: World) -> None:
    assert [world.register(), world.register()] == [1, 2]
    world.registry.set_description("churn", 2, "retrained on March data", "alice")
    world.registry.set_tags("churn", 2, {"stage": "candidate"}, "alice")
    v2 = world.registry.version("churn", 2)
    assert v2.description == "retrained on March data" and v2.tags == {"stage": "candidate"}
    assert world.registry.model("churn").latest_version == 2
    with pytest.raises(NotFound, match="has no version 7 \\(versions 1 to 2\\)"):
        world.registry.version("churn", 7)
    with pytest.raises(InvalidInput, match="invalid model name"):
        world.registry.register("bad name", PackageInfo("ab" * 32, None, None, None, None), "a")


def test_author_cannot_approve_own_version(world: World) -> None:
    version = world.register(actor="alice")
    with pytest.raises(PermissionDenied, match="alice registered churn version 1 and cannot"):
        world.reviews.approve("churn", version, "alice")
    world.reviews.approve("churn", version, "bob", "looks good")
    with pytest.raises(Conflict, match="bob already approved churn version 1"):
        world.reviews.approve("churn", version, "bob")


def test_promotion_to_a_protected_alias_lists_every_unmet_condition(world: World) -> None:
    version = world.register()
    with pytest.raises(GateFailed) as info:
        world.reviews.move_alias("churn", version, "champion", "alice")
    message = str(info.value)
    assert "no gate evidence" in message and "no approval by a reviewer" in message
    world.evaluate(version, passed=False)
    with pytest.raises(GateFailed, match=r"evaluation .{8} by bob failed its gates: slice:region="):
        world.reviews.move_alias("churn", version, "champion", "alice")
    assert world.registry.model("churn").aliases == {}  # nothing moved


def test_promotion_succeeds_with_passed_gates_and_a_second_reviewer(world: World) -> None:
    version = world.register()
    world.evaluate(version, passed=True)
    world.reviews.approve("churn", version, "bob")
    event = world.reviews.move_alias("churn", version, "champion", "alice")
    assert event is not None and event.version == 1 and event.previous_version is None
    assert world.registry.by_alias("churn", "champion").version == 1
    assert world.reviews.move_alias("churn", version, "champion", "alice") is None  # no-op


def test_a_rejection_blocks_promotion_until_withdrawn(world: World) -> None:
    version = world.register()
    world.evaluate(version, passed=True)
    world.reviews.approve("churn", version, "bob")
    world.reviews.reject("churn", version, "carol", "bias on the south region")
    with pytest.raises(GateFailed, match="rejected by carol: bias on the south region"):
        world.reviews.move_alias("churn", version, "champion", "alice")
    world.reviews.approve("churn", version, "carol")  # carol changes her mind
    assert world.reviews.move_alias("churn", version, "champion", "alice") is not None


def test_unprotected_aliases_move_freely_and_history_answers_as_of(world: World) -> None:
    v1, v2 = world.register(), world.register()
    world.reviews.move_alias("churn", v1, "challenger", "alice")
    world.reviews.move_alias("churn", v2, "challenger", "alice")
    history = world.registry.alias_history("churn", "challenger")
    assert [(e.version, e.previous_version) for e in history] == [(1, None), (2, 1)]
    assert world.registry.alias_at("churn", "challenger", history[0].at) == 1
    assert world.registry.alias_at("churn", "challenger", history[1].at - 1) == 1
    assert world.registry.alias_at("churn", "challenger", history[1].at) == 2
    assert world.registry.alias_at("churn", "challenger", history[0].at - 1) is None
    world.reviews.remove_alias("churn", "challenger", "alice")
    assert "challenger" not in world.registry.model("churn").aliases
    with pytest.raises(InvalidInput, match="no spaces"):
        world.reviews.move_alias("churn", v1, "my alias", "alice")
    with pytest.raises(NotFound):
        world.reviews.move_alias("churn", 9, "challenger", "alice")


def test_roles_close_an_open_project(world: World) -> None:
    db, clock = world.client.store.db, world.client.store.clock
    version = world.register(actor="alice")
    access.grant(db, clock, "default", "bob", Role.REVIEWER, actor="alice")  # alice becomes admin
    access.grant(db, clock, "default", "vic", Role.VIEWER, actor="alice")
    access.grant(db, clock, "default", "cora", Role.CONTRIBUTOR, actor="alice")
    with pytest.raises(PermissionDenied, match="vic cannot register"):
        world.register(actor="vic")
    with pytest.raises(PermissionDenied, match="cora cannot approve"):
        world.reviews.approve("churn", version, "cora")
    with pytest.raises(PermissionDenied, match="needs the contributor role"):
        world.reviews.move_alias("churn", version, "challenger", "vic")
    with pytest.raises(PermissionDenied, match="bob cannot grant roles"):
        access.grant(db, clock, "default", "bob", Role.ADMIN, actor="bob")
    denied = auditing.log(db, action="denied:alias.move")
    assert denied and denied[0].actor == "vic"
    world.reviews.approve("churn", version, "bob")


def test_audit_chain_detects_a_hand_edit(world: World) -> None:
    version = world.register()
    world.evaluate(version, passed=True)
    world.reviews.approve("churn", version, "bob")
    world.reviews.move_alias("churn", version, "champion", "alice")
    db = world.client.store.db
    check = auditing.verify(db)
    assert check.ok and check.records >= 6
    trail = [r.action for r in auditing.log(db, subject="models:/churn", limit=50)]
    assert trail[:3] == ["alias.move", "version.approve", "version.evaluate"]
    target = next(r for r in auditing.log(db, action="version.approve"))
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = :seq"), {"seq": target.seq}
        )
    broken = auditing.verify(db)
    assert not broken.ok and broken.first_bad_seq == target.seq
    assert "edited" in (broken.reason or "")


def test_audit_chain_detects_a_deleted_record(world: World) -> None:
    world.register()
    world.register()
    db = world.client.store.db
    middle = auditing.log(db, action="version.register")[-1]
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq = :seq"), {"seq": middle.seq})
    broken = auditing.verify(db)
    assert not broken.ok and "deleted" in (broken.reason or "")


def test_lineage_in_both_directions(world: World) -> None:
    client = world.client
    parent = client.create_run("churn", name="sweep")
    child = client.create_run("churn", name="trial", parent_id=parent.id)
    client.log_dataset(parent.id, pd.DataFrame({"a": [1.0, 2.0]}), name="march", context="train")
    package = PackageInfo("cd" * 32, child.id, "model", "sklearn", None)
    v1 = world.register()
    v2 = world.registry.register("churn", package, "alice", replaces=v1).version
    found = lineage(client.store.db, "churn", v2)
    assert found.run is not None and found.run.id == child.id
    assert [p.id for p in found.parents] == [parent.id]
    assert [i.dataset.name for i in found.inputs] == ["march"]
    assert [r.version for r in found.replaces] == [v1]
    uses = trained_on(client.store.db, "march")
    assert [(u.run_id, [v.version for v in u.versions]) for u in uses] == [(parent.id, [v2])]
    digest = found.inputs[0].dataset.digest
    assert [v.version for v in trained_on(client.store.db, digest)[0].versions] == [v2]
