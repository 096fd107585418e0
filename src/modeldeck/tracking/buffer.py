"""The background writer: metrics are queued in memory and written in batches.

A training loop's ``log_metric`` only appends to a list; a daemon thread writes what has
gathered every ``interval`` seconds (or as soon as ``max_batch`` rows wait), one transaction
per batch. ``flush`` returns once everything queued before it is stored, and re-raises a
write failure there, so an error is never silent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from modeldeck.core.errors import ModeldeckError

log = logging.getLogger(__name__)

# (run_id, key, value, step, timestamp ms)
MetricRow = tuple[str, str, float, int, int]
Sink = Callable[[Sequence[MetricRow]], None]


class MetricBuffer:
    def __init__(self, sink: Sink, *, max_batch: int = 20_000, interval: float = 0.5) -> None:
        self._sink = sink
        self._max_batch = max_batch
        self._interval = interval
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one batch in flight at a time, in order
        self._done = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._pending: list[MetricRow] = []
        self._queued = 0  # rows ever queued
        self._settled = 0  # rows ever written or failed
        self._errors: list[BaseException] = []
        self._thread: threading.Thread | None = None
        self._closed = False

    def add(self, rows: Sequence[MetricRow]) -> None:
        with self._lock:
            if self._closed:
                raise ModeldeckError("the metric writer is closed; the process is exiting")
            self._pending.extend(rows)
            self._queued += len(rows)
            waiting = len(self._pending)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="modeldeck-metric-writer", daemon=True
                )
                self._thread.start()
        if waiting >= self._max_batch:
            self._wake.set()

    def flush(self, timeout: float | None = None, *, last: Sink | None = None) -> None:
        """Block until every row queued so far is stored; raise the first write error.

        The caller writes what is still pending itself rather than handing it to the writer
        thread: a run that ends right after logging does not pay a thread switch. ``last``,
        when given, writes that final batch instead of the sink (and is called even when the
        batch is empty), so a caller can store it in the same transaction as other work.
        """
        with self._lock:
            target = self._queued
        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if last is None:
                self._write_all(batch)
            else:
                try:
                    last(batch)
                except BaseException:
                    # The caller's own work failed: still store the rows through the sink.
                    self._write_all(batch)
                    raise
                with self._done:
                    self._settled += len(batch)
                    self._done.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._done:
            while self._settled < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"metrics not written after {timeout} s")
                self._done.wait(remaining)
            errors, self._errors = self._errors, []
        if errors:
            raise errors[0]

    def close(self) -> None:
        try:
            self.flush()
        finally:
            with self._lock:
                self._closed = True
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            with self._write_lock:
                with self._lock:
                    batch, self._pending = self._pending, []
                    closed = self._closed
                self._write_all(batch)
            if closed and not batch:
                return

    def _write_all(self, batch: Sequence[MetricRow]) -> None:
        for start in range(0, len(batch), self._max_batch):
            self._write(batch[start : start + self._max_batch])

    def _write(self, chunk: Sequence[MetricRow]) -> None:
        error: BaseException | None = None
        for attempt in range(5):
            try:
                self._sink(chunk)
                error = None
                break
            except ModeldeckError as exc:  # bad input: retrying cannot help
                error = exc
                break
            except Exception as exc:  # a passing database fault: retry with backoff
                error = exc
                time.sleep(0.05 * 2**attempt)
        if error is not None:
            log.error("could not store %d metric values: %s", len(chunk), error)
        with self._done:
            if error is not None:
                self._errors.append(error)
            self._settled += len(chunk)
            self._done.notify_all()
