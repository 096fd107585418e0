"""Tracking behaviour every backend must share: embedded SQLite, PostgreSQL, and HTTP to a
real server process (tests/contract/conftest.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from modeldeck.client.local import LocalClient
from modeldeck.core.entities import RunStatus
from modeldeck.core.errors import (
    Conflict,
    FilterSyntaxError,
    IntegrityError,
    InvalidInput,
    NotFound,
)
from modeldeck.storage.objects import open_object_store


def test_run_records_who_what_and_where(client: LocalClient) -> None:
    run = client.create_run("churn", name="first", tags={"team": "growth"})
    stored = client.get_run(run.id)
    assert stored.status is RunStatus.RUNNING
    assert stored.name == "first"
    assert stored.user == "alice"
    assert stored.tags == {"team": "growth"}
    assert stored.python_version and stored.host and stored.pid
    assert stored.source and stored.entry_point
    env = json.loads(client.read_object(stored.environment_digest or ""))
    assert any(p.lower().startswith("sqlalchemy==") for p in env["packages"])
    assert [e.name for e in client.experiments()] == ["churn"]
    client.end_run(run.id)
    ended = client.get_run(run.id)
    assert ended.status is RunStatus.FINISHED
    assert ended.end_time is not None and ended.end_time >= ended.start_time


def test_params_are_write_once(client: LocalClient) -> None:
    run = client.create_run("e")
    client.log_params(run.id, {"lr": 0.1, "model": "gbm"})
    client.log_params(run.id, {"lr": 0.1})  # the same value again is fine
    with pytest.raises(Conflict, match=r"write-once.*'lr': stored '0\.1', new '0\.2'"):
        client.log_params(run.id, {"lr": 0.2, "depth": 3})
    # the failed batch stored nothing, not even its new key
    assert client.get_run(run.id).params == {"lr": "0.1", "model": "gbm"}


def test_tags_can_change(client: LocalClient) -> None:
    run = client.create_run("e")
    client.set_tags(run.id, {"stage": "dev"})
    client.set_tags(run.id, {"stage": "prod", "owner": "bob"})
    assert client.get_run(run.id).tags == {"stage": "prod", "owner": "bob"}


def test_metric_history_and_latest_value(client: LocalClient) -> None:
    run = client.create_run("e")
    for step in range(5):
        client.log_metrics(run.id, {"loss": 1.0 / (step + 1)}, step=step)
    client.log_metrics(run.id, {"loss": 99.0}, step=2)  # a late value for an old step
    client.flush()
    history = client.metric_history(run.id, "loss")
    assert [m.step for m in history] == [0, 1, 2, 2, 3, 4]
    assert client.get_run(run.id).metrics["loss"] == pytest.approx(0.2)


def test_nan_and_infinity_are_kept(client: LocalClient) -> None:
    run = client.create_run("e")
    client.log_metrics(run.id, {"a": float("nan"), "b": float("inf"), "c": float("-inf")})
    client.flush()
    metrics = client.get_run(run.id).metrics
    assert math.isnan(metrics["a"])
    assert metrics["b"] == math.inf and metrics["c"] == -math.inf
    assert math.isnan(client.metric_history(run.id, "a")[0].value)
    assert json.loads(json.dumps(client.get_run(run.id).to_dict()))["metrics"]["a"] == "NaN"


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"auc": "high"}, "metric values must be numbers"),
        ({"auc": None}, "metric values must be numbers"),
        ({"a" * 300: 1.0}, "the limit is 250"),
        ({"bad\nkey": 1.0}, "forbidden characters"),
        ({"": 1.0}, "must not be empty"),
    ],
)
def test_bad_metrics_are_refused_with_the_reason(
    client: LocalClient, metrics: dict[str, object], message: str
) -> None:
    run = client.create_run("e")
    with pytest.raises(InvalidInput, match=message):
        client.log_metrics(run.id, metrics)  # type: ignore[arg-type]


def test_unknown_run_is_not_found(client: LocalClient) -> None:
    with pytest.raises(NotFound, match="no run with id 'nope'"):
        client.get_run("nope")
    with pytest.raises(NotFound):
        client.log_params("nope", {"a": 1})
    with pytest.raises(NotFound):
        client.end_run("nope")
    client.log_metrics("nope", {"a": 1.0})
    with pytest.raises(NotFound):
        client.flush()


def test_parent_and_children(client: LocalClient) -> None:
    parent = client.create_run("e", name="sweep")
    kids = [client.create_run("e", name=f"trial-{i}", parent_id=parent.id) for i in range(3)]
    assert client.children(parent.id) == [k.id for k in kids]
    assert client.get_run(kids[0].id).parent_id == parent.id
    with pytest.raises(NotFound):
        client.create_run("e", parent_id="missing")


def _populate(client: LocalClient) -> dict[str, str]:
    ids = {}
    candidates = [("gbm", 0.91), ("gbm", 0.85), ("logreg", 0.80), ("rf", 0.88)]
    for i, (model, auc) in enumerate(candidates):
        run = client.create_run("search", name=f"r{i}")
        client.log_params(run.id, {"model": model, "fold count": 5})
        client.log_metrics(run.id, {"auc": auc, "f1": auc - 0.3})
        if model == "rf":
            client.set_tags(run.id, {"note": "baseline"})
        client.end_run(run.id, "FINISHED" if i else "FAILED")
        ids[f"r{i}"] = run.id
    other = client.create_run("other-experiment")
    client.log_metrics(other.id, {"auc": 0.99})
    client.flush()
    return ids


def _names(client: LocalClient, **kwargs: object) -> list[str]:
    return [r.name for r in client.search_runs("search", **kwargs).runs]  # type: ignore[arg-type]


def test_search_filters_and_orders(client: LocalClient) -> None:
    _populate(client)
    assert _names(client, filter="metrics.auc > 0.86", order_by=["metrics.auc desc"]) == [
        "r0",
        "r3",
    ]
    assert _names(
        client, filter="metrics.auc > 0.8 and params.model = 'gbm'", order_by="metrics.auc"
    ) == ["r1", "r0"]
    assert _names(client, filter="params.model IN ('rf', 'logreg')", order_by="name") == [
        "r2",
        "r3",
    ]
    assert _names(client, filter="params.model LIKE 'G%'") == []  # LIKE is case-sensitive
    assert sorted(_names(client, filter="params.model ILIKE 'G%'")) == ["r0", "r1"]
    assert _names(client, filter="tags.note IS NOT NULL") == ["r3"]
    assert sorted(_names(client, filter="tags.note IS NULL")) == ["r0", "r1", "r2"]
    assert _names(client, filter="status = 'FAILED'") == ["r0"]
    assert _names(client, filter="params.`fold count` = '5' and metrics.f1 < 0.55") == ["r2"]
    assert sorted(_names(client, filter="metrics.auc < 0.82 or params.model = 'rf'")) == [
        "r2",
        "r3",
    ]


def test_search_pages_and_spans_experiments(client: LocalClient) -> None:
    _populate(client)
    first = client.search_runs("search", order_by=["metrics.auc desc"], max_results=3)
    assert [r.name for r in first.runs] == ["r0", "r3", "r1"]
    assert first.next_offset == 3
    rest = client.search_runs("search", order_by=["metrics.auc desc"], max_results=3, offset=3)
    assert [r.name for r in rest.runs] == ["r2"] and rest.next_offset is None
    both = client.search_runs(["search", "other-experiment"], order_by=["metrics.auc desc"])
    assert len(both.runs) == 5 and both.runs[0].metrics["auc"] == 0.99
    assert len(client.search_runs(None).runs) == 5


def test_search_errors_name_the_problem(client: LocalClient) -> None:
    _populate(client)
    with pytest.raises(FilterSyntaxError) as info:
        client.search_runs("search", filter="metrics.auc >> 0.5")
    assert info.value.position == 12  # the first ">"
    with pytest.raises(NotFound, match="no experiment named 'nope'"):
        client.search_runs("nope")
    with pytest.raises(InvalidInput, match="max_results"):
        client.search_runs("search", max_results=0)


def test_dataset_digest_schema_profile(client: LocalClient) -> None:
    frame = pd.DataFrame(
        {"age": [31, 45, None, 22], "plan": ["a", "b", "a", None], "churned": [0, 1, 0, 1]}
    )
    run = client.create_run("e")
    first = client.log_dataset(run.id, frame, name="customers", context="train")
    again = client.log_dataset(run.id, frame.copy(), name="customers", context="eval")
    changed = client.log_dataset(run.id, frame.assign(age=frame.age + 1), name="customers")
    assert first.id == again.id and first.digest == again.digest
    assert changed.digest != first.digest
    assert first.num_rows == 4
    assert first.schema == {"age": "float64", "plan": "str", "churned": "int64"}
    age = first.profile["columns"]["age"]
    assert age["kind"] == "number" and age["missing"] == 0.25 and age["max"] == 45
    plan = first.profile["columns"]["plan"]
    assert plan["kind"] == "category" and plan["frequencies"] == {"a": 2, "b": 1}
    contexts = {(i.dataset.digest, i.context) for i in client.get_run(run.id).inputs}
    assert contexts == {
        (first.digest, "train"),
        (first.digest, "eval"),
        (changed.digest, "train"),
    }
    stored = pd.read_parquet(pd.io.common.BytesIO(client.read_object(first.object_digest or "")))
    pd.testing.assert_frame_equal(stored, frame)


def test_dataset_from_a_file(client: LocalClient, tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("x,y\n1,a\n2,b\n3,a\n")
    run = client.create_run("e")
    dataset = client.log_dataset(run.id, path, context="eval")
    assert dataset.name == "data" and dataset.num_rows == 3
    assert dataset.digest == dataset.object_digest
    assert dataset.profile["columns"]["y"]["frequencies"] == {"a": 2, "b": 1}
    with pytest.raises(InvalidInput, match="is not a file"):
        client.log_dataset(run.id, tmp_path / "missing.csv")


def test_artifacts_files_dirs_and_dedup(client: LocalClient, tmp_path: Path) -> None:
    run = client.create_run("e")
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights" * 1000)
    folder = tmp_path / "report"
    (folder / "plots").mkdir(parents=True)
    (folder / "index.html").write_text("<h1>hi</h1>")
    (folder / "plots" / "roc.png").write_bytes(b"weights" * 1000)  # same bytes as model.bin
    client.log_artifact(run.id, model)
    client.log_artifact(run.id, folder, name="reports/latest")
    client.log_text(run.id, "hello", "notes/readme.md")
    listed = {a.path: a for a in client.artifacts(run.id)}
    assert set(listed) == {"model.bin", "reports/latest", "notes/readme.md"}
    assert listed["reports/latest"].is_dir
    assert listed["model.bin"].size == 7000

    out = client.download_artifact(run.id, "reports/latest", tmp_path / "out")
    assert (out / "plots" / "roc.png").read_bytes() == model.read_bytes()
    inner = client.download_artifact(run.id, "reports/latest/index.html", tmp_path / "i.html")
    assert inner.read_text() == "<h1>hi</h1>"
    objects = open_object_store(client.settings.artifacts_uri)  # the store behind the client
    same = [d for d in objects.iter_digests() if d == listed["model.bin"].digest]
    assert len(same) == 1
    with pytest.raises(NotFound, match="no artifact 'nope'"):
        client.download_artifact(run.id, "nope", tmp_path / "x")
    with pytest.raises(InvalidInput, match="relative path"):
        client.log_text(run.id, "x", "../escape.txt")


def test_tampered_artifact_is_detected(client: LocalClient, tmp_path: Path) -> None:
    run = client.create_run("e")
    artifact = client.log_text(run.id, "precious", "a.txt")
    stored = Path(client.settings.artifacts_uri) / artifact.digest[:2] / artifact.digest[2:]
    stored.chmod(0o644)
    stored.write_text("tampered")
    with pytest.raises(IntegrityError, match=artifact.digest):
        client.download_artifact(run.id, "a.txt", tmp_path / "a.txt")
    assert not (tmp_path / "a.txt").exists()


def test_failed_end_of_an_unknown_run_keeps_other_metrics(client: LocalClient) -> None:
    run = client.create_run("e")
    client.log_metrics(run.id, {"kept": 1.0})
    with pytest.raises(NotFound):
        client.end_run("nope")
    assert client.get_run(run.id).metrics == {"kept": 1.0}


def test_a_runs_last_metrics_are_stored_with_its_end(client: LocalClient) -> None:
    """What a fluent run queues until its end arrives with the end, in one transaction: stored,
    audited once, and kept when a resumed run that had finished ends again."""
    run = client.create_run("e")
    rows = [(run.id, "loss", 0.5 - step / 10, step, 1_000 + step) for step in range(3)]
    client.tracker.end_run(run.id, RunStatus.FINISHED, rows)  # what end_run sends
    ended = client.get_run(run.id)
    assert ended.status is RunStatus.FINISHED and ended.metrics == {"loss": 0.3}
    assert [m.step for m in client.metric_history(run.id, "loss")] == [0, 1, 2]
    client.tracker.end_run(run.id, RunStatus.FINISHED, [(run.id, "late", 1.0, 0, 2_000)])
    assert client.get_run(run.id).metrics == {"loss": 0.3, "late": 1.0}
    actions = [r.action for r in client.audit_log(subject=f"runs:/{run.id}")]
    assert actions.count("run.end") == 1 and actions.count("run.metrics") == 2
