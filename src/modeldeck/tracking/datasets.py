"""Describing a dataset: a content digest, a schema and a column profile.

The profile is what monitoring later compares production data against: per column its type,
missing share, and quantiles plus a histogram for numbers or frequencies for categories.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeck.core.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 20
TOP_CATEGORIES = 50
PROFILE_ROWS = 1_000_000  # larger files are profiled on their first rows; the digest covers all
TABULAR = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv"}


@dataclass(frozen=True, slots=True)
class DatasetDescription:
    digest: str
    num_rows: int | None
    schema: dict[str, str]
    profile: dict[str, Any]
    source: str | None


def describe_frame(frame: pd.DataFrame, source: str | None = None) -> DatasetDescription:
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"expected a pandas DataFrame, got {type(frame).__name__}")
    return DatasetDescription(
        digest=frame_digest(frame),
        num_rows=len(frame),
        schema={str(c): str(t) for c, t in frame.dtypes.items()},
        profile=profile(frame),
        source=source,
    )


def describe_file(path: Path, digest: str) -> DatasetDescription:
    """A file's digest is that of its bytes; tabular files also get a schema and a profile."""
    kind = TABULAR.get(path.suffix.lower())
    if kind is None:
        return DatasetDescription(digest, None, {}, {}, str(path.resolve()))
    frame, num_rows = _read_head(path, kind)
    return DatasetDescription(
        digest=digest,
        num_rows=num_rows,
        schema={str(c): str(t) for c, t in frame.dtypes.items()},
        profile=profile(frame),
        source=str(path.resolve()),
    )


def frame_digest(frame: pd.DataFrame) -> str:
    """sha256 over column names, dtypes and a vectorised hash of every row, in order."""
    import pandas as pd

    h = hashlib.sha256()
    for name, dtype in frame.dtypes.items():
        h.update(f"{name}\x1f{dtype}\x1e".encode())
    if len(frame.columns):
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        h.update(rows.tobytes())
    h.update(str(len(frame)).encode())
    return h.hexdigest()


def profile(frame: pd.DataFrame) -> dict[str, Any]:
    import pandas as pd

    columns: dict[str, Any] = {}
    for name in frame.columns:
        series = frame[name]
        missing = float(series.isna().mean()) if len(series) else 0.0
        base: dict[str, Any] = {"dtype": str(series.dtype), "missing": missing}
        if pd.api.types.is_bool_dtype(series.dtype):
            columns[str(name)] = {**base, "kind": "category", **_categories(series.astype(str))}
        elif pd.api.types.is_numeric_dtype(series.dtype):
            columns[str(name)] = {**base, "kind": "number", **_numbers(series)}
        elif pd.api.types.is_datetime64_any_dtype(series.dtype):
            present = series.dropna()
            columns[str(name)] = {
                **base,
                "kind": "datetime",
                "min": present.min().isoformat() if len(present) else None,
                "max": present.max().isoformat() if len(present) else None,
            }
        else:
            columns[str(name)] = {**base, "kind": "category", **_categories(series)}
    return {"rows": len(frame), "columns": columns}


def _numbers(series: pd.Series[Any]) -> dict[str, Any]:
    import numpy as np

    values = series.dropna().to_numpy(dtype="float64")
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"count": 0}
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
    return {
        "count": int(values.size),
        "distinct": int(np.unique(values).size),
        "mean": _num(values.mean()),
        "std": _num(values.std(ddof=1)) if values.size > 1 else 0.0,
        "min": _num(values.min()),
        "max": _num(values.max()),
        "quantiles": {
            str(q): _num(v) for q, v in zip(QUANTILES, np.quantile(values, QUANTILES), strict=True)
        },
        "histogram": {"edges": [_num(e) for e in edges], "counts": counts.tolist()},
    }


def _categories(series: pd.Series[Any]) -> dict[str, Any]:
    counts = series.dropna().astype(str).value_counts()
    return {
        "count": int(counts.sum()),
        "distinct": len(counts),
        "frequencies": {str(k): int(v) for k, v in counts.head(TOP_CATEGORIES).items()},
    }


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _read_head(path: Path, kind: str) -> tuple[pd.DataFrame, int]:
    import pandas as pd

    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            file = pq.ParquetFile(path)
        except Exception as exc:
            raise InvalidInput(f"{path} is not a readable parquet file: {exc}") from exc
        num_rows = file.metadata.num_rows
        batches = file.iter_batches(batch_size=PROFILE_ROWS)
        first = next(batches, None)
        frame = (
            first.to_pandas() if first is not None else file.schema_arrow.empty_table().to_pandas()
        )
        return frame, num_rows
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        frame = pd.read_csv(path, sep=sep, nrows=PROFILE_ROWS)
    except Exception as exc:
        raise InvalidInput(f"{path} is not a readable CSV file: {exc}") from exc
    if len(frame) < PROFILE_ROWS:
        return frame, len(frame)
    with path.open("rb") as handle:
        num_rows = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) - 1
    return frame, num_rows
