"""What a server serves: the primary model, an optional canary that takes a share of the
traffic (sticky per caller key) and an optional shadow that sees a copy of it.

Each of them is an :class:`Arm`: a model reference (``models:/churn@champion``), the version it
serves now and the batcher that predicts with it. An arm that follows an alias reloads in the
background when the alias moves and swaps its model between two batches: a batch runs on the
model it started with, the next one on the new model, and no request fails.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from modeldeck.core.errors import InvalidInput
from modeldeck.models.predictor import Predictor
from modeldeck.serving.batching import Batcher, Columns


@dataclass(frozen=True, slots=True)
class Served:
    """A loaded model: its registered name, version (``"3"``, or ``"run"``/``"local"`` when it
    has none), where it came from and the predictor."""

    name: str
    version: str
    uri: str
    predictor: Predictor

    @property
    def number(self) -> int | None:
        """The registry version, when there is one."""
        return int(self.version) if self.version.isdigit() else None

    @property
    def classes(self) -> list[Any] | None:
        classes = getattr(self.predictor.raw, "classes_", None)
        return None if classes is None else _list(classes)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One request's share of a batch: the model that answered and its outputs."""

    served: Served
    predictions: list[Any]
    probabilities: list[list[float]] | None


class Arm:
    """One model reference served by this worker: ``primary``, ``canary`` or ``shadow``."""

    def __init__(
        self, role: str, reference: str, served: Served, *, max_batch: int, max_wait: float
    ) -> None:
        self.role = role
        self.reference = reference
        self.served = served
        self.batcher: Batcher[Outcome] = Batcher(
            self._run, max_batch=max_batch, max_wait=max_wait, name=role
        )

    @property
    def follows(self) -> bool:
        """Whether the reference names an alias (and so may move)."""
        return "@" in self.reference

    def swap(self, served: Served) -> None:
        """Serve ``served`` from the next batch on (one reference assignment: atomic)."""
        self.served = served

    async def predict(self, columns: Columns, rows: int) -> Outcome:
        return await self.batcher.submit(columns, rows)

    def _run(self, columns: Columns, sizes: list[int]) -> list[Outcome]:
        served = self.served  # read once: the whole batch runs on one model
        predictions, probabilities = infer(served.predictor, columns)
        outcomes, start = [], 0
        for size in sizes:
            end = start + size
            outcomes.append(
                Outcome(
                    served,
                    predictions[start:end],
                    None if probabilities is None else probabilities[start:end],
                )
            )
            start = end
        return outcomes


def infer(predictor: Predictor, columns: Columns) -> tuple[list[Any], list[list[float]] | None]:
    """Predictions and, for classifiers, class probabilities, as plain lists for JSON."""
    predictions, probabilities = predictor.predict_with_proba(columns)
    return _list(predictions), None if probabilities is None else _list(probabilities)


def split(key: str, share: float) -> bool:
    """Whether the caller ``key`` belongs to the canary's ``share`` (0–1): the same key always
    gets the same answer, in every worker and across restarts."""
    if share <= 0:
        return False
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < share


def parse_canary(text: str) -> tuple[str, float]:
    """``churn@challenger:10`` → (``churn@challenger``, 0.10)."""
    reference, sep, share = text.rpartition(":")
    if not sep or not reference:
        raise InvalidInput(f"--canary needs MODEL:PERCENT, e.g. churn@challenger:10 (got {text!r})")
    try:
        percent = float(share)
    except ValueError:
        raise InvalidInput(
            f"--canary's share must be a percentage, e.g. churn@challenger:10 (got {share!r})"
        ) from None
    if not 0 < percent < 100:
        raise InvalidInput(f"--canary's share must be between 0 and 100 percent (got {share})")
    return reference, percent / 100


def _list(values: Any) -> list[Any]:
    return values.tolist() if hasattr(values, "tolist") else list(values)
