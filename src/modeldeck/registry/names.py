"""Rules for model names, aliases and version numbers in the registry.

Names and aliases follow the URI grammar of ``modeldeck.core.refs``; the registry adds the
aliases it reserves.
"""

from __future__ import annotations

from modeldeck.core import refs
from modeldeck.core.errors import InvalidInput

check_model_name = refs.check_model_name


def check_alias(alias: object) -> str:
    refs.check_alias(alias)
    assert isinstance(alias, str)
    if alias.lower() == "latest":
        raise InvalidInput(f"alias {alias!r} is reserved (it would read like a version)")
    return alias


def check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int | str):
        raise InvalidInput(f"a version is a positive whole number, got {version!r}")
    text = str(version)
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"a version is a positive whole number, got {version!r}")
    return int(text)
