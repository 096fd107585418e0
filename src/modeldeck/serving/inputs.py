"""Prediction request bodies, from bytes to ``({column: values}, rows)``.

Everything a caller can get wrong is an :class:`InvalidInput` (a 422 that says what is
wrong), never an exception from deeper down (a 500): a body that is not UTF-8 or not JSON;
``NaN``/``Infinity`` (not JSON; send ``null`` for a missing value); a number outside the range
of a 64-bit float (``1e400`` parses as infinity) or integer; nesting deeper than a parser's
recursion limit, or any list or object where a cell value belongs; a key twice in one JSON
object (a parser would keep the last silently), a column named twice; and V2 tensors whose
``shape`` or ``datatype`` disagree with their ``data``.

The checks cost a few microseconds per request: type and range checks run per column with
``map``/``min``/``max`` in C, not a Python loop per value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, NoReturn

from modeldeck.core.errors import InvalidInput

INT64 = (-(2**63), 2**63 - 1)
_SCALARS = frozenset({int, float, str, bool, type(None)})
# V2 (Open Inference Protocol) datatypes: which JSON values each takes, and the numeric range
_V2_INTS = {
    "INT8": (-(2**7), 2**7 - 1),
    "INT16": (-(2**15), 2**15 - 1),
    "INT32": (-(2**31), 2**31 - 1),
    "INT64": INT64,
    "UINT8": (0, 2**8 - 1),
    "UINT16": (0, 2**16 - 1),
    "UINT32": (0, 2**32 - 1),
    "UINT64": (0, 2**64 - 1),
}
_V2_FLOATS = {"FP16": 65504.0, "FP32": 3.4028234663852886e38, "FP64": math.inf}
V2_DATATYPES = (*_V2_INTS, *_V2_FLOATS, "BOOL", "BYTES")


def parse(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or InvalidInput saying why it is not one we take."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the body must be UTF-8 (byte {exc.start} is not)") from None
    try:
        body = json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    except InvalidInput:  # from the hooks (InvalidInput is a ValueError too)
        raise
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not JSON: {exc.msg} at character {exc.pos}") from None
    except ValueError:  # int(): more than sys.get_int_max_str_digits() digits
        raise InvalidInput(
            "a number in the body is out of range (integers must fit in 64 bits)"
        ) from None
    except RecursionError:
        raise InvalidInput(
            "the body is nested too deeply: cell values are numbers, strings, booleans or null"
        ) from None
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    if "\\ud" in text or "\\uD" in text:  # only then can a string hold a lone surrogate
        _no_surrogates(body)
    return body


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InvalidInput(
                    f"key {_show(key)} appears twice in one JSON object: name each key once"
                )
            seen.add(key)
    return out


def _constant(name: str) -> NoReturn:
    raise InvalidInput(
        f"{name} is not JSON: send null for a missing value (numbers must be finite)"
    )


def _no_surrogates(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidInput(
                    "a string in the body holds a lone UTF-16 surrogate (not valid UTF-8 text)"
                ) from None
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def to_columns(data: Any, shape: str) -> tuple[dict[str, list[Any]], int]:
    """Any accepted request shape as ``({column: values}, rows)``; InvalidInput names what is
    wrong. Plain lists, so a batch of requests is merged before one DataFrame is built."""
    if shape == "v2":
        columns, rows = _v2(data)
        return columns, rows
    columns, rows = _shaped(data, shape)
    for name, values in columns.items():
        _check_cells(name, values)
    return columns, rows


def _shaped(data: Any, shape: str) -> tuple[dict[str, list[Any]], int]:
    if shape in ("records", "dataframe_records") or (
        shape in ("instances", "inputs") and isinstance(data, list)
    ):
        if not isinstance(data, list) or not data or not all(isinstance(r, Mapping) for r in data):
            raise InvalidInput(f"{shape} must be a non-empty list of objects, one per row")
        names = list(dict.fromkeys(key for row in data for key in row))
        return {name: [row.get(name) for row in data] for name in names}, len(data)
    if shape in ("columns", "instances", "inputs"):
        if not isinstance(data, Mapping) or not data:
            raise InvalidInput(f"{shape} must be an object of column name to a list of values")
        return _equal_columns(dict(data), shape)
    if shape == "dataframe_split":
        if not isinstance(data, Mapping) or not isinstance(data.get("data"), list):
            raise InvalidInput('dataframe_split needs "columns" and "data" (a list of rows)')
        header = data.get("columns")
        rows = data["data"]
        if not isinstance(header, list) or not rows:
            raise InvalidInput('dataframe_split needs "columns" (a list of names) and rows')
        if not all(isinstance(name, str) for name in header):
            raise InvalidInput('dataframe_split "columns" must be a list of strings')
        _unique(header, "dataframe_split column")
        if not all(isinstance(row, list) and len(row) == len(header) for row in rows):
            raise InvalidInput(
                f"every dataframe_split row must be a list of {len(header)} values, one per column"
            )
        return {name: [row[i] for row in rows] for i, name in enumerate(header)}, len(rows)
    raise InvalidInput(f"unknown input shape {shape}")


def _equal_columns(columns: dict[str, Any], what: str) -> tuple[dict[str, list[Any]], int]:
    out = {name: v if isinstance(v, list) else [v] for name, v in columns.items()}
    lengths = {len(v) for v in out.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise InvalidInput(f"{what}: every column needs the same, non-zero number of values")
    return out, lengths.pop()


def _unique(names: list[str], what: str) -> None:
    if len(set(names)) != len(names):
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise InvalidInput(f"{what} {_show(name)} appears twice: name each column once")
            seen.add(name)


def _check_cells(name: str, values: list[Any]) -> None:
    """Scalars only, numbers in range: what a DataFrame column can hold without surprise."""
    kinds = set(map(type, values))
    if not kinds <= _SCALARS:
        row = next(i for i, v in enumerate(values) if type(v) not in _SCALARS)
        raise InvalidInput(
            f"column {_show(name)}, row {row}: a {_json_kind(values[row])} where a value belongs "
            "(cell values are numbers, strings, booleans or null, never nested lists or objects)"
        )
    if int in kinds:
        ints = values if len(kinds) == 1 else [v for v in values if type(v) is int]
        low, high = min(ints), max(ints)
        if low < INT64[0] or high > INT64[1]:
            bad = high if high > INT64[1] else low
            raise InvalidInput(
                f"column {_show(name)}: {_number(bad)} is out of the range of a 64-bit integer"
            )
    if float in kinds:
        floats = values if len(kinds) == 1 else [v for v in values if type(v) is float]
        if any(map(math.isinf, floats)):
            raise InvalidInput(
                f"column {_show(name)}: a number is out of the range of a 64-bit float "
                "(a literal such as 1e400 has no finite value)"
            )


def _v2(tensors: Any) -> tuple[dict[str, list[Any]], int]:
    """V2 ``inputs``: one tensor per column, each of shape ``[rows]`` or ``[rows, 1]``, whose
    ``datatype`` every value fits."""
    if not isinstance(tensors, list) or not tensors:
        raise InvalidInput('V2 infer needs "inputs": a list of named tensors, one per column')
    columns: dict[str, list[Any]] = {}
    for tensor in tensors:
        if not isinstance(tensor, Mapping) or not isinstance(tensor.get("name"), str):
            raise InvalidInput("each V2 input needs a name (a string), shape, datatype and data")
        name = tensor["name"]
        if name in columns:
            raise InvalidInput(f"V2 input {_show(name)} appears twice: send each column once")
        columns[name] = _tensor(name, tensor)
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1:
        raise InvalidInput("V2 inputs: every tensor needs the same number of rows")
    return columns, lengths.pop()


def _tensor(name: str, tensor: Mapping[str, Any]) -> list[Any]:
    what = f"V2 input {_show(name)}"
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(type(n) is int and n >= 0 for n in shape)
    ):
        raise InvalidInput(f"{what}: shape must be a list of non-negative integers, e.g. [rows]")
    if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1) or shape[0] == 0:
        raise InvalidInput(
            f"{what}: shape {shape} is not one column of rows: send [rows] or [rows, 1]"
        )
    datatype = tensor.get("datatype")
    if datatype not in V2_DATATYPES:
        raise InvalidInput(f"{what}: datatype must be one of {', '.join(V2_DATATYPES)}")
    data = tensor.get("data")
    if not isinstance(data, list):
        raise InvalidInput(f"{what}: data must be a list of values")
    if len(shape) == 2 and data and all(type(v) is list for v in data):
        if not all(len(v) == 1 for v in data):
            raise InvalidInput(f"{what}: data does not have shape {shape}")
        data = [v[0] for v in data]
    if len(data) != shape[0]:
        raise InvalidInput(f"{what}: shape {shape} holds {shape[0]} values, data has {len(data)}")
    _check_datatype(what, datatype, data)
    return data


def _check_datatype(what: str, datatype: str, data: list[Any]) -> None:
    kinds = set(map(type, data))
    if datatype in _V2_INTS:
        if kinds != {int}:
            _not_of(what, datatype, data, "integers", lambda v: type(v) is int)
        low, high = _V2_INTS[datatype]
        if min(data) < low or max(data) > high:
            bad = next(v for v in data if not low <= v <= high)
            raise InvalidInput(f"{what}: {_number(bad)} is out of the range of {datatype}")
    elif datatype in _V2_FLOATS:
        if not kinds <= {int, float}:
            _not_of(what, datatype, data, "numbers", lambda v: type(v) in (int, float))
        limit = _V2_FLOATS[datatype]
        if max(map(abs, data)) >= limit:
            raise InvalidInput(f"{what}: a number is out of the range of {datatype}")
    elif datatype == "BOOL":
        if kinds != {bool}:
            _not_of(what, datatype, data, "true or false", lambda v: type(v) is bool)
    elif kinds != {str}:
        _not_of(what, datatype, data, "strings", lambda v: type(v) is str)


def _not_of(what: str, datatype: str, data: list[Any], kind: str, fits: Any) -> NoReturn:
    row = next(i for i, v in enumerate(data) if not fits(v))
    raise InvalidInput(
        f"{what}: datatype {datatype} takes {kind}, value {row} is a {_json_kind(data[row])}"
    )


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return f"{'integer' if isinstance(value, int) else 'float'} ({_number(value)})"
    kinds: dict[type, str] = {str: "string", list: "list", dict: "object"}
    return kinds.get(type(value), type(value).__name__)


def _number(value: float) -> str:
    if isinstance(value, float) or abs(value) < 10**40:
        return repr(value)
    return f"an integer of {len(str(abs(value)))} digits"


def _show(name: str) -> str:
    return repr(name if len(name) <= 64 else name[:64] + "…")
