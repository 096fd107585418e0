"""``modeldeck runs``: list, show, search, compare and garbage-collect runs."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from modeldeck.cli import lookup, render

if TYPE_CHECKING:
    from rich.console import RenderableType

    from modeldeck.core.entities import Artifact, Run

app = typer.Typer(help="List, inspect, search and compare runs.", no_args_is_help=True)

Experiments = Annotated[
    list[str] | None,
    typer.Option("--experiment", "-e", help="Only runs of this experiment (repeatable)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Write JSON to stdout instead of a table.")]
RunId = Annotated[str, typer.Argument(help="A run id, or a unique prefix of one (4+ chars).")]
METRIC_COLUMNS = 3


@app.command("list")
def list_runs(
    experiment: Experiments = None,
    max_results: Annotated[int, typer.Option("--max", "-n", min=1, help="At most N runs.")] = 20,
    as_json: AsJson = False,
) -> None:
    """The newest runs first, across every experiment unless -e is given."""
    page = lookup.client().search_runs(experiment or None, max_results=max_results)
    _print_runs(page.runs, page.next_offset is not None, as_json)


@app.command()
def search(
    experiment: Experiments = None,
    filter: Annotated[
        str | None,
        typer.Option("--filter", "-f", help="e.g. \"metrics.auc > 0.8 and params.model = 'gbm'\"."),
    ] = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option("--order-by", "-o", help='e.g. "metrics.auc desc" (repeatable).'),
    ] = None,
    max_results: Annotated[int, typer.Option("--max", "-n", min=1, help="At most N runs.")] = 100,
    as_json: AsJson = False,
) -> None:
    """Runs matching a filter, in the order asked for (newest first by default)."""
    page = lookup.client().search_runs(experiment or None, filter, order_by or None, max_results)
    _print_runs(page.runs, page.next_offset is not None, as_json, _ordered_metrics(order_by))


@app.command()
def show(run_id: RunId, as_json: AsJson = False) -> None:
    """Everything a run recorded: provenance, params, metrics, tags, datasets, artifacts."""
    run = lookup.run(run_id)
    owner = lookup.client()
    children, artifacts = owner.children(run.id), owner.artifacts(run.id)
    experiment = lookup.experiment_names().get(run.experiment_id, run.experiment_id)
    if as_json:
        artifact_dicts = [dataclasses.asdict(a) for a in artifacts]
        extra = {"experiment": experiment, "children": children, "artifacts": artifact_dicts}
        render.print_json(run.to_dict() | extra)
        return
    render.console().print(*_run_detail(run, experiment, children, artifacts))


@app.command()
def compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids (or prefixes).")],
    lower: Annotated[
        list[str] | None,
        typer.Option(
            "--lower",
            help="A metric where lower is better (repeatable); "
            "names like loss, error, rmse or time are taken as such already.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Params and metrics side by side; differing rows highlighted, best values starred."""
    from modeldeck.cli.compare import build, to_json, to_table

    if len(run_ids) < 2:
        raise typer.BadParameter("give at least two run ids", param_hint="RUN_IDS")
    comparison = build([lookup.run(r) for r in run_ids], lower_better=set(lower or ()))
    if as_json:
        render.print_json(to_json(comparison))
    else:
        render.console().print(to_table(comparison))


@app.command()
def gc(as_json: AsJson = False) -> None:
    """Mark FAILED the RUNNING runs whose process on this host has died (SIGKILL, crash)."""
    dead = lookup.client().reap_dead_runs()
    if as_json:
        render.print_json(dead)
        return
    out = render.console()
    if not dead:
        out.print("No dead runs: every RUNNING run of this host has a live process.")
    for run_id in dead:
        out.print(render.plain(f"marked FAILED: {run_id}", "red"))


# rendering -----------------------------------------------------------------------------------


def _print_runs(
    runs: Sequence[Run], more: bool, as_json: bool, first_metrics: Sequence[str] = ()
) -> None:
    if as_json:
        render.print_json([run.to_dict() for run in runs])
        return
    out = render.console()
    if not runs:
        out.print("No runs found.")
        return
    out.print(_runs_table(runs, lookup.experiment_names(), first_metrics))
    if more:
        out.print(f"[dim]Showing the first {len(runs)} runs; --max shows more.[/]")


