"""Each check's pass and fail, on small seeded scikit-learn models."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import pytest
from validation_support import FEATURES, Broken, Slow, policy_of

from modeldeck.core.errors import GateFailed, InvalidInput
from modeldeck.validation import EvaluationResult, PredictionFailed, evaluate


def verdicts(result: EvaluationResult) -> dict[str, str]:
    return {c.name: c.verdict for c in result.checks}


def test_metric_threshold_pass_and_fail(logistic: Any, dummy: Any, holdout: pd.DataFrame) -> None:
    policy = policy_of({"type": "metric", "metric": "auc", "min": 0.75})
    good = evaluate(logistic, holdout, policy)
    assert good.passed
    (check,) = good.checks
    assert (check.name, check.type, check.verdict) == ("metric:auc>=0.75", "metric", "pass")
    assert check.value == pytest.approx(good.metrics["auc"]) and check.value > 0.85
    assert check.threshold == ">= 0.75"

    bad = evaluate(dummy, holdout, policy)
    assert not bad.passed
    assert bad.checks[0].verdict == "fail"
    assert bad.checks[0].detail == "auc 0.5 < min 0.75"


def test_metric_upper_bound(logistic: Any, holdout: pd.DataFrame) -> None:
    policy = policy_of({"type": "metric", "metric": "log_loss", "max": 0.2})
    (check,) = evaluate(logistic, holdout, policy).checks
    assert check.name == "metric:log_loss<=0.2"
    assert check.verdict == "fail"
    assert check.detail.startswith("log_loss ") and check.detail.endswith(" > max 0.2")
    policy = policy_of({"type": "metric", "metric": "accuracy", "min": 0.6, "max": 0.99})
    (check,) = evaluate(logistic, holdout, policy).checks
    assert (check.name, check.threshold, check.verdict) == (
        "metric:accuracy>=0.6,<=0.99",
        ">= 0.6 and <= 0.99",
        "pass",
    )


def test_improvement_over_the_champion(logistic: Any, dummy: Any, holdout: pd.DataFrame) -> None:
    policy = policy_of({"type": "improvement", "metric": "auc", "min_delta": 0.1})
    better = evaluate(logistic, holdout, policy, champion=dummy)
    (check,) = better.checks
    assert check.verdict == "pass"
    assert check.value == pytest.approx(better.metrics["auc"] - 0.5)
    assert better.champion_metrics is not None and better.champion_metrics["auc"] == 0.5

    worse = evaluate(dummy, holdout, policy, champion=logistic)
    assert worse.checks[0].verdict == "fail"
    assert worse.checks[0].value is not None and worse.checks[0].value < 0

    same = evaluate(logistic, holdout, policy, champion=logistic)
    assert same.checks[0].value == 0.0
    assert same.checks[0].verdict == "fail"  # 0 < the required 0.1
    assert "improvement +0 < +0.1" in same.checks[0].detail


@pytest.mark.parametrize("metric", ["log_loss", "brier"])
def test_improvement_respects_lower_is_better(
    metric: str, logistic: Any, dummy: Any, holdout: pd.DataFrame
) -> None:
    policy = policy_of({"type": "improvement", "metric": metric})
    better = evaluate(logistic, holdout, policy, champion=dummy)
    assert better.metrics[metric] < better.champion_metrics[metric]  # type: ignore[index]
    (check,) = better.checks
    assert check.verdict == "pass" and check.value is not None and check.value > 0
    assert "(lower is better)" in check.detail and "(lower is better)" in check.threshold
    assert evaluate(dummy, holdout, policy, champion=logistic).checks[0].verdict == "fail"


def test_improvement_rmse_for_regression(
    linear: Any, mean_regressor: Any, prices: pd.DataFrame
) -> None:
    policy = policy_of({"type": "improvement", "metric": "rmse"}, label="price")
    result = evaluate(linear, prices, policy, champion=mean_regressor)
    assert result.task == "regression"
    (check,) = result.checks
    assert check.verdict == "pass"
    assert check.value == pytest.approx(result.champion_metrics["rmse"] - result.metrics["rmse"])  # type: ignore[index]
    assert evaluate(mean_regressor, prices, policy, champion=linear).checks[0].verdict == "fail"


def test_improvement_and_signature_skip_without_a_champion(
    logistic: Any, holdout: pd.DataFrame
) -> None:
    policy = policy_of({"type": "improvement", "metric": "auc"}, {"type": "signature"})
    result = evaluate(logistic, holdout, policy)
    assert [c.verdict for c in result.checks] == ["skip", "skip"]
    assert all(c.detail == "no champion to compare with" for c in result.checks)
    assert not result.passed  # nothing was judged: skips alone do not pass a gate
    assert result.summary() == "FAILED: 2 skip on 1200 rows"
    assert result.champion_metrics is None


def test_a_champion_that_cannot_predict_is_an_error_verdict(
    logistic: Any, holdout: pd.DataFrame
) -> None:
    policy = policy_of({"type": "improvement", "metric": "auc"})
    result = evaluate(logistic, holdout, policy, champion=Broken())
    (check,) = result.checks
    assert check.verdict == "error" and not result.passed
    assert "champion for 'churn' (Broken): predict failed" in check.detail
    assert "ValueError: column 'tenure' has the wrong dtype" in check.detail


def test_a_deliberately_bad_slice_fails(logistic: Any, bad_south: pd.DataFrame) -> None:
    policy = policy_of(
        {"type": "slice", "column": "region", "metric": "auc", "min": 0.7, "max_gap": 0.1}
    )
    result = evaluate(logistic, bad_south, policy)
    assert not result.passed
    by_name = {c.name: c for c in result.checks}
    assert set(by_name) == {f"slice:region={r}:auc" for r in ("east", "north", "south")}
    assert by_name["slice:region=north:auc"].verdict == "pass"
    assert by_name["slice:region=east:auc"].verdict == "pass"
    south = by_name["slice:region=south:auc"]
    assert south.verdict == "fail"
    assert south.value is not None and south.value < 0.7
    assert south.detail.startswith(f"slice region=south: auc {south.value:.4g} < floor 0.7; ")
    assert "worse than overall" in south.detail and "(max_gap 0.1)" in south.detail


def test_slice_gap_alone(logistic: Any, bad_south: pd.DataFrame, holdout: pd.DataFrame) -> None:
    policy = policy_of({"type": "slice", "column": "region", "metric": "auc", "max_gap": 0.05})
    assert evaluate(logistic, holdout, policy).passed
    assert verdicts(evaluate(logistic, bad_south, policy))["slice:region=south:auc"] == "fail"


def test_small_slices_are_reported_not_judged(logistic: Any, bad_south: pd.DataFrame) -> None:
    policy = policy_of(
        {"type": "slice", "column": "region", "metric": "auc", "min": 0.7, "min_rows": 10_000}
    )
    result = evaluate(logistic, bad_south, policy)
    *slices, summary = result.checks
    assert len(slices) == 3
    assert all(c.verdict == "skip" and c.value is not None for c in slices)
    assert "rows < min_rows 10000; not judged" in slices[0].detail
    # a slice check that judged no slice does not pass
    assert (summary.name, summary.verdict) == ("slice:region:auc", "error")
    assert "every slice of 'region' (3) was skipped" in summary.detail
    assert not result.passed


def test_slice_edge_cases(logistic: Any, holdout: pd.DataFrame) -> None:
    data = holdout.assign(segment=["a" if i % 3 else None for i in range(len(holdout))])
    data.loc[data["segment"].isna(), "churned"] = 1  # one class: auc undefined there
    policy = policy_of({"type": "slice", "column": "segment", "metric": "auc", "min": 0.5})
    result = evaluate(logistic, data, policy)
    missing = {c.name: c for c in result.checks}["slice:segment=<missing>:auc"]
    assert missing.verdict == "skip" and "auc undefined" in missing.detail
    policy = policy_of({"type": "slice", "column": "nope", "metric": "auc", "min": 0.5})
    (check,) = evaluate(logistic, holdout, policy).checks
    assert check.verdict == "error" and "no column 'nope'" in check.detail


def test_latency_budget(logistic: Any, holdout: pd.DataFrame) -> None:
    fast = policy_of({"type": "latency", "p95_ms": 500.0, "samples": 20})
    (check,) = evaluate(logistic, holdout, fast).checks
    assert (check.name, check.verdict) == ("latency:p95<=500ms", "pass")
    assert check.value is not None and 0 < check.value < 500

    # A wrapper has no feature_names_in_: the policy names the features it gets.
    tight = policy_of(
        {"type": "latency", "p95_ms": 2.0, "samples": 10, "warmup": 1}, features=FEATURES
    )
    result = evaluate(Slow(logistic, 0.01), holdout, tight)
    (check,) = result.checks
    assert check.verdict == "fail" and not result.passed
    assert check.value is not None and check.value >= 10.0
    assert "> budget 2 ms" in check.detail and "over 10 single-row calls" in check.detail


def test_signature_compatibility(logistic: Any, dummy: Any, holdout: pd.DataFrame) -> None:
    def compatibility(new: list[str], old: list[str]) -> list[str]:
        return [f"column {c!r} is gone" for c in old if c not in new]

    policy = policy_of({"type": "signature"})

    def check(**kwargs: Any) -> Any:
        result = evaluate(logistic, holdout, policy, champion=dummy, **kwargs)
        return result.checks[0]

    same = check(
        champion_signature=FEATURES,
        candidate_signature=FEATURES,
        signature_compatibility=compatibility,
    )
    assert same.verdict == "pass"
    narrower = check(
        champion_signature=FEATURES,
        candidate_signature=["tenure"],
        signature_compatibility=compatibility,
    )
    assert narrower.verdict == "fail"
    assert narrower.detail == "incompatible with the champion: column 'spend' is gone"
    no_function = check(champion_signature=FEATURES, candidate_signature=FEATURES)
    assert no_function.verdict == "error"
    no_candidate = check(champion_signature=FEATURES, signature_compatibility=compatibility)
    assert no_candidate.verdict == "error" and "candidate has no signature" in no_candidate.detail
    assert check(signature_compatibility=compatibility).verdict == "skip"  # champion unsigned


def test_a_model_that_raises_is_named(holdout: pd.DataFrame) -> None:
    policy = policy_of({"type": "metric", "metric": "accuracy", "min": 0.5})
    with pytest.raises(PredictionFailed) as caught:
        evaluate(Broken(), holdout, policy)
    assert str(caught.value) == (
        "candidate for 'churn' (Broken): predict failed on the evaluation data: "
        "ValueError: column 'tenure' has the wrong dtype"
    )
    with pytest.raises(PredictionFailed, match=r"^churn v3: predict failed"):
        evaluate(Broken(), holdout, policy, name="churn v3")


def test_bad_evaluation_data(logistic: Any, holdout: pd.DataFrame) -> None:
    policy = policy_of({"type": "metric", "metric": "auc", "min": 0.5})
    with pytest.raises(InvalidInput, match=r"no label column 'churned'.*columns: tenure, spend"):
        evaluate(logistic, holdout.drop(columns=["churned"]), policy)
    with pytest.raises(InvalidInput, match="has 1 missing values"):
        evaluate(
            logistic,
            holdout.astype({"churned": float}).assign(churned=[None] + [1.0] * 1199),
            policy,
        )
    with pytest.raises(InvalidInput, match="no rows"):
        evaluate(logistic, holdout.iloc[:0], policy)


def test_result_is_json_safe_and_round_trips(
    logistic: Any, dummy: Any, bad_south: pd.DataFrame
) -> None:
    policy = policy_of(
        {"type": "metric", "metric": "auc", "min": 0.75},
        {"type": "improvement", "metric": "log_loss"},
        {"type": "slice", "column": "region", "metric": "auc", "min": 0.7},
    )
    result = evaluate(logistic, bad_south, policy, champion=dummy)
    stored = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert stored["policy"] == policy.to_dict()
    assert len(stored["dataset_digest"]) == 64 and stored["rows"] == len(bad_south)
    assert EvaluationResult.from_dict(stored) == result
    assert result.summary() == "FAILED: 4 pass, 1 fail on 1200 rows"
    with pytest.raises(GateFailed, match=r"1 check\(s\) did not pass:\n  fail: slice:region=south"):
        result.raise_for_failures()


def test_nan_metrics_are_stored_as_none(holdout: pd.DataFrame) -> None:
    class Labels:  # predicts without probabilities: no auc, log_loss or brier
        def predict(self, frame: pd.DataFrame) -> Any:
            return (frame["tenure"] > 0).astype(int)

    result = evaluate(Labels(), holdout, policy_of({"type": "metric", "metric": "auc", "min": 0.5}))
    assert math.isnan(result.metrics["auc"])
    assert result.checks[0].verdict == "error"
    assert "Labels has no predict_proba" in result.checks[0].detail
    stored = result.to_dict()
    assert stored["metrics"]["auc"] is None and stored["metrics"]["accuracy"] > 0.6
    json.dumps(stored, allow_nan=False)
    assert math.isnan(EvaluationResult.from_dict(stored).metrics["auc"])


def test_no_checks_do_not_pass(logistic: Any, holdout: pd.DataFrame) -> None:
    result = evaluate(logistic, holdout, policy_of())
    assert not result.passed and result.checks == [] and result.task == "classification"
    assert result.summary() == "FAILED: no checks on 1200 rows"


def test_a_numeric_slice_column_is_cut_into_quantile_ranges(
    logistic: Any, holdout: pd.DataFrame
) -> None:
    """One slice per distinct float would leave every slice one row: skipped, yet passed."""
    policy = policy_of({"type": "slice", "column": "spend", "metric": "auc", "min": 0.5})
    result = evaluate(logistic, holdout, policy)
    assert len(result.checks) == 4
    assert all(c.verdict == "pass" for c in result.checks) and result.passed
    assert all("on 300 rows" in c.detail for c in result.checks)
    first = result.checks[0].name
    assert first.startswith("slice:spend=[") and first.endswith(":auc")


def test_a_slice_check_names_its_ranges(logistic: Any, holdout: pd.DataFrame) -> None:
    edges = policy_of(
        {"type": "slice", "column": "tenure", "metric": "auc", "min": 0.5, "bins": [-10, 0, 10]}
    )
    names = [c.name for c in evaluate(logistic, holdout, edges).checks]
    assert names == ["slice:tenure=[-10, 0]:auc", "slice:tenure=(0, 10]:auc"]
    two = policy_of({"type": "slice", "column": "tenure", "metric": "auc", "min": 0.5, "bins": 2})
    assert len(evaluate(logistic, holdout, two).checks) == 2
    narrow = policy_of(
        {"type": "slice", "column": "tenure", "metric": "auc", "min": 0.5, "bins": [0, 1]}
    )
    (check,) = evaluate(logistic, holdout, narrow).checks
    assert check.verdict == "error" and "outside the bins edges 0..1" in check.detail
    text = policy_of({"type": "slice", "column": "region", "metric": "auc", "min": 0.5, "bins": 3})
    (check,) = evaluate(logistic, holdout, text).checks
    assert check.verdict == "error" and "needs a numeric column" in check.detail


def test_posted_evidence_that_contradicts_itself_is_found() -> None:
    from modeldeck.validation.evidence import contradictions

    def check(verdict: str, value: float | None, threshold: str = ">= 0.8") -> dict[str, Any]:
        return {"name": "metric:auc", "type": "metric", "verdict": verdict, "value": value,
                "threshold": threshold, "detail": ""}  # fmt: skip

    assert contradictions({"checks": [check("pass", 0.9)], "passed": True}, True) == []
    assert contradictions({"checks": [check("fail", 0.7)]}, False) == []
    assert contradictions({"checks": [check("fail", 0.7)]}, True) == [
        "passed is True but the checks give False "
        "(passed: some check passed and none failed or erred)"
    ]
    (lie,) = contradictions({"checks": [check("pass", 0.5)]}, True)
    assert lie == "check 'metric:auc' says pass but its value 0.5 is below 0.8"
    (lie,) = contradictions({"checks": [check("fail", 0.95)]}, False)
    assert "says fail but its value 0.95 is within bounds" in lie
    assert contradictions({"checks": [check("maybe", 0.9)]}, False)
    assert contradictions({"checks": []}, True)  # nothing checked cannot pass
    latency = check("pass", 250.0, "p95 <= 100 ms") | {"type": "latency"}
    assert contradictions({"checks": [latency]}, True)
    assert contradictions({"checks": "nope"}, True) == ["the result has no list of checks"]


class _Signed:
    """A model declaring its input columns, as modeldeck's Predictor does."""

    def __init__(self, model: Any, signature: Any) -> None:
        self.model, self.signature = model, signature

    def predict(self, frame: pd.DataFrame) -> Any:
        assert list(frame.columns) == self.signature.columns  # only what it declared
        return self.model.predict(frame[FEATURES])

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        return self.model.predict_proba(frame[FEATURES])


def test_signature_check_with_the_models_package(
    logistic: Any, dummy: Any, holdout: pd.DataFrame
) -> None:
    signature = pytest.importorskip("modeldeck.models.signature")
    full = signature.infer_signature(holdout[FEATURES])
    candidate = _Signed(logistic, full)
    champion = _Signed(dummy, full)
    policy = policy_of({"type": "signature"}, {"type": "latency", "p95_ms": 500, "samples": 5})
    kwargs = {"champion": champion, "signature_compatibility": signature.compatibility}
    result = evaluate(candidate, holdout, policy, **kwargs)
    assert verdicts(result) == {"signature:compatible": "pass", "latency:p95<=500ms": "pass"}

    narrower = _Signed(logistic, signature.infer_signature(holdout[["spend", "tenure", "region"]]))
    (check, _) = evaluate(narrower, holdout, policy, **kwargs).checks
    assert check.verdict == "fail"
    assert "new column 'region' (string) is required" in check.detail
