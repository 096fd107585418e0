"""modeldeck: manage machine-learning models through their whole life.

The SDK, familiar to MLflow users::

    import modeldeck

    with modeldeck.start_run(experiment="churn", name="gbm"):
        modeldeck.log_params({"max_depth": 6})
        for epoch in range(10):
            modeldeck.log_metric("auc", 0.8 + epoch / 100, step=epoch)

Only the standard library loads on import; stores and data libraries load on first use.
"""

from modeldeck._version import __version__
from modeldeck.client.fluent import (
    ActiveRun,
    active_run,
    approve,
    download_artifact,
    edit_model_card,
    end_run,
    evaluate_model,
    flush,
    get_metric_history,
    get_model_version,
    get_run,
    load_model,
    log_artifact,
    log_dataset,
    log_dict,
    log_figure,
    log_metric,
    log_metrics,
    log_model,
    log_param,
    log_params,
    log_text,
    model_card,
    promote,
    register_model,
    reject,
    search_runs,
    set_tag,
    set_tags,
    start_run,
)
from modeldeck.core.entities import Artifact, Dataset, Experiment, Metric, Run, RunStatus
from modeldeck.core.errors import (
    AlreadyExists,
    Conflict,
    FilterSyntaxError,
    GateFailed,
    InvalidInput,
    ModeldeckError,
    NotFound,
    PermissionDenied,
)

__all__ = [
    "ActiveRun",
    "AlreadyExists",
    "Artifact",
    "Conflict",
    "Dataset",
    "Experiment",
    "FilterSyntaxError",
    "GateFailed",
    "InvalidInput",
    "Metric",
    "ModeldeckError",
    "NotFound",
    "PermissionDenied",
    "Run",
    "RunStatus",
    "__version__",
    "active_run",
    "approve",
    "download_artifact",
    "edit_model_card",
    "end_run",
    "evaluate_model",
    "flush",
    "get_metric_history",
    "get_model_version",
    "get_run",
    "load_model",
    "log_artifact",
    "log_dataset",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "log_text",
    "model_card",
    "promote",
    "register_model",
    "reject",
    "search_runs",
    "set_tag",
    "set_tags",
    "start_run",
]
