"""Metrics: directions, label types (0/1, text, booleans), positive labels, task inference,
and models that are not scikit-learn estimators."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score, roc_auc_score
from validation_support import FEATURES, policy_of

from modeldeck.core.errors import InvalidInput
from modeldeck.validation import METRICS, PredictionFailed, evaluate, metric_names


def test_metric_table() -> None:
    assert metric_names("classification") == [
        "auc",
        "accuracy",
        "f1",
        "precision",
        "recall",
        "log_loss",
        "brier",
    ]
    assert metric_names("regression") == ["rmse", "mae", "r2", "mape"]
    lower = {name for name, m in METRICS.items() if not m.higher_is_better}
    assert lower == {"log_loss", "brier", "rmse", "mae", "mape"}


def test_metrics_match_scikit_learn(logistic: Any, holdout: pd.DataFrame) -> None:
    result = evaluate(logistic, holdout, policy_of())
    scores = logistic.predict_proba(holdout[FEATURES])[:, 1]
    assert result.metrics["auc"] == pytest.approx(roc_auc_score(holdout["churned"], scores))
    predicted = logistic.predict(holdout[FEATURES])
    assert result.metrics["recall"] == pytest.approx(recall_score(holdout["churned"], predicted))
    assert set(result.metrics) == set(metric_names("classification"))


@pytest.mark.parametrize(
    "mapping", [{0: "no", 1: "yes"}, {0: False, 1: True}], ids=["text", "bool"]
)
def test_text_and_boolean_labels(
    mapping: dict[int, Any], train: pd.DataFrame, holdout: pd.DataFrame, logistic: Any
) -> None:
    expected = evaluate(logistic, holdout, policy_of()).metrics
    relabel = {"churned": lambda f: f["churned"].map(mapping)}
    model = LogisticRegression().fit(train[FEATURES], train.assign(**relabel)["churned"])
    metrics = evaluate(model, holdout.assign(**relabel), policy_of()).metrics
    assert metrics == pytest.approx(expected)


def test_positive_label(train: pd.DataFrame, holdout: pd.DataFrame, logistic: Any) -> None:
    names = {"churned": lambda f: f["churned"].map({0: "stayed", 1: "churned"})}
    model = LogisticRegression().fit(train[FEATURES], train.assign(**names)["churned"])
    data = holdout.assign(**names)
    expected = evaluate(logistic, holdout, policy_of()).metrics
    as_churned = evaluate(model, data, policy_of(positive_label="churned")).metrics
    assert as_churned == pytest.approx(expected)
    as_stayed = evaluate(model, data, policy_of()).metrics  # default: the last class, "stayed"
    assert as_stayed["recall"] != pytest.approx(expected["recall"])
    with pytest.raises(InvalidInput, match=r"positive_label 'left' .* not one of the classes"):
        evaluate(model, data, policy_of(positive_label="left"))


def test_task_inference(holdout: pd.DataFrame, logistic: Any) -> None:
    assert evaluate(logistic, holdout, policy_of()).task == "classification"
    frame = holdout.assign(churned=holdout["tenure"] * 2.0)
    assert evaluate(_Echo(), frame, policy_of()).task == "regression"
    policy = policy_of({"type": "metric", "metric": "rmse", "max": 1.0})
    with pytest.raises(InvalidInput, match="is a regression but label 'churned' holds"):
        evaluate(_Echo(), holdout.assign(churned="x"), policy)


def test_multiclass(train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    model = LogisticRegression().fit(train[FEATURES], train["region"])
    policy = policy_of({"type": "metric", "metric": "brier", "max": 1.0}, label="region")
    result = evaluate(model, holdout, policy)
    assert result.metrics["accuracy"] > 0 and not np.isnan(result.metrics["auc"])
    assert np.isnan(result.metrics["brier"])
    (check,) = result.checks
    assert check.verdict == "error" and "needs a binary label, found 3 classes" in check.detail


class _Echo:
    def predict(self, frame: pd.DataFrame) -> Any:
        return frame["tenure"].to_numpy() * 2.0


class _FrameScores:
    """Not scikit-learn: no classes_; scores come back as a frame named by class."""

    def predict(self, frame: pd.DataFrame) -> Any:
        return np.where(frame["tenure"] > 0, "yes", "no")

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        p = 1.0 / (1.0 + np.exp(-frame["tenure"].to_numpy()))
        return pd.DataFrame({"yes": p, "no": 1.0 - p})  # not in sorted order on purpose


class _PositiveColumn(_FrameScores):
    def predict_proba(self, frame: pd.DataFrame) -> Any:
        return 1.0 / (1.0 + np.exp(-frame["tenure"].to_numpy()))


@pytest.mark.parametrize("model", [_FrameScores(), _PositiveColumn()], ids=["frame", "1-d"])
def test_models_that_are_not_estimators(model: Any, holdout: pd.DataFrame) -> None:
    data = holdout.assign(churned=holdout["churned"].map({0: "no", 1: "yes"}))
    result = evaluate(model, data, policy_of())
    expected = roc_auc_score(holdout["churned"], holdout["tenure"])
    assert result.metrics["auc"] == pytest.approx(expected)


def test_predictions_of_the_wrong_shape(holdout: pd.DataFrame) -> None:
    class TwoPerRow:
        def predict(self, frame: pd.DataFrame) -> Any:
            return np.zeros((len(frame), 2))

    with pytest.raises(PredictionFailed, match=r"predict returned shape \(1200, 2\)"):
        evaluate(TwoPerRow(), holdout, policy_of())
