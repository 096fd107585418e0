"""Data quality against a reference profile and a signature, whole or chunk by chunk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modeldeck.core.errors import InvalidInput
from modeldeck.models.signature import ColumnSpec, Signature
from modeldeck.monitoring.quality import Issue, Quality, QualityAccumulator, check_quality
from modeldeck.tracking.datasets import profile


@pytest.fixture
def reference() -> dict:
    frame = pd.DataFrame(
        {
            "age": [18, 25, 30, 45, 60, 90] * 10,
            "income": [1000.0, 2000.0, None, 3000.0, 4000.0, 5000.0] * 10,
            "city": ["oslo", "lima", "pune", "oslo", "lima", "oslo"] * 10,
        }
    )
    return profile(frame)


def issues(q: Quality, kind: str, column: str | None = None) -> list[Issue]:
    return [i for i in q.issues if i.kind == kind and (column is None or i.column == column)]


def test_clean_data_has_no_issues(reference: dict) -> None:
    current = pd.DataFrame(
        {"age": [18, 90, 40], "income": [1000.0, 2000.0, 5000.0], "city": ["oslo"] * 3}
    )
    q = check_quality(current, reference)
    assert q.issues == ()
    assert q.rows == 3
    assert q.metrics() == {
        "missing_share": 0.0,
        "out_of_range_share": 0.0,
        "unseen_category_share": 0.0,
        "signature_violations": 0.0,
    }


def test_missing_above_reference_plus_tolerance(reference: dict) -> None:
    # income: reference 1/6 missing; 1/6 + 0.05 ≈ 0.217
    ok = pd.DataFrame({"age": [30] * 5, "income": [None, 1.0, 1.0, 1.0, 1.0], "city": ["oslo"] * 5})
    assert issues(check_quality(ok, reference), "missing") == []
    bad = pd.DataFrame(
        {"age": [30, None, 30, 30], "income": [None, None, 1.0, 1.0], "city": ["oslo"] * 4}
    )
    q = check_quality(bad, reference)
    found = {i.column: i for i in issues(q, "missing")}
    assert set(found) == {"age", "income"}
    assert (found["age"].count, found["age"].share) == (1, 0.25)
    assert (found["income"].count, found["income"].share) == (2, 0.5)
    assert "50.0%" in found["income"].detail and "16.7%" in found["income"].detail
    assert q.missing_share == pytest.approx(3 / 12)
    # a looser tolerance lets it pass
    assert issues(check_quality(bad, reference, missing_tolerance=0.5), "missing") == []


def test_a_profiled_column_left_out_is_missing(reference: dict) -> None:
    q = check_quality(pd.DataFrame({"age": [30, 40], "income": [1.0, 2.0]}), reference)
    (issue,) = issues(q, "missing")
    assert (issue.column, issue.count, issue.share) == ("city", 2, 1.0)
    assert "absent" in issue.detail
    assert q.missing_share == 0.0  # over the cells of the columns present


def test_out_of_range_boundaries_are_in_range(reference: dict) -> None:
    current = pd.DataFrame(
        {"age": [18, 90, 17, 91, 150, 50, None], "income": [1000.0] * 7, "city": ["oslo"] * 7}
    )
    q = check_quality(current, reference)
    (issue,) = issues(q, "out_of_range")
    assert issue.column == "age" and issue.count == 3
    assert issue.share == pytest.approx(3 / 6)  # over the non-missing numbers
    assert "[18, 90]" in issue.detail and "17 to 150" in issue.detail
    assert q.out_of_range_share == pytest.approx(3 / 13)  # age: 6 numbers, income: 7
    # infinities are out of range too
    inf = check_quality(pd.DataFrame({"income": [np.inf, 1000.0]}), reference)
    assert issues(inf, "out_of_range")[0].count == 1


def test_unseen_categories(reference: dict) -> None:
    cities = ["oslo", "rome", "rome", "kyiv", None, "lima", "a", "b", "c", "d"]
    q = check_quality(pd.DataFrame({"city": cities}), reference)
    (issue,) = issues(q, "unseen_category")
    assert issue.count == 7 and issue.share == pytest.approx(7 / 9)
    assert "'rome', 'kyiv', 'a', 'b', 'c'" in issue.detail and "'d'" not in issue.detail
    assert q.unseen_category_share == pytest.approx(7 / 9)


def test_unseen_is_not_decided_for_truncated_frequencies() -> None:
    many = profile(pd.DataFrame({"code": [f"c{i}" for i in range(80)]}))
    assert many["columns"]["code"]["distinct"] > len(many["columns"]["code"]["frequencies"])
    q = check_quality(pd.DataFrame({"code": ["c79", "new"]}), many)
    assert issues(q, "unseen_category") == [] and q.unseen_category_share == 0.0


def test_categories_match_the_way_the_profile_wrote_them() -> None:
    ref = profile(pd.DataFrame({"flag": [True, False] * 3, "grade": [1, 2, "x"] * 2}))
    # a bool column is profiled as text; an int category arrives as float because of a gap
    current = pd.DataFrame({"flag": [True, False], "grade": [1.0, None]})
    q = check_quality(current, ref)
    assert issues(q, "unseen_category") == [] and q.unseen_category_share == 0.0


def test_signature_violations_of_each_kind(reference: dict) -> None:
    signature = Signature(
        (
            ColumnSpec("age", "integer"),
            ColumnSpec("income", "double", nullable=True),
            ColumnSpec("city", "string", categories=("oslo", "lima", "pune")),
            ColumnSpec("zip", "string"),
        )
    )
    frame = pd.DataFrame(
        {
            "age": [30, "thirty", 2.5, None, 40],
            "income": [1.0, None, 2.0, 3.0, "lots"],
            "city": ["oslo", "rome", 7, "lima", None],
        },
        dtype=object,
    )
    q = check_quality(frame, reference, signature)
    found = {(i.column, i.count, i.detail) for i in issues(q, "signature")}

    def one(column: str, text: str) -> tuple[int, str]:
        (hit,) = [(c, d) for col, c, d in found if col == column and text in d]
        return hit

    assert one("zip", "absent")[0] == 5
    assert one("age", "never missing")[0] == 1
    count, detail = one("age", "must be integer")
    assert count == 2 and "'thirty', 2.5" in detail
    assert one("income", "must be double") == (1, one("income", "'lots'")[1])
    assert not [d for col, _, d in found if col == "income" and "missing" in d]  # nullable
    assert one("city", "never missing")[0] == 1
    assert one("city", "must be string")[0] == 1  # the 7
    assert "such as 'rome'" in one("city", "outside the signature's 3 categories")[1]
    assert len(found) == 7
    assert q.signature_violations == 5  # the absent column fails every row
    assert q.metrics()["signature_violations"] == 5.0


def test_signature_rows_counted_once() -> None:
    signature = Signature((ColumnSpec("a", "integer"), ColumnSpec("b", "string")))
    frame = pd.DataFrame({"a": [1.0, 1.5, None, 2.0], "b": ["x", None, None, "y"]})
    q = check_quality(frame, {"columns": {}}, signature)
    assert q.signature_violations == 2  # rows 1 and 2 break two rules each
    assert sorted(i.count for i in q.issues) == [1, 1, 2]


def test_signature_leniencies() -> None:
    signature = Signature(
        (
            ColumnSpec("n", "double"),
            ColumnSpec("i", "integer"),
            ColumnSpec("t", "datetime"),
            ColumnSpec("b", "boolean"),
            ColumnSpec("s", "string"),
        )
    )
    frame = pd.DataFrame(
        {
            "n": [1, 2],  # integers are doubles
            "i": [1.0, 2.0],  # whole floats are integers
            "t": ["2024-01-01T10:00:00", pd.Timestamp("2024-02-01")],  # ISO text is a datetime
            "b": [True, False],
            "s": pd.Series(["x", "y"], dtype="string"),
        }
    )
    assert check_quality(frame, {"columns": {}}, signature).issues == ()
    wrong = pd.DataFrame(
        {"n": ["1", "2"], "i": [True, False], "t": ["soon", 5], "b": [1, 0], "s": [1, 2]}
    )
    q = check_quality(wrong, {"columns": {}}, signature)
    assert {i.column for i in q.issues} == {"n", "i", "t", "b", "s"}
    assert all(i.count == 2 for i in q.issues)


def test_categorical_dtype_checked_by_value(reference: dict) -> None:
    signature = Signature((ColumnSpec("city", "string", categories=("oslo", "lima")),))
    frame = pd.DataFrame({"city": pd.Categorical(["oslo", "pune", "lima"])})
    q = check_quality(frame, reference, signature)
    (issue,) = issues(q, "signature")
    assert issue.count == 1 and "'pune'" in issue.detail


def test_accumulator_over_chunks_equals_one_shot(reference: dict) -> None:
    rng = np.random.default_rng(7)
    n = 1_000
    frame = pd.DataFrame(
        {
            "age": rng.integers(0, 120, n).astype(float),
            "income": np.where(rng.random(n) < 0.3, np.nan, rng.normal(3000, 2000, n)),
            "city": rng.choice(["oslo", "lima", "pune", "rome", "kyiv", "x1", "x2", "x3"], n),
        }
    )
    frame.loc[rng.random(n) < 0.1, "age"] = np.nan
    signature = Signature(
        (
            ColumnSpec("age", "integer"),
            ColumnSpec("city", "string", categories=("oslo", "lima", "pune")),
        )
    )
    whole = check_quality(frame, reference, signature)
    acc = QualityAccumulator(reference, signature)
    for start in range(0, n, 137):
        acc.update(frame.iloc[start : start + 137])
    assert acc.result() == whole
    assert {i.kind for i in whole.issues} == {
        "missing",
        "out_of_range",
        "unseen_category",
        "signature",
    }


def test_empty_frames(reference: dict) -> None:
    signature = Signature((ColumnSpec("age", "integer"),))
    empty = pd.DataFrame({"age": pd.Series([], dtype=float), "city": pd.Series([], dtype=object)})
    q = check_quality(empty, reference, signature)
    assert q == Quality(0, (), 0.0, 0.0, 0.0, 0)
    # no columns at all: the signature's column is still reported absent
    bare = check_quality(pd.DataFrame(), reference, signature)
    (issue,) = bare.issues
    assert (issue.kind, issue.count, issue.share) == ("signature", 0, 0.0)
    assert "absent" in issue.detail
    acc = QualityAccumulator(reference)
    assert acc.result().rows == 0


def test_columns_not_in_the_reference_are_ignored(reference: dict) -> None:
    q = check_quality(pd.DataFrame({"age": [30], "shoe": [None]}), reference)
    assert [i.column for i in q.issues] == ["income", "city"]  # absent, so missing


def test_bad_arguments(reference: dict) -> None:
    with pytest.raises(InvalidInput, match="'columns' mapping"):
        check_quality(pd.DataFrame(), {})
    with pytest.raises(InvalidInput, match="missing_tolerance"):
        check_quality(pd.DataFrame(), reference, missing_tolerance=2)
    with pytest.raises(InvalidInput, match="pandas DataFrame"):
        check_quality([{"age": 1}], reference)  # type: ignore[arg-type]
