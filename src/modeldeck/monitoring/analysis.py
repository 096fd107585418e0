"""One window's analysis: feature drift, prediction drift, data quality and performance,
flattened into the metrics rules read and the detail a report draws.

The reference is a version's training rows (:mod:`modeldeck.monitoring.references`); the
current data is what the prediction log holds for the window, or a batch a user hands in.
Every value that goes into ``metrics`` or ``detail`` is plain JSON (NaN becomes None).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from modeldeck.core.errors import InvalidInput
from modeldeck.monitoring import drift

if TYPE_CHECKING:
    import pandas as pd

    from modeldeck.models.signature import Signature
    from modeldeck.monitoring.sources import Source

CHART_BINS = 20
CHART_CATEGORIES = 20
PREDICTION = "prediction"


@dataclass(frozen=True)
class ReferenceData:
    """A version's reference, loaded: ``frame`` holds the signature's input columns,
    ``scores`` the model's outputs on them as prediction drift compares them."""

    model: str
    version: int
    frame: pd.DataFrame
    scores: pd.Series | None
    profile: Mapping[str, Any]
    signature: Signature | None
    task: str | None
    classes: tuple[Any, ...] | None
    description: str


@dataclass(frozen=True)
class Settings:
    """A monitor's drift settings, from the ``config`` of a Monitor."""

    share_threshold: float = drift.SHARE_THRESHOLD
    methods: Mapping[str, str] | None = None
    thresholds: Mapping[str, float] | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        return cls(
            share_threshold=float(config.get("share_threshold", drift.SHARE_THRESHOLD)),
            methods=config.get("methods") or None,
            thresholds=config.get("thresholds") or None,
        )


def task_of(signature: Signature | None) -> tuple[str | None, tuple[Any, ...] | None]:
    """("classification", classes) when the model's output lists classes, else regression
    for numeric outputs, else None."""
    if signature is None or signature.outputs is None:
        return None, None
    if signature.outputs.classes:
        return "classification", tuple(signature.outputs.classes)
    if signature.outputs.type in ("integer", "double"):
        return "regression", None
    return None, None


def scores_of(
    predictions: Sequence[Any], probabilities: Any, task: str | None, classes: Sequence[Any] | None
) -> pd.Series:
    """What prediction drift compares: the probability of the positive class for a binary
    classifier (a number, so small shifts show), the predicted label for other classifiers,
    the predicted value for a regressor."""
    import pandas as pd

    if (
        task == "classification"
        and classes is not None
        and len(classes) == 2
        and probabilities is not None
    ):
        proba = np.asarray(probabilities, dtype=np.float64)
        if proba.ndim == 2 and proba.shape[1] == 2:
            return pd.Series(proba[:, 1], name=PREDICTION)
    if task == "regression":
        return pd.Series(
            pd.to_numeric(pd.Series(list(predictions)), errors="coerce"), name=PREDICTION
        )
    return pd.Series(
        [None if p is None else str(p) for p in predictions], dtype=object, name=PREDICTION
    )


def frame_from_inputs(
    inputs: Sequence[Mapping[str, Any]], reference: ReferenceData
) -> pd.DataFrame:
    """Logged inputs (JSON values) as a frame typed like the reference: numbers as floats,
    everything else as text; a column the requests lacked is all missing."""
    import pandas as pd

    frame = pd.DataFrame.from_records(list(inputs)) if inputs else pd.DataFrame()
    columns: dict[str, Any] = {}
    for name in reference.frame.columns:
        values = frame[name] if name in frame.columns else pd.Series([None] * len(frame))
        columns[name] = _like(values, reference.frame[name])
    return pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))


def _like(values: pd.Series, reference: pd.Series) -> pd.Series:
    import pandas as pd
    from pandas.api import types

    if types.is_numeric_dtype(reference.dtype) and not types.is_bool_dtype(reference.dtype):
        return pd.to_numeric(values, errors="coerce").astype("float64")
    return values.map(
        lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    ).astype(object)


