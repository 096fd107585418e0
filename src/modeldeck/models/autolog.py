"""Automatic logging of scikit-learn fits: params, training metrics and the fitted model.

``enable`` replaces ``fit`` on every scikit-learn estimator class (and the base classes that
define it, such as ``BaseSearchCV``) with a wrapper. Only the outermost ``fit`` inside an
active run logs: the fits a pipeline makes of its steps, or a grid search of its candidates,
run while an outer fit is in progress and pass straight through. Logging never breaks a fit:
a failure to log is a warning. ``disable`` puts the original methods back.

The SDK layer supplies ``find_run``, which returns something to log to (the active run) or
None, so this module needs no client.
"""

from __future__ import annotations

import functools
import math
import re
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

MAX_PARAM_LENGTH = 500
MAX_PARAMS = 500
_NAMED_LISTS = ("steps", "transformers", "transformer_list", "estimators")
_KEY_CHARS = re.compile(r"[^A-Za-z0-9_\-./ :]")


class RunLogger(Protocol):
    """Where autologged values go: the run that was active when the outermost fit began."""

    def log_params(self, params: Mapping[str, str]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float]) -> None: ...

    def log_model(self, model: Any, input_example: Any) -> None: ...


@dataclass(frozen=True)
class _Config:
    find_run: Callable[[], RunLogger | None]
    log_models: bool


_lock = threading.Lock()
_config: _Config | None = None
_patched: dict[type, Callable[..., Any]] = {}  # class -> its original fit
_local = threading.local()
_outer_fits = 0  # outermost fits in progress, in any thread


def enable(find_run: Callable[[], RunLogger | None], *, log_models: bool = True) -> None:
    """Patch scikit-learn's ``fit`` methods (once) and log through ``find_run``."""
    global _config
    with _lock:
        _config = _Config(find_run, log_models)
        if not _patched:
            for klass in _fit_classes():
                original = klass.__dict__["fit"]
                _patched[klass] = original
                klass.fit = _wrap(original)  # type: ignore[attr-defined]


def disable() -> None:
    """Restore every patched ``fit``."""
    global _config
    with _lock:
        _config = None
        for klass, original in _patched.items():
            klass.fit = original  # type: ignore[attr-defined]
        _patched.clear()


def is_enabled() -> bool:
    return _config is not None


@functools.cache
def _fit_classes() -> list[type]:
    """scikit-learn classes that define ``fit`` themselves, estimators and their bases."""
    from sklearn.pipeline import Pipeline
    from sklearn.utils.discovery import all_estimators

    found: dict[type, None] = {}
    for _, estimator in [*all_estimators(), ("Pipeline", Pipeline)]:
        for klass in estimator.__mro__:
            if (
                klass.__module__.startswith("sklearn.")
                and callable(klass.__dict__.get("fit"))
                and not isinstance(klass.__dict__["fit"], staticmethod | classmethod)
            ):
                found[klass] = None
    return list(found)


