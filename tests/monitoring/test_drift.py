"""Drift methods against scipy, the Evidently method table, verdicts, dataset drift, input."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from modeldeck.core.errors import InvalidInput
from modeldeck.monitoring import drift
from modeldeck.monitoring.drift import (
    CategoryCounts,
    Histogram,
    choose_method,
    column_drift,
    dataset_drift,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261127)


def evidently_frequencies(ref: pd.Series, cur: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies over the union of values, the way Evidently's ``get_binned_data`` does."""
    keys = list(set(ref.dropna().unique()) | set(cur.dropna().unique()))
    ref_counts = ref.value_counts().reindex(keys, fill_value=0).to_numpy()
    cur_counts = cur.value_counts().reindex(keys, fill_value=0).to_numpy()
    return ref_counts / len(ref), cur_counts / len(cur)


# --- each method equals scipy --------------------------------------------------------------


def test_ks_is_ks_2samp(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(size=700), rng.normal(0.1, 1.2, size=500)
    result = column_drift(ref, cur, method="ks")
    expected = stats.ks_2samp(ref, cur)
    assert result.score == pytest.approx(expected.pvalue, rel=1e-12)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)


def test_wasserstein_is_scipy_over_reference_std(rng: np.random.Generator) -> None:
    ref, cur = rng.gamma(2.0, size=5000), rng.gamma(2.2, size=4000)
    result = column_drift(ref, cur)
    assert result.method == "wasserstein"
    expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert result.score == pytest.approx(expected, rel=1e-12)
    assert result.statistic is None


def test_wasserstein_floors_a_constant_reference() -> None:
    result = column_drift(np.ones(2000), np.full(2000, 1.0005), method="wasserstein")
    assert result.score == pytest.approx(0.0005 / 0.001)


def test_chisquare_is_scipy_against_scaled_reference(rng: np.random.Generator) -> None:
    ref = pd.Series(rng.choice(list("abcd"), size=600, p=[0.4, 0.3, 0.2, 0.1]))
    cur = pd.Series(rng.choice(list("abcd"), size=450, p=[0.35, 0.3, 0.2, 0.15]))
    result = column_drift(ref, cur)
    assert result.method == "chisquare"
    keys = sorted(set(ref) | set(cur))
    f_obs = cur.value_counts().reindex(keys, fill_value=0).to_numpy()
    f_exp = ref.value_counts().reindex(keys, fill_value=0).to_numpy() * len(cur) / len(ref)
    expected = stats.chisquare(f_obs, f_exp)
    assert result.score == pytest.approx(expected.pvalue, rel=1e-10)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-10)


def test_chisquare_with_a_value_unseen_in_reference_is_certain_drift() -> None:
    result = column_drift(["a", "b", "c"] * 50, ["a", "b", "c", "d"] * 40, method="chisquare")
    assert (result.score, result.statistic, result.drifted) == (0.0, math.inf, True)


def test_z_test_is_the_hand_computation(rng: np.random.Generator) -> None:
    ref = rng.choice(["no", "yes"], size=900, p=[0.7, 0.3])
    cur = rng.choice(["no", "yes"], size=300, p=[0.62, 0.38])
    result = column_drift(ref, cur)
    assert result.method == "z"
    # Evidently's z_stat_test: share of rows that are not the first value in sorted order
    n1, n2 = len(ref), len(cur)
    p1, p2 = np.mean(ref != "no"), np.mean(cur != "no")
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert result.statistic == pytest.approx(z, rel=1e-12)
    assert result.score == pytest.approx(2 * (1 - stats.norm.cdf(abs(z))), rel=1e-9)


def test_z_test_of_one_shared_value_is_no_drift() -> None:
    result = column_drift(["x"] * 10, ["x"] * 20)
    assert (result.method, result.score, result.drifted) == ("z", 1.0, False)


def test_jensen_shannon_on_categories_is_scipy_unsmoothed(rng: np.random.Generator) -> None:
    ref = pd.Series(rng.choice(list("abcde"), size=3000))
    cur = pd.Series(rng.choice(list("abcd"), size=2000))  # "e" gone: left at zero, as Evidently
    result = column_drift(ref, cur)
    assert result.method == "jensenshannon"
    assert result.score == pytest.approx(distance.jensenshannon(*evidently_frequencies(ref, cur)))


