"""A server killed with SIGKILL under a load of concurrent writers loses no acknowledged write
and restarts cleanly, over SQLite and PostgreSQL.

Writers create runs (choosing their ids, so a create can be retried) and log metric batches
with an Idempotency-Key; each batch has a metric key of its own, so its rows are easy to count.
After a while the server's whole process group (uvicorn's workers are child processes) gets
SIGKILL mid-load. A new server on the same store must then show every acknowledged run and
every acknowledged batch in full; a batch the server never answered is all there or not at
all; and sending any batch again with its key, the client's way to recover, leaves it stored
exactly once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from modeldeck.tracking.tracker import Tracker
from server_support import Server, serve, start_server

WRITERS = 6
BATCH = 40  # metrics per batch
LOAD_S = 1.5  # of acknowledged writes before the kill
API = "/api/v1"


@dataclass
class Batch:
    run_id: str
    key: str  # the metric key of every row of this batch
    idempotency_key: str

    def body(self) -> dict[str, Any]:
        return {
            "metrics": [
                {"key": self.key, "value": step / 8, "step": step, "timestamp": 1_000 + step}
                for step in range(BATCH)
            ]
        }

    def send(self, http: httpx.Client) -> httpx.Response:
        return http.post(
            f"{API}/runs/{self.run_id}/metrics",
            json=self.body(),
            headers={"Idempotency-Key": self.idempotency_key},
        )


@dataclass
class Ledger:
    """What the writers sent, and what the server acknowledged (a 2xx answer)."""

    runs_acked: list[str] = field(default_factory=list)
    runs_unacked: list[str] = field(default_factory=list)
    batches_acked: list[Batch] = field(default_factory=list)
    batches_unacked: list[Batch] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # answers that are neither 2xx nor a crash
    lock: threading.Lock = field(default_factory=threading.Lock)


def write(server: Server, ledger: Ledger, writer: int, stop: threading.Event) -> None:
    """Until the server dies: a run, then batches into it, a new run every 5 batches."""
    with server.client(server.admin_token) as http:
        while not stop.is_set():
            run_id = uuid.uuid4().hex
            try:
                created = http.post(f"{API}/runs", json={"id": run_id, "experiment": "crash"})
            except httpx.TransportError:
                with ledger.lock:
                    ledger.runs_unacked.append(run_id)
                return
            if created.status_code != 201:
                with ledger.lock:
                    ledger.errors.append(f"create: {created.status_code} {created.text}")
                return
            with ledger.lock:
                ledger.runs_acked.append(run_id)
            for n in range(5):
                batch = Batch(run_id, f"w{writer}/b{n}", uuid.uuid4().hex)
                try:
                    response = batch.send(http)
                except httpx.TransportError:
                    with ledger.lock:
                        ledger.batches_unacked.append(batch)
                    return
                if response.status_code != 200 or response.json() != {
                    "stored": BATCH,
                    "replayed": False,
                }:
                    with ledger.lock:
                        ledger.errors.append(f"batch: {response.status_code} {response.text}")
                    return
                with ledger.lock:
                    ledger.batches_acked.append(batch)


def kill_group(server: Server) -> None:
    """SIGKILL to the server and every worker (its session's process group), and reaped."""
    group = server.process.pid
    members = group_members(group)
    assert len(members) >= 3, members  # the server and its two workers
    os.killpg(group, signal.SIGKILL)
    server.process.wait(10)
    deadline = time.monotonic() + 10
    while alive := [pid for pid in members if is_running(pid)]:
        assert time.monotonic() < deadline, f"still running after SIGKILL: {alive}"
        time.sleep(0.05)


def group_members(group: int) -> list[int]:
    """The processes of a process group (Linux /proc): the server and its workers."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group:  # state, ppid, pgrp, ...
                found.append(int(entry.name))
    return found


def is_running(pid: int) -> bool:
    """False once gone or a zombie (dead; a container's init may be slow to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def history(http: httpx.Client, batch: Batch) -> list[tuple[int, float, int]]:
    response = http.get(f"{API}/runs/{batch.run_id}/metrics/{batch.key}")
    assert response.status_code == 200, response.text
    return [(m["step"], m["value"], m["timestamp"]) for m in response.json()["metrics"]]


def stored(store: Tracker, batch: Batch) -> list[tuple[int, float, int]]:
    return [(m.step, m.value, m.timestamp) for m in store.metric_history(batch.run_id, batch.key)]


def expected(batch: Batch) -> list[tuple[int, float, int]]:
    return [(m["step"], m["value"], m["timestamp"]) for m in batch.body()["metrics"]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home' / 'modeldeck.db'}"
    url: str = request.getfixturevalue("empty_postgres_url")
    return url


@pytest.fixture
def first_server(backend: str, tmp_path: Path) -> Iterator[Server]:
    """Two workers, in a process group of their own."""
    started = start_server(tmp_path, backend, workers=2, new_session=True)
    server = next(started)
    try:
        yield server
    finally:
        if server.process.poll() is None:  # the test failed before the kill
            os.killpg(server.process.pid, signal.SIGKILL)
        started.close()


def test_sigkill_under_load_loses_no_acknowledged_write(
    first_server: Server, backend: str, tmp_path: Path
) -> None:
    ledger = Ledger()
    stop = threading.Event()
    writers = [
        threading.Thread(target=write, args=(first_server, ledger, n, stop), daemon=True)
        for n in range(WRITERS)
    ]
    for thread in writers:
        thread.start()
    deadline = time.monotonic() + 15
    while not ledger.batches_acked and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(LOAD_S)
    kill_group(first_server)
    stop.set()
    assert "Traceback" not in first_server.log.read_text()
    for thread in writers:
        thread.join(15)
        assert not thread.is_alive()
    assert not ledger.errors, ledger.errors[:5]
    assert len(ledger.batches_acked) >= 2 * WRITERS, "too little load to mean anything"
    assert ledger.batches_unacked or ledger.runs_unacked, "the kill came after every writer"

    restarted = serve(tmp_path, backend, first_server.admin_token, workers=2)
    server = next(restarted)  # waits for /health 200, or fails with the server's log
    owner = server.admin()
    store = owner.tracker  # read straight from the store: hundreds of batches
    try:
        for run_id in ledger.runs_acked:
            assert store.get_run(run_id).id == run_id
        for batch in ledger.batches_acked:
            assert stored(store, batch) == expected(batch), batch
        for batch in ledger.batches_unacked:
            assert stored(store, batch) in ([], expected(batch)), batch  # atomic

        with server.client(server.admin_token) as http:
            assert http.get("/health").json()["status"] == "ok"
            # the client's recovery: the unanswered batches again, with their keys; and a few
            # answered ones, as a client that lost the answer would
            for batch in ledger.batches_unacked + ledger.batches_acked[:WRITERS]:
                response = batch.send(http)
                assert response.status_code == 200, response.text
                assert stored(store, batch) == expected(batch), batch
            assert batch.send(http).json() == {"stored": 0, "replayed": True}
            assert history(http, batch) == expected(batch)
            # a run whose create got no answer is created again under its id, once
            for run_id in ledger.runs_unacked:
                again = http.post(f"{API}/runs", json={"id": run_id, "experiment": "crash"})
                assert again.status_code in (200, 201), again.text
                assert http.get(f"{API}/runs/{run_id}").json()["id"] == run_id
    finally:
        owner.close()
        restarted.close()
    assert "Traceback" not in server.log.read_text()
