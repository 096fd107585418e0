"""Fixtures for the validation tests: seeded data and small fitted scikit-learn models."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from validation_support import FEATURES, churn_frame, regression_frame


@pytest.fixture(scope="session")
def train() -> pd.DataFrame:
    return churn_frame(seed=1)


@pytest.fixture(scope="session")
def holdout() -> pd.DataFrame:
    return churn_frame(seed=2)


@pytest.fixture(scope="session")
def bad_south() -> pd.DataFrame:
    return churn_frame(seed=3, bad_region="south")


@pytest.fixture(scope="session")
def logistic(train: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(train[FEATURES], train["churned"])


@pytest.fixture(scope="session")
def dummy(train: pd.DataFrame) -> DummyClassifier:
    return DummyClassifier(strategy="prior").fit(train[FEATURES], train["churned"])


@pytest.fixture(scope="session")
def prices() -> pd.DataFrame:
    return regression_frame()


@pytest.fixture(scope="session")
def linear(prices: pd.DataFrame) -> LinearRegression:
    return LinearRegression().fit(prices[["a", "b"]], prices["price"])


@pytest.fixture(scope="session")
def mean_regressor(prices: pd.DataFrame) -> DummyRegressor:
    return DummyRegressor().fit(prices[["a", "b"]], prices["price"])
