"""The ``modeldeck`` command: the Typer app, ``--version`` and the one place errors are shown.

A :class:`~modeldeck.core.errors.ModeldeckError` (and a store that cannot be reached or stays
locked) becomes one red paragraph on stderr and exit status 1; usage errors keep click's 2.
"""

from __future__ import annotations

import errno
import re
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from modeldeck._version import __version__
from modeldeck.cli import (
    artifacts,
    audit,
    db,
    deployments,
    experiments,
    models,
    monitor,
    predict,
    quickstart,
    render,
    review,  # noqa: F401  (adds `models evaluate` and `models card`)
    runs,
    serve,
    server,
    tokens,
    users,
)
from modeldeck.core.errors import ModeldeckError


class _Group(TyperGroup):
    """The root command group; every subcommand runs inside its ``invoke``."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ModeldeckError as exc:
            render.error(str(exc))
        except Exception as exc:
            message = explain(exc)
            if message is None:
                raise
            render.error(message)
        raise typer.Exit(1)


app = typer.Typer(
    name="modeldeck",
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")
app.add_typer(artifacts.app, name="artifacts")
app.add_typer(models.app, name="models")
app.add_typer(deployments.app, name="deployments")
app.add_typer(monitor.app, name="monitor")
app.add_typer(audit.app, name="audit")
app.add_typer(users.app, name="users")
app.add_typer(tokens.app, name="tokens")
app.add_typer(db.app, name="db")
app.add_typer(server.app, name="server")
app.command("quickstart")(quickstart.quickstart)
app.command("predict")(predict.predict)
app.command("serve")(serve.serve)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"modeldeck {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Track experiments, register and review models, and keep an auditable trail.

    The store is ./.modeldeck/ unless MODELDECK_HOME or MODELDECK_TRACKING_URI says otherwise.
    """


def explain(exc: BaseException) -> str | None:
    """A clear message for a failure of the environment (store, files), None for a bug."""
    if isinstance(exc, OSError) and not isinstance(exc, ConnectionError):
        if exc.errno == errno.EPIPE:
            return None  # the reader went away (`| head`): typer exits quietly
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None or not isinstance(
        exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError
    ):
        return None
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    where = _store_location()
    if "locked" in detail or "busy" in detail:
        return (
            f"the metadata store {where} stayed locked by another process ({detail}). "
            "Try again when the other writer has finished."
        )
    return (
        f"cannot use the metadata store {where}: {detail}. Check MODELDECK_TRACKING_URI "
        "and that the database is reachable."
    )


def _store_location() -> str:
    from modeldeck.core.settings import Settings

    try:
        uri = Settings.load().tracking_uri
    except ModeldeckError:
        return "(unreadable settings)"
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", uri)


def main() -> None:
    app(prog_name="modeldeck")


if __name__ == "__main__":
    main()
