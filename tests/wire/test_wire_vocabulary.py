"""The closed sets the OpenAPI document names (Literal types of modeldeck.wire) are the ones the
services accept: wire may import only core, so it spells out what governance and monitoring
define, and these tests keep the two spellings one."""

from __future__ import annotations

from typing import get_args

from modeldeck.core.deployment import ROLES
from modeldeck.core.monitoring import SOURCES
from modeldeck.governance.card_sections import SECTIONS
from modeldeck.governance.cards import CardStatus
from modeldeck.governance.config import KEYS
from modeldeck.wire import governance, monitoring, serving


def test_deployment_roles() -> None:
    assert get_args(serving.Role) == ROLES


def test_window_sources() -> None:
    assert get_args(monitoring.Source) == SOURCES


def test_card_statuses() -> None:
    assert get_args(governance.CardStatus) == tuple(s.value for s in CardStatus)


def test_card_sections() -> None:
    assert get_args(governance.CardSection) == tuple(SECTIONS)


def test_server_settings() -> None:
    assert set(get_args(governance.ConfigKey)) == set(KEYS)
