"""``modeldeck models evaluate`` and ``modeldeck models card``: evidence and documentation.

Registered on the ``models`` group of ``cli/models.py``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from modeldeck.cli import lookup, render
from modeldeck.cli.models import AsJson, Name, Version, app

SECTION_MARK = "## "


@app.command()
def evaluate(
    name: Name,
    version: Version,
    data: Annotated[
        Path, typer.Option("--data", "-d", help="Evaluation data with the label: .parquet or .csv")
    ],
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy", help="Policy file (default: modeldeck.toml/.yaml from here upwards)."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Run the model's validation gates on DATA and store the result as evidence."""
    client = lookup.client()
    found = client.evaluate_model(name, version, data, policy=policy)
    if as_json:
        render.print_json(found)
        return
    from rich.table import Table

    table = Table(title=f"{name} version {version}: gates on {data.name}")
    for column in ("check", "value", "threshold", "verdict", "detail"):
        table.add_column(column, overflow="fold")
    colors = {"pass": "green", "fail": "bold red", "error": "bold red", "skip": "dim"}
    for check in found.result.get("checks", []):
        verdict = str(check.get("verdict"))
        table.add_row(
            str(check.get("name")),
            render.number(check.get("value"), 4),
            str(check.get("threshold") or ""),
            render.plain(verdict.upper(), colors.get(verdict, "")),
            str(check.get("detail") or ""),
        )
    out = render.console()
    out.print(table)
    verdict = "[bold green]PASSED[/]" if found.passed else "[bold red]FAILED[/]"
    out.print(
        f"Gates {verdict}; evidence {found.id[:8]} stored with plots: {', '.join(found.plots)}"
    )
    verdicts = [c.get("verdict") for c in found.result.get("checks", [])]
    if "pass" not in verdicts and not found.failed_checks():
        out.print("No check ran (none passed): a policy that checks nothing passes nothing.")
    if client.get_model_version(name, version).created_by == found.actor:
        out.print(
            f"[yellow]You registered {name} version {version}:[/] your own evidence does not "
            "count toward a protected alias; a reviewer must evaluate it too."
        )
    if not found.passed:
        raise typer.Exit(1)


@app.command()
def card(
    name: Name,
    version: Version,
    edit: Annotated[
        bool, typer.Option("--edit", help="Edit the human-written sections in $EDITOR.")
    ] = False,
    status: Annotated[
        str | None,
        typer.Option("--status", help="Move the review status: draft, in_review or approved."),
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the card as a self-contained page.")
    ] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", "--md", help="Write the card as Markdown here.")
    ] = None,
) -> None:
    """Show the model card of a version; --edit, --status and --html change or export it."""
    client = lookup.client()
    if edit:
        client.edit_model_card(name, version, _edit_in_editor(client.model_card(name, version)))
    if status:
        client.set_model_card_status(name, version, status)
    text = client.render_model_card(name, version, format="markdown")
    if markdown:
        markdown.write_text(text, encoding="utf-8")
    if html:
        html.write_text(client.render_model_card(name, version, format="html"), encoding="utf-8")
    if not (markdown or html):
        from rich.markdown import Markdown

        render.console().print(Markdown(text))
    written = [str(p) for p in (markdown, html) if p]
    if written:
        render.console().print(f"card of {name} version {version} written to {', '.join(written)}")


def _edit_in_editor(current: object) -> dict[str, str]:
    """Open the sections in $EDITOR as Markdown under '## <key>' headings; read them back."""
    sections: dict[str, str] = getattr(current, "sections", {})
    document = "\n\n".join(
        f"{SECTION_MARK}{key}\n\n{text.strip()}" for key, text in sections.items()
    )
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="modeldeck-card-") as tmp:
        path = Path(tmp) / "card.md"
        path.write_text(document + "\n", encoding="utf-8")
        subprocess.run([*editor.split(), str(path)], check=True)
        edited = path.read_text(encoding="utf-8")
    out: dict[str, str] = {}
    key = None
    for line in edited.splitlines():
        if line.startswith(SECTION_MARK) and line[len(SECTION_MARK) :].strip() in sections:
            key = line[len(SECTION_MARK) :].strip()
            out[key] = ""
        elif key is not None:
            out[key] += line + "\n"
    return {k: v.strip() for k, v in out.items()}
