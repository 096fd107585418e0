"""``modeldeck serve MODEL``: answer predictions over HTTP (uvicorn, one model per worker)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from fastapi import FastAPI

    from modeldeck.serving.server import Served


def serve(
    model: Annotated[
        str,
        typer.Argument(help="churn@champion, churn/3, models:/… or runs:/<run>/<path>."),
    ],
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=0, max=65535)] = 8080,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.", min=1)] = 1,
) -> None:
    """Serve a model: /predict, MLflow's /invocations, Open Inference V2, /health, /metrics."""
    from modeldeck.cli.server import fork_workers, require_server_extra, run_uvicorn

    require_server_extra()

    # load once here: a wrong reference or a broken package fails before workers start
    served = load(model)
    os.environ[SERVE_ENV] = served.uri
    if workers > 1:
        fork_workers()
    typer.secho(
        f"serving {served.name} version {served.version} on http://{host}:{port} "
        f"({workers} worker(s))",
        fg="green",
        err=True,
    )
    run_uvicorn("modeldeck.cli.serve:app_from_env", host, port, workers)


SERVE_ENV = "MODELDECK_SERVE_MODEL"


def load(reference: str) -> Served:
    """The model ``reference`` names: ``churn@champion``, ``churn/3``, ``models:/…``,
    ``runs:/…`` (through the configured store or server), or the folder of a package (an
    exported bundle's ``model/``, named by the ``modeldeck-bundle.json`` beside it)."""
    from modeldeck.serving.server import Served

    folder = Path(reference)
    if folder.is_dir():
        import json

        from modeldeck.models.loading import load_folder

        about = folder.parent / "modeldeck-bundle.json"
        meta = json.loads(about.read_text()) if about.is_file() else {}
        name, number = str(meta.get("name", folder.name)), str(meta.get("version", "local"))
        return Served(name, number, str(folder.resolve()), load_folder(folder))
    from modeldeck.client import connect
    from modeldeck.core.refs import expand_model_ref

    uri = expand_model_ref(reference)
    client = connect()
    if uri.startswith("models:/"):
        version = client.resolve_model_version(uri)
        name, number = version.name, str(version.version)
    else:
        name, number = uri.removeprefix("runs:/").split("/", 1)[0], "run"
    return Served(name, number, uri, client.load_model(uri))


def app_from_env() -> FastAPI:
    """The factory uvicorn workers call: the model comes from MODELDECK_SERVE_MODEL."""
    from modeldeck.serving.server import create_app

    return create_app(load(os.environ[SERVE_ENV]))
