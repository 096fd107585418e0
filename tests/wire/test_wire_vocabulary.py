"""The closed sets the OpenAPI document names (Literal types of modeldeck.wire) are the ones the
services accept: wire may import only core, so it spells out what governance and monitoring
define, and these tests keep the two spellings one."""

from __future__ import annotations

import re
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeldeck.core.deployment import ROLES
from modeldeck.core.errors import InvalidInput
from modeldeck.core.monitoring import ACTIONS, SOURCES
from modeldeck.governance.card_sections import SECTIONS
from modeldeck.governance.cards import CardStatus
from modeldeck.governance.config import KEYS
from modeldeck.monitoring import rules as parser
from modeldeck.monitoring.drift import METHODS
from modeldeck.wire import governance, monitoring, rules, serving


def test_deployment_roles() -> None:
    assert get_args(serving.Role) == ROLES


def test_window_sources() -> None:
    assert get_args(monitoring.Source) == SOURCES


def test_card_statuses() -> None:
    assert get_args(governance.CardStatus) == tuple(s.value for s in CardStatus)


def test_card_sections() -> None:
    assert get_args(governance.CardSection) == tuple(SECTIONS)


def test_server_settings() -> None:
    assert set(KEYS) == {"webhook_hosts", "python_loaders"}  # one route each
    assert KEYS["webhook_hosts"].pattern.pattern == governance.HOST_PATTERN
    assert KEYS["python_loaders"].pattern.pattern == governance.LOADER_PATTERN


def test_rule_names_are_the_parsers() -> None:
    assert set(rules.WINDOW_METRICS) | set(rules.PERFORMANCE_METRICS) == set(parser.METRICS)
    assert set(rules.PERFORMANCE_METRICS) == parser.PERFORMANCE_METRICS
    assert set(rules.COLUMN_METRICS) == set(parser.COLUMN_METRICS)
    assert set(rules.OPERATORS) == set(parser.OPERATORS)


@pytest.mark.parametrize(
    "text",
    [
        "drift_share > 0.3",
        "auc < 0.75 over 7 days",
        "rows>=10",
        "drift_score.age <= 1e-3",
        "drifted.a_b == 1",
        "label_coverage != -0 over 1 w",
        "r2 < .5 over 90minutes",
    ],
)
def test_a_rule_the_pattern_admits_parses(text: str) -> None:
    assert re.fullmatch(rules.RULE_PATTERN, text)
    parser.parse_rule(text)


@pytest.mark.parametrize("text", ["0", "drift_share > 0.3 over 7 days", "auc <", "auc > 1%"])
def test_a_rule_the_parser_refuses_is_outside_the_pattern(text: str) -> None:
    assert not re.fullmatch(rules.RULE_PATTERN, text)
    with pytest.raises(InvalidInput):
        parser.parse_rule(text)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(rules.RULE_PATTERN, fullmatch=True))
def test_every_rule_the_pattern_admits_parses(text: str) -> None:
    parser.parse_rule(text)


def test_rule_actions_and_drift_methods() -> None:
    assert get_args(monitoring.Action) == ACTIONS
    assert get_args(monitoring.DriftMethod) == METHODS
