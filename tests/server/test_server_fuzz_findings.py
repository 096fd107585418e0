"""What fuzzing the API found, one test each: every case here once got a 500 or broke the
schema's promises. In process (ASGI), over each backend: PostgreSQL refuses what SQLite stores.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from modeldeck.client.local import LocalClient
from modeldeck.core.errors import InvalidInput, NotFound
from modeldeck.core.settings import Settings
from modeldeck.server.app import create_app
from modeldeck.storage.metadata import experiments as experiment_rows
from modeldeck.tracking.environment import RunContext

API = "/api/v1"
CONTEXT = RunContext("t.py", "t.py", "3.11", "host", 1, None, b"{}")


class Api:
    """The app in process, called as the admin."""

    def __init__(self, app: FastAPI, token: str) -> None:
        self.app = app
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(
        self, method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                sent = {**self.headers, **(headers or {})}
                return await c.request(method, url, headers=sent, **kwargs)

        return asyncio.run(send())

    def post(self, url: str, body: Any) -> httpx.Response:
        return self.request("POST", url, json=body)

    def new_run(self, **body: Any) -> str:
        response = self.post(f"{API}/runs", {"experiment": "findings", **body})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


def open_api(tmp: Path, backend_url: str) -> Iterator[Api]:
    settings = Settings(
        home=tmp / "md", tracking_uri=backend_url, artifacts_uri=str(tmp / "objects"), user="root"
    )
    owner = LocalClient(settings)
    try:
        owner.add_user("root")
        owner.grant("root", "admin")
        token = owner.create_token("root").token
    finally:
        owner.close()
    app = create_app(settings)
    yield Api(app, token)
    app.state.services.db.dispose()


@pytest.fixture
def api(backend_url: str, tmp_path: Path) -> Iterator[Api]:
    """Over each backend, for what the store decides."""
    yield from open_api(tmp_path, backend_url)


@pytest.fixture(scope="module")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """For what the schema and the routing decide, the same over any store."""
    tmp = tmp_path_factory.mktemp("findings")
    yield from open_api(tmp, f"sqlite:///{tmp / 'md' / 'modeldeck.db'}")


def error_of(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    error: dict[str, str] = response.json()["error"]
    return error


# --- the schema tells the truth about errors --------------------------------------------------


def test_every_operation_documents_the_error_shape(sqlite_api: Api) -> None:
    api = sqlite_api
    """FastAPI documents 422 as {"detail": [...]}; the server sends {"error": {...}}."""
    spec = api.request("GET", "/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            for status in ("4XX", "5XX"):
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
            assert "422" not in responses, (method, path)


def test_a_405_names_every_method_of_the_path(sqlite_api: Api) -> None:
    api = sqlite_api
    """Starlette's Allow named the methods of the first matching route only."""
    spec = api.request("GET", "/openapi.json").json()
    for path, item in spec["paths"].items():
        concrete = path.replace("{", "").replace("}", "")  # {run_id} -> run_id, a plain segment
        response = api.request("OPTIONS", concrete)
        error_of(response, 405)
        allowed = set(response.headers["allow"].split(", "))
        assert {m.upper() for m in item} <= allowed, (path, allowed)


def test_a_body_that_is_not_text_is_400_with_a_code(sqlite_api: Api) -> None:
    api = sqlite_api
    response = api.request(
        "POST", f"{API}/runs", content=b"\x80", headers={"Content-Type": "application/json"}
    )
    assert error_of(response, 400)["code"] == "BAD_REQUEST"


# --- JSON types as declared -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/runs", {"git": {"commit": "a" * 40, "dirty": 0}}, "git.dirty"),
        ("/runs", {"pid": "12"}, "pid"),
        ("/runs", {"pid": True}, "pid"),
        # 1.0 is an integer to JSON Schema (and so to the OpenAPI document): accepted as 1
        ("/runs/{run}/metrics", {"metrics": [{"key": "a", "value": 1, "step": 1.5}]}, "step"),
        ("/runs/{run}/metrics", {"metrics": [{"key": "a", "value": True}]}, "value"),
        ("/runs/search", {"offset": "3"}, "offset"),
    ],
)
def test_a_value_of_another_json_type_is_422_not_coerced(
    sqlite_api: Api, url: str, body: dict[str, Any], field: str
) -> None:
    api = sqlite_api
    url = url.replace("{run}", api.new_run())
    error = error_of(api.post(f"{API}{url}", body), 422)
    assert error["code"] == "VALIDATION_ERROR" and field in error["message"]


# --- integers the stores cannot hold ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/runs", {"pid": 2**31}, "pid"),
        ("/runs", {"pid": -1}, "pid"),
        ("/runs/{run}/metrics", {"metrics": [{"key": "a", "value": 1, "step": 2**63}]}, "step"),
        (
            "/runs/{run}/metrics",
            {"metrics": [{"key": "a", "value": 1, "timestamp": -(2**63) - 1}]},
            "timestamp",
        ),
        ("/runs/search", {"offset": 2**63}, "offset"),
    ],
)
def test_an_integer_past_the_store_is_422(
    sqlite_api: Api, url: str, body: dict[str, Any], field: str
) -> None:
    """SQLite raised OverflowError past 64 bits, PostgreSQL 'out of range': both were 500s."""
    api = sqlite_api
    url = url.replace("{run}", api.new_run())
    error = error_of(api.post(f"{API}{url}", body), 422)
    assert field in error["message"]


