"""scikit-learn integration: ``modeldeck.sklearn.autolog()`` and the model functions.

::

    import modeldeck.sklearn

    modeldeck.sklearn.autolog()
    with modeldeck.start_run():
        pipeline.fit(x, y)        # params, training metrics and the model are logged

Importing this module is cheap; scikit-learn loads when ``autolog`` is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modeldeck.client import fluent
from modeldeck.client.fluent import load_model, log_model

__all__ = ["autolog", "load_model", "log_model"]


def autolog(log_models: bool = True, *, disable: bool = False) -> None:
    """Log every outermost scikit-learn ``fit`` inside an active run: its params
    (``get_params``, nested estimators as ``step__param``), training metrics (accuracy, F1,
    ROC AUC, log loss for classifiers; R², RMSE, MAE for regressors) and, with
    ``log_models``, the fitted model as ``model`` with a signature inferred from the training
    frame. Fits inside a fit (pipeline steps, grid-search candidates) are not logged on their
    own. ``autolog(disable=True)`` removes the patches.
    """
    from modeldeck.models import autolog as patches

    if disable:
        patches.disable()
    else:
        patches.enable(_active_run_logger, log_models=log_models)


class _RunLogger:
    """Logs to the run that was active when the fit began, even if another starts meanwhile."""

    def __init__(self, run: fluent.ActiveRun) -> None:
        self.run = run

    def log_params(self, params: Mapping[str, str]) -> None:
        fluent.client().log_params(self.run.id, params)

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        if metrics:
            self.run.log_metrics(metrics)

    def log_model(self, model: Any, input_example: Any) -> None:
        fluent.client().log_model(self.run.id, model, "model", input_example=input_example)


def _active_run_logger() -> _RunLogger | None:
    run = fluent.active_run()
    return None if run is None else _RunLogger(run)
