import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

import modeldeck
from modeldeck.client import fluent
from modeldeck.quickstart.data import FEATURES, LABEL, make_churn, split
from modeldeck.quickstart.story import QuickstartResult, run_quickstart

N_ROWS = 5000  # the defaults: the governance outcome below is the one users see
SEED = 7
CANDIDATES = ["logreg", "random-forest", "hist-gbm"]
# one worker runs the whole module, so the story (the whole quickstart) is told once, not once
# per xdist worker that gets one of its tests
pytestmark = pytest.mark.xdist_group("quickstart-story")


@dataclass
class Story:
    result: QuickstartResult
    output: str
    home: Path


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    home = tmp_path_factory.mktemp("quickstart") / "md"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELDECK_HOME", str(home))
        fluent.reset()  # the process-wide client may point at another test's store
        out = io.StringIO()
        result = run_quickstart(Console(file=out, width=200), n_rows=N_ROWS, seed=SEED)
        yield Story(result, out.getvalue(), home)
        fluent.reset()


def test_result_names_the_runs(story):
    result = story.result
    assert result.experiment == "churn"
    assert list(result.run_ids) == CANDIDATES
    assert len({result.parent_run_id, *result.run_ids.values()}) == 4
    assert result.best_run_id in result.run_ids.values()
    assert result.best_metric == "eval_auc"
    assert 0.6 < result.best_value <= 1.0
    assert story.home.is_dir()


def test_parent_run(story):
    parent = modeldeck.get_run(story.result.parent_run_id)
    assert parent.name == "churn-candidates"
    assert parent.status == modeldeck.RunStatus.FINISHED
    assert parent.parent_id is None
    assert parent.params["n_rows"] == str(N_ROWS)
    assert parent.params["seed"] == str(SEED)
    assert parent.tags["best_run_id"] == story.result.best_run_id
    assert parent.metrics["best_eval_auc"] == pytest.approx(story.result.best_value)


def test_child_runs_have_params_metrics_and_tags(story):
    for name, run_id in story.result.run_ids.items():
        run = modeldeck.get_run(run_id)
        assert run.name == name
        assert run.status == modeldeck.RunStatus.FINISHED
        assert run.parent_id == story.result.parent_run_id
        assert run.params["cv_folds"] == "5"
        assert "model" in run.params
        assert run.tags["candidate"] == "yes"
        for key in ("eval_auc", "eval_f1", "eval_accuracy", "eval_log_loss", "cv_auc_mean"):
            assert key in run.metrics, (name, key)
        assert 0.5 < run.metrics["eval_auc"] <= 1.0


def test_per_fold_metric_histories(story):
    for run_id in story.result.run_ids.values():
        for key in ("auc", "f1", "accuracy", "log_loss"):
            history = modeldeck.get_metric_history(run_id, key)
            assert [m.step for m in history] == [0, 1, 2, 3, 4], key
        aucs = [m.value for m in modeldeck.get_metric_history(run_id, "auc")]
        run = modeldeck.get_run(run_id)
        assert run.metrics["auc"] == aucs[-1]  # the latest value
        assert run.metrics["cv_auc_mean"] == pytest.approx(sum(aucs) / len(aucs))


def test_datasets_recorded_for_train_and_eval(story):
    train, evaluation = split(make_churn(N_ROWS, SEED), SEED)
    digests = set()
    for run_id in [story.result.parent_run_id, *story.result.run_ids.values()]:
        inputs = {i.context: i.dataset for i in modeldeck.get_run(run_id).inputs}
        assert set(inputs) == {"train", "eval"}
        assert inputs["train"].name == "churn-train"
        assert inputs["eval"].name == "churn-eval"
        assert inputs["train"].num_rows == len(train)
        assert inputs["eval"].num_rows == len(evaluation)
        assert set(FEATURES) | {LABEL} <= set(inputs["train"].schema)
        digests.add((inputs["train"].digest, inputs["eval"].digest))
    assert len(digests) == 1  # every run saw the same bytes


def test_artifacts_model_figure_and_metrics(story, tmp_path):
    import numpy as np
    from sklearn.metrics import roc_auc_score

    _, evaluation = split(make_churn(N_ROWS, SEED), SEED)
    for name, run_id in story.result.run_ids.items():
        run = modeldeck.get_run(run_id)
        figure = modeldeck.download_artifact(run_id, "confusion_matrix.png", tmp_path / "cm.png")
        assert figure.read_bytes().startswith(b"\x89PNG")
        saved = modeldeck.download_artifact(run_id, "metrics.json", tmp_path / "metrics.json")
        assert json.loads(saved.read_text())["eval_auc"] == pytest.approx(run.metrics["eval_auc"])
        model = modeldeck.load_model(f"runs:/{run_id}/model")
        proba = model.predict_proba(evaluation[list(FEATURES)])[:, 1]
        auc = roc_auc_score(evaluation[LABEL].to_numpy(), proba)
        assert np.isclose(auc, run.metrics["eval_auc"]), name


