"""``modeldeck models``: register, review, promote and trace model versions.

Each command calls the client's registry and renders what it answers; the rules (who may
approve, what a protected alias needs) live in the registry and reach the user as its errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modeldeck.cli import lookup, render

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.text import Text
    from rich.tree import Tree

    from modeldeck.core.entities import Run
    from modeldeck.core.governance import Approval
    from modeldeck.core.registry import AliasEvent, Evaluation, ModelVersion, RegisteredModel
    from modeldeck.registry.lineage import DatasetUse, Lineage

app = typer.Typer(help="Register, review, promote and trace model versions.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Write JSON to stdout instead of a table.")]
Name = Annotated[str, typer.Argument(help="A registered model's name.")]
Version = Annotated[int, typer.Argument(min=1, help="A version number of the model.")]
Comment = Annotated[
    str | None, typer.Option("--comment", "-m", help="Why, kept with the decision.")
]


@app.command("list")
def list_models(
    like: Annotated[
        str | None, typer.Option("--like", help="Only names matching a LIKE pattern: 'churn%'.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Registered models with their latest version and aliases."""
    models = lookup.client().search_models(like)
    if as_json:
        render.print_json(models)
    elif models:
        render.console().print(_models_table(models))
    else:
        render.console().print("No registered models: `modeldeck models register` adds one.")


@app.command()
def versions(name: Name, as_json: AsJson = False) -> None:
    """Every version of a model, oldest first: run, flavor, aliases, author."""
    found = lookup.client().model_versions(name)
    if as_json:
        render.print_json([_version_json(v) for v in found])
    elif found:
        render.console().print(_versions_table(found))
    else:
        render.console().print(render.plain(f"{name} has no versions yet."))


@app.command()
def show(name: Name, version: Version, as_json: AsJson = False) -> None:
    """A version and its evidence: package, signature, evaluation, decisions, what blocks it."""
    owner = lookup.client()
    found = owner.get_model_version(name, version)
    model = owner.get_registered_model(name)
    evaluations = owner.evaluations(name, version)
    decisions = owner.decisions(name, version)
    blockers = owner.promotion_blockers(name, version)
    promotion = {
        alias: {
            "current": model.aliases.get(alias),
            "blockers": [] if model.aliases.get(alias) == version else blockers,
        }
        for alias in model.protected_aliases
    }
    if as_json:
        latest = evaluations[0] if evaluations else None
        render.print_json(
            _version_json(found)
            | {"latest_evaluation": latest, "decisions": decisions, "promotion": promotion}
        )
        return
    from rich.console import Group

    render.console().print(Group(*_version_detail(found, evaluations, decisions, promotion)))


