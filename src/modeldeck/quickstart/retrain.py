"""The quickstart's retraining job, registered with the churn model as
``modeldeck.quickstart.retrain:retrain``: what a team would write for its own model.

It learns from the newest data only: the production rows of the last two weeks whose labels
arrived (the world the alert says has changed), a quarter of them (stratified) held out to
judge the new version against the gates and against the champion.
A random forest, because the shifted segment's churn now depends on region and tenure
together, which a linear model cannot express (and, unlike gradient boosting, its one-row
predictions do not wait on an OpenMP thread pool, which the latency gate would notice).
"""

from __future__ import annotations

from typing import Any

NEWEST_DAYS = 14


def retrain(context: Any) -> Any:
    from sklearn.base import clone

    from modeldeck.quickstart.data import FEATURES, LABEL, split
    from modeldeck.quickstart.story import _candidates

    labeled = context.labeled()
    newest = labeled["prediction_time"].max() - NEWEST_DAYS * 86_400_000
    recent = labeled[labeled["prediction_time"] >= newest].drop(columns="prediction_time")
    recent = recent.astype({LABEL: "int64"}).reset_index(drop=True)
    train, evaluation = split(recent, seed=11)
    context.log_dataset(train, name="churn-train-production")
    context.set_evaluation(evaluation, name="churn-eval-production")
    candidate = next(c for c in _candidates(seed=7) if c.name == "random-forest")
    context.log_params({**candidate.params, "rows": len(train), "newest_days": NEWEST_DAYS})
    return clone(candidate.estimator).fit(train[list(FEATURES)], train[LABEL])
