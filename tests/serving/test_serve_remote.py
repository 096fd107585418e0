"""`modeldeck serve` against a team server: the model comes from the server's registry, the
deployment is recorded as the token's user, and predictions reach the server's monitoring store
over HTTP. A viewer's token cannot start a deployment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from modeldeck.client.remote import RemoteClient
from modeldeck.core.settings import Settings
from server_support import Server, free_port, start_server, wait_until_up


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Server]:
    yield from start_server(tmp_path / "team", f"sqlite:///{tmp_path / 'team' / 'md.db'}")


def remote(server: Server, home: Path, token: str, user: str) -> RemoteClient:
    settings = Settings(home, server.url, str(home / "objects"), user)
    return RemoteClient(settings, token=token)


def test_serve_from_a_team_server_logs_there_as_the_tokens_user(
    team: Server, tmp_path: Path
) -> None:
    from sklearn.tree import DecisionTreeClassifier

    token = team.token_for("dana", "contributor")
    client = remote(team, tmp_path / "dana", token, "dana")
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"age": rng.integers(18, 90, 200), "score": rng.normal(0, 1, 200)})
    model = DecisionTreeClassifier(max_depth=3).fit(frame, frame.score > 0)
    run = client.create_run("remote-serve")
    client.log_model(run.id, model, "model", input_example=frame.head(3))
    client.end_run(run.id)
    client.register_model(f"runs:/{run.id}/model", "fraud")
    client.promote("fraud", 1, "staging")

    port = free_port()
    env = {
        **os.environ,
        "MODELDECK_HOME": str(tmp_path / "serve-home"),
        "MODELDECK_TRACKING_URI": team.url,
        "MODELDECK_TOKEN": token,
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "modeldeck", "serve", "fraud@staging", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/health/ready", process, log)
        rows = frame.head(5).to_dict("records")
        answer = httpx.post(f"{url}/predict", json={"records": rows}, timeout=10)
        assert answer.status_code == 200, answer.text
        request_id = answer.json()["request_id"]
        deadline = time.monotonic() + 15
        logged = []
        while time.monotonic() < deadline and len(logged) < 5:
            logged = client.predictions(model="fraud")
            time.sleep(0.2)
        assert [p.row for p in logged] == [0, 1, 2, 3, 4]
        assert {p.request_id for p in logged} == {request_id}
        assert logged[0].outputs["prediction"] == bool(model.predict(frame.head(1))[0])
        (deployment,) = client.list_deployments()
        assert deployment.started_by == "dana" and deployment.version == 1
    finally:
        process.terminate()
        process.wait(15)
    client.close()


def test_a_viewer_cannot_start_a_deployment(team: Server, tmp_path: Path) -> None:
    token = team.token_for("val", None)
    env = {
        **os.environ,
        "MODELDECK_HOME": str(tmp_path / "serve-home"),
        "MODELDECK_TRACKING_URI": team.url,
        "MODELDECK_TOKEN": token,
    }
    admin = remote(team, tmp_path / "root", team.admin_token, "root")
    from sklearn.dummy import DummyClassifier

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    run = admin.create_run("viewer")
    admin.log_model(run.id, DummyClassifier().fit(frame, [0, 1, 1]), "model", input_example=frame)
    admin.end_run(run.id)
    admin.register_model(f"runs:/{run.id}/model", "dummy")
    admin.close()
    done = subprocess.run(
        [sys.executable, "-m", "modeldeck", "serve", "dummy/1", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "contributor" in done.stderr and "Traceback" not in done.stderr
