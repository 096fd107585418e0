"""`modeldeck models evaluate` and `modeldeck models card`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli_models import _customers, act_as, train_run

POLICY = """
[models.churn]
label = "churned"
task = "classification"

[[models.churn.checks]]
type = "metric"
metric = "accuracy"
min = {floor}

[[models.churn.checks]]
type = "slice"
column = "plan"
metric = "accuracy"
min = 0.0
min_rows = 5
"""


@pytest.fixture
def registered(cli, tmp_path: Path) -> Path:
    """churn version 1 and an evaluation file; returns the folder holding both."""
    assert cli("models", "register", train_run(tmp_path), "churn").exit_code == 0
    _customers().to_parquet(tmp_path / "eval.parquet")
    return tmp_path


def _policy(folder: Path, floor: float) -> Path:
    path = folder / "modeldeck.toml"
    path.write_text(POLICY.format(floor=floor))
    return path


def test_evaluate_stores_passing_evidence(cli, registered: Path) -> None:
    policy = _policy(registered, 0.1)
    done = cli(
        "models", "evaluate", "churn", "1", "--data", str(registered / "eval.parquet"),
        "--policy", str(policy),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "metric:accuracy>=0.1" in done.stdout and "PASSED" in done.stdout
    assert "slice:plan=basic:accuracy" in done.stdout
    shown = json.loads(cli("models", "show", "churn", "1", "--json").stdout)
    assert shown["latest_evaluation"]["passed"] is True
    assert set(shown["latest_evaluation"]["plots"]) >= {"roc.png", "confusion_matrix.png"}


def test_evaluate_failing_gate_exits_1_and_blocks_promotion(
    cli, registered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = _policy(registered, 0.99)
    evaluate = (
        "models", "evaluate", "churn", "1", "--data", str(registered / "eval.parquet"),
        "--policy", str(policy),
    )  # fmt: skip
    done = cli(*evaluate)
    assert done.exit_code == 1
    assert "FAILED" in done.stdout
    assert "your own evidence does not count toward a protected alias" in done.stdout
    promoted = cli("models", "promote", "churn", "1")
    assert promoted.exit_code == 1
    assert "no gate evidence that counts" in promoted.stderr
    act_as(monkeypatch, "bob")  # a reviewer's evaluation counts, and this one failed
    assert cli(*evaluate).exit_code == 1
    promoted = cli("models", "promote", "churn", "1")
    assert "by bob failed its gates: metric:accuracy>=0.99" in promoted.stderr


def test_a_policy_that_checks_nothing_passes_nothing(cli, registered: Path) -> None:
    path = registered / "modeldeck.toml"
    path.write_text('[models.churn]\nlabel = "churned"\ntask = "classification"\n')
    done = cli(
        "models", "evaluate", "churn", "1", "--data", str(registered / "eval.parquet"),
        "--policy", str(path),
    )  # fmt: skip
    assert done.exit_code == 1
    assert "Gates FAILED" in done.stdout and "No check ran" in done.stdout


def test_evaluate_refuses_a_policy_with_a_typo(cli, registered: Path) -> None:
    policy = registered / "modeldeck.toml"
    policy.write_text(
        POLICY.format(floor=0.1).replace('metric = "accuracy"\nmin', 'metric = "acuracy"\nmin', 1)
    )
    done = cli(
        "models", "evaluate", "churn", "1", "--data", str(registered / "eval.parquet"),
        "--policy", str(policy),
    )  # fmt: skip
    assert done.exit_code == 1
    assert "unknown metric 'acuracy'" in done.stderr and "did you mean 'accuracy'" in done.stderr
    assert (
        json.loads(cli("models", "show", "churn", "1", "--json").stdout)["latest_evaluation"]
        is None
    )


def test_card_is_shown_exported_and_reviewed(cli, registered: Path, monkeypatch) -> None:
    from modeldeck.client import fluent

    shown = cli("models", "card", "churn", "1")
    assert shown.exit_code == 0, shown.output
    assert "Model details" in shown.stdout and "Intended use" in shown.stdout
    html, md = registered / "card.html", registered / "card.md"
    exported = cli("models", "card", "churn", "1", "--html", str(html), "--markdown", str(md))
    assert exported.exit_code == 0, exported.output
    assert html.read_text().startswith("<!DOCTYPE html>") and "# " in md.read_text()
    assert cli("models", "card", "churn", "1", "--status", "in_review").exit_code == 0
    own = cli("models", "card", "churn", "1", "--status", "approved")
    assert own.exit_code == 1  # the author may not approve the card of their own version
    monkeypatch.setenv("MODELDECK_USER", "bob")
    fluent.reset()
    assert cli("models", "card", "churn", "1", "--status", "approved").exit_code == 0