def _wrap(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        global _outer_fits
        config = _config
        depth: int = getattr(_local, "depth", 0)
        if config is None or depth > 0 or _outer_fits > 0:
            return original(self, *args, **kwargs)  # nested, or autolog is off
        run = config.find_run()
        if run is None:
            return original(self, *args, **kwargs)
        with _lock:
            _outer_fits += 1
        _local.depth = 1
        try:
            result = original(self, *args, **kwargs)
            # Still "inside": fits that logging makes (label encoders in the metrics) pass through.
            _log_fit(run, config, self, args, kwargs)
        finally:
            _local.depth = 0
            with _lock:
                _outer_fits -= 1
        return result

    fit.__modeldeck_autolog__ = True  # type: ignore[attr-defined]
    return fit


def _log_fit(
    run: RunLogger, config: _Config, estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    x = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    what = type(estimator).__name__
    _attempt(f"the params of {what}", lambda: run.log_params(collect_params(estimator)))
    _attempt(
        f"the training metrics of {what}",
        lambda: run.log_metrics(training_metrics(estimator, x, y, kwargs.get("sample_weight"))),
    )
    if config.log_models:
        example = x if _is_frame(x) else None
        _attempt(f"the fitted {what}", lambda: run.log_model(estimator, example))


def _attempt(what: str, action: Callable[[], None]) -> None:
    try:
        action()
    except Exception as e:  # autologging must never break the user's fit
        warnings.warn(
            f"modeldeck autolog could not log {what}: {type(e).__name__}: {e}",
            UserWarning,
            stacklevel=4,
        )


# -- params ------------------------------------------------------------------------------------


def collect_params(estimator: Any) -> dict[str, str]:
    """``get_params(deep=False)`` as text, with nested estimators expanded under the names
    scikit-learn itself uses (``model__C``, ``prepare__numeric__strategy``)."""
    out: dict[str, str] = {}
    _collect(estimator, "", out, depth=0)
    if hasattr(estimator, "best_params_"):
        for key, value in dict(estimator.best_params_).items():
            out[_key(f"best_{key}")] = _text(value)
    return dict(list(out.items())[:MAX_PARAMS])


def _collect(estimator: Any, prefix: str, out: dict[str, str], depth: int) -> None:
    if depth > 10 or not hasattr(estimator, "get_params"):
        return
    for key, value in estimator.get_params(deep=False).items():
        name = prefix + key
        if _is_estimator(value):
            out[_key(name)] = type(value).__name__
            _collect(value, f"{name}__", out, depth + 1)
        elif key in _NAMED_LISTS and _is_named_list(value):
            out[_key(name)] = ", ".join(f"{item[0]}={_text(item[1])}" for item in value)
            for item in value:
                if _is_estimator(item[1]):
                    out[_key(prefix + item[0])] = type(item[1]).__name__
                    _collect(item[1], f"{prefix}{item[0]}__", out, depth + 1)
        else:
            out[_key(name)] = _text(value)


def _is_estimator(value: Any) -> bool:
    return hasattr(value, "get_params") and not isinstance(value, type)


def _is_named_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(
        isinstance(item, tuple) and len(item) >= 2 and isinstance(item[0], str) for item in value
    )


def _key(name: str) -> str:
    return _KEY_CHARS.sub("_", name)[:250]


def _text(value: Any) -> str:
    if _is_estimator(value):
        text = type(value).__name__
    elif isinstance(value, float):
        text = repr(value)
    elif callable(value) and hasattr(value, "__qualname__"):
        text = value.__qualname__
    else:
        text = str(value)
    return text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 1] + "…"


# -- metrics -----------------------------------------------------------------------------------


def training_metrics(estimator: Any, x: Any, y: Any, sample_weight: Any = None) -> dict[str, float]:
    """Scores on the training data: accuracy, F1, ROC AUC and log loss for classifiers; R²,
    RMSE and MAE for regressors; ``best_cv_score`` for searches. Nothing without ``y``."""
    from sklearn.base import is_classifier, is_regressor

    metrics: dict[str, float] = {}
    if hasattr(estimator, "best_score_"):
        metrics["best_cv_score"] = float(estimator.best_score_)
    if y is None or x is None:
        return metrics
    if is_classifier(estimator):
        metrics.update(_classifier_metrics(estimator, x, y, sample_weight))
    elif is_regressor(estimator):
        metrics.update(_regressor_metrics(estimator, x, y, sample_weight))
    return {k: v for k, v in metrics.items() if not math.isnan(v)}


def _classifier_metrics(estimator: Any, x: Any, y: Any, weight: Any) -> dict[str, float]:
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    predicted = estimator.predict(x)
    classes = getattr(estimator, "classes_", None)
    if classes is None or np.ndim(classes) != 1:  # multi-output: accuracy only
        return {"training_accuracy": float(accuracy_score(y, predicted, sample_weight=weight))}
    binary = len(classes) == 2
    metrics = {
        "training_accuracy": float(accuracy_score(y, predicted, sample_weight=weight)),
        "training_f1": float(
            f1_score(y, predicted, sample_weight=weight, pos_label=classes[-1])
            if binary
            else f1_score(y, predicted, sample_weight=weight, average="weighted")
        ),
    }
    if callable(getattr(estimator, "predict_proba", None)):
        proba = estimator.predict_proba(x)
        try:
            if binary:
                metrics["training_roc_auc"] = float(
                    roc_auc_score(y, proba[:, 1], sample_weight=weight)
                )
            else:
                metrics["training_roc_auc"] = float(
                    roc_auc_score(y, proba, multi_class="ovr", labels=classes, sample_weight=weight)
                )
            metrics["training_log_loss"] = float(
                log_loss(y, proba, labels=classes, sample_weight=weight)
            )
        except ValueError:  # one class only in y, and the like: leave these out
            pass
    return metrics


def _regressor_metrics(estimator: Any, x: Any, y: Any, weight: Any) -> dict[str, float]:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    predicted = estimator.predict(x)
    return {
        "training_r2": float(r2_score(y, predicted, sample_weight=weight)),
        "training_rmse": math.sqrt(float(mean_squared_error(y, predicted, sample_weight=weight))),
        "training_mae": float(mean_absolute_error(y, predicted, sample_weight=weight)),
    }


def _is_frame(x: Any) -> bool:
    return type(x).__name__ == "DataFrame" and type(x).__module__.startswith("pandas")
