"""Alert rules as the OpenAPI document states them: the grammar of
:mod:`modeldeck.monitoring.rules` (which this layer may not import) as one pattern, so that
a rule the document calls valid parses. tests/wire pins the names to the parser's own.

The pattern spells the lower-case metric names, single spaces or none around the operator,
and thresholds without an exponent past 99 (always finite); the parser is more lenient
(any case, any whitespace), never stricter.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

WINDOW_METRICS = (
    "drift_share",
    "dataset_drift",
    "drifted_columns",
    "prediction_drift",
    "prediction_drift_score",
    "missing_share",
    "out_of_range_share",
    "unseen_category_share",
    "signature_violations",
)
PERFORMANCE_METRICS = (
    "rows",
    "auc",
    "accuracy",
    "f1",
    "precision",
    "recall",
    "log_loss",
    "rmse",
    "mae",
    "r2",
    "label_coverage",
)
COLUMN_METRICS = ("drift_score", "drifted")
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
