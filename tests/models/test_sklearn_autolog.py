"""modeldeck.sklearn.autolog(): the outermost fit in a run logs params, metrics and the model."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import modeldeck
import modeldeck.sklearn
from modeldeck.client import fluent
from modeldeck.models import autolog as patches


@pytest.fixture
def autologged() -> Iterator[None]:
    modeldeck.sklearn.autolog()
    try:
        yield
    finally:
        modeldeck.sklearn.autolog(disable=True)


class Spy:
    """A RunLogger that records each call."""

    def __init__(self) -> None:
        self.params: list[Mapping[str, str]] = []
        self.metrics: list[Mapping[str, float]] = []
        self.models: list[tuple[Any, Any]] = []

    def log_params(self, params: Mapping[str, str]) -> None:
        self.params.append(params)

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        self.metrics.append(metrics)

    def log_model(self, model: Any, input_example: Any) -> None:
        self.models.append((model, input_example))


@pytest.fixture
def spy() -> Iterator[Spy]:
    recorder = Spy()
    patches.enable(lambda: recorder)
    try:
        yield recorder
    finally:
        patches.disable()


def test_pipeline_fit_logs_params_metrics_and_model(
    home: Path, autologged: None, pipelines: dict[str, Any], churn: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = churn
    with modeldeck.start_run(experiment="auto") as run:
        model = clone(pipelines["logreg"]).fit(x, y)
    stored = modeldeck.get_run(run.id)

    assert stored.params["steps"] == "prepare=ColumnTransformer, model=LogisticRegression"
    assert stored.params["model"] == "LogisticRegression"
    assert stored.params["model__C"] == "1.0"
    assert stored.params["model__max_iter"] == "1000"
    assert stored.params["prepare__numeric__simpleimputer__strategy"] == "median"
    assert "C" not in stored.params  # the step was not logged on its own
    assert set(stored.metrics) == {
        "training_accuracy",
        "training_f1",
        "training_roc_auc",
        "training_log_loss",
    }
    assert 0.5 < stored.metrics["training_roc_auc"] <= 1.0
    assert len(modeldeck.get_metric_history(run.id, "training_accuracy")) == 1

    predictor = fluent.load_model(f"runs:/{run.id}/model")
    np.testing.assert_array_equal(predictor.predict(x), model.predict(x))
    assert predictor.signature is not None
    assert predictor.signature.columns == list(x.columns)
    assert predictor.signature.column("total_charges").nullable  # from the whole frame


def test_nested_fits_are_not_logged_separately(
    spy: Spy, churn: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = churn
    numeric = x.select_dtypes("number").fillna(0)
    make_pipeline(StandardScaler(), LogisticRegression()).fit(numeric, y)
    assert len(spy.params) == len(spy.metrics) == len(spy.models) == 1

    search = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression()),
        {"logisticregression__C": [0.1, 1.0]},
        cv=3,
    ).fit(numeric, y)
    assert len(spy.params) == len(spy.metrics) == len(spy.models) == 2  # one more: the search
    params, metrics = spy.params[-1], spy.metrics[-1]
    assert params["estimator"] == "Pipeline"
    assert params["estimator__logisticregression__C"] == "1.0"
    assert params["best_logisticregression__C"] == str(search.best_params_["logisticregression__C"])
    assert metrics["best_cv_score"] == pytest.approx(search.best_score_)
    model, example = spy.models[-1]
    assert model is search and example is numeric


def test_regressor_metrics(spy: Spy) -> None:
    x, y = make_regression(80, 3, noise=0.1, random_state=0)
    LinearRegression().fit(x, y)
    assert set(spy.metrics[0]) == {"training_r2", "training_rmse", "training_mae"}
    assert spy.metrics[0]["training_r2"] > 0.99
    assert spy.models[0][1] is None  # a numpy array is no example: no column names


def test_nothing_is_logged_outside_a_run(
    home: Path, autologged: None, churn: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = churn
    model = LogisticRegression(max_iter=500).fit(x.select_dtypes("number").fillna(0), y)
    assert hasattr(model, "coef_")
    assert fluent.client().search_runs().runs == []


def test_logging_failures_warn_and_never_break_the_fit(
    churn: tuple[pd.DataFrame, pd.Series],
) -> None:
    class Broken(Spy):
        def log_params(self, params: Mapping[str, str]) -> None:
            raise RuntimeError("store is down")

    patches.enable(Broken)
    try:
        x, y = churn
        with pytest.warns(UserWarning, match="could not log the params of Pipeline.*store is down"):
            fitted = make_pipeline(StandardScaler(), LogisticRegression()).fit(
                x.select_dtypes("number").fillna(0), y
            )
        assert isinstance(fitted, Pipeline)
    finally:
        patches.disable()


def test_disable_restores_the_original_methods(home: Path) -> None:
    original = LogisticRegression.__dict__["fit"]
    modeldeck.sklearn.autolog(log_models=False)
    patched = LogisticRegression.__dict__["fit"]
    assert patched is not original and patched.__modeldeck_autolog__
    assert patched.__wrapped__ is original
    modeldeck.sklearn.autolog()  # enabling twice patches once
    assert LogisticRegression.__dict__["fit"] is patched
    modeldeck.sklearn.autolog(disable=True)
    assert LogisticRegression.__dict__["fit"] is original
    assert Pipeline.__dict__["fit"].__name__ == "fit"
    assert not hasattr(Pipeline.__dict__["fit"], "__modeldeck_autolog__")
    assert not patches.is_enabled()


def test_log_models_false_logs_no_model(home: Path, churn: tuple[pd.DataFrame, pd.Series]) -> None:
    x, y = churn
    modeldeck.sklearn.autolog(log_models=False)
    try:
        with modeldeck.start_run() as run, warnings.catch_warnings():
            warnings.simplefilter("error")
            LogisticRegression(max_iter=500).fit(x.select_dtypes("number").fillna(0), y)
    finally:
        modeldeck.sklearn.autolog(disable=True)
    assert fluent.client().artifacts(run.id) == []
    assert modeldeck.get_run(run.id).params["C"] == "1.0"
