"""Where a batch to monitor comes from: a pandas frame, a parquet or CSV file, or a Dask
dataframe, read so that memory stays flat.

A :class:`Source` answers three questions without holding the whole table: its rows in
chunks (quality and predictions stream over them), one column's values (the numeric drift
tests need a sample whole, one column at a time), and one column's value counts (the
frequency tests need only those; Dask computes them on the cluster).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from modeldeck.core.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

CHUNK_ROWS = 100_000


class Source(Protocol):
    @property
    def columns(self) -> list[str]: ...

    def rows(self) -> int: ...

    def chunks(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]: ...

    def column(self, name: str) -> pd.Series: ...

    def counts(self, name: str) -> dict[Any, int]: ...

    def is_numeric(self, name: str) -> bool: ...


def source(data: Any, *, chunk_rows: int = CHUNK_ROWS) -> Source:
    """The source of ``data``: a DataFrame, a path to a parquet/CSV file, or a Dask frame."""
    import pandas as pd

    if isinstance(data, FrameSource | ParquetSource | DaskSource):
        return data
    if isinstance(data, pd.DataFrame):
        return FrameSource(data, chunk_rows)
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.is_file():
            raise InvalidInput(f"{path} is not a file")
        if path.suffix.lower() in (".parquet", ".pq"):
            return ParquetSource(path, chunk_rows)
        if path.suffix.lower() in (".csv", ".tsv"):
            sep = "\t" if path.suffix.lower() == ".tsv" else ","
            return FrameSource(pd.read_csv(path, sep=sep), chunk_rows)
        raise InvalidInput(f"{path}: read parquet or CSV files; convert {path.suffix} first")
    if type(data).__module__.startswith("dask") and hasattr(data, "npartitions"):
        return DaskSource(data)
    raise InvalidInput(
        f"cannot monitor a {type(data).__name__}: give a pandas or Dask DataFrame, or a "
        "parquet/CSV file"
    )


class FrameSource:
    def __init__(self, frame: pd.DataFrame, chunk_rows: int = CHUNK_ROWS) -> None:
        self.frame = frame
        self.chunk_rows = chunk_rows

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def rows(self) -> int:
        return len(self.frame)

    def chunks(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        frame = self.frame if columns is None else self.frame[list(columns)]
        for start in range(0, len(frame), self.chunk_rows):
            yield frame.iloc[start : start + self.chunk_rows]

    def column(self, name: str) -> pd.Series:
        return self.frame[name]

    def counts(self, name: str) -> dict[Any, int]:
        return _counts(self.frame[name])

    def is_numeric(self, name: str) -> bool:
        return _numeric(self.frame[name].dtype)


class ParquetSource:
    """A parquet file read a row group batch or a column at a time (pyarrow)."""

    def __init__(self, path: Path, chunk_rows: int = CHUNK_ROWS) -> None:
        import pyarrow.parquet as pq

        try:
            self.file = pq.ParquetFile(path)
        except Exception as bad:
            raise InvalidInput(f"{path} is not a readable parquet file: {bad}") from None
        self.path = path
        self.chunk_rows = chunk_rows
        self._schema = self.file.schema_arrow

    @property
    def columns(self) -> list[str]:
        return list(self._schema.names)

    def rows(self) -> int:
        return int(self.file.metadata.num_rows)

    def chunks(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        wanted = None if columns is None else list(columns)
        for batch in self.file.iter_batches(batch_size=self.chunk_rows, columns=wanted):
            yield batch.to_pandas()

    def column(self, name: str) -> pd.Series:
        found: pd.Series = self.file.read(columns=[name]).to_pandas()[name]
        return found

    def counts(self, name: str) -> dict[Any, int]:
        total: dict[Any, int] = {}
        for chunk in self.chunks([name]):
            for value, n in _counts(chunk[name]).items():
                total[value] = total.get(value, 0) + n
        return total

    def is_numeric(self, name: str) -> bool:
        import pyarrow as pa

        kind = self._schema.field(name).type
        return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


class DaskSource:
    """A Dask dataframe: counts are computed on the cluster; a numeric column comes back
    whole (the exact tests sort it), one column at a time; chunks are its partitions."""

    def __init__(self, frame: Any) -> None:
        self.frame = frame
        self._rows: int | None = None

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def rows(self) -> int:
        if self._rows is None:  # a pass over every partition: counted once
            self._rows = len(self.frame)
        return self._rows

    def chunks(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        frame = self.frame if columns is None else self.frame[list(columns)]
        for part in frame.to_delayed():
            yield part.compute()

    def column(self, name: str) -> pd.Series:
        found: pd.Series = self.frame[name].compute()
        return found

    def counts(self, name: str) -> dict[Any, int]:
        return _counts(self.frame[name].value_counts(dropna=True).compute(), counted=True)

    def is_numeric(self, name: str) -> bool:
        return _numeric(self.frame[name].dtype)


def _numeric(dtype: Any) -> bool:
    from pandas.api import types

    return bool(types.is_numeric_dtype(dtype) and not types.is_bool_dtype(dtype))


def _counts(series: pd.Series, *, counted: bool = False) -> dict[Any, int]:
    """Value -> count with missing values left out and categories as their text."""
    found = series if counted else series.value_counts(dropna=True, sort=False)
    return {_plain(k): int(v) for k, v in found.items() if int(v) > 0}


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value
