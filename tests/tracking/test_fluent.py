"""The fluent SDK as a training script uses it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import modeldeck
from modeldeck.core.errors import Conflict


def test_context_manager_sets_final_status(home: Path) -> None:
    with modeldeck.start_run(experiment="e", name="ok") as ok:
        modeldeck.log_metric("x", 1.0)
    with pytest.raises(ZeroDivisionError), modeldeck.start_run(experiment="e") as failed:
        modeldeck.log_metric("x", 2.0)
        _ = 1 / 0
    with pytest.raises(KeyboardInterrupt), modeldeck.start_run(experiment="e") as killed:
        raise KeyboardInterrupt
    assert modeldeck.get_run(ok.id).status == "FINISHED"
    assert modeldeck.get_run(failed.id).status == "FAILED"
    assert modeldeck.get_run(failed.id).metrics == {"x": 2.0}  # logged before the failure
    assert modeldeck.get_run(killed.id).status == "KILLED"
    assert modeldeck.active_run() is None


def test_run_started_inside_another_is_its_child(home: Path) -> None:
    with modeldeck.start_run(experiment="sweep", name="parent") as parent:
        with modeldeck.start_run(name="child") as child:
            assert modeldeck.active_run() is child
        assert modeldeck.active_run() is parent
    stored = modeldeck.get_run(child.id)
    assert stored.parent_id == parent.id
    assert stored.experiment_id == parent.experiment_id


def test_steps_count_per_key_when_not_given(home: Path) -> None:
    with modeldeck.start_run(experiment="e") as run:
        for value in (0.5, 0.4, 0.3):
            modeldeck.log_metric("loss", value)
        modeldeck.log_metrics({"loss": 0.2, "acc": 0.9})
        modeldeck.log_metric("acc", 0.95, step=10)
    assert [m.step for m in modeldeck.get_metric_history(run.id, "loss")] == [0, 1, 2, 3]
    assert [m.step for m in modeldeck.get_metric_history(run.id, "acc")] == [0, 10]


def test_logging_without_a_run_says_how_to_start_one(home: Path) -> None:
    with pytest.raises(Conflict, match="no active run: wrap the logging in"):
        modeldeck.log_metric("x", 1.0)


def test_text_dict_figure_artifacts(home: Path, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    with modeldeck.start_run(experiment="e") as run:
        modeldeck.log_text("# notes", "notes.md")
        modeldeck.log_dict({"b": 1, "a": [1, 2]}, "config.json")
        modeldeck.log_dict({"b": 1}, "config.yaml")
        modeldeck.log_figure(fig, "plots/line.png")
    plt.close(fig)
    got = modeldeck.download_artifact(run.id, "config.json", tmp_path / "c.json")
    assert json.loads(got.read_text()) == {"a": [1, 2], "b": 1}
    png = modeldeck.download_artifact(run.id, "plots/line.png", tmp_path / "l.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    yaml_text = modeldeck.download_artifact(run.id, "config.yaml", tmp_path / "c.yaml")
    assert yaml_text.read_text() == "b: 1\n"


def test_search_runs_as_a_dataframe(home: Path) -> None:
    for i in range(3):
        with modeldeck.start_run(experiment="e", name=f"r{i}"):
            modeldeck.log_params({"depth": i})
            modeldeck.log_metric("auc", 0.7 + i / 10)
    frame = modeldeck.search_runs("e", order_by=["metrics.auc desc"], output="pandas")
    assert list(frame["name"]) == ["r2", "r1", "r0"]
    assert list(frame["params.depth"]) == ["2", "1", "0"]
    assert frame["metrics.auc"].tolist() == pytest.approx([0.9, 0.8, 0.7])


def test_run_records_git_commit_and_dirty_diff(home: Path, dirty_repo: Any) -> None:
    git = dirty_repo
    with modeldeck.start_run(experiment="e") as run:
        pass
    stored = modeldeck.get_run(run.id)
    assert stored.git_commit == git("rev-parse", "HEAD")
    assert stored.git_dirty is True
    from modeldeck.client.fluent import client

    diff = client().read_object(stored.git_diff_digest or "").decode()
    assert "-print('v1')" in diff and "+print('v2')" in diff


def test_public_surface_is_pinned() -> None:
    """Adding to the SDK is a decision: this list changes with it, on purpose."""
    assert sorted(modeldeck.__all__) == sorted(
        [
            *("ActiveRun", "AlreadyExists", "Artifact", "Conflict", "Dataset", "Experiment"),
            *("FilterSyntaxError", "InvalidInput", "Metric", "ModeldeckError", "NotFound"),
            *("GateFailed", "PermissionDenied", "approve", "get_model_version", "promote"),
            *("register_model", "reject", "edit_model_card", "evaluate_model", "load_model"),
            *("log_model", "model_card", "log_labels"),
            *("Run", "RunStatus", "__version__", "active_run", "download_artifact", "end_run"),
            *("flush", "get_metric_history", "get_run", "log_artifact", "log_dataset"),
            *("log_dict", "log_figure", "log_metric", "log_metrics", "log_param", "log_params"),
            *("log_text", "search_runs", "set_tag", "set_tags", "start_run"),
        ]
    )
    for name in modeldeck.__all__:
        assert hasattr(modeldeck, name), name


def _child_logs() -> None:
    with modeldeck.start_run(experiment="e", name="child"):
        modeldeck.log_metric("y", 2.0)


def test_a_forked_child_logs_through_its_own_client(home: Path) -> None:
    import multiprocessing

    with modeldeck.start_run(experiment="e", name="parent"):
        modeldeck.log_metric("x", 1.0)
        child = multiprocessing.get_context("fork").Process(target=_child_logs)
        child.start()
        child.join(60)
        assert child.exitcode == 0
    runs = {r.name: r for r in modeldeck.search_runs("e")}
    assert runs["child"].metrics == {"y": 2.0}
    assert runs["child"].parent_id is None  # the parent's runs are not the child's
    assert runs["parent"].status == "FINISHED" and runs["parent"].metrics == {"x": 1.0}
