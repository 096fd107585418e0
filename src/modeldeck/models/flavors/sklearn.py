"""scikit-learn estimators and pipelines, stored with skops (or, if asked, joblib).

Why skops, and why this allowlist is safe enough
-------------------------------------------------
A pickle (joblib) file is a program: loading it can call any importable function with any
arguments. A skops file is JSON describing objects; loading rebuilds each object from a type
named in the file, and refuses types nobody trusted. So safety comes down to which names are
trusted. skops trusts scikit-learn's public estimators, builtins and numpy/scipy ufuncs; for
the rest this flavor decides, never the file:

- ``TRUSTED_TYPES`` and ``TRUSTED_FUNCTIONS``: exact names, reviewed one by one. Functions
  matter most, because an estimator may call a stored function with stored arguments later
  (``FunctionTransformer``, ``functools.partial``), so only pure numerical functions are here.
- ``TRUSTED_CLASS_PREFIXES`` (``sklearn.``): any *class* defined in scikit-learn, checked by
  importing its module and looking: the name must resolve to a class whose ``__module__`` is
  that module, so a name cannot reach a function, a module or something re-exported from
  elsewhere. Rebuilding such an object runs only ``__new__`` and scikit-learn's own
  ``__setstate__``; naming it cannot run code of the file's choosing. Test helpers, vendored
  code and datasets (``_EXCLUDED_PARTS``) are left out.

``skops.io.load`` then gets the names this allowlist approved, and only them; a file whose
``get_untrusted_types`` lists anything else is refused before anything is constructed.

What remains: Cython structures index arrays that come from the file without bounds checks, so
a crafted file could crash the process (skops leaves ``TreePredictor`` out of its defaults for
this reason). ``check_structures`` validates the two common ones, decision trees
(``sklearn.tree._tree.Tree``) and histogram-gradient-boosting predictors, after loading: child
indices in range and increasing (no cycles), feature indices within the estimator's inputs,
categorical bitsets that exist. A package's bytes are also verified against the digests
recorded when it was logged, so a file cannot change after its run wrote it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from modeldeck.core.errors import IntegrityError, InvalidInput
from modeldeck.models.flavors import UnsafeModelError, UntrustedTypesError
from modeldeck.models.requirements import pinned

NAME = "sklearn"
SERIALIZATIONS = ("skops", "joblib")
MODEL_FILES = {"skops": "model.skops", "joblib": "model.joblib"}

TRUSTED_TYPES = frozenset(
    {
        "numpy.dtype",
        # skops rebuilds partials as functools.partial only; the wrapped function and its
        # arguments are separate nodes, checked on their own.
        "functools.partial",
        "scipy.interpolate._bsplines.BSpline",  # SplineTransformer
    }
)
TRUSTED_FUNCTIONS = frozenset(
    {
        # HistGradientBoosting keeps partial(check_array, ...) for its preprocessing.
        "sklearn.utils.validation.check_array",
        # score functions of univariate feature selection
        "sklearn.feature_selection._univariate_selection.f_classif",
        "sklearn.feature_selection._univariate_selection.f_regression",
        "sklearn.feature_selection._univariate_selection.r_regression",
        "sklearn.feature_selection._univariate_selection.chi2",
        "sklearn.feature_selection._mutual_info.mutual_info_classif",
        "sklearn.feature_selection._mutual_info.mutual_info_regression",
        # BisectingKMeans keeps its inner k-means routine
        "sklearn.cluster._kmeans._kmeans_single_lloyd",
        "sklearn.cluster._kmeans._kmeans_single_elkan",
        # FeatureAgglomeration's pooling function, and common FunctionTransformer helpers
        "numpy.mean",
        "numpy.median",
        "numpy.max",
        "numpy.min",
        "numpy.sum",
        "numpy.clip",
        "scipy._lib.array_api_compat.numpy._aliases.asarray",  # SplineTransformer
    }
)
TRUSTED_CLASS_PREFIXES = ("sklearn.",)
_EXCLUDED_PARTS = frozenset({"tests", "_testing", "externals", "datasets", "conftest"})


def default_serialization(model: Any) -> str:
    return "skops"


def requirements(serialization: str) -> list[str]:
    return pinned("scikit-learn", "numpy", "scipy", "pandas", serialization)


# -- saving ------------------------------------------------------------------------------------


def save(model: Any, folder: Path, serialization: str) -> dict[str, Any]:
    if serialization not in SERIALIZATIONS:
        raise InvalidInput(
            f"the sklearn flavor saves with {' or '.join(map(repr, SERIALIZATIONS))}, "
            f"not {serialization!r}"
        )
    path = folder / MODEL_FILES[serialization]
    if serialization == "joblib":
        import joblib

        joblib.dump(model, path)
    else:
        import zipfile

        skops_io = _skops_io()
        # the zip's schema.json is most of its bytes and compresses ~6x (a logistic regression:
        # 10,451 bytes stored, 1,732 deflated, joblib 1,135); skops reads either
        skops_io.dump(model, path, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        refused = refused_types(_untrusted(path))
        if refused:
            raise UntrustedTypesError(
                f"this model holds types the sklearn flavor does not trust to load: "
                f"{', '.join(refused)}. Use only scikit-learn components, or log it with "
                "serialization='joblib' (loading it will then need allow_pickle=True, "
                "which runs code from the file)",
                refused,
            )
    return {"model_file": path.name}


# -- loading -----------------------------------------------------------------------------------


def load(folder: Path, manifest: dict[str, Any], allow_pickle: bool) -> Any:
    serialization = manifest["serialization"]
    path = folder / manifest["model_file"]
    if serialization == "joblib":
        if not allow_pickle:
            raise UnsafeModelError(
                "this model was saved with joblib (pickle): loading it runs whatever code the "
                "file contains, so anyone who could write it could run code here. Load it with "
                "allow_pickle=True only if you trust whoever logged it, or log the model again "
                "with serialization='skops'"
            )
        import joblib

        return joblib.load(path)
    if serialization != "skops":
        raise InvalidInput(f"unknown sklearn serialization {serialization!r} in the manifest")
    skops_io = _skops_io()
    untrusted = _untrusted(path)
    refused = refused_types(untrusted)
    if refused:
        raise UntrustedTypesError(
            f"refusing to load {path.name}: it names types outside the sklearn flavor's "
            f"allowlist: {', '.join(refused)}",
            refused,
        )
    # Every name passed here was approved by refused_types above, none on the file's say-so.
    model = skops_io.load(path, trusted=untrusted)
    if any(name in untrusted for name in _STRUCTURE_TYPES):
        check_structures(model)
    return model


def _skops_io() -> Any:
    """``skops.io``, imported without the two costs of its default trust lists.

    Importing skops.io builds those lists, which only decide which names skops trusts without
    being told. This flavor still checks every name a file holds that is not on them, so:

    - the list of scikit-learn's public estimators comes from
      ``sklearn.utils.all_estimators()``, which imports every scikit-learn module (and,
      through them, dask and pytest when installed): 0.8 s of the first ``log_model`` or model
      load in a process, against 0.2 s for everything else. It is left empty. An empty list
      trusts less, never more: each of those estimators passes ``is_trusted`` on its own (a
      scikit-learn class defined where its name says).
    - scipy's ufuncs carry no ``__module__``, so skops looks for each of the 232 in every
      loaded module, in import order, until it finds it: 0.2-0.3 s of a first ``log_model``,
      more in a model server, where a thousand modules load before scipy. Each is looked up
      in an index of the numpy and scipy modules built once (``_scientific_first``): the same
      names come out where nothing else loaded earlier re-exports a ufunc, and otherwise the
      ufunc's own scipy module, which is where skops loads it from anyway (first log_model
      0.28-0.31 s against 0.48-0.61 s with the module-by-module search).

    Should skops stop building its lists this way, the patches do nothing and the import is
    only slower.
    """
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    import sklearn.utils

    real = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = _no_estimators
    finder = _ScientificFirst()
    sys.meta_path.insert(0, finder)
    try:
        import skops.io
    finally:
        sklearn.utils.all_estimators = real
        sys.meta_path.remove(finder)
        finder.restore()
    return skops.io


def _no_estimators(*args: Any, **kwargs: Any) -> list[tuple[str, type]]:
    return []


class _ScientificFirst(importlib.abc.MetaPathFinder):
    """Finds nothing; as skops.io's trust lists start to import, it points skops's module
    search at numpy and scipy first, until ``restore``."""

    def __init__(self) -> None:
        self.patched: tuple[Any, Any] | None = None

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        utils = sys.modules.get("skops.io._utils")
        if name == "skops.io._trusted_types" and utils is not None and self.patched is None:
            real = utils.whichmodule
            self.patched = (utils, real)
            vars(utils)["whichmodule"] = _scientific_first(real)

    def restore(self) -> None:
        if self.patched is not None:
            utils, real = self.patched
            vars(utils)["whichmodule"] = real


def _scientific_first(real: Any) -> Any:
    """skops's ``whichmodule``, answering from an index of the numpy and scipy modules loaded
    when it is first asked (name and object → the first such module, in import order, that
    holds it under that name); what the index does not hold goes to skops's own search."""
    index: dict[tuple[str, int], str] = {}

    def whichmodule(obj: Any, name: str) -> str:
        if getattr(obj, "__module__", None) is None and "." not in name:
            if not index:
                for module_name, module in list(sys.modules.items()):
                    if module_name.partition(".")[0] in ("numpy", "scipy"):
                        for key, value in list(vars(module).items()):
                            index.setdefault((key, id(value)), module_name)
            found = index.get((name, id(obj)))
            if found is not None:
                return found
        return str(real(obj, name))

    return whichmodule


