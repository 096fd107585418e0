"""Generic Python models: their own save/load when they have one, else an opt-in pickle."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import modeldeck
from modeldeck.client import fluent
from modeldeck.core.errors import InvalidInput
from modeldeck.models.flavors import UnsafeModelError
from modeldeck.models.package import MANIFEST_FILE, save_package


class SelfSaving:
    """A model that knows how to store itself: no pickle needed."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["a"].to_numpy() * self.factor + frame["b"].to_numpy()

    def save(self, path: Path) -> None:
        (Path(path) / "params.json").write_text(json.dumps({"factor": self.factor}))

    @classmethod
    def load(cls, path: Path) -> SelfSaving:
        return cls(json.loads((Path(path) / "params.json").read_text())["factor"])


class Plain:
    def __init__(self, offset: float) -> None:
        self.offset = offset

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["a"].to_numpy() + self.offset


FRAME = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [10, 20, 30]})


def test_a_model_that_saves_itself_loads_without_pickle(home: Path) -> None:
    with modeldeck.start_run():
        info = fluent.log_model(SelfSaving(2.0), "scorer", input_example=FRAME)
    assert info.flavor == "python"
    assert info.serialization == "custom"
    assert info.metadata["flavor_options"] == {"loader": "test_python_flavor:SelfSaving"}
    assert info.metadata["model_file"] == "model"
    assert info.signature is not None and info.signature.outputs is not None
    assert info.signature.outputs.type == "double"

    predictor = fluent.load_model(info.model_uri)
    assert isinstance(predictor.raw, SelfSaving)
    np.testing.assert_array_equal(predictor.predict(FRAME), [12.0, 24.0, 36.0])
    np.testing.assert_array_equal(predictor.predict({"b": [1], "a": [1.0]}), [3.0])
    with pytest.raises(InvalidInput, match="has no predict_proba"):
        predictor.predict_proba(FRAME)
    with pytest.raises(InvalidInput, match="missing column 'b'"):
        predictor.predict([{"a": 1.0}])


def test_other_objects_are_pickled_and_need_allow_pickle(home: Path) -> None:
    with modeldeck.start_run(), pytest.warns(UserWarning, match="allow_pickle=True"):
        info = fluent.log_model(Plain(0.5), input_example=FRAME)
    assert info.serialization == "pickle"
    with pytest.raises(UnsafeModelError, match="cannot be saved safely"):
        fluent.load_model(info.model_uri)
    predictor = fluent.load_model(info.model_uri, allow_pickle=True)
    np.testing.assert_array_equal(predictor.predict(FRAME), [1.5, 2.5, 3.5])


def test_a_class_that_cannot_be_imported_by_name_falls_back_to_pickle(home: Path) -> None:
    class Local(SelfSaving):
        pass

    with modeldeck.start_run(), pytest.raises(InvalidInput, match="define its class at module"):
        fluent.log_model(Local(1.0))
    with modeldeck.start_run(), pytest.raises(InvalidInput, match="cannot save itself"):
        fluent.log_model(Plain(1.0), serialization="custom")


@pytest.mark.parametrize(
    ("loader", "message"),
    [
        ("os:system", "not a class with a classmethod load"),
        ("builtins:dict", "not a class with a classmethod load"),
        ("no_such_module_here:Model", "cannot import the model class"),
        ("nonsense", "not 'module:qualname'"),
    ],
)
def test_a_forged_loader_is_refused(home: Path, loader: str, message: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=home)) / "package"
    save_package(SelfSaving(1.0), folder)
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["flavor_options"]["loader"] = loader
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    with modeldeck.start_run() as run:
        modeldeck.log_artifact(folder, "model")
    with pytest.raises(InvalidInput, match=message):
        fluent.load_model(f"runs:/{run.id}/model")


def test_requirements_of_a_python_model(home: Path) -> None:
    with modeldeck.start_run():
        info: Any = fluent.log_model(SelfSaving(1.0), requirements=["numpy>=1.26", "my-lib==2.0"])
    reqs = info.metadata["requirements"]
    assert "numpy>=1.26" in reqs and "my-lib==2.0" in reqs
    assert any(r.startswith("pandas==") for r in reqs)
    with modeldeck.start_run(), pytest.raises(InvalidInput, match="list of strings"):
        fluent.log_model(SelfSaving(1.0), requirements="numpy")  # type: ignore[arg-type]
