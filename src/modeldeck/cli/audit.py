"""``modeldeck audit``: read the append-only audit log and verify its hash chain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modeldeck.cli import lookup, render

if TYPE_CHECKING:
    from rich.console import RenderableType

    from modeldeck.core.governance import AuditRecord

app = typer.Typer(help="Read and verify the audit log of every change.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Write JSON to stdout instead of a table.")]
CHANGE_WIDTH = 60


@app.command()
def log(
    subject: Annotated[
        str | None,
        typer.Option("--subject", "-s", help="models:/churn covers its versions and aliases too."),
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this user's actions.")] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action, e.g. alias.move.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most N records.")] = 50,
    as_json: AsJson = False,
) -> None:
    """The newest records first: time, actor, action, subject and what changed."""
    records = lookup.client().audit_log(subject, actor, action, limit)
    if as_json:
        render.print_json(records)
    elif records:
        render.console().print(_records_table(records))
    else:
        render.console().print("No audit records match.")


@app.command()
def verify(as_json: AsJson = False) -> None:
    """Recompute the hash chain; exit 1 naming the first record that does not match."""
    check = lookup.client().verify_audit()
    if as_json:
        render.print_json(check)
    elif check.ok:
        render.console().print(
            render.plain(f"audit chain intact: {check.records} records", "green")
        )
    else:
        render.error(
            f"audit chain broken at record seq {check.first_bad_seq}: {check.reason}. "
            f"The {check.records - 1} records before it verify."
        )
    if not check.ok:
        raise typer.Exit(1)


def _records_table(records: Sequence[AuditRecord]) -> RenderableType:
    from rich.table import Table

    table = Table(header_style="bold")
    for title in ("seq", "time", "actor", "action", "subject", "change"):
        table.add_column(title, justify="right" if title == "seq" else "left")
    for record in records:
        denied = record.action.startswith("denied:")
        table.add_row(
            str(record.seq),
            render.local_time(record.at),
            render.plain(record.actor),
            render.plain(record.action, "red" if denied else "cyan"),
            render.plain(record.subject),
            render.plain(change(record.before, record.after)),
        )
    return table


def change(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str:
    """``version: 1 → 2, protected=True``, cut to CHANGE_WIDTH characters."""
    old, new = before or {}, after or {}
    parts = []
    for key in dict.fromkeys([*old, *new]):
        if key not in new:
            parts.append(f"{key}: {_short(old[key])} → {render.MISSING}")
        elif key in old and old[key] != new[key]:
            parts.append(f"{key}: {_short(old[key])} → {_short(new[key])}")
        elif key not in old and new[key] is not None:
            parts.append(f"{key}={_short(new[key])}")
    text = ", ".join(parts)
    return text if len(text) <= CHANGE_WIDTH else text[: CHANGE_WIDTH - 1] + "…"


def _short(value: Any) -> str:
    if value is None:
        return render.MISSING
    if isinstance(value, str) and len(value) in (32, 64) and value.isalnum():
        return value[: 8 if len(value) == 32 else 12]  # a run id or a digest, as tables show them
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)
