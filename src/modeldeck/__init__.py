"""modeldeck: manage machine-learning models through their whole life.

The SDK, familiar to MLflow users::

    import modeldeck

    with modeldeck.start_run(experiment="churn", name="gbm"):
        modeldeck.log_params({"max_depth": 6})
        for epoch in range(10):
            modeldeck.log_metric("auc", 0.8 + epoch / 100, step=epoch)

Only the standard library loads on import; stores and data libraries load on first use.
"""

from typing import TYPE_CHECKING, Any

from modeldeck._version import __version__

if TYPE_CHECKING:
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
        log_labels,
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

_FLUENT = "modeldeck.client.fluent"
_ENTITIES = "modeldeck.core.entities"
_ERRORS = "modeldeck.core.errors"
# name -> module, imported on first use: `import modeldeck` stays cheap for programs (and the
# server) that use a part of it only
_LAZY = {
    **dict.fromkeys(("Artifact", "Dataset", "Experiment", "Metric", "Run", "RunStatus"), _ENTITIES),
    **dict.fromkeys(
        (
            "AlreadyExists",
            "Conflict",
            "FilterSyntaxError",
            "GateFailed",
            "InvalidInput",
            "ModeldeckError",
            "NotFound",
            "PermissionDenied",
        ),
        _ERRORS,
    ),
}


def __getattr__(name: str) -> Any:
    if name not in __all__ or name == "__version__":
        raise AttributeError(f"module 'modeldeck' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY.get(name, _FLUENT)), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
    "log_labels",
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
