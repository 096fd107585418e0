"""Batch prediction: a parquet or CSV file in, the same rows with predictions out.

The input is read in chunks and each scored chunk is appended to the output as soon as it is
ready, so memory stays flat whatever the file's size. The output is written under a temporary
name beside the destination and renamed only when every row is done: a failure leaves no
partial file behind. With Dask, chunks are scored on a cluster, a bounded number at a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from modeldeck.core.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from modeldeck.models.predictor import Predictor

Format = Literal["parquet", "csv"]
Scorer = Callable[[Iterable["pd.DataFrame"]], Iterator["pd.DataFrame"]]

SUFFIXES: dict[str, Format] = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
DEFAULT_CHUNK_ROWS = 100_000
PREDICTION = "prediction"
PROBABILITY = "probability_"


@dataclass(frozen=True)
class BatchResult:
    """What ``predict_file`` wrote."""

    output: Path
    rows: int
    chunks: int
    columns: tuple[str, ...]


def file_format(path: Path) -> Format:
    """``parquet`` or ``csv``, from the file's suffix."""
    found = SUFFIXES.get(path.suffix.lower())
    if found is None:
        known = ", ".join(SUFFIXES)
        raise InvalidInput(
            f"cannot tell the format of {path}: unknown suffix {path.suffix or '(none)'!r}. "
            f"Name the file with one of {known}"
        )
    return found


def count_rows(path: Path) -> int | None:
    """The number of rows, where the file says so without being read (parquet); else None."""
    if file_format(path) != "parquet":
        return None
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def read_columns(path: Path) -> list[str]:
    """The column names of a file, from its schema (parquet) or header line (CSV)."""
    if file_format(path) == "parquet":
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(path).schema_arrow.names)
    import pandas as pd

    return [str(c) for c in pd.read_csv(path, nrows=0).columns]


def read_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The rows of a file as DataFrames of at most ``chunk_rows`` rows each."""
    if file_format(path) == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetFile(path) as source:
            for batch in source.iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
    else:
        import pandas as pd

        with pd.read_csv(path, chunksize=chunk_rows) as reader:
            for frame in reader:
                yield frame.reset_index(drop=True)


def score(predictor: Predictor, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``prediction`` column, and ``probability_<class>`` columns where the
    model gives class probabilities."""
    out = frame.copy()
    out[PREDICTION] = predictor.predict(frame)
    if callable(getattr(predictor.raw, "predict_proba", None)):
        probabilities = predictor.predict_proba(frame)
        for i, label in enumerate(_classes(predictor, probabilities.shape[1])):
            out[f"{PROBABILITY}{label}"] = probabilities[:, i]
    return out


def _classes(predictor: Predictor, width: int) -> list[Any]:
    classes = getattr(predictor.raw, "classes_", None)
    if classes is None and predictor.signature is not None and predictor.signature.outputs:
        classes = predictor.signature.outputs.classes
    if classes is None or len(classes) != width:
        return list(range(width))
    return list(classes)


def check_columns(predictor: Predictor, path: Path) -> None:
    """Fail before any work when the file lacks a column the model's signature requires."""
    if predictor.signature is None:
        return
    present = set(read_columns(path))
    required = [spec.name for spec in predictor.signature.inputs]
    missing = [name for name in required if name not in present]
    if missing:
        names = ", ".join(repr(n) for n in missing)
        plural = "s" if len(missing) > 1 else ""
        raise InvalidInput(
            f"{path} lacks the column{plural} {names} that the model's signature requires. "
            f"Add {'them' if missing[1:] else 'it'} to the input; the model takes: "
            f"{', '.join(required)}"
        )


def check_job(predictor: Predictor, source: Path, dest: Path) -> None:
    """Every check ``predict_file`` makes before reading a row, for callers that want them
    done before something slow (starting a Dask cluster)."""
    file_format(dest)
    file_format(source)
    if not source.is_file():
        raise InvalidInput(f"input file {source} does not exist; check the path")
    if not dest.parent.is_dir():
        raise InvalidInput(
            f"cannot write {dest}: the folder {dest.parent} does not exist; create it first"
        )
    check_columns(predictor, source)


