"""`modeldeck models export`: a deployment bundle of a registered version, from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

import modeldeck
from modeldeck._version import __version__
from modeldeck.cli.main import app
from modeldeck.client import fluent
from modeldeck.models.loading import load_folder


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), prog_name="modeldeck")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"tenure": list(range(40)), "spend": [float(i % 7) for i in range(40)]}
        | {"churned": [1, 0, 0, 1, 0] * 8}
    )


@pytest.fixture
def champion(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """churn version 1, fitted on a small frame, pointed at by the (unprotected) alias."""
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    frame = _frame()
    features = frame[["tenure", "spend"]]
    with modeldeck.start_run(experiment="churn") as run:
        modeldeck.log_model(
            LogisticRegression().fit(features, frame["churned"]),
            "model",
            input_example=features,
        )
    client = fluent.client()
    client.register_model(f"runs:/{run.id}/model", "churn")
    client.set_protected_aliases("churn", [])
    client.promote("churn", 1, "champion")
    return run.id


def test_export_writes_a_bundle_that_predicts_like_the_registry(
    champion: str, tmp_path: Path
) -> None:
    out = tmp_path / "bundle"
    result = invoke("models", "export", "churn@champion", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "docker build" in result.output

    names = {p.name for p in out.iterdir()}
    assert {"model", "requirements.txt", "Dockerfile", ".dockerignore"} <= names
    assert "modeldeck-bundle.json" in names
    assert not any(p.name.startswith(".bundle") for p in tmp_path.iterdir())  # no temp left

    features = _frame()[["tenure", "spend"]]
    exported = load_folder(out / "model")
    expected = modeldeck.load_model("models:/churn@champion")
    pd.testing.assert_series_equal(
        pd.Series(exported.predict(features)), pd.Series(expected.predict(features))
    )

    version = fluent.client().get_model_version("churn", 1)
    manifest = json.loads((out / "model" / "modeldeck-model.json").read_text())
    requirements = (out / "requirements.txt").read_text().splitlines()
    assert set(manifest["requirements"]) <= set(requirements)
    assert any(r.startswith("scikit-learn==") for r in requirements)
    assert f"modeldeck[server]=={__version__}" in requirements

    dockerfile = (out / "Dockerfile").read_text()
    assert "FROM python:${PYTHON_VERSION}-slim" in dockerfile
    assert "RUN pip install -r requirements.txt" in dockerfile
    assert "EXPOSE 8080" in dockerfile
    assert '"modeldeck", "serve", "/model", "--host", "0.0.0.0", "--port", "8080"' in dockerfile

    meta = json.loads((out / "modeldeck-bundle.json").read_text())
    assert meta["name"] == "churn" and meta["version"] == 1
    assert meta["package_digest"] == version.package_digest
    assert meta["run_id"] == champion
    assert meta["flavor"] == "sklearn"
    assert meta["signature"] == manifest["signature"] is not None
    assert meta["exported_by"] == "alice"
    assert meta["created_at"].endswith("Z")


@pytest.mark.parametrize("uri", ["churn/1", "models:/churn/1", "models:/churn@champion"])
def test_every_spelling_of_the_version_exports(champion: str, tmp_path: Path, uri: str) -> None:
    out = tmp_path / "bundle"
    result = invoke("models", "export", uri, "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["uri"] == "models:/churn/1"


def test_a_non_empty_folder_is_refused_without_force(champion: str, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = invoke("models", "export", "churn/1", "--out", str(out))
    assert result.exit_code == 1
    assert "not empty" in result.output and "--force" in result.output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]

    result = invoke("models", "export", "churn/1", "--out", str(out), "--force")
    assert result.exit_code == 0, result.output
    assert not (out / "keep.txt").exists()
    assert (out / "Dockerfile").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".bundle")) == []


def test_an_empty_folder_is_used(champion: str, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    out.mkdir()
    assert invoke("models", "export", "churn/1", "--out", str(out)).exit_code == 0
    assert (out / "model" / "modeldeck-model.json").is_file()


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("churn@nope", "has no alias 'nope'"),
        ("churn/7", "7"),
        ("ghost@champion", "ghost"),
    ],
)
def test_an_unknown_version_exits_1_and_writes_nothing(
    champion: str, tmp_path: Path, uri: str, message: str
) -> None:
    out = tmp_path / "bundle"
    result = invoke("models", "export", uri, "--out", str(out))
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
