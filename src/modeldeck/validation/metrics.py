"""The metrics a policy may name, and computing them from a model's predictions.

Each metric belongs to one task and knows its direction, so an "improvement" of ``log_loss``
or ``rmse`` means a lower value. Binary classifiers are scored on the probability of the
positive class where a metric needs scores (``auc``, ``log_loss``, ``brier``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    task: str
    higher_is_better: bool
    needs_proba: bool = False


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("auc", CLASSIFICATION, True, needs_proba=True),
        Metric("accuracy", CLASSIFICATION, True),
        Metric("f1", CLASSIFICATION, True),
        Metric("precision", CLASSIFICATION, True),
        Metric("recall", CLASSIFICATION, True),
        Metric("log_loss", CLASSIFICATION, False, needs_proba=True),
        Metric("brier", CLASSIFICATION, False, needs_proba=True),
        Metric("rmse", REGRESSION, False),
        Metric("mae", REGRESSION, False),
        Metric("r2", REGRESSION, True),
        Metric("mape", REGRESSION, False),
    )
}


def metric_names(task: str | None = None) -> list[str]:
    """Known metric names, for one task or (``None``) for both."""
    return [name for name, m in METRICS.items() if task is None or m.task == task]


class MetricUndefined(Exception):
    """A metric that cannot be computed on these predictions (one class only, no scores, ...)."""


@dataclass(frozen=True)
class Predictions:
    """What one model predicted on evaluation data, lined up with the true labels.

    ``proba`` has one column per entry of ``classes`` (classification with ``predict_proba``);
    ``proba_problem`` says why it is missing when the model has scores that cannot be used.
    """

    task: str
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None = None
    classes: tuple[Any, ...] = ()
    positive: Any = None
    proba_problem: str | None = None

    @property
    def is_binary(self) -> bool:
        return len(self.classes) == 2

    def positive_scores(self) -> np.ndarray:
        """Probability of the positive class (binary classifiers only)."""
        if self.proba is None:
            raise MetricUndefined(self.proba_problem or "the model has no predict_proba")
        if not self.is_binary:
            raise MetricUndefined(f"needs a binary label, found {len(self.classes)} classes")
        return self.proba[:, self.classes.index(self.positive)]

    def positive_truth(self) -> np.ndarray:
        import numpy as np

        return np.asarray(self.y_true == self.positive, dtype=bool)

    def subset(self, mask: np.ndarray) -> Predictions:
        proba = None if self.proba is None else self.proba[mask]
        return Predictions(
            self.task,
            self.y_true[mask],
            self.y_pred[mask],
            proba,
            self.classes,
            self.positive,
            self.proba_problem,
        )


def compute_metric(name: str, preds: Predictions) -> float:
    """One metric's value; raises ``MetricUndefined`` with the reason when there is none."""
    metric = METRICS[name]
    if metric.task != preds.task:
        raise MetricUndefined(f"{name} is a {metric.task} metric; this is a {preds.task} model")
    if len(preds.y_true) == 0:
        raise MetricUndefined("no rows")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = float(_COMPUTE[name](preds))
        except ValueError as exc:
            raise MetricUndefined(str(exc).splitlines()[0]) from exc
    if math.isnan(value):
        raise MetricUndefined(f"{name} is undefined on these {len(preds.y_true)} rows")
    return value


def compute_metrics(preds: Predictions) -> dict[str, float]:
    """Every metric of the task; NaN where one is undefined."""
    out: dict[str, float] = {}
    for name in metric_names(preds.task):
        try:
            out[name] = compute_metric(name, preds)
        except MetricUndefined:
            out[name] = math.nan
    return out


def _auc(p: Predictions) -> float:
    from sklearn.metrics import roc_auc_score

    truth = p.positive_truth() if p.is_binary else p.y_true
    if len(set(truth.tolist())) < 2:
        raise MetricUndefined("auc needs both classes among the rows; only one is present")
    if p.is_binary:
        return float(roc_auc_score(truth, p.positive_scores()))
    if p.proba is None:
        raise MetricUndefined(p.proba_problem or "the model has no predict_proba")
    return float(roc_auc_score(p.y_true, p.proba, multi_class="ovr", labels=list(p.classes)))


def _log_loss(p: Predictions) -> float:
    from sklearn.metrics import log_loss

    if p.proba is None:
        raise MetricUndefined(p.proba_problem or "the model has no predict_proba")
    return float(log_loss(p.y_true, p.proba, labels=list(p.classes)))


def _brier(p: Predictions) -> float:
    from sklearn.metrics import brier_score_loss

    return float(brier_score_loss(p.positive_truth(), p.positive_scores()))


def _averaged(fn_name: str) -> Callable[[Predictions], float]:
    def compute(p: Predictions) -> float:
        import sklearn.metrics

        fn = getattr(sklearn.metrics, fn_name)
        if p.is_binary:
            return float(fn(p.y_true, p.y_pred, pos_label=p.positive, zero_division=0))
        labels = list(p.classes)
        return float(fn(p.y_true, p.y_pred, labels=labels, average="macro", zero_division=0))

    return compute


def _regression(fn_name: str) -> Callable[[Predictions], float]:
    def compute(p: Predictions) -> float:
        import sklearn.metrics

        if fn_name == "r2_score" and len(p.y_true) < 2:
            raise MetricUndefined("r2 needs at least two rows")
        fn = getattr(sklearn.metrics, fn_name)
        return float(fn(p.y_true.astype(float), p.y_pred.astype(float)))

    return compute


def _accuracy(p: Predictions) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(p.y_true, p.y_pred))


_COMPUTE: dict[str, Callable[[Predictions], float]] = {
    "auc": _auc,
    "accuracy": _accuracy,
    "f1": _averaged("f1_score"),
    "precision": _averaged("precision_score"),
    "recall": _averaged("recall_score"),
    "log_loss": _log_loss,
    "brier": _brier,
    "rmse": _regression("root_mean_squared_error"),
    "mae": _regression("mean_absolute_error"),
    "r2": _regression("r2_score"),
    "mape": _regression("mean_absolute_percentage_error"),
}
assert set(_COMPUTE) == set(METRICS)
