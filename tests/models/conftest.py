"""Churn data and fitted scikit-learn pipelines, shared by the model tests (fitted once)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from modeldeck.quickstart.data import FEATURES, LABEL, make_churn


@pytest.fixture(scope="session")
def churn() -> tuple[pd.DataFrame, pd.Series]:
    data = make_churn(800, seed=3)
    return data[list(FEATURES)], data[LABEL]


@pytest.fixture(scope="session")
def pipelines(churn: tuple[pd.DataFrame, pd.Series]) -> dict[str, Any]:
    """The quickstart's candidates (logistic regression, random forest, hist GBM), fitted."""
    from modeldeck.quickstart.story import _candidates

    x, y = churn
    return {c.name: c.estimator.fit(x, y) for c in _candidates(7)}
