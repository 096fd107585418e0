"""``modeldeck users``: roles per project (viewer < contributor < reviewer < admin).

A project with no grants is open: everyone acts as admin. Its first grant closes it, and
from then on a user without a grant is a viewer.
"""

from __future__ import annotations

from typing import Annotated

import typer

from modeldeck.cli import lookup, render
from modeldeck.core.governance import Role

app = typer.Typer(help="Grant, revoke and list roles per project.", no_args_is_help=True)

Project = Annotated[str, typer.Option("--project", "-p", help="The project the role is for.")]
User = Annotated[str, typer.Argument(help="A user name, as MODELDECK_USER or the OS gives it.")]


@app.command()
def grant(
    user: User,
    role: Annotated[str, typer.Argument(help="viewer, contributor, reviewer or admin.")],
    project: Project = "default",
) -> None:
    """Give USER a role in a project (admins only, once the project has any grant)."""
    chosen = Role.parse(role)
    owner = lookup.client()
    was_open = not owner.roles(project)
    owner.grant(user, chosen, project)
    out = render.console()
    out.print(render.plain(f"{user} is now {chosen.value} in project {project!r}.", "green"))
    if was_open:
        me = owner.settings.user
        admin = f" {me} became its admin;" if me != user else ""
        note = (
            f"Project {project!r} was open to everyone.{admin} users without a grant are viewers."
        )
        out.print(render.plain(note, "dim"))


@app.command()
def revoke(user: User, project: Project = "default") -> None:
    """Take USER's role away: they become a viewer (admins only)."""
    owner = lookup.client()
    before = owner.roles(project).get(user)
    owner.revoke(user, project)
    if before is None:
        message = f"{user} had no role in project {project!r}; nothing changed."
    else:
        message = f"{user} is no longer {before.value} in project {project!r}."
    render.console().print(render.plain(message))


@app.command("list")
def list_users(
    project: Project = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")] = False,
) -> None:
    """Who holds which role in a project; you are MODELDECK_USER (or the OS user)."""
    owner = lookup.client()
    roles = owner.roles(project)
    me = owner.settings.user
    if as_json:
        grants = [{"user": user, "role": role.value} for user, role in sorted(roles.items())]
        render.print_json({"project": project, "open": not roles, "you": me, "grants": grants})
        return
    out = render.console()
    if not roles:
        out.print(
            render.plain(f"Project {project!r} has no grants: it is open, everyone is admin.")
        )
        return
    from rich.table import Table

    table = Table(header_style="bold")
    table.add_column("user", style="cyan")
    table.add_column("role")
    for user, role in sorted(roles.items(), key=lambda item: (-item[1].rank, item[0])):
        table.add_row(render.plain(user + (" (you)" if user == me else "")), role.value)
    out.print(table)
    if me not in roles:
        out.print(render.plain(f"You ({me}) have no grant here, so you are a viewer.", "dim"))


@app.command()
def add(user: User) -> None:
    """Add a user of a shared store, who can then get API tokens (admins only)."""
    lookup.client().add_user(user)
    render.console().print(
        render.plain(
            f"added {user}; `modeldeck tokens create --user {user}` gives a token", "green"
        )
    )


@app.command()
def disable(user: User) -> None:
    """Disable a user: every token of theirs stops working (admins only)."""
    lookup.client().set_user_disabled(user, True)
    render.console().print(f"{user} is disabled; their tokens are refused")


@app.command()
def enable(user: User) -> None:
    """Enable a disabled user again (admins only)."""
    lookup.client().set_user_disabled(user, False)
    render.console().print(f"{user} is enabled")
