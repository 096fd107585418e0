"""Alert rules as the OpenAPI document states them: the grammar of
:mod:`modeldeck.monitoring.rules` (which this layer may not import) as one pattern, so that
a rule the document calls valid parses. The metric names come from core, as the parser's do.

The pattern spells the lower-case metric names, single spaces or none around the operator,
and thresholds without an exponent past 99 (always finite); the parser is more lenient
(any case, any whitespace), never stricter.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from modeldeck.core.monitoring import COLUMN_METRICS as _COLUMN_NAMES
from modeldeck.core.monitoring import PERFORMANCE_METRICS as _PERFORMANCE_NAMES
from modeldeck.core.monitoring import RULE_METRICS

WINDOW_METRICS = tuple(m for m in RULE_METRICS if m not in _PERFORMANCE_NAMES)
PERFORMANCE_METRICS = tuple(m for m in RULE_METRICS if m in _PERFORMANCE_NAMES)
COLUMN_METRICS = tuple(_COLUMN_NAMES)
OPERATORS = (">=", "<=", "==", "!=", ">", "<")  # longest first, as a regex tries them
UNITS = ("minutes", "minute", "m", "hours", "hour", "h", "days", "day", "d", "weeks", "week", "w")

_NUMBER = r"[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})(?:[eE][+-]?[0-9]{1,2})?"
_OP = f" ?(?:{'|'.join(OPERATORS)}) ?"
_COLUMN = rf"(?:{'|'.join(COLUMN_METRICS)})\.[A-Za-z0-9_]{{1,100}}"
_WINDOW = rf"(?:{'|'.join(WINDOW_METRICS)}|{_COLUMN}){_OP}{_NUMBER}"
_OVER = rf" over [1-9][0-9]{{0,3}} ?(?:{'|'.join(UNITS)})"
_PERFORMANCE = rf"(?:{'|'.join(PERFORMANCE_METRICS)}){_OP}{_NUMBER}(?:{_OVER})?"
RULE_PATTERN = f"^(?:{_WINDOW}|{_PERFORMANCE})$"

RuleText = Annotated[
    str, Field(min_length=1, max_length=500, json_schema_extra={"pattern": RULE_PATTERN})
]
