"""Micro-batching as the server relies on it: concurrent requests share one predict call that
never exceeds the max batch size, a lone request does not wait, and one bad request in a batch
fails alone."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from modeldeck.core.errors import InvalidInput
from modeldeck.serving.batching import Batcher, Columns, merge
from modeldeck.serving.routing import parse_canary, split


class Doubler:
    """A model that doubles ``x`` and refuses negative values, recording every call's size."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[int] = []
        self.delay = delay

    def __call__(self, columns: Columns, sizes: list[int]) -> list[list[Any]]:
        values = list(columns["x"])
        if any(v < 0 for v in values):
            raise InvalidInput("x must not be negative")
        self.calls.append(len(values))
        time.sleep(self.delay)
        doubled = [2 * v for v in values]
        out, start = [], 0
        for size in sizes:
            out.append(doubled[start : start + size])
            start += size
        return out


def test_concurrent_requests_share_calls_that_never_exceed_the_max_batch() -> None:
    model = Doubler(delay=0.005)

    async def main() -> list[Any]:
        batcher = Batcher(model, max_batch=8, max_wait=0.002)
        requests = [batcher.submit({"x": [i, i + 1000]}, 2) for i in range(100)]
        answers = await asyncio.gather(*requests)
        await batcher.close()
        return answers

    answers = asyncio.run(main())
    assert answers == [[2 * i, 2 * (i + 1000)] for i in range(100)]
    assert max(model.calls) <= 8
    assert sum(model.calls) == 200
    assert len(model.calls) < 100 / 2  # batched: far fewer calls than requests


def test_a_lone_request_does_not_wait_for_a_batch_to_fill() -> None:
    model = Doubler()

    async def main() -> float:
        batcher = Batcher(model, max_batch=64, max_wait=2.0)
        await batcher.submit({"x": [1]}, 1)  # warm the thread
        start = time.perf_counter()
        for _ in range(5):
            assert await batcher.submit({"x": [3]}, 1) == [6]
        await batcher.close()
        return time.perf_counter() - start

    assert asyncio.run(main()) < 0.5  # five sequential requests, none waited 2 s


def test_a_request_larger_than_the_max_batch_is_predicted_alone() -> None:
    model = Doubler(delay=0.002)

    async def main() -> list[Any]:
        batcher = Batcher(model, max_batch=4, max_wait=0.0)
        answers = await asyncio.gather(
            batcher.submit({"x": [1]}, 1),
            batcher.submit({"x": list(range(10))}, 10),
            batcher.submit({"x": [2]}, 1),
        )
        await batcher.close()
        return answers

    answers = asyncio.run(main())
    assert answers == [[2], [2 * v for v in range(10)], [4]]
    assert 10 in model.calls and all(size <= 4 for size in model.calls if size != 10)


def test_one_bad_request_in_a_batch_fails_alone() -> None:
    model = Doubler(delay=0.01)

    async def main() -> list[Any]:
        batcher = Batcher(model, max_batch=64, max_wait=0.005)
        answers = await asyncio.gather(
            *(batcher.submit({"x": [-1 if i == 3 else i]}, 1) for i in range(10)),
            return_exceptions=True,
        )
        await batcher.close()
        return answers

    answers = asyncio.run(main())
    assert isinstance(answers[3], InvalidInput)
    assert [a for i, a in enumerate(answers) if i != 3] == [[2 * i] for i in range(10) if i != 3]


def test_merge_stacks_columns_and_fills_what_a_request_lacks() -> None:
    merged = merge([{"a": [1, 2], "b": ["x", "y"]}, {"a": [3]}])
    assert merged == {"a": [1, 2, 3], "b": ["x", "y", None]}


def test_the_canary_split_is_sticky_and_near_its_share() -> None:
    keys = [f"customer-{i}" for i in range(20_000)]
    chosen = [split(key, 0.1) for key in keys]
    assert abs(sum(chosen) / len(keys) - 0.1) < 0.01
    assert chosen == [split(key, 0.1) for key in keys]  # the same caller, the same side
    assert not any(split(key, 0.0) for key in keys[:100])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("churn@challenger", "MODEL:PERCENT"),
        ("churn@challenger:ten", "percentage"),
        ("churn@challenger:0", "between 0 and 100"),
        ("churn@challenger:100", "between 0 and 100"),
    ],
)
def test_a_bad_canary_names_the_fix(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_canary(text)
    assert parse_canary("churn@challenger:10") == ("churn@challenger", 0.1)
