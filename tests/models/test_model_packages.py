"""Model packages: log_model in a run, load_model by URI, the manifest, the cache, tampering."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import modeldeck
from modeldeck.client import fluent
from modeldeck.core.errors import Conflict, IntegrityError, InvalidInput, NotFound
from modeldeck.core.refs import ModelSource
from modeldeck.models import loading
from modeldeck.models.package import MANIFEST_FILE, read_manifest
from modeldeck.models.signature import SignatureError


def log(model: Any, **kwargs: Any) -> Any:
    with modeldeck.start_run(experiment="models") as run:
        info = fluent.log_model(model, **kwargs)
    assert info.run_id == run.id
    return info


@pytest.mark.parametrize("name", ["logreg", "random-forest", "hist-gbm"])
def test_round_trip_through_a_run(
    home: Path, pipelines: dict[str, Any], churn: tuple[pd.DataFrame, pd.Series], name: str
) -> None:
    x, _ = churn
    model = pipelines[name]
    info = log(model, input_example=x)
    assert info.model_uri == f"runs:/{info.run_id}/model"
    assert info.flavor == "sklearn" and info.serialization == "skops"

    predictor = fluent.load_model(info.model_uri)
    np.testing.assert_array_equal(predictor.predict(x), model.predict(x))
    np.testing.assert_allclose(predictor.predict_proba(x), model.predict_proba(x))
    assert predictor.flavor == "sklearn"
    assert predictor.signature == info.signature
    assert type(predictor.raw) is type(model)
    one = x.iloc[[5]].to_dict(orient="records")
    np.testing.assert_array_equal(predictor.predict(one), model.predict(x.iloc[[5]]))


def test_manifest_records_what_the_package_is(
    home: Path, pipelines: dict[str, Any], churn: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = churn
    info = log(pipelines["logreg"], input_example=x, requirements=["lightgbm==4.3.0"])
    manifest = dict(info.metadata)
    assert manifest["format"] == "modeldeck.model"
    assert manifest["flavor"] == "sklearn"
    assert manifest["serialization"] == "skops"
    assert manifest["model_file"] == "model.skops"
    assert manifest["model_class"] == "sklearn.pipeline.Pipeline"
    assert manifest["methods"] == ["predict", "predict_proba"]
    assert manifest["run_id"] == info.run_id
    assert manifest["artifact_path"] == "model"
    assert manifest["python_version"] == platform.python_version()
    assert manifest["input_example"] == "input_example.parquet"
    names = {r.split("==")[0] for r in manifest["requirements"]}
    assert {"scikit-learn", "numpy", "scipy", "pandas", "skops", "lightgbm"} <= names
    import sklearn

    assert f"scikit-learn=={sklearn.__version__}" in manifest["requirements"]
    # the signature: inferred from the whole example, output classes from the model
    sig = manifest["signature"]
    cols = {c["name"]: c for c in sig["inputs"]}
    assert cols["total_charges"]["nullable"] is True  # the training frame has gaps there
    assert cols["contract"]["categories"] == ["month-to-month", "one-year", "two-year"]
    assert sig["outputs"] == {"type": "integer", "shape": [-1], "classes": [0, 1]}

    files = {a.path: a for a in modeldeck.client.fluent.client().artifacts(info.run_id)}
    assert files["model"].is_dir and files["model"].digest == info.package_digest
    dest = modeldeck.download_artifact(info.run_id, "model", home / "copy")
    assert read_manifest(dest) == manifest
    assert {p.name for p in dest.iterdir()} == {
        "input_example.parquet",
        MANIFEST_FILE,
        "model.skops",
        "requirements.txt",
    }
    example = fluent.load_model(info.model_uri).input_example()
    assert len(example) == 10 and list(example.columns) == list(x.columns)


def test_predictions_enforce_the_signature(
    home: Path, pipelines: dict[str, Any], churn: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = churn
    predictor = fluent.load_model(log(pipelines["hist-gbm"], input_example=x).model_uri)
    with pytest.raises(SignatureError, match=r"missing column 'tenure_months' \(integer\)"):
        predictor.predict(x.drop(columns="tenure_months"))
    bad = x.head(2).astype({"contract": str})
    bad.loc[1, "contract"] = "weekly"
    with pytest.raises(SignatureError, match="column 'contract' has unknown value 'weekly'"):
        predictor.predict_proba(bad)


def test_explicit_signature_and_no_example(
    home: Path, pipelines: dict[str, Any], churn: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = churn
    model = pipelines["logreg"]
    from modeldeck.models import infer_signature

    info = log(model, signature=infer_signature(x).to_dict())
    assert info.metadata["input_example"] is None
    assert fluent.load_model(info.model_uri).signature == infer_signature(x)

    bare = fluent.load_model(log(model).model_uri)  # no signature: data goes straight in
    assert bare.signature is None
    np.testing.assert_array_equal(bare.predict(x), model.predict(x))


def test_a_model_fitted_on_arrays_predicts_on_arrays(home: Path) -> None:
    from sklearn.linear_model import LinearRegression

    x = np.arange(20.0).reshape(10, 2)
    model = LinearRegression().fit(x, x.sum(axis=1))
    predictor = fluent.load_model(log(model).model_uri)
    np.testing.assert_allclose(predictor.predict(x), model.predict(x))


def test_an_example_the_signature_rejects_fails_at_log_time(
    home: Path, pipelines: dict[str, Any], churn: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = churn
    from modeldeck.models import infer_signature

    signature = infer_signature(x)
    with pytest.raises(SignatureError, match="missing column 'age'"):
        log(pipelines["logreg"], input_example=x.drop(columns="age"), signature=signature)
    with pytest.raises(InvalidInput, match="predict failed on the input example"):
        log(pipelines["logreg"], input_example=x.drop(columns="age"))


def test_log_model_needs_an_active_run_and_a_model(home: Path, pipelines: dict[str, Any]) -> None:
    with pytest.raises(Conflict, match="no active run"):
        fluent.log_model(pipelines["logreg"])
    with modeldeck.start_run(), pytest.raises(InvalidInput, match="neither a scikit-learn"):
        fluent.log_model(object())
    with modeldeck.start_run(), pytest.raises(InvalidInput, match="not 'pickle'"):
        fluent.log_model(pipelines["logreg"], serialization="pickle")


def test_load_errors(home: Path, pipelines: dict[str, Any]) -> None:
    with modeldeck.start_run() as run:
        modeldeck.log_text("hi", "notes.txt")
        folder = home / "plain"
        folder.mkdir()
        (folder / "a.txt").write_text("x")
        modeldeck.log_artifact(folder, "plain")
    with pytest.raises(InvalidInput, match="names a file"):
        fluent.load_model(f"runs:/{run.id}/notes.txt")
    with pytest.raises(InvalidInput, match="not a model package"):
        fluent.load_model(f"runs:/{run.id}/plain")
    with pytest.raises(NotFound, match="has no artifact 'model'"):
        fluent.load_model(f"runs:/{run.id}/model")
    with pytest.raises(InvalidInput, match="unsupported model URI"):
        fluent.load_model("churn")


def test_models_uris_go_through_the_resolver(
    home: Path, pipelines: dict[str, Any], churn: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = churn
    info = log(pipelines["logreg"], input_example=x)
    tracker = fluent.client().tracker
    asked: list[str] = []

    def resolve(uri: str) -> ModelSource:
        asked.append(uri)
        return ModelSource(info.run_id, "model")  # no digest: the loader finds it

    predictor = loading.load_model(
        "models:/churn@champion", tracker, cache_dir=home / "cache", resolve=resolve
    )
    assert asked == ["models:/churn@champion"]
    np.testing.assert_array_equal(predictor.predict(x), pipelines["logreg"].predict(x))
    by_digest = loading.load_model(
        "models:/churn/3",
        tracker,
        cache_dir=home / "cache",
        resolve=lambda uri: ModelSource(None, None, info.package_digest),
    )
    assert by_digest.metadata == predictor.metadata
    with pytest.raises(NotFound, match="registry is not available"):
        loading.load_model("models:/churn/3", tracker, cache_dir=home / "cache")


def test_package_is_cached_once_per_digest(
    home: Path, pipelines: dict[str, Any], churn: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = churn
    info = log(pipelines["logreg"], input_example=x)
    first = fluent.load_model(info.model_uri)
    cached = home / "cache" / "models" / info.package_digest
    assert first.folder == cached
    assert (cached / MANIFEST_FILE).is_file()
    assert not os.access(cached / "model.skops", os.W_OK) or os.geteuid() == 0
    assert [p.name for p in (home / "cache" / "models").iterdir()] == [info.package_digest]
    mtime = (cached / "model.skops").stat().st_mtime_ns
    fluent.load_model(info.model_uri)
    assert (cached / "model.skops").stat().st_mtime_ns == mtime  # reused, not rewritten


def test_a_tampered_cache_is_rebuilt_from_the_store(
    home: Path, pipelines: dict[str, Any], churn: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = churn
    info = log(pipelines["logreg"], input_example=x)
    cached = fluent.load_model(info.model_uri).folder
    assert cached is not None
    target = cached / "model.skops"
    target.chmod(0o644)
    target.write_bytes(b"not a model")
    (cached / "extra.py").write_text("print('hi')")
    predictor = fluent.load_model(info.model_uri)
    np.testing.assert_array_equal(predictor.predict(x), pipelines["logreg"].predict(x))
    assert not (cached / "extra.py").exists()


def test_a_tampered_object_is_an_integrity_error(
    home: Path, pipelines: dict[str, Any], churn: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = churn
    info = log(pipelines["logreg"], input_example=x)
    objects = fluent.client().tracker.objects
    entry = objects.read_manifest(info.package_digest).entries["model.skops"]
    stored = home / "objects" / entry.digest[:2] / entry.digest[2:]
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        fluent.load_model(info.model_uri)
    assert not (home / "cache" / "models" / info.package_digest).exists()
    leftovers = [p for p in (home / "cache" / "models").iterdir()]
    assert leftovers == []  # no half-written package left behind


def test_read_manifest_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"has no modeldeck-model\.json"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST_FILE).write_text("{")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        read_manifest(tmp_path)
    base = {
        "format": "modeldeck.model",
        "format_version": 1,
        "flavor": "sklearn",
        "serialization": "skops",
        "model_file": "model.skops",
        "model_class": "x.Y",
        "flavor_options": {},
        "methods": ["predict"],
        "signature": None,
        "input_example": None,
        "python_version": "3.11.0",
        "requirements": [],
        "run_id": None,
        "artifact_path": None,
        "created_at": 0,
    }
    cases = [
        ({"format": "other"}, "not a modeldeck model manifest"),
        ({"format_version": 2}, "format version 2"),
        ({"flavor": "tensorflow"}, "flavor 'tensorflow'"),
        ({"methods": "predict"}, "'methods' has the wrong type"),
        ({"model_file": "../model.skops"}, "not a local path"),
        ({}, "lacks its model file model.skops"),
        ({"signature": {"inputs": [{"name": "a", "type": "x"}]}}, "malformed signature"),
    ]
    for change, message in cases:
        if message == "malformed signature":
            (tmp_path / "model.skops").write_bytes(b"")
        (tmp_path / MANIFEST_FILE).write_text(json.dumps(base | change))
        with pytest.raises(InvalidInput, match=message):
            read_manifest(tmp_path)
    del base["run_id"]
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(base))
    with pytest.raises(InvalidInput, match="has no 'run_id'"):
        read_manifest(tmp_path)