def test_jensen_shannon_on_numbers_uses_sturges_bins_of_both(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(size=3000), rng.normal(0.4, size=2500)
    result = column_drift(ref, cur, method="jensenshannon")
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    expected = distance.jensenshannon(
        np.histogram(ref, edges)[0] / ref.size, np.histogram(cur, edges)[0] / cur.size
    )
    assert result.score == pytest.approx(expected, rel=1e-12)


def test_psi_is_the_hand_computation_with_evidently_smoothing(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(size=3000), rng.normal(0.5, 1.3, size=2000)
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    r = np.histogram(ref, edges)[0] / ref.size
    c = np.histogram(cur, edges)[0] / cur.size
    for p in (r, c):
        smallest = p[p > 0].min()
        p[p == 0] = smallest / 1e6 if smallest <= 1e-4 else 1e-4
    expected = np.sum((r - c) * np.log(r / c))
    result = column_drift(ref, cur, method="psi")
    assert result.score == pytest.approx(expected, rel=1e-12)
    assert (result.threshold, result.drifted) == (0.1, expected >= 0.1)


def test_few_distinct_numbers_are_counted_not_binned(rng: np.random.Generator) -> None:
    ref = pd.Series(rng.integers(0, 4, size=2000).astype(float))
    cur = pd.Series(rng.integers(0, 5, size=1500).astype(float))
    result = column_drift(ref, cur)
    assert result.method == "jensenshannon"
    assert result.score == pytest.approx(distance.jensenshannon(*evidently_frequencies(ref, cur)))


# --- method selection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "kind", "distinct", "method"),
    [
        (1000, "numeric", 6, "ks"),
        (1001, "numeric", 6, "wasserstein"),
        (1000, "numeric", 5, "chisquare"),
        (1000, "numeric", 3, "chisquare"),
        (1000, "numeric", 2, "z"),
        (1001, "numeric", 5, "jensenshannon"),
        (1001, "numeric", 2, "jensenshannon"),
        (1000, "categorical", 50, "chisquare"),
        (1000, "categorical", 2, "z"),
        (1000, "categorical", 1, "z"),
        (1001, "categorical", 50, "jensenshannon"),
        (1001, "categorical", 2, "jensenshannon"),
    ],
)
def test_method_table(rows: int, kind: drift.Kind, distinct: int, method: str) -> None:
    assert choose_method(rows, kind, distinct) == method


def test_distinct_counts_both_samples_and_ignores_missing() -> None:
    ref = [1.0, 2.0, 3.0, np.nan] * 10
    assert column_drift(ref, [1.0, 2.0, 3.0] * 10).method == "chisquare"
    assert column_drift(ref, [4.0, 5.0, 6.0] * 10).method == "ks"  # 6 distinct together
    assert column_drift([True, False] * 10, [True] * 5).kind == "categorical"


# --- verdicts ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [500, 5000])
def test_numeric_shift_drifts_and_same_distribution_does_not(
    rng: np.random.Generator, size: int
) -> None:
    ref = rng.normal(10, 2, size=size)
    same = column_drift(ref, rng.normal(10, 2, size=size))
    shifted = column_drift(ref, rng.normal(11, 2, size=size))
    assert (same.drifted, shifted.drifted) == (False, True)
    assert same.method == shifted.method == ("ks" if size <= 1000 else "wasserstein")


@pytest.mark.parametrize("size", [800, 4000])
def test_categorical_shift_drifts_and_same_distribution_does_not(
    rng: np.random.Generator, size: int
) -> None:
    # Evidently's chi-squared takes the reference proportions as exact, so two samples of one
    # distribution alarm often when they are of similar size (about 1 in 4 at equal sizes);
    # a current sample much smaller than the reference keeps the nominal 5 %.
    p, q = [0.5, 0.3, 0.2], [0.25, 0.35, 0.4]
    ref = pd.Series(rng.choice(["x", "y", "z"], size=size, p=p))
    same = column_drift(ref, pd.Series(rng.choice(["x", "y", "z"], size=size // 8, p=p)))
    shifted = column_drift(ref, pd.Series(rng.choice(["x", "y", "z"], size=size // 8, p=q)))
    assert (same.drifted, shifted.drifted) == (False, True)


def test_p_value_drift_includes_the_threshold(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(size=200), rng.normal(0.2, size=200)
    p = column_drift(ref, cur, method="ks").score
    assert column_drift(ref, cur, method="ks", threshold=p).drifted
    assert not column_drift(ref, cur, method="ks", threshold=p * 0.999).drifted


# --- dataset drift -------------------------------------------------------------------------


def frames(rng: np.random.Generator, shifted: int, n: int = 600) -> tuple[pd.DataFrame, ...]:
    ref = pd.DataFrame({f"c{i}": rng.normal(size=n) for i in range(4)})
    ref["cat"] = rng.choice(["a", "b", "c"], size=n)
    cur = pd.DataFrame({f"c{i}": rng.normal(2.0 if i < shifted else 0, size=n) for i in range(4)})
    cur["cat"] = rng.choice(["a", "b", "c"], size=n)
    return ref, cur


def test_dataset_drift_share_reaches_threshold(rng: np.random.Generator) -> None:
    ref, cur = frames(rng, shifted=2)
    result = dataset_drift(ref, cur)
    assert result.drifted_columns == ["c0", "c1"]
    assert result.share == pytest.approx(2 / 5)
    assert not result.drifted
    assert dataset_drift(ref, cur, share_threshold=0.4).drifted  # reaching counts
    assert [c.method for c in result.columns] == ["ks"] * 4 + ["chisquare"]


def test_dataset_drift_per_column_overrides(rng: np.random.Generator) -> None:
    ref, cur = frames(rng, shifted=1)
    result = dataset_drift(
        ref,
        cur,
        columns=["c0", "c1", "cat"],
        methods={"c0": "psi", "cat": "jensenshannon"},
        thresholds={"c0": 100.0, "c1": 1.0},
    )
    by_name = {c.column: c for c in result.columns}
    assert (by_name["c0"].method, by_name["c0"].threshold, by_name["c0"].drifted) == (
        "psi",
        100.0,
        False,
    )
    assert (by_name["c1"].method, by_name["c1"].drifted) == ("ks", True)  # p <= 1 always
    assert (by_name["cat"].method, by_name["cat"].threshold) == ("jensenshannon", 0.1)
    assert result.share == pytest.approx(1 / 3)


# --- chunk by chunk ------------------------------------------------------------------------


def test_accumulators_match_whole_samples(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(size=3000), rng.normal(0.3, size=2000)
    edges = drift.sturges_edges(
        min(ref.min(), cur.min()), max(ref.max(), cur.max()), ref.size + cur.size
    )
    assert np.array_equal(edges, np.histogram_bin_edges(np.concatenate([ref, cur]), "sturges"))
    ref_hist, cur_hist = Histogram(edges), Histogram(edges)
    for chunk in np.array_split(ref, 7):
        ref_hist.update(chunk)
    for chunk in np.array_split(cur, 3):
        cur_hist.update(pd.Series(chunk))
    assert (ref_hist.total, cur_hist.total) == (3000, 2000)
    whole = column_drift(ref, cur, method="jensenshannon").score
    assert drift.jensen_shannon_from_counts(ref_hist.counts, cur_hist.counts) == pytest.approx(
        whole, rel=1e-12
    )

    cats = rng.choice(["a", "b", "c", None], size=5000)
    counts = CategoryCounts()
    for chunk in np.array_split(cats, 9):
        counts.update(chunk)
    assert dict(counts.counts) == pd.Series(cats).value_counts().to_dict()
    assert counts.total == int(np.sum(cats != None))  # noqa: E711


# --- input ---------------------------------------------------------------------------------


def test_unknown_method_is_named(rng: np.random.Generator) -> None:
    with pytest.raises(InvalidInput, match=r"unknown drift method 'kolmogorov'.*column 'c0'"):
        dataset_drift(*frames(rng, 0), methods={"c0": "kolmogorov"})
    with pytest.raises(InvalidInput, match="unknown drift method 'nope'"):
        column_drift([1.0, 2.0], [1.0, 2.0], method="nope")


def test_empty_columns_are_named() -> None:
    with pytest.raises(InvalidInput, match="column 'age': the current sample is empty"):
        column_drift(pd.Series([1.0, 2.0]), pd.Series([np.nan, np.nan]), column="age")
    with pytest.raises(InvalidInput, match="the reference sample is empty"):
        column_drift(pd.Series([], dtype=object), pd.Series(["a"]))


def test_other_bad_input_is_named(rng: np.random.Generator) -> None:
    ref, cur = frames(rng, 0)
    with pytest.raises(InvalidInput, match="'ks' needs a numeric column"):
        column_drift(ref["cat"], cur["cat"], method="ks")
    with pytest.raises(InvalidInput, match="missing from the current frame: \\['c3'\\]"):
        dataset_drift(ref, cur.drop(columns="c3"))
    with pytest.raises(InvalidInput, match="thresholds name columns that are not compared"):
        dataset_drift(ref, cur, columns=["c0"], thresholds={"c1": 0.1})
    with pytest.raises(InvalidInput, match=r"threshold 1\.5 is out of range for 'ks'"):
        column_drift(ref["c0"], cur["c0"], threshold=1.5)
    with pytest.raises(InvalidInput, match="share_threshold"):
        dataset_drift(ref, cur, share_threshold=2)
    with pytest.raises(InvalidInput, match="no columns"):
        dataset_drift(ref, cur, columns=[])
    with pytest.raises(InvalidInput, match="one-dimensional"):
        column_drift(np.ones((3, 2)), np.ones(3))


def test_import_leaves_scipy_and_pandas_for_later() -> None:
    code = (
        "import sys, modeldeck.monitoring.drift;"
        "print(sorted({'scipy', 'pandas'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the fast paths equal the plain ones ---------------------------------------------------


@pytest.mark.parametrize(
    ("n", "m", "decimals"),
    [(5000, 5000, None), (4000, 2500, None), (3000, 7000, 1), (1500, 1200, 0)],
)
def test_wasserstein_equals_scipy_with_ties_and_unequal_sizes(
    rng: np.random.Generator, n: int, m: int, decimals: int | None
) -> None:
    ref, cur = rng.normal(size=n), rng.normal(0.2, 1.1, size=m)
    if decimals is not None:  # many ties, within and across the samples
        ref, cur = ref.round(decimals), cur.round(decimals)
    expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert drift.wasserstein_norm(ref, cur) == pytest.approx(expected, rel=1e-12)
    assert drift.wasserstein_norm(cur, ref) == pytest.approx(
        stats.wasserstein_distance(cur, ref) / np.std(cur), rel=1e-12
    )


def test_wasserstein_leaves_its_input_alone(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(size=2000), rng.normal(size=1500)
    ref_copy, cur_copy = ref.copy(), cur.copy()
    column_drift(pd.Series(ref), pd.Series(cur))
    assert np.array_equal(ref, ref_copy) and np.array_equal(cur, cur_copy)


def test_string_and_categorical_dtypes_count_like_objects(rng: np.random.Generator) -> None:
    values = rng.choice(["a", "b", "c", None], size=4000, p=[0.5, 0.3, 0.15, 0.05])
    other = rng.choice(["a", "b", "c", "d"], size=3000)
    plain = column_drift(values.tolist(), other.tolist())
    for dtype in ("str", "string", "category"):
        ref, cur = pd.Series(values, dtype=dtype), pd.Series(other, dtype=dtype)
        result = column_drift(ref, cur)
        assert (result.method, result.score) == (plain.method, pytest.approx(plain.score))
    # categories that occur in neither sample are not values: they change nothing
    wide = pd.CategoricalDtype(["a", "b", "c", "d", "zz"])
    two = column_drift(pd.Series(["a", "b"] * 10, dtype=wide), pd.Series(["a"] * 5, dtype=wide))
    assert two.method == "z"


def test_few_distinct_numbers_counted_by_hashing_keep_signed_zero_together() -> None:
    ref = np.array([0.0, -0.0, 1.0, 2.0] * 500)
    cur = np.array([0.0, 1.0, 1.0, 2.0, -0.0] * 300)
    result = column_drift(ref, cur)
    assert result.method == "jensenshannon"
    expected = distance.jensenshannon(np.array([1000, 500, 500]), np.array([600, 600, 300]))
    assert result.score == pytest.approx(expected, rel=1e-12)
