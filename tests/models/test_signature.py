"""Signatures: inference from an example, enforcement on predictions, compatibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modeldeck.core.errors import InvalidInput
from modeldeck.models import signature as sigmod
from modeldeck.models.signature import (
    ColumnSpec,
    OutputSpec,
    Signature,
    SignatureError,
    compatibility,
    enforce,
    infer_output,
    infer_signature,
)


@pytest.fixture
def example() -> pd.DataFrame:
    n = 40
    return pd.DataFrame(
        {
            "tenure_months": np.arange(n, dtype=np.int64),
            "age": np.linspace(20, 60, n),
            "total_charges": [np.nan if i % 10 == 0 else float(i) for i in range(n)],
            "contract": pd.Categorical(
                ["month-to-month", "one-year", "two-year", "one-year"] * 10,
                categories=["month-to-month", "one-year", "two-year"],
            ),
            "plan": ["basic", "premium"] * 20,  # plain strings, seen often: categorical
            "customer_id": [f"C{i:04d}" for i in range(n)],  # all distinct: free text
            "active": [True, False] * 20,
            "signup": pd.date_range("2026-01-01", periods=n, freq="D"),
        }
    )


@pytest.fixture
def signature(example: pd.DataFrame) -> Signature:
    return infer_signature(example)


def row(example: pd.DataFrame, **changes: object) -> pd.DataFrame:
    out = example.iloc[[1]].reset_index(drop=True).copy()
    for key, value in changes.items():
        out[key] = [value]
    return out


# -- inference ---------------------------------------------------------------------------------


def test_infers_types_nullability_and_categories(signature: Signature) -> None:
    specs = {s.name: s for s in signature.inputs}
    assert signature.columns == [
        "tenure_months",
        "age",
        "total_charges",
        "contract",
        "plan",
        "customer_id",
        "active",
        "signup",
    ]
    assert specs["tenure_months"] == ColumnSpec("tenure_months", "integer", False)
    assert specs["age"] == ColumnSpec("age", "double", False)
    assert specs["total_charges"] == ColumnSpec("total_charges", "double", True)
    assert specs["contract"].categories == ("month-to-month", "one-year", "two-year")
    assert specs["contract"].type == "string"
    assert specs["plan"].categories == ("basic", "premium")
    assert specs["customer_id"] == ColumnSpec("customer_id", "string", False, None)
    assert specs["active"].type == "boolean"
    assert specs["signup"].type == "datetime"
    assert signature.outputs is None


def test_few_rows_do_not_make_a_string_column_categorical() -> None:
    sig = infer_signature([{"city": "Paris"}, {"city": "Oslo"}])
    assert sig.inputs[0] == ColumnSpec("city", "string", False, None)


def test_output_spec_from_predictions() -> None:
    assert infer_output(np.array([0, 1, 1]), classes=[0, 1]) == OutputSpec("integer", (-1,), (0, 1))
    assert infer_output(np.zeros((3, 2))) == OutputSpec("double", (-1, 2))
    assert infer_output(pd.Series(["a", "b"])).type == "string"


def test_round_trips_through_a_dict(example: pd.DataFrame) -> None:
    sig = infer_signature(example, output=np.array([0, 1]))
    again = Signature.from_dict(sig.to_dict())
    assert again == sig
    assert again.to_dict() == sig.to_dict()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"inputs": "x"}, "'inputs' list"),
        ({"inputs": [{"name": "a", "type": "float64"}]}, "unknown type 'float64'"),
        ({"inputs": [{"name": "a", "type": "integer", "nullable": "no"}]}, "'nullable'"),
        ({"inputs": [{"name": "a", "type": "integer", "categories": ["x"]}]}, "only string"),
        ({"inputs": [{"name": "a", "type": "integer", "extra": 1}]}, "malformed"),
        ({"inputs": []}, "at least one input"),
        ({"inputs": [{"name": "a", "type": "string"}] * 2}, "appears twice"),
        ({"inputs": [{"name": "a", "type": "string"}], "outputs": {"type": "x"}}, "output type"),
    ],
)
def test_from_dict_rejects_malformed_signatures(data: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Signature.from_dict(data)


def test_all_missing_column_cannot_be_inferred() -> None:
    with pytest.raises(InvalidInput, match="only missing values"):
        infer_signature(pd.DataFrame({"a": [None, None]}))


# -- enforcement: what passes --------------------------------------------------------------------


def test_accepts_matching_data_and_returns_signature_order(
    example: pd.DataFrame, signature: Signature
) -> None:
    shuffled = example[list(reversed(example.columns))].assign(extra=1)
    out = enforce(signature, shuffled)
    assert list(out.columns) == signature.columns
    pd.testing.assert_frame_equal(out, example)


def test_same_columns_in_order_are_passed_through_untouched(
    example: pd.DataFrame, signature: Signature
) -> None:
    assert enforce(signature, example) is example


def test_safe_widening(example: pd.DataFrame, signature: Signature) -> None:
    widened = example.assign(
        age=np.arange(len(example)),  # integers where doubles are expected
        tenure_months=np.arange(len(example), dtype=float),  # whole floats for integers
        contract=example["contract"].astype(str),  # strings for a categorical
    )
    assert enforce(signature, widened)["age"].dtype.kind == "i"


def test_whole_floats_with_missing_values_fit_a_nullable_integer() -> None:
    sig = Signature((ColumnSpec("n", "integer", nullable=True),))
    enforce(sig, pd.DataFrame({"n": [1.0, None]}))


def test_list_of_dicts_dict_of_lists_and_one_dict(
    example: pd.DataFrame, signature: Signature
) -> None:
    records = example.head(3).to_dict(orient="records")
    for data in (records, pd.DataFrame(records).to_dict(orient="list"), records[1]):
        out = enforce(signature, data)
        assert list(out.columns) == signature.columns


def test_iso_strings_become_datetimes() -> None:
    sig = Signature((ColumnSpec("t", "datetime"),))
    out = enforce(sig, [{"t": "2026-03-01T14:00:00"}, {"t": "2026-03-02"}])
    assert out["t"].dtype.kind == "M"
    with pytest.raises(SignatureError, match="column 't' must be datetime, got string values"):
        enforce(sig, [{"t": "yesterday"}])


def test_unused_unknown_categories_of_a_categorical_are_fine(signature: Signature) -> None:
    data = pd.DataFrame(
        {
            "contract": pd.Categorical(["one-year"], categories=["one-year", "weekly"]),
        }
    )
    spec = signature.column("contract")
    enforce(Signature((spec,)), data)


# -- enforcement: each error -----------------------------------------------------------------------


def test_missing_column_names_it_and_its_type(example: pd.DataFrame, signature: Signature) -> None:
    with pytest.raises(SignatureError, match=r"^missing column 'tenure_months' \(integer\)$") as e:
        enforce(signature, example.drop(columns="tenure_months"))
    assert e.value.column == "tenure_months"
    with pytest.raises(SignatureError, match=r"missing columns 'age' \(double\), 'plan'"):
        enforce(signature, example.drop(columns=["age", "plan"]))


def test_wrong_type_names_the_column_and_shows_a_value(
    example: pd.DataFrame, signature: Signature
) -> None:
    with pytest.raises(
        SignatureError, match=r"column 'age' must be double, got string values like 'abc'"
    ):
        enforce(signature, row(example, age="abc"))
    with pytest.raises(SignatureError, match=r"column 'age' must be double, got boolean"):
        enforce(signature, row(example, age=True))
    with pytest.raises(SignatureError, match=r"'tenure_months' must be integer, got double values"):
        enforce(signature, row(example, tenure_months=3.5))
    with pytest.raises(SignatureError, match=r"'plan' must be string, got integer values like 3"):
        enforce(signature, row(example, plan=3))
    with pytest.raises(SignatureError, match=r"'active' must be boolean, got string"):
        enforce(signature, row(example, active="yes"))


def test_mixed_object_column_names_the_bad_value(
    example: pd.DataFrame, signature: Signature
) -> None:
    data = example.head(3).copy()
    data["age"] = pd.Series([30.0, "n/a", 40.0], dtype=object)
    with pytest.raises(SignatureError, match=r"column 'age' must be double, got string .*'n/a'"):
        enforce(signature, data)


@pytest.mark.parametrize("column", ["tenure_months", "age", "contract", "plan", "signup"])
def test_null_in_a_non_nullable_column(
    example: pd.DataFrame, signature: Signature, column: str
) -> None:
    data = example.head(4).copy()
    data[column] = data[column].astype(object) if column == "tenure_months" else data[column]
    data.loc[2, column] = None
    with pytest.raises(SignatureError, match=rf"column '{column}' has a missing value at row 2"):
        enforce(signature, data)


def test_null_is_fine_where_the_example_had_nulls(
    example: pd.DataFrame, signature: Signature
) -> None:
    enforce(signature, row(example, total_charges=None))


@pytest.mark.parametrize("n_rows", [1, 1000])  # the small- and large-frame code paths
def test_unknown_category_lists_the_expected_ones(
    example: pd.DataFrame, signature: Signature, n_rows: int
) -> None:
    data = pd.concat([example.iloc[[1]]] * n_rows, ignore_index=True)
    data["contract"] = data["contract"].astype(str)
    data.loc[n_rows - 1, "contract"] = "weekly"
    with pytest.raises(
        SignatureError,
        match=r"column 'contract' has unknown value 'weekly'; expected one of "
        r"'month-to-month', 'one-year', 'two-year'",
    ):
        enforce(signature, data)
    data["contract"] = pd.Categorical(data["contract"])  # as a categorical: same error
    with pytest.raises(SignatureError, match="unknown value 'weekly'"):
        enforce(signature, data)


def test_unknown_value_of_an_inferred_string_category(
    example: pd.DataFrame, signature: Signature
) -> None:
    with pytest.raises(SignatureError, match="column 'plan' has unknown value 'gold'"):
        enforce(signature, row(example, plan="gold"))


def test_bad_inputs(signature: Signature) -> None:
    with pytest.raises(InvalidInput, match="pass a pandas DataFrame"):
        enforce(signature, "age=3")
    with pytest.raises(InvalidInput, match="list of dicts"):
        enforce(signature, [1, 2])
    with pytest.raises(InvalidInput, match="empty"):
        enforce(signature, [])


def test_checks_work_without_the_private_column_accessor(
    example: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sigmod, "_COLUMN_ARRAY", None)
    sig = infer_signature(example)
    enforce(sig, example)
    with pytest.raises(SignatureError, match="column 'age' has a missing value"):
        enforce(sig, row(example, age=None))
    with pytest.raises(SignatureError, match="column 'contract' has a missing value"):
        enforce(sig, row(example, contract=None))


def test_an_enforcer_remembers_plans_per_dtypes(
    example: pd.DataFrame, signature: Signature
) -> None:
    enforcer = signature.enforcer()
    assert signature.enforcer() is enforcer
    enforcer(example)
    enforcer(example.head(1))
    assert len(enforcer._plans) == 1


# -- compatibility -----------------------------------------------------------------------------


def test_compatibility_lists_every_problem() -> None:
    old = Signature(
        (
            ColumnSpec("a", "integer"),
            ColumnSpec("b", "string", True),
            ColumnSpec("c", "string", False, ("x", "y")),
            ColumnSpec("gone", "double"),
            ColumnSpec("free", "string"),
        ),
        OutputSpec("integer", (-1,), (0, 1)),
    )
    new = Signature(
        (
            ColumnSpec("a", "double"),  # widening: fine
            ColumnSpec("b", "integer", False),
            ColumnSpec("c", "string", False, ("x",)),
            ColumnSpec("free", "string", False, ("p",)),
            ColumnSpec("extra", "boolean"),
        ),
        OutputSpec("integer", (-1,), (0, 1, 2)),
    )
    assert compatibility(new, old) == [
        "column 'b' changed type from string to integer",
        "column 'b' became non-nullable",
        "column 'c' no longer accepts 'y'",
        "column 'gone' (double) was removed",
        "column 'free' now accepts only 1 values, it accepted any string",
        "new column 'extra' (boolean) is required",
        "output classes changed from [0, 1] to [0, 1, 2]",
    ]
    assert compatibility(old, old) == []


def test_a_2d_array_is_read_by_position() -> None:
    sig = Signature((ColumnSpec("a", "integer"), ColumnSpec("b", "double")))
    out = enforce(sig, np.array([[1, 2.5], [3, 4.0]]))
    assert list(out.columns) == ["a", "b"]
    with pytest.raises(SignatureError, match=r"'a' must be integer, got double values like 2\.5"):
        enforce(sig, np.array([[2.5, 1.0]]))
