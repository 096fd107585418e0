"""Data quality of production rows against the reference dataset's profile and the model's
signature: missing values, numbers out of the reference range, categories never seen, and
rows the signature would refuse.

The reference is the profile ``modeldeck.tracking.datasets.profile`` stores with a dataset
(``{"rows": n, "columns": {name: {"kind": ..., "missing": ..., "min": ..., ...}}}``). Columns
of the current data that the profile does not describe are ignored; a signature column that
is absent is an issue.

Nothing here raises on bad data: :func:`check_quality` reports what it found as ``Issue``
records and shares a monitor can store and alert on. The checks are vectorised per column and
only counts (plus a few examples) are kept between chunks, so :class:`QualityAccumulator` fed
chunk by chunk uses flat memory and gives the same answer as one call on the whole frame.

Signature checks follow ``modeldeck.models.signature``: integers pass as doubles, whole floats
as integers, ISO 8601 text as datetimes; a value of any other type, a missing value in a
column that is not nullable, or a category outside the signature's list violates it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from modeldeck.core.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

    from modeldeck.models.signature import ColumnSpec, Signature

ISSUE_KINDS = ("missing", "out_of_range", "unseen_category", "signature")
EXAMPLES = 5  # values quoted in an issue's detail

BoolArray = NDArray[np.bool_]

_INT_TYPES: frozenset[type] = frozenset(
    {int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64}
)
_FLOAT_TYPES: frozenset[type] = frozenset(
    {float, np.float16, np.float32, np.float64, np.longdouble}
)


@dataclass(frozen=True)
class Issue:
    """One problem in one column (``None``: the whole frame). ``share`` is ``count`` over the
    cells the check looked at: rows for ``missing`` and ``signature``, non-missing numbers
    for ``out_of_range``, non-missing categories for ``unseen_category``."""

    column: str | None
    kind: str
    count: int
    share: float
    detail: str


@dataclass(frozen=True)
class Quality:
    """What :func:`check_quality` found; the shares are over every checked column together
    and ``signature_violations`` counts rows that break at least one signature rule."""

    rows: int
    issues: tuple[Issue, ...]
    missing_share: float
    out_of_range_share: float
    unseen_category_share: float
    signature_violations: int

    def metrics(self) -> dict[str, float]:
        return {
            "missing_share": self.missing_share,
            "out_of_range_share": self.out_of_range_share,
            "unseen_category_share": self.unseen_category_share,
            "signature_violations": float(self.signature_violations),
        }


def check_quality(
    current: pd.DataFrame,
    reference_profile: Mapping[str, Any],
    signature: Signature | None = None,
    *,
    missing_tolerance: float = 0.05,
) -> Quality:
    """Quality of ``current`` against the reference profile and, if given, the signature."""
    accumulator = QualityAccumulator(
        reference_profile, signature, missing_tolerance=missing_tolerance
    )
    accumulator.update(current)
    return accumulator.result()


# --- per-column tallies ----------------------------------------------------------------------


@dataclass
class _Examples:
    """Up to ``EXAMPLES`` distinct values, in the order first seen."""

    values: list[Any] = field(default_factory=list)

    def add(self, found: Any) -> None:
        if len(self.values) >= EXAMPLES:
            return
        import pandas as pd

        for value in pd.unique(np.asarray(found, dtype=object)):
            if len(self.values) >= EXAMPLES:
                break
            plain = value.item() if isinstance(value, np.generic) else value
            if plain not in self.values:
                self.values.append(plain)

    def __str__(self) -> str:
        return ", ".join(repr(v) for v in self.values)


@dataclass
class _ProfiledColumn:
    name: str
    reference: Mapping[str, Any]
    seen_rows: int = 0  # rows of chunks that had the column
    missing: int = 0
    numbers: int = 0  # non-missing numeric cells (number columns)
    out_of_range: int = 0
    low: float = np.inf
    high: float = -np.inf
    categories: int = 0  # non-missing cells (category columns)
    unseen: int = 0
    unseen_examples: _Examples = field(default_factory=_Examples)


@dataclass
class _SignatureColumn:
    spec: ColumnSpec
    absent_rows: int = 0
    absent: bool = False
    missing: int = 0
    wrong_type: int = 0
    wrong_examples: _Examples = field(default_factory=_Examples)
    unknown: int = 0
    unknown_examples: _Examples = field(default_factory=_Examples)


class QualityAccumulator:
    """:func:`check_quality` fed chunk by chunk: ``update`` each chunk, then ``result``."""

    def __init__(
        self,
        reference_profile: Mapping[str, Any],
        signature: Signature | None = None,
        *,
        missing_tolerance: float = 0.05,
    ) -> None:
        columns = (
            reference_profile.get("columns") if isinstance(reference_profile, Mapping) else None
        )
        if not isinstance(columns, Mapping):
            raise InvalidInput(
                "the reference profile must be a mapping with a 'columns' mapping, as "
                "modeldeck.tracking.datasets.profile(frame) makes it; log the reference "
                "dataset as a DataFrame or a tabular file so it gets a profile"
            )
        if (
            isinstance(missing_tolerance, bool)
            or not isinstance(missing_tolerance, int | float)
            or not 0.0 <= missing_tolerance <= 1.0
        ):
            raise InvalidInput(
                f"missing_tolerance is a share between 0 and 1, got {missing_tolerance!r}"
            )
        for name, ref in columns.items():
            if not isinstance(ref, Mapping):
                raise InvalidInput(f"the reference profile of column {name!r} is malformed")
        self.tolerance = float(missing_tolerance)
        self.rows = 0
        self._profiled = [_ProfiledColumn(str(n), ref) for n, ref in columns.items()]
        self._signature = (
            [] if signature is None else [_SignatureColumn(spec) for spec in signature.inputs]
        )
        self._violations = 0

    def update(self, chunk: pd.DataFrame) -> None:
        import pandas as pd

        if not isinstance(chunk, pd.DataFrame):
            raise InvalidInput(
                f"data quality is checked on a pandas DataFrame, got {type(chunk).__name__}"
            )
        positions: dict[str, int] = {}
        for position, name in enumerate(chunk.columns):
            positions.setdefault(str(name), position)  # a duplicated name: the first one counts
        n = len(chunk)
        self.rows += n
        for column in self._profiled:
            i = positions.get(column.name)
            if i is not None:
                _profile_chunk(column, chunk.iloc[:, i])
        violating = np.zeros(n, dtype=bool)
        for sig in self._signature:
            i = positions.get(sig.spec.name)
            if i is None:
                sig.absent = True
                sig.absent_rows += n
                violating[:] = True
            else:
                violating |= _signature_chunk(sig, chunk.iloc[:, i])
        self._violations += int(violating.sum())

    def result(self) -> Quality:
        issues: list[Issue] = []
        missing = cells = numbers = out = categories = unseen = 0
        for column in self._profiled:
            missing += column.missing
            cells += column.seen_rows
            numbers += column.numbers
            out += column.out_of_range
            categories += column.categories
            unseen += column.unseen
            issues.extend(self._profile_issues(column))
        for sig in self._signature:
            issues.extend(self._signature_issues(sig))
        return Quality(
            rows=self.rows,
            issues=tuple(issues),
            missing_share=_share(missing, cells),
            out_of_range_share=_share(out, numbers),
            unseen_category_share=_share(unseen, categories),
            signature_violations=self._violations,
        )

    def _profile_issues(self, c: _ProfiledColumn) -> list[Issue]:
        found: list[Issue] = []
        ref_missing = float(c.reference.get("missing") or 0.0)
        absent = self.rows - c.seen_rows
        missing = c.missing + absent  # a column left out is missing in every row
        share = _share(missing, self.rows)
        if share > ref_missing + self.tolerance:
            where = f"; absent from {absent} of them" if absent else ""
            found.append(
                Issue(
                    c.name,
                    "missing",
                    missing,
                    share,
                    f"column {c.name!r} is missing in {share:.1%} of rows ({missing} of "
                    f"{self.rows}{where}), above the reference {ref_missing:.1%} plus the "
                    f"tolerance of {self.tolerance:.1%}",
                )
            )
        if c.out_of_range:
            low, high = c.reference.get("min"), c.reference.get("max")
            share = _share(c.out_of_range, c.numbers)
            found.append(
                Issue(
                    c.name,
                    "out_of_range",
                    c.out_of_range,
                    share,
                    f"{_values(c.out_of_range)} of {c.name!r} ({share:.1%}) fall outside the "
                    f"reference range [{low:g}, {high:g}]; current values run from {c.low:g} "
                    f"to {c.high:g}",
                )
            )
        if c.unseen:
            share = _share(c.unseen, c.categories)
            found.append(
                Issue(
                    c.name,
                    "unseen_category",
                    c.unseen,
                    share,
                    f"{_values(c.unseen)} of {c.name!r} ({share:.1%}) never occur in the "
                    f"reference, such as {c.unseen_examples}",
                )
            )
        return found

    def _signature_issues(self, s: _SignatureColumn) -> list[Issue]:
        spec, name, rows = s.spec, s.spec.name, self.rows
        found: list[Issue] = []
        if s.absent:
            partly = f" from {s.absent_rows} of {rows} rows" if s.absent_rows < rows else ""
            found.append(
                Issue(
                    name,
                    "signature",
                    s.absent_rows,
                    _share(s.absent_rows, rows),
                    f"column {name!r} ({spec.describe()}), which the model's signature needs, "
                    f"is absent{partly}",
                )
            )
        if s.missing:
            found.append(
                Issue(
                    name,
                    "signature",
                    s.missing,
                    _share(s.missing, rows),
                    f"column {name!r} has {_values(s.missing, 'missing ')}, but the signature "
                    f"says it is never missing ({spec.type}, not nullable)",
                )
            )
        if s.wrong_type:
            found.append(
                Issue(
                    name,
                    "signature",
                    s.wrong_type,
                    _share(s.wrong_type, rows),
                    f"column {name!r} must be {spec.type}, got {_values(s.wrong_type)} of another "
                    f"type, such as {s.wrong_examples}",
                )
            )
        if s.unknown:
            found.append(
                Issue(
                    name,
                    "signature",
                    s.unknown,
                    _share(s.unknown, rows),
                    f"column {name!r} has {_values(s.unknown)} outside the signature's "
                    f"{len(spec.categories or ())} categories, such as {s.unknown_examples}",
                )
            )
        return found


# --- the checks on one chunk of one column --------------------------------------------------


def _profile_chunk(column: _ProfiledColumn, series: pd.Series[Any]) -> None:
    import pandas as pd

    missing = series.isna().to_numpy(dtype=bool)
    column.seen_rows += len(series)
    column.missing += int(missing.sum())
    kind = column.reference.get("kind")
    if kind == "number":
        low, high = column.reference.get("min"), column.reference.get("max")
        if low is None or high is None:
            return  # the reference had no finite numbers: no range to hold values to
        values = _numbers(series)
        if values is None:
            return
        present = values[~np.isnan(values)]
        if present.size == 0:
            return
        column.numbers += int(present.size)
        # the range is inclusive: the reference's own extremes are in range
        column.out_of_range += int(np.count_nonzero((present < low) | (present > high)))
        column.low = min(column.low, float(present.min()))
        column.high = max(column.high, float(present.max()))
    elif kind == "category":
        frequencies = column.reference.get("frequencies") or {}
        if int(column.reference.get("distinct") or 0) > len(frequencies):
            # The profile lists only the most frequent categories (TOP_CATEGORIES): a value
            # missing from the list may well be in the reference, so unseen is not decided.
            return
        text = _category_text(series[~missing])
        column.categories += len(text)
        unseen = ~text.isin(list(frequencies))
        count = int(unseen.sum())
        if count:
            column.unseen += count
            column.unseen_examples.add(pd.unique(text[unseen].to_numpy()))


def _numbers(series: pd.Series[Any]) -> NDArray[np.float64] | None:
    """The column as floats (NaN for missing or non-numeric); None when it holds no numbers."""
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_numeric_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        # text that is not a number is a type problem, the signature's business, not a range
        numbers = pd.to_numeric(series, errors="coerce")
        return numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return None


def _category_text(series: pd.Series[Any]) -> pd.Series[Any]:
    """Values as the profile writes them (``str``), with whole floats as integers so a
    column that became float through a missing value still reads ``"3"``, not ``"3.0"``."""
    import pandas as pd

    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64)
        whole = np.isfinite(values) & (values == np.floor(values))
        text = series.astype(str).astype(object)
        text[whole] = values[whole].astype(np.int64).astype(str)
        return text
    return series.astype(str)


def _signature_chunk(sig: _SignatureColumn, series: pd.Series[Any]) -> BoolArray:
    """Count this chunk's violations of ``sig.spec``; the rows that violate it."""
    import pandas as pd

    spec = sig.spec
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    missing = series.isna().to_numpy(dtype=bool)
    nulls = np.zeros_like(missing) if spec.nullable else missing
    wrong = _wrong_type(series, missing, spec.type)
    unknown = np.zeros_like(missing)
    if spec.categories is not None:
        is_text = ~missing & ~wrong
        values = series.to_numpy(dtype=object)
        unknown[is_text] = ~pd.Series(values[is_text], dtype=object).isin(
            list(spec.categories)
        ).to_numpy(dtype=bool)
        if unknown.any():
            sig.unknown += int(unknown.sum())
            sig.unknown_examples.add(values[unknown])
    if wrong.any():
        sig.wrong_type += int(wrong.sum())
        sig.wrong_examples.add(series.to_numpy(dtype=object)[wrong])
    sig.missing += int(nulls.sum())
    violating: BoolArray = nulls | wrong | unknown
    return violating


