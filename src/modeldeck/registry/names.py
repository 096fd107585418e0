"""Rules for model and alias names."""

from __future__ import annotations

import re

from modeldeck.core.errors import InvalidInput

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,249}$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")


def check_model_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"model name {name!r} is not allowed: use letters, digits, '_', '-' and '.', "
            "starting with a letter or digit, at most 250 characters"
        )
    return name


def check_alias(alias: object) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise InvalidInput(
            f"alias {alias!r} is not allowed: an alias starts with a letter and has only "
            "letters, digits, '_' and '-' (no spaces), at most 64 characters"
        )
    if alias.lower() == "latest" or alias.isdigit():
        raise InvalidInput(f"alias {alias!r} is reserved (it would read like a version)")
    return alias


def check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int | str):
        raise InvalidInput(f"a version is a positive whole number, got {version!r}")
    text = str(version)
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"a version is a positive whole number, got {version!r}")
    return int(text)
