"""Adaptive micro-batching: concurrent requests become one vectorised ``predict``.

Requests queue as column dicts. One task per model takes what is queued, merges it (up to
``max_batch`` rows) and runs one prediction in the model's own thread; while that runs, new
requests gather for the next batch. So a lone request goes at once (no added latency), and
batches grow with the load. Under load (the last batch held more than one request) the task
also waits up to ``max_wait`` seconds for a batch to fill. A request larger than ``max_batch``
is never merged with others; it is predicted on its own. A lone request to a quick model is
predicted on the event loop (no thread hand-off: about half a millisecond less per request).

If a merged batch fails (one request's value does not fit the signature), each request is
predicted alone, so only the bad one gets the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Columns = Mapping[str, Sequence[Any]]
INLINE_LIMIT = 0.025
"""A lone request whose model typically answers faster than this (seconds) is predicted on the
event loop itself; slower models, and batches, always run in the model's thread."""
R = TypeVar("R")


@dataclass(slots=True)
class _Job:
    columns: Columns
    rows: int
    future: asyncio.Future[Any]


class Batcher(Generic[R]):
    """``await submit(columns, rows)`` → the slice of ``run(merged, sizes)`` for this request.

    ``run`` is called in one worker thread with the merged columns and the row count of each
    request in it; it returns one result per request, in order.
    """

    def __init__(
        self,
        run: Callable[[Columns, list[int]], list[R]],
        *,
        max_batch: int = 64,
        max_wait: float = 0.002,
        name: str = "model",
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.run = run
        self.max_batch = max_batch
        self.max_wait = max(0.0, max_wait)
        self._queue: deque[_Job] = deque()
        self._queued_rows = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"predict-{name}")
        self._busy = False  # the last batch held more than one request
        self._typical = 0.0  # seconds a predict call takes (moving average)

    @property
    def queued(self) -> int:
        """Requests waiting for a batch."""
        return len(self._queue)

    async def submit(self, columns: Columns, rows: int) -> R:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._serve())
        job = _Job(columns, rows, loop.create_future())
        self._queue.append(job)
        self._queued_rows += rows
        assert self._wake is not None
        self._wake.set()
        result: R = await job.future
        return result

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=True)

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        wake = self._wake
        assert wake is not None
        while True:
            if not self._queue:
                wake.clear()
                await wake.wait()
            if self._busy and self.max_wait and self._queued_rows < self.max_batch:
                await self._fill(wake)
            jobs = self._take()
            self._busy = len(jobs) > 1
            try:
                if len(jobs) == 1 and not self._queue and self._typical < INLINE_LIMIT:
                    # alone and quick: predict right here, sparing two thread hand-offs
                    results = self._predict(jobs)
                else:
                    results = await loop.run_in_executor(self._executor, self._predict, jobs)
            except Exception as exc:  # every waiting request gets the error
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            for job, result in zip(jobs, results, strict=True):
                if job.future.done():  # the caller went away
                    continue
                if isinstance(result, _Failed):
                    job.future.set_exception(result.error)
                else:
                    job.future.set_result(result)

    async def _fill(self, wake: asyncio.Event) -> None:
        """Wait up to max_wait for the queue to hold a full batch."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while self._queued_rows < self.max_batch:
            left = deadline - loop.time()
            if left <= 0:
                return
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), left)
            except TimeoutError:
                return

    def _take(self) -> list[_Job]:
        first = self._queue.popleft()
        jobs, rows = [first], first.rows
        while self._queue and rows + self._queue[0].rows <= self.max_batch:
            job = self._queue.popleft()
            jobs.append(job)
            rows += job.rows
        self._queued_rows -= rows
        return jobs

    def _predict(self, jobs: list[_Job]) -> list[Any]:
        """One call for the batch; if it fails, one call per request."""
        start = time.perf_counter()
        try:
            return self._call(jobs)
        finally:
            elapsed = time.perf_counter() - start
            self._typical = elapsed if self._typical == 0 else 0.8 * self._typical + 0.2 * elapsed

    def _call(self, jobs: list[_Job]) -> list[Any]:
        if len(jobs) == 1:
            job = jobs[0]
            try:
                return self.run(job.columns, [job.rows])
            except Exception as exc:  # handed to the request
                return [_Failed(exc)]
        try:
            return self.run(merge([job.columns for job in jobs]), [job.rows for job in jobs])
        except Exception:  # find which request it was
            return [self._call([job])[0] for job in jobs]


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


def merge(parts: Sequence[Columns]) -> dict[str, list[Any]]:
    """Column dicts stacked: a column one part lacks is None in its rows."""
    names = list(dict.fromkeys(name for part in parts for name in part))
    merged: dict[str, list[Any]] = {name: [] for name in names}
    for part in parts:
        rows = len(next(iter(part.values()))) if part else 0
        for name in names:
            values = part.get(name)
            if values is None:
                merged[name].extend([None] * rows)
            else:
                merged[name].extend(values)
    return merged
