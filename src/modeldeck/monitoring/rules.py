"""Alert rules as users write them: ``drift_share > 0.3``, ``auc < 0.75 over 7 days``.

Grammar (whitespace-tolerant; ``over`` and units are case-insensitive)::

    <metric> <op> <number> [over <n> <unit>]

    op     >  >=  <  <=  ==  !=
    unit   minute(s) m  hour(s) h  day(s) d  week(s) w

A metric is one of :data:`METRICS`, or a per-column metric ``drift_score.<column>`` /
``drifted.<column>`` where the column is any run of non-space characters (written without a
space before the operator, it ends at the first ``<``, ``>``, ``=`` or ``!``).

``over`` is only accepted for :data:`PERFORMANCE_METRICS`: labels arrive late and sparse, so a
quality metric is computed over a trailing span of labelled predictions. Drift and
data-quality metrics are judged per monitoring window against the reference, so a span would
mean nothing for them.

A rule is parsed once, when it is configured, and kept with its normalised ``text`` so that
what the user sees back is exactly what is evaluated; ``parse_rule(str(rule)) == rule``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from modeldeck.core.errors import InvalidInput
from modeldeck.core.monitoring import COLUMN_METRICS, PERFORMANCE_METRICS
from modeldeck.core.monitoring import RULE_METRICS as METRICS

# Those computed from labelled rows only: a window needs a minimum of labels to judge them.
LABELLED_METRICS = PERFORMANCE_METRICS - {"label_coverage", "rows"}

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}

_MINUTE_MS = 60_000
# canonical unit name -> (milliseconds, spellings accepted)
_UNITS: dict[str, tuple[int, tuple[str, ...]]] = {
    "minute": (_MINUTE_MS, ("minute", "minutes", "m")),
    "hour": (60 * _MINUTE_MS, ("hour", "hours", "h")),
    "day": (24 * 60 * _MINUTE_MS, ("day", "days", "d")),
    "week": (7 * 24 * 60 * _MINUTE_MS, ("week", "weeks", "w")),
}
_UNIT_BY_SPELLING = {s: name for name, (_, spellings) in _UNITS.items() for s in spellings}

_OPS_TEXT = " ".join(OPERATORS)
_EXAMPLE = "e.g. 'drift_share > 0.3' or 'auc < 0.75 over 7 days'"
_OVER = re.compile(r"\s+over(?=[\s\d]|$)\s*", re.IGNORECASE)
# The metric is lazy so that 'drift_score.x>0.3' splits at the first operator, yet the whole
# match is anchored, so 'drifted.a>b == 1' still finds the column 'a>b'.
_HEAD = re.compile(r"(?P<metric>\S+?)\s*(?P<op>[<>=!]+)\s*(?P<number>[^\s<>=!]+)")
_LOOSE_HEAD = re.compile(r"(?P<metric>.*?)\s*(?P<op>[<>=!]+)\s*(?P<number>.*)")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SPAN = re.compile(r"(?P<n>[^\sA-Za-z]+)\s*(?P<unit>[A-Za-z]*)")


@dataclass(frozen=True)
class Rule:
    """A parsed alert rule. ``over_ms`` is the trailing span of a performance metric, ``None``
    for "the current window"; ``text`` is the normalised expression the rule was parsed into."""

    metric: str
    op: str
    threshold: float
    over_ms: int | None
    text: str

    @property
    def column(self) -> str | None:
        """The column of a per-column metric (``drifted.age`` -> ``age``), else ``None``."""
        base, dot, column = self.metric.partition(".")
        return column if dot and base in COLUMN_METRICS else None

    def fires(self, value: float | None) -> bool:
        """Whether ``value`` breaks the rule. A missing value (``None`` or NaN: no labels yet,
        no rows in the window) never fires: an alert needs evidence, not its absence; watch
        ``rows`` or ``label_coverage`` to alert on missing data."""
        if value is None:
            return False
        value = float(value)
        if math.isnan(value):
            return False
        return OPERATORS[self.op](value, self.threshold)

    def __str__(self) -> str:
        return self.text


def parse_rule(text: str) -> Rule:
    """Parse ``<metric> <op> <number> [over <n> <unit>]``; raise :class:`InvalidInput` naming
    what is wrong and how to write it instead."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"an alert rule is empty; write '<metric> <op> <number>', {_EXAMPLE}")
    source = text.strip()
    parts = _OVER.split(source)
    if len(parts) > 2:
        raise InvalidInput(f"alert rule {source!r} has 'over' more than once; {_EXAMPLE}")
    head = parts[0]
    metric, op, threshold = _parse_head(head, source)
    over_ms: int | None = None
    span_text = ""
    if len(parts) == 2:
        if metric not in PERFORMANCE_METRICS:
            raise InvalidInput(
                f"alert rule {source!r}: 'over' only applies to performance metrics "
                f"({', '.join(sorted(PERFORMANCE_METRICS))}), which are computed over a "
                f"trailing span of (labelled) predictions; {metric} is judged per monitoring "
                f"window against the reference, so drop 'over ...' (e.g. '{metric} {op} "
                f"{_format_number(threshold)}')"
            )
        over_ms, span_text = _parse_span(parts[1], source)
    normalised = f"{metric} {op} {_format_number(threshold)}"
    if span_text:
        normalised += f" over {span_text}"
    return Rule(metric=metric, op=op, threshold=threshold, over_ms=over_ms, text=normalised)