def test_release_promotes_the_candidate_that_passed_its_gates(story):
    result = story.result
    assert result.champion_version == result.versions["logreg"] == 1
    client = fluent.client()
    runner_up = result.versions["random-forest"]
    failed = client.evaluations("churn", runner_up)[0]
    assert not failed.passed
    assert [c["name"] for c in failed.failed_checks()] == ["slice:region=north:auc"]
    assert "slice:region=north:auc" in story.output  # shown to the user, visibly
    assert client.evaluations("churn", 1)[0].passed
    approvals = client.decisions("churn", 1)
    assert [(a.reviewer, a.decision.value) for a in approvals] == [("dana", "approved")]
    assert "cannot approve it: another reviewer must" in story.output


def test_production_detects_the_shift_retrains_and_promotes_generation_two(story):
    produced = story.result.production
    client = fluent.client()
    windows = client.monitor_windows("churn")
    normal = [w for w in windows if w.end <= 1772323200000]  # before 2026-03-01
    shifted = [w for w in windows if w.start >= 1772409600000 and w.rows]  # from 2026-03-02
    assert normal and all(w.metrics["dataset_drift"] == 0.0 for w in normal)
    assert all(w.metrics["drifted_columns"] == 0.0 for w in normal)
    assert max(w.metrics["drift_share"] for w in shifted) >= 0.2
    assert min(w.metrics["auc"] for w in shifted if w.metrics.get("auc")) < 0.75
    rules = {a.rule for a in client.monitor_alerts("churn")}
    assert rules == {"drift_share >= 0.2", "auc < 0.75 over 14 days"}
    assert produced.webhooks_verified == produced.alerts > 0
    assert client.get_monitor("churn").webhooks == []  # its receiver is gone with the quickstart
    # the challenger passed its gates, was approved by the reviewer and is the champion now
    new = produced.challenger
    assert produced.promoted and produced.generations == [1, new]
    assert client.get_registered_model("churn").aliases == {"champion": new}
    assert client.get_model_version("churn", new).replaces_version == 1
    assert client.evaluations("churn", new)[-1].passed
    assert [(a.reviewer, a.decision.value) for a in client.decisions("churn", new)] == [
        ("dana", "approved")
    ]
    lineage = client.lineage("churn", new)
    assert [v.version for v in lineage.replaces] == [1]
    assert {i.dataset.name for i in lineage.inputs if i.context == "train"} == {
        "churn-train-production"
    }
    actions = [r.action for r in client.audit_log(subject="models:/churn", limit=500)]
    assert {"monitor.create", "retrain.start", "retrain.finish"} <= set(actions)
    page = produced.report.read_text()
    assert "monthly_charges" in page and "http://" not in page and "https://" not in page
    assert "generation 2" in story.output


def test_release_writes_the_card_and_a_verified_audit_trail(story):
    client = fluent.client()
    card = client.model_card("churn", 1)
    assert card.status == "approved"
    assert "retention team" in card.sections["intended_use"]
    page = (story.home / "cards" / "churn-v1.html").read_text()
    assert "Intended use" in page and "retention team" in page
    actions = [r.action for r in client.audit_log(subject="models:/churn", limit=100)]
    for action in ("version.register", "version.evaluate", "denied:version.approve"):
        assert action in actions
    assert {"version.approve", "alias.move", "card.status"} <= set(actions)
    assert client.verify_audit().ok
    assert "audit chain intact" in story.output


def test_best_run_has_the_highest_eval_auc(story):
    ranked = modeldeck.search_runs(
        experiment="churn",
        filter="metrics.eval_auc > 0",
        order_by=["metrics.eval_auc desc"],
        max_results=10,
    )
    assert {r.id for r in ranked} == set(story.result.run_ids.values())
    assert ranked[0].id == story.result.best_run_id
    assert ranked[0].metrics["eval_auc"] == pytest.approx(story.result.best_value)


def test_summary_tells_what_to_run_next(story):
    out = story.output
    for name in CANDIDATES:
        assert name in out
    best = story.result.best_run_id[:8]
    assert "modeldeck runs list --experiment churn" in out
    assert f"modeldeck runs show {best}" in out
    assert f"modeldeck runs compare {best} " in out


def test_the_suggested_commands_work(story):
    from typer.testing import CliRunner

    from modeldeck.cli.main import app

    lines = [line for line in story.output.splitlines() if "modeldeck runs" in line]
    # "│   modeldeck runs show 1a2b3c4d   │" -> ["runs", "show", "1a2b3c4d"]
    commands = [line[line.index("modeldeck") :].strip(" │").split()[1:] for line in lines]
    assert len(commands) == 3
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELDECK_HOME", str(story.home))
        fluent.reset()
        for args in commands:
            done = CliRunner().invoke(app, args)
            assert done.exit_code == 0, (args, done.output)
            assert "logreg" in done.output or "random-forest" in done.output
        fluent.reset()
