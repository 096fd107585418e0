"""Loading a model never runs code from its files unless the caller allows pickles."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer
from sklearn.tree import DecisionTreeClassifier

import modeldeck
from modeldeck.client import fluent
from modeldeck.core.errors import IntegrityError
from modeldeck.models.flavors import UnsafeModelError, UntrustedTypesError
from modeldeck.models.flavors.sklearn import is_trusted, refused_types
from modeldeck.models.package import save_package

MARKER = "MODELDECK_TEST_MARKER"


class Sneaky:
    """Runs code when rebuilt from a file: what an attacker would put in a model."""

    def __init__(self) -> None:
        self.command = "anything"

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(os.environ[MARKER]).write_text("code from the model file ran")

    def __reduce__(self) -> Any:  # the pickle version of the same attack
        return (_touch, (os.environ[MARKER],))


def _touch(path: str) -> None:
    Path(path).write_text("code from the model file ran")


@pytest.fixture
def marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "side-effect"
    monkeypatch.setenv(MARKER, str(path))
    return path


@pytest.fixture
def data() -> tuple[pd.DataFrame, np.ndarray]:
    x, y = make_classification(120, 4, random_state=0)
    return pd.DataFrame(x, columns=["a", "b", "c", "d"]), y


def log_crafted_package(home: Path, model_file: str, write: Any) -> str:
    """A package whose model file an attacker replaced before logging it: a clean package
    is saved, then ``write(path)`` overwrites the model file, then the folder is logged."""
    home.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=home)) / "package"
    save_package(
        LogisticRegression(),
        folder,
        serialization="joblib" if model_file.endswith(".joblib") else "skops",
    )
    target = folder / model_file
    write(target)
    with modeldeck.start_run() as run:
        modeldeck.log_artifact(folder, "model")
    return f"runs:/{run.id}/model"


def test_skops_file_naming_an_untrusted_class_is_refused_before_it_runs(
    home: Path, marker: Path, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    x, y = data
    model = LogisticRegression().fit(x, y)
    model.payload = Sneaky()  # type: ignore[attr-defined]
    uri = log_crafted_package(home, "model.skops", lambda path: skops.io.dump(model, path))

    with pytest.raises(UntrustedTypesError, match=r"test_model_safety\.Sneaky") as e:
        fluent.load_model(uri)
    assert e.value.types == ["test_model_safety.Sneaky"]
    with pytest.raises(UntrustedTypesError):
        fluent.load_model(uri, allow_pickle=True)  # allow_pickle does not widen skops trust
    assert not marker.exists()

    # The file is a real attack: trusting its own list of types runs its code.
    cached = next((home / "cache" / "models").iterdir()) / "model.skops"
    skops.io.load(cached, trusted=skops.io.get_untrusted_types(file=cached))
    assert marker.exists()


@pytest.mark.parametrize(
    ("func", "name"),
    [
        (os.system, "posix.system" if os.name == "posix" else "nt.system"),
        (eval, "builtins.eval"),
        (_touch, "test_model_safety._touch"),
        # a scikit-learn name, but a function outside the allowlist, not a class
        (__import__("sklearn.utils.validation").utils.validation.check_is_fitted, "check_is"),
    ],
)
def test_skops_file_naming_a_dangerous_function_is_refused(
    home: Path, marker: Path, func: Any, name: str
) -> None:
    model = FunctionTransformer(func=func, kw_args={"path": str(marker)})
    uri = log_crafted_package(home, "model.skops", lambda path: skops.io.dump(model, path))
    with pytest.raises(UntrustedTypesError, match=name):
        fluent.load_model(uri)
    assert not marker.exists()


def test_log_time_refuses_models_the_loader_would_refuse(home: Path) -> None:
    with modeldeck.start_run(), pytest.raises(UntrustedTypesError, match="serialization='joblib'"):
        fluent.log_model(FunctionTransformer(func=_touch))


@pytest.mark.parametrize(
    ("name", "trusted"),
    [
        ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor", True),
        ("sklearn.tree._tree.Tree", True),
        ("sklearn.linear_model._logistic.LogisticRegression", True),
        ("numpy.dtype", True),
        ("sklearn.utils.validation.check_array", True),  # reviewed, exact
        ("sklearn.utils.validation.check_is_fitted", False),  # a function, not reviewed
        ("sklearn.utils._param_validation.Integral", False),  # re-exported numbers.Integral
        ("sklearn.utils.validation.np", False),  # a module reached through sklearn
        ("sklearn.pipeline.Pipeline.fit", False),  # a method
        ("sklearn.utils._testing.TempMemmap", False),  # test helpers are left out
        ("sklearn.nonexistent.Thing", False),
        ("sklearn_evil.Thing", False),
        ("builtins.eval", False),
        ("os.system", False),
        ("functools.partial", True),
        ("builtins.exec", False),
    ],
)
def test_allowlist(name: str, trusted: bool) -> None:
    assert is_trusted(name) is trusted
    assert refused_types([name]) == ([] if trusted else [name])


def test_quickstart_pipelines_need_only_allowlisted_types(
    home: Path, pipelines: dict[str, Any], tmp_path: Path
) -> None:
    for name, model in pipelines.items():
        path = tmp_path / f"{name}.skops"
        skops.io.dump(model, path)
        untrusted = skops.io.get_untrusted_types(file=path)
        assert refused_types(untrusted) == [], name
    hgb = tmp_path / "hist-gbm.skops"
    assert (
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
        in skops.io.get_untrusted_types(file=hgb)
    )


def test_corrupt_tree_indices_are_refused(
    home: Path, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    x, y = data
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)
    tree.tree_.children_left[0] = 0  # a loop: predict would never return
    uri = log_crafted_package(home, "model.skops", lambda path: skops.io.dump(tree, path))
    with pytest.raises(IntegrityError, match="decision tree with invalid node indices"):
        fluent.load_model(uri)

    hgb = HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(x, y)
    hgb._predictors[0][0].nodes["feature_idx"][0] = 10**6  # reads far outside X
    uri = log_crafted_package(home, "model.skops", lambda path: skops.io.dump(hgb, path))
    with pytest.raises(IntegrityError, match="gradient-boosting tree with invalid node indices"):
        fluent.load_model(uri)


def test_healthy_trees_pass_the_structure_checks(
    home: Path, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    x, y = data
    from sklearn.ensemble import RandomForestClassifier

    for model in (
        RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y),
        HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(x, y),
    ):
        with modeldeck.start_run():
            info = fluent.log_model(model, input_example=x)
        np.testing.assert_array_equal(
            fluent.load_model(info.model_uri).predict(x), model.predict(x)
        )


def test_skops_archive_that_is_not_a_zip_is_an_integrity_error(home: Path) -> None:
    uri = log_crafted_package(home, "model.skops", lambda path: path.write_bytes(b"garbage"))
    with pytest.raises(IntegrityError, match="not a readable skops file"):
        fluent.load_model(uri)


# -- joblib and pickle: explicit opt-in ------------------------------------------------------------


def test_joblib_is_opt_in_at_log_time_and_at_load_time(
    home: Path, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    x, y = data
    model = LogisticRegression().fit(x, y)
    with modeldeck.start_run():
        info = fluent.log_model(model, input_example=x, serialization="joblib")
    assert info.metadata["model_file"] == "model.joblib"
    assert any(r.startswith("joblib==") for r in info.metadata["requirements"])
    with pytest.raises(UnsafeModelError, match="runs whatever code the file contains"):
        fluent.load_model(info.model_uri)
    predictor = fluent.load_model(info.model_uri, allow_pickle=True)
    np.testing.assert_array_equal(predictor.predict(x), model.predict(x))


def test_a_malicious_joblib_file_does_not_run_without_allow_pickle(
    home: Path, marker: Path
) -> None:
    def write(path: Path) -> None:
        path.write_bytes(pickle.dumps(Sneaky()))

    uri = log_crafted_package(home, "model.joblib", write)
    with pytest.raises(UnsafeModelError):
        fluent.load_model(uri)
    assert not marker.exists()
    with pytest.raises(Exception):  # noqa: B017 - the payload ran, then the "model" is junk
        fluent.load_model(uri, allow_pickle=True)
    assert marker.exists()  # which is exactly why it is opt-in


FRESH_PROCESS = """
import sys, numpy as np, sklearn.utils
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from modeldeck.models.flavors import UntrustedTypesError, sklearn as flavor
from pathlib import Path

