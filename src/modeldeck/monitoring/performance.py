"""How well a model did once the true labels arrive: the task's metrics, from sklearn.

Every function returns a flat ``{name: value}`` mapping with ``rows`` (the pairs scored) and
``None`` for a metric that is not defined on the data (AUC with one class present, R² on one
row, anything on no rows), so a monitor can store and alert on it without special cases.

Labels come from two places that spell them differently: predictions logged as JSON, and
ground truth loaded from wherever the user keeps it. When the labels, the predictions and
``classes`` are all numbers (or all text, or all booleans) they are compared as they are;
when the kinds differ (label ``"1"``, prediction ``1``) every one of them is compared as
text, with whole floats written as integers (``1.0`` → ``"1"``) so ``"1"``, ``1`` and ``1.0``
agree. Booleans count as numbers (``True == 1``) and are written ``True``/``False`` as text.
A pair with a missing label or prediction (None, NaN) is left out: the row was not scored.

Classification: with two classes, precision, recall and F1 are those of the positive class,
the last of ``classes`` (the model's class order; ``predict_proba`` column order) or else the
largest label. With more, they are macro averages. Probabilities are columns in ``classes``
order (or sorted label order when ``classes`` is not given).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from modeldeck.core.errors import InvalidInput

TASKS = ("classification", "regression")
CLASSIFICATION_METRICS = ("accuracy", "f1", "precision", "recall", "auc", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")

Metrics = dict[str, float | None]


def task_metrics(
    task: str,
    y_true: Sequence[Any] | NDArray[Any],
    y_pred: Sequence[Any] | NDArray[Any],
    proba: Sequence[Any] | NDArray[Any] | None = None,
    classes: Sequence[Any] | None = None,
) -> Metrics:
    """The metrics of ``task`` (``classification`` or ``regression``)."""
    if task == "classification":
        return classification_metrics(y_true, y_pred, proba, classes)
    if task == "regression":
        return regression_metrics(y_true, y_pred)
    raise InvalidInput(f"unknown task {task!r}; use one of {', '.join(TASKS)}")


def classification_metrics(
    y_true: Sequence[Any] | NDArray[Any],
    y_pred: Sequence[Any] | NDArray[Any],
    proba: Sequence[Any] | NDArray[Any] | None = None,
    classes: Sequence[Any] | None = None,
) -> Metrics:
    """accuracy, f1, precision, recall, auc, log_loss (None without ``proba``) and rows."""
    import pandas as pd
    from sklearn import metrics

    truth, pred = _pair(y_true, y_pred)
    probs = None if proba is None else _proba(proba, len(truth))
    classes_list = None if classes is None else list(classes)
    if classes_list is not None and not classes_list:
        raise InvalidInput("classes is empty; pass the model's class labels or None")
    keep = ~(_missing(truth) | _missing(pred))
    truth, pred = truth[keep], pred[keep]
    if probs is not None:
        probs = probs[keep]
    out: Metrics = dict.fromkeys(CLASSIFICATION_METRICS)
    out["rows"] = len(truth)
    if len(truth) == 0:
        return out

    truth, pred, class_arr = _normalise(truth, pred, classes_list)
    names = np.sort(pd.unique(np.concatenate([truth, pred, class_arr])))  # sklearn's order
    if class_arr.size:
        if pd.unique(class_arr).size != class_arr.size:
            raise InvalidInput(f"classes {classes_list!r} repeat a label")
        positive_name = class_arr[-1]
    else:
        positive_name = max(names.tolist(), key=_natural)
    # sklearn sorts labels over and over; sorting a million strings is seconds, so it gets
    # integer codes in the same order (a hashed lookup) and the names stay here
    index = pd.Index(names)
    truth, pred = index.get_indexer(truth), index.get_indexer(pred)
    class_codes = index.get_indexer(class_arr)
    labels = np.arange(names.size)
    positive = int(index.get_loc(positive_name))
    binary = labels.size <= 2
    scores = {"zero_division": 0}
    average: dict[str, Any] = (
        {"average": "binary", "pos_label": positive}
        if binary
        else {"average": "macro", "labels": labels}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined metrics are reported as None, not warned
        out["accuracy"] = _finite(metrics.accuracy_score(truth, pred))
        out["precision"] = _finite(metrics.precision_score(truth, pred, **average, **scores))
        out["recall"] = _finite(metrics.recall_score(truth, pred, **average, **scores))
        out["f1"] = _finite(metrics.f1_score(truth, pred, **average, **scores))
        if probs is not None:
            out.update(_probability_metrics(truth, probs, class_codes, labels, positive, names))
    return out


def _probability_metrics(
    truth: NDArray[Any],
    probs: NDArray[np.float64],
    class_arr: NDArray[Any],
    labels: NDArray[Any],
    positive: Any,
    names: NDArray[Any],
) -> Metrics:
    """auc and log_loss; the columns of ``probs`` follow ``classes`` (or sorted labels).
    Labels are codes into ``names``."""
    from sklearn import metrics

    columns = class_arr if class_arr.size else labels
    if probs.ndim == 2 and probs.shape[1] != columns.size:
        where = "classes" if class_arr.size else "labels seen (pass classes)"
        raise InvalidInput(
            f"probabilities have {probs.shape[1]} columns but there are {columns.size} "
            f"{where}: {names[columns].tolist()!r}"
        )
    if not np.isin(truth, columns).all():
        return {"auc": None, "log_loss": None}  # a label the model has no probability for
    if probs.ndim == 1:
        if columns.size > 2:
            raise InvalidInput(
                "probabilities of a multiclass model must be one row of class probabilities "
                "per prediction (rows x classes), got one number per row"
            )
        positive_p = probs
        full = np.column_stack([1.0 - probs, probs])
        if columns.size == 2:  # column 1 is the positive class: put them in ``columns`` order
            full = full if columns[1] == positive else full[:, ::-1]
    else:
        full = probs
        positive_p = probs[:, columns.tolist().index(positive)]
    if columns.size < 2:
        return {"auc": None, "log_loss": None}
    # sklearn wants the columns in sorted label order
    order = np.argsort(columns, kind="stable")
    sorted_cols = columns[order]
    full = full[:, order]
    auc: float | None = None
    if np.unique(truth).size >= 2:
        if columns.size == 2:
            auc = _finite(metrics.roc_auc_score(truth == positive, positive_p))
        else:
            try:
                auc = _finite(
                    metrics.roc_auc_score(
                        truth, full, multi_class="ovr", average="macro", labels=sorted_cols
                    )
                )
            except ValueError:  # rows that do not sum to 1: sklearn refuses, so do we
                auc = None
    loss = _finite(metrics.log_loss(truth, full, labels=sorted_cols))
    return {"auc": auc, "log_loss": loss}


def regression_metrics(
    y_true: Sequence[Any] | NDArray[Any], y_pred: Sequence[Any] | NDArray[Any]
) -> Metrics:
    """rmse, mae, r2 (None below 2 rows) and rows; pairs with a missing value are left out."""
    from sklearn import metrics

    truth, pred = _pair(y_true, y_pred)
    truth_f, pred_f = _floats(truth, "labels"), _floats(pred, "predictions")
    keep = ~(np.isnan(truth_f) | np.isnan(pred_f))
    truth_f, pred_f = truth_f[keep], pred_f[keep]
    out: Metrics = dict.fromkeys(REGRESSION_METRICS)
    out["rows"] = len(truth_f)
    if len(truth_f) == 0:
        return out
    out["rmse"] = _finite(math.sqrt(metrics.mean_squared_error(truth_f, pred_f)))
    out["mae"] = _finite(metrics.mean_absolute_error(truth_f, pred_f))
    if len(truth_f) >= 2:
        out["r2"] = _finite(metrics.r2_score(truth_f, pred_f))
    return out


def extract_outputs(
    outputs: Sequence[Mapping[str, Any]], classes: Sequence[Any] | None
) -> tuple[NDArray[Any], NDArray[np.float64] | None]:
    """Predictions and class probabilities from logged prediction outputs
    (``{"prediction": 1, "probabilities": [0.2, 0.8]}``).

    Probabilities are a list in ``classes`` order or a mapping of class label to probability
    (ordered by ``classes``). A row without a ``prediction`` but with probabilities gets the
    most probable class. The probability array is returned only when every row has
    probabilities, all finite and of one length (``len(classes)`` when given); otherwise it is
    None, since the metrics need one per labelled row.
    """
    class_list = None if classes is None else list(classes)
    predictions: list[Any] = []
    rows: list[list[float]] | None = []
    for i, output in enumerate(outputs):
        if not isinstance(output, Mapping):
            raise InvalidInput(
                f"prediction output {i} must be a mapping such as "
                f"{{'prediction': 1, 'probabilities': [0.2, 0.8]}}, got {output!r}"
            )
        row = _probability_row(output.get("probabilities"), class_list, i)
        prediction = output.get("prediction")
        if prediction is None and row is not None and class_list is not None:
            prediction = class_list[int(np.argmax(row))]
        predictions.append(prediction)
        if row is None or rows is None:
            rows = None
        else:
            rows.append(row)
    probs: NDArray[np.float64] | None = None
    if rows:
        width = len(rows[0]) if class_list is None else len(class_list)
        if all(len(r) == width for r in rows):
            probs = np.asarray(rows, dtype=np.float64)
            if not np.isfinite(probs).all():
                probs = None
    return _tidy(predictions), probs


def _probability_row(value: Any, classes: list[Any] | None, i: int) -> list[float] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        if classes is None:
            raise InvalidInput(
                f"prediction output {i} gives probabilities by class; pass classes to order them"
            )
        by_text = {str(k): v for k, v in value.items()}
        picked = [by_text.get(_text(c)) for c in classes]
        if any(p is None for p in picked):
            return None
        value = picked
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise InvalidInput(
            f"prediction output {i}: probabilities must be a list of numbers, got {value!r}"
        )
    try:
        row = [math.nan if p is None else float(p) for p in value]
    except (TypeError, ValueError):
        raise InvalidInput(
            f"prediction output {i}: probabilities must be numbers, got {value!r}"
        ) from None
    if classes is not None and len(row) != len(classes):
        raise InvalidInput(
            f"prediction output {i} has {len(row)} probabilities but the model has "
            f"{len(classes)} classes {classes!r}"
        )
    return row


# --- labels --------------------------------------------------------------------------------


def _pair(y_true: Any, y_pred: Any) -> tuple[NDArray[Any], NDArray[Any]]:
    truth, pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if len(truth) != len(pred):
        raise InvalidInput(
            f"y_true has {len(truth)} values but y_pred has {len(pred)}; pass one prediction "
            "per label, in the same order"
        )
    return truth, pred


def _labels(values: Any, name: str) -> NDArray[Any]:
    if isinstance(values, str | bytes) or values is None:
        raise InvalidInput(f"{name} must be a sequence of values, got {values!r}")
    # lists go through object arrays: np.asarray([1, "a"]) would quietly make both text
    array = np.asarray(values) if hasattr(values, "dtype") else np.asarray(values, dtype=object)
    if array.ndim != 1:
        array = np.asarray(list(values), dtype=object)
        if array.ndim != 1:
            raise InvalidInput(f"{name} must be one value per row, got shape {array.shape}")
    return array


def _proba(proba: Any, rows: int) -> NDArray[np.float64]:
    try:
        probs = np.asarray(proba, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput("probabilities must be numbers (rows x classes)") from None
    if probs.ndim not in (1, 2) or probs.shape[0] != rows:
        raise InvalidInput(
            f"probabilities must have one row per label ({rows}), got shape {probs.shape}"
        )
    if not np.isfinite(probs).all():
        raise InvalidInput("probabilities hold missing or infinite values")
    return probs


def _missing(values: NDArray[Any]) -> NDArray[np.bool_]:
    if values.dtype.kind == "f":
        nan: NDArray[np.bool_] = np.isnan(values)
        return nan
    if values.dtype.kind != "O":
        return np.zeros(values.shape, dtype=bool)
    import pandas as pd

    return np.asarray(pd.isna(values), dtype=bool)


def _kind(values: NDArray[Any]) -> str:
    """``number``, ``text`` or ``mixed``, from the dtype or pandas' C-speed type inference."""
    if values.dtype.kind in "fiub":
        return "number"
    if values.dtype.kind == "U":
        return "text"
    import pandas as pd

    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred in ("integer", "floating", "mixed-integer-float", "boolean"):
        return "number"
    if inferred in ("string", "empty"):
        return "text"
    return "mixed"


