"""The embedded client: its user owns every run of the store, a run's end is final, an artifact
path is write-once, and params, tags and metric batches are audited once per call."""

from __future__ import annotations

import pytest

from modeldeck.client.local import LocalClient
from modeldeck.core.entities import RunStatus
from modeldeck.core.errors import Conflict


def test_a_runs_end_is_final(client: LocalClient) -> None:
    run = client.create_run("final")
    client.end_run(run.id, "FINISHED")
    ended = client.get_run(run.id)
    client.end_run(run.id, "FINISHED")  # a retry changes nothing
    with pytest.raises(Conflict, match="final"):
        client.end_run(run.id, "FAILED")
    again = client.get_run(run.id)
    assert (again.status, again.end_time) == (RunStatus.FINISHED, ended.end_time)


def test_metrics_logged_to_a_resumed_finished_run_are_kept(client: LocalClient) -> None:
    run = client.create_run("resumed")
    client.end_run(run.id, "FINISHED")
    client.log_metrics(run.id, {"late": 1.0})
    client.end_run(run.id, "FINISHED")
    assert [m.value for m in client.metric_history(run.id, "late")] == [1.0]


def test_an_artifact_path_is_written_once(client: LocalClient) -> None:
    run = client.create_run("write-once")
    first = client.log_text(run.id, "first", "notes.txt")
    assert client.log_text(run.id, "first", "notes.txt") == first  # the same bytes: a retry
    with pytest.raises(Conflict, match="write-once"):
        client.log_text(run.id, "second", "notes.txt")
    assert [a.digest for a in client.artifacts(run.id)] == [first.digest]


def test_params_tags_and_a_metric_batch_are_one_audit_record_each(client: LocalClient) -> None:
    run = client.create_run("audited")
    client.log_params(run.id, {f"p{i}": i for i in range(10)})
    client.set_tags(run.id, {"a": "1", "b": "2"})
    client.store.log_metrics([(run.id, f"m{i}", float(i), 0, 1) for i in range(50)])
    records = [r for r in client.audit_log() if r.subject == f"runs:/{run.id}"]
    actions = [r.action for r in records]
    assert actions.count("run.params") == actions.count("run.tags") == 1
    assert actions.count("run.metrics") == 1
    batch = next(r for r in records if r.action == "run.metrics")
    assert batch.after is not None and batch.after["count"] == 50
