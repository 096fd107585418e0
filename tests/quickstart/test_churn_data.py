import time

import numpy as np
import pandas as pd
import pytest

from modeldeck.quickstart.data import (
    CATEGORICAL_FEATURES,
    CATEGORIES,
    FEATURES,
    LABEL,
    NUMERIC_FEATURES,
    SHIFTED_REGION,
    make_churn,
    split,
)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return make_churn()


def test_same_seed_gives_the_same_frame(reference):
    pd.testing.assert_frame_equal(make_churn(), reference)


def test_other_seed_gives_another_frame(reference):
    other = make_churn(seed=8)
    assert not other[list(FEATURES)].equals(reference[list(FEATURES)])
    assert set(other["customer_id"]).isdisjoint(reference["customer_id"])


def test_schema(reference):
    assert len(reference) == 5000
    assert reference.columns[:3].tolist() == ["customer_id", "event_time", "signup_date"]
    assert set(FEATURES) == set(NUMERIC_FEATURES) | set(CATEGORICAL_FEATURES)
    assert set(reference.columns) == {"customer_id", "event_time", "signup_date", LABEL, *FEATURES}
    for column in NUMERIC_FEATURES:
        assert pd.api.types.is_numeric_dtype(reference[column]), column
    for column in CATEGORICAL_FEATURES:
        dtype = reference[column].dtype
        assert isinstance(dtype, pd.CategoricalDtype), column
        assert tuple(dtype.categories) == CATEGORIES[column]
        # every category occurs, so an encoder fitted on the reference knows them all
        assert reference[column].nunique() == len(CATEGORIES[column])
    assert pd.api.types.is_datetime64_dtype(reference["event_time"])
    assert pd.api.types.is_datetime64_dtype(reference["signup_date"])
    assert set(reference[LABEL].unique()) == {0, 1}
    assert reference["customer_id"].is_unique


def test_values_are_plausible(reference):
    assert reference["tenure_months"].between(1, 72).all()
    assert reference["age"].between(18, 85).all()
    assert (reference["monthly_charges"] > 0).all()
    assert reference["num_products"].between(1, 5).all()
    assert (reference["support_calls"] >= 0).all()
    ratio = reference["total_charges"] / (reference["tenure_months"] * reference["monthly_charges"])
    assert ratio.dropna().between(0.8, 1.25).all()


def test_event_times_spread_over_the_month_after_start(reference):
    times = reference["event_time"]
    assert times.is_monotonic_increasing
    assert times.min() >= pd.Timestamp("2026-01-01")
    assert times.max() < pd.Timestamp("2026-01-31")
    assert times.dt.day.nunique() == 30
    assert (reference["signup_date"] < times).all()
    later = make_churn(start="2026-02-01")
    assert later["event_time"].min() >= pd.Timestamp("2026-02-01")
    assert later["tenure_months"].equals(reference["tenure_months"])


def test_label_rate_in_range():
    for seed in (1, 7, 42):
        assert 0.20 <= make_churn(seed=seed)[LABEL].mean() <= 0.30


def test_missing_values_in_a_few_columns(reference):
    missing = reference.isna().mean()
    with_gaps = missing[missing > 0]
    assert set(with_gaps.index) == {"total_charges", "days_since_last_login"}
    assert (with_gaps < 0.1).all()


def test_churn_follows_a_plausible_relation(reference):
    by_contract = reference.groupby("contract", observed=True)[LABEL].mean()
    assert by_contract["month-to-month"] > 2 * by_contract["one-year"]
    assert by_contract["one-year"] > by_contract["two-year"]
    churned = reference[reference[LABEL] == 1]
    stayed = reference[reference[LABEL] == 0]
    assert churned["support_calls"].mean() > stayed["support_calls"].mean() + 0.3
    assert churned["tenure_months"].mean() < stayed["tenure_months"].mean() - 5
    assert churned["monthly_charges"].mean() > stayed["monthly_charges"].mean()


def test_drift_zero_is_the_reference(reference):
    pd.testing.assert_frame_equal(make_churn(drift=0.0), reference)


def test_drift_shifts_only_the_segment(reference):
    shifted = make_churn(drift=0.8)
    in_segment = reference["region"] == SHIFTED_REGION
    assert (shifted["region"] == SHIFTED_REGION).equals(in_segment)
    # outside the segment, not a value changes
    pd.testing.assert_frame_equal(shifted[~in_segment], reference[~in_segment])

    before, after = reference[in_segment], shifted[in_segment]
    m2m = "month-to-month"
    assert (after["contract"] == m2m).mean() > (before["contract"] == m2m).mean() + 0.2
    assert after["monthly_charges"].mean() > before["monthly_charges"].mean() + 10
    assert after["support_calls"].mean() > before["support_calls"].mean() + 0.5
    assert after[LABEL].mean() > before[LABEL].mean() + 0.1
    # the label's relation to price changes: within the segment, churn depends on charges more
    slope_before = np.polyfit(before["monthly_charges"], before[LABEL], 1)[0]
    slope_after = np.polyfit(after["monthly_charges"], after[LABEL], 1)[0]
    assert slope_after > slope_before


def test_drift_grows_with_its_strength():
    segment_rates = [
        make_churn(drift=d).query("region == @SHIFTED_REGION")[LABEL].mean()
        for d in (0.0, 0.5, 1.0)
    ]
    assert segment_rates == sorted(segment_rates)


@pytest.mark.parametrize("bad", [{"drift": -0.1}, {"drift": 1.5}, {"n_rows": 0}])
def test_bad_arguments(bad):
    with pytest.raises(ValueError):
        make_churn(**bad)


def test_split_is_stratified_and_disjoint(reference):
    train, evaluation = split(reference, seed=3)
    assert len(train) + len(evaluation) == len(reference)
    assert len(evaluation) == pytest.approx(0.25 * len(reference), abs=2)
    assert set(train["customer_id"]).isdisjoint(evaluation["customer_id"])
    rate = reference[LABEL].mean()
    assert train[LABEL].mean() == pytest.approx(rate, abs=0.002)
    assert evaluation[LABEL].mean() == pytest.approx(rate, abs=0.002)
    assert train.index.equals(pd.RangeIndex(len(train)))
    assert train["event_time"].is_monotonic_increasing


def test_split_is_seeded(reference):
    first, _ = split(reference, seed=3)
    again, _ = split(reference, seed=3)
    other, _ = split(reference, seed=4)
    assert first["customer_id"].equals(again["customer_id"])
    assert not first["customer_id"].equals(other["customer_id"])


def test_generation_is_fast():
    make_churn()  # warm up
    started = time.perf_counter()
    make_churn()
    assert time.perf_counter() - started < 0.1