def _text(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_text(values: NDArray[Any]) -> NDArray[Any]:
    if values.dtype.kind == "f":
        whole = np.isfinite(values) & (values == np.floor(values))
        text = values.astype(str).astype(object)
        text[whole] = values[whole].astype(np.int64).astype(str)
        return text
    if values.dtype.kind in "iubU":
        return values.astype(str).astype(object)
    out = np.empty(len(values), dtype=object)
    out[:] = [_text(v) for v in values.tolist()]  # mixed objects: nothing vectorises
    return out


def _normalise(
    truth: NDArray[Any], pred: NDArray[Any], classes: list[Any] | None
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """The three as comparable arrays: numbers as floats, text as text, mixed kinds as text."""
    class_arr = np.empty(len(classes or []), dtype=object)
    class_arr[:] = classes or []
    arrays = (truth, pred, class_arr)
    kinds = {_kind(a) for a in arrays if a.size}
    if kinds == {"number"}:
        converted = [a.astype(np.float64) for a in arrays]
    elif kinds == {"text"}:
        converted = [a.astype(str).astype(object) for a in arrays]
    else:
        converted = [_as_text(a) for a in arrays]
    return converted[0], converted[1], converted[2]


def _natural(value: Any) -> tuple[int, Any]:
    """Text that reads as a number sorts as that number: "10" after "9"."""
    if isinstance(value, str):
        try:
            return (0, float(value))
        except ValueError:
            return (1, value)
    return (0, value)


def _floats(values: NDArray[Any], name: str) -> NDArray[np.float64]:
    if values.dtype.kind in "fiub":
        return values.astype(np.float64)
    import pandas as pd

    missing = _missing(values)
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    out = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(out) & ~missing
    if bad.any():
        raise InvalidInput(f"{name} must be numbers for regression, got {values[bad.argmax()]!r}")
    return out


def _tidy(values: list[Any]) -> NDArray[Any]:
    """Numbers as a numeric array (NaN for missing), anything else as objects."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        if len(present) == len(values) and all(isinstance(v, int) for v in present):
            return np.asarray(values, dtype=np.int64)
        return np.asarray([math.nan if v is None else v for v in values], dtype=np.float64)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None
