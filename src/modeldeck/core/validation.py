"""Checks on names, keys and values, shared by every backend so errors read the same everywhere."""

from __future__ import annotations

import math
import numbers
import re

from modeldeck.core.errors import InvalidInput

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_NAME_LENGTH = 250

_KEY_RE = re.compile(r"^[A-Za-z0-9_\-./ :]+$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def check_key(key: object, what: str = "key") -> str:
    """A metric, param or tag key: 1-250 characters of letters, digits, ``_ - . / :`` and space."""
    if not isinstance(key, str):
        raise InvalidInput(f"{what} must be a string, got {type(key).__name__}: {key!r}")
    if not key:
        raise InvalidInput(f"{what} must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"{what} {key[:40]!r}... is {len(key)} characters long; the limit is {MAX_KEY_LENGTH}"
        )
    if not _KEY_RE.match(key):
        bad = sorted({c for c in key if not _KEY_RE.match(c)})
        raise InvalidInput(
            f"{what} {key!r} contains forbidden characters {''.join(bad)!r}; use letters, "
            "digits, spaces and _ - . / :"
        )
    if key.startswith("/") or ".." in key.split("/"):
        raise InvalidInput(f"{what} {key!r} must not start with '/' or contain '..' segments")
    return key


def check_name(name: object, what: str = "name", max_length: int = MAX_NAME_LENGTH) -> str:
    """An experiment or run name: printable text, not blank, at most ``max_length`` characters."""
    if not isinstance(name, str):
        raise InvalidInput(f"{what} must be a string, got {type(name).__name__}: {name!r}")
    if not name.strip():
        raise InvalidInput(f"{what} must not be blank")
    if len(name) > max_length:
        raise InvalidInput(f"{what} is {len(name)} characters long; the limit is {max_length}")
    if _CONTROL_RE.search(name):
        raise InvalidInput(f"{what} {name!r} contains control characters (newline, tab, ...)")
    return name


def check_metric_value(key: str, value: object) -> float:
    """A metric value: any real number; NaN and infinities are kept, as MLflow keeps them."""
    if isinstance(value, str) or not isinstance(value, numbers.Real):
        raise InvalidInput(
            f"metric {key!r} got {type(value).__name__} {value!r}; metric values must be numbers "
            "(log text as a param or a tag instead)"
        )
    return float(value)


def check_step(step: object) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidInput(f"step must be an integer, got {type(step).__name__} {step!r}")
    return int(step)


def stringify(value: object, what: str, max_length: int) -> str:
    """Params and tags are stored as text, as MLflow stores them."""
    text = (
        value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    )
    if len(text) > max_length:
        raise InvalidInput(f"{what} is {len(text)} characters long; the limit is {max_length}")
    if "\x00" in text:
        # PostgreSQL cannot store it; refused on every backend, so errors read the same
        raise InvalidInput(f"{what} contains a NUL character (\\x00)")
    return text


def is_finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))