@app.command()
def register(
    source: Annotated[
        str,
        typer.Argument(
            metavar="RUN_ID_OR_URI",
            help="A run id (or a unique prefix of 4+ chars), or runs:/<run id>/<path>.",
        ),
    ],
    name: Name,
    path: Annotated[
        str, typer.Option("--path", help="The model's artifact path in the run.")
    ] = "model",
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="What this version is.")
    ] = None,
    replaces: Annotated[
        int | None,
        typer.Option("--replaces", min=1, help="The version this one supersedes (for lineage)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Register a run's logged model as the next version of NAME (created if new)."""
    uri = source if ":" in source else f"runs:/{lookup.run(source).id}/{path}"
    created = lookup.client().register_model(uri, name, description=description, replaces=replaces)
    if as_json:
        render.print_json(_version_json(created))
        return
    render.console().print(render.plain(f"Registered {created.uri} from {uri}", "green"))


EvaluationId = Annotated[
    str | None,
    typer.Option(
        "--evaluation", help="The evaluation id the decision is given on (default: the latest)."
    ),
]


@app.command()
def approve(
    name: Name,
    version: Version,
    comment: Comment = None,
    evaluation: EvaluationId = None,
    as_json: AsJson = False,
) -> None:
    """Approve a version as a reviewer; its author cannot."""
    found = lookup.client().approve(name, version, comment, evaluation=evaluation)
    _print_decision(found, as_json)


@app.command()
def reject(
    name: Name,
    version: Version,
    comment: Comment = None,
    evaluation: EvaluationId = None,
    as_json: AsJson = False,
) -> None:
    """Reject a version as a reviewer; it cannot take a protected alias while rejected."""
    found = lookup.client().reject(name, version, comment, evaluation=evaluation)
    _print_decision(found, as_json)


@app.command()
def promote(
    name: Name,
    version: Version,
    alias: Annotated[str, typer.Option("--alias", "-a", help="The alias to move.")] = "champion",
    as_json: AsJson = False,
) -> None:
    """Point an alias at a version; a protected one needs passed gates and an approval.

    When a condition is unmet, every unmet condition is listed and nothing changes.
    """
    _print_move(lookup.client().promote(name, version, alias), name, version, alias, as_json)


@app.command("alias")
def set_alias(
    name: Name,
    alias: Annotated[str, typer.Argument(help="The alias, e.g. challenger.")],
    version: Version,
    as_json: AsJson = False,
) -> None:
    """Point ALIAS at VERSION (the same rules as promote)."""
    _print_move(lookup.client().promote(name, version, alias), name, version, alias, as_json)


@app.command()
def unalias(name: Name, alias: Annotated[str, typer.Argument(help="The alias to remove.")]) -> None:
    """Remove an alias (a protected one needs an admin); its history is kept."""
    owner = lookup.client()
    previous = owner.get_registered_model(name).aliases.get(alias)
    owner.remove_alias(name, alias)
    if previous is None:
        message = f"{name} has no alias {alias!r}; nothing changed."
    else:
        message = f"Removed {alias} from {name} (it pointed at version {previous})."
    render.console().print(render.plain(message))


@app.command()
def protect(
    name: Name,
    aliases: Annotated[list[str], typer.Argument(help="Every alias to protect.")],
) -> None:
    """Set which aliases need passed gates and an approval (replaces the list; admins only)."""
    chosen = list(dict.fromkeys(aliases))
    lookup.client().set_protected_aliases(name, chosen)
    render.console().print(render.plain(f"Protected aliases of {name}: {', '.join(chosen)}"))


@app.command()
def history(
    name: Name,
    alias: Annotated[str | None, typer.Option("--alias", "-a", help="Only this alias.")] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help='Which version each alias pointed at then: "2026-03-01 14:00" (local).'
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Every alias move, oldest first; with --at, where the aliases pointed at that time."""
    owner = lookup.client()
    events = owner.alias_history(name, alias)
    if at is not None:
        from modeldeck.client.registry import to_millis

        when = to_millis(at)
        aliases = [alias] if alias else sorted({e.alias for e in events})
        pointed = {a: owner.version_at(name, a, when) for a in aliases}
        _print_pointed(name, render.local_time(when), pointed, as_json)
    elif as_json:
        render.print_json(events)
    elif events:
        render.console().print(_history_table(events))
    else:
        which = f"alias {alias!r}" if alias else "alias"
        render.console().print(render.plain(f"No {which} of {name} has been set yet."))


@app.command()
def lineage(name: Name, version: Version, as_json: AsJson = False) -> None:
    """Where a version came from: run, git commit, datasets, parent runs, replaced versions."""
    found = lookup.client().lineage(name, version)
    if as_json:
        render.print_json(_lineage_json(found))
    else:
        render.console().print(_lineage_tree(found))


@app.command("trained-on")
def trained_on(
    dataset: Annotated[str, typer.Argument(help="A dataset name, or a digest or its prefix.")],
    as_json: AsJson = False,
) -> None:
    """The model versions trained on a dataset, by the runs that used it or runs below them."""
    if not dataset.strip():
        raise typer.BadParameter("give a dataset name or digest", param_hint="DATASET")
    uses = lookup.client().trained_on(dataset)
    if as_json:
        render.print_json([_use_json(use) for use in uses])
    else:
        render.console().print(_uses_table(uses))


@app.command()
def export(
    model_uri: Annotated[
        str,
        typer.Argument(
            metavar="MODEL_URI", help="churn@champion, churn/3, or models:/churn@champion."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The folder to write the bundle into.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace the folder when it is not empty.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Write a deployment bundle: the package, pinned requirements.txt and a Dockerfile.

    `docker build OUT` then makes an image that serves the model on port 8080.
    """
    bundle = lookup.client().export_model(model_uri, out, force=force)
    if as_json:
        render.print_json({"path": str(bundle.path), **bundle.metadata})
        return
    meta = bundle.metadata
    message = (
        f"Exported {meta['uri']} (package {meta['package_digest'][:12]}) to {bundle.path}\n"
        f"Build and run it: docker build -t {meta['name']}:{meta['version']} {bundle.path}"
    )
    render.console().print(render.plain(message, "green"))


# rendering -----------------------------------------------------------------------------------


def _version_json(version: ModelVersion) -> dict[str, Any]:
    data: dict[str, Any] = render.jsonable(version)
    return data | {"uri": version.uri}


def _use_json(use: DatasetUse) -> dict[str, Any]:
    return {
        "dataset": use.dataset,
        "run_id": use.run_id,
        "context": use.context,
        "versions": [_version_json(v) for v in use.versions],
    }


def _lineage_json(found: Lineage) -> dict[str, Any]:
    return {
        "version": _version_json(found.version),
        "run": found.run.to_dict() if found.run else None,
        "parents": [parent.to_dict() for parent in found.parents],
        "inputs": found.inputs,
        "replaces": [_version_json(v) for v in found.replaces],
    }


def _print_decision(decision: Approval, as_json: bool) -> None:
    if as_json:
        render.print_json(decision)
        return
    comment = f": {decision.comment}" if decision.comment else ""
    style = "green" if decision.decision.value == "approved" else "yellow"
    text = f"{decision.reviewer} {decision.decision.value} {decision.name} version "
    on = f" (on evaluation {decision.evaluation[:8]})" if decision.evaluation else ""
    render.console().print(render.plain(f"{text}{decision.version}{on}{comment}", style))


def _print_move(
    event: AliasEvent | None, name: str, version: int, alias: str, as_json: bool
) -> None:
    """The move made; JSON ``null`` when the alias pointed at the version already."""
    if as_json:
        render.print_json(event)
    elif event is None:
        message = f"{alias} of {name} already points at version {version}; nothing changed."
        render.console().print(render.plain(message))
    else:
        before = render.MISSING if event.previous_version is None else event.previous_version
        message = f"{alias} of {name}: version {before} → {event.version}"
        render.console().print(render.plain(message, "green"))


def _print_pointed(name: str, when: str, pointed: Mapping[str, int | None], as_json: bool) -> None:
    if as_json:
        render.print_json({"name": name, "at": when, "aliases": pointed})
        return
    out = render.console()
    if not pointed:
        out.print(render.plain(f"No alias of {name} has been set yet."))
    for alias, version in pointed.items():
        target = "no version" if version is None else f"version {version}"
        out.print(render.plain(f"{alias} of {name} pointed at {target} on {when}"))


def _models_table(models: Sequence[RegisteredModel]) -> RenderableType:
    from rich.table import Table

    table = Table(header_style="bold")
    for title in ("name", "latest", "aliases", "protected", "description", "created", "by"):
        table.add_column(title, style="cyan" if title == "name" else "")
    for model in models:
        table.add_row(
            render.plain(model.name),
            render.plain(model.latest_version),
            render.plain(_aliases(model.aliases) or None),
            render.plain(", ".join(model.protected_aliases) or None),
            render.plain(model.description),
            render.local_time(model.created_at, seconds=False),
            render.plain(model.created_by),
        )
    return table


def _versions_table(found: Sequence[ModelVersion]) -> RenderableType:
    from rich.table import Table

    table = Table(header_style="bold")
    titles = ("version", "registered", "by", "run", "flavor", "aliases", "replaces", "description")
    for title in titles:
        table.add_column(title, justify="right" if title == "version" else "left")
    for v in found:
        table.add_row(
            str(v.version),
            render.local_time(v.created_at, seconds=False),
            render.plain(v.created_by),
            render.plain(render.short_id(v.run_id) if v.run_id else None),
            render.plain(v.flavor),
            render.plain(", ".join(v.aliases) or None, "bold green"),
            render.plain(v.replaces_version),
            render.plain(v.description),
        )
    table.columns[0].style = "cyan"
    return table


def _history_table(events: Sequence[AliasEvent]) -> RenderableType:
    from rich.table import Table

    table = Table(header_style="bold")
    for title in ("time", "alias", "from", "to", "by"):
        table.add_column(title, justify="right" if title in ("from", "to") else "left")
    for event in events:
        table.add_row(
            render.local_time(event.at),
            render.plain(event.alias, "cyan"),
            render.plain(event.previous_version),
            render.plain("removed" if event.version is None else event.version),
            render.plain(event.actor),
        )
    return table


def _uses_table(uses: Sequence[DatasetUse]) -> RenderableType:
    from rich.table import Table

    table = Table(header_style="bold")
    for title in ("dataset", "digest", "context", "run", "model versions"):
        table.add_column(title)
    for use in uses:
        listed = ", ".join(f"{v.name}/{v.version}" for v in use.versions)
        table.add_row(
            render.plain(use.dataset.name),
            use.dataset.digest[:12],
            render.plain(use.context),
            render.short_id(use.run_id),
            render.plain(listed or "none", "" if listed else "dim"),
        )
    return table


def _version_detail(
    v: ModelVersion,
    evaluations: Sequence[Evaluation],
    decisions: Sequence[Approval],
    promotion: Mapping[str, Mapping[str, Any]],
) -> list[RenderableType]:
    from rich.table import Table

    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    for label, value in (
        ("uri", v.uri),
        ("registered", f"{render.local_time(v.created_at)} by {v.created_by}"),
        ("run", v.run_id),
        ("artifact path", v.artifact_path),
        ("package digest", v.package_digest),
        ("flavor", v.flavor),
        ("replaces", None if v.replaces_version is None else f"version {v.replaces_version}"),
        ("aliases", ", ".join(v.aliases) or None),
        ("tags", ", ".join(f"{k}={t}" for k, t in sorted(v.tags.items())) or None),
        ("description", v.description),
    ):
        facts.add_row(label, render.plain(value))
    return [
        render.plain(f"{v.name} version {v.version}", "bold"),
        facts,
        _heading("Signature"),
        _signature(v.signature),
        _heading("Latest evaluation"),
        _evaluation(v, evaluations),
        _heading("Decisions"),
        _decisions(decisions),
        _heading("Promotion to protected aliases"),
        *(_promotion(alias, state, v.version) for alias, state in promotion.items()),
    ]


def _signature(signature: Mapping[str, Any] | None) -> RenderableType:
    from rich.console import Group
    from rich.table import Table

    inputs = (signature or {}).get("inputs")
    if not isinstance(inputs, list) or not inputs:
        return render.plain("none recorded: predict cannot check its input", "dim")
    table = Table(header_style="bold")
    for title in ("column", "type", "nullable", "categories"):
        table.add_column(title)
    for column in inputs:
        categories = column.get("categories")
        table.add_row(
            render.plain(column.get("name")),
            render.plain(column.get("type")),
            "yes" if column.get("nullable") else "no",
            render.plain(None if categories is None else f"{len(categories)} values"),
        )
    outputs = (signature or {}).get("outputs")
    if not isinstance(outputs, Mapping):
        return table
    classes = outputs.get("classes")
    labels = "" if classes is None else f", classes {', '.join(map(str, classes))}"
    return Group(table, render.plain(f"output: {outputs.get('type')}{labels}"))


def _evaluation(v: ModelVersion, evaluations: Sequence[Evaluation]) -> RenderableType:
    from rich.console import Group
    from rich.table import Table

    if not evaluations:
        hint = f"none: `modeldeck models evaluate {v.name} {v.version} --data FILE` runs the gates"
        return render.plain(hint, "dim")
    latest = evaluations[0]
    verdict = render.plain(
        "passed" if latest.passed else "FAILED", "green" if latest.passed else "bold red"
    )
    data = latest.dataset_digest[:12] if latest.dataset_digest else render.MISSING
    summary = render.plain(
        f" on {render.local_time(latest.created_at)} by {latest.actor}, evaluation data {data}"
        f" ({len(evaluations)} evaluation{'s' if len(evaluations) > 1 else ''} in all)"
    )
    failed = latest.failed_checks()
    if not failed:
        return verdict.append_text(summary)
    table = Table(header_style="bold")
    for title in ("failed check", "value", "threshold", "verdict", "detail"):
        table.add_column(title, justify="right" if title == "value" else "left")
    for check in failed:
        value = check.get("value")
        table.add_row(
            render.plain(check.get("name"), "red"),
            render.number(value, 4) if isinstance(value, int | float) else render.MISSING,
            render.plain(check.get("threshold")),
            render.plain(check.get("verdict")),
            render.plain(check.get("detail")),
        )
    return Group(verdict.append_text(summary), table)


def _decisions(decisions: Sequence[Approval]) -> RenderableType:
    from rich.table import Table

    if not decisions:
        return render.plain("none yet", "dim")
    table = Table(header_style="bold")
    for title in ("time", "reviewer", "decision", "comment"):
        table.add_column(title)
    for item in decisions:
        approved = item.decision.value == "approved"
        table.add_row(
            render.local_time(item.created_at),
            render.plain(item.reviewer),
            render.plain(item.decision.value, "green" if approved else "yellow"),
            render.plain(item.comment),
        )
    return table


def _promotion(alias: str, state: Mapping[str, Any], version: int) -> RenderableType:
    from rich.console import Group

    current = state["current"]
    if current == version:
        return render.plain(f"{alias}: points at this version", "green")
    now = "unset" if current is None else f"now version {current}"
    if not state["blockers"]:
        return render.plain(f"{alias} ({now}): nothing blocks the promotion", "green")
    reasons = [render.plain(f"  - {reason}") for reason in state["blockers"]]
    return Group(render.plain(f"{alias} ({now}): blocked by", "yellow"), *reasons)


def _lineage_tree(found: Lineage) -> Tree:
    from rich.tree import Tree

    v = found.version
    title = f"{v.name} version {v.version}  {v.uri}  package {v.package_digest[:12]}"
    tree = Tree(render.plain(title, "bold"))
    if found.run is None:
        tree.add(render.plain("no run recorded", "dim"))
    else:
        node = _add_run(tree, found.run, "run")
        for parent in found.parents:  # nearest first: each hangs below the run it launched
            node = _add_run(node, parent, "parent run")
    node = tree
    for older in found.replaces:
        run = f", run {render.short_id(older.run_id)}" if older.run_id else ""
        label = f"replaces version {older.version} (by {older.created_by}{run})"
        node = node.add(render.plain(label, "magenta"))
    return tree


def _add_run(parent: Tree, run: Run, kind: str) -> Tree:
    label = render.plain(f"{kind} {run.name}  {run.id}  ", "bold")
    label.append_text(render.status(run.status))
    label.append_text(render.plain(f"  by {run.user}"))
    node = parent.add(label)
    node.add(_git(run))
    for item in run.inputs:
        data = item.dataset
        rows = "" if data.num_rows is None else f", {data.num_rows:,} rows"
        text = f"dataset {data.name}  digest {data.digest[:12]}  ({item.context}{rows})"
        node.add(render.plain(text, "cyan"))
    return node


def _git(run: Run) -> Text:
    if not run.git_commit:
        return render.plain("git: no commit recorded", "dim")
    state = ""
    if run.git_dirty is not None:
        state = " (dirty: uncommitted changes)" if run.git_dirty else " (clean)"
    return render.plain(f"git {run.git_commit}{state}", "yellow" if run.git_dirty else "")


def _aliases(aliases: Mapping[str, int]) -> str:
    return ", ".join(f"{alias}→{version}" for alias, version in sorted(aliases.items()))


def _heading(title: str) -> RenderableType:
    return render.plain(f"\n{title}", "bold")
