"""Task metrics against sklearn, undefined metrics as None, label normalisation, outputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from modeldeck.core.errors import InvalidInput
from modeldeck.monitoring.performance import (
    classification_metrics,
    extract_outputs,
    regression_metrics,
    task_metrics,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261127)


def test_binary_against_sklearn(rng: np.random.Generator) -> None:
    y = rng.integers(0, 2, 300)
    p = np.clip(y * 0.3 + rng.random(300) * 0.7, 0, 1)
    pred = (p > 0.5).astype(int)
    got = classification_metrics(y, pred, p)
    assert got["rows"] == 300
    assert got["accuracy"] == pytest.approx(metrics.accuracy_score(y, pred))
    assert got["precision"] == pytest.approx(metrics.precision_score(y, pred))
    assert got["recall"] == pytest.approx(metrics.recall_score(y, pred))
    assert got["f1"] == pytest.approx(metrics.f1_score(y, pred))
    assert got["auc"] == pytest.approx(metrics.roc_auc_score(y, p))
    assert got["log_loss"] == pytest.approx(metrics.log_loss(y, p))
    # the same probabilities as two columns give the same numbers
    two = classification_metrics(y, pred, np.column_stack([1 - p, p]), classes=[0, 1])
    assert two == pytest.approx(got)


def test_binary_positive_class_is_the_last_of_classes() -> None:
    y = ["no", "yes", "yes", "no", "yes"]
    pred = ["no", "yes", "no", "no", "no"]
    p_yes = np.array([0.2, 0.9, 0.4, 0.3, 0.6])
    got = classification_metrics(y, pred, np.column_stack([1 - p_yes, p_yes]), ["no", "yes"])
    assert got["recall"] == pytest.approx(metrics.recall_score(y, pred, pos_label="yes"))
    assert got["auc"] == pytest.approx(metrics.roc_auc_score(np.array(y) == "yes", p_yes))
    # the model's classes in the other order: "no" is positive, probabilities follow the order
    flipped = classification_metrics(y, pred, np.column_stack([p_yes, 1 - p_yes]), ["yes", "no"])
    assert flipped["recall"] == pytest.approx(metrics.recall_score(y, pred, pos_label="no"))
    assert flipped["auc"] == pytest.approx(metrics.roc_auc_score(np.array(y) == "no", 1 - p_yes))
    assert flipped["log_loss"] == pytest.approx(got["log_loss"])


def test_multiclass_against_sklearn(rng: np.random.Generator) -> None:
    y = rng.integers(0, 3, 400)
    raw = rng.random((400, 3)) + np.eye(3)[y] * 0.8
    proba = raw / raw.sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    got = classification_metrics(y, pred, proba, classes=[0, 1, 2])
    assert got["accuracy"] == pytest.approx(metrics.accuracy_score(y, pred))
    assert got["f1"] == pytest.approx(metrics.f1_score(y, pred, average="macro"))
    assert got["precision"] == pytest.approx(metrics.precision_score(y, pred, average="macro"))
    assert got["recall"] == pytest.approx(metrics.recall_score(y, pred, average="macro"))
    assert got["auc"] == pytest.approx(metrics.roc_auc_score(y, proba, multi_class="ovr"))
    assert got["log_loss"] == pytest.approx(metrics.log_loss(y, proba))


def test_multiclass_columns_follow_the_model_class_order(rng: np.random.Generator) -> None:
    labels = np.array(["cat", "dog", "eel"])
    y = labels[rng.integers(0, 3, 200)]
    raw = rng.random((200, 3)) + (y[:, None] == labels) * 0.8
    proba = raw / raw.sum(axis=1, keepdims=True)
    pred = labels[proba.argmax(axis=1)]
    expected = classification_metrics(y, pred, proba, list(labels))
    order = [2, 0, 1]  # the model's own class order: eel, cat, dog
    got = classification_metrics(y, pred, proba[:, order], list(labels[order]))
    assert got == pytest.approx(expected)
    assert got["auc"] == pytest.approx(metrics.roc_auc_score(y, proba, multi_class="ovr"))


def test_one_class_present_gives_no_auc() -> None:
    got = classification_metrics([1, 1, 1], [1, 0, 1], [0.9, 0.4, 0.8], classes=[0, 1])
    assert got["auc"] is None
    assert got["accuracy"] == pytest.approx(2 / 3)
    assert got["log_loss"] == pytest.approx(
        metrics.log_loss([1, 1, 1], [0.9, 0.4, 0.8], labels=[0, 1])
    )
    multi = classification_metrics(
        [0, 0], [0, 1], [[0.8, 0.1, 0.1], [0.3, 0.4, 0.3]], classes=[0, 1, 2]
    )
    assert multi["auc"] is None


def test_string_labels_against_int_predictions() -> None:
    got = classification_metrics(["1", "0", "1", "1"], [1, 0, 0, 1], classes=[0, 1])
    assert got["accuracy"] == pytest.approx(0.75)
    assert got["recall"] == pytest.approx(2 / 3)
    # whole floats read as integers: "1" == 1 == 1.0
    floats = classification_metrics(["1", "0"], np.array([1.0, 0.0]))
    assert floats["accuracy"] == 1.0
    # numbers of both kinds compare as numbers
    assert classification_metrics([1, 0], [1.0, 0.0])["accuracy"] == 1.0
    # numeric text sorts as numbers when choosing the positive class
    wide = classification_metrics(["9", "10"], [9, 9])
    assert wide["recall"] == 0.0  # positive is "10", never predicted


def test_missing_pairs_are_left_out() -> None:
    got = classification_metrics([1, None, 0, 1], [1, 1, 0, None])
    assert got["rows"] == 2 and got["accuracy"] == 1.0
    reg = regression_metrics([1.0, math.nan, 3.0], [1.5, 2.0, None])
    assert reg["rows"] == 1


def test_regression_against_sklearn(rng: np.random.Generator) -> None:
    y = rng.normal(10, 3, 250)
    pred = y + rng.normal(0, 1, 250)
    got = regression_metrics(y, pred)
    assert got["rows"] == 250
    assert got["rmse"] == pytest.approx(math.sqrt(metrics.mean_squared_error(y, pred)))
    assert got["mae"] == pytest.approx(metrics.mean_absolute_error(y, pred))
    assert got["r2"] == pytest.approx(metrics.r2_score(y, pred))
    # labels as a pandas Series, predictions as JSON-ish lists
    assert regression_metrics(pd.Series(y), list(pred)) == pytest.approx(got)


def test_regression_one_row_has_no_r2() -> None:
    got = regression_metrics([2.0], [3.0])
    assert got == {"rmse": 1.0, "mae": 1.0, "r2": None, "rows": 1}


def test_regression_text_that_is_no_number() -> None:
    with pytest.raises(InvalidInput, match="must be numbers"):
        regression_metrics(["a", "1"], [1.0, 2.0])


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_empty_input(task: str) -> None:
    got = task_metrics(task, [], [])
    assert got["rows"] == 0
    assert all(v is None for k, v in got.items() if k != "rows")


def test_task_metrics_dispatch() -> None:
    assert task_metrics("regression", [1.0, 2.0], [1.0, 2.0])["r2"] == 1.0
    assert task_metrics("classification", [1, 0], [1, 0])["accuracy"] == 1.0
    with pytest.raises(InvalidInput, match="unknown task 'ranking'"):
        task_metrics("ranking", [1], [1])


def test_input_errors() -> None:
    with pytest.raises(InvalidInput, match="same order"):
        classification_metrics([1, 0], [1])
    with pytest.raises(InvalidInput, match="one row per label"):
        classification_metrics([1, 0], [1, 0], [0.5])
    with pytest.raises(InvalidInput, match="3 columns but there are 2 classes"):
        classification_metrics([1, 0], [1, 0], [[0.2, 0.3, 0.5]] * 2, classes=[0, 1])
    with pytest.raises(InvalidInput, match="rows x classes"):
        classification_metrics([0, 1, 2], [0, 1, 2], [0.2, 0.3, 0.5], classes=[0, 1, 2])


# --- extract_outputs ------------------------------------------------------------------------


def test_extract_outputs() -> None:
    outputs = [
        {"prediction": 1, "probabilities": [0.2, 0.8]},
        {"prediction": 0, "probabilities": [0.7, 0.3]},
    ]
    pred, proba = extract_outputs(outputs, [0, 1])
    assert pred.tolist() == [1, 0]
    assert proba is not None and proba.tolist() == [[0.2, 0.8], [0.7, 0.3]]


def test_extract_outputs_without_probabilities() -> None:
    pred, proba = extract_outputs(
        [{"prediction": "a"}, {"prediction": "b", "probabilities": None}], None
    )
    assert pred.tolist() == ["a", "b"]
    assert proba is None
    # one row lacking them: no array, since the metrics need one per labelled row
    _, partial = extract_outputs(
        [{"prediction": 1, "probabilities": [0.1, 0.9]}, {"prediction": 0}], [0, 1]
    )
    assert partial is None
    # a logged NaN arrives as null: not usable either
    _, nulls = extract_outputs([{"prediction": 1, "probabilities": [None, 0.9]}], [0, 1])
    assert nulls is None
    # regression outputs
    values, none = extract_outputs([{"prediction": 1.5}, {"prediction": 2}], None)
    assert values.dtype == np.float64 and values.tolist() == [1.5, 2.0] and none is None


def test_extract_outputs_by_class_and_derived_prediction() -> None:
    outputs = [
        {"probabilities": {"a": 0.1, "b": 0.9}},
        {"prediction": "a", "probabilities": {"b": 0.4, "a": 0.6}},
    ]
    pred, proba = extract_outputs(outputs, ["a", "b"])
    assert pred.tolist() == ["b", "a"]
    assert proba is not None and proba.tolist() == [[0.1, 0.9], [0.6, 0.4]]


def test_extract_outputs_errors() -> None:
    with pytest.raises(InvalidInput, match="2 probabilities but the model has 3 classes"):
        extract_outputs([{"prediction": 1, "probabilities": [0.5, 0.5]}], [0, 1, 2])
    with pytest.raises(InvalidInput, match="must be a mapping"):
        extract_outputs([1], None)  # type: ignore[list-item]
    with pytest.raises(InvalidInput, match="pass classes"):
        extract_outputs([{"probabilities": {"a": 1.0}}], None)


def test_extracted_outputs_feed_the_metrics() -> None:
    outputs = [
        {"prediction": 1, "probabilities": [0.2, 0.8]},
        {"prediction": 0, "probabilities": [0.7, 0.3]},
        {"prediction": 1, "probabilities": [0.4, 0.6]},
    ]
    pred, proba = extract_outputs(outputs, [0, 1])
    got = classification_metrics(["1", "0", "0"], pred, proba, [0, 1])
    assert got["accuracy"] == pytest.approx(2 / 3)
    assert got["auc"] == pytest.approx(metrics.roc_auc_score([1, 0, 0], [0.8, 0.3, 0.6]))
