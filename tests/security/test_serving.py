"""Attacks on a real `modeldeck serve` process with bodies built to break it: numbers out of
the range of a 64-bit float or integer, NaN and Infinity, nesting deep enough to exhaust a
recursive parser, duplicated columns (and duplicated keys of one JSON object, which a parser
that keeps the last one would take silently), and V2 tensors whose `shape` or `datatype`
disagree with their data. Each is a 4xx whose message says what is wrong, never a 500, and
the server answers a good request afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from attack_support import Team, unique
from modeldeck.client.local import LocalClient
from modeldeck.core.settings import Settings
from server_support import free_port, wait_until_up

GOOD = {"records": [{"tenure": 12, "spend": 40.5}]}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"tenure": rng.integers(1, 72, 200), "spend": rng.normal(50, 10, 200).round(2)}
    )
    home: Path = tmp_path_factory.mktemp("serve-attacks") / "md"
    settings = Settings(home, f"sqlite:///{home / 'modeldeck.db'}", str(home / "objects"), "ann")
    client = LocalClient(settings)
    run = client.create_run("serve-attacks")
    model = LogisticRegression().fit(frame, (frame.tenure > 30).astype(int))
    client.log_model(run.id, model, "model", input_example=frame.head(3))
    client.end_run(run.id)
    client.register_model(f"runs:/{run.id}/model", "churn")
    client.close()
    port = free_port()
    env = {**os.environ, "MODELDECK_HOME": str(home), "MODELDECK_USER": "ann"}
    log = home.parent / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "modeldeck", "serve", "churn/1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/health/ready", process, log)
    with httpx.Client(base_url=url, timeout=30) as http:
        yield http
    process.terminate()
    process.wait(10)
    assert "Traceback" not in log.read_text(), log.read_text()


def refused(http: httpx.Client, path: str, raw: str | bytes, *words: str) -> None:
    """``raw`` posted to ``path`` is a 4xx naming ``words``; a good request still answers."""
    body = raw.encode() if isinstance(raw, str) else raw
    answer = http.post(path, content=body, headers={"content-type": "application/json"})
    assert 400 <= answer.status_code < 500, (raw[:200], answer.status_code, answer.text[:500])
    message = answer.json()["error"]["message"]
    for word in words:
        assert word.lower() in message.lower(), (raw[:200], message)
    assert "Traceback" not in answer.text
    good = http.post("/predict", json=GOOD)
    assert good.status_code == 200, good.text


BIG_INT = "1" + "0" * 30
HUGE_INT = "9" * 5000  # Python's int parser refuses more than 4300 digits with a ValueError


@pytest.mark.parametrize(
    ("path", "raw", "words"),
    [
        ("/predict", '{"records": [{"tenure": 12, "spend": 1e400}]}', ["spend", "range"]),
        ("/predict", '{"records": [{"tenure": 12, "spend": -1e400}]}', ["range"]),
        ("/predict", f'{{"records": [{{"tenure": {BIG_INT}, "spend": 1.5}}]}}', ["range"]),
        ("/predict", f'{{"records": [{{"tenure": -{BIG_INT}, "spend": 1.5}}]}}', ["range"]),
        ("/predict", f'{{"records": [{{"tenure": {HUGE_INT}, "spend": 1.5}}]}}', ["range"]),
        ("/predict", f'{{"columns": {{"tenure": [{BIG_INT}], "spend": [1.5]}}}}', ["range"]),
        ("/predict", '{"records": [{"tenure": 12, "spend": NaN}]}', ["NaN", "null"]),
        ("/predict", '{"records": [{"tenure": 12, "spend": Infinity}]}', ["Infinity"]),
        ("/predict", '{"records": [{"tenure": 12, "spend": -Infinity}]}', ["Infinity"]),
        ("/invocations", '{"inputs": {"tenure": [1], "spend": [NaN]}}', ["NaN"]),
        (
            "/invocations",
            f'{{"dataframe_split": {{"columns": ["tenure", "spend"], "data": [[{BIG_INT}, 1]]}}}}',
            ["range"],
        ),
        (
            "/v2/models/churn/infer",
            '{"inputs": [{"name": "tenure", "shape": [1], "datatype": "INT64", "data": [1]},'
            ' {"name": "spend", "shape": [1], "datatype": "FP64", "data": [1e999]}]}',
            ["range"],
        ),
    ],
)
def test_out_of_range_numbers_are_refused(
    served: httpx.Client, path: str, raw: str, words: list[str]
) -> None:
    refused(served, path, raw, *words)


@pytest.mark.parametrize("depth", [100, 1_000, 10_000, 100_000])
def test_deep_nesting_is_refused(served: httpx.Client, depth: int) -> None:
    nested = "[" * depth + "1" + "]" * depth
    refused(served, "/predict", f'{{"records": [{{"tenure": {nested}, "spend": 1}}]}}', "nest")
    refused(served, "/predict", f'{{"columns": {{"tenure": {nested}, "spend": [1]}}}}', "nest")
    objects = '{"a":' * depth + "1" + "}" * depth
    refused(served, "/invocations", f'{{"inputs": {objects}}}', "nest")


@pytest.mark.parametrize(
    ("path", "raw", "words"),
    [
        # one JSON object with a key twice: the parser would keep the last silently
        (
            "/predict",
            '{"records": [{"tenure": 12, "tenure": 13, "spend": 1}]}',
            ["tenure", "twice"],
        ),
        ("/predict", '{"columns": {"tenure": [1], "spend": [1], "spend": [2]}}', ["spend"]),
        ("/predict", '{"records": [], "records": [{"tenure": 1, "spend": 1}]}', ["records"]),
        ("/invocations", '{"dataframe_records": [{"spend": 1, "spend": 2, "tenure": 1}]}', []),
        ("/invocations", '{"inputs": {"tenure": [1], "tenure": [2], "spend": [1]}}', ["tenure"]),
        # dataframe_split names a column twice
        (
            "/invocations",
            '{"dataframe_split": {"columns": ["tenure", "spend", "spend"], "data": [[1, 2, 3]]}}',
            ["spend", "twice"],
        ),
        # V2: two tensors of one name
        (
            "/v2/models/churn/infer",
            '{"inputs": [{"name": "tenure", "shape": [1], "datatype": "INT64", "data": [1]},'
            ' {"name": "spend", "shape": [1], "datatype": "FP64", "data": [1.0]},'
            ' {"name": "spend", "shape": [1], "datatype": "FP64", "data": [2.0]}]}',
            ["spend", "twice"],
        ),
    ],
)
def test_duplicated_columns_are_refused(
    served: httpx.Client, path: str, raw: str, words: list[str]
) -> None:
    refused(served, path, raw, *words)


def _v2(tenure: dict[str, object]) -> str:
    import json

    spend = {"name": "spend", "shape": [2], "datatype": "FP64", "data": [1.0, 2.0]}
    return json.dumps({"inputs": [{"name": "tenure", **tenure}, spend]})


@pytest.mark.parametrize(
    ("tensor", "words"),
    [
        ({"shape": [3], "datatype": "INT64", "data": [1, 2]}, ["tenure", "shape"]),
        ({"shape": [2, 2], "datatype": "INT64", "data": [1, 2]}, ["tenure", "shape"]),
        ({"shape": [-2], "datatype": "INT64", "data": [1, 2]}, ["shape"]),
        ({"shape": "2", "datatype": "INT64", "data": [1, 2]}, ["shape"]),
        ({"shape": [2], "datatype": "INT64", "data": [1.5, 2]}, ["tenure", "INT64"]),
        ({"shape": [2], "datatype": "INT64", "data": ["1", "2"]}, ["INT64"]),
        ({"shape": [2], "datatype": "INT8", "data": [1, 300]}, ["INT8", "range"]),
        ({"shape": [2], "datatype": "UINT32", "data": [1, -1]}, ["UINT32"]),
        ({"shape": [2], "datatype": "BOOL", "data": [1, 0]}, ["BOOL"]),
        ({"shape": [2], "datatype": "FP32", "data": [1, 1e39]}, ["FP32", "range"]),
        ({"shape": [2], "datatype": "BYTES", "data": [1, 2]}, ["BYTES"]),
        ({"shape": [2], "datatype": "COMPLEX", "data": [1, 2]}, ["datatype"]),
        ({"shape": [2], "data": [1, 2]}, ["datatype"]),
        ({"datatype": "INT64", "data": [1, 2]}, ["shape"]),
        ({"shape": [2], "datatype": "INT64", "data": [[1], [2]]}, ["tenure"]),
    ],
)
def test_v2_shape_and_datatype_must_agree_with_the_data(
    served: httpx.Client, tensor: dict[str, object], words: list[str]
) -> None:
    refused(served, "/v2/models/churn/infer", _v2(tensor), *words)


def test_v2_agreeing_shape_and_datatype_are_served(served: httpx.Client) -> None:
    answer = served.post(
        "/v2/models/churn/infer",
        content=_v2({"shape": [2], "datatype": "INT64", "data": [1, 40]}).encode(),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["shape"] == [2]
    # a [rows, 1] tensor is one column too
    flat = _v2({"shape": [2, 1], "datatype": "INT32", "data": [1, 40]})
    assert served.post("/v2/models/churn/infer", content=flat.encode()).status_code == 200


def test_a_body_that_is_not_utf8_or_not_json_is_refused(served: httpx.Client) -> None:
    refused(served, "/predict", b'{"records": [{"tenure": 1, "spend": "\xed\xb3\xbf"}]}', "UTF-8")
    refused(served, "/predict", '{"records": [{"tenure": 1, "spend": 1}]', "JSON")


def test_a_body_over_the_limit_is_413_before_it_is_read(served: httpx.Client) -> None:
    import socket

    from modeldeck.serving.server import MAX_BODY

    url = httpx.URL(str(served.base_url))
    with socket.create_connection((url.host, url.port), timeout=10) as raw:
        raw.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {MAX_BODY + 1}\r\n\r\n{{".encode()
        )
        status_line = raw.recv(4096).split(b"\r\n", 1)[0]
    assert b" 413 " in status_line, status_line
    assert served.post("/predict", json=GOOD).status_code == 200


# --- deployment records on the team server: the starter's (or an admin's) to write ----------


def _deployment(team: Team, who: str = "alice") -> dict[str, Any]:
    made = team.http(who).post(
        "/api/v1/deployments",
        json={
            "model": unique("churn"),
            "reference": "models:/churn@champion",
            "version": 1,
            "host": "127.0.0.1",
            "port": 8000,
            "workers": 2,
        },
    )
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found


def test_a_contributor_cannot_rewrite_or_stop_another_users_deployment(team: Team) -> None:
    mine = _deployment(team)
    where = f"/api/v1/deployments/{mine['id']}"
    mallory = team.http("mallory")
    before = team.audit_seq()
    attacks = [
        mallory.put(f"{where}/versions/primary", json={"version": 7}),
        mallory.put(f"{where}/versions/canary", json={"version": 7}),
        mallory.post(f"{where}/heartbeat"),
        mallory.post(f"{where}/stop"),
        mallory.post(
            "/api/v1/predictions",
            json={
                "predictions": [
                    {
                        "request_id": unique("forged"),
                        "row": 0,
                        "model": mine["model"],
                        "version": 1,
                        "time": 1,
                        "deployment_id": mine["id"],
                        "outputs": {"prediction": 1},
                    }
                ]
            },
        ),
    ]
    for answer in attacks:
        assert answer.status_code == 403, (answer.request.url, answer.text)
        assert "alice" in answer.json()["error"]["message"]
    after = team.http("alice").get(where).json()
    assert after == {**mine, "last_seen": after["last_seen"]}
    assert after["last_seen"] == mine["last_seen"]  # the heartbeat did not land either
    assert after["stopped_at"] is None and after["version"] == 1
    logged = team.http("root").get("/api/v1/predictions", params={"deployment_id": mine["id"]})
    assert logged.json()["predictions"] == []
    denied = team.denials_since(before, "mallory")
    assert sorted(d["action"] for d in denied) == [
        "denied:deployment.heartbeat",
        "denied:deployment.stop",
        "denied:deployment.swap",
        "denied:deployment.swap",
        "denied:predictions.log",
    ]
    assert {d["subject"] for d in denied} == {f"deployments:/{mine['id']}"}


def test_the_starter_and_an_admin_may_write_a_deployment_and_a_stopped_one_is_final(
    team: Team,
) -> None:
    mine = _deployment(team)
    where = f"/api/v1/deployments/{mine['id']}"
    alice = team.http("alice")
    assert alice.post(f"{where}/heartbeat").status_code == 204
    moved = alice.put(f"{where}/versions/primary", json={"version": 2})
    assert moved.status_code == 200 and moved.json() == {"changed": True}
    assert team.http("root").put(f"{where}/versions/primary", json={"version": 3}).json() == {
        "changed": True
    }
    assert team.http("root").post(f"{where}/stop").status_code == 204
    late = alice.put(f"{where}/versions/primary", json={"version": 4})
    assert late.status_code == 409, late.text
    stopped = alice.get(where).json()
    assert alice.post(f"{where}/heartbeat").status_code == 204  # a late beat changes nothing
    assert alice.get(where).json() == stopped
    assert stopped["version"] == 3 and stopped["stopped_at"] is not None
