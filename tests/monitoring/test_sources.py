"""Drift from value counts equals drift from the rows, so chunked and Dask sources, which
only count categories, reach the verdicts of the in-memory path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modeldeck.core.errors import InvalidInput
from modeldeck.monitoring import drift, sources


@pytest.mark.parametrize("method", ["chisquare", "z", "jensenshannon", "psi", None])
@pytest.mark.parametrize("rows", [300, 5000])
def test_counts_drift_equals_column_drift(method: str | None, rows: int) -> None:
    rng = np.random.default_rng(rows)
    values = ["a", "b"] if method == "z" else ["a", "b", "c", "d"]
    reference = pd.Series(rng.choice(values, rows))
    current = pd.Series(
        rng.choice(values, rows, p=None if len(values) == 2 else [0.4, 0.3, 0.2, 0.1])
    )
    whole = drift.column_drift(reference, current, method=method, column="c")
    counted = drift.counts_drift(
        reference.value_counts().to_dict(),
        current.value_counts().to_dict(),
        method=method,
        column="c",
    )
    assert counted == whole


def test_counts_drift_refuses_an_empty_side() -> None:
    with pytest.raises(InvalidInput, match="current sample is empty"):
        drift.counts_drift({"a": 3}, {}, column="c")
    with pytest.raises(InvalidInput, match="needs a numeric column"):
        drift.counts_drift({"a": 3}, {"a": 2}, method="ks", column="c")


def test_sources_agree_on_rows_columns_and_counts(tmp_path) -> None:
    import dask.dataframe as dd

    frame = pd.DataFrame(
        {"n": np.arange(1000, dtype="float64"), "c": pd.Categorical(["x", "y", None, "x"] * 250)}
    )
    frame.to_parquet(tmp_path / "f.parquet")
    for data in (frame, tmp_path / "f.parquet", dd.from_pandas(frame, npartitions=3)):
        found = sources.source(data, chunk_rows=300)
        assert found.rows() == 1000 and found.columns == ["n", "c"]
        assert found.is_numeric("n") and not found.is_numeric("c")
        assert {str(k): v for k, v in found.counts("c").items()} == {"x": 500, "y": 250}
        assert found.column("n").sum() == frame["n"].sum()
        assert sum(len(chunk) for chunk in found.chunks(["n"])) == 1000


def test_unknown_inputs_are_refused(tmp_path) -> None:
    with pytest.raises(InvalidInput, match="not a file"):
        sources.source(tmp_path / "missing.parquet")
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(InvalidInput, match="parquet or CSV"):
        sources.source(tmp_path / "x.xlsx")
    with pytest.raises(InvalidInput, match="cannot monitor a list"):
        sources.source([1, 2, 3])
