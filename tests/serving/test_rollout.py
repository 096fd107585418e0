"""Safe rollout with real `modeldeck serve` processes and a real HTTP client: the server follows
its alias and swaps versions under load without a failed request; a canary takes its share of
callers, sticky per caller key; a shadow's answers are logged, never returned; predictions
reach the monitoring store; `modeldeck deployments list` shows who serves what."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from modeldeck.client.local import LocalClient
from modeldeck.core.settings import Settings
from server_support import free_port, wait_until_up

USER = "ann"


@dataclass
class Store:
    home: Path
    settings: Settings
    frame: pd.DataFrame
    expected: dict[str, list[int]]  # version -> predictions on frame

    def client(self) -> LocalClient:
        return LocalClient(self.settings)

    def env(self) -> dict[str, str]:
        return {**os.environ, "MODELDECK_HOME": str(self.home), "MODELDECK_USER": USER}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """churn version 1 (champion) and version 2 (challenger) that predict opposite classes."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"tenure": rng.integers(1, 72, 400), "spend": rng.normal(50, 10, 400)})
    label = (frame.tenure > 30).astype(int)
    home = tmp_path / "md"
    settings = Settings(home, f"sqlite:///{home / 'modeldeck.db'}", str(home / "objects"), USER)
    client = LocalClient(settings)
    expected = {}
    for version, target in (("1", label), ("2", 1 - label)):
        model = LogisticRegression().fit(frame, target)
        run = client.create_run("serve")
        client.log_model(run.id, model, "model", input_example=frame.head(5))
        client.end_run(run.id)
        client.register_model(f"runs:/{run.id}/model", "churn")
        expected[version] = model.predict(frame).tolist()
    client.set_protected_aliases("churn", [])  # these tests move aliases without reviews
    client.promote("churn", 1, "champion")
    client.promote("churn", 2, "challenger")
    client.close()
    yield Store(home, settings, frame, expected)


@dataclass
class Serving:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def serve(store: Store) -> Iterator[object]:
    started: list[Serving] = []

    def start(*args: str) -> Serving:
        port = free_port()
        log = store.home.parent / f"serve-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "modeldeck", "serve", *args, "--port", str(port)],
                env=store.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/health/ready", process, log)
        started.append(Serving(url, process, log))
        return started[-1]

    yield start
    for serving in started:
        serving.process.terminate()
        serving.process.wait(15)


def record(store: Store, i: int) -> dict[str, object]:
    row = store.frame.iloc[i % len(store.frame)]
    return {"tenure": int(row.tenure), "spend": float(row.spend)}


def test_moving_the_alias_swaps_versions_under_load_without_a_failed_request(
    store: Store, serve: object
) -> None:
    serving = serve("churn@champion", "--workers", "2", "--poll", "0.2")  # type: ignore[operator]
    seen: list[tuple[float, str, bool]] = []  # (time, version, prediction right for it)
    failures: list[str] = []
    stop = threading.Event()

    def caller(offset: int) -> None:
        with httpx.Client(base_url=serving.url, timeout=10) as http:
            i = offset
            while not stop.is_set():
                i += 7
                try:
                    answer = http.post("/predict", json={"records": [record(store, i)]})
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code} {answer.text}")
                    continue
                body = answer.json()
                version = body["model"]["version"]
                right = body["predictions"][0] == store.expected[version][i % len(store.frame)]
                seen.append((time.monotonic(), version, right))

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)
        client = store.client()
        client.promote("churn", 2, "champion")
        moved = time.monotonic()
        deadline = moved + 20
        while time.monotonic() < deadline:
            recent = [v for t, v, _ in seen[-50:] if t > moved]
            if len(recent) == 50 and set(recent) == {"2"}:
                break
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)

    assert failures == []
    versions = Counter(v for _, v, _ in seen)
    assert versions["1"] > 50 and versions["2"] > 50, versions
    assert all(right for _, _, right in seen)  # every answer came from the version it named
    assert {v for t, v, _ in seen[-50:]} == {"2"}

    deployments = client.list_deployments()
    assert len(deployments) == 1 and deployments[0].version == 2
    swaps = client.audit_log(action="deployment.swap")
    assert len(swaps) == 1  # two workers swapped; the move is recorded once
    metrics = httpx.get(f"{serving.url}/metrics").text
    swapped = re.search(r'^modeldeck_model_swaps_total\{role="primary"\} (\S+)$', metrics, re.M)
    assert swapped is not None, metrics
    assert float(swapped[1]) == 2.0  # /metrics sums the workers: each swapped once
    client.close()