def _untrusted(path: Path) -> list[str]:
    skops_io = _skops_io()
    try:
        return list(skops_io.get_untrusted_types(file=path))
    except Exception as e:  # a damaged zip or schema: say so rather than leak skops internals
        raise IntegrityError(f"{path.name} is not a readable skops file: {e}") from None


def refused_types(names: Iterable[str]) -> list[str]:
    """The names in ``names`` that this flavor does not trust, sorted."""
    return sorted(name for name in set(names) if not is_trusted(name))


def is_trusted(name: str) -> bool:
    if name in TRUSTED_TYPES or name in TRUSTED_FUNCTIONS:
        return True
    if not name.startswith(TRUSTED_CLASS_PREFIXES):
        return False
    module_name, _, attr = name.rpartition(".")
    parts = module_name.split(".")
    if _EXCLUDED_PARTS & set(parts) or not all(p.isidentifier() for p in [*parts, attr]):
        return False
    try:
        module = importlib.import_module(module_name)
    except ImportError:  # e.g. "module.Class.method", a bound method: not a class
        return False
    obj = module.__dict__.get(attr)
    return (
        isinstance(obj, type)
        and obj.__module__ == module_name
        and obj.__qualname__ == attr
        and module_name.startswith(TRUSTED_CLASS_PREFIXES)
    )


