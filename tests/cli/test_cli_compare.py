"""The comparison model behind `modeldeck runs compare`."""

from __future__ import annotations

import math

import pytest

from modeldeck.cli.compare import build, lower_is_better
from modeldeck.core.entities import Run, RunStatus


def run(run_id: str, params=None, metrics=None) -> Run:
    return Run(
        id=run_id,
        experiment_id="1",
        name=run_id,
        status=RunStatus.FINISHED,
        user="u",
        start_time=0,
        params=params or {},
        metrics=metrics or {},
    )


@pytest.mark.parametrize(
    ("key", "lower"),
    [
        ("auc", False),
        ("accuracy", False),
        ("val_loss", True),
        ("eval_log_loss", True),
        ("rmse", True),
        ("error_rate", True),
        ("fit_seconds", True),
        ("cv_auc_std", True),
        ("f1", False),
        ("stderr_ratio", False),
    ],
)
def test_direction_is_guessed_from_the_name(key, lower):
    assert lower_is_better(key) is lower


def test_named_metrics_are_lower_is_better():
    assert lower_is_better("margin", {"margin"})


def test_rows_differ_and_best_values():
    comparison = build(
        [
            run("a", {"lr": "0.1", "depth": "3"}, {"auc": 0.8, "loss": 0.5}),
            run("b", {"lr": "0.2", "depth": "3"}, {"auc": 0.9, "loss": 0.5}),
            run("c", {"lr": "0.1"}, {"auc": 0.9, "loss": math.nan}),
        ]
    )
    params = {row.key: row for row in comparison.params}
    metrics = {row.key: row for row in comparison.metrics}
    assert params["lr"].differs
    assert params["depth"].differs  # missing in c
    assert params["depth"].values == ("3", "3", None)
    assert metrics["auc"].best == frozenset({1, 2})  # a tie is best twice
    assert metrics["loss"].goal == "min"
    assert metrics["loss"].best == frozenset({0, 1})  # NaN is never best


def test_equal_values_have_no_best():
    comparison = build([run("a", metrics={"auc": 0.8}), run("b", metrics={"auc": 0.8})])
    (row,) = comparison.metrics
    assert not row.differs
    assert row.best == frozenset()


def test_two_nans_are_the_same_value():
    comparison = build([run("a", metrics={"m": math.nan}), run("b", metrics={"m": math.nan})])
    assert not comparison.metrics[0].differs
