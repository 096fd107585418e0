"""``modeldeck deployments``: what is served where, since when, and whether it is alive."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from modeldeck.cli import lookup, render

if TYPE_CHECKING:
    from modeldeck.core.deployment import Deployment

app = typer.Typer(help="List the deployments (modeldeck serve processes).", no_args_is_help=True)

STATUS_STYLES = {"running": "green", "lost": "bold red", "stopped": "dim"}


@app.command("list")
def list_deployments(
    show_all: Annotated[
        bool, typer.Option("--all", "-a", help="Include stopped deployments.")
    ] = False,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Only this model's.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Write JSON to stdout instead of a table.")
    ] = False,
) -> None:
    """Deployments, newest first: the versions they serve, their address and status (running,
    lost after three missed heartbeats, or stopped)."""
    import time

    found = lookup.client().list_deployments(include_stopped=show_all, model=model)
    now = time.time_ns() // 1_000_000
    if as_json:
        render.print_json([{**render.jsonable(d), "status": d.status(now)} for d in found])
        return
    from rich.table import Table

    table = Table()
    for column in (
        "id",
        "model",
        "serves",
        "canary",
        "shadow",
        "address",
        "workers",
        "started by",
        "started (UTC)",
        "status",
    ):
        table.add_column(column, justify="right" if column == "workers" else "left")
    for d in found:
        state = d.status(now)
        table.add_row(
            render.short_id(d.id),
            render.plain(d.model),
            render.plain(_serves(d.reference, d.version)),
            render.plain(_canary(d)),
            render.plain(_serves(d.shadow_reference, d.shadow_version)),
            render.plain(d.address),
            str(d.workers),
            render.plain(d.started_by),
            _utc(d.started_at),
            render.plain(state, STATUS_STYLES.get(state, "")),
        )
    if not found:
        which = "" if show_all else "running "
        render.console().print(f"no {which}deployments" + (f" of {model}" if model else ""))
        return
    render.console().print(table)


def _serves(reference: str | None, version: int | None) -> str | None:
    if reference is None:
        return None
    return f"{reference} → {render.MISSING if version is None else version}"


def _canary(d: Deployment) -> str | None:
    served = _serves(d.canary_reference, d.canary_version)
    return None if served is None else f"{served} ({d.canary_share * 100:g}%)"


def _utc(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
