"""Evidence: the outcome of evaluating a model version against its policy.

``EvaluationResult.to_dict`` is what the registry stores with the version: JSON-safe, with
NaN written as ``None``, and read back by ``EvaluationResult.from_dict``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from modeldeck.core.errors import GateFailed

PASS, FAIL, SKIP, ERROR = "pass", "fail", "skip", "error"
VERDICTS = (PASS, FAIL, SKIP, ERROR)


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    type: str
    verdict: str
    value: float | None
    threshold: str
    detail: str

    @property
    def ok(self) -> bool:
        return self.verdict in (PASS, SKIP)

    def to_dict(self) -> dict[str, Any]:
        value = self.value if self.value is not None and math.isfinite(self.value) else None
        return {
            "name": self.name,
            "type": self.type,
            "verdict": self.verdict,
            "value": value,
            "threshold": self.threshold,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        value = data.get("value")
        return cls(
            data["name"],
            data["type"],
            data["verdict"],
            None if value is None else float(value),
            data["threshold"],
            data["detail"],
        )


@dataclass(frozen=True)
class EvaluationResult:
    """Every check's verdict plus the overall metrics; ``passed`` when none failed or erred."""

    passed: bool
    metrics: dict[str, float]
    checks: list[CheckResult]
    task: str
    rows: int
    dataset_digest: str
    policy: dict[str, Any] = field(default_factory=dict)
    champion_metrics: dict[str, float] | None = None

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.ok]

    def summary(self) -> str:
        counts = {v: sum(c.verdict == v for c in self.checks) for v in VERDICTS}
        head = "passed" if self.passed else "FAILED"
        tally = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        return f"{head}: {tally or 'no checks'} on {self.rows} rows"

    def raise_for_failures(self) -> None:
        """``GateFailed`` listing every failed or erred check, when there is one."""
        if self.failures:
            lines = "\n".join(f"  {c.verdict}: {c.name}: {c.detail}" for c in self.failures)
            raise GateFailed(f"{len(self.failures)} check(s) did not pass:\n{lines}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "metrics": _json_floats(self.metrics),
            "checks": [c.to_dict() for c in self.checks],
            "task": self.task,
            "rows": self.rows,
            "dataset_digest": self.dataset_digest,
            "policy": self.policy,
            "champion_metrics": (
                None if self.champion_metrics is None else _json_floats(self.champion_metrics)
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationResult:
        champion = data.get("champion_metrics")
        return cls(
            passed=bool(data["passed"]),
            metrics=_floats(data["metrics"]),
            checks=[CheckResult.from_dict(c) for c in data["checks"]],
            task=data["task"],
            rows=int(data["rows"]),
            dataset_digest=data["dataset_digest"],
            policy=dict(data.get("policy") or {}),
            champion_metrics=None if champion is None else _floats(champion),
        )


def _json_floats(values: dict[str, float]) -> dict[str, float | None]:
    return {k: v if math.isfinite(v) else None for k, v in values.items()}


def _floats(values: dict[str, float | None]) -> dict[str, float]:
    return {k: math.nan if v is None else float(v) for k, v in values.items()}
