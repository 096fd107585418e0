"""``modeldeck artifacts``: list a run's files and folders, and download them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated

import typer

from modeldeck.cli import lookup, render
from modeldeck.core.errors import InvalidInput

if TYPE_CHECKING:
    from rich.table import Table

    from modeldeck.core.entities import Artifact

app = typer.Typer(help="List and download the files runs stored.", no_args_is_help=True)

RunId = Annotated[str, typer.Argument(help="A run id, or a unique prefix of one (4+ chars).")]


@app.command("list")
def list_artifacts(
    run_id: RunId,
    as_json: Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")] = False,
) -> None:
    """The artifacts of a run: path, file or folder, size and content digest."""
    artifacts = lookup.client().artifacts(lookup.run(run_id).id)
    if as_json:
        render.print_json([dataclasses.asdict(a) for a in artifacts])
    elif artifacts:
        render.console().print(artifacts_table(artifacts))
    else:
        render.console().print("This run has no artifacts.")


@app.command()
def get(
    run_id: RunId,
    path: Annotated[str, typer.Argument(help="An artifact, or a file inside a logged folder.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Where to write it (default: ./NAME; into DEST if a folder)."
        ),
    ] = None,
) -> None:
    """Download a file or a folder, verifying every byte against its digest."""
    run = lookup.run(run_id)
    written = lookup.client().download_artifact(run.id, path, destination(path, output))
    render.console().print(render.plain(f"Downloaded {path} to {written}"))


def destination(path: str, output: Path | None) -> Path:
    name = PurePosixPath(path.replace("\\", "/").strip("/")).name
    if not name:
        raise InvalidInput(
            f"{path!r} is not an artifact path; `modeldeck artifacts list` shows them"
        )
    if output is None:
        return Path.cwd() / name
    return output / name if output.is_dir() else output


def artifacts_table(artifacts: Sequence[Artifact]) -> Table:
    from rich.table import Table

    table = Table(header_style="bold")
    table.add_column("path", style="cyan")
    table.add_column("type")
    table.add_column("size", justify="right")
    table.add_column("digest", style="dim")
    for item in sorted(artifacts, key=lambda a: a.path):
        table.add_row(
            render.plain(item.path + ("/" if item.is_dir else "")),
            "dir" if item.is_dir else "file",
            render.size(item.size),
            item.digest[:12],
        )
    return table