def test_the_canary_takes_its_share_of_callers_and_keeps_them(store: Store, serve: object) -> None:
    serving = serve("churn@champion", "--canary", "churn@challenger:10")  # type: ignore[operator]
    keys = [f"caller-{i}" for i in range(2_000)]
    answers: dict[str, str] = {}
    lock = threading.Lock()

    def call(chunk: list[str]) -> None:
        with httpx.Client(base_url=serving.url, timeout=10) as http:
            for n, key in enumerate(chunk):
                got = http.post(
                    "/invocations",
                    json={"dataframe_records": [record(store, n)]},
                    headers={"X-Caller-Key": key},
                )
                assert got.status_code == 200, got.text
                with lock:
                    answers[key] = got.headers["x-model-version"]

    threads = [threading.Thread(target=call, args=(keys[n::4],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 2_000
    share = sum(v == "2" for v in answers.values()) / len(answers)
    assert abs(share - 0.10) <= 0.03, share
    with httpx.Client(base_url=serving.url, timeout=10) as http:
        for key in keys[:40]:  # the same caller always reaches the same version
            again = http.post(
                "/predict", json={"records": [record(store, 1)]}, headers={"X-Caller-Key": key}
            )
            assert again.json()["model"]["version"] == answers[key]
        ready = http.get("/health/ready").json()
    assert ready["canary"] == {"model": "churn", "version": "2", "share": 0.1}


def test_the_shadow_is_logged_and_never_returned(store: Store, serve: object) -> None:
    serving = serve("churn@champion", "--shadow", "churn@challenger")  # type: ignore[operator]
    ids = [f"order-{i}" for i in range(40)]
    with httpx.Client(base_url=serving.url, timeout=10) as http:
        for i, request_id in enumerate(ids):
            got = http.post(
                "/predict",
                json={"records": [record(store, i)]},
                headers={"X-Request-Id": request_id},
            )
            assert got.status_code == 200
            body = got.json()
            assert body["model"]["version"] == "1" and body["request_id"] == request_id
            assert body["predictions"] == [store.expected["1"][i]]
        bad = http.post("/predict", json={"records": [record(store, 0)]},
                        headers={"X-Request-Id": "no spaces allowed"})  # fmt: skip
        assert bad.status_code == 422 and "X-Request-Id" in bad.json()["error"]["message"]
    client = store.client()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        shadow = client.predictions(role="shadow")
        primary = client.predictions(role="primary")
        if len(shadow) == len(ids) and len(primary) == len(ids):
            break
        time.sleep(0.2)
    by_id = {p.request_id: p for p in shadow}
    assert sorted(by_id) == sorted(ids)
    for i, request_id in enumerate(ids):
        assert by_id[request_id].version == 2
        assert by_id[request_id].outputs["prediction"] == store.expected["2"][i]
    logged = {p.request_id: p for p in primary}
    first = logged["order-0"]
    assert first.version == 1 and first.inputs == record(store, 0)
    assert first.outputs["prediction"] == store.expected["1"][0]
    assert len(first.outputs["probabilities"]) == 2 and first.latency_ms > 0
    assert first.deployment_id == client.list_deployments()[0].id
    metrics = httpx.get(f"{serving.url}/metrics").text
    assert "modeldeck_prediction_log_written_total 80.0" in metrics
    assert "modeldeck_prediction_log_dropped_total 0.0" in metrics
    client.close()


def test_deployments_list_shows_what_serves_which_version_and_who_started_it(
    store: Store, serve: object
) -> None:
    serving = serve("churn@champion", "--canary", "churn@challenger:25")  # type: ignore[operator]
    listed = subprocess.run(
        [sys.executable, "-m", "modeldeck", "deployments", "list", "--json"],
        env=store.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    (deployment,) = json.loads(listed.stdout)
    assert deployment["started_by"] == USER
    assert deployment["version"] == 1 and deployment["canary_version"] == 2
    assert deployment["canary_share"] == 0.25
    assert deployment["port"] == int(serving.url.rsplit(":", 1)[1])
    serving.process.terminate()
    serving.process.wait(15)
    client = store.client()
    (stopped,) = client.list_deployments(include_stopped=True)
    assert stopped.stopped_at is not None
    assert client.list_deployments() == []
    actions = [r.action for r in client.audit_log(subject=f"deployments:/{stopped.id}")]
    assert sorted(actions) == ["deployment.start", "deployment.stop"]
    client.close()
