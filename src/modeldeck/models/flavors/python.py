"""Any Python object with ``predict(frame)``.

An arbitrary object can only be stored as a pickle, and loading a pickle runs code from the
file, so such packages load only with ``allow_pickle=True``. A class that can save itself
avoids that: give it ``save(self, path)`` (write into the folder ``path``) and a classmethod
``load(cls, path)``, defined in an importable module; the package then records
``module:qualname`` and loading imports that module (installed code, not code from the file)
and calls ``load``. Note that importing runs the module's top-level code, as any import does:
a package can only name modules that are installed where it is loaded.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import warnings
from pathlib import Path
from typing import Any

from modeldeck.core.errors import InvalidInput
from modeldeck.models.flavors import UnsafeModelError
from modeldeck.models.requirements import pinned

NAME = "python"
SERIALIZATIONS = ("custom", "pickle")
PICKLE_FILE = "model.pkl"
CUSTOM_FOLDER = "model"


def requirements(serialization: str) -> list[str]:
    return pinned("numpy", "pandas")


def default_serialization(model: Any) -> str:
    return "custom" if loader_of(type(model)) is not None else "pickle"


def loader_of(cls: type) -> str | None:
    """``module:qualname`` of a class with ``save`` and a classmethod ``load`` that can be
    imported back by that name; None otherwise."""
    if not callable(getattr(cls, "save", None)):
        return None
    if not isinstance(inspect.getattr_static(cls, "load", None), classmethod):
        return None
    module, qualname = cls.__module__, cls.__qualname__
    if module in ("__main__", "__mp_main__", "builtins") or "<locals>" in qualname:
        return None
    try:
        found = _resolve(module, qualname)
    except (ImportError, AttributeError):
        return None
    return f"{module}:{qualname}" if found is cls else None


def save(model: Any, folder: Path, serialization: str) -> dict[str, Any]:
    if serialization == "custom":
        loader = loader_of(type(model))
        if loader is None:
            raise InvalidInput(
                f"{type(model).__qualname__} cannot save itself: it needs a save(path) method "
                "and a classmethod load(path), in a module importable by name (not __main__)"
            )
        target = folder / CUSTOM_FOLDER
        target.mkdir()
        model.save(target)
        return {"model_file": CUSTOM_FOLDER, "loader": loader}
    if serialization != "pickle":
        raise InvalidInput(
            f"the python flavor saves with 'custom' (the class's own save/load) or 'pickle', "
            f"not {serialization!r}"
        )
    try:
        data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as e:
        raise InvalidInput(
            f"cannot pickle the {type(model).__qualname__} model ({e}); define its class at "
            "module level, or give it save(path) and a classmethod load(path)"
        ) from None
    (folder / PICKLE_FILE).write_bytes(data)
    warnings.warn(
        f"{type(model).__qualname__} is stored as a pickle, so loading it will need "
        "allow_pickle=True; give the class save(path) and a classmethod load(path) to avoid it",
        UserWarning,
        stacklevel=6,  # the caller of modeldeck.log_model
    )
    return {"model_file": PICKLE_FILE}


def load(folder: Path, manifest: dict[str, Any], allow_pickle: bool) -> Any:
    serialization = manifest["serialization"]
    options = manifest.get("flavor_options") or {}
    path = folder / manifest["model_file"]
    if serialization == "custom":
        loader = options.get("loader")
        if not isinstance(loader, str) or loader.count(":") != 1:
            raise InvalidInput(f"the manifest's loader {loader!r} is not 'module:qualname'")
        module, _, qualname = loader.partition(":")
        try:
            cls = _resolve(module, qualname)
        except (ImportError, AttributeError) as e:
            raise InvalidInput(
                f"cannot import the model class {loader}: {e}; install the package that defines it"
            ) from None
        if not isinstance(cls, type) or not isinstance(
            inspect.getattr_static(cls, "load", None), classmethod
        ):
            raise InvalidInput(f"{loader} is not a class with a classmethod load(path)")
        factory: Any = cls  # a class with a classmethod load, as checked above
        model = factory.load(path)
    elif serialization == "pickle":
        if not allow_pickle:
            raise UnsafeModelError(
                "this generic Python model is stored as a pickle, because an arbitrary object "
                "cannot be saved safely; loading it runs whatever code the file contains. "
                "Load it with allow_pickle=True only if you trust whoever logged it, or give "
                "the class save(path) and a classmethod load(path) and log it again"
            )
        with open(path, "rb") as f:
            model = pickle.load(f)
    else:
        raise InvalidInput(f"unknown python serialization {serialization!r} in the manifest")
    if not callable(getattr(model, "predict", None)):
        raise InvalidInput(f"the loaded {type(model).__qualname__} has no predict method")
    return model


def _resolve(module: str, qualname: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj
