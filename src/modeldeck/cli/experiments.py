"""``modeldeck experiments``: the experiments of the store."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from modeldeck.cli import lookup, render

app = typer.Typer(help="List experiments.", no_args_is_help=True)


@app.command("list")
def list_experiments(
    as_json: Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")] = False,
) -> None:
    """Every experiment, oldest first."""
    from rich.table import Table

    experiments = lookup.client().experiments()
    if as_json:
        render.print_json([dataclasses.asdict(e) for e in experiments])
        return
    if not experiments:
        render.console().print("No experiments yet: `modeldeck quickstart` records some.")
        return
    table = Table(header_style="bold", box=None, pad_edge=False)
    for title in ("id", "name", "created", "description"):
        table.add_column(title)
    for item in experiments:
        table.add_row(
            item.id,
            render.plain(item.name, "cyan"),
            render.local_time(item.created_at),
            render.plain(item.description),
        )
    render.console().print(table)
