"""Validation gates: a policy per registered model (``modeldeck.toml`` or YAML), run against a
model version on evaluation data, giving stored evidence (every check's value, threshold and
verdict) and plots.

::

    policy = load_policy(".", "churn")
    result = evaluate(model, frame, policy, champion=current)
    result.passed, result.checks, result.to_dict()
"""

from modeldeck.validation.checks import Compatibility
from modeldeck.validation.evaluate import evaluate
from modeldeck.validation.evidence import CheckResult, EvaluationResult
from modeldeck.validation.metrics import METRICS, TASKS, Metric, metric_names
from modeldeck.validation.plots import plots
from modeldeck.validation.policy import (
    CHECK_TYPES,
    Check,
    ImprovementCheck,
    LatencyCheck,
    MetricCheck,
    Policy,
    SignatureCheck,
    SliceCheck,
    find_policy_file,
    load_policy,
    parse_policy,
)
from modeldeck.validation.scoring import ModelLike, PredictionFailed

__all__ = [
    "CHECK_TYPES",
    "METRICS",
    "TASKS",
    "Check",
    "CheckResult",
    "Compatibility",
    "EvaluationResult",
    "ImprovementCheck",
    "LatencyCheck",
    "Metric",
    "MetricCheck",
    "ModelLike",
    "Policy",
    "PredictionFailed",
    "SignatureCheck",
    "SliceCheck",
    "evaluate",
    "find_policy_file",
    "load_policy",
    "metric_names",
    "parse_policy",
    "plots",
]
