"""``modeldeck server``: run the team server; ``modeldeck server init`` prepares its store.

FastAPI and uvicorn are imported inside the commands, so ``modeldeck --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Annotated

import typer

from modeldeck.cli import render
from modeldeck.core.errors import AlreadyExists, InvalidInput

app = typer.Typer(
    help="Run the team server (REST API, /health, /metrics, /docs).",
    invoke_without_command=True,
)

BackendUri = Annotated[
    str | None,
    typer.Option(
        "--backend-uri",
        help="Metadata store: postgresql+psycopg://… or sqlite:///… "
        "(default MODELDECK_TRACKING_URI).",
    ),
]
Artifacts = Annotated[
    str | None,
    typer.Option("--artifacts", help="Object store (default MODELDECK_ARTIFACTS)."),
]


@app.callback()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=0, max=65535)] = 5000,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.", min=1)] = 1,
    backend_uri: BackendUri = None,
    artifacts: Artifacts = None,
) -> None:
    """Serve the REST API (/api/v1), /health, /metrics and /docs with uvicorn.

    Clients authenticate with `Authorization: Bearer <token>`; `modeldeck server init` gives the
    first admin's token.
    """
    if ctx.invoked_subcommand is not None:
        return
    require_server_extra()

    from modeldeck.core.settings import Settings

    _export(backend_uri, artifacts)
    settings = Settings.load()
    # Open the store once here, so a wrong URI or an old schema fails before workers start.
    from modeldeck.server.app import create_app
    from modeldeck.server.telemetry import shared_by_workers

    with shared_by_workers(workers):  # /metrics sums every worker's counts
        create_app(settings).state.services.db.dispose()
        if workers > 1:
            fork_workers()
        # click's echo, not a rich console: rich's import would add 40 ms to every start
        typer.secho(
            f"modeldeck server on http://{host}:{port} ({workers} worker(s))", fg="green", err=True
        )
        run_uvicorn("modeldeck.server.app:app_from_env", host, port, workers)


def run_uvicorn(factory: str, host: str, port: int, workers: int) -> None:
    """uvicorn as both servers run it: an app factory, TCP_NODELAY, httptools and uvloop
    where installed, no access log."""
    import uvicorn

    from modeldeck.server.protocol import protocol

    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=protocol(),
        log_level="warning",
        access_log=False,
    )


@app.command()
def init(
    admin: Annotated[str, typer.Option("--admin", help="Name of the first admin user.")] = "admin",
    backend_uri: BackendUri = None,
    artifacts: Artifacts = None,
) -> None:
    """Create the schema and the first admin, and print the admin's token once (stdout)."""
    from modeldeck.client.local import LocalClient
    from modeldeck.core.governance import Role
    from modeldeck.core.settings import Settings
    from modeldeck.governance.tokens import check_user_name
    from modeldeck.storage.db.engine import Database
    from modeldeck.storage.db.migrate import upgrade

    check_user_name(admin)
    _export(backend_uri, artifacts)
    settings = dataclasses.replace(Settings.load(), user=admin)
    db = Database(settings.tracking_uri)
    try:
        upgrade(db)
    finally:
        db.dispose()
    owner = LocalClient(settings)
    try:
        grants = owner.roles()
        users = owner.list_users()
        if grants or users:
            admins = sorted(u for u, r in grants.items() if r is Role.ADMIN)
            raise AlreadyExists(
                "this store is already initialised "
                f"(admins: {', '.join(admins) or 'none'}; {len(users)} user(s)); nothing was "
                "changed. An admin adds users with `modeldeck users add` and gives tokens with "
                "`modeldeck tokens create --user NAME`."
            )
        owner.add_user(admin)  # the project is still open: everyone may add the first user
        owner.grant(admin, Role.ADMIN)  # closes the project
        issued = owner.create_token(admin, expires_in_days=None, description="server init")
    finally:
        owner.close()
    render.err_console().print(
        f"schema is current; {admin} is admin of project 'default'. Their token follows, shown "
        "once: store it now (MODELDECK_TOKEN). Revoke it with `modeldeck tokens revoke "
        f"{issued.info.id}`."
    )
    typer.echo(issued.token)


config_app = typer.Typer(
    help="Allowlists an admin sets on a running store: webhook_hosts (internal hosts webhooks "
    "may reach) and python_loaders (module:qualname, or module.*, that python-flavor models "
    "may name).",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")] = False,
) -> None:
    """Every server setting and its entries (admins only)."""
    from modeldeck.cli import lookup

    found = lookup.client().server_config()
    if as_json:
        render.print_json(found)
        return
    for key, values in sorted(found.items()):
        typer.echo(f"{key}: {', '.join(values) if values else '(empty)'}")


@config_app.command("set")
def config_set(
    key: Annotated[str, typer.Argument(help="webhook_hosts or python_loaders.")],
    values: Annotated[
        list[str] | None, typer.Argument(help="The entries (none: empty the list).")
    ] = None,
) -> None:
    """Replace the entries of one setting (admins only; audited as config.set)."""
    from modeldeck.cli import lookup

    kept = lookup.client().set_server_config(key, values or [])
    typer.echo(f"{key.replace('-', '_')}: {', '.join(kept) if kept else '(empty)'}")


def _export(backend_uri: str | None, artifacts: str | None) -> None:
    """Workers are separate processes that read their settings from the environment."""
    if backend_uri:
        os.environ["MODELDECK_TRACKING_URI"] = backend_uri
    if artifacts:
        os.environ["MODELDECK_ARTIFACTS"] = artifacts


def fork_workers() -> None:
    """Start uvicorn's workers by fork instead of spawn, so they inherit the app's imports.

    This process has just imported the app (FastAPI, pydantic, SQLAlchemy: ~1.2 s of imports)
    to check the store; spawned workers would import it all again, and the console script with
    it, and hold private copies. Forked ones start at once and share those pages. Measured with
    bench/server.py (2 workers, 2 cores): first /health 3.7 s → 1.2 s, RSS of all processes
    221 → 181 MB. Safe because nothing is open here: the store's engine was disposed and no
    thread runs yet. uvicorn has no option for this; it takes the start method from
    ``uvicorn._subprocess.spawn``.
    """
    import multiprocessing

    from uvicorn import _subprocess

    if "fork" in multiprocessing.get_all_start_methods() and hasattr(_subprocess, "spawn"):
        _subprocess.spawn = multiprocessing.get_context("fork")  # type: ignore[assignment]


def require_server_extra() -> None:
    import importlib.util

    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise InvalidInput(
            f"`modeldeck server` needs the server extra ({', '.join(missing)} missing): "
            "pip install 'modeldeck[server]'"
        )
