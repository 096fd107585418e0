"""``modeldeck predict``: score a parquet or CSV file with a logged or registered model."""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modeldeck.cli import lookup, render
from modeldeck.core.errors import InvalidInput
from modeldeck.core.refs import expand_model_ref

if TYPE_CHECKING:
    from rich.progress import Progress


def predict(
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="NAME@ALIAS, NAME/VERSION, or a models:/… or runs:/<run>/<path> URI.",
            show_default=False,
        ),
    ],
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT", help="A .parquet or .csv file.", show_default=False)
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the rows with predictions (.parquet or .csv).",
            show_default=False,
        ),
    ],
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, help="Rows read, scored and written at a time.")
    ] = 100_000,
    dask: Annotated[
        bool,
        typer.Option(
            "--dask",
            help="Score chunks on a Dask cluster (a local one unless --scheduler is given). "
            "Needs the dask extra, on the workers too.",
        ),
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="ADDRESS",
            help="The Dask scheduler to use, such as tcp://host:8786 (implies --dask).",
        ),
    ] = None,
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Allow loading a pickled (joblib) model.")
    ] = False,
) -> None:
    """Predict every row of INPUT and write them, with a prediction column, to --output.

    The file is read and written a chunk at a time, so memory stays flat for any size; the
    output appears only once every row is done.
    """
    from modeldeck.serving import batch

    batch.file_format(input_path)
    batch.file_format(output)
    if not input_path.is_file():
        raise InvalidInput(f"input file {input_path} does not exist; check the path")
    predictor = lookup.client().load_model(expand_model_ref(model), allow_pickle=allow_pickle)
    # Before Dask starts, which takes seconds: a wrong column or folder should not wait on it.
    batch.check_job(predictor, input_path, output)
    total = batch.count_rows(input_path)
    started = time.perf_counter()
    with ExitStack() as stack:
        scorer = None
        if dask or scheduler:
            what = f"connecting to {scheduler}" if scheduler else "starting a local Dask cluster"
            with render.err_console().status(f"{what}…"):
                scorer = stack.enter_context(batch.dask_scorer(predictor, scheduler))
        progress = stack.enter_context(_progress())
        task = progress.add_task("predicting", total=total)
        result = batch.predict_file(
            predictor,
            input_path,
            output,
            chunk_rows=chunk_rows,
            scorer=scorer,
            on_chunk=lambda rows: progress.advance(task, rows),
        )
    seconds = time.perf_counter() - started
    render.err_console().print(
        f"Wrote {result.rows:,} rows to {result.output} in {seconds:.1f} s "
        f"({result.chunks} chunk{'s' if result.chunks != 1 else ''})."
    )


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        console=render.err_console(),
        transient=False,
    )
