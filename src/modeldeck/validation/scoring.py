"""Running a model over evaluation data: which columns it gets, what task it is, and its
predictions lined up with the labels (``Predictions``).

Any object with ``predict(frame)`` is a model here (``ModelLike``): a modeldeck ``Predictor``,
a scikit-learn estimator or pipeline, or a plain class. Classifiers with ``predict_proba``
give the scores that ``auc``, ``log_loss`` and ``brier`` need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from modeldeck.core.errors import InvalidInput
from modeldeck.validation.metrics import CLASSIFICATION, METRICS, REGRESSION, Predictions

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from modeldeck.validation.policy import Policy


class ModelLike(Protocol):
    """What evaluation needs of a model; ``predict_proba`` is used when present."""

    def predict(self, data: Any, /) -> Any: ...


class PredictionFailed(InvalidInput):
    """The model raised, or returned something unusable, on the evaluation data."""

    code = "PREDICTION_FAILED"


def describe(model: object, role: str, policy: Policy) -> str:
    """How errors name a model: ``candidate for 'churn' (LogisticRegression)``."""
    return f"{role} for {policy.model!r} ({type(model).__name__})"


def label_values(data: pd.DataFrame, policy: Policy) -> pd.Series:
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise InvalidInput(f"evaluation data must be a pandas DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise InvalidInput("the evaluation data has no rows")
    if policy.label not in data.columns:
        columns = ", ".join(map(str, data.columns))
        raise InvalidInput(
            f"the evaluation data has no label column {policy.label!r} (the label of "
            f"[models.{policy.model}]); its columns: {columns}"
        )
    labels = data[policy.label]
    missing = int(labels.isna().sum())
    if missing:
        raise InvalidInput(
            f"label column {policy.label!r} has {missing} missing values; "
            "drop those rows before evaluating"
        )
    return labels


def resolve_task(policy: Policy, labels: pd.Series) -> str:
    """The policy's task, else the one its metrics imply, else a guess from the label:
    text, booleans or at most two distinct numbers mean classification."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if policy.task:
        task = policy.task
    elif implied := {METRICS[m].task for m in policy.metric_names()}:
        task = implied.pop()
    elif is_bool_dtype(labels) or not is_numeric_dtype(labels) or labels.nunique() <= 2:
        task = CLASSIFICATION
    else:
        task = REGRESSION
    if task == REGRESSION and (is_bool_dtype(labels) or not is_numeric_dtype(labels)):
        raise InvalidInput(
            f"[models.{policy.model}] is a regression but label {policy.label!r} holds "
            f'{labels.dtype} values; set task = "classification" or fix the label column'
        )
    return task


def feature_frame(model: object, data: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The columns the model gets: the policy's ``features``, else the columns the model
    declares (``signature.columns``, scikit-learn's ``feature_names_in_``) when the data has
    them all, else every column but the label."""
    if policy.features is not None:
        absent = [c for c in policy.features if c not in data.columns]
        if absent:
            raise InvalidInput(
                f"the evaluation data lacks feature column(s) {', '.join(absent)} named in "
                f"[models.{policy.model}] features"
            )
        return data[list(policy.features)]
    for names in (
        getattr(getattr(model, "signature", None), "columns", None),  # a modeldeck Predictor
        getattr(model, "feature_names_in_", None),  # a scikit-learn estimator
    ):
        if names is not None:
            wanted = [str(n) for n in names]
            if wanted and all(n in data.columns for n in wanted):
                return data[wanted]
    return data.drop(columns=[policy.label])


def call(model: object, method: str, frame: pd.DataFrame, who: str) -> Any:
    try:
        return getattr(model, method)(frame)
    except Exception as exc:
        raise PredictionFailed(
            f"{who}: {method} failed on the evaluation data: {type(exc).__name__}: {exc}"
        ) from exc


def score(model: object, data: pd.DataFrame, policy: Policy, task: str, who: str) -> Predictions:
    """Predict once over the whole data; slices reuse these predictions."""
    labels = label_values(data, policy)
    features = feature_frame(model, data, policy)
    y_true = _label_array(labels)
    y_pred = _one_per_row(call(model, "predict", features, who), len(features), who)
    if task == REGRESSION:
        try:
            return Predictions(task, y_true.astype(float), y_pred.astype(float))
        except (TypeError, ValueError) as exc:
            raise PredictionFailed(f"{who}: predict returned non-numbers: {exc}") from exc
    classes, proba, problem = _class_scores(model, features, y_true, y_pred, who)
    positive = _positive(policy, classes)
    return Predictions(task, y_true, y_pred, proba, classes, positive, problem)


def _label_array(labels: pd.Series) -> np.ndarray:
    from pandas.api.types import is_bool_dtype, is_float_dtype, is_integer_dtype

    if is_bool_dtype(labels):
        return labels.to_numpy(dtype=bool)
    if is_integer_dtype(labels):
        return labels.to_numpy(dtype="int64")
    if is_float_dtype(labels):
        return labels.to_numpy(dtype=float)
    return labels.to_numpy(dtype=object)


def _one_per_row(output: Any, rows: int, who: str) -> np.ndarray:
    import numpy as np

    values = np.asarray(output)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values.ravel()
    if values.shape != (rows,):
        raise PredictionFailed(
            f"{who}: predict returned shape {values.shape}; expected one value per row ({rows},)"
        )
    return values


def _class_scores(
    model: object, features: pd.DataFrame, y_true: np.ndarray, y_pred: np.ndarray, who: str
) -> tuple[tuple[Any, ...], np.ndarray | None, str | None]:
    import numpy as np

    observed = _sorted_unique([*y_true.tolist(), *y_pred.tolist()])
    if not hasattr(model, "predict_proba"):
        return tuple(observed), None, f"{type(model).__name__} has no predict_proba"
    raw = call(model, "predict_proba", features, who)
    columns = [*raw.columns] if hasattr(raw, "columns") else None
    known = getattr(model, "classes_", None)
    if known is not None:
        classes = list(np.asarray(known).tolist())
    elif columns is not None and set(observed) <= set(columns):
        classes = columns
    else:
        classes = observed
    proba = np.asarray(raw, dtype=float)
    if len(classes) == 2 and (proba.ndim == 1 or proba.shape[1:] == (1,)):
        positive = proba.ravel()  # one column: the probability of the positive class
        proba = np.column_stack([1.0 - positive, positive])
    if proba.shape != (len(features), len(classes)):
        problem = f"predict_proba returned shape {proba.shape} for {len(classes)} classes"
        return tuple(classes), None, problem
    return tuple(classes), proba, None


def _sorted_unique(values: list[Any]) -> list[Any]:
    unique = list(dict.fromkeys(values))
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


def _positive(policy: Policy, classes: tuple[Any, ...]) -> Any:
    wanted = policy.positive_label
    if wanted is None:
        return classes[-1] if len(classes) == 2 else None
    for c in classes:
        if c == wanted or str(c) == str(wanted):
            return c
    raise InvalidInput(
        f"positive_label {wanted!r} of [models.{policy.model}] is not one of the classes "
        f"{list(classes)}"
    )
