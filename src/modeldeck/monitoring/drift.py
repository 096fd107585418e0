"""Feature drift per column, and dataset drift from the share of drifted columns.

The default method for a column is picked the way Evidently (0.7, ``get_stattest``) picks it,
so the two can be compared column by column:

=====================  ==========================  ==========================
column                 reference rows <= 1,000     reference rows > 1,000
=====================  ==========================  ==========================
numeric, > 5 distinct  ``ks`` (p-value)            ``wasserstein`` (distance)
2 or fewer distinct    ``z`` (p-value)             ``jensenshannon`` (distance)
anything else          ``chisquare`` (p-value)     ``jensenshannon`` (distance)
=====================  ==========================  ==========================

"Distinct" counts the values of reference and current together, missing values left out.
A p-value method drifts at ``score <= threshold`` (0.05 by default), a distance at
``score >= threshold`` (0.1 by default). ``psi`` is never chosen, only selectable.

Missing values (None, NaN, and for numeric columns infinities) are dropped before testing,
as Evidently does. Jensen-Shannon and PSI on a numeric column with more than 20 distinct
reference values compare histograms over Sturges bins of the two samples together; otherwise
they compare the frequencies of each value, like chi-squared.

Memory: the frequency methods (``chisquare``, ``z``, ``jensenshannon``, ``psi``) only need
counts, so :class:`CategoryCounts` and :class:`Histogram` build those chunk by chunk and the
``*_from_counts`` functions finish the job. ``ks`` and ``wasserstein`` need both samples
whole (scipy sorts them), so they hold one column at a time, never the whole frame twice.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from modeldeck.core.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["numeric", "categorical"]
FloatArray = NDArray[np.float64]

SMALL_REFERENCE = 1000  # at most this many reference rows: p-value tests, above: distances
NUMERIC_DISTINCT = 5  # a numeric column needs more distinct values than this to be numeric
HISTOGRAM_DISTINCT = 20  # jensenshannon/psi bin a numeric column with more reference values
P_VALUE_THRESHOLD = 0.05
DISTANCE_THRESHOLD = 0.1
SHARE_THRESHOLD = 0.5
STD_FLOOR = 0.001  # Evidently's floor on the reference std that normalises Wasserstein

P_VALUE_METHODS = frozenset({"ks", "chisquare", "z"})
DISTANCE_METHODS = frozenset({"wasserstein", "jensenshannon", "psi"})
NUMERIC_ONLY = frozenset({"ks", "wasserstein"})
METHODS = ("ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi")


@dataclass(frozen=True)
class ColumnDrift:
    """One column's verdict. ``score`` is a p-value for ``ks``, ``chisquare`` and ``z``
    (drifted when ``score <= threshold``) and a distance otherwise (drifted when
    ``score >= threshold``); ``statistic`` is the test statistic of p-value methods."""

    column: str
    kind: Kind
    method: str
    score: float
    threshold: float
    drifted: bool
    statistic: float | None = None


@dataclass(frozen=True)
class DatasetDrift:
    """Dataset drift: ``drifted`` when ``share`` of drifted columns reaches ``threshold``."""

    columns: list[ColumnDrift]
    share: float
    threshold: float
    drifted: bool

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]


# --- method selection ----------------------------------------------------------------------


def choose_method(reference_rows: int, kind: Kind, distinct: int) -> str:
    """The method Evidently would choose for a column (see the module's table)."""
    if kind == "numeric" and distinct > NUMERIC_DISTINCT:
        return "ks" if reference_rows <= SMALL_REFERENCE else "wasserstein"
    if reference_rows > SMALL_REFERENCE:
        return "jensenshannon"
    return "chisquare" if distinct > 2 else "z"


def default_threshold(method: str) -> float:
    _check_method(method)
    return P_VALUE_THRESHOLD if method in P_VALUE_METHODS else DISTANCE_THRESHOLD


def _check_method(method: str, column: str | None = None) -> None:
    if method not in METHODS:
        where = f" for column {column!r}" if column is not None else ""
        raise InvalidInput(f"unknown drift method {method!r}{where}; known: {', '.join(METHODS)}")


# --- counts, built whole or chunk by chunk -------------------------------------------------


class CategoryCounts:
    """How often each value occurs, fed chunk by chunk; missing values are not counted."""

    def __init__(self) -> None:
        self._counts: dict[Any, int] = {}
        self.total = 0

    def update(self, chunk: Any) -> CategoryCounts:
        values, counts = _value_counts(_categorical_values(chunk))
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            self._counts[value] = self._counts.get(value, 0) + count
        self.total += int(counts.sum())
        return self

    @property
    def counts(self) -> Mapping[Any, int]:
        return self._counts


class Histogram:
    """Counts of numeric values in fixed ``edges``, fed chunk by chunk (NaN and infinities
    are not counted; values outside the edges are not counted, as with ``np.histogram``)."""

    def __init__(self, edges: Sequence[float] | FloatArray) -> None:
        self.edges = np.asarray(edges, dtype=np.float64)
        if self.edges.ndim != 1 or self.edges.size < 2 or np.any(np.diff(self.edges) < 0):
            raise InvalidInput("histogram edges must be at least two increasing numbers")
        self.counts = np.zeros(self.edges.size - 1, dtype=np.int64)

    def update(self, chunk: Any) -> Histogram:
        values = _numeric_values(chunk)
        self.counts += np.histogram(values, self.edges)[0]
        return self

    @property
    def total(self) -> int:
        return int(self.counts.sum())


def sturges_edges(low: float, high: float, size: int) -> FloatArray:
    """The edges ``np.histogram_bin_edges(values, "sturges")`` gives for ``size`` values
    spanning ``[low, high]``: what Evidently bins a numeric column with, from two numbers
    a first pass over the chunks can find."""
    if size < 1:
        raise InvalidInput("cannot bin an empty sample")
    return np.histogram_bin_edges(
        np.array([low, high]), bins=_sturges_bins(low, high, size), range=(low, high)
    )


def _sturges_bins(low: float, high: float, size: int) -> int:
    width = (high - low) / (math.log2(size) + 1.0)
    return max(1, math.ceil((high - low) / width)) if width > 0 else 1


def aligned_counts(
    reference: Mapping[Any, int], current: Mapping[Any, int]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Reference and current counts over the union of their values, sorted where the values
    can be ordered (the z-test compares the share of the first one, as Evidently does)."""
    keys: list[Any] = list(dict.fromkeys([*reference, *current]))
    with contextlib.suppress(TypeError):  # mixed types: any order will do but for the z-test
        keys.sort()
    ref = np.fromiter((reference.get(k, 0) for k in keys), dtype=np.int64, count=len(keys))
    cur = np.fromiter((current.get(k, 0) for k in keys), dtype=np.int64, count=len(keys))
    return ref, cur


# --- the methods ---------------------------------------------------------------------------


def ks(reference: FloatArray, current: FloatArray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov: ``(p-value, statistic)``."""
    from scipy import stats

    result = stats.ks_2samp(reference, current)
    return float(result.pvalue), float(result.statistic)


def wasserstein_norm(reference: FloatArray, current: FloatArray) -> float:
    """First Wasserstein distance divided by the reference std (at least 0.001)."""
    from scipy import stats

    norm = max(float(np.std(reference)), STD_FLOOR)
    return float(stats.wasserstein_distance(reference, current)) / norm


def chi2_from_counts(
    reference: NDArray[np.int64], current: NDArray[np.int64]
) -> tuple[float, float]:
    """Chi-squared of current counts against reference proportions scaled to the current
    size: ``(p-value, statistic)``. A value unseen in the reference gives p = 0."""
    from scipy import stats

    ref_total, cur_total = int(reference.sum()), int(current.sum())
    expected = reference * (cur_total / ref_total)
    if np.any((expected == 0) & (current > 0)):
        return 0.0, math.inf
    seen = expected > 0
    if np.count_nonzero(seen) < 2:
        return 1.0, 0.0  # one value only, in both samples: nothing can differ
    result = stats.chisquare(current[seen], expected[seen])
    return float(result.pvalue), float(result.statistic)


def z_from_counts(reference: NDArray[np.int64], current: NDArray[np.int64]) -> tuple[float, float]:
    """Two-proportion z-test of the share of the first value: ``(p-value, z)``."""
    from scipy import stats

    n1, n2 = int(reference.sum()), int(current.sum())
    p1 = 1.0 - reference[0] / n1
    p2 = 1.0 - current[0] / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    spread = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if spread == 0:
        return 1.0, 0.0  # every row holds the same value
    z = float((p1 - p2) / math.sqrt(spread))
    return float(2.0 * stats.norm.sf(abs(z))), z


def jensen_shannon_from_counts(reference: NDArray[np.int64], current: NDArray[np.int64]) -> float:
    """Jensen-Shannon distance (natural log) of the two frequency vectors, unsmoothed."""
    from scipy.spatial import distance

    ref = reference / reference.sum()
    cur = current / current.sum()
    return float(distance.jensenshannon(ref, cur))


def psi_from_counts(reference: NDArray[np.int64], current: NDArray[np.int64]) -> float:
    """Population stability index, with Evidently's smoothing of empty buckets."""
    ref = _fill_zeros(reference / reference.sum())
    cur = _fill_zeros(current / current.sum())
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def _fill_zeros(percents: FloatArray) -> FloatArray:
    nonzero = percents[percents != 0]
    smallest = float(nonzero.min())
    return np.where(percents == 0, smallest / 1e6 if smallest <= 1e-4 else 1e-4, percents)


def chi2(reference: Any, current: Any) -> tuple[float, float]:
    return chi2_from_counts(*_frequencies(reference, current))


def z_test(reference: Any, current: Any) -> tuple[float, float]:
    return z_from_counts(*_frequencies(reference, current))


def jensen_shannon(reference: Any, current: Any) -> float:
    return jensen_shannon_from_counts(*_binned(reference, current))


def psi(reference: Any, current: Any) -> float:
    return psi_from_counts(*_binned(reference, current))


def _frequencies(reference: Any, current: Any) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    ref, cur = _as_values(reference), _as_values(current)
    if ref.dtype.kind == "f" and cur.dtype.kind == "f":
        ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
        values = np.unique(np.concatenate([ref, cur]))
        return (
            np.bincount(np.searchsorted(values, ref), minlength=values.size),
            np.bincount(np.searchsorted(values, cur), minlength=values.size),
        )
    return aligned_counts(CategoryCounts().update(ref).counts, CategoryCounts().update(cur).counts)


def _binned(reference: Any, current: Any) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    ref, cur = _as_values(reference), _as_values(current)
    if ref.dtype.kind == "f" and cur.dtype.kind == "f":
        ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
        if np.unique(ref).size > HISTOGRAM_DISTINCT:
            edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
            return np.histogram(ref, edges)[0], np.histogram(cur, edges)[0]
    return _frequencies(ref, cur)


# --- one column, a whole frame -------------------------------------------------------------


def column_drift(
    reference: Any,
    current: Any,
    *,
    method: str | None = None,
    threshold: float | None = None,
    column: str = "",
) -> ColumnDrift:
    """Drift of one column (a pandas Series, numpy array or sequence) from reference to
    current; ``method`` and ``threshold`` default as the module's docstring says."""
    if method is not None:
        _check_method(method, column or None)
    name = f"column {column!r}" if column else "the column"
    ref, cur = _as_values(reference), _as_values(current)
    kind: Kind = "numeric" if ref.dtype.kind == "f" and cur.dtype.kind == "f" else "categorical"
    ref_counts = cur_counts = np.zeros(0, dtype=np.int64)
    if kind == "numeric":
        ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    else:
        ref, cur = _categorical_values(ref), _categorical_values(cur)
    if ref.size == 0 or cur.size == 0:
        which = "reference" if ref.size == 0 else "current"
        raise InvalidInput(f"{name}: the {which} sample is empty (missing values left out)")
    if kind == "numeric":
        distinct = _distinct_numbers(ref, cur)
    else:
        ref_counts, cur_counts = aligned_counts(
            CategoryCounts().update(ref).counts, CategoryCounts().update(cur).counts
        )
        distinct = ref_counts.size
    chosen = method or choose_method(ref.size, kind, distinct)
    if chosen in NUMERIC_ONLY and kind != "numeric":
        raise InvalidInput(f"{name}: {chosen!r} needs a numeric column, it holds categories")
    limit = (
        default_threshold(chosen)
        if threshold is None
        else _check_threshold(threshold, chosen, name)
    )
    statistic: float | None = None
    if chosen == "ks":
        score, statistic = ks(ref, cur)
    elif chosen == "wasserstein":
        score = wasserstein_norm(ref, cur)
    else:
        if kind == "numeric":
            counter = _binned if chosen in ("jensenshannon", "psi") else _frequencies
            ref_counts, cur_counts = counter(ref, cur)
        finish = _FROM_COUNTS[chosen]
        result = finish(ref_counts, cur_counts)
        if isinstance(result, tuple):
            score, statistic = result
        else:
            score = result
    drifted = score <= limit if chosen in P_VALUE_METHODS else score >= limit
    return ColumnDrift(
        column=column,
        kind=kind,
        method=chosen,
        score=float(score),
        threshold=limit,
        drifted=bool(drifted),
        statistic=statistic,
    )


_FROM_COUNTS: dict[
    str, Callable[[NDArray[np.int64], NDArray[np.int64]], float | tuple[float, float]]
] = {
    "chisquare": chi2_from_counts,
    "z": z_from_counts,
    "jensenshannon": jensen_shannon_from_counts,
    "psi": psi_from_counts,
}


def dataset_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Iterable[str] | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    share_threshold: float = SHARE_THRESHOLD,
) -> DatasetDrift:
    """Drift of each column (all of the reference's by default) and of the dataset: drifted
    when the share of drifted columns is at least ``share_threshold``."""
    if not (isinstance(share_threshold, int | float) and 0 <= share_threshold <= 1):
        raise InvalidInput(f"share_threshold must be between 0 and 1, not {share_threshold!r}")
    names = [str(c) for c in (reference.columns if columns is None else columns)]
    if not names:
        raise InvalidInput("no columns to compare")
    methods, thresholds = dict(methods or {}), dict(thresholds or {})
    for label, given in (("methods", methods), ("thresholds", thresholds)):
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise InvalidInput(f"{label} name columns that are not compared: {unknown}")
    for frame, which in ((reference, "reference"), (current, "current")):
        missing = [n for n in names if n not in frame.columns]
        if missing:
            raise InvalidInput(f"columns missing from the {which} frame: {missing}")
    results = [
        column_drift(
            reference[n],
            current[n],
            method=methods.get(n),
            threshold=thresholds.get(n),
            column=n,
        )
        for n in names
    ]
    share = sum(r.drifted for r in results) / len(results)
    return DatasetDrift(
        columns=results,
        share=share,
        threshold=float(share_threshold),
        drifted=share >= share_threshold,
    )


# --- input ---------------------------------------------------------------------------------


def _distinct_numbers(reference: FloatArray, current: FloatArray) -> int:
    """Distinct values of both samples, exact up to the most the method table looks at:
    a head with more than that settles it without sorting millions of rows."""
    head = np.unique(np.concatenate([reference[:1000], current[:1000]])).size
    if head > NUMERIC_DISTINCT:
        return int(head)
    return int(np.unique(np.concatenate([reference, current])).size)


def _check_threshold(threshold: float, method: str, name: str) -> float:
    value = float(threshold)
    top = 1.0 if method in P_VALUE_METHODS else math.inf
    if not (0 <= value <= top) or math.isnan(value):
        raise InvalidInput(f"{name}: threshold {threshold!r} is out of range for {method!r}")
    return value


def _as_values(data: Any) -> NDArray[Any]:
    """Numeric data as float64 (missing as NaN); anything else as an object array."""
    if hasattr(data, "to_numpy") and hasattr(data, "dtype"):
        from pandas.api import types

        if types.is_numeric_dtype(data.dtype) and not types.is_bool_dtype(data.dtype):
            return np.asarray(data.to_numpy(dtype=np.float64, na_value=np.nan))
        return np.asarray(data.to_numpy(dtype=object))
    array = np.asarray(data)
    if array.ndim != 1:
        raise InvalidInput(f"a column must be one-dimensional, not of shape {array.shape}")
    if array.dtype.kind in "iuf":
        return array.astype(np.float64, copy=False)
    objects: NDArray[Any] = array.astype(object, copy=False)
    return objects


def _numeric_values(data: Any) -> FloatArray:
    values = _as_values(data)
    if values.dtype.kind != "f":
        raise InvalidInput("a histogram needs numeric values")
    finite: FloatArray = values[np.isfinite(values)]
    return finite


def _categorical_values(data: Any) -> NDArray[Any]:
    values = _as_values(data)
    if values.dtype.kind == "f":
        present: NDArray[Any] = values[~np.isnan(values)]
        return present
    import pandas as pd

    present = values[~pd.isna(values)]
    return present


def _value_counts(values: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.int64]]:
    if values.dtype.kind == "f":
        unique, counts = np.unique(values, return_counts=True)
        found: NDArray[Any] = np.asarray(unique)
        return found, np.asarray(counts, dtype=np.int64)
    import pandas as pd

    # pandas hashes, so mixed types (numbers and text) count without needing an order
    counted = pd.Series(values, dtype=object).value_counts(sort=False)
    keys: NDArray[Any] = counted.index.to_numpy(dtype=object)
    return keys, np.asarray(counted.to_numpy(dtype=np.int64), dtype=np.int64)