def test_the_largest_step_and_timestamp_are_stored(api: Api) -> None:
    run = api.new_run(pid=2**31 - 1)
    top = 2**53 - 1  # the most a JSON number holds exactly (wire.numbers.MAX_EXACT)
    batch = {"metrics": [{"key": "a", "value": 1, "step": top, "timestamp": top}]}
    assert api.post(f"{API}/runs/{run}/metrics", batch).status_code == 200
    history = api.request("GET", f"{API}/runs/{run}/metrics/a").json()["metrics"]
    assert [(m["step"], m["timestamp"]) for m in history] == [(top, top)]


@pytest.mark.parametrize("name", [str(2**63), "²", "٣"])
def test_an_experiment_id_that_is_no_id_is_not_found(api: Api, name: str) -> None:
    """Digits past BIGINT overflowed the query; "²".isdigit() is true and int("²") fails."""
    error = error_of(api.request("GET", f"{API}/experiments/{name}"), 404)
    assert name in error["message"]
    error_of(api.post(f"{API}/runs/search", {"experiments": [name]}), 404)
    found = api.post(
        f"{API}/runs/search", {"filter": f"attributes.experiment_id IN ('{name}', '1')"}
    )
    assert found.status_code == 200, found.text


def test_the_store_refuses_an_integer_it_cannot_hold_as_invalid_input(
    client: LocalClient,
) -> None:
    """The last line, for whatever a wire schema misses: never a raw driver error."""
    run = client.create_run(experiment="e")
    with pytest.raises(InvalidInput, match="database"):
        client.tracker.log_metrics([(run.id, "a", 1.0, 2**64, 0)])
    assert client.tracker.metric_history(run.id, "a") == []


# --- NUL: SQLite stores it, PostgreSQL cannot ---------------------------------------------------


@pytest.mark.parametrize("kind", ["params", "tags"])
def test_nul_in_a_param_or_tag_value_is_422_on_every_backend(api: Api, kind: str) -> None:
    """Refused by the schema (wire.text) before any store sees it."""
    run = api.new_run()
    error = error_of(api.post(f"{API}/runs/{run}/{kind}", {"values": {"k": "a\x00b"}}), 422)
    assert "U+0000" in error["message"]
    error_of(api.post(f"{API}/runs", {"tags": {"k": "\x00"}}), 422)


def test_nul_in_a_search_filter_is_422_on_every_backend(api: Api) -> None:
    for text in ["params.a = 'x\x00'", "attributes.run_name LIKE '%\x00%'", "`a\x00` = 'b'"]:
        error = error_of(api.post(f"{API}/runs/search", {"filter": text}), 422)
        assert error["code"] == "VALIDATION_ERROR" and "U+0000" in error["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"host": "a\x00b"},
        {"source": "\x00"},
        {"git": {"commit": "a\x00"}},
        {"parent_id": "a\x00b"},
    ],
)
def test_nul_in_other_text_is_never_a_500(api: Api, body: dict[str, Any]) -> None:
    """PostgreSQL refused these with a DataError, a 500 until the store said InvalidInput."""
    response = api.post(f"{API}/runs", {"experiment": "findings", **body})
    assert response.status_code < 500, response.text
    if response.status_code == 400:
        assert "NUL" in response.json()["error"]["message"]


# --- a rolled-back create left a remembered experiment id -----------------------------------------


def test_a_refused_run_does_not_leave_an_experiment_that_never_was(client: LocalClient) -> None:
    """The tracker remembered the new experiment's id before its transaction rolled back (an
    unknown parent): the next run in that experiment failed its foreign key, a 500."""
    name = f"new-{uuid.uuid4().hex[:6]}"
    tracker = client.tracker
    with pytest.raises(NotFound):
        tracker.create_run(experiment=name, user="alice", context=CONTEXT, parent_id="0" * 32)
    run = tracker.create_run(experiment=name, user="alice", context=CONTEXT)
    assert tracker.experiment(name, create=False).id == run.experiment_id


def test_two_transactions_creating_one_new_experiment_both_get_it(client: LocalClient) -> None:
    """Found by killing a loaded server (test_server_crash): on PostgreSQL both transactions
    found no row, and the second INSERT broke the unique name, a 500 for a run's create."""
    db = client.tracker.db
    name = f"race-{uuid.uuid4().hex[:6]}"
    outcome: dict[str, object] = {}

    def second() -> None:
        try:
            with db.write() as conn:
                outcome["id"] = experiment_rows.get_or_create(conn, name, 2).id
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=second)
    with db.write() as conn:
        first = experiment_rows.get_or_create(conn, name, 1).id
        thread.start()
        time.sleep(0.3)  # the second now waits on the first's row (or SQLite's write lock)
    thread.join(10)
    assert outcome == {"id": first}
