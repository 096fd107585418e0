"""`modeldeck serve` as a caller sees it: a real server process, a real HTTP client, the three
protocols, signature errors as 422 that name the column, Prometheus counters per version."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from modeldeck.client.local import LocalClient
from modeldeck.core.settings import Settings
from server_support import free_port, wait_until_up


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {"tenure": rng.integers(1, 72, 300), "spend": rng.normal(50, 10, 300).round(2)}
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, frame: pd.DataFrame) -> Iterator[Any]:
    from sklearn.linear_model import LogisticRegression

    home = tmp_path_factory.mktemp("serve") / "md"
    settings = Settings(home, f"sqlite:///{home / 'modeldeck.db'}", str(home / "objects"), "ann")
    client = LocalClient(settings)
    model = LogisticRegression().fit(frame, (frame.tenure > 30).astype(int))
    run = client.create_run("serve")
    client.log_model(run.id, model, "model", input_example=frame.head(5))
    client.end_run(run.id)
    client.register_model(f"runs:/{run.id}/model", "churn")
    client.promote("churn", 1, "staging")
    client.close()
    port = free_port()
    env = {**os.environ, "MODELDECK_HOME": str(home), "MODELDECK_USER": "ann"}
    log = home.parent / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "modeldeck", "serve", "churn@staging", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/health/ready", process, log)
    with httpx.Client(base_url=url, timeout=10) as http:
        yield http, model
    process.terminate()
    process.wait(10)


def test_predict_answers_predictions_probabilities_version_and_request_id(
    served: Any, frame: pd.DataFrame
) -> None:
    http, model = served
    rows = frame.head(4)
    answer = http.post("/predict", json={"records": rows.to_dict("records")})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["predictions"] == model.predict(rows).tolist()
    assert np.allclose(body["probabilities"], model.predict_proba(rows))
    assert body["classes"] == [0, 1]
    assert body["model"] == {"name": "churn", "version": "1"}
    assert len(body["request_id"]) == 32
    columns = http.post("/predict", json={"columns": rows.to_dict("list")}).json()
    assert columns["predictions"] == body["predictions"]


def test_mlflow_scoring_protocol_in_all_four_shapes(served: Any, frame: pd.DataFrame) -> None:
    http, model = served
    rows = frame.head(3)
    expected = model.predict(rows).tolist()
    split = rows.to_dict("split")
    bodies = [
        {"dataframe_split": {"columns": split["columns"], "data": split["data"]}},
        {"dataframe_records": rows.to_dict("records")},
        {"instances": rows.to_dict("records")},
        {"inputs": rows.to_dict("list")},
    ]
    for body in bodies:
        answer = http.post("/invocations", json=body)
        assert answer.status_code == 200, (body, answer.text)
        assert answer.json() == {"predictions": expected}
    refused = http.post("/invocations", json={"records": []})
    assert refused.status_code == 422 and "dataframe_split" in refused.json()["error"]["message"]


def test_open_inference_protocol_v2(served: Any, frame: pd.DataFrame) -> None:
    http, model = served
    assert http.get("/v2/health/live").status_code == 200
    assert http.get("/v2/health/ready").status_code == 200
    meta = http.get("/v2/models/churn").json()
    assert meta["name"] == "churn" and meta["versions"] == ["1"]
    assert [i["name"] for i in meta["inputs"]] == ["tenure", "spend"]
    rows = frame.head(5)
    tensors = [
        {"name": c, "shape": [5], "datatype": "FP64", "data": rows[c].tolist()} for c in rows
    ]
    answer = http.post("/v2/models/churn/infer", json={"id": "r-1", "inputs": tensors})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == "r-1" and body["model_version"] == "1"
    assert body["outputs"][0]["data"] == model.predict(rows).tolist()
    assert http.get("/v2/models/other").status_code == 404


def test_input_that_breaks_the_signature_is_422_naming_the_column(
    served: Any, frame: pd.DataFrame
) -> None:
    http, _ = served
    missing = http.post("/predict", json={"records": [{"tenure": 3}]})
    assert missing.status_code == 422, missing.text
    assert "spend" in missing.json()["error"]["message"]
    wrong = http.post("/predict", json={"records": [{"tenure": "three", "spend": 1.0}]})
    assert wrong.status_code == 422 and "tenure" in wrong.json()["error"]["message"]
    assert http.post("/predict", json=[1, 2]).status_code == 422
    assert "Traceback" not in wrong.text


def test_metrics_count_requests_by_version(served: Any, frame: pd.DataFrame) -> None:
    http, _ = served
    http.post("/predict", json={"records": frame.head(2).to_dict("records")})
    text = http.get("/metrics").text
    assert (
        'modeldeck_predict_requests_total{model="churn",protocol="predict",role="primary",'
        'status="200",version="1"}' in text
    )
    assert "modeldeck_predict_duration_seconds_bucket" in text
    assert "modeldeck_predict_batch_rows_bucket" in text


def test_a_worker_collects_garbage_again_once_it_has_loaded(
    tmp_path: Any, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`modeldeck serve` starts with the collector off (what it allocates lives on); the
    worker's app factory must turn it back on, or every request's cycles would pile up."""
    import gc
    import json

    from sklearn.linear_model import LogisticRegression

    from modeldeck.cli import serve as command

    home = tmp_path / "md"
    settings = Settings(home, f"sqlite:///{home / 'modeldeck.db'}", str(home / "objects"), "ann")
    client = LocalClient(settings)
    run = client.create_run("gc")
    model = LogisticRegression().fit(frame, (frame.tenure > 30).astype(int))
    client.log_model(run.id, model, "model", input_example=frame.head(5))
    folder = client.download_artifact(run.id, "model", tmp_path / "copy")
    client.close()
    monkeypatch.setenv("MODELDECK_HOME", str(home))
    monkeypatch.setenv("MODELDECK_USER", "ann")
    plan = {"primary": str(folder), "poll": 0, "log_predictions": False}
    monkeypatch.setenv(command.PLAN_ENV, json.dumps(plan))
    gc.disable()
    try:
        command.app_from_env()
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()
