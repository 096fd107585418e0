"""Flavors: how one kind of model is saved into a package folder and loaded back.

A flavor is a module with ``NAME``, ``SERIALIZATIONS``, ``default_serialization(model)``,
``requirements(serialization)``, ``save(model, folder, serialization) -> dict`` (what the
manifest records about the saved files) and ``load(folder, manifest, allow_pickle) -> model``.
Flavors are listed here by name and imported only when used.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, cast

from modeldeck.core.errors import InvalidInput

FLAVORS: dict[str, str] = {
    "sklearn": "modeldeck.models.flavors.sklearn",
    "python": "modeldeck.models.flavors.python",
}


class UnsafeModelError(InvalidInput):
    """Loading this package would run code from its files, and the caller did not allow it."""


class UntrustedTypesError(UnsafeModelError):
    """A skops file names types outside the flavor's allowlist; ``types`` lists them."""

    def __init__(self, message: str, types: list[str]) -> None:
        super().__init__(message)
        self.types = types


class Flavor(Protocol):
    NAME: str
    SERIALIZATIONS: tuple[str, ...]

    def default_serialization(self, model: Any) -> str: ...

    def requirements(self, serialization: str) -> list[str]: ...

    def save(self, model: Any, folder: Path, serialization: str) -> dict[str, Any]: ...

    def load(self, folder: Path, manifest: dict[str, Any], allow_pickle: bool) -> Any: ...


def get_flavor(name: str) -> Flavor:
    target = FLAVORS.get(name)
    if target is None:
        raise InvalidInput(f"unknown model flavor {name!r}; known: {', '.join(sorted(FLAVORS))}")
    module: ModuleType = importlib.import_module(target)
    return cast(Flavor, module)


def flavor_for(model: Any) -> str:
    """``sklearn`` for scikit-learn estimators, ``python`` for any other object with predict."""
    if any(klass.__module__.split(".")[0] == "sklearn" for klass in type(model).__mro__):
        from sklearn.base import BaseEstimator

        if isinstance(model, BaseEstimator):
            return "sklearn"
    if callable(getattr(model, "predict", None)):
        return "python"
    raise InvalidInput(
        f"cannot log a {type(model).__module__}.{type(model).__qualname__} as a model: it is "
        "neither a scikit-learn estimator nor an object with a predict(frame) method"
    )