def local_scorer(predictor: Predictor) -> Scorer:
    """Score chunks one after another in this process."""

    def run(frames: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in frames:
            yield score(predictor, frame)

    return run


@contextmanager
def dask_scorer(predictor: Predictor, address: str | None = None) -> Iterator[Scorer]:
    """Score chunks on a Dask cluster: the scheduler at ``address``, or a LocalCluster.

    The model is scattered to every worker once and each task refers to it by key, so it is
    neither pickled per chunk nor loaded again. Each chunk is scattered to a worker on its own
    (embedded in the task it would go through the scheduler, which warns past 10 MiB) and
    scored there. At most two chunks per worker thread are in flight and results come back in
    input order, so memory stays bounded on both sides. Workers need modeldeck and the model's
    libraries installed. A scheduler that cannot be reached within Dask's connect timeout
    (``distributed.comm.timeouts.connect``, 30 s by default) is an ``InvalidInput``.
    """
    try:
        import dask.distributed
    except ImportError:
        raise InvalidInput(
            "--dask needs Dask, which is not installed: pip install 'modeldeck[dask]'"
        ) from None
    from collections import deque

    # distributed is unannotated, and mypy refuses untyped calls: Any for the lot.
    distributed: Any = dask.distributed
    cluster: Any = None
    client: Any
    if address:
        try:
            client = distributed.Client(address)
        except (OSError, ValueError) as exc:  # refused, timed out, unresolvable, malformed
            raise InvalidInput(
                f"cannot reach the Dask scheduler at {address} ({exc}). Check the address, "
                f"such as tcp://host:8786, and that the scheduler is running"
            ) from None
    else:
        import logging

        # Processes, not threads: scoring holds the GIL for much of each chunk. A chunk that
        # fails is reported once, by the CLI, not also as a worker's "Compute Failed" warning.
        cluster = distributed.LocalCluster(
            processes=True, dashboard_address=None, silence_logs=logging.ERROR
        )
        try:
            client = distributed.Client(cluster)
        except BaseException:
            cluster.close()
            raise
    try:
        remote = client.scatter(predictor, broadcast=True, hash=False)
        window = max(2, 2 * sum(client.nthreads().values()))

        def run(frames: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            pending: deque[Any] = deque()
            for frame in frames:
                chunk = client.scatter(frame, hash=False)
                pending.append(client.submit(score, remote, chunk, pure=False))
                del chunk  # the task holds it; the worker drops it once the task is done
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

        yield run
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def predict_file(
    predictor: Predictor,
    source: Path,
    dest: Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    scorer: Scorer | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> BatchResult:
    """Score every row of ``source`` and write them, with predictions, to ``dest``.

    ``on_chunk(rows)`` is called after each chunk is written (for a progress bar).
    """
    if chunk_rows < 1:
        raise InvalidInput(f"the chunk size must be at least 1 row, got {chunk_rows}")
    check_job(predictor, source, dest)
    out_format = file_format(dest)
    run = scorer or local_scorer(predictor)
    temp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    writer = _ParquetWriter(temp) if out_format == "parquet" else _CsvWriter(temp)
    rows = chunks = 0
    columns: tuple[str, ...] = ()
    try:
        for scored in run(read_chunks(source, chunk_rows)):
            writer.write(scored)
            rows += len(scored)
            chunks += 1
            columns = tuple(str(c) for c in scored.columns)
            if on_chunk is not None:
                on_chunk(len(scored))
        if chunks == 0:
            raise InvalidInput(f"{source} has no rows: there is nothing to predict")
        writer.close()
        os.replace(temp, dest)
    except BaseException:
        writer.close()
        temp.unlink(missing_ok=True)
        raise
    return BatchResult(output=dest, rows=rows, chunks=chunks, columns=columns)


class _ParquetWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: Any = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self.path, table.schema)
        elif not table.schema.equals(self._schema):
            # A chunk can infer another type for the same column (all missing, say): the
            # first chunk's schema is the file's.
            table = table.cast(self._schema)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class _CsvWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("w", newline="", encoding="utf-8")
        self._header = True

    def write(self, frame: pd.DataFrame) -> None:
        frame.to_csv(self._file, header=self._header, index=False)
        self._header = False

    def close(self) -> None:
        self._file.close()
