"""`modeldeck artifacts list|get`: files and folders round-trip byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import modeldeck


@pytest.fixture
def run_with_artifacts(tmp_path: Path) -> str:
    src = tmp_path / "src"
    (src / "model" / "sub").mkdir(parents=True)
    (src / "report.txt").write_text("the report")
    (src / "model" / "weights.bin").write_bytes(bytes(range(256)) * 10)
    (src / "model" / "sub" / "config.json").write_text('{"depth": 3}')
    with modeldeck.start_run(experiment="e", name="with-files") as run:
        modeldeck.log_artifact(src / "report.txt")
        modeldeck.log_artifact(src / "model")
    return run.id


def test_list(cli, run_with_artifacts):
    result = cli("artifacts", "list", run_with_artifacts)
    assert result.exit_code == 0, result.output
    assert "report.txt" in result.stdout and "model/" in result.stdout
    assert "dir" in result.stdout and "file" in result.stdout
    listed = json.loads(cli("artifacts", "list", run_with_artifacts, "--json").stdout)
    by_path = {a["path"]: a for a in listed}
    assert by_path["model"]["is_dir"] is True
    assert by_path["report.txt"]["size"] == len("the report")
    assert len(by_path["report.txt"]["digest"]) == 64


def test_get_a_file_to_the_current_folder(cli, run_with_artifacts, tmp_path):
    result = cli("artifacts", "get", run_with_artifacts, "report.txt")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.txt").read_text() == "the report"


def test_get_a_folder(cli, run_with_artifacts, tmp_path):
    out = tmp_path / "fetched"
    result = cli("artifacts", "get", run_with_artifacts, "model", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "weights.bin").read_bytes() == bytes(range(256)) * 10
    assert json.loads((out / "sub" / "config.json").read_text()) == {"depth": 3}


def test_get_a_file_inside_a_logged_folder_into_an_existing_folder(
    cli, run_with_artifacts, tmp_path
):
    target = tmp_path / "here"
    target.mkdir()
    result = cli(
        "artifacts", "get", run_with_artifacts[:8], "model/sub/config.json", "-o", str(target)
    )
    assert result.exit_code == 0, result.output
    assert json.loads((target / "config.json").read_text()) == {"depth": 3}


def test_get_a_missing_artifact_exits_1(cli, run_with_artifacts):
    result = cli("artifacts", "get", run_with_artifacts, "nope.txt")
    assert result.exit_code == 1
    assert "has no artifact 'nope.txt'" in result.stderr
    assert "Traceback" not in result.output


def test_list_of_unknown_run_exits_1(cli):
    result = cli("artifacts", "list", "f" * 32)
    assert result.exit_code == 1
    assert "no run with id" in result.stderr


def test_run_without_artifacts(cli):
    with modeldeck.start_run(experiment="e") as run:
        pass
    assert "no artifacts" in cli("artifacts", "list", run.id).stdout
