"""``modeldeck quickstart``: the churn story, end to end, in a few seconds."""

from __future__ import annotations

from typing import Annotated

import typer

from modeldeck.cli import render


def quickstart(
    rows: Annotated[
        int, typer.Option("--rows", min=200, help="Rows of churn data to generate.")
    ] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the data and the models.")] = 7,
) -> None:
    """Generate churn data, train candidate models in tracked runs and show the best one."""
    from modeldeck.quickstart.story import run_quickstart

    run_quickstart(render.console(), n_rows=rows, seed=seed)
