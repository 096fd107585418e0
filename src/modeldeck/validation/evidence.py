"""Evidence: the outcome of evaluating a model version against its policy.

``EvaluationResult.to_dict`` is what the registry stores with the version: JSON-safe, with
NaN written as ``None``, and read back by ``EvaluationResult.from_dict``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from modeldeck.core.errors import GateFailed

PASS, FAIL, SKIP, ERROR = "pass", "fail", "skip", "error"
VERDICTS = (PASS, FAIL, SKIP, ERROR)


def gate_passed(verdicts: Iterable[str]) -> bool:
    """Passed: at least one check ran and passed, and none failed or erred.

    Skipped checks judge nothing, so evidence made only of skips (or of no check at all)
    does not pass: a policy that checks nothing cannot let a version through.
    """
    seen = list(verdicts)
    return PASS in seen and all(v in (PASS, SKIP) for v in seen)


def contradictions(result: Mapping[str, Any], passed: bool | None = None) -> list[str]:
    """Where posted evidence contradicts itself (empty: it holds together).

    Each check's verdict must be a known one and agree with its value and threshold where the
    threshold can be read back (metric, slice floors and ceilings, improvement, latency), and
    ``passed`` (the body's and the result's own) must be what the checks give.
    """
    problems: list[str] = []
    checks = result.get("checks")
    if not isinstance(checks, list) or not all(isinstance(c, Mapping) for c in checks):
        return ["the result has no list of checks"]
    for check in checks:
        name, verdict = check.get("name"), check.get("verdict")
        if verdict not in VERDICTS:
            problems.append(f"check {name!r} has verdict {verdict!r}, not one of {VERDICTS}")
            continue
        value = check.get("value")
        if verdict not in (PASS, FAIL) or isinstance(value, bool):
            continue
        if not isinstance(value, int | float) or not math.isfinite(value):
            if verdict == PASS and check.get("type") in _JUDGED_BY_VALUE:
                problems.append(f"check {name!r} passed without a value")
            continue
        kind, threshold = str(check.get("type")), str(check.get("threshold", ""))
        breach = _threshold_breach(kind, threshold, value, slack=1)
        if verdict == PASS and breach:
            problems.append(f"check {name!r} says pass but its value {value:g} {breach}")
        if (
            verdict == FAIL
            and kind in _JUDGED_BY_VALUE
            and _threshold_breach(kind, threshold, value, slack=-1) == ""
        ):
            problems.append(f"check {name!r} says fail but its value {value:g} is within bounds")
    computed = gate_passed(str(c.get("verdict")) for c in checks)
    for label, claim in (("passed", passed), ("the result's passed", result.get("passed"))):
        if claim is not None and bool(claim) is not computed:
            problems.append(
                f"{label} is {bool(claim)} but the checks give {computed} "
                "(passed: some check passed and none failed or erred)"
            )
    return problems


_JUDGED_BY_VALUE = ("metric", "improvement", "latency")
_BOUND = re.compile(r"(>=|<=)\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def _threshold_breach(kind: str, threshold: str, value: float, slack: int) -> str | None:
    """How ``value`` breaks the bounds written in ``threshold``: "" for within them, None when
    the threshold says nothing readable. Thresholds are printed with ``%g``, which drops
    digits: ``slack=1`` counts a value that close to a bound as within, ``-1`` as outside."""
    if kind not in ("metric", "slice", "improvement", "latency"):
        return None
    if kind == "slice":
        # the gap to the overall value is not readable from the slice's own value
        threshold = threshold.split(" and at most ", maxsplit=1)[0]
    bounds = _BOUND.findall(threshold)
    if not bounds:
        return None
    for op, number in bounds:
        limit = float(number)
        margin = slack * 1e-5 * max(1.0, abs(limit))
        if op == ">=" and value < limit - margin:
            return f"is below {number}"
        if op == "<=" and value > limit + margin:
            return f"is above {number}"
    return ""


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
    """Every check's verdict plus the overall metrics; ``passed`` as :func:`gate_passed`."""

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
