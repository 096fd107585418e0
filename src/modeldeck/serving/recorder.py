"""The prediction log: every answered request goes to the monitoring store, off the request
path.

Requests are put on a bounded queue (a constant-time, non-blocking call); one thread takes
them in batches and hands them to ``sink`` (``client.log_predictions``). When the queue is
full the request still succeeds; the entry is dropped, counted (``dropped``, exported on
/metrics) and logged — at most once every ten seconds, with the count — never silently. A
batch the sink refuses is retried with backoff, then dropped and counted the same way.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modeldeck.core.deployment import Prediction

log = logging.getLogger("modeldeck.serving")

Sink = Callable[[Sequence[Prediction]], int]


@dataclass(frozen=True, slots=True)
class Entry:
    """One request as answered: expanded into a row per prediction by the writer thread."""

    request_id: str
    role: str
    model: str
    version: int | None
    time: int
    latency_ms: float
    columns: Mapping[str, Sequence[Any]]
    predictions: Sequence[Any]
    probabilities: Sequence[Sequence[float]] | None
    deployment_id: str | None


class Recorder:
    def __init__(
        self,
        sink: Sink,
        *,
        capacity: int = 10_000,
        batch_rows: int = 1_000,
        interval: float = 0.5,
        retries: int = 3,
        counted: Callable[[str, int], None] | None = None,
    ) -> None:
        """``counted(outcome, rows)`` hears of every ``written`` and ``dropped`` count."""
        self.sink = sink
        self.counted = counted
        self.batch_rows = batch_rows
        self.interval = interval
        self.retries = retries
        self.written = 0
        self.dropped = 0
        self.failed = 0
        self._queue: queue.Queue[Entry | None] = queue.Queue(capacity)
        self._last_warning = 0.0
        self._thread = threading.Thread(target=self._drain, name="prediction-log", daemon=True)
        self._thread.start()

    def record(self, entry: Entry) -> bool:
        """Queue ``entry``; False (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(entry)
            return True
        except queue.Full:
            self._dropped(len(entry.predictions), "the prediction log queue is full")
            return False

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (waiting up to ``timeout`` seconds) and stop."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.warning("prediction log: could not stop the writer within %.0f s", timeout)
            return
        self._thread.join(timeout)

    def _dropped(self, rows: int, why: str) -> None:
        self.dropped += rows
        if self.counted is not None:
            self.counted("dropped", rows)
        now = time.monotonic()
        if now - self._last_warning >= 10:
            self._last_warning = now
            log.warning(
                "prediction log: %s; %d prediction(s) dropped so far (requests still succeed)",
                why,
                self.dropped,
            )

    def _drain(self) -> None:
        stopping = False
        while not stopping:
            entries: list[Entry] = []
            rows = 0
            deadline = time.monotonic() + self.interval
            while rows < self.batch_rows:
                try:
                    entry = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if entry is None:
                    stopping = True
                    break
                entries.append(entry)
                rows += len(entry.predictions)
            if entries:
                self._write(expand(entries), rows)

    def _write(self, predictions: list[Prediction], rows: int) -> None:
        for attempt in range(self.retries + 1):
            try:
                self.sink(predictions)
                self.written += rows
                if self.counted is not None:
                    self.counted("written", rows)
                return
            except Exception as exc:  # the store may be away for a while
                if attempt == self.retries:
                    self.failed += rows
                    self._dropped(rows, f"the store refused a batch ({exc})")
                    return
                time.sleep(min(2.0, 0.1 * 2**attempt))


def expand(entries: Sequence[Entry]) -> list[Prediction]:
    """One Prediction per row of every entry."""
    out: list[Prediction] = []
    for entry in entries:
        columns = list(entry.columns.items())
        for row, value in enumerate(entry.predictions):
            outputs: dict[str, Any] = {"prediction": value}
            if entry.probabilities is not None:
                outputs["probabilities"] = entry.probabilities[row]
            out.append(
                Prediction(
                    request_id=entry.request_id,
                    row=row,
                    model=entry.model,
                    version=entry.version,
                    role=entry.role,
                    time=entry.time,
                    latency_ms=entry.latency_ms,
                    inputs={name: _plain(column[row]) for name, column in columns},
                    outputs=outputs,
                    deployment_id=entry.deployment_id,
                )
            )
    return out


def _plain(value: Any) -> Any:
    """JSON-friendly: numpy scalars become Python ones."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value
