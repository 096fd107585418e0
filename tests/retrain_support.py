"""A retraining entry point for the monitoring tests: `retrain_support:retrain`."""

from __future__ import annotations

from typing import Any

FEATURES = ["x1", "x2", "segment"]
LABEL = "label"
CALLS: list[dict[str, Any]] = []


def build() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    prepare = ColumnTransformer(
        [("segment", OneHotEncoder(handle_unknown="ignore"), ["segment"])],
        remainder="passthrough",
    )
    return Pipeline([("prepare", prepare), ("model", LogisticRegression(max_iter=500))])


def retrain(context: Any) -> Any:
    """Train on the old training data plus every labeled production row."""
    import pandas as pd

    old = context.training_data()
    new = context.labeled()
    CALLS.append({"replaces": context.replaces, "old": len(old), "new": len(new)})
    train = pd.concat([old[[*FEATURES, LABEL]], new[[*FEATURES, LABEL]]], ignore_index=True)
    context.log_dataset(train)
    context.log_params({"rows": len(train)})
    return build().fit(train[FEATURES], train[LABEL])


def broken(context: Any) -> Any:
    raise RuntimeError("the feature store is down")
