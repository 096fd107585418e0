"""The REST API of a real server process: auth, roles, the run flow, errors and their shape."""

from __future__ import annotations

import math
import statistics
import time
import uuid
from typing import Any

import httpx
import pytest

from server_support import Server, within_a_second

API = "/api/v1"


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    if code is not None:
        assert body["error"]["code"] == code
    assert "Traceback" not in response.text
    return body["error"]


def new_run(http: httpx.Client, **extra: Any) -> dict[str, Any]:
    body = {"experiment": "server-tests", "host": "laptop", "pid": 42, **extra}
    response = http.post(f"{API}/runs", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


# --- system endpoints --------------------------------------------------------------------------


def test_health_needs_no_token(server: Server) -> None:
    with server.client() as http:
        response = http.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_metrics_are_prometheus_text(server: Server, admin_http: httpx.Client) -> None:
    admin_http.get(f"{API}/experiments")
    # two workers: scrape a few times so the worker that answered the request shows up
    text = ""
    for _ in range(20):
        response = admin_http.get("/metrics")
        text = response.text
        if 'route="/api/v1/experiments"' in text:
            break
    assert response.headers["content-type"].startswith("text/plain")
    assert "modeldeck_http_requests_total" in text
    assert "modeldeck_http_request_duration_seconds_bucket" in text
    assert 'route="/api/v1/experiments"' in text


def test_openapi_lists_the_api(server: Server) -> None:
    with server.client() as http:
        spec = http.get("/openapi.json").json()
        docs = http.get("/docs")
    assert docs.status_code == 200
    assert {f"{API}/runs", f"{API}/runs/search", f"{API}/runs/{{run_id}}/metrics"} <= set(
        spec["paths"]
    )


def test_keep_alive_requests_do_not_wait_for_delayed_acks(server: Server) -> None:
    """Two workers and one keep-alive connection: no ~40 ms Nagle/delayed-ACK stall."""
    with server.client() as http:
        http.get("/health")
        times = []
        for _ in range(30):
            start = time.perf_counter()
            http.get("/health")
            times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.02, times


# --- authentication and roles ----------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer mdk_000000000000_notarealsecretnotarealsecret"},
        {"Authorization": "Basic abc"},
    ],
    ids=["no-token", "unknown-token", "not-bearer"],
)
def test_requests_without_a_valid_token_get_401(server: Server, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=server.url, headers=headers) as http:
        response = http.get(f"{API}/experiments")
    assert_error(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_revoked_token_gets_401(server: Server) -> None:
    token = server.token_for(f"rev-{uuid.uuid4().hex[:6]}", "contributor")
    with server.client(token) as http:
        assert http.get(f"{API}/experiments").status_code == 200
        owner = server.admin()
        try:
            owner.revoke_token(token.split("_")[1])
        finally:
            owner.close()
        answer = within_a_second(lambda: http.get(f"{API}/experiments"), 401)
        error = assert_error(answer, 401, "UNAUTHENTICATED")
    assert "revoked" in error["message"]
    assert token not in server.log.read_text()


def test_a_viewer_reads_but_cannot_write(server: Server, admin_http: httpx.Client) -> None:
    run = new_run(admin_http)
    name = f"viewer-{uuid.uuid4().hex[:6]}"
    with server.client(server.token_for(name, "viewer")) as http:
        assert http.get(f"{API}/runs/{run['id']}").status_code == 200
        error = assert_error(http.post(f"{API}/runs", json={}), 403, "PERMISSION_DENIED")
        assert "contributor" in error["message"]
        assert_error(http.post(f"{API}/runs/{run['id']}/params", json={"values": {"a": "1"}}), 403)
    owner = server.admin()
    try:
        denied = owner.audit_log(actor=name)
    finally:
        owner.close()
    assert any(record.action.startswith("denied:") for record in denied)


# --- the run flow --------------------------------------------------------------------------------


def test_create_log_end_get_and_search(server: Server) -> None:
    token = server.token_for(f"alice-{uuid.uuid4().hex[:6]}", "contributor")
    with server.client(token) as http:
        run = new_run(
            http,
            name="train-1",
            tags={"team": "churn"},
            git={"commit": "a" * 40, "dirty": True, "diff": "--- a\n+++ b\n"},
            environment='{"python": "3.12"}',
        )
        assert run["status"] == "RUNNING"
        assert run["git_commit"] == "a" * 40
        assert run["git_diff_digest"]
        run_id = run["id"]
        assert (
            http.post(f"{API}/runs/{run_id}/params", json={"values": {"lr": "0.1"}}).status_code
            == 204
        )
        assert (
            http.post(f"{API}/runs/{run_id}/tags", json={"values": {"stage": "dev"}}).status_code
            == 204
        )
        batch = {
            "metrics": [
                {"key": "loss", "value": 0.9, "step": 0, "timestamp": 1000},
                {"key": "loss", "value": 0.5, "step": 1, "timestamp": 2000},
                {"key": "acc", "value": 0.8},
                {"key": "odd", "value": "NaN"},
                {"key": "big", "value": "Infinity", "step": 3},
            ]
        }
        result = http.post(f"{API}/runs/{run_id}/metrics", json=batch)
        assert result.json() == {"stored": 5, "replayed": False}
        ended = http.post(f"{API}/runs/{run_id}/end", json={"status": "FINISHED"}).json()
        assert ended["status"] == "FINISHED" and ended["end_time"] is not None

        got = http.get(f"{API}/runs/{run_id}").json()
        assert got["params"] == {"lr": "0.1"}
        assert got["tags"] == {"team": "churn", "stage": "dev"}
        assert got["metrics"]["loss"] == 0.5
        assert got["metrics"]["odd"] == "NaN" and got["metrics"]["big"] == "Infinity"

        history = http.get(f"{API}/runs/{run_id}/metrics/loss").json()["metrics"]
        assert [(m["step"], m["value"]) for m in history] == [(0, 0.9), (1, 0.5)]

        found = http.post(
            f"{API}/runs/search",
            json={
                "experiments": ["server-tests"],
                "filter": "metrics.loss < 0.6 and params.lr = '0.1'",
                "order_by": ["metrics.loss ASC"],
                "max_results": 10,
            },
        ).json()
        assert [r["id"] for r in found["runs"]] == [run_id]
        assert found["next_offset"] is None
        names = [e["name"] for e in http.get(f"{API}/experiments").json()["experiments"]]
        assert "server-tests" in names


def test_search_pages_with_next_offset(admin_http: httpx.Client) -> None:
    experiment = f"paging-{uuid.uuid4().hex[:6]}"
    for _ in range(3):
        new_run(admin_http, experiment=experiment)
    body = {"experiments": [experiment], "max_results": 2}
    first = admin_http.post(f"{API}/runs/search", json=body).json()
    assert len(first["runs"]) == 2 and first["next_offset"] == 2
    rest = admin_http.post(f"{API}/runs/search", json={**body, "offset": 2}).json()
    assert len(rest["runs"]) == 1 and rest["next_offset"] is None


def test_a_retried_batch_with_the_same_idempotency_key_is_stored_once(
    admin_http: httpx.Client,
) -> None:
    run_id = new_run(admin_http)["id"]
    batch = {"metrics": [{"key": "loss", "value": v, "step": i} for i, v in enumerate([3.0, 2.0])]}
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    url = f"{API}/runs/{run_id}/metrics"
    first = admin_http.post(url, json=batch, headers=headers).json()
    again = admin_http.post(url, json=batch, headers=headers).json()
    assert first == {"stored": 2, "replayed": False}
    assert again == {"stored": 0, "replayed": True}
    assert len(admin_http.get(f"{url}/loss").json()["metrics"]) == 2
    # the same key for a different batch is a client bug, not a retry
    other = {"metrics": [{"key": "loss", "value": 1.0, "step": 2}]}
    assert_error(admin_http.post(url, json=other, headers=headers), 409, "CONFLICT")
    # without a key, a second send is a second batch
    admin_http.post(url, json=batch)
    assert len(admin_http.get(f"{url}/loss").json()["metrics"]) == 4


# --- errors ------------------------------------------------------------------------------------


def test_a_bad_filter_is_400_with_the_error_shape(admin_http: httpx.Client) -> None:
    response = admin_http.post(f"{API}/runs/search", json={"filter": "metrics.loss <<< 1"})
    error = assert_error(response, 400, "INVALID_FILTER")
    assert "position" in error["message"]


def test_an_unknown_run_is_404(admin_http: httpx.Client) -> None:
    assert_error(admin_http.get(f"{API}/runs/{'0' * 32}"), 404, "NOT_FOUND")
    assert_error(
        admin_http.post(
            f"{API}/runs/{'0' * 32}/metrics", json={"metrics": [{"key": "a", "value": 1}]}
        ),
        404,
    )
    assert_error(admin_http.get("/api/v1/nothing-here"), 404)


def test_a_param_relogged_with_another_value_is_409(admin_http: httpx.Client) -> None:
    url = f"{API}/runs/{new_run(admin_http)['id']}/params"
    assert admin_http.post(url, json={"values": {"lr": "0.1"}}).status_code == 204
    assert admin_http.post(url, json={"values": {"lr": "0.1"}}).status_code == 204
    assert_error(admin_http.post(url, json={"values": {"lr": "0.2"}}), 409, "CONFLICT")


@pytest.mark.parametrize(
    "body",
    [
        {"metrics": [{"key": "loss"}]},
        {"metrics": [{"key": "loss", "value": "fast"}]},
        {"metrics": "not a list"},
        {"metrics": [], "surprise": 1},
    ],
)
def test_a_malformed_body_is_422(admin_http: httpx.Client, body: dict[str, Any]) -> None:
    run_id = new_run(admin_http)["id"]
    error = assert_error(admin_http.post(f"{API}/runs/{run_id}/metrics", json=body), 422)
    assert error["code"] == "VALIDATION_ERROR"


def test_invalid_input_is_400(admin_http: httpx.Client) -> None:
    run_id = new_run(admin_http)["id"]
    bad_key = {"metrics": [{"key": "bad\nkey", "value": 1.0}]}
    assert_error(
        admin_http.post(f"{API}/runs/{run_id}/metrics", json=bad_key), 400, "INVALID_INPUT"
    )
    assert_error(admin_http.post(f"{API}/runs/search", json={"max_results": 0}), 400)


def test_body_that_is_not_json_is_422(admin_http: httpx.Client) -> None:
    response = admin_http.post(
        f"{API}/runs", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 422, "VALIDATION_ERROR")


def test_nan_values_round_trip_through_history(admin_http: httpx.Client) -> None:
    run_id = new_run(admin_http)["id"]
    admin_http.post(
        f"{API}/runs/{run_id}/metrics", json={"metrics": [{"key": "x", "value": "-Infinity"}]}
    )
    values = [
        m["value"] for m in admin_http.get(f"{API}/runs/{run_id}/metrics/x").json()["metrics"]
    ]
    assert values == ["-Infinity"]
    assert not math.isfinite(float(values[0]))


def test_search_sends_runs_exactly_as_the_run_schema_describes_them(tmp_path: Any) -> None:
    """The search route encodes runs without pydantic (for speed): the same JSON as RunOut."""
    import pandas as pd

    from modeldeck.client.local import LocalClient
    from modeldeck.core.settings import Settings
    from modeldeck.wire.tracking import RunOut, run_json

    home = tmp_path / "md"
    client = LocalClient(Settings(home, f"sqlite:///{home / 'm.db'}", str(home / "o"), "ann"))
    run = client.create_run("schema", name="full", tags={"t": "1"})
    client.log_params(run.id, {"p": 1})
    client.log_metrics(run.id, {"a": 0.5, "b": math.nan, "c": math.inf})
    client.log_dataset(run.id, pd.DataFrame({"x": [1, 2]}), name="d")
    client.end_run(run.id)
    stored = client.get_run(run.id)
    assert stored.inputs and stored.metrics and stored.params and stored.tags
    assert run_json(stored) == RunOut.of(stored).model_dump(mode="json")
    client.close()
