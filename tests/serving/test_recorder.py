"""The prediction log's promises: a row per predicted row, written in batches off the request
path; a full queue or a refusing store drops entries, counts them and says so, never silently
and never by failing the request."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import pytest

from modeldeck.core.deployment import Prediction
from modeldeck.serving.recorder import Entry, Recorder


def entry(request_id: str, rows: int = 1) -> Entry:
    return Entry(
        request_id=request_id,
        role="primary",
        model="churn",
        version=3,
        time=1_700_000_000_000,
        latency_ms=1.5,
        columns={"tenure": list(range(rows)), "plan": ["a"] * rows},
        predictions=[1] * rows,
        probabilities=[[0.25, 0.75]] * rows,
        deployment_id="d1",
    )


def test_every_row_is_written_with_its_inputs_and_outputs() -> None:
    stored: list[Prediction] = []

    def sink(batch: Sequence[Prediction]) -> int:
        stored.extend(batch)
        return len(batch)

    recorder = Recorder(sink, interval=0.05)
    for i in range(10):
        assert recorder.record(entry(f"r{i}", rows=3))
    recorder.close()
    assert len(stored) == 30 and recorder.written == 30 and recorder.dropped == 0
    third = stored[2]
    assert (third.request_id, third.row, third.version, third.deployment_id) == ("r0", 2, 3, "d1")
    assert third.inputs == {"tenure": 2, "plan": "a"}
    assert third.outputs == {"prediction": 1, "probabilities": [0.25, 0.75]}


def test_a_full_queue_drops_counts_and_warns_while_requests_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()
    taken = threading.Event()

    def slow_sink(batch: Sequence[Prediction]) -> int:
        taken.set()
        release.wait(10)
        return len(batch)

    recorder = Recorder(slow_sink, capacity=2, interval=0.01)
    with caplog.at_level(logging.WARNING, logger="modeldeck.serving"):
        recorder.record(entry("first"))
        assert taken.wait(5)  # the writer holds "first" in a blocked sink
        results = [recorder.record(entry(f"r{i}")) for i in range(5)]
    assert results == [True, True, False, False, False]
    assert recorder.dropped == 3
    assert "dropped" in caplog.text and "queue is full" in caplog.text
    release.set()
    recorder.close()
    assert recorder.written == 3


def test_a_store_that_keeps_refusing_is_retried_then_counted() -> None:
    calls = []

    def broken(batch: Sequence[Prediction]) -> int:
        calls.append(time.monotonic())
        raise ConnectionError("store away")

    recorder = Recorder(broken, interval=0.01, retries=2)
    recorder.record(entry("a", rows=4))
    recorder.close()
    assert len(calls) == 3 and recorder.dropped == 4 and recorder.written == 0