def analyse(
    reference: ReferenceData,
    current: pd.DataFrame | Source,
    scores: pd.Series | None,
    settings: Settings,
) -> tuple[dict[str, float | None], dict[str, Any]]:
    """Drift, prediction drift and quality of ``current`` (a frame, or a :class:`Source`
    read column by column and chunk by chunk) against ``reference``."""
    import pandas as pd

    from modeldeck.monitoring.sources import FrameSource

    data: Source = FrameSource(current) if isinstance(current, pd.DataFrame) else current
    rows = data.rows()
    metrics: dict[str, float | None] = {"rows": float(rows)}
    columns: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    methods, thresholds = dict(settings.methods or {}), dict(settings.thresholds or {})
    present = set(data.columns)
    drifted = compared = 0
    for name in reference.frame.columns:
        try:
            if name not in present:
                raise InvalidInput(f"column {name!r} is missing from the current data")
            result, column = _compare(
                _plain(reference.frame[name]), data, name, methods.get(name), thresholds.get(name)
            )
        except InvalidInput as problem:
            errors[name] = str(problem)
            continue
        compared += 1
        drifted += result.drifted
        metrics[f"drift_score.{name}"] = _finite(result.score)
        metrics[f"drifted.{name}"] = float(result.drifted)
        columns.append(column)
    share = drifted / compared if compared else None
    metrics["drift_share"] = share
    metrics["drifted_columns"] = float(drifted)
    metrics["dataset_drift"] = None if share is None else float(share >= settings.share_threshold)

    prediction: dict[str, Any] | None = None
    if reference.scores is not None and scores is not None:
        try:
            result = drift.column_drift(_plain(reference.scores), scores, column=PREDICTION)
        except InvalidInput as problem:
            errors[PREDICTION] = str(problem)
        else:
            prediction = _column(result, _plain(reference.scores), scores)
            metrics["prediction_drift"] = float(result.drifted)
            metrics["prediction_drift_score"] = _finite(result.score)

    quality = _quality(reference, data)
    metrics.update({k: _finite(v) for k, v in quality.metrics().items()})
    detail = {
        "columns": columns,
        "prediction": prediction,
        "quality": [
            {
                "column": issue.column,
                "kind": issue.kind,
                "count": issue.count,
                "share": _finite(issue.share),
                "detail": issue.detail,
            }
            for issue in quality.issues
        ],
        "errors": errors,
        "share_threshold": settings.share_threshold,
    }
    return metrics, detail


def performance(
    task: str | None,
    classes: Sequence[Any] | None,
    outputs: Sequence[Mapping[str, Any]],
    labels: Sequence[Any],
) -> dict[str, float | None]:
    """The task's metrics over the rows that have a label (``labels`` holds None for the
    others), plus ``label_coverage``."""
    from modeldeck.monitoring.performance import extract_outputs, task_metrics

    rows = len(outputs)
    have = [i for i, label in enumerate(labels) if label is not None]
    coverage = len(have) / rows if rows else None
    if task is None:
        return {"label_coverage": coverage}
    chosen = [outputs[i] for i in have]
    predicted, proba = extract_outputs(chosen, classes)
    truth = [labels[i] for i in have]
    computed = task_metrics(task, truth, predicted, proba, classes)
    out: dict[str, float | None] = {k: _finite(v) for k, v in computed.items() if k != "rows"}
    out["labeled"] = float(len(have))
    out["label_coverage"] = coverage
    return out


def _plain(series: Any) -> Any:
    """Categoricals as text, so reference and current values compare as equals."""
    import pandas as pd

    if isinstance(series, pd.Series) and isinstance(series.dtype, pd.CategoricalDtype):
        return series.astype(object).where(series.notna(), None)
    return series


