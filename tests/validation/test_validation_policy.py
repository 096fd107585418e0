"""Policy files: TOML and YAML, finding them, storing them, and every error naming the fix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from modeldeck.core.errors import InvalidInput, NotFound
from modeldeck.validation import (
    ImprovementCheck,
    LatencyCheck,
    MetricCheck,
    Policy,
    SignatureCheck,
    SliceCheck,
    find_policy_file,
    load_policy,
)

CHURN_TOML = """
[modeldeck]
experiment = "churn"

[models.churn]
label = "churned"
task = "classification"
protected_aliases = ["champion", "production"]

[[models.churn.checks]]
type = "metric"
metric = "auc"
min = 0.75

[[models.churn.checks]]
type = "improvement"
metric = "auc"
min_delta = 0.0

[[models.churn.checks]]
type = "slice"
column = "region"
metric = "auc"
min = 0.70
max_gap = 0.05
min_rows = 30

[[models.churn.checks]]
type = "latency"
p95_ms = 25.0
samples = 200

[[models.churn.checks]]
type = "signature"
"""

CHURN_YAML = """
models:
  churn:
    label: churned
    task: classification
    protected_aliases: [champion, production]
    checks:
      - {type: metric, metric: auc, min: 0.75}
      - {type: improvement, metric: auc, min_delta: 0.0}
      - {type: slice, column: region, metric: auc, min: 0.70, max_gap: 0.05, min_rows: 30}
      - {type: latency, p95_ms: 25.0, samples: 200}
      - {type: signature}
