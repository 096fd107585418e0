"""Run searches as the OpenAPI document states them: a part of the grammar of
:mod:`modeldeck.core.filters`, as patterns, so that a filter or an order the document calls
valid parses and type-checks.

The full grammar (OR, parentheses, IN, LIKE, IS NULL, attributes, quoted names) is more than a
pattern keeps readable; the document names the common part, comparisons joined by AND, and
the description of each field points at the rest. Every text the patterns admit is accepted.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,40}"
_NUMBER = r"-?[0-9]{1,10}(?:\.[0-9]{1,10})?"
_STRING = r"'[A-Za-z0-9_ .:/\-]{0,40}'"
_METRIC = rf"metrics\.{_NAME} (?:=|!=|<|<=|>|>=) {_NUMBER}"
_TEXT = rf"(?:params|tags)\.{_NAME} (?:=|!=) {_STRING}"
_COMPARISON = f"(?:{_METRIC}|{_TEXT})"
_BLANK = r"[ \t]*"  # no filter, no order
FILTER_PATTERN = rf"^(?:{_BLANK}|{_COMPARISON}(?: AND {_COMPARISON})*)$"

ATTRIBUTES = (
    "run_id",
    "run_name",
    "status",
    "user",
    "start_time",
    "end_time",
    "experiment_id",
    "parent_id",
    "git_commit",
)
_ORDER_KEY = rf"(?:(?:metrics|params|tags)\.{_NAME}|{'|'.join(ATTRIBUTES)})"
ORDER_PATTERN = rf"^(?:{_BLANK}|{_ORDER_KEY}(?: (?:ASC|DESC))?)$"

GRAMMAR = "the search grammar of modeldeck.core.filters (MLflow's search_runs syntax)"
Filter = Annotated[
    str,
    Field(
        max_length=10_000,
        json_schema_extra={"pattern": FILTER_PATTERN},
        description=f"comparisons joined by AND, e.g. metrics.auc > 0.8 AND params.lr = '0.1'; "
        f"{GRAMMAR} reads more",
    ),
]
Order = Annotated[
    str,
    Field(
        max_length=1000,
        json_schema_extra={"pattern": ORDER_PATTERN},
        description=f"a key, then ASC or DESC, e.g. metrics.auc DESC; {GRAMMAR} reads more",
    ),
]