def _compare(
    reference: Any, data: Source, name: str, method: str | None, threshold: float | None
) -> tuple[drift.ColumnDrift, dict[str, Any]]:
    """One column's verdict: numbers are compared whole (one column in memory at a time),
    anything else by its value counts, which a chunked or Dask source computes without
    holding the rows; both sides' values count as text, as logged JSON holds them."""
    import pandas as pd
    from pandas.api import types

    ref_numeric = types.is_numeric_dtype(reference.dtype) and not types.is_bool_dtype(
        reference.dtype
    )
    if ref_numeric and data.is_numeric(name):
        current = data.column(name)
        result = drift.column_drift(
            reference, current, method=method, threshold=threshold, column=name
        )
        return result, _column(result, reference, current)
    ref_counts = _text_counts(pd.Series(reference).value_counts(dropna=True, sort=False).items())
    cur_counts = _text_counts(data.counts(name).items())
    result = drift.counts_drift(
        ref_counts, cur_counts, method=method, threshold=threshold, column=name
    )
    labels = [k for k, _ in sorted(ref_counts.items(), key=lambda kv: -kv[1])][:CHART_CATEGORIES]
    seen = set(labels)
    labels += [k for k, _ in sorted(cur_counts.items(), key=lambda kv: -kv[1]) if k not in seen][
        : CHART_CATEGORIES - len(labels)
    ]
    rows = data.rows()
    column = _verdict(result) | {
        "distribution": {
            "kind": "categorical",
            "labels": labels,
            "reference": [ref_counts.get(k, 0) for k in labels],
            "current": [cur_counts.get(k, 0) for k in labels],
        },
        "reference_summary": _summary("categorical", reference),
        "current_summary": {
            "rows": rows,
            "missing": _finite(1 - sum(cur_counts.values()) / rows) if rows else None,
            "distinct": len(cur_counts),
            **({"top": max(cur_counts, key=cur_counts.__getitem__)} if cur_counts else {}),
        },
    }
    return result, column


def _text_counts(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for value, count in items:
        if int(count) > 0:
            key = str(value)
            out[key] = out.get(key, 0) + int(count)
    return out


def _quality(reference: ReferenceData, data: Source) -> Any:
    from modeldeck.monitoring.quality import QualityAccumulator

    present = set(data.columns)
    wanted = [c for c in reference.frame.columns if c in present]
    signature = reference.signature
    if signature is not None:
        wanted += [c for c in signature.columns if c in present and c not in wanted]
    accumulator = QualityAccumulator(reference.profile, signature)
    for chunk in data.chunks(wanted):
        accumulator.update(chunk)
    return accumulator.result()


def _verdict(result: drift.ColumnDrift) -> dict[str, Any]:
    return {
        "name": result.column,
        "kind": result.kind,
        "method": result.method,
        "score": _finite(result.score),
        "threshold": result.threshold,
        "drifted": result.drifted,
    }


def _column(result: drift.ColumnDrift, reference: Any, current: Any) -> dict[str, Any]:
    return _verdict(result) | {
        "distribution": _distribution(result.kind, reference, current),
        "reference_summary": _summary(result.kind, reference),
        "current_summary": _summary(result.kind, current),
    }


def _distribution(kind: str, reference: Any, current: Any) -> dict[str, Any]:
    import pandas as pd

    if kind == "numeric":
        ref = _finite_values(reference)
        cur = _finite_values(current)
        if ref.size == 0:
            return {"kind": kind}
        edges = np.histogram_bin_edges(ref, bins=CHART_BINS)
        ref_counts, _ = np.histogram(ref, edges)
        cur_counts, _ = np.histogram(np.clip(cur, edges[0], edges[-1]), edges)
        return {
            "kind": kind,
            "edges": [float(e) for e in edges],
            "reference": ref_counts.tolist(),
            "current": cur_counts.tolist(),
        }
    ref_freq = pd.Series(reference, dtype=object).dropna().astype(str).value_counts()
    cur_freq = pd.Series(current, dtype=object).dropna().astype(str).value_counts()
    labels = [str(c) for c in ref_freq.index[:CHART_CATEGORIES]]
    seen = set(labels)
    labels += [str(c) for c in cur_freq.index if c not in seen][: CHART_CATEGORIES - len(labels)]
    return {
        "kind": kind,
        "labels": labels,
        "reference": [int(ref_freq.get(label, 0)) for label in labels],
        "current": [int(cur_freq.get(label, 0)) for label in labels],
    }


def _summary(kind: str, values: Any) -> dict[str, Any]:
    import pandas as pd

    series = pd.Series(values)
    out: dict[str, Any] = {
        "rows": len(series),
        "missing": _finite(float(series.isna().mean())) if len(series) else None,
    }
    if kind == "numeric":
        present = _finite_values(series)
        if present.size:
            out |= {
                "mean": _finite(present.mean()),
                "std": _finite(present.std(ddof=1)) if present.size > 1 else 0.0,
                "min": _finite(present.min()),
                "max": _finite(present.max()),
            }
    else:
        counts = series.dropna().astype(str).value_counts()
        out["distinct"] = len(counts)
        if len(counts):
            out["top"] = str(counts.index[0])
    return out


def _finite_values(values: Any) -> Any:
    import pandas as pd

    array = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    return array[np.isfinite(array)]


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