real = sklearn.utils.all_estimators
X, y = make_classification(n_samples=200, n_features=6, random_state=0)
X = np.abs(X)
models = [
    make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression()),
    HistGradientBoostingClassifier(max_iter=5),
    RandomForestClassifier(n_estimators=3, random_state=0),
]
for i, model in enumerate(models):
    model.fit(X, y)
    folder = Path(sys.argv[1]) / str(i)
    folder.mkdir()
    manifest = {"serialization": "skops", **flavor.save(model, folder, "skops")}
    loaded = flavor.load(folder, manifest, allow_pickle=False)
    assert (loaded.predict(X) == model.predict(X)).all(), i
assert sklearn.utils.all_estimators is real, "the import left scikit-learn patched"
import skops.io._utils
assert skops.io._utils.whichmodule.__module__ == "skops.io._utils", "left skops patched"
assert not any(type(f).__module__.startswith("modeldeck") for f in sys.meta_path)

class Outsider(StandardScaler):  # a class outside scikit-learn: still refused
    pass
try:
    flavor.save(Outsider().fit(X), Path(sys.argv[1]), "skops")
except UntrustedTypesError as e:
    print("refused", e.types)
"""


def test_first_skops_use_in_a_fresh_process_saves_loads_and_refuses_alike(tmp_path: Path) -> None:
    """The flavor imports skops.io without its list of public estimators (the slow part of a
    process's first log_model); estimators must still round-trip and outsiders stay refused."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "refused ['__main__.Outsider']" in done.stdout


TRUST_LISTS = """
import sys, json
import pandas, sqlalchemy, fastapi  # a model server's modules, loaded before scipy
import sklearn.utils
from modeldeck.models.flavors import sklearn as flavor
if sys.argv[1] == "flavor":
    flavor._skops_io()
else:
    sklearn.utils.all_estimators = flavor._no_estimators
    import skops.io
from skops.io import _trusted_types as t
names = ("SCIPY_UFUNC_TYPE_NAMES", "NUMPY_UFUNC_TYPE_NAMES", "NUMPY_DTYPE_TYPE_NAMES",
         "SKLEARN_INTERNAL_TYPE_NAMES", "PRIMITIVE_TYPE_NAMES", "CONTAINER_TYPE_NAMES")
print(json.dumps({n: getattr(t, n) for n in names}))
"""


def test_the_quick_skops_import_trusts_the_same_ufuncs_and_dtypes_as_a_plain_one() -> None:
    """Looking for scipy's ufuncs among numpy and scipy first must not change which names
    skops trusts by default: the lists match a plain import's, name for name."""
    import json
    import subprocess
    import sys

    lists = []
    for way in ("flavor", "plain"):
        done = subprocess.run(
            [sys.executable, "-c", TRUST_LISTS, way],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        lists.append(json.loads(done.stdout))
    assert len(lists[0]["SCIPY_UFUNC_TYPE_NAMES"]) > 100
    assert lists[0] == lists[1]
