from __future__ import annotations

import math

import pytest

from modeldeck.core.errors import InvalidInput
from modeldeck.monitoring.rules import (
    METRICS,
    PERFORMANCE_METRICS,
    Rule,
    parse_rule,
)

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "metric", "op", "threshold", "over_ms", "normalised"),
    [
        ("drift_share > 0.3", "drift_share", ">", 0.3, None, "drift_share > 0.3"),
        ("auc < 0.75 over 7 days", "auc", "<", 0.75, 7 * DAY_MS, "auc < 0.75 over 7 days"),
        ("missing_share >= 0.1", "missing_share", ">=", 0.1, None, "missing_share >= 0.1"),
        ("prediction_drift == 1", "prediction_drift", "==", 1.0, None, "prediction_drift == 1"),
        (
            "accuracy < 0.8 over 12 hours",
            "accuracy",
            "<",
            0.8,
            12 * HOUR_MS,
            "accuracy < 0.8 over 12 hours",
        ),
        ("dataset_drift != 0", "dataset_drift", "!=", 0.0, None, "dataset_drift != 0"),
        ("log_loss <= 0.5", "log_loss", "<=", 0.5, None, "log_loss <= 0.5"),
        # whitespace-tolerant, case-insensitive keywords, normalised spacing and numbers
        ("  drift_share>0.30  ", "drift_share", ">", 0.3, None, "drift_share > 0.3"),
        ("AUC<.75   OVER   7D", "auc", "<", 0.75, 7 * DAY_MS, "auc < 0.75 over 7 days"),
        ("rmse > 1e3 over7d", "rmse", ">", 1000.0, 7 * DAY_MS, "rmse > 1000 over 7 days"),
        ("r2 <-0.5", "r2", "<", -0.5, None, "r2 < -0.5"),
        ("rows < +100 over 1 w", "rows", "<", 100.0, 7 * DAY_MS, "rows < 100 over 1 week"),
        ("mae > 0.001", "mae", ">", 0.001, None, "mae > 0.001"),
        ("drifted_columns > -0", "drifted_columns", ">", 0.0, None, "drifted_columns > 0"),
    ],
)
def test_parse(
    text: str, metric: str, op: str, threshold: float, over_ms: int | None, normalised: str
) -> None:
    rule = parse_rule(text)
    assert rule == Rule(metric, op, threshold, over_ms, normalised)
    assert str(rule) == normalised
    assert parse_rule(str(rule)) == rule


@pytest.mark.parametrize("op", [">", ">=", "<", "<=", "==", "!="])
def test_every_operator_parses_with_and_without_spaces(op: str) -> None:
    assert parse_rule(f"f1 {op} 0.5").op == op
    assert parse_rule(f"f1{op}0.5").op == op


@pytest.mark.parametrize(
    ("span", "ms", "normalised"),
    [
        ("1 minute", 60_000, "1 minute"),
        ("30 minutes", 30 * 60_000, "30 minutes"),
        ("15m", 15 * 60_000, "15 minutes"),
        ("1 hour", HOUR_MS, "1 hour"),
        ("12 hours", 12 * HOUR_MS, "12 hours"),
        ("6h", 6 * HOUR_MS, "6 hours"),
        ("1 day", DAY_MS, "1 day"),
        ("7 days", 7 * DAY_MS, "7 days"),
        ("3d", 3 * DAY_MS, "3 days"),
        ("1 week", 7 * DAY_MS, "1 week"),
        ("2 Weeks", 14 * DAY_MS, "2 weeks"),
        ("4W", 28 * DAY_MS, "4 weeks"),
    ],
)
def test_units(span: str, ms: int, normalised: str) -> None:
    rule = parse_rule(f"precision < 0.9 over {span}")
    assert rule.over_ms == ms
    assert rule.text == f"precision < 0.9 over {normalised}"


def test_over_is_allowed_for_every_performance_metric() -> None:
    for metric in PERFORMANCE_METRICS:
        assert parse_rule(f"{metric} < 1 over 1 day").over_ms == DAY_MS


def test_every_known_metric_parses_and_is_described() -> None:
    for metric, description in METRICS.items():
        assert parse_rule(f"{metric} > 0").metric == metric
        assert description and "\n" not in description
    assert PERFORMANCE_METRICS.issubset(METRICS)


