"""Pinned requirements of a model package, read from the installed distributions.

Versions come from ``importlib.metadata`` once per process per distribution: cheap, and the
model itself is neither imported nor inspected to find them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib import metadata

from modeldeck.core.errors import InvalidInput

_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._\-]*)")


@cache
def installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def pinned(*distributions: str) -> list[str]:
    """``name==version`` for each installed distribution; absent ones are left out."""
    out = []
    for name in distributions:
        version = installed_version(name)
        if version is not None:
            out.append(f"{name}=={version}")
    return out


def requirement_name(requirement: str) -> str:
    """The normalised distribution name of ``scikit-learn>=1.4`` (``scikit-learn``)."""
    match = _NAME_RE.match(requirement) if isinstance(requirement, str) else None
    if match is None:
        raise InvalidInput(f"not a requirement: {requirement!r} (expected e.g. 'lightgbm==4.3.0')")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def merge(base: Iterable[str], extra: Iterable[str] | None) -> list[str]:
    """``base`` with ``extra`` added; an extra naming a package already in base replaces it."""
    if isinstance(extra, str):
        raise InvalidInput("requirements must be a list of strings, not one string")
    merged = {requirement_name(r): r for r in base}
    for requirement in extra or ():
        merged[requirement_name(requirement)] = requirement.strip()
    return sorted(merged.values(), key=str.lower)
