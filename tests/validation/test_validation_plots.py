"""Plots are valid PNGs, drawn without touching pyplot or the process-wide backend."""

from __future__ import annotations

import io
from typing import Any

import matplotlib
import matplotlib.image
import pandas as pd
from sklearn.linear_model import LogisticRegression
from validation_support import FEATURES, policy_of

from modeldeck.validation import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(data: bytes) -> None:
    assert data.startswith(PNG_MAGIC)
    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels.std() > 0  # something was drawn


def test_classifier_plots(logistic: Any, holdout: pd.DataFrame) -> None:
    backend = matplotlib.get_backend()
    images = plots(logistic, holdout, policy_of())
    assert set(images) == {"roc.png", "calibration.png", "confusion_matrix.png"}
    for data in images.values():
        assert_png(data)
    assert matplotlib.get_backend() == backend
    assert plots(logistic, holdout, policy_of()) == images  # same plot, same bytes


def test_regression_plots(linear: Any, prices: pd.DataFrame) -> None:
    images = plots(linear, prices, policy_of(label="price"))
    assert set(images) == {"residuals.png"}
    assert_png(images["residuals.png"])


def test_multiclass_gets_a_confusion_matrix(train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    model = LogisticRegression().fit(train[FEATURES], train["region"])
    images = plots(model, holdout, policy_of(label="region"))
    assert set(images) == {"confusion_matrix.png"}
    assert_png(images["confusion_matrix.png"])