# -- structure checks --------------------------------------------------------------------------

_STRUCTURE_TYPES = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


def check_structures(model: Any) -> None:
    """Raise IntegrityError if a tree in ``model`` has out-of-range or cyclic indices."""
    import numpy as np
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.tree._tree import Tree

    for owner, obj in _walk(model):
        if isinstance(obj, Tree):
            _check_tree(np, obj)
        elif isinstance(obj, TreePredictor):
            _check_predictor(np, obj, owner)


def _walk(root: Any, limit: int = 1_000_000) -> Iterator[tuple[Any, Any]]:
    """(nearest enclosing object with ``n_features_in_``, object) for the sklearn objects,
    lists, tuples, dicts and object arrays reachable from ``root``."""
    import numpy as np

    seen: set[int] = set()
    stack: list[tuple[Any, Any]] = [(None, root)]
    while stack:
        owner, obj = stack.pop()
        if id(obj) in seen or len(seen) > limit:
            continue
        seen.add(id(obj))
        yield owner, obj
        if isinstance(obj, list | tuple):
            stack.extend((owner, item) for item in obj)
        elif isinstance(obj, dict):
            stack.extend((owner, item) for item in obj.values())
        elif isinstance(obj, np.ndarray):
            if obj.dtype == object:
                stack.extend((owner, item) for item in obj.ravel())
        elif type(obj).__module__.startswith("sklearn.") and hasattr(obj, "__dict__"):
            inner = obj if hasattr(obj, "n_features_in_") else owner
            stack.extend((inner, value) for value in vars(obj).values())


def _check_tree(np: Any, tree: Any) -> None:
    n = int(tree.node_count)
    left = np.asarray(tree.children_left, dtype=np.int64)
    right = np.asarray(tree.children_right, dtype=np.int64)
    feature = np.asarray(tree.feature, dtype=np.int64)
    index = np.arange(n)
    leaf = left == -1
    inner = ~leaf
    ok = (
        len(left) == len(right) == len(feature) == n
        and bool((right[leaf] == -1).all())
        and bool(((left[inner] > index[inner]) & (left[inner] < n)).all())
        and bool(((right[inner] > index[inner]) & (right[inner] < n)).all())
        and bool(((feature[inner] >= 0) & (feature[inner] < int(tree.n_features))).all())
    )
    if not ok:
        raise IntegrityError("the model file holds a decision tree with invalid node indices")


def _check_predictor(np: Any, predictor: Any, owner: Any) -> None:
    nodes = predictor.nodes
    n = len(nodes)
    n_features = getattr(owner, "n_features_in_", None)
    categorical = getattr(owner, "is_categorical_", None)
    if n == 0 or n_features is None:
        raise IntegrityError("the model file holds a gradient-boosting tree outside an estimator")
    index = np.arange(n)
    inner = nodes["is_leaf"] == 0
    left = nodes["left"].astype(np.int64)
    right = nodes["right"].astype(np.int64)
    feature = nodes["feature_idx"].astype(np.int64)
    ok = (
        bool(((left[inner] > index[inner]) & (left[inner] < n)).all())
        and bool(((right[inner] > index[inner]) & (right[inner] < n)).all())
        and bool(((feature[inner] >= 0) & (feature[inner] < int(n_features))).all())
    )
    cat_nodes = inner & (nodes["is_categorical"] != 0)
    if ok and cat_nodes.any():
        flags = np.zeros(int(n_features), dtype=bool) if categorical is None else categorical
        bitsets = predictor.raw_left_cat_bitsets
        ok = (
            len(flags) == int(n_features)
            and bool(np.asarray(flags)[feature[cat_nodes]].all())
            and bool((nodes["bitset_idx"][cat_nodes].astype(np.int64) < len(bitsets)).all())
        )
    if not ok:
        raise IntegrityError(
            "the model file holds a gradient-boosting tree with invalid node indices"
        )