"""

EXPECTED_CHECKS = (
    MetricCheck(metric="auc", min=0.75),
    ImprovementCheck(metric="auc", min_delta=0.0),
    SliceCheck(column="region", metric="auc", min=0.70, max_gap=0.05, min_rows=30),
    LatencyCheck(p95_ms=25.0, samples=200),
    SignatureCheck(),
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "text"), [("modeldeck.toml", CHURN_TOML), ("x.yaml", CHURN_YAML)])
def test_toml_and_yaml_read_the_same(tmp_path: Path, name: str, text: str) -> None:
    path = write(tmp_path, name, text)
    policy = load_policy(path, "churn")
    assert policy.model == "churn"
    assert policy.label == "churned"
    assert policy.task == "classification"
    assert policy.protected_aliases == ("champion", "production")
    assert policy.checks == EXPECTED_CHECKS
    assert policy.source == str(path)


def test_defaults() -> None:
    policy = Policy.from_dict({"model": "m", "label": "y"})
    assert policy.task is None
    assert policy.protected_aliases == ("champion",)
    assert policy.checks == ()
    check = Policy.from_dict(
        {"model": "m", "label": "y", "checks": [{"type": "latency", "p95_ms": 5}]}
    ).checks[0]
    assert check == LatencyCheck(p95_ms=5.0, samples=200, warmup=5)


def test_policy_round_trips_through_json(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "modeldeck.toml", CHURN_TOML), "churn")
    stored = json.loads(json.dumps(policy.to_dict()))
    assert stored["checks"][0] == {"type": "metric", "metric": "auc", "min": 0.75}
    assert Policy.from_dict(stored) == policy


def test_find_policy_file_walks_up_to_the_repository_root(tmp_path: Path) -> None:
    write(tmp_path, "modeldeck.toml", CHURN_TOML)  # above the repository: never reached
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    deep = repo / "src" / "pkg"
    deep.mkdir(parents=True)
    assert find_policy_file(deep) is None
    yaml_file = write(repo, "modeldeck.yml", CHURN_YAML)
    assert find_policy_file(deep) == yaml_file.resolve()
    assert load_policy(deep, "churn").source == str(yaml_file.resolve())


def test_settings_only_toml_gives_way_to_yaml_beside_it(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, "modeldeck.toml", '[modeldeck]\nexperiment = "x"\n')
    yaml_file = write(tmp_path, "modeldeck.yaml", CHURN_YAML)
    assert find_policy_file(tmp_path) == yaml_file.resolve()
    toml_file = write(tmp_path, "modeldeck.toml", CHURN_TOML)
    assert find_policy_file(tmp_path) == toml_file.resolve()


def test_no_policy_file_is_not_found(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    with pytest.raises(NotFound, match=r"no modeldeck.toml .*\[models.churn\]"):
        load_policy(tmp_path, "churn")
    with pytest.raises(NotFound, match="does not exist"):
        load_policy(tmp_path / "missing.toml", "churn")


def toml_error(tmp_path: Path, body: str, model: str = "churn") -> str:
    path = write(tmp_path, "modeldeck.toml", body)
    with pytest.raises(InvalidInput) as caught:
        load_policy(path, model)
    message = str(caught.value)
    assert message.startswith(str(path)), message  # every error names the file
    return message


def with_check(check: str, task: str = 'task = "classification"\n') -> str:
    return f'[models.churn]\nlabel = "churned"\n{task}\n[[models.churn.checks]]\n{check}\n'


def test_unknown_check_type_lists_the_known_ones(tmp_path: Path) -> None:
    message = toml_error(tmp_path, with_check('type = "metrik"\nmetric = "auc"\nmin = 0.7'))
    assert "[models.churn] check #1: unknown check type 'metrik'; did you mean 'metric'?" in message
    assert "known types: metric, improvement, slice, latency, signature" in message


def test_check_without_type(tmp_path: Path) -> None:
    message = toml_error(tmp_path, with_check('metric = "auc"'))
    assert "check #1: has no 'type'; add type = one of metric, improvement" in message


def test_typo_in_a_check_key_suggests_the_key(tmp_path: Path) -> None:
    body = (
        with_check('type = "metric"\nmetric = "auc"\nmin = 0.7')
        + '\n[[models.churn.checks]]\ntype = "slice"\ncolumn = "region"\nmetric = "auc"\n'
        + "min = 0.7\nmin_row = 30\n"
    )
    message = toml_error(tmp_path, body)
    assert "check #2 (type 'slice'): unknown key 'min_row'; did you mean 'min_rows'?" in message
    assert "allowed keys: type, column, metric, min, max, max_gap, min_rows" in message


def test_unknown_metric_suggests_the_nearest(tmp_path: Path) -> None:
    message = toml_error(tmp_path, with_check('type = "metric"\nmetric = "acu"\nmin = 0.7'))
    assert (
        "unknown metric 'acu' for classification; did you mean 'auc'? "
        "known: auc, accuracy, f1, precision, recall, log_loss, brier"
    ) in message


def test_unknown_metric_without_a_task_lists_both_tasks(tmp_path: Path) -> None:
    message = toml_error(tmp_path, with_check('type = "metric"\nmetric = "rsme"\nmax = 3', ""))
    assert "unknown metric 'rsme'; did you mean 'rmse'?" in message
    assert "classification: auc, accuracy" in message
    assert "regression: rmse, mae, r2, mape" in message


def test_metric_of_the_other_task(tmp_path: Path) -> None:
    message = toml_error(tmp_path, with_check('type = "metric"\nmetric = "rmse"\nmax = 3'))
    assert "metric 'rmse' is a regression metric but task = 'classification'" in message


def test_metrics_of_both_tasks_without_a_task(tmp_path: Path) -> None:
    body = with_check('type = "metric"\nmetric = "auc"\nmin = 0.7', "") + (
        '[[models.churn.checks]]\ntype = "metric"\nmetric = "rmse"\nmax = 3\n'
    )
    message = toml_error(tmp_path, body)
    assert "mixes classification and regression metrics (auc, rmse); set task" in message


def test_missing_required_key(tmp_path: Path) -> None:
    message = toml_error(tmp_path, with_check('type = "slice"\nmetric = "auc"\nmin = 0.7'))
    assert "check #1 (type 'slice'): is missing 'column'; add column = \"region\"" in message
    message = toml_error(tmp_path, with_check('type = "latency"'))
    assert "check #1 (type 'latency'): is missing 'p95_ms'; add p95_ms = 25.0" in message


def test_a_check_without_any_threshold(tmp_path: Path) -> None:
    message = toml_error(tmp_path, with_check('type = "metric"\nmetric = "auc"'))
    assert "sets no threshold; add min = ... and/or max = ..." in message
    message = toml_error(tmp_path, with_check('type = "slice"\nmetric = "auc"\ncolumn = "r"'))
    assert "sets no threshold; add min = ..., max = ... and/or max_gap = ..." in message


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (
            'type = "metric"\nmetric = "auc"\nmin = "0.75"',
            "'min' must be a number, got str '0.75'; write min = 0.75 without quotes",
        ),
        ('type = "metric"\nmetric = "auc"\nmin = true', "'min' must be a number, got bool True"),
        ('type = "metric"\nmetric = 3\nmin = 0.5', "'metric' must be a non-empty text, got int 3"),
        ('type = "latency"\np95_ms = 0', "'p95_ms' must be a number above 0"),
        ('type = "latency"\np95_ms = 5\nsamples = 2.5', "'samples' must be a whole number"),
        ('type = "metric"\nmetric = "auc"\nmin = 0.9\nmax = 0.8', "min 0.9 is above max 0.8"),
        (
            'type = "slice"\ncolumn = "r"\nmetric = "auc"\nmax_gap = -0.1',
            "'max_gap' must be a number of at least 0",
        ),
    ],
)
def test_wrong_value_types(tmp_path: Path, check: str, expected: str) -> None:
    assert expected in toml_error(tmp_path, with_check(check))


def test_model_without_a_section_suggests_the_nearest(tmp_path: Path) -> None:
    message = toml_error(tmp_path, CHURN_TOML, model="chrun")
    assert "has no [models.chrun] section; did you mean 'churn'? (sections: churn)" in message
    assert 'add a [models.chrun] table with label = "<label column>"' in message
    message = toml_error(tmp_path, '[modeldeck]\nexperiment = "x"\n')
    assert "has no [models.churn] section" in message


def test_model_level_errors(tmp_path: Path) -> None:
    message = toml_error(tmp_path, '[models.churn]\nlable = "churned"\n')
    assert "[models.churn]: unknown key 'lable'; did you mean 'label'?" in message
    message = toml_error(tmp_path, '[models.churn]\ntask = "classification"\n')
    assert "[models.churn]: is missing 'label'; add label = " in message
    message = toml_error(tmp_path, '[models.churn]\nlabel = "y"\ntask = "ranking"\n')
    assert "task 'ranking' is not known; use one of classification, regression" in message
    message = toml_error(tmp_path, '[models.churn]\nlabel = "y"\nprotected_aliases = "champion"\n')
    assert "'protected_aliases' must be a list of texts" in message


def test_broken_files(tmp_path: Path) -> None:
    message = toml_error(tmp_path, "[models.churn\nlabel = 1")
    assert "is not valid TOML" in message
    path = write(tmp_path, "modeldeck.yaml", "models: [unclosed")
    with pytest.raises(InvalidInput, match=re.escape(f"{path} is not valid YAML")):
        load_policy(path, "churn")


def test_yaml_errors_name_the_file_and_check(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "modeldeck.yaml",
        "models:\n  churn:\n    label: y\n    task: classification\n    checks:\n"
        "      - {type: metric, metric: f2, min: 1}\n",
    )
    with pytest.raises(InvalidInput) as caught:
        load_policy(path, "churn")
    assert str(caught.value).startswith(f"{path} [models.churn] check #1 (type 'metric'): ")
    assert "unknown metric 'f2' for classification; did you mean 'f1'?" in str(caught.value)