def _parse_head(head: str, source: str) -> tuple[str, str, float]:
    match = _HEAD.fullmatch(head)
    if match is None:
        _explain_head(head, source)
    metric = _check_metric(match["metric"], source)
    op = match["op"]
    if op not in OPERATORS:
        hint = " (use == to test equality)" if op == "=" else ""
        raise InvalidInput(
            f"alert rule {source!r}: unknown operator {op!r}{hint}; expected one of "
            f"{_OPS_TEXT}, e.g. '{metric} > 0.3'"
        )
    return metric, op, _check_number(match["number"], source, metric, op)


def _explain_head(head: str, source: str) -> NoReturn:
    """Raise the most specific error for a head that does not match the grammar."""
    loose = _LOOSE_HEAD.fullmatch(head)
    if loose is None:
        raise InvalidInput(
            f"alert rule {source!r} has no comparison operator; write '<metric> <op> <number>' "
            f"with op one of {_OPS_TEXT}, {_EXAMPLE}"
        )
    if not loose["metric"]:
        raise InvalidInput(
            f"alert rule {source!r} has no metric before {loose['op']!r}; {_EXAMPLE}"
        )
    metric = _check_metric(loose["metric"], source)
    if not loose["number"]:
        raise InvalidInput(
            f"alert rule {source!r} has no threshold after {loose['op']!r}; write a number, "
            f"e.g. '{metric} {loose['op']} 0.3'"
        )
    _check_number(loose["number"], source, metric, loose["op"])
    raise InvalidInput(f"alert rule {source!r} does not parse; {_EXAMPLE}")  # pragma: no cover


def _check_metric(name: str, source: str) -> str:
    if any(c.isspace() for c in name):
        raise InvalidInput(
            f"alert rule {source!r}: metric {name!r} contains a space; metric and column "
            f"names are written without spaces, e.g. 'drift_score.age < 0.05'"
        )
    base, dot, column = name.partition(".")
    base = base.lower()
    if dot:
        if base not in COLUMN_METRICS:
            known = ", ".join(f"{m}.<column>" for m in COLUMN_METRICS)
            raise InvalidInput(
                f"alert rule {source!r}: unknown per-column metric {name!r}; known: {known} "
                f"(e.g. 'drift_score.age < 0.05')"
            )
        if not column:
            raise InvalidInput(
                f"alert rule {source!r}: name the column after '{base}.', e.g. '{base}.age == 1'"
            )
        return f"{base}.{column}"
    if base not in METRICS:
        known = ", ".join([*METRICS, *(f"{m}.<column>" for m in COLUMN_METRICS)])
        raise InvalidInput(f"alert rule {source!r}: unknown metric {name!r}; known: {known}")
    return base


def _check_number(number: str, source: str, metric: str, op: str) -> float:
    if number.endswith("%"):
        raise InvalidInput(
            f"alert rule {source!r}: write shares as fractions, not percentages "
            f"(e.g. '{metric} {op} 0.3' for 30%)"
        )
    if _NUMBER.fullmatch(number) is None:
        raise InvalidInput(
            f"alert rule {source!r}: threshold {number!r} is not a number; expected a finite "
            f"number such as 0.3, 12 or 1e-3, e.g. '{metric} {op} 0.3'"
        )
    value = float(number)
    if not math.isfinite(value):  # 1e999 overflows to inf
        raise InvalidInput(f"alert rule {source!r}: threshold {number!r} is out of range")
    return value + 0.0  # -0.0 -> 0.0, so '-0' and '0' normalise alike


def _parse_span(span: str, source: str) -> tuple[int, str]:
    expected = "expected 'over <n> <unit>' with a whole n > 0 and unit minutes, hours, days or "
    expected += "weeks (or m, h, d, w), e.g. 'auc < 0.75 over 7 days'"
    match = _SPAN.fullmatch(span.strip())
    if match is None or not match["unit"]:
        raise InvalidInput(
            f"alert rule {source!r}: cannot read the span {span.strip()!r}; {expected}"
        )
    n_text, unit_text = match["n"], match["unit"].lower()
    if not n_text.isdigit() or int(n_text) == 0:
        raise InvalidInput(
            f"alert rule {source!r}: span length {n_text!r} is not a whole number above 0 "
            f"(use a smaller unit for fractions, e.g. 'over 90 minutes'); {expected}"
        )
    unit = _UNIT_BY_SPELLING.get(unit_text)
    if unit is None:
        raise InvalidInput(f"alert rule {source!r}: unknown unit {match['unit']!r}; {expected}")
    n = int(n_text)
    unit_ms = _UNITS[unit][0]
    return n * unit_ms, f"{n} {unit}" + ("" if n == 1 else "s")


def _format_number(value: float) -> str:
    """The shortest text that reads back as ``value``: ``1`` rather than ``1.0``."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