def _wrong_type(series: pd.Series[Any], missing: BoolArray, expected: str) -> BoolArray:
    """Non-missing values that are not of the ``expected`` signature type."""
    import pandas as pd

    dtype = series.dtype
    present = ~missing
    none = np.zeros_like(missing)
    if pd.api.types.is_bool_dtype(dtype):
        return none if expected == "boolean" else present
    if pd.api.types.is_integer_dtype(dtype):
        return none if expected in ("integer", "double") else present
    if pd.api.types.is_float_dtype(dtype):
        if expected == "double":
            return none
        if expected == "integer":
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                fractional: BoolArray = present & (values != np.floor(values))
            return fractional
        return present
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return none if expected == "datetime" else present
    if pd.api.types.is_object_dtype(dtype) and not isinstance(dtype, pd.StringDtype):
        return _wrong_objects(series.to_numpy(dtype=object), present, expected)
    if pd.api.types.is_string_dtype(dtype):
        if expected == "string":
            return none
        if expected == "datetime":
            values = series.to_numpy(dtype=object)
            bad = np.zeros_like(missing)
            bad[present] = ~_iso_datetimes(values[present])
            return bad
        return present
    return present  # periods, intervals, complex numbers...: no signature type fits


def _wrong_objects(values: NDArray[Any], present: BoolArray, expected: str) -> BoolArray:
    """Object columns can hold anything: look at each value's type (a hashed lookup)."""
    import pandas as pd

    bad = np.zeros(len(values), dtype=bool)
    held = values[present]
    if held.size == 0:
        return bad
    accepted = _ACCEPTED[expected]
    if expected == "datetime":
        accepted |= {pd.Timestamp}
    types = pd.Series(held, dtype=object).map(type)  # exact types: bool is no integer here
    ok = types.isin(list(accepted)).to_numpy(dtype=bool, copy=True)
    if expected == "integer":  # whole floats stand in for integers
        floats = types.isin(list(_FLOAT_TYPES)).to_numpy(dtype=bool)
        numbers = held[floats].astype(np.float64)
        ok[floats] = numbers == np.floor(numbers)
    elif expected == "datetime":  # as JSON spells datetimes
        text = types.isin([str, np.str_]).to_numpy(dtype=bool)
        ok[text] = _iso_datetimes(held[text])
    bad[present] = ~ok
    return bad


def _iso_datetimes(values: NDArray[Any]) -> BoolArray:
    """Which of ``values`` (text) read as ISO 8601 datetimes."""
    import pandas as pd

    if values.size == 0:
        return np.zeros(0, dtype=bool)
    try:
        parsed = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601", errors="coerce")
        return parsed.notna().to_numpy(dtype=bool)
    except (ValueError, TypeError):  # mixed time zones and the like: one value at a time
        return np.fromiter((_is_iso(v) for v in values), dtype=bool, count=values.size)


def _is_iso(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.notna(pd.to_datetime(value, format="ISO8601")))
    except (ValueError, TypeError):
        return False


_ACCEPTED: dict[str, frozenset[type]] = {
    "integer": _INT_TYPES,
    "double": _INT_TYPES | _FLOAT_TYPES,
    "boolean": frozenset({bool, np.bool_}),
    "string": frozenset({str, np.str_}),
    "datetime": frozenset({dt.datetime, dt.date, np.datetime64}),
}


def _values(count: int, adjective: str = "") -> str:
    return f"{count} {adjective}value" + ("" if count == 1 else "s")


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0
