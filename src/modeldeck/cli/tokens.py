"""``modeldeck tokens``: API tokens for the team server (shown once, stored hashed)."""

from __future__ import annotations

from typing import Annotated

import typer

from modeldeck.cli import lookup, render

app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Write JSON to stdout instead of a table.")]


@app.command()
def create(
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="Whose token (admins only for others).")
    ] = None,
    expires_in_days: Annotated[
        float, typer.Option("--expires-in-days", help="Lifetime in days; 0 for no expiry.", min=0)
    ] = 90,
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="What the token is for.")
    ] = None,
    runs: Annotated[
        list[str] | None,
        typer.Option("--run", help="Limit the token to this run (repeat for several)."),
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option("--model", help="Limit the token to this model (repeat for several)."),
    ] = None,
) -> None:
    """Create a token; it is printed once, on stdout alone, and cannot be shown again.

    With --run or --model the token is limited: it can log to those runs, upload their bytes
    and register versions of those models, nothing else, and it expires within a day."""
    from modeldeck.core.governance import TokenScope

    scope = TokenScope(tuple(runs or ()), tuple(models or ())) if runs or models else None
    issued = lookup.client().create_token(
        user, expires_in_days=expires_in_days or None, description=description, scope=scope
    )
    info = issued.info
    until = render.local_time(info.expires_at) if info.expires_at else "never"
    render.err_console().print(
        f"token {info.id} for {info.user}, expires {until}. Store it now: it is not kept. "
        "Use it as MODELDECK_TOKEN."
    )
    typer.echo(issued.token)


@app.command("list")
def list_tokens(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this user's.")] = None,
    as_json: AsJson = False,
) -> None:
    """Tokens with their owner, state and last use (never their secrets)."""
    import time

    found = lookup.client().list_tokens(user)
    now = time.time_ns() // 1_000_000
    if as_json:
        render.print_json([{**render.jsonable(t), "state": t.state(now)} for t in found])
        return
    from rich.table import Table

    table = Table()
    for column in ("id", "user", "state", "created", "expires", "last used", "description"):
        table.add_column(column)
    colors = {"active": "green", "expired": "yellow", "revoked": "red"}
    for t in found:
        state = t.state(now)
        table.add_row(
            t.id,
            t.user,
            render.plain(state, colors[state]),
            render.local_time(t.created_at),
            render.local_time(t.expires_at) if t.expires_at else "never",
            render.local_time(t.last_used_at) if t.last_used_at else "—",
            t.description or "",
        )
    render.console().print(table)


@app.command()
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (not its secret).")],
) -> None:
    """Revoke a token at once (your own, or anyone's as an admin)."""
    lookup.client().revoke_token(token_id)
    render.console().print(f"token {token_id} revoked")
