"""What a model takes and gives: column names, types, nullability, categories; output type.

A ``Signature`` is inferred from an input example (``infer_signature``), stored in the model
package as JSON and enforced on every prediction (``enforce``, or an ``Enforcer`` compiled
once per loaded model). Enforcement is strict where a mistake would silently change
predictions and lenient where nothing can go wrong:

- a missing column, a value of the wrong type, a missing value in a column that had none, or a
  category the model never saw is a ``SignatureError`` naming the column and what was expected;
- integers are accepted where doubles are expected, floats with no fractional part where
  integers are, ISO 8601 strings where datetimes are (as JSON spells them); extra columns are
  dropped and columns are put in the signature's order.

Checks run per column on whole arrays, and what a column's dtype alone decides (an int64 column
can hold no missing value; a categorical's categories are fixed) is worked out once per
combination of dtypes and remembered, so a one-row prediction pays a few microseconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modeldeck.core.errors import InvalidInput

TYPES = ("integer", "double", "boolean", "string", "datetime")
# A string column of the example becomes categorical when it has at most this many values...
MAX_CATEGORIES = 50
# ...and each is seen this many times on average, so the example plausibly shows them all.
MIN_ROWS_PER_CATEGORY = 10
_SHOW_CATEGORIES = 10
_SMALL = 256  # below this many rows, Python sets beat pandas' hash tables


class SignatureError(InvalidInput):
    """Data that does not match a model's signature; ``column`` names the column at fault."""

    def __init__(self, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One input column. ``categories`` (string columns only) lists every accepted value."""

    name: str
    type: str
    nullable: bool = False
    categories: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInput(f"a column name must be a non-empty string, got {self.name!r}")
        if self.type not in TYPES:
            raise InvalidInput(
                f"column {self.name!r} has unknown type {self.type!r}; "
                f"use one of {', '.join(TYPES)}"
            )
        if self.categories is not None:
            if self.type != "string":
                raise InvalidInput(f"column {self.name!r}: only string columns have categories")
            cats = tuple(self.categories)
            if not cats or not all(isinstance(c, str) for c in cats):
                raise InvalidInput(f"column {self.name!r}: categories must be non-empty strings")
            object.__setattr__(self, "categories", cats)

    def describe(self) -> str:
        """``integer``, ``double, nullable``, ``string, one of 3 values``: for messages."""
        text = self.type
        if self.nullable:
            text += ", nullable"
        if self.categories is not None:
            text += f", one of {len(self.categories)} values"
        return text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "nullable": self.nullable}
        if self.categories is not None:
            out["categories"] = list(self.categories)
        return out


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """What ``predict`` returns: element type, shape (``-1`` for the rows) and class labels."""

    type: str
    shape: tuple[int, ...] = (-1,)
    classes: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise InvalidInput(f"unknown output type {self.type!r}; use one of {', '.join(TYPES)}")
        shape = tuple(int(n) for n in self.shape)
        if not shape or any(n < -1 or n == 0 for n in shape):
            raise InvalidInput(f"invalid output shape {self.shape!r}")
        object.__setattr__(self, "shape", shape)
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(_json_scalar(c) for c in self.classes))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "shape": list(self.shape)}
        if self.classes is not None:
            out["classes"] = list(self.classes)
        return out


@dataclass(frozen=True)
class Signature:
    """A model's inputs (in the order the model wants them) and, when known, its output."""

    inputs: tuple[ColumnSpec, ...]
    outputs: OutputSpec | None = None
    _enforcer: Enforcer | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        inputs = tuple(self.inputs)
        if not inputs:
            raise InvalidInput("a signature needs at least one input column")
        seen: set[str] = set()
        for spec in inputs:
            if not isinstance(spec, ColumnSpec):
                raise InvalidInput(f"signature inputs must be ColumnSpec, got {spec!r}")
            if spec.name in seen:
                raise InvalidInput(f"column {spec.name!r} appears twice in the signature")
            seen.add(spec.name)
        object.__setattr__(self, "inputs", inputs)

    @property
    def columns(self) -> list[str]:
        return [spec.name for spec in self.inputs]

    def column(self, name: str) -> ColumnSpec:
        for spec in self.inputs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def enforcer(self) -> Enforcer:
        """The compiled checks of this signature, built once."""
        if self._enforcer is None:
            object.__setattr__(self, "_enforcer", Enforcer(self))
        assert self._enforcer is not None
        return self._enforcer

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": [spec.to_dict() for spec in self.inputs],
            "outputs": None if self.outputs is None else self.outputs.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        """Rebuild a signature from ``to_dict`` output; InvalidInput says what is malformed."""
        if not isinstance(data, Mapping) or not isinstance(data.get("inputs"), list):
            raise InvalidInput("a signature must be a mapping with an 'inputs' list")
        inputs = []
        for i, item in enumerate(data["inputs"]):
            if not isinstance(item, Mapping) or set(item) - _SPEC_KEYS:
                raise InvalidInput(f"signature input {i} is malformed: {item!r}")
            nullable = item.get("nullable", False)
            if not isinstance(nullable, bool):
                raise InvalidInput(f"signature input {i}: 'nullable' must be true or false")
            cats = item.get("categories")
            if cats is not None and not isinstance(cats, list):
                raise InvalidInput(f"signature input {i}: 'categories' must be a list")
            inputs.append(
                ColumnSpec(
                    name=item.get("name"),  # type: ignore[arg-type]  # checked by ColumnSpec
                    type=item.get("type"),  # type: ignore[arg-type]
                    nullable=nullable,
                    categories=None if cats is None else tuple(cats),
                )
            )
        raw_out = data.get("outputs")
        outputs = None
        if raw_out is not None:
            if not isinstance(raw_out, Mapping) or not isinstance(raw_out.get("shape", [-1]), list):
                raise InvalidInput(f"signature outputs are malformed: {raw_out!r}")
            classes = raw_out.get("classes")
            if classes is not None and not isinstance(classes, list):
                raise InvalidInput("signature outputs: 'classes' must be a list")
            outputs = OutputSpec(
                type=raw_out.get("type"),  # type: ignore[arg-type]  # checked by OutputSpec
                shape=tuple(raw_out.get("shape", [-1])),
                classes=None if classes is None else tuple(classes),
            )
        return cls(tuple(inputs), outputs)


_SPEC_KEYS = frozenset({"name", "type", "nullable", "categories"})


# -- inference ---------------------------------------------------------------------------------


def infer_signature(input_example: Any, output: Any = None) -> Signature:
    """The signature an example implies: each column's type, whether it has missing values,
    and, for categorical columns, the values seen (see ``MAX_CATEGORIES``).

    ``input_example`` is a DataFrame, a list of dicts or a dict of lists. A column with missing
    values is nullable; give an example with missing values where they can occur (the whole
    training frame works well), or build the ``Signature`` by hand. ``output`` is what the
    model returned for the example.
    """
    frame = as_frame(input_example)
    if frame.shape[1] == 0:
        raise InvalidInput("the input example has no columns")
    inputs = tuple(_infer_column(name, frame[name]) for name in frame.columns)
    return Signature(inputs, None if output is None else infer_output(output))


def infer_output(output: Any, classes: Sequence[Any] | None = None) -> OutputSpec:
    """The output spec of predictions ``output`` (array, Series, DataFrame or list)."""
    if isinstance(output, pd.DataFrame):
        dtypes = {_type_of_dtype(d, output[c]) for c, d in output.dtypes.items()}
        kind = dtypes.pop() if len(dtypes) == 1 else "double"
        return OutputSpec(kind, (-1, output.shape[1]), _classes(classes))
    values = output.to_numpy() if isinstance(output, pd.Series) else np.asarray(output)
    if values.ndim == 0:
        raise InvalidInput("model output for the example is a scalar; expected one value per row")
    kind = _type_of_dtype(values.dtype, pd.Series(values.ravel()[:1000]))
    return OutputSpec(kind, (-1, *values.shape[1:]), _classes(classes))


def _classes(classes: Sequence[Any] | None) -> tuple[Any, ...] | None:
    return None if classes is None else tuple(_json_scalar(c) for c in classes)


def _infer_column(name: object, series: pd.Series) -> ColumnSpec:
    if not isinstance(name, str):
        raise InvalidInput(f"column names must be strings, got {name!r}")
    nullable = bool(series.isna().any())
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        kind = _type_of_dtype(cats.dtype, pd.Series(cats))
        if kind == "string":
            return ColumnSpec(name, "string", nullable, tuple(str(c) for c in cats))
        return ColumnSpec(name, kind, nullable)
    kind = _type_of_dtype(dtype, series)
    categories = None
    if kind == "string":
        values = series.dropna()
        distinct = values.unique()
        if 0 < len(distinct) <= MAX_CATEGORIES and len(values) >= MIN_ROWS_PER_CATEGORY * len(
            distinct
        ):
            categories = tuple(sorted(str(v) for v in distinct))
    return ColumnSpec(name, kind, nullable, categories)


def _type_of_dtype(dtype: Any, series: pd.Series) -> str:
    """One of TYPES for ``dtype``, looking at values only for object columns."""
    kind = _classify(dtype)
    if kind in TYPES:
        return kind
    if kind == "object":
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        found = _INFERRED.get(inferred)
        if found is not None:
            return found
        if inferred == "empty":
            raise InvalidInput(
                f"column {series.name!r} has only missing values in the example, so its type "
                "cannot be inferred; give an example with values or a signature"
            )
        raise InvalidInput(f"column {series.name!r} holds {inferred} values, which have no type")
    raise InvalidInput(
        f"column {series.name!r} has dtype {dtype}, which a signature cannot describe; "
        f"convert it to one of {', '.join(TYPES)}"
    )


# -- converting input --------------------------------------------------------------------------


def as_frame(data: Any) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a list of dicts, a dict of lists or a dict of scalars."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        if not data:
            raise InvalidInput("the input is an empty dict")
        if all(_is_scalar(v) for v in data.values()):
            return pd.DataFrame([dict(data)])
        quick = _plain_frame(data)
        if quick is not None:
            return quick
        try:
            return pd.DataFrame(dict(data))
        except ValueError as e:
            raise InvalidInput(f"cannot make a table of the input dict: {e}") from None
    if isinstance(data, list | tuple):
        if not data:
            raise InvalidInput("the input is an empty list")
        if not all(isinstance(row, Mapping) for row in data):
            raise InvalidInput("a list input must be a list of dicts, one per row")
        if len(data) > _SMALL:
            return pd.DataFrame.from_records(list(data))
        # a few rows, as a request carries them: columns are quicker to build than records
        names = list(dict.fromkeys(key for row in data for key in row))
        return pd.DataFrame({name: [row.get(name) for row in data] for name in names})
    raise InvalidInput(
        f"cannot predict on {type(data).__name__}: pass a pandas DataFrame, a list of dicts "
        "(one per row) or a dict of lists (one per column)"
    )


# pandas' own constructor infers each column's type through several layers (~1 ms for a
# one-row, eleven-column request on a small machine); plain lists of one Python type need none
# of that. Private, hence the public fallback (as for _COLUMN_ARRAY below).
_FROM_ARRAYS: Callable[..., pd.DataFrame] | None = getattr(pd.DataFrame, "_from_arrays", None)
_PLAIN_DTYPES: dict[type, Any] = {bool: bool, int: np.int64, float: np.float64, str: object}


def _plain_frame(data: Mapping[Any, Any]) -> pd.DataFrame | None:
    """A frame of equal-length lists whose every column holds one of bool, int, float or str
    (ints mixed with floats are floats), built without pandas' inference; None for anything
    else (None values, other types, ragged lists), which pandas then builds as usual."""
    arrays = []
    rows = -1
    for values in data.values():
        if not isinstance(values, list) or not values or (rows >= 0 and len(values) != rows):
            return None
        rows = len(values)
        kinds = {type(v) for v in values}
        if kinds == {int, float}:
            kinds = {float}
        if len(kinds) != 1:
            return None
        dtype = _PLAIN_DTYPES.get(kinds.pop())
        if dtype is None:
            return None
        try:
            arrays.append(np.array(values, dtype=dtype))
        except OverflowError:  # an int beyond 64 bits: let pandas decide
            return None
    columns = pd.Index(list(data))
    if _FROM_ARRAYS is None:
        return pd.DataFrame(dict(zip(columns, arrays, strict=True)), copy=False)
    return _FROM_ARRAYS(arrays, columns=columns, index=pd.RangeIndex(rows), verify_integrity=False)


def _is_scalar(value: object) -> bool:
    return value is None or bool(pd.api.types.is_scalar(value))


# -- enforcement -------------------------------------------------------------------------------


def enforce(signature: Signature, data: Any) -> pd.DataFrame:
    """``data`` as a DataFrame with the signature's columns, in its order; SignatureError else."""
    return signature.enforcer()(data)


# A check takes a column and its spec, raises SignatureError or returns a replacement column
# (or None); a probe looks at a column's raw values and says whether the check must run.
_Check = Callable[[pd.Series, ColumnSpec], "pd.Series | None"]
_Probe = Callable[[Any], bool]
_Step = tuple[_Probe | None, _Check]
_MAX_PLANS = 64
# Building a Series to look at one column costs ~10 us, most of a one-row prediction's budget;
# the block manager hands out a column's array in ~1 us. Private, hence the public fallback.
_COLUMN_ARRAY: Callable[[pd.DataFrame, int], Any] | None = getattr(
    pd.DataFrame, "_get_column_array", None
)


def _column_values(frame: pd.DataFrame, position: int) -> Any:
    if _COLUMN_ARRAY is not None:
        return _COLUMN_ARRAY(frame, position)
    return frame.iloc[:, position].array


class Enforcer:
    """The checks of one signature, compiled: call it with data to get the enforced frame."""

    def __init__(self, signature: Signature) -> None:
        self.signature = signature
        self.specs = signature.inputs
        self.names = [spec.name for spec in self.specs]
        self._index = pd.Index(self.names)
        self._allowed = {
            spec.name: frozenset(spec.categories)
            for spec in self.specs
            if spec.categories is not None
        }
        # (dtype of each column, in order) -> [(position, probe, check)] for the columns that
        # need a look at their values; most dtypes need none.
        self._plans: dict[tuple[Any, ...], list[tuple[int, _Probe | None, _Check]]] = {}

    def __call__(self, data: Any) -> pd.DataFrame:
        if isinstance(data, pd.DataFrame):
            frame = data
        elif isinstance(data, np.ndarray) and data.ndim == 2 and data.shape[1] == len(self.names):
            frame = pd.DataFrame(data, columns=self.names)  # columns by position
        else:
            frame = as_frame(data)
        if not frame.columns.equals(self._index):
            frame = self._select(frame)
        key = tuple(frame.dtypes)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(key)
        if not plan:
            return frame
        replaced: dict[str, pd.Series] = {}
        for position, probe, check in plan:
            if probe is not None and not probe(_column_values(frame, position)):
                continue
            spec = self.specs[position]
            new = check(frame[spec.name], spec)
            if new is not None:
                replaced[spec.name] = new
        if replaced:
            frame = frame.assign(**replaced)
        return frame

    def _select(self, frame: pd.DataFrame) -> pd.DataFrame:
        present = set(frame.columns)
        missing = [spec for spec in self.specs if spec.name not in present]
        if missing:
            listed = ", ".join(f"{s.name!r} ({s.type})" for s in missing)
            plural = "s" if len(missing) > 1 else ""
            raise SignatureError(f"missing column{plural} {listed}", missing[0].name)
        if frame.columns.duplicated().any():
            dupes = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
            raise SignatureError(f"duplicate column(s) {', '.join(map(repr, dupes))} in the input")
        return frame[self.names]

    def _plan(self, key: tuple[Any, ...]) -> list[tuple[int, _Probe | None, _Check]]:
        plan: list[tuple[int, _Probe | None, _Check]] = []
        for position, (spec, dtype) in enumerate(zip(self.specs, key, strict=True)):
            step = self._check_for(spec, dtype)
            if step is None:
                continue
            if isinstance(step, tuple):
                plan.append((position, *step))
            else:
                plan.append((position, None, step))
        if len(self._plans) >= _MAX_PLANS:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def _check_for(self, spec: ColumnSpec, dtype: Any) -> _Step | _Check | None:
        """What must be looked at in a column of ``dtype`` for ``spec``; None for nothing."""
        kind = _classify(dtype)
        maybe_na = _may_hold_na(dtype)
        nonnull = None if spec.nullable or not maybe_na else _no_na_check(dtype)
        if kind == "object":
            return self._check_object
        if kind == "category":
            return self._category_check(spec, dtype)
        if spec.type == "integer":
            if kind == "integer":
                return nonnull
            if kind == "double":
                return _check_integral
            return _mismatch
        if spec.type == "double":
            return nonnull if kind in ("integer", "double") else _mismatch
        if spec.type == "boolean":
            return nonnull if kind == "boolean" else _mismatch
        if spec.type == "datetime":
            if kind == "datetime":
                return nonnull
            return _parse_datetime if kind == "string" else _mismatch
        # string
        if kind != "string":
            return _mismatch
        if spec.categories is not None:
            return self._check_categories
        return nonnull

    def _category_check(
        self, spec: ColumnSpec, dtype: pd.CategoricalDtype
    ) -> _Step | _Check | None:
        kind = _classify(dtype.categories.dtype)
        compatible = (
            kind == spec.type
            or (spec.type == "double" and kind == "integer")
            or (kind == "object" and spec.type == "string")
        )
        if not compatible:
            return _mismatch
        allowed = self._allowed.get(spec.name)
        if allowed is not None and not {str(c) for c in dtype.categories} <= allowed:
            return self._check_categories  # unused unknown categories are fine; look at values
        return None if spec.nullable else (_has_na_code, _check_no_na)

    def _check_categories(self, series: pd.Series, spec: ColumnSpec) -> None:
        allowed = self._allowed[spec.name]
        if len(series) <= _SMALL:
            for value in series.tolist():
                if value not in allowed:
                    if not _is_na(value):
                        raise _unknown_category(spec, value)
                    if not spec.nullable:
                        _check_no_na(series, spec)
            return None
        if not spec.nullable:
            _check_no_na(series, spec)
        assert spec.categories is not None
        unknown = ~series.isin(spec.categories) & series.notna()
        if unknown.any():
            raise _unknown_category(spec, series[unknown].iloc[0])
        return None

    def _check_object(self, series: pd.Series, spec: ColumnSpec) -> pd.Series | None:
        """Object columns hold anything: look at what they hold, then check as usual."""
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        if inferred == "empty":  # every value missing
            if not spec.nullable:
                _check_no_na(series, spec)
            return None
        found = _INFERRED.get(inferred)
        ok = found == spec.type or (spec.type == "double" and found == "integer")
        if spec.type == "integer" and found == "double":
            _check_integral(pd.to_numeric(series), spec)
            return None
        if spec.type == "datetime" and found == "string":
            return _parse_datetime(series, spec)
        if not ok:
            raise _wrong_type(series, spec)
        if not spec.nullable:
            _check_no_na(series, spec)
        if spec.categories is not None:
            self._check_categories(series, spec)
        return None


def _no_na_check(dtype: Any) -> _Step | _Check:
    """The cheapest missing-value check for columns of ``dtype``."""
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return (_has_nan, _check_no_na)
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        return (_has_nat, _check_no_na)
    return _check_no_na


def _has_nan(values: Any) -> bool:
    return bool(np.isnan(np.asarray(values)).any())


def _has_nat(values: Any) -> bool:
    return bool(np.isnat(np.asarray(values)).any())


def _has_na_code(values: Any) -> bool:
    """Categoricals: a missing value is code -1, no need to build a mask of the values."""
    return bool((values.codes < 0).any())


def _check_no_na(series: pd.Series, spec: ColumnSpec) -> None:
    mask = series.isna().to_numpy()
    if not mask.any():
        return
    position = int(mask.argmax())
    raise SignatureError(
        f"column {spec.name!r} has a missing value at row {position}, but the model's signature "
        f"says it is never missing ({spec.type}, not nullable). If it can be missing, log the "
        "model with an input example that has missing values there (the training frame), or "
        "a signature with nullable=True",
        spec.name,
    )


def _check_integral(series: pd.Series, spec: ColumnSpec) -> None:
    """A float column standing in for integers: every value must be whole."""
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    missing = np.isnan(values)
    if missing.any():
        if not spec.nullable:
            _check_no_na(series, spec)
        values = values[~missing]
    fractional = values != np.floor(values)
    if fractional.any():
        raise SignatureError(
            f"column {spec.name!r} must be integer, got double values like "
            f"{values[fractional.argmax()].item()!r}",
            spec.name,
        )


def _parse_datetime(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    """ISO 8601 text, as JSON carries datetimes, becomes datetime64."""
    try:
        parsed = pd.to_datetime(series, format="ISO8601")
    except (ValueError, TypeError):
        raise _wrong_type(series, spec) from None
    if not spec.nullable:
        _check_no_na(parsed, spec)
    return parsed


def _mismatch(series: pd.Series, spec: ColumnSpec) -> None:
    raise _wrong_type(series, spec)


def _wrong_type(series: pd.Series, spec: ColumnSpec) -> SignatureError:
    """'column 'age' must be double, got string values like 'abc''."""
    bad = _first_bad_value(series, spec)
    if bad is None:
        got = _describe_dtype(series.dtype)
        return SignatureError(f"column {spec.name!r} must be {spec.type}, got {got}", spec.name)
    value, kind = bad
    return SignatureError(
        f"column {spec.name!r} must be {spec.type}, got {kind} values like {value!r}", spec.name
    )


def _first_bad_value(series: pd.Series, spec: ColumnSpec) -> tuple[Any, str] | None:
    accepted = _ACCEPTED_PYTHON[spec.type]
    for value in series.tolist():
        if _is_na(value):
            continue
        kind = _python_kind(value)
        if kind not in accepted:
            return value, kind
    return None


def _python_kind(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, int | np.integer):
        return "integer"
    if isinstance(value, float | np.floating):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, pd.Timestamp | np.datetime64):
        return "datetime"
    return type(value).__name__


_ACCEPTED_PYTHON = {
    "integer": {"integer"},
    "double": {"integer", "double"},
    "boolean": {"boolean"},
    "string": {"string"},
    "datetime": {"datetime"},
}


def _unknown_category(spec: ColumnSpec, value: object) -> SignatureError:
    assert spec.categories is not None
    shown = ", ".join(repr(c) for c in spec.categories[:_SHOW_CATEGORIES])
    if len(spec.categories) > _SHOW_CATEGORIES:
        shown += f", ... ({len(spec.categories)} in all)"
    return SignatureError(
        f"column {spec.name!r} has unknown value {value!r}; expected one of {shown}", spec.name
    )


def _is_na(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )


# -- dtypes ------------------------------------------------------------------------------------

_INFERRED = {
    "string": "string",
    "integer": "integer",
    "floating": "double",
    "mixed-integer-float": "double",
    "decimal": "double",
    "boolean": "boolean",
    "datetime": "datetime",
    "datetime64": "datetime",
    "date": "datetime",
}
_CLASSIFIED: dict[Any, str] = {}


def _classify(dtype: Any) -> str:
    """A dtype as one of TYPES, or "category", "object" or "other"."""
    try:
        return _CLASSIFIED[dtype]
    except (KeyError, TypeError):
        pass
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"  # not cached: every set of categories is its own dtype
    if isinstance(dtype, pd.StringDtype):
        kind = "string"
    elif pd.api.types.is_bool_dtype(dtype):
        kind = "boolean"
    elif pd.api.types.is_integer_dtype(dtype):
        kind = "integer"
    elif pd.api.types.is_float_dtype(dtype):
        kind = "double"
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        kind = "datetime"
    elif pd.api.types.is_object_dtype(dtype):
        kind = "object"
    elif isinstance(dtype, pd.ArrowDtype) and pd.api.types.is_string_dtype(dtype):
        kind = "string"
    else:
        kind = "other"
    if len(_CLASSIFIED) < 1024:
        _CLASSIFIED[dtype] = kind
    return kind


def _may_hold_na(dtype: Any) -> bool:
    """Whether a column of this dtype can hold a missing value at all (int64 cannot)."""
    return not (isinstance(dtype, np.dtype) and dtype.kind in "iub")


def _describe_dtype(dtype: Any) -> str:
    kind = _classify(dtype)
    if kind == "category":
        return f"categorical values of {_describe_dtype(dtype.categories.dtype)}"
    if kind in TYPES:
        return f"{kind} values"
    return f"values of dtype {dtype}"


def _json_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise InvalidInput(f"class label {value!r} is not a string, number or boolean")


# -- compatibility -----------------------------------------------------------------------------


def compatibility(new: Signature, old: Signature) -> list[str]:
    """Why data that ``old`` accepts, or code that reads ``old``'s output, may break on ``new``.

    An empty list means ``new`` can replace ``old``. Widening (integer to double, a column
    becoming nullable, more categories) is compatible.
    """
    problems: list[str] = []
    old_cols = {spec.name: spec for spec in old.inputs}
    new_cols = {spec.name: spec for spec in new.inputs}
    for name, was in old_cols.items():
        now = new_cols.get(name)
        if now is None:
            problems.append(f"column {name!r} ({was.type}) was removed")
            continue
        if now.type != was.type and not (was.type == "integer" and now.type == "double"):
            problems.append(f"column {name!r} changed type from {was.type} to {now.type}")
        if was.nullable and not now.nullable:
            problems.append(f"column {name!r} became non-nullable")
        if now.categories is not None:
            if was.categories is None and was.type == "string":
                problems.append(
                    f"column {name!r} now accepts only {len(now.categories)} values, "
                    "it accepted any string"
                )
            elif was.categories is not None:
                dropped = [c for c in was.categories if c not in set(now.categories)]
                if dropped:
                    problems.append(
                        f"column {name!r} no longer accepts {', '.join(map(repr, dropped))}"
                    )
    for name, spec in new_cols.items():
        if name not in old_cols:
            problems.append(f"new column {name!r} ({spec.type}) is required")
    problems.extend(_output_problems(new.outputs, old.outputs))
    return problems


def _output_problems(new: OutputSpec | None, old: OutputSpec | None) -> Iterable[str]:
    if new is None or old is None:
        if old is not None:
            yield "the output is no longer described"
        return
    if new.type != old.type:
        yield f"output type changed from {old.type} to {new.type}"
    if new.shape != old.shape:
        yield f"output shape changed from {list(old.shape)} to {list(new.shape)}"
    if old.classes is not None and new.classes != old.classes:
        yield f"output classes changed from {list(old.classes)} to {list(new.classes or [])}"