def _runs_table(
    runs: Sequence[Run], experiments: Mapping[str, str], first_metrics: Sequence[str]
) -> RenderableType:
    from rich.table import Table

    metric_keys = _metric_columns(runs, first_metrics)
    columns: dict[str, list[RenderableType]] = {"id": [render.short_id(r.id) for r in runs]}
    if len({run.experiment_id for run in runs}) > 1:
        columns["experiment"] = [
            render.plain(experiments.get(r.experiment_id, r.experiment_id)) for r in runs
        ]
    columns |= {
        "name": [render.plain(r.name) for r in runs],
        "status": [render.status(r.status) for r in runs],
        "user": [render.plain(r.user) for r in runs],
        "started": [render.local_time(r.start_time, seconds=False) for r in runs],
        "duration": [render.duration(r.start_time, r.end_time) for r in runs],
    }
    columns |= {key: [render.number(r.metrics.get(key), 4) for r in runs] for key in metric_keys}
    table = Table(header_style="bold", pad_edge=False, box=None)
    for title, cells in columns.items():
        # A narrow terminal squeezes the metric columns before the names people look for.
        keep = title in ("id", "experiment", "name", "status", "user", "started", "duration")
        width = min(max(len(title), *(len(str(c)) for c in cells)), 24) if keep else None
        right = title in metric_keys
        table.add_column(title, min_width=width, justify="right" if right else "left")
    for row in zip(*columns.values(), strict=True):
        table.add_row(*row)
    table.columns[0].style = "cyan"
    return table


def _metric_columns(runs: Sequence[Run], first: Sequence[str]) -> list[str]:
    """The metrics ordered by, then those most runs have, METRIC_COLUMNS in all."""
    counts = Counter(key for run in runs for key in run.metrics)
    chosen = [key for key in dict.fromkeys(first) if key in counts]
    ranked = sorted(counts, key=lambda key: (-counts[key], key))
    chosen += [key for key in ranked if key not in chosen]
    return chosen[: max(METRIC_COLUMNS, len(first))]


def _ordered_metrics(order_by: Sequence[str] | None) -> list[str]:
    from modeldeck.core.filters import parse_order_by

    return [item.key.name for item in parse_order_by(order_by) if item.key.kind == "metric"]


def _run_detail(
    run: Run, experiment: str, children: Sequence[str], artifacts: Sequence[Artifact]
) -> list[RenderableType]:
    from rich.table import Table

    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    git = run.git_commit
    if git and run.git_dirty:
        stored = f", diff stored as {run.git_diff_digest[:12]}" if run.git_diff_digest else ""
        git += f" (dirty: uncommitted changes{stored})"
    elif git and run.git_dirty is False:
        git += " (clean)"
    ended = render.local_time(run.end_time) if run.end_time else "still running"
    for label, value in (
        ("experiment", f"{experiment} (id {run.experiment_id})"),
        ("status", render.status(run.status)),
        ("started", render.local_time(run.start_time)),
        ("ended", ended),
        ("duration", render.duration(run.start_time, run.end_time)),
        ("user", run.user),
        ("host / pid", f"{run.host or render.MISSING} / {run.pid or render.MISSING}"),
        ("parent", run.parent_id),
        ("children", _listing(children)),
        ("source command", run.source),
        ("entry point", run.entry_point),
        ("git commit", git),
        ("python", run.python_version),
    ):
        facts.add_row(label, value if not isinstance(value, str | None) else render.plain(value))
    parts: list[RenderableType] = [
        render.plain(f"Run {run.name}  {run.id}", "bold"),
        facts,
        _pairs("Params", run.params.items()),
        _pairs("Metrics (latest)", ((k, render.number(v)) for k, v in run.metrics.items())),
        _pairs("Tags", run.tags.items()),
    ]
    if run.inputs:
        parts += [_heading("Datasets"), _datasets_table(run)]
    if artifacts:
        from modeldeck.cli.artifacts import artifacts_table

        parts += [_heading("Artifacts"), artifacts_table(artifacts)]
    return parts


def _listing(ids: Sequence[str], limit: int = 10) -> str | None:
    if not ids:
        return None
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


def _pairs(title: str, items: Iterable[tuple[str, str]]) -> RenderableType:
    from rich.console import Group
    from rich.table import Table

    rows = sorted(items)
    if not rows:
        return Group(_heading(title), render.plain("none", "dim"))
    table = Table(show_header=False)
    table.add_column(style="cyan")
    table.add_column()
    for key, value in rows:
        table.add_row(render.plain(key), render.plain(value))
    return Group(_heading(title), table)


def _heading(title: str) -> RenderableType:
    return render.plain(f"\n{title}", "bold")


def _datasets_table(run: Run) -> RenderableType:
    from rich.table import Table

    table = Table(header_style="bold")
    for title in ("name", "context", "digest", "rows", "columns", "source"):
        table.add_column(title, justify="right" if title in ("rows", "columns") else "left")
    for item in run.inputs:
        data = item.dataset
        table.add_row(
            render.plain(data.name),
            render.plain(item.context),
            data.digest[:12],
            render.plain(None if data.num_rows is None else f"{data.num_rows:,}"),
            str(len(data.schema)),
            render.plain(data.source),
        )
    return table