@pytest.mark.parametrize(
    ("text", "metric", "column", "normalised"),
    [
        ("drift_score.age < 0.05", "drift_score.age", "age", "drift_score.age < 0.05"),
        ("drifted.age == 1", "drifted.age", "age", "drifted.age == 1"),
        (
            "drifted.Income==1",
            "drifted.Income",
            "Income",
            "drifted.Income == 1",
        ),  # column case kept
        ("DRIFTED.x.y > 0", "drifted.x.y", "x.y", "drifted.x.y > 0"),
        ("drift_score.a>b >= 0.1", "drift_score.a>b", "a>b", "drift_score.a>b >= 0.1"),
        ("drift_score.é/%2 > 0.1", "drift_score.é/%2", "é/%2", "drift_score.é/%2 > 0.1"),
    ],
)
def test_per_column_metrics(text: str, metric: str, column: str, normalised: str) -> None:
    rule = parse_rule(text)
    assert (rule.metric, rule.column, rule.text) == (metric, column, normalised)
    assert parse_rule(rule.text) == rule


def test_column_is_none_for_a_dataset_metric() -> None:
    assert parse_rule("drift_share > 0.3").column is None


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("", ["empty", "drift_share > 0.3"]),
        ("   ", ["empty"]),
        (
            "accuracy_score < 0.8",
            ["unknown metric 'accuracy_score'", "accuracy", "drifted.<column>"],
        ),
        ("driftshare.x > 1", ["unknown per-column metric", "drift_score.<column>"]),
        ("drifted. == 1", ["name the column", "drifted.age == 1"]),
        ("my metric > 1", ["contains a space"]),
        ("auc 0.7", ["no comparison operator", ">="]),
        ("> 0.3", ["no metric"]),
        ("auc <", ["no threshold", "auc < 0.3"]),
        ("auc => 0.7", ["unknown operator '=>'", "> >= < <= == !=", "e.g. 'auc > 0.3'"]),
        ("auc = 0.7", ["unknown operator '='", "use =="]),
        ("auc <> 0.7", ["unknown operator '<>'"]),
        ("auc < high", ["'high' is not a number", "e.g. 'auc < 0.3'"]),
        ("auc < 0.3 0.4", ["not a number"]),
        ("auc < nan", ["not a number"]),
        ("auc < inf", ["not a number"]),
        ("auc < 1e999", ["out of range"]),
        ("drift_share > 30%", ["fractions", "drift_share > 0.3"]),
        ("auc < 0.7 over", ["span", "over 7 days"]),
        ("auc < 0.7 over 7", ["span", "unit"]),
        ("auc < 0.7 over days", ["span"]),
        ("auc < 0.7 over 7 fortnights", ["unknown unit 'fortnights'", "hours"]),
        ("auc < 0.7 over 1.5 days", ["whole number", "over 90 minutes"]),
        ("auc < 0.7 over 0 days", ["above 0"]),
        ("auc < 0.7 over 7 days over 1 day", ["more than once"]),
        (
            "drift_share > 0.3 over 7 days",
            ["only applies to performance metrics", "judged per monitoring window", "auc"],
        ),
        ("drifted.age == 1 over 1 day", ["only applies to performance metrics"]),
    ],
)
def test_errors_name_the_problem_and_the_fix(text: str, fragments: list[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rule(text)
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)


def test_a_non_string_is_refused() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        parse_rule(None)  # type: ignore[arg-type]


# --- fires ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "fires"),
    [
        ("drift_share > 0.3", 0.31, True),
        ("drift_share > 0.3", 0.3, False),
        ("drift_share >= 0.3", 0.3, True),
        ("auc < 0.75", 0.74, True),
        ("auc < 0.75", 0.75, False),
        ("auc <= 0.75", 0.75, True),
        ("prediction_drift == 1", 1, True),
        ("prediction_drift == 1", 0, False),
        ("dataset_drift != 0", 1.0, True),
        ("dataset_drift != 0", 0.0, False),
        ("drift_share > 0.3", 3 / 10 + 1e-9, True),
        ("r2 < -0.5", -math.inf, True),
    ],
)
def test_fires(text: str, value: float, fires: bool) -> None:
    assert parse_rule(text).fires(value) is fires


@pytest.mark.parametrize("op", [">", ">=", "<", "<=", "==", "!="])
def test_missing_values_never_fire(op: str) -> None:
    rule = parse_rule(f"auc {op} 0.5")
    assert rule.fires(None) is False
    assert rule.fires(math.nan) is False
    assert rule.fires(float("nan")) is False
