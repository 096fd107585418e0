"""Deployment records and the prediction log, the same on every backend: embedded SQLite,
PostgreSQL, and HTTP to a real server process (tests/contract/conftest.py)."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from modeldeck.client.local import LocalClient
from modeldeck.client.remote import RemoteClient
from modeldeck.core.deployment import Deployment, Prediction
from modeldeck.core.errors import InvalidInput, NotFound


def start(client: LocalClient, model: str = "churn", **extra: Any) -> Deployment:
    fields: dict[str, Any] = {
        "model": model,
        "reference": f"models:/{model}@champion",
        "version": 3,
        "host": "127.0.0.1",
        "port": 8123,
        "workers": 2,
        **extra,
    }
    return client.start_deployment(**fields)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def rows(request_id: str, n: int, *, at: int = 1_000, **extra: Any) -> list[Prediction]:
    fields: dict[str, Any] = {"model": "churn", "version": 3, "role": "primary", **extra}
    return [
        Prediction(
            request_id=request_id,
            row=i,
            time=at + i,
            latency_ms=2.5,
            inputs={"tenure": i, "plan": "basic"},
            outputs={"prediction": i % 2, "probabilities": [0.25, 0.75]},
            **fields,
        )
        for i in range(n)
    ]


# --- deployments -------------------------------------------------------------------------------


def test_a_started_deployment_is_listed_until_it_stops(client: LocalClient) -> None:
    before = now_ms()
    d = start(
        client,
        canary_reference="models:/churn@challenger",
        canary_version=4,
        canary_share=0.1,
        shadow_reference="models:/churn/5",
        shadow_version=5,
    )
    assert len(d.id) == 32
    assert d.started_by == "alice"
    assert d.started_at == d.last_seen and d.started_at >= before - 1000
    assert (d.model, d.reference, d.version) == ("churn", "models:/churn@champion", 3)
    assert (d.host, d.port, d.workers, d.address) == ("127.0.0.1", 8123, 2, "http://127.0.0.1:8123")
    assert (d.canary_reference, d.canary_version, d.canary_share) == (
        "models:/churn@challenger",
        4,
        0.1,
    )
    assert (d.shadow_reference, d.shadow_version, d.stopped_at) == ("models:/churn/5", 5, None)
    assert d.status(now_ms()) == "running"
    assert client.get_deployment(d.id) == d
    assert client.list_deployments() == [d]

    client.stop_deployment(d.id)
    stopped = client.get_deployment(d.id)
    assert stopped.stopped_at is not None and stopped.status(now_ms()) == "stopped"
    client.stop_deployment(d.id)  # a second stop changes nothing
    assert client.get_deployment(d.id) == stopped
    assert client.list_deployments() == []
    assert client.list_deployments(include_stopped=True) == [stopped]
    actions = [r.action for r in client.audit_log(subject=f"deployments:/{d.id}")]
    assert actions == ["deployment.stop", "deployment.start"]
    start_record = client.audit_log(action="deployment.start")[0]
    assert start_record.actor == "alice"
    assert start_record.after is not None and start_record.after["version"] == 3


def test_deployments_are_listed_newest_first_and_by_model(client: LocalClient) -> None:
    first = start(client, "churn")
    time.sleep(0.005)
    second = start(client, "fraud")
    time.sleep(0.005)
    third = start(client, "churn")
    assert [d.id for d in client.list_deployments()] == [third.id, second.id, first.id]
    assert [d.id for d in client.list_deployments(model="churn")] == [third.id, first.id]
    assert client.list_deployments(model="nothing") == []


def test_heartbeat_moves_last_seen(client: LocalClient) -> None:
    d = start(client)
    time.sleep(0.01)
    client.deployment_heartbeat(d.id)
    beaten = client.get_deployment(d.id)
    assert beaten.last_seen > d.last_seen
    assert beaten.started_at == d.started_at
    assert not client.audit_log(action="deployment.heartbeat")
    with pytest.raises(NotFound):
        client.deployment_heartbeat("0" * 32)
    with pytest.raises(NotFound):
        client.get_deployment("0" * 32)
    with pytest.raises(NotFound):
        client.stop_deployment("0" * 32)


def test_a_version_swap_is_audited_once_however_many_workers_report_it(
    client: LocalClient,
) -> None:
    d = start(client)
    assert client.set_deployment_version(d.id, "primary", 4) is True
    assert client.set_deployment_version(d.id, "primary", 4) is False
    assert client.set_deployment_version(d.id, "canary", 6) is True
    assert client.set_deployment_version(d.id, "shadow", None) is False  # it serves none yet
    moved = client.get_deployment(d.id)
    assert (moved.version, moved.canary_version, moved.shadow_version) == (4, 6, None)
    swaps = client.audit_log(action="deployment.swap")
    assert [(r.before, r.after) for r in swaps] == [
        ({"role": "canary", "version": None}, {"role": "canary", "version": 6}),
        ({"role": "primary", "version": 3}, {"role": "primary", "version": 4}),
    ]
    assert all(r.subject == f"deployments:/{d.id}" and r.actor == "alice" for r in swaps)
    assert client.set_deployment_version(d.id, "canary", None) is True  # a canary ends
    assert client.get_deployment(d.id).canary_version is None
    assert client.verify_audit().ok


def test_workers_reporting_one_move_at_once_audit_it_once(client: LocalClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    d = start(client)
    with ThreadPoolExecutor(6) as pool:
        changed = list(
            pool.map(lambda _: client.set_deployment_version(d.id, "primary", 7), range(6))
        )
    assert sorted(changed) == [False] * 5 + [True]
    assert len(client.audit_log(action="deployment.swap")) == 1
    assert client.get_deployment(d.id).version == 7


BAD_DEPLOYMENTS: list[tuple[dict[str, Any], str]] = [
    ({"canary_share": 1.5}, "canary_share"),
    ({"canary_share": -0.1}, "canary_share"),
    ({"canary_share": math.nan}, "canary_share"),
    ({"canary_share": 0.2}, "canary_reference"),  # a share with nowhere to send it
    ({"port": -1}, "port"),
    ({"port": 70_000}, "port"),
    ({"workers": 0}, "workers"),
    ({"model": ""}, "model"),
    ({"reference": ""}, "reference"),
    ({"version": 0}, "version"),
    ({"host": ""}, "host"),
]


def test_a_bad_deployment_is_refused_with_its_problem_named(client: LocalClient) -> None:
    for change, problem in BAD_DEPLOYMENTS:
        with pytest.raises(InvalidInput, match=problem):
            start(client, **change)
    assert client.list_deployments(include_stopped=True) == []


def test_an_unknown_role_is_refused(client: LocalClient) -> None:
    d = start(client)
    with pytest.raises(InvalidInput, match="role 'champion'"):
        client.set_deployment_version(d.id, "champion", 2)
    with pytest.raises(InvalidInput, match="version"):
        client.set_deployment_version(d.id, "primary", -2)
    with pytest.raises(InvalidInput, match="role 'ghost'"):
        client.log_predictions(rows("r1", 1, role="ghost"))
    with pytest.raises(InvalidInput, match="role 'ghost'"):
        client.predictions(role="ghost")
    assert client.get_deployment(d.id).version == 3


# --- predictions -------------------------------------------------------------------------------


def test_logged_predictions_are_stored_once(client: LocalClient) -> None:
    d = start(client)
    batch = rows("req-1", 5, deployment_id=d.id)
    assert client.log_predictions(batch) == 5
    assert client.log_predictions(batch) == 0  # a retried batch
    # one new row among stored ones; the same request and row in another role is another row
    more = rows("req-1", 6, deployment_id=d.id)[4:] + rows("req-1", 2, role="shadow", version=5)
    assert client.log_predictions(more) == 3
    assert client.log_predictions([]) == 0
    stored = client.predictions(model="churn")
    assert len(stored) == 8
    first = stored[0]
    assert first == Prediction(
        request_id="req-1",
        row=0,
        model="churn",
        version=3,
        role="primary",
        time=1_000,
        latency_ms=2.5,
        inputs={"tenure": 0, "plan": "basic"},
        outputs={"prediction": 0, "probabilities": [0.25, 0.75]},
        deployment_id=d.id,
    )


def test_non_finite_and_numpy_values_are_stored_as_plain_json(client: LocalClient) -> None:
    import numpy as np

    row = Prediction(
        request_id="np",
        row=0,
        model="churn",
        version=None,
        role="primary",
        time=5,
        latency_ms=0.5,
        inputs={"a": np.float64(1.5), "b": math.nan, "c": np.int64(7), "d": np.array([1, 2])},
        outputs={"prediction": np.bool_(True), "probabilities": np.array([0.5, math.inf])},
    )
    assert client.log_predictions([row]) == 1
    (stored,) = client.predictions()
    assert stored.inputs == {"a": 1.5, "b": None, "c": 7, "d": [1, 2]}
    assert stored.outputs == {"prediction": True, "probabilities": [0.5, None]}
    assert stored.version is None and stored.deployment_id is None


def test_predictions_are_filtered_and_ordered(client: LocalClient) -> None:
    d = start(client)
    # logged out of order: read back by time, then request id and row
    client.log_predictions(rows("b", 3, at=100, deployment_id=d.id))
    client.log_predictions(rows("a", 3, at=100, deployment_id=d.id))
    client.log_predictions(rows("c", 2, at=50, version=4, role="canary"))
    client.log_predictions(rows("z", 2, at=10, model="fraud", version=1))
    keys = [(p.time, p.request_id, p.row) for p in client.predictions()]
    assert keys == sorted(keys)
    assert keys[:2] == [(10, "z", 0), (11, "z", 1)]
    assert [(p.request_id, p.row) for p in client.predictions(since=100, until=102)] == [
        ("a", 0),
        ("b", 0),
        ("a", 1),
        ("b", 1),
    ]
    assert {p.model for p in client.predictions(model="churn")} == {"churn"}
    assert len(client.predictions(model="churn")) == 8
    assert [p.request_id for p in client.predictions(model="churn", version=4)] == ["c", "c"]
    assert [p.role for p in client.predictions(role="canary")] == ["canary", "canary"]
    assert len(client.predictions(deployment_id=d.id)) == 6
    assert len(client.predictions(model="churn", version=3, since=101)) == 4
    assert [p.time for p in client.predictions(limit=3)] == [10, 11, 50]
    assert client.predictions(until=10) == []
    assert client.predictions(model="nothing") == []


def test_a_large_batch_is_stored_whole(client: LocalClient) -> None:
    """The remote client sends 10,000 rows a request; the server refuses more in one."""
    assert client.log_predictions(rows("big", 10_001)) == 10_001
    assert len(client.predictions(model="churn", limit=20_000)) == 10_001
    if isinstance(client, RemoteClient):
        import json

        one = [{"request_id": "r", "row": i, "model": "m", "time": 1} for i in range(10_001)]
        body = json.dumps({"predictions": one})
        with pytest.raises(InvalidInput, match="10000"):
            client.http.call(
                "POST",
                "/api/v1/predictions",
                content=body.encode(),
                headers={"Content-Type": "application/json"},
            )


def test_a_bad_prediction_is_refused(client: LocalClient) -> None:
    (good,) = rows("x", 1)
    from dataclasses import replace

    for change, problem in [
        ({"row": -1}, "row"),
        ({"request_id": ""}, "request_id"),
        ({"model": ""}, "model"),
        ({"latency_ms": math.nan}, "latency_ms"),
        ({"time": -5}, "time"),
    ]:
        with pytest.raises(InvalidInput, match=problem):
            client.log_predictions([good, replace(good, **change)])
    assert client.predictions() == []  # a batch is stored whole or not at all
    with pytest.raises(InvalidInput, match="limit"):
        client.predictions(limit=0)
