"""Evaluating a model version against its policy: ``evaluate`` for the evidence, ``plots`` for
the pictures stored beside it."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

from modeldeck.validation.checks import Compatibility, Context, run_check
from modeldeck.validation.evidence import EvaluationResult, gate_passed
from modeldeck.validation.metrics import compute_metrics
from modeldeck.validation.scoring import (
    ModelLike,
    PredictionFailed,
    describe,
    feature_frame,
    label_values,
    resolve_task,
    score,
)

if TYPE_CHECKING:
    import pandas as pd

    from modeldeck.validation.policy import Policy


def evaluate(
    model: ModelLike,
    data: pd.DataFrame,
    policy: Policy,
    *,
    champion: ModelLike | None = None,
    champion_signature: Any = None,
    candidate_signature: Any = None,
    signature_compatibility: Compatibility | None = None,
    name: str | None = None,
) -> EvaluationResult:
    """Run every check of ``policy`` on ``model`` over ``data`` (which holds the label).

    The model predicts once over the whole data; slices reuse those predictions. The
    champion, when given, predicts once too, for improvement checks and ``champion_metrics``.
    Signatures default to the models' ``signature`` attributes;
    ``signature_compatibility(new, old)`` returns the list of incompatibilities.
    ``name`` names the model in errors (default: ``candidate for 'churn' (<class>)``).

    Raises ``InvalidInput`` for unusable data (no label column, missing labels) and
    ``PredictionFailed`` when the model's ``predict`` raises.
    """
    from modeldeck.tracking.datasets import frame_digest

    labels = label_values(data, policy)
    task = resolve_task(policy, labels)
    who = name or describe(model, "candidate", policy)
    preds = score(model, data, policy, task, who)
    ctx = Context(
        policy=policy,
        model=model,
        data=data,
        features=feature_frame(model, data, policy),
        preds=preds,
        metrics=compute_metrics(preds),
        champion=champion,
        champion_who=describe(champion, "champion", policy),
        champion_signature=champion_signature,
        candidate_signature=candidate_signature,
        compatibility=signature_compatibility,
    )
    checks = [result for check in policy.checks for result in run_check(check, ctx)]
    champion_metrics = None
    if champion is not None:
        # A champion that cannot predict is reported by the checks that needed it.
        with suppress(PredictionFailed):
            champion_metrics = compute_metrics(ctx.champion_preds())
    return EvaluationResult(
        passed=gate_passed(c.verdict for c in checks),
        metrics=ctx.metrics,
        checks=checks,
        task=task,
        rows=len(data),
        dataset_digest=frame_digest(data),
        policy=policy.to_dict(),
        champion_metrics=champion_metrics,
    )
